namespace Lineup.Engine;

public sealed partial class CallCenter
{
    /// <summary>Logs an agent in to some of its queues (all when <paramref name="queues"/> is null). Queues it
    /// is already logged in to are left alone, so a repeated login emits nothing.</summary>
    /// <summary>As <see cref="Login(AgentId, IReadOnlyList{QueueId}?, long)"/>; the login events carry
    /// <paramref name="source"/> in <c>Text</c> (e.g. "phone": a feature code or a REGISTER).</summary>
    public CommandResult Login(AgentId agent, IReadOnlyList<QueueId>? queues, long now, string? source) =>
        FromSource(source, () => Login(agent, queues, now));

    /// <summary>As <see cref="Logout(AgentId, IReadOnlyList{QueueId}?, long)"/>, with the events' source.</summary>
    public CommandResult Logout(AgentId agent, IReadOnlyList<QueueId>? queues, long now, string? source) =>
        FromSource(source, () => Logout(agent, queues, now));

    private CommandResult FromSource(string? source, Func<CommandResult> command)
    {
        _eventSource = source;
        try
        {
            return command();
        }
        finally
        {
            _eventSource = null;
        }
    }

    /// <summary>Where the login or logout being applied came from (null: the APIs).</summary>
    private string? _eventSource;

    public CommandResult Login(AgentId agent, IReadOnlyList<QueueId>? queues, long now)
    {
        Advance(now);
        if (!_agents.TryGetValue(agent, out var a)) return CommandResult.UnknownAgent;
        if (!ResolveMembers(a, queues, out var result)) return result;
        if (_scratch.Count == 0) return CommandResult.NotMember;
        var wasOut = a.Status == AgentStatus.LoggedOut;
        var changed = false;
        var autoReady = false;
        foreach (var m in _scratch)
        {
            autoReady |= m.Queue.Config.AgentAutoReady;
            if (m.LoggedIn) continue;
            m.LoggedIn = true;
            a.LoggedInQueueCount++;
            changed = true;
            Emit(new EngineEvent(EventKind.AgentLoggedIn, _now, m.Queue.Id, a.Id, Text: _eventSource));
        }
        if (wasOut)
        {
            a.LastIdleSince = _now;
            SetStatus(a, autoReady ? AgentStatus.Ready : AgentStatus.NotReady, autoReady ? null : "login");
        }
        Refresh(a);
        DispatchAgent(a);
        return changed ? CommandResult.Ok : CommandResult.Ignored;
    }

    /// <summary>Logs an agent out of some queues (all when null); out of every queue, its status is Logged Out.
    /// A call ringing it from such a queue is taken back; a call in progress goes on.</summary>
    public CommandResult Logout(AgentId agent, IReadOnlyList<QueueId>? queues, long now)
    {
        Advance(now);
        if (!_agents.TryGetValue(agent, out var a)) return CommandResult.UnknownAgent;
        if (!ResolveMembers(a, queues, out var result)) return result;
        var changed = false;
        foreach (var m in _scratch)
        {
            if (!m.LoggedIn) continue;
            m.LoggedIn = false;
            a.LoggedInQueueCount--;
            changed = true;
            Emit(new EngineEvent(EventKind.AgentLoggedOut, _now, m.Queue.Id, a.Id, Text: _eventSource));
            if (a.OfferCall?.Queue == m.Queue) CancelAgentOffer(a);
        }
        // A transfer to this agent rings it for a queue it need not serve: out of every queue, that offer ends too.
        if (a.LoggedInQueueCount == 0 && a.OfferCall != null) CancelAgentOffer(a);
        if (a.LoggedInQueueCount == 0 && a.Status != AgentStatus.LoggedOut)
        {
            GoLoggedOut(a);
            changed = true;
        }
        Refresh(a);
        DispatchFreed();
        return changed ? CommandResult.Ok : CommandResult.Ignored;
    }

    public CommandResult SetReady(AgentId agent, long now) => SetAgentStatus(agent, AgentStatus.Ready, null, now);

    public CommandResult SetNotReady(AgentId agent, string? reason, long now) =>
        SetAgentStatus(agent, AgentStatus.NotReady, reason, now);

    /// <summary>
    /// Sets an agent's status. Ready or Not Ready ends a wrap-up early (and with it the call). Not Ready while
    /// ringing takes the offer back; while talking it applies after the call. Wrap Up by hand holds the agent
    /// until it sets Ready (or for its own wrap-up time when it has one). Logged Out logs out of every queue.
    /// </summary>
    public CommandResult SetAgentStatus(AgentId agent, AgentStatus status, string? reason, long now)
    {
        Advance(now);
        if (!_agents.TryGetValue(agent, out var a)) return CommandResult.UnknownAgent;
        if (status == AgentStatus.LoggedOut) return Logout(agent, null, now);
        if (a.Status == AgentStatus.LoggedOut) return CommandResult.NotLoggedIn;
        if (status != AgentStatus.NotReady) reason = null;
        if (a.Status == status && a.Reason == reason) return CommandResult.Ignored;
        switch (status)
        {
            case AgentStatus.Ready:
            case AgentStatus.NotReady:
                if (a.WrapCall != null)
                {
                    if (AwaitsDisposition(a.WrapCall)) return CommandResult.DispositionRequired;
                    FinishWrapUp(a, status, reason);
                }
                else
                {
                    SetStatus(a, status, reason);
                    if (status == AgentStatus.NotReady && a.OfferCall != null) CancelAgentOffer(a);
                }
                break;
            case AgentStatus.WrapUp:
                if (a.TalkCall != null || a.WrapCall != null) return CommandResult.InvalidState;
                SetStatus(a, AgentStatus.WrapUp, null);
                if (a.OfferCall != null) CancelAgentOffer(a);
                if (a.Config.WrapUpSeconds is > 0 and var wrap)
                {
                    a.StatusAfterWrap = AgentStatus.Ready;
                    a.ReasonAfterWrap = null;
                    a.WrapSeq = ++_seq;
                    Schedule(_now + wrap * 1000L, TimerKind.ManualWrapEnd, a, a.WrapSeq);
                }
                break;
            default:
                return CommandResult.InvalidArgument;
        }
        Refresh(a);
        DispatchFreed();
        DispatchAgent(a);
        return CommandResult.Ok;
    }

    /// <summary>The agent started or ended a call that did not come from a queue (busy on a non-queue call).</summary>
    public CommandResult SetNonQueueCall(AgentId agent, bool onCall, long now)
    {
        Advance(now);
        if (!_agents.TryGetValue(agent, out var a)) return CommandResult.UnknownAgent;
        if (a.NonQueueBusy == onCall) return CommandResult.Ignored;
        a.NonQueueBusy = onCall;
        if (!onCall && a.Status == AgentStatus.Ready)
        {
            var autoReady = false;
            var autoNotReady = false;
            foreach (var m in a.MemberList)
            {
                if (!m.LoggedIn) continue;
                autoReady |= m.Queue.Config.AgentAutoReady;
                autoNotReady |= m.Queue.Config.AgentAutoNotReadyAfterNonQueueCall;
            }
            if (!autoReady && autoNotReady)
            {
                SetStatus(a, AgentStatus.NotReady, "after_non_queue_call");
                // Not Ready takes back an offer that rang during the non-queue call, as SetNotReady does.
                if (a.OfferCall != null) CancelAgentOffer(a);
            }
        }
        UpdateActivity(a);
        Refresh(a);
        DispatchFreed();
        DispatchAgent(a);
        return CommandResult.Ok;
    }

    private bool ResolveMembers(Agent a, IReadOnlyList<QueueId>? queues, out CommandResult result)
    {
        _scratch.Clear();
        result = CommandResult.Ok;
        if (queues == null)
        {
            _scratch.AddRange(a.MemberList);
            return true;
        }
        foreach (var id in queues)
        {
            if (!_queues.ContainsKey(id))
            {
                result = CommandResult.UnknownQueue;
                return false;
            }
            var m = a.FindMember(id);
            if (m == null)
            {
                result = CommandResult.NotMember;
                return false;
            }
            if (!_scratch.Contains(m)) _scratch.Add(m);
        }
        return true;
    }

    private void GoLoggedOut(Agent a)
    {
        if (a.WrapCall != null) FinishWrapUp(a, AgentStatus.LoggedOut, null);
        else SetStatus(a, AgentStatus.LoggedOut, null);
    }

    private void SetStatus(Agent a, AgentStatus status, string? reason)
    {
        if (a.Status == status && a.Reason == reason) return;
        AccountStatusTime(a, _now);
        a.Status = status;
        a.Reason = reason;
        a.StatusSince = _now;
        Emit(new EngineEvent(EventKind.AgentStatusChanged, _now, default, a.Id, Code: (int)status, Text: reason));
        if (status != AgentStatus.Ready) a.ConsecutiveNoAnswers = 0;
    }

    private void UpdateActivity(Agent a)
    {
        var activity = a.TalkCall != null ? AgentActivity.Talking
            : a.OfferCall != null ? AgentActivity.Ringing
            : a.NonQueueBusy ? AgentActivity.BusyNonQueue
            : AgentActivity.Idle;
        if (activity == a.Activity) return;
        a.Activity = activity;
        Emit(new EngineEvent(EventKind.AgentActivityChanged, _now, default, a.Id,
            (a.TalkCall ?? a.OfferCall)?.Id ?? default, (int)activity));
    }

    private void Refresh(Agent a)
    {
        foreach (var m in a.MemberList) RefreshMember(m);
    }

    /// <summary>Keeps the member in exactly one live category and in the queue's available list when it can ring.</summary>
    private void RefreshMember(Member m)
    {
        var a = m.Agent;
        var q = m.Queue;
        MemberCategory category;
        if (!m.LoggedIn || a.Status == AgentStatus.LoggedOut) category = MemberCategory.LoggedOut;
        else if (a.Status == AgentStatus.NotReady) category = MemberCategory.NotReady;
        else if (a.Status == AgentStatus.WrapUp) category = MemberCategory.WrapUp;
        else if (a.OfferCall == null && a.TalkCall == null && a.WrapCall == null && !a.InDelay
                 && (!a.NonQueueBusy || !q.Config.SkipBusyAgents)) category = MemberCategory.Available;
        else category = MemberCategory.Busy;

        if (category != m.Category)
        {
            var wasLoggedIn = q.LoggedInAgents > 0;
            q.Counts[(int)m.Category]--;
            q.Counts[(int)category]++;
            m.Category = category;
            var isLoggedIn = q.LoggedInAgents > 0;
            if (wasLoggedIn && !isLoggedIn) NoAgentsFrom(q);
            else if (!wasLoggedIn && isLoggedIn) q.NoAgentTimerSeq++;
        }

        if (category == MemberCategory.Available)
        {
            if (m.AvailableIndex < 0)
            {
                m.AvailableIndex = q.Available.Count;
                q.Available.Add(m);
            }
        }
        else if (m.AvailableIndex >= 0)
        {
            var last = q.Available[^1];
            q.Available[m.AvailableIndex] = last;
            last.AvailableIndex = m.AvailableIndex;
            q.Available.RemoveAt(q.Available.Count - 1);
            m.AvailableIndex = -1;
        }
    }

    private void NoAgentsFrom(Queue q)
    {
        q.NoAgentSince = _now;
        q.NoAgentTimerSeq++;
        if (q.Config.MaxWaitNoAgentSeconds > 0 && q.ArrivalHead != null) CheckNoAgentWaits(q);
    }

    /// <summary>Calls that have had no agent logged in to their queue for max_wait_no_agent leave, oldest first.</summary>
    private void CheckNoAgentWaits(Queue q)
    {
        var limit = q.Config.MaxWaitNoAgentSeconds * 1000L;
        if (limit <= 0 || q.LoggedInAgents > 0) return;
        while (q.ArrivalHead is { } c)
        {
            var due = Math.Max(c.QueueEnteredAt, q.NoAgentSince) + limit;
            if (due > _now)
            {
                Schedule(due, TimerKind.NoAgentCheck, q, ++q.NoAgentTimerSeq);
                return;
            }
            LeaveQueue(c, ExitReason.NoAgents, q.Config.NoAgentsDestination);
        }
    }
}
