namespace Lineup.Engine;

public sealed partial class CallCenter
{
    /// <summary>Creates or replaces a queue's settings. Timers already running for waiting calls keep their times.</summary>
    public CommandResult UpsertQueue(QueueConfig config, long now)
    {
        Advance(now);
        if (!string.IsNullOrEmpty(config.Extension))
        {
            foreach (var other in _queues.Values)
                if (other.Id != config.Id && other.Config.Extension == config.Extension) return CommandResult.Conflict;
        }
        // The engine owns its references: a destination queue must exist when the command is applied (another
        // command may have removed it since the request was checked).
        foreach (var d in config.AllDestinations())
            if (d.Kind == DestinationKind.Queue && (d.Queue == config.Id || !_queues.ContainsKey(d.Queue))) return CommandResult.InvalidDestination;
        if (!_queues.TryGetValue(config.Id, out var q))
        {
            q = new Queue(config) { RecentHandleSeconds = Math.Max(1, config.ExpectedHandleSeconds), NoAgentSince = _now };
            _queues.Add(config.Id, q);
            if (config.OfficeHours != null) ScheduleChanged(q);
            return CommandResult.Ok;
        }
        var hadHours = q.Config.OfficeHours != null;
        q.Config = config;
        if (hadHours || config.OfficeHours != null) ScheduleChanged(q);
        RecomputeLevels(q);
        foreach (var m in q.MemberList) RefreshMember(m);
        DispatchQueue(q);
        return CommandResult.Ok;
    }

    /// <summary>Removes a queue that has no calls; its members are logged out of it and removed, and other queues'
    /// destinations that named it become "hang up" (what a call sent to a missing queue did anyway).</summary>
    public CommandResult RemoveQueue(QueueId id, long now)
    {
        Advance(now);
        if (!_queues.TryGetValue(id, out var q)) return CommandResult.UnknownQueue;
        if (q.WaitingCount + q.CallbackCount + q.TalkingCount > 0) return CommandResult.QueueHasCalls;
        foreach (var c in _calls.Values)
            if (c.Queue == q) return CommandResult.QueueHasCalls;
        for (var i = q.MemberList.Count - 1; i >= 0; i--) DropMember(q.MemberList[i]);
        _queues.Remove(id);
        foreach (var other in _queues.Values)
            if (other.Config.AllDestinations().Any(d => d.Kind == DestinationKind.Queue && d.Queue == id)) other.Config = other.Config.WithoutDestination(id);
        return CommandResult.Ok;
    }

    private void ScheduleChanged(Queue q)
    {
        ApplyNight(q);
        RecomputeScheduleDue();
    }

    /// <summary>Night mode on or off by hand: an override of the office hours until <see cref="OverrideNightMode"/>
    /// clears it.</summary>
    public CommandResult SetNightMode(QueueId id, bool on, long now) => OverrideNightMode(id, on, now);

    /// <summary>Sets (<paramref name="on"/>) or clears (null: the office hours decide again) a queue's manual night
    /// mode. Ignored when nothing changes.</summary>
    public CommandResult OverrideNightMode(QueueId id, bool? on, long now)
    {
        Advance(now);
        if (!_queues.TryGetValue(id, out var q)) return CommandResult.UnknownQueue;
        var wasNight = q.NightMode;
        if (q.NightOverride == on && (on == null || wasNight == on)) return CommandResult.Ignored;
        q.NightOverride = on;
        ApplyNight(q);
        return CommandResult.Ok;
    }

    /// <summary>Puts the queue in the night mode its override or office hours say, with an event when it changes.</summary>
    private void ApplyNight(Queue q)
    {
        var night = q.NightOverride ?? (q.Config.OfficeHours?.IsClosed(_now, _options.TimeZone) ?? false);
        if (q.NightMode == night) return;
        q.NightMode = night;
        Emit(new EngineEvent(EventKind.QueueNightModeChanged, _now, q.Id, Code: night ? 1 : 0));
    }

    /// <summary>Every queue with office hours to its state now; then the next boundary of any of them.</summary>
    private void ApplySchedules()
    {
        foreach (var q in _queues.Values)
            if (q.Config.OfficeHours != null) ApplyNight(q);
        RecomputeScheduleDue();
    }

    private void RecomputeScheduleDue()
    {
        _scheduleDue = long.MaxValue;
        if (_now == long.MinValue) return;
        foreach (var q in _queues.Values)
            if (q.Config.OfficeHours?.NextBoundary(_now, _options.TimeZone) is { } next && next < _scheduleDue) _scheduleDue = next;
    }

    /// <summary>Creates or replaces an agent's settings.</summary>
    public CommandResult UpsertAgent(AgentConfig config, long now)
    {
        Advance(now);
        if (config.Kind == AgentKind.Local && !string.IsNullOrEmpty(config.Number))
        {
            foreach (var other in _agents.Values)
            {
                if (other.Id != config.Id && other.Config.Kind == AgentKind.Local && other.Config.Number == config.Number)
                    return CommandResult.Conflict;
            }
        }
        if (_agents.TryGetValue(config.Id, out var a))
        {
            a.Config = config;
            return CommandResult.Ok;
        }
        _agents.Add(config.Id, new Agent(config, _now));
        return CommandResult.Ok;
    }

    /// <summary>Removes an agent that is not on a call: it is logged out and taken out of every queue.</summary>
    public CommandResult RemoveAgent(AgentId id, long now)
    {
        Advance(now);
        if (!_agents.TryGetValue(id, out var a)) return CommandResult.UnknownAgent;
        if (a.TalkCall != null || a.WrapCall != null) return CommandResult.AgentBusy;
        for (var i = a.MemberList.Count - 1; i >= 0; i--) DropMember(a.MemberList[i]);
        SetStatus(a, AgentStatus.LoggedOut, null);
        _agents.Remove(id);
        DispatchFreed();
        return CommandResult.Ok;
    }

    /// <summary>
    /// Adds an agent to a queue or changes its level, position and skill. A new membership of an agent who is
    /// logged in starts logged in, so adding a working agent to a queue puts it to work there at once.
    /// </summary>
    public CommandResult SetMember(QueueId queue, AgentId agent, MemberConfig config, long now)
    {
        Advance(now);
        if (!_queues.TryGetValue(queue, out var q)) return CommandResult.UnknownQueue;
        if (!_agents.TryGetValue(agent, out var a)) return CommandResult.UnknownAgent;
        var m = a.FindMember(queue);
        if (m != null)
        {
            m.Config = config;
            RecomputeLevels(q);
            DispatchQueue(q);
            return CommandResult.Ok;
        }
        m = new Member(q, a, config);
        q.MemberList.Add(m);
        a.MemberList.Add(m);
        RecomputeLevels(q);
        if (a.Status != AgentStatus.LoggedOut)
        {
            m.LoggedIn = true;
            a.LoggedInQueueCount++;
            Emit(new EngineEvent(EventKind.AgentLoggedIn, _now, q.Id, a.Id));
        }
        RefreshMember(m);
        DispatchAgent(a);
        return CommandResult.Ok;
    }

    public CommandResult RemoveMember(QueueId queue, AgentId agent, long now)
    {
        Advance(now);
        if (!_queues.TryGetValue(queue, out _)) return CommandResult.UnknownQueue;
        if (!_agents.TryGetValue(agent, out var a)) return CommandResult.UnknownAgent;
        var m = a.FindMember(queue);
        if (m == null) return CommandResult.NotMember;
        DropMember(m);
        if (a.LoggedInQueueCount == 0 && a.Status != AgentStatus.LoggedOut) GoLoggedOut(a);
        DispatchFreed();
        return CommandResult.Ok;
    }

    private void DropMember(Member m)
    {
        var a = m.Agent;
        var q = m.Queue;
        if (m.LoggedIn)
        {
            m.LoggedIn = false;
            a.LoggedInQueueCount--;
            Emit(new EngineEvent(EventKind.AgentLoggedOut, _now, q.Id, a.Id));
        }
        RefreshMember(m);
        // Out of the queue's lists first, so taking the offer back cannot hand the call straight back to it.
        if (a.OfferCall?.Queue == q) CancelAgentOffer(a);
        q.MemberList.Remove(m);
        a.MemberList.Remove(m);
        RecomputeLevels(q);
    }

    private static void RecomputeLevels(Queue q)
    {
        var levels = new SortedSet<int>();
        foreach (var m in q.MemberList) levels.Add(m.Config.Level);
        q.Levels = [.. levels];
        q.MinLevel = q.Levels.Length == 0 ? 0 : q.Levels[0];
    }
}
