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
        if (c.Supervisor != null) EndMonitor(c); // the talk is over: nothing left to monitor
        Emit(new EngineEvent(EventKind.CallTransferStarted, _now, from.Id, a.Id, c.Id, (int)to.Kind, target?.Id.Value ?? 0, Text: to.Target));
        c.Record.TalkEndedAt = _now;
        from.TalkingCount--;
        a.Today.TalkMs += _now - c.Record.AnsweredAt!.Value;
        a.TalkCall = null;
        a.LastIdleSince = _now;
        c.ConnectedAgent = null;
        CountHandled(c, from);
        ReleaseAfterTransfer(a, from);

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
