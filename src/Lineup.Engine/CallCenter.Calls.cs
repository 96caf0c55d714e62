namespace Lineup.Engine;

public sealed partial class CallCenter
{
    /// <summary>
    /// A call arrives at a queue. Blacklisted numbers are refused (the call ends at once); VIP numbers get the
    /// queue's VIP priority; night mode, no agents and a full queue send it to their destinations; otherwise it
    /// waits and is offered under the queue's strategy.
    /// </summary>
    public EnqueueResult Enqueue(QueueId queue, CallerInfo caller, long now)
    {
        Advance(now);
        if (!_queues.TryGetValue(queue, out var q)) return new(CommandResult.UnknownQueue, default);
        var number = caller.Number ?? "";
        var priority = caller.Priority;
        if (q.Config.VipNumbers.Contains(number)) priority = Math.Max(priority, q.Config.VipPriority);
        var record = new CallRecord
        {
            Id = new CallId(_options.CallIdBase + ++_callSeq),
            CallerNumber = number,
            CallerName = caller.Name,
            ExternalId = caller.ExternalId,
            EnteredAt = _now,
            Priority = priority,
        };
        var c = new Call(record, priority, _now) { Tried = new List<AgentId>(2) };
        _calls.Add(record.Id, c);

        if (q.Config.Blacklist.Contains(number))
        {
            // The queue it was refused at, so that CallEnded names it like the events before it.
            c.Queue = q;
            record.VisitList.Add(new QueueVisit(q.Id, _now, _now, ExitReason.Blacklisted));
            q.Today.Rejected++;
            Emit(new EngineEvent(EventKind.CallLeftQueue, _now, q.Id, default, c.Id, (int)ExitReason.Blacklisted));
            Emit(new EngineEvent(EventKind.CallHangup, _now, q.Id, default, c.Id));
            End(c, Disposition.HungUp, ExitReason.Blacklisted);
            return new(CommandResult.Ok, c.Id);
        }
        EnterQueue(c, q);
        DispatchFreed();
        return new(CommandResult.Ok, c.Id);
    }

    /// <summary>The agent's phone answered the offer.</summary>
    public CommandResult AgentAnswered(CallId call, AgentId agent, long now)
    {
        if (!ResolveOffer(call, agent, now, out var c, out var a, out var result)) return result;
        var attempt = a.OfferAttempt;
        ReleaseOffer(a, AttemptOutcome.Answered);
        Connect(c, a, attempt);
        DispatchFreed();
        return CommandResult.Ok;
    }

    /// <summary>The agent declined the offer.</summary>
    public CommandResult AgentRejected(CallId call, AgentId agent, long now) =>
        ReportFailedOffer(call, agent, AttemptOutcome.Rejected, now);

    /// <summary>The agent's line was busy.</summary>
    public CommandResult AgentBusy(CallId call, AgentId agent, long now) =>
        ReportFailedOffer(call, agent, AttemptOutcome.Busy, now);

    /// <summary>The agent did not answer (reported by the host before the engine's own ring timeout).</summary>
    public CommandResult AgentNoAnswer(CallId call, AgentId agent, long now) =>
        ReportFailedOffer(call, agent, AttemptOutcome.NoAnswer, now);

    /// <summary>
    /// The caller hung up. Waiting: an abandon. Talking: the talk ends and the agent wraps up. A waiting
    /// callback is cancelled; a callback being dialled has failed.
    /// </summary>
    public CommandResult CallerHangup(CallId call, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        switch (c.State)
        {
            case CallState.Waiting:
                Abandon(c);
                break;
            case CallState.CallbackWaiting:
                RemoveQueued(c, ExitReason.Cancelled);
                End(c, Disposition.Cancelled, ExitReason.Cancelled);
                break;
            case CallState.CallbackDialing:
                return CallbackFailed(call, now);
            case CallState.Connected:
                EndTalk(c);
                break;
            case CallState.WrapUp or CallState.Survey when c.SurveyPending:
                FinishSurvey(c); // left without rating
                break;
            default:
                return CommandResult.InvalidState;
        }
        DispatchFreed();
        return CommandResult.Ok;
    }

    /// <summary>How long a post-call survey waits for the caller's key before the call ends unrated.</summary>
    public const int SurveySeconds = 30;

    /// <summary>The caller's answer to the post-call survey: 1 to the queue's <see cref="QueueConfig.SurveyMaxRating"/>.
    /// Kept in the CDR and the queue's statistics; the call ends unless the agent is still wrapping up.</summary>
    public CommandResult RateCall(CallId call, int rating, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        if (!c.SurveyPending) return CommandResult.InvalidState;
        var q = c.Queue!;
        if (rating < 1 || rating > q.Config.SurveyMaxRating) return CommandResult.InvalidArgument;
        c.Record.Rating = rating;
        q.Today.Ratings++;
        q.Today.SumRatings += rating;
        Emit(new EngineEvent(EventKind.CallRated, _now, q.Id, c.Record.AnsweredBy ?? default, c.Id, rating, Text: q.Config.SurveyThanksPrompt));
        FinishSurvey(c);
        return CommandResult.Ok;
    }

    private void FinishSurvey(Call c)
    {
        c.SurveyPending = false;
        if (c.State == CallState.Survey) End(c, Disposition.Answered, ExitReason.None);
    }

    /// <summary>The agent hung up a connected call: the talk ends and the agent wraps up. A queue with
    /// <see cref="QueueConfig.AgentHangupTransfer"/> sends the caller on to that number instead (a transfer).</summary>
    public CommandResult AgentHangup(CallId call, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        if (c.State == CallState.CallbackDialing) return CallbackFailed(call, now);
        if (c.State != CallState.Connected) return CommandResult.InvalidState;
        if (c.Queue!.Config.AgentHangupTransfer is { Length: > 0 } number) return TransferCall(call, Destination.ToNumber(number), now);
        EndTalk(c, byAgent: true);
        DispatchFreed();
        return CommandResult.Ok;
    }

    /// <summary>The host (or a supervisor) ends a call that nobody has answered yet.</summary>
    public CommandResult CancelCall(CallId call, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        if (!c.IsQueued) return CommandResult.InvalidState;
        RemoveQueued(c, ExitReason.Cancelled);
        Emit(new EngineEvent(EventKind.CallHangup, _now, c.Queue!.Id, default, c.Id));
        End(c, Disposition.Cancelled, ExitReason.Cancelled);
        DispatchFreed();
        return CommandResult.Ok;
    }

    /// <summary>
    /// The host lost the call's media (the cluster node carrying its SIP legs died): the call ends with the disposition
    /// <see cref="Disposition.LostOnNodeFailure"/>. Waiting or ringing: it leaves the queue, its offers are withdrawn.
    /// Talking: the talk ends and the agent wraps up as after any call (the CDR is written when the wrap-up ends).
    /// Other states hold no media (a callback waiting, a wrap-up): refused as <see cref="CommandResult.InvalidState"/>.
    /// </summary>
    public CommandResult MediaLost(CallId call, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        switch (c.State)
        {
            case CallState.Waiting:
                RemoveQueued(c, ExitReason.LostOnNodeFailure);
                Emit(new EngineEvent(EventKind.CallHangup, _now, c.Queue!.Id, default, c.Id));
                End(c, Disposition.LostOnNodeFailure, ExitReason.LostOnNodeFailure);
                break;
            case CallState.Connected:
                c.Record.ExitReason = ExitReason.LostOnNodeFailure;
                EndTalk(c);
                break;
            default:
                return CommandResult.InvalidState;
        }
        DispatchFreed();
        return CommandResult.Ok;
    }

    /// <summary>DTMF from a waiting caller: the exit key leaves the queue; the callback key asks for a callback.</summary>
    public CommandResult CallerDigits(CallId call, string digits, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        if (c.SurveyPending && digits.Length == 1 && char.IsAsciiDigit(digits[0]))
            return RateCall(call, digits[0] - '0', now) is var rated && rated == CommandResult.Ok ? rated : CommandResult.Ignored;
        if (c.State != CallState.Waiting) return CommandResult.Ignored;
        var q = c.Queue!;
        if (q.Config.ExitKey is { Length: > 0 } exit && digits == exit)
        {
            LeaveQueue(c, ExitReason.ExitKey, q.Config.ExitKeyDestination);
            DispatchFreed();
            return CommandResult.Ok;
        }
        var cb = q.Config.Callback;
        if (cb.Enabled && digits == cb.Key && (cb.Mode == CallbackMode.Active || c.CallbackOffered))
            return RequestCallback(call, null, now);
        return CommandResult.Ignored;
    }

    /// <summary>The caller asks to be called back (at <paramref name="number"/>, or its own number): it hangs up
    /// and keeps its place.</summary>
    public CommandResult RequestCallback(CallId call, string? number, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        if (c.State != CallState.Waiting) return CommandResult.InvalidState;
        if (!c.Queue!.Config.Callback.Enabled) return CommandResult.CallbackUnavailable;
        number = string.IsNullOrEmpty(number) ? c.Record.CallerNumber : number;
        if (string.IsNullOrEmpty(number)) return CommandResult.CallbackUnavailable;
        ConvertToCallback(c, number);
        DispatchFreed();
        return CommandResult.Ok;
    }

    /// <summary>The customer answered the callback: caller and agent are connected.</summary>
    public CommandResult CallbackAnswered(CallId call, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        if (c.State != CallState.CallbackDialing) return CommandResult.InvalidState;
        var q = c.Queue!;
        var a = c.ConnectedAgent!;
        q.Today.RecordLeft(_now - c.QueueEnteredAt, answered: true, q.SlaMs(_options));
        q.LastServedWaitMs = _now - c.QueueEnteredAt;
        CloseVisit(c, ExitReason.None);
        c.State = CallState.Connected;
        c.Record.AnsweredAt = _now;
        c.Record.AnsweredBy = a.Id;
        c.Record.AnsweredIn = q.Id;
        q.TalkingCount++;
        Emit(new EngineEvent(EventKind.CallAnswered, _now, q.Id, a.Id, c.Id, Value: _now - c.QueueEnteredAt));
        return CommandResult.Ok;
    }

    /// <summary>The customer could not be reached: retried after the queue's callback retry time while attempts
    /// remain (keeping its place), otherwise the call ends as a failed callback.</summary>
    public CommandResult CallbackFailed(CallId call, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        if (c.State != CallState.CallbackDialing) return CommandResult.InvalidState;
        var q = c.Queue!;
        var a = c.ConnectedAgent!;
        c.ConnectedAgent = null;
        a.TalkCall = null;
        a.LastIdleSince = _now;
        UpdateActivity(a);
        Refresh(a);
        _freed.Add(a);
        c.CallbackAttempts++;
        var cb = q.Config.Callback;
        if (c.CallbackAttempts < Math.Max(1, cb.MaxAttempts))
        {
            c.State = CallState.CallbackWaiting;
            InsertQueued(c, q);
            c.NotBefore = _now + cb.RetrySeconds * 1000L;
            Schedule(c.NotBefore, TimerKind.Retry, c, c.VisitSeq);
            ScheduleTierEscalation(c);
        }
        else
        {
            q.Today.RecordLeft(_now - c.QueueEnteredAt, answered: false, q.SlaMs(_options));
            CloseVisit(c, ExitReason.None);
            End(c, Disposition.CallbackFailed, ExitReason.None);
        }
        DispatchFreed();
        // With no retry time the callback is due again at once, not at the next tick.
        DispatchCall(c);
        return CommandResult.Ok;
    }

    /// <summary>
    /// An agent takes a chosen waiting call, ahead of the strategy. The agent must be logged in
    /// and free (or ringing for this very call); it need not be a member of the call's queue.
    /// </summary>
    public CommandResult Pickup(CallId call, AgentId agent, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        if (!_agents.TryGetValue(agent, out var a)) return CommandResult.UnknownAgent;
        if (!c.IsQueued) return CommandResult.InvalidState;
        if (a.Status == AgentStatus.LoggedOut) return CommandResult.NotLoggedIn;
        if (a.OfferCall == c) return AgentAnswered(call, agent, now);
        if (a.OfferCall != null || a.TalkCall != null || a.WrapCall != null || a.NonQueueBusy) return CommandResult.AgentBusy;
        if (a.Status == AgentStatus.WrapUp) SetStatus(a, AgentStatus.Ready, null);
        var attempt = c.Record.AttemptList.Count;
        c.Record.AttemptList.Add(new CallAttempt(a.Id, c.Queue!.Id, _now, _now, AttemptOutcome.Answered, Pickup: true));
        a.Today.Offered++;
        Connect(c, a, attempt);
        DispatchFreed();
        return CommandResult.Ok;
    }

    private bool ResolveOffer(CallId call, AgentId agent, long now, out Call c, out Agent a, out CommandResult result)
    {
        Advance(now);
        c = null!;
        a = null!;
        if (!_calls.TryGetValue(call, out c!)) { result = CommandResult.UnknownCall; return false; }
        if (!_agents.TryGetValue(agent, out a!)) { result = CommandResult.UnknownAgent; return false; }
        if (a.OfferCall != c) { result = CommandResult.NoSuchOffer; return false; }
        result = CommandResult.Ok;
        return true;
    }

    private CommandResult ReportFailedOffer(CallId call, AgentId agent, AttemptOutcome outcome, long now)
    {
        if (!ResolveOffer(call, agent, now, out _, out var a, out var result)) return result;
        FailOffer(a, outcome);
        DispatchFreed();
        return CommandResult.Ok;
    }

    /// <summary>An offer ended without an answer through the agent: delays, no-answer counting, then routing.</summary>
    private void FailOffer(Agent a, AttemptOutcome outcome)
    {
        var c = a.OfferCall!;
        var q = c.Queue!;
        var directed = c.TransferRinging;
        ReleaseOffer(a, outcome);
        a.Today.Missed++;
        var delay = 0;
        switch (outcome)
        {
            case AttemptOutcome.Busy:
                delay = a.Config.BusyDelaySeconds;
                break;
            case AttemptOutcome.Rejected:
                a.Today.Rejected++;
                delay = a.Config.RejectDelaySeconds;
                if (q.Config.ForceNotReadyOnReject) SetStatus(a, AgentStatus.NotReady, "rejected");
                break;
            case AttemptOutcome.NoAnswer:
                delay = a.Config.NoAnswerDelaySeconds;
                a.ConsecutiveNoAnswers++;
                if (a.Config.MaxConsecutiveNoAnswers > 0 && a.ConsecutiveNoAnswers >= a.Config.MaxConsecutiveNoAnswers)
                    SetStatus(a, AgentStatus.NotReady, "no_answer");
                break;
            default:
                break;
        }
        if (delay > 0)
        {
            a.InDelay = true;
            a.DelayUntil = _now + delay * 1000L;
            Schedule(a.DelayUntil, TimerKind.DelayEnd, a, a.DelayUntil);
        }
        Refresh(a);
        _freed.Add(a);

        if (directed)
        {
            AfterDirectedOffer(c);
            return;
        }
        c.UnansweredAttempts++;
        if (c.State == CallState.Waiting && q.Config.NoAnswerMaxAttempts > 0
            && c.UnansweredAttempts >= q.Config.NoAnswerMaxAttempts)
        {
            LeaveQueue(c, ExitReason.NoAnswer, q.Config.NoAnswerDestination);
        }
        else if (c.Offers.Count == 0 || q.Config.Strategy == Strategy.RingAll)
        {
            // A ring-all call still ringing others may now add agents that the ended offer kept out (a better
            // skill or level was ringing).
            DispatchCall(c);
        }
    }

    /// <summary>Takes back an offer for a reason other than the agent (the agent left, went Not Ready, was removed).</summary>
    private void CancelAgentOffer(Agent a)
    {
        var c = a.OfferCall!;
        var directed = c.TransferRinging;
        ReleaseOffer(a, AttemptOutcome.Cancelled);
        Refresh(a);
        _freed.Add(a);
        if (directed) AfterDirectedOffer(c);
        else if (c.Offers.Count == 0 || c.Queue!.Config.Strategy == Strategy.RingAll) DispatchCall(c);
    }

    /// <summary>The agent a call was transferred to did not take it: the call goes to the transfer's fallback, or
    /// stays in its queue and is routed from the place it kept (<see cref="TransferToAgent"/>).</summary>
    private void AfterDirectedOffer(Call c)
    {
        var fallback = c.TransferFallback;
        c.TransferFallback = null;
        if (c.State != CallState.Waiting) return;
        if (fallback is { } f) LeaveQueue(c, ExitReason.NoAnswer, f);
        else DispatchCall(c);
    }

    /// <summary>Ends the agent's offer with <paramref name="outcome"/> and unlinks it from the call.</summary>
    private void ReleaseOffer(Agent a, AttemptOutcome outcome)
    {
        var c = a.OfferCall!;
        var attempts = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(c.Record.AttemptList);
        ref var attempt = ref attempts[a.OfferAttempt];
        attempt = attempt with { EndedAt = _now, Outcome = outcome };
        a.OfferCall = null;
        a.OfferAttempt = -1;
        a.OfferRinging = false;
        c.Offers.Remove(a);
        if (c.Offers.Count == 0)
        {
            c.StickyRinging = false;
            c.TransferRinging = false;
            if (c.IsQueued) c.Queue!.RingingCount--;
        }
        Emit(new EngineEvent(EventKind.OfferEnded, _now, c.Queue!.Id, a.Id, c.Id, (int)outcome));
        UpdateActivity(a);
    }

    private void CancelOffers(Call c)
    {
        for (var i = c.Offers.Count - 1; i >= 0; i--)
        {
            var other = c.Offers[i];
            ReleaseOffer(other, AttemptOutcome.Cancelled);
            Refresh(other);
            _freed.Add(other);
        }
        c.TransferFallback = null;
    }

    /// <summary>Connects a queued call to the agent who answered (or picked it up).</summary>
    private void Connect(Call c, Agent a, int attempt)
    {
        var q = c.Queue!;
        CancelOffers(c);
        var wait = _now - c.QueueEnteredAt;
        var wasCallback = c.State == CallState.CallbackWaiting;
        RemoveFromQueueLists(c);
        a.Today.Answered++;
        a.ConsecutiveNoAnswers = 0;
        if (a.FindMember(q.Id) is { } m) m.LastAnsweredAt = _now;
        c.ConnectedAgent = a;
        a.TalkCall = c;
        if (q.Config.StickyAgentSeconds > 0 && c.Record.CallerNumber.Length > 0)
            q.Sticky[c.Record.CallerNumber] = (a.Id, _now);

        if (wasCallback)
        {
            c.State = CallState.CallbackDialing;
            var number = (q.Config.Callback.OutboundPrefix ?? "") + c.Record.CallbackNumber;
            Emit(new EngineEvent(EventKind.CallbackDial, _now, q.Id, a.Id, c.Id, Value: attempt, Text: number));
        }
        else
        {
            q.Today.RecordLeft(wait, answered: true, q.SlaMs(_options));
            q.LastServedWaitMs = wait;
            CloseVisit(c, ExitReason.None);
            c.State = CallState.Connected;
            c.Record.AnsweredAt = _now;
            c.Record.AnsweredBy = a.Id;
            c.Record.AnsweredIn = q.Id;
            c.Record.ExitReason = ExitReason.None;
            q.TalkingCount++;
            Emit(new EngineEvent(EventKind.CallAnswered, _now, q.Id, a.Id, c.Id, Value: wait));
        }
        UpdateActivity(a);
        Refresh(a);
    }

    private void EndTalk(Call c, bool byAgent = false)
    {
        if (c.Supervisor != null) EndMonitor(c); // the talk is over: nothing left to monitor
        var a = c.ConnectedAgent!;
        var q = c.Queue!;
        c.Record.TalkEndedAt = _now;
        if (byAgent && q.Config.SurveyMaxRating > 0)
        {
            // The caller stays on the line for the survey; the agent is freed as usual.
            c.SurveyPending = true;
            Schedule(_now + (SurveySeconds * 1000L), TimerKind.SurveyEnd, c, 0);
            Emit(new EngineEvent(EventKind.CallSurvey, _now, q.Id, a.Id, c.Id, Value: q.Config.SurveyMaxRating, Text: q.Config.SurveyPrompt));
        }
        q.TalkingCount--;
        var talk = _now - c.Record.AnsweredAt!.Value;
        a.Today.TalkMs += talk;
        a.TalkCall = null;
        a.LastIdleSince = _now;

        var (after, reason) = StatusAfterCall(a, q);
        var wrap = a.WrapUpSecondsFor(q);
        if ((wrap > 0 || AwaitsDisposition(c)) && a.Status != AgentStatus.LoggedOut)
        {
            c.State = CallState.WrapUp;
            a.WrapCall = c;
            a.StatusAfterWrap = after;
            a.ReasonAfterWrap = reason;
            a.WrapSeq = ++_seq;
            SetStatus(a, AgentStatus.WrapUp, null);
            if (wrap > 0) Schedule(_now + wrap * 1000L, TimerKind.WrapEnd, a, a.WrapSeq);
            Emit(new EngineEvent(EventKind.CallWrapUp, _now, q.Id, a.Id, c.Id, Value: wrap));
            UpdateActivity(a);
            Refresh(a);
        }
        else
        {
            c.ConnectedAgent = null;
            EndAnswered(c, q);
            SetStatus(a, after, reason);
            UpdateActivity(a);
            Refresh(a);
            _freed.Add(a);
        }
    }

    /// <summary>The status an agent takes when a call of <paramref name="q"/> is over (after its wrap-up): the one it
    /// chose meanwhile (Not Ready, Logged Out), else Ready when the queue says so, else Not Ready.</summary>
    private static (AgentStatus Status, string? Reason) StatusAfterCall(Agent a, Queue q) =>
        a.Status is AgentStatus.NotReady or AgentStatus.LoggedOut ? (a.Status, a.Reason)
        : q.Config.AgentAutoReady ? (AgentStatus.Ready, null)
        : (AgentStatus.NotReady, "after_call");

    /// <summary>
    /// The answering agent gives the call a disposition code, while talking or in wrap-up; a later
    /// code replaces an earlier one. It lands in the CDR. When the queue requires
    /// one and the wrap-up time is already over, the wrap-up ends now.
    /// </summary>
    public CommandResult SetDisposition(CallId call, AgentId agent, string code, long now)
    {
        Advance(now);
        if (!_agents.TryGetValue(agent, out var a)) return CommandResult.UnknownAgent;
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        if (c.Record.AnsweredBy != agent || c.State is not (CallState.Connected or CallState.WrapUp)) return CommandResult.InvalidState;
        var codes = c.Queue!.Config.DispositionCodes;
        if (string.IsNullOrEmpty(code) || code.Length > 64 || (codes.Count > 0 && !codes.Contains(code))) return CommandResult.InvalidArgument;
        c.Record.DispositionCode = code;
        if (a.WrapCall == c && c.Record.TalkEndedAt + a.WrapUpSecondsFor(c.Queue) * 1000L <= _now)
        {
            FinishWrapUp(a, a.StatusAfterWrap, a.ReasonAfterWrap);
            DispatchAgent(a);
        }
        return CommandResult.Ok;
    }

    /// <summary>
    /// A supervisor joined a connected call in <paramref name="mode"/> (again with another mode: the mode changed), or
    /// (<paramref name="mode"/> null) left it. The host rings the supervisor and mixes the media; the engine keeps who
    /// monitors which call, for the status APIs and the events.
    /// </summary>
    public CommandResult SetMonitor(CallId call, SupervisionMode? mode, string? supervisor, long now)
    {
        Advance(now);
        if (!_calls.TryGetValue(call, out var c)) return CommandResult.UnknownCall;
        if (mode is not { } m)
        {
            if (c.Supervisor == null) return CommandResult.Ignored;
            EndMonitor(c);
            return CommandResult.Ok;
        }
        if (c.State != CallState.Connected || string.IsNullOrEmpty(supervisor)) return CommandResult.InvalidState;
        if (c.Supervisor == supervisor && c.SupervisionMode == m) return CommandResult.Ignored;
        c.Supervisor = supervisor;
        c.SupervisionMode = m;
        Emit(new EngineEvent(EventKind.CallMonitorStarted, _now, c.Queue?.Id ?? default, c.Agent ?? default, c.Id, (int)m, Text: supervisor));
        return CommandResult.Ok;
    }

    /// <summary>The telephony layer stored a message the caller left in <paramref name="queue"/>'s voicemail box after
    /// the call went to voicemail (and so ended here): published as <see cref="EventKind.VoicemailLeft"/>. The engine
    /// keeps nothing of it.</summary>
    public CommandResult VoicemailLeft(QueueId queue, CallId call, long voicemailId, long durationMs, string callerNumber, long now)
    {
        Advance(now);
        if (!_queues.ContainsKey(queue)) return CommandResult.UnknownQueue;
        if (_calls.ContainsKey(call)) return CommandResult.InvalidState; // still in a queue: not sent to voicemail
        if (call.Value <= 0 || voicemailId <= 0 || durationMs < 0 || string.IsNullOrEmpty(callerNumber)) return CommandResult.InvalidArgument;
        Emit(new EngineEvent(EventKind.VoicemailLeft, _now, queue, default, call, Value: voicemailId, Value2: durationMs, Text: callerNumber));
        return CommandResult.Ok;
    }

    private void EndMonitor(Call c)
    {
        var supervisor = c.Supervisor;
        c.Supervisor = null;
        Emit(new EngineEvent(EventKind.CallMonitorEnded, _now, c.Queue?.Id ?? default, c.Agent ?? c.Record.AnsweredBy ?? default, c.Id, (int)c.SupervisionMode, Text: supervisor));
    }

    private static bool AwaitsDisposition(Call c) => c.Queue!.Config.DispositionRequired && c.Record.DispositionCode == null;

    private void FinishWrapUp(Agent a, AgentStatus status, string? reason)
    {
        var c = a.WrapCall!;
        a.WrapCall = null;
        c.ConnectedAgent = null;
        EndAnswered(c, c.Queue!);
        SetStatus(a, status, reason);
        Refresh(a);
    }

    private void EndAnswered(Call c, Queue q)
    {
        CountHandled(c, q);
        if (c.SurveyPending) c.State = CallState.Survey; // ends when the survey does
        else End(c, Disposition.Answered, ExitReason.None);
    }

    /// <summary>The queue's handled-call statistics for an answered call whose talk has ended, up to now.</summary>
    private void CountHandled(Call c, Queue q)
    {
        var answeredAt = c.Record.AnsweredAt!.Value;
        var talk = c.Record.TalkEndedAt!.Value - answeredAt;
        var handle = _now - answeredAt;
        q.Today.Handled++;
        q.Today.SumTalkMs += talk;
        q.Today.SumHandleMs += handle;
        var alpha = _options.HandleTimeSmoothing;
        q.RecentHandleSeconds = (1 - alpha) * q.RecentHandleSeconds + alpha * (handle / 1000.0);
    }

    private void Abandon(Call c)
    {
        var q = c.Queue!;
        var wait = _now - c.QueueEnteredAt;
        q.Today.Abandoned++;
        if (wait <= q.SlaMs(_options)) q.Today.ShortAbandoned++;
        RemoveQueued(c, ExitReason.Abandoned);
        q.Today.RecordLeft(wait, answered: false, q.SlaMs(_options));
        Emit(new EngineEvent(EventKind.CallLeftQueue, _now, q.Id, default, c.Id, (int)ExitReason.Abandoned));
        End(c, Disposition.Abandoned, ExitReason.Abandoned);
    }

    private void End(Call c, Disposition disposition, ExitReason reason)
    {
        if (c.Supervisor != null) EndMonitor(c);
        c.State = CallState.Ended;
        c.VisitSeq = 0;
        c.Record.EndedAt = _now;
        // A talk cut off by a node failure ends, after its wrap-up, as lost rather than answered.
        if (c.Record.ExitReason == ExitReason.LostOnNodeFailure) disposition = Disposition.LostOnNodeFailure;
        c.Record.Disposition = disposition;
        if (c.Record.ExitReason == ExitReason.None) c.Record.ExitReason = reason;
        _calls.Remove(c.Id);
        Emit(new EngineEvent(EventKind.CallEnded, _now, c.Queue?.Id ?? default, c.Record.AnsweredBy ?? default, c.Id,
            (int)disposition, Record: c.Record));
    }
}
