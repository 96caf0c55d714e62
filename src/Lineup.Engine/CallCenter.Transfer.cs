namespace Lineup.Engine;

public sealed partial class CallCenter
{
    /// <summary>
    /// A blind transfer of a connected call (the agent, a supervisor or another system asked for it): the agent's part
    /// ends, the caller stays on the line and goes to <paramref name="to"/>, a number or another queue.
    /// <list type="bullet">
    /// <item>The agent is released as after a normal call end: its talk time counts, then it wraps up for its queue's
    /// wrap-up time (no disposition is awaited: the call is no longer the agent's) and becomes what it would have
    /// become after the call.</item>
    /// <item>The queue the call was answered in counts it as handled, with the talk up to the transfer.</item>
    /// <item><see cref="EventKind.CallTransferStarted"/> tells the host to release the agent's leg and keep the caller.
    /// To a number, <see cref="EventKind.CallTransferred"/> follows and the call ends as
    /// <see cref="Disposition.Transferred"/>. To a queue, the call enters it like a new caller would (announcements,
    /// the queue's limits and destinations) but keeps its priority and its original entry time, so it ranks ahead of
    /// callers who arrived after it: a transferred caller does not queue twice for the same patience. The CDR is written
    /// when the call ends there; its answer fields then describe the last agent, its attempts every agent.</item>
    /// </list>
    /// Refused, with nothing changed: an unknown call (<see cref="CommandResult.UnknownCall"/>), a call not talking
    /// (<see cref="CommandResult.InvalidState"/>), an unknown queue (<see cref="CommandResult.UnknownQueue"/>), the queue
    /// it was answered in (<see cref="CommandResult.InvalidDestination"/>), anything else than a number or a queue
    /// (<see cref="CommandResult.InvalidArgument"/>).
    /// </summary>
    public CommandResult TransferCall(CallId call, Destination to, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        Queue? target = null;
        switch (to.Kind)
        {
            case DestinationKind.Number when !string.IsNullOrEmpty(to.Target):
                break;
            case DestinationKind.Queue:
                if (!_queues.TryGetValue(to.Queue, out target)) return CommandResult.UnknownQueue;
                break;
            default:
                return CommandResult.InvalidArgument;
        }
        if (c.State != CallState.Connected) return CommandResult.InvalidState;
        var from = c.Queue!;
        if (target == from) return CommandResult.InvalidDestination;

        var a = c.ConnectedAgent!;
        ReleaseForTransfer(c, (int)to.Kind, target?.Id.Value ?? 0, to.Target);

        if (target == null)
        {
            c.Record.DestinationTarget = to.Target;
            Emit(new EngineEvent(EventKind.CallTransferred, _now, from.Id, a.Id, c.Id, Text: to.Target));
            End(c, Disposition.Transferred, ExitReason.None);
        }
        else
        {
            // The released agent chooses its next call first (as after any call), then the caller enters the queue.
            DispatchFreed();
            EnterQueue(c, target);
        }
        DispatchFreed();
        return CommandResult.Ok;
    }

    /// <summary>
    /// A transfer of a connected call to one agent (<paramref name="agent"/>), asked for by the agent on the call, a
    /// supervisor or another system. The transferring agent is released as by <see cref="TransferCall"/>
    /// (<see cref="EventKind.CallTransferStarted"/> with <see cref="TransferTarget.Agent"/> and the target agent in
    /// <see cref="EngineEvent.Value"/>). The caller goes back into the queue the call was answered in, as a new visit with
    /// its priority and original entry time (so it keeps its place), and that agent alone is offered it at once, rung like
    /// any offer for its ring timeout (membership's, else the agent's, else the queue's); the agent need not be a member of
    /// the queue. No intro is played and the queue's entry checks (night mode, full, no agents) do not apply: an agent
    /// was asked for by name and is free. While that offer is open no other agent is offered the call.
    /// <list type="bullet">
    /// <item>Answered: connected like any answered offer (the CDR then names that agent; its attempts keep both).</item>
    /// <item>Not answered, rejected, busy, or taken back (the agent left, went Not Ready): with no
    /// <paramref name="fallback"/> the call simply stays in its queue, where it is routed by the queue's strategy from
    /// the place it kept; with one, it leaves the queue (exit reason <see cref="ExitReason.NoAnswer"/>) for it: another
    /// queue, a number, voicemail or a hang-up. The directed offer does not count towards the queue's
    /// no-answer limit.</item>
    /// </list>
    /// Refused, with nothing changed: an unknown call (<see cref="CommandResult.UnknownCall"/>) or agent
    /// (<see cref="CommandResult.UnknownAgent"/>), a fallback queue that does not exist
    /// (<see cref="CommandResult.UnknownQueue"/>), a callback or empty number as fallback
    /// (<see cref="CommandResult.InvalidArgument"/>), a call not talking (<see cref="CommandResult.InvalidState"/>), the
    /// agent already on the call (<see cref="CommandResult.InvalidDestination"/>), an agent logged out
    /// (<see cref="CommandResult.NotLoggedIn"/>), ringing or on a queue call (<see cref="CommandResult.AgentBusy"/>),
    /// or not Ready and idle otherwise (<see cref="CommandResult.AgentUnavailable"/>). A fallback naming the queue the
    /// call was answered in means the same as none.
    /// </summary>
    public CommandResult TransferToAgent(CallId call, AgentId agent, Destination? fallback, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        if (!_agents.TryGetValue(agent, out var target)) return CommandResult.UnknownAgent;
        if (fallback is { } f)
        {
            switch (f.Kind)
            {
                case DestinationKind.Queue when !_queues.ContainsKey(f.Queue):
                    return CommandResult.UnknownQueue;
                case DestinationKind.Number when string.IsNullOrEmpty(f.Target):
                case DestinationKind.Callback:
                    return CommandResult.InvalidArgument;
                default:
                    break;
            }
        }
        if (TargetCheck(c, target) is not CommandResult.Ok and var refused) return refused;
        var from = c.Queue!;
        if (fallback is { Kind: DestinationKind.Queue } back && back.Queue == from.Id) fallback = null;

        ReleaseForTransfer(c, (int)TransferTarget.Agent, target.Id.Value, null);
        // The released agent chooses its next call first (as after any call); the target was free before and the
        // released agent's choice cannot take it, so it is still free for the caller.
        DispatchFreed();
        EnterQueue(c, from, new DirectedOffer(target, fallback));
        DispatchFreed();
        return CommandResult.Ok;
    }

    /// <summary>
    /// The end of an attended transfer (RFC 5589's, or a CTI's): the agent of <paramref name="call"/> has consulted the
    /// agent of <paramref name="consultation"/> (a call the first agent placed into a queue, answered there) and joins
    /// its caller to that agent. Both calls must be connected, to two different agents.
    /// <list type="bullet">
    /// <item><paramref name="call"/>: its first agent is released as by a blind transfer
    /// (<see cref="EventKind.CallTransferStarted"/> with <see cref="TransferTarget.Agent"/> and the consultation's agent);
    /// then that agent is connected to it at once, with an answered attempt in the queue the call was answered in (in a
    /// visit of no length to it) and
    /// <see cref="EventKind.CallAnswered"/> (wait 0): one CDR for the caller names both agents, the last as its answer.
    /// Its queue counts the first agent's part as handled, and the second agent's when the call ends.</item>
    /// <item><paramref name="consultation"/>: its talk ends (its queue counts it handled) and it ends answered, its agent
    /// going on with the caller instead of wrapping up (<see cref="EventKind.CallTransferStarted"/> with
    /// <see cref="TransferTarget.Call"/> and the call's id comes first, so the host keeps that agent's leg).</item>
    /// </list>
    /// Refused, with nothing changed: an unknown call (<see cref="CommandResult.UnknownCall"/>), the same call twice
    /// (<see cref="CommandResult.InvalidArgument"/>), a call not talking (<see cref="CommandResult.InvalidState"/>),
    /// one agent on both (<see cref="CommandResult.InvalidDestination"/>).
    /// </summary>
    public CommandResult CompleteAttendedTransfer(CallId call, CallId consultation, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c) || !_calls.TryGetValue(consultation, out var k)) return CommandResult.UnknownCall;
        if (c == k) return CommandResult.InvalidArgument;
        if (c.State != CallState.Connected || k.State != CallState.Connected) return CommandResult.InvalidState;
        var b = k.ConnectedAgent!;
        if (c.ConnectedAgent == b) return CommandResult.InvalidDestination;
        var q = c.Queue!;
        var kq = k.Queue!;

        ReleaseForTransfer(c, (int)TransferTarget.Agent, b.Id.Value, null);

        // The consultation ends; its agent is handed over, not released. With its record: the consultation has ended by
        // the time the event is published, and the record names its caller.
        EndTalkForTransfer(k, (int)TransferTarget.Call, c.Id.Value, null, k.Record);
        End(k, Disposition.Answered, ExitReason.None);

        // A visit of no length to the queue the call was answered in holds the second agent's answer, so that the CDR
        // keeps every attempt inside a visit to its queue.
        c.Record.VisitList.Add(new QueueVisit(q.Id, _now, _now, ExitReason.None));
        c.Record.AttemptList.Add(new CallAttempt(b.Id, q.Id, _now, _now, AttemptOutcome.Answered));
        b.Today.Offered++;
        b.Today.Answered++;
        b.TalkCall = c;
        c.ConnectedAgent = b;
        c.Record.AnsweredAt = _now;
        c.Record.AnsweredBy = b.Id;
        c.Record.AnsweredIn = q.Id;
        q.TalkingCount++;
        Emit(new EngineEvent(EventKind.CallAnswered, _now, q.Id, b.Id, c.Id, Value: 0));
        UpdateActivity(b);
        Refresh(b);
        DispatchFreed();
        return CommandResult.Ok;
    }

    /// <summary>Whether <see cref="TransferToAgent"/> would take <paramref name="call"/> to <paramref name="agent"/> now, with
    /// the result it would refuse with otherwise (the fallback aside). A query: nothing changes, no timer fires.</summary>
    public CommandResult CanTransferToAgent(CallId call, AgentId agent)
    {
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        if (!_agents.TryGetValue(agent, out var target)) return CommandResult.UnknownAgent;
        return TargetCheck(c, target);
    }

    private static CommandResult TargetCheck(Call c, Agent target)
    {
        if (c.State != CallState.Connected) return CommandResult.InvalidState;
        if (target == c.ConnectedAgent) return CommandResult.InvalidDestination;
        if (target.Status == AgentStatus.LoggedOut) return CommandResult.NotLoggedIn;
        if (target.OfferCall != null || target.TalkCall != null) return CommandResult.AgentBusy;
        if (target.Status != AgentStatus.Ready || target.WrapCall != null || target.NonQueueBusy || target.InDelay)
            return CommandResult.AgentUnavailable;
        return CommandResult.Ok;
    }

    /// <summary>A transferred call's offer to one agent, and where the call goes if that agent does not take it.</summary>
    private readonly record struct DirectedOffer(Agent Agent, Destination? Fallback);

    /// <summary>Ends the talk of a call being transferred (<see cref="EventKind.CallTransferStarted"/> with the
    /// destination's kind, queue or agent id, and number) and releases its agent; the call stays in
    /// <see cref="Call.Queue"/> for its next step.</summary>
    private void ReleaseForTransfer(Call c, int kind, long target, string? number)
    {
        var from = c.Queue!;
        var a = EndTalkForTransfer(c, kind, target, number);
        a.TalkCall = null;
        a.LastIdleSince = _now;
        ReleaseAfterTransfer(a, from);
    }

    /// <summary>Ends the talk of a call being transferred (<see cref="EventKind.CallTransferStarted"/>, counted handled by
    /// its queue) and unlinks its agent from it, leaving that agent's own state to the caller; returns the agent.</summary>
    private Agent EndTalkForTransfer(Call c, int kind, long target, string? number, CallRecord? record = null)
    {
        var a = c.ConnectedAgent!;
        var from = c.Queue!;
        if (c.Supervisor != null) EndMonitor(c); // the talk is over: nothing left to monitor
        Emit(new EngineEvent(EventKind.CallTransferStarted, _now, from.Id, a.Id, c.Id, kind, target, Text: number, Record: record));
        c.Record.TalkEndedAt = _now;
        from.TalkingCount--;
        a.Today.TalkMs += _now - c.Record.AnsweredAt!.Value;
        c.ConnectedAgent = null;
        CountHandled(c, from);
        return a;
    }

    /// <summary>The agent of a transferred call: wrap-up without the call (it has gone on), then the status it would
    /// have had after the call.</summary>
    private void ReleaseAfterTransfer(Agent a, Queue q)
    {
        var (after, reason) = StatusAfterCall(a, q);
        var wrap = a.WrapUpSecondsFor(q);
        if (wrap > 0 && a.Status != AgentStatus.LoggedOut)
        {
            a.StatusAfterWrap = after;
            a.ReasonAfterWrap = reason;
            a.WrapSeq = ++_seq;
            SetStatus(a, AgentStatus.WrapUp, null);
            Schedule(_now + wrap * 1000L, TimerKind.ManualWrapEnd, a, a.WrapSeq);
        }
        else
        {
            SetStatus(a, after, reason);
        }
        UpdateActivity(a);
        Refresh(a);
        _freed.Add(a);
    }
}
