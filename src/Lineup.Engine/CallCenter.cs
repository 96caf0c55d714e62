using System.Runtime.InteropServices;

namespace Lineup.Engine;

/// <summary>How a command went. Expected failures are values; exceptions are bugs.</summary>
public enum CommandResult
{
    Ok,
    /// <summary>Accepted, but nothing to do (a key with no meaning here, a repeated status).</summary>
    Ignored,
    UnknownQueue,
    UnknownAgent,
    UnknownCall,
    /// <summary>The agent is not a member of that queue.</summary>
    NotMember,
    /// <summary>The agent has no offer for that call (it timed out or was cancelled).</summary>
    NoSuchOffer,
    /// <summary>The agent is on, or ringing for, another call.</summary>
    AgentBusy,
    /// <summary>The agent must be logged in first.</summary>
    NotLoggedIn,
    /// <summary>The call or agent is not in a state where the command applies.</summary>
    InvalidState,
    /// <summary>The queue still has calls.</summary>
    QueueHasCalls,
    /// <summary>The queue does not offer callbacks, or there is no number to call back.</summary>
    CallbackUnavailable,
    /// <summary>An argument is out of range (reported with the field by the host's validation).</summary>
    InvalidArgument,
    /// <summary>Another queue already has that extension, or another local agent that number.</summary>
    Conflict,
    /// <summary>A destination names a queue that does not exist, or the queue itself.</summary>
    InvalidDestination,
    /// <summary>The queue requires a disposition code before the agent's wrap-up may end.</summary>
    DispositionRequired,
    /// <summary>The agent is logged in but cannot take a call now: Not Ready, in wrap-up, in a delay after a missed
    /// offer, or on a call that did not come from a queue.</summary>
    AgentUnavailable,
}

/// <summary>The result of <see cref="CallCenter.Enqueue"/>: the call id is valid when the result is Ok.</summary>
public readonly record struct EnqueueResult(CommandResult Result, CallId Call);

/// <summary>
/// One tenant's call center: a deterministic state machine. Every command takes the current time (Unix ms) and
/// first fires the timers due by then; it returns a <see cref="CommandResult"/> and appends events to
/// <see cref="PendingEvents"/>, which the host drains. <see cref="NextDeadline"/> tells the host when to call
/// <see cref="Advance"/>. No I/O, no threads, no clock: the same commands at the same times give the same events.
/// Not thread-safe: one tenant, one mailbox.
/// </summary>
public sealed partial class CallCenter
{
    private readonly EngineOptions _options;
    private readonly Dictionary<QueueId, Queue> _queues = new();
    private readonly Dictionary<AgentId, Agent> _agents = new();
    private readonly Dictionary<CallId, Call> _calls = new();
    private readonly List<EngineEvent> _events = new(64);
    private readonly PriorityQueue<Timer, (long Due, long Order)> _timers = new();
    private readonly List<TimerLane> _lanes = new(2);
    private readonly List<Agent> _freed = new(8);
    private readonly List<Member> _scratch = new(16);
    private long _now = long.MinValue;
    private long _seq;
    private long _timerOrder;
    private long _callSeq;
    private long _dayEnd = long.MinValue;

    /// <summary>The next office-hours boundary of any queue (derived from the configs, not stored).</summary>
    private long _scheduleDue = long.MaxValue;
    private ulong _rng;

    public CallCenter(EngineOptions? options = null)
    {
        _options = options ?? EngineOptions.Default;
        _rng = _options.Seed == 0 ? 0x9E3779B97F4A7C15UL : _options.Seed;
    }

    public EngineOptions Options => _options;

    /// <summary>The time of the last command or timer.</summary>
    public long Now => _now;

    /// <summary>Events emitted since the last <see cref="ClearEvents"/>, in order.</summary>
    public ReadOnlySpan<EngineEvent> PendingEvents => CollectionsMarshal.AsSpan(_events);

    public void ClearEvents() => _events.Clear();

    /// <summary>Copies and clears the pending events.</summary>
    public EngineEvent[] TakeEvents()
    {
        var copy = _events.ToArray();
        _events.Clear();
        return copy;
    }

    /// <summary>The earliest time a timer is due (Unix ms), or null when none is pending.</summary>
    public long? NextDeadline => PeekTimer(out var due, out _) ? Math.Min(due, _scheduleDue) : _scheduleDue == long.MaxValue ? null : _scheduleDue;

    public IReadOnlyCollection<Queue> Queues => _queues.Values;
    public IReadOnlyCollection<Agent> Agents => _agents.Values;
    /// <summary>Calls that have not ended yet.</summary>
    public IReadOnlyCollection<Call> ActiveCalls => _calls.Values;

    public bool TryGetQueue(QueueId id, out Queue queue) => _queues.TryGetValue(id, out queue!);
    public bool TryGetAgent(AgentId id, out Agent agent) => _agents.TryGetValue(id, out agent!);
    public bool TryGetCall(CallId id, out Call call) => _calls.TryGetValue(id, out call!);

    /// <summary>Fires every timer due at or before <paramref name="now"/>, each at its own due time.</summary>
    public void Advance(long now)
    {
        if (now < _now) now = _now;
        while (true)
        {
            var timerDue = PeekTimer(out var due, out var lane) && due <= now;
            if (_scheduleDue <= now && (!timerDue || _scheduleDue <= due))
            {
                // An office-hours boundary, in time order among the timers.
                if (_scheduleDue > _now) _now = _scheduleDue;
                RollDay(_now);
                ApplySchedules();
                continue;
            }
            if (!timerDue) break;
            var timer = lane == null ? _timers.Dequeue() : lane.Items.Dequeue().Timer;
            if (due > _now) _now = due;
            RollDay(_now);
            Fire(timer);
            DispatchFreed();
        }
        _now = now;
        RollDay(now);
    }

    private void Emit(in EngineEvent e) => _events.Add(e);

    private void Schedule(long due, TimerKind kind, object target, long seq) =>
        _timers.Enqueue(new Timer(kind, target, seq), (due, ++_timerOrder));

    /// <summary>
    /// Schedules a timer <paramref name="delayMs"/> from now in the lane of that delay. A lane is a FIFO: the clock
    /// never goes back, so timers of one delay come due in the order they were set, and each costs one append and
    /// one removal instead of two sifts through the heap of every pending timer, most of them stale (a ring-all
    /// round sets a ring timeout per agent rung, and the answer or hang-up leaves them all to expire). The order
    /// of firing is the heap's: (due, order) across the heap and every lane.
    /// </summary>
    private void ScheduleAfter(long delayMs, TimerKind kind, object target, long seq)
    {
        var due = _now + delayMs;
        TimerLane? lane = null;
        foreach (var l in _lanes)
        {
            if (l.DelayMs != delayMs) continue;
            lane = l;
            break;
        }
        if (lane == null && _lanes.Count < MaxTimerLanes) _lanes.Add(lane = new TimerLane(delayMs));
        if (lane == null || due < lane.LastDue)
        {
            Schedule(due, kind, target, seq);
            return;
        }
        lane.LastDue = due;
        lane.Items.Enqueue((new Timer(kind, target, seq), due, ++_timerOrder));
    }

    /// <summary>The next timer to fire, in (due, order) order: the heap's root or a lane's head (<paramref name="lane"/>).
    /// Spent timers at the front are dropped on the way, so the next deadline is a live timer's.</summary>
    private bool PeekTimer(out long due, out TimerLane? lane)
    {
        Timer root;
        (long Due, long Order) key;
        while (_timers.TryPeek(out root, out key) && IsSpent(root)) _timers.Dequeue();
        var found = _timers.Count > 0;
        (due, var order) = found ? key : (long.MaxValue, long.MaxValue);
        lane = null;
        foreach (var l in _lanes)
        {
            (Timer Timer, long Due, long Order) head;
            while (l.Items.TryPeek(out head) && IsSpent(head.Timer)) l.Items.Dequeue();
            if (l.Items.Count == 0) continue;
            if (found && (head.Due > due || (head.Due == due && head.Order > order))) continue;
            (due, order, lane, found) = (head.Due, head.Order, l, true);
        }
        return found;
    }

    /// <summary>Timers held, spent ones not yet dropped included (tests compare it with what a snapshot keeps).</summary>
    internal int HeldTimers
    {
        get
        {
            var n = _timers.Count;
            foreach (var l in _lanes) n += l.Items.Count;
            return n;
        }
    }

    /// <summary>Distinct delays given a lane; timers of further delays go to the heap.</summary>
    private const int MaxTimerLanes = 8;

    private sealed class TimerLane(long delayMs)
    {
        public long DelayMs { get; } = delayMs;
        public long LastDue { get; set; } = long.MinValue;
        public Queue<(Timer Timer, long Due, long Order)> Items { get; } = new();
    }

    private ulong NextRandom()
    {
        // xorshift64*: small, fast, and seeded per tenant so the random strategy replays exactly.
        var x = _rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        _rng = x;
        return x * 0x2545F4914F6CDD1DUL;
    }

    private void RollDay(long now)
    {
        if (now < _dayEnd) return;
        if (_dayEnd == long.MinValue)
        {
            _dayEnd = NextMidnight(now);
            return;
        }
        while (now >= _dayEnd)
        {
            var boundary = _dayEnd;
            foreach (var a in _agents.Values)
            {
                AccountStatusTime(a, boundary);
                a.Today.Reset();
            }
            foreach (var q in _queues.Values)
            {
                q.Today.Reset();
                ForgetStaleStickyCallers(q, boundary);
            }
            _dayEnd = NextMidnight(boundary);
        }
    }

    /// <summary>Once a day, the sticky-agent memory drops callers whose window has passed: otherwise it would hold
    /// every caller ever answered, and a tenant's memory and snapshot would grow with its history.</summary>
    private static void ForgetStaleStickyCallers(Queue q, long now)
    {
        if (q.Sticky.Count == 0) return;
        var window = q.Config.StickyAgentSeconds * 1000L;
        foreach (var (caller, last) in q.Sticky)
            if (now - last.At > window) q.Sticky.Remove(caller);
    }

    /// <summary>The next local midnight after <paramref name="now"/> in the tenant's zone, as Unix ms.</summary>
    internal long NextMidnight(long now)
    {
        var tz = _options.TimeZone;
        var local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(now), tz);
        var next = local.Date.AddDays(1);
        // A midnight skipped by a DST change: the day starts at the first valid local time after it.
        while (tz.IsInvalidTime(next)) next = next.AddMinutes(30);
        var offset = tz.GetUtcOffset(next);
        return new DateTimeOffset(next, offset).ToUnixTimeMilliseconds();
    }

    /// <summary>Time today in <paramref name="status"/>, including the current stretch.</summary>
    public TimeSpan TimeInStatus(Agent agent, AgentStatus status)
    {
        var ms = agent.Today.StatusMs[(int)status];
        if (agent.Status == status) ms += _now - agent.StatusAccountedAt;
        return TimeSpan.FromMilliseconds(ms);
    }

    private static void AccountStatusTime(Agent a, long now)
    {
        if (now > a.StatusAccountedAt) a.Today.StatusMs[(int)a.Status] += now - a.StatusAccountedAt;
        a.StatusAccountedAt = now;
    }

    private enum TimerKind : byte
    {
        RingStart,
        RingTimeout,
        DelayEnd,
        WrapEnd,
        ManualWrapEnd,
        MaxWait,
        TierEscalation,
        Retry,
        PeriodicAnnouncement,
        PositionAnnouncement,
        CallbackOffer,
        NoAgentCheck,
        SurveyEnd,
    }

    private readonly record struct Timer(TimerKind Kind, object Target, long Seq);

    /// <summary>
    /// True when <paramref name="t"/> can never do anything again: its target is gone (an ended call, a removed agent
    /// or queue) or has moved on to a newer offer, wrap-up, visit or no-agent check (those sequence numbers only grow).
    /// Firing such a timer is a no-op, so it is dropped unfired and left out of snapshots: answered offers and ended
    /// calls leave one ring timeout or wait limit each, and at a few thousand calls a second they outnumber the live
    /// timers a hundred to one. A delay's end is keyed by its time, which a later delay may reuse, so it is kept.
    /// </summary>
    private bool IsSpent(in Timer t)
    {
        switch (t.Target)
        {
            case Agent a:
                if (!_agents.TryGetValue(a.Id, out var agent) || agent != a) return true;
                return t.Kind switch
                {
                    TimerKind.RingStart or TimerKind.RingTimeout => a.OfferSeq != t.Seq,
                    TimerKind.WrapEnd or TimerKind.ManualWrapEnd => a.WrapSeq != t.Seq,
                    _ => false,
                };
            case Queue q:
                if (!_queues.TryGetValue(q.Id, out var queue) || queue != q) return true;
                return t.Kind == TimerKind.NoAgentCheck && q.NoAgentTimerSeq != t.Seq;
            case Call c:
                if (!_calls.TryGetValue(c.Id, out var call) || call != c) return true;
                return t.Kind != TimerKind.SurveyEnd && c.VisitSeq != t.Seq;
            default:
                return true;
        }
    }

    private void Fire(Timer t)
    {
        if (t.Target == Expired) return;
        switch (t.Kind)
        {
            case TimerKind.RingStart:
                {
                    var a = (Agent)t.Target;
                    if (a.OfferCall != null && a.OfferSeq == t.Seq && !a.OfferRinging) StartRinging(a);
                    break;
                }
            case TimerKind.RingTimeout:
                {
                    var a = (Agent)t.Target;
                    if (a.OfferCall != null && a.OfferSeq == t.Seq) FailOffer(a, AttemptOutcome.NoAnswer);
                    break;
                }
            case TimerKind.DelayEnd:
                {
                    var a = (Agent)t.Target;
                    if (a.InDelay && a.DelayUntil == t.Seq)
                    {
                        a.InDelay = false;
                        Refresh(a);
                        DispatchAgent(a);
                    }
                    break;
                }
            case TimerKind.WrapEnd:
                {
                    var a = (Agent)t.Target;
                    // A required disposition holds the wrap-up past its time: SetDisposition ends it.
                    if (a.WrapCall != null && a.WrapSeq == t.Seq && !AwaitsDisposition(a.WrapCall))
                    {
                        FinishWrapUp(a, a.StatusAfterWrap, a.ReasonAfterWrap);
                        DispatchAgent(a);
                    }
                    break;
                }
            case TimerKind.ManualWrapEnd:
                {
                    var a = (Agent)t.Target;
                    if (a.WrapCall == null && a.Status == AgentStatus.WrapUp && a.WrapSeq == t.Seq)
                    {
                        // Ready after a wrap-up the agent chose; after a transferred call, what the call's end gave.
                        SetStatus(a, a.StatusAfterWrap, a.ReasonAfterWrap);
                        Refresh(a);
                        DispatchAgent(a);
                    }
                    break;
                }
            case TimerKind.SurveyEnd:
                {
                    var c = (Call)t.Target;
                    if (c.SurveyPending && _calls.TryGetValue(c.Id, out var live) && live == c) FinishSurvey(c);
                    break;
                }
            case TimerKind.NoAgentCheck:
                {
                    var q = (Queue)t.Target;
                    if (q.NoAgentTimerSeq == t.Seq) CheckNoAgentWaits(q);
                    break;
                }
            default:
                FireCallTimer(t.Kind, (Call)t.Target, t.Seq);
                break;
        }
    }

    private void FireCallTimer(TimerKind kind, Call c, long seq)
    {
        if (c.VisitSeq != seq || c.Queue is not { } q) return;
        switch (kind)
        {
            case TimerKind.MaxWait when c.State == CallState.Waiting:
                LeaveQueue(c, ExitReason.Timeout, q.Config.TimeoutDestination);
                break;
            case TimerKind.TierEscalation when c.IsQueued:
                ScheduleTierEscalation(c);
                DispatchCall(c);
                break;
            case TimerKind.Retry when c.IsQueued && c.NotBefore <= _now:
                DispatchCall(c);
                break;
            // A queue whose announcements were switched off since the timer was set ends the series here (rescheduling
            // at an interval of 0 would fire again at once, for ever).
            case TimerKind.PeriodicAnnouncement when c.State == CallState.Waiting && q.Config.PeriodicAnnounceSeconds > 0:
                Emit(new EngineEvent(EventKind.Announcement, _now, q.Id, default, c.Id,
                    (int)AnnouncementKind.Periodic, Text: q.Config.PeriodicPrompt));
                Schedule(_now + q.Config.PeriodicAnnounceSeconds * 1000L, TimerKind.PeriodicAnnouncement, c, c.VisitSeq);
                break;
            case TimerKind.PositionAnnouncement when c.State == CallState.Waiting
                                                   && q.Config.PositionAnnouncement != PositionAnnouncement.Disabled
                                                   && q.Config.PositionAnnounceSeconds > 0:
                AnnouncePosition(c);
                Schedule(_now + q.Config.PositionAnnounceSeconds * 1000L, TimerKind.PositionAnnouncement, c, c.VisitSeq);
                break;
            case TimerKind.CallbackOffer when c.State == CallState.Waiting && q.Config.Callback.Enabled:
                c.CallbackOffered = true;
                Emit(new EngineEvent(EventKind.Announcement, _now, q.Id, default, c.Id,
                    (int)AnnouncementKind.CallbackOffer, Text: q.Config.Callback.Key));
                break;
            default:
                break;
        }
    }
}
