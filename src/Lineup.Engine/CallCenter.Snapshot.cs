using Lineup.Engine.Snapshots;

namespace Lineup.Engine;

public sealed partial class CallCenter
{
    /// <summary>The target of a restored timer whose agent, queue or call was already gone: firing it does nothing,
    /// as firing the original on its orphaned object did nothing (see <see cref="TimerSnapshot"/>).</summary>
    private static readonly object Expired = new();

    /// <summary>
    /// Takes the engine's complete state (see <see cref="EngineSnapshot"/>). Call it between commands, after the
    /// pending events were drained: events are outputs, not state, and would be lost.
    /// </summary>
    public EngineSnapshot Capture()
    {
        if (_events.Count > 0) throw new InvalidOperationException("drain the pending events before taking a snapshot");
        // Every command ends by dispatching the agents it freed; a leftover would be state the snapshot lacks.
        if (_freed.Count > 0) throw new InvalidOperationException("agents freed by the last command were not dispatched");
        // Spent timers are left out: they would never do anything (see IsSpent), and they are most of the heap.
        var timers = new List<(Timer Timer, long Due, long Order)>();
        foreach (var (timer, key) in _timers.UnorderedItems)
            if (!IsSpent(timer)) timers.Add((timer, key.Due, key.Order));
        foreach (var lane in _lanes)
            foreach (var item in lane.Items)
                if (!IsSpent(item.Timer)) timers.Add(item);
        timers.Sort(static (x, y) => x.Due != y.Due ? x.Due.CompareTo(y.Due) : x.Order.CompareTo(y.Order));
        return new EngineSnapshot
        {
            Version = EngineSnapshot.CurrentVersion,
            Options = new OptionsSnapshot
            {
                TimeZone = _options.TimeZone.Id,
                Seed = _options.Seed,
                DefaultSlaSeconds = _options.DefaultSlaSeconds,
                MaxQueueHops = _options.MaxQueueHops,
                HandleTimeSmoothing = _options.HandleTimeSmoothing,
                CallIdBase = _options.CallIdBase,
            },
            Now = _now,
            DayEnd = _dayEnd,
            Seq = _seq,
            TimerOrder = _timerOrder,
            CallSeq = _callSeq,
            Rng = _rng,
            Queues = [.. _queues.Values.OrderBy(q => q.Id.Value).Select(SnapshotOf)],
            Agents = [.. _agents.Values.OrderBy(a => a.Id.Value).Select(SnapshotOf)],
            Calls = [.. _calls.Values.OrderBy(c => c.Id.Value).Select(SnapshotOf)],
            Timers = [.. timers.Select(t => SnapshotOf(t.Timer, t.Due, t.Order))],
        };
    }

    /// <summary>
    /// Rebuilds an engine from <paramref name="snapshot"/>. The options are the host's, as for the constructor (the
    /// generator's seed only matters to a new engine: the snapshot carries the generator's state). Throws
    /// <see cref="ArgumentException"/> when the snapshot does not hold together (an id that names nothing).
    /// </summary>
    public static CallCenter Restore(EngineSnapshot snapshot, EngineOptions options)
    {
        if (snapshot.Version != EngineSnapshot.CurrentVersion)
            throw new NotSupportedException($"snapshot version {snapshot.Version}; this engine reads version {EngineSnapshot.CurrentVersion}");
        return new SnapshotReader(new CallCenter(options)).Read(snapshot);
    }

    private static QueueSnapshot SnapshotOf(Queue q)
    {
        var t = q.Today;
        return new QueueSnapshot
        {
            Config = SnapshotSettings.Of(q.Config),
            NightMode = q.NightMode,
            NightOverride = q.NightOverride,
            Today = new QueueStatsSnapshot
            {
                Offered = t.Offered,
                Answered = t.Answered,
                Abandoned = t.Abandoned,
                ShortAbandoned = t.ShortAbandoned,
                TimedOut = t.TimedOut,
                Overflowed = t.Overflowed,
                ExitedByKey = t.ExitedByKey,
                CallbacksRequested = t.CallbacksRequested,
                Rejected = t.Rejected,
                AnsweredWithinSla = t.AnsweredWithinSla,
                SlaEligible = t.SlaEligible,
                SumWaitAnsweredMs = t.SumWaitAnsweredMs,
                SumWaitAllMs = t.SumWaitAllMs,
                Left = t.Left,
                MaxWaitMs = t.MaxWaitMs,
                SumTalkMs = t.SumTalkMs,
                SumHandleMs = t.SumHandleMs,
                Handled = t.Handled,
                Ratings = t.Ratings,
                SumRatings = t.SumRatings,
            },
            Members = [.. q.MemberList.Select(m => new MemberSnapshot
            {
                Agent = m.Agent.Id.Value,
                Config = SnapshotSettings.Of(m.Config),
                LoggedIn = m.LoggedIn,
                LastOfferedAt = m.LastOfferedAt,
                LastAnsweredAt = m.LastAnsweredAt,
                Category = m.Category.ToString(),
            })],
            Available = [.. q.Available.Select(m => m.Agent.Id.Value)],
            CategoryCounts = [.. q.Counts],
            WaitingCount = q.WaitingCount,
            RingingCount = q.RingingCount,
            CallbackCount = q.CallbackCount,
            TalkingCount = q.TalkingCount,
            Buckets = [.. q.Buckets.Select(b => new BucketSnapshot { Priority = b.Priority, Calls = CallIds(b.Head, static c => c.Next) })],
            Arrivals = CallIds(q.ArrivalHead, static c => c.ArrivalNext),
            RoundRobinKey = q.RoundRobinKey,
            NoAgentSince = q.NoAgentSince,
            NoAgentTimerSeq = q.NoAgentTimerSeq,
            RecentHandleSeconds = q.RecentHandleSeconds,
            LastServedWaitMs = q.LastServedWaitMs,
            Sticky = [.. q.Sticky.OrderBy(s => s.Key, StringComparer.Ordinal)
                .Select(s => new StickySnapshot { Caller = s.Key, Agent = s.Value.Agent.Value, At = s.Value.At })],
        };
    }

    private static long[] CallIds(Call? head, Func<Call, Call?> next)
    {
        var ids = new List<long>();
        for (var c = head; c != null; c = next(c)) ids.Add(c.Id.Value);
        return [.. ids];
    }

    private static AgentSnapshot SnapshotOf(Agent a) => new()
    {
        Config = SnapshotSettings.Of(a.Config),
        Status = a.Status,
        Reason = a.Reason,
        StatusSince = a.StatusSince,
        StatusAccountedAt = a.StatusAccountedAt,
        Activity = a.Activity,
        NonQueueBusy = a.NonQueueBusy,
        InDelay = a.InDelay,
        DelayUntil = a.DelayUntil,
        ConsecutiveNoAnswers = a.ConsecutiveNoAnswers,
        LastIdleSince = a.LastIdleSince,
        LoggedInQueueCount = a.LoggedInQueueCount,
        Queues = [.. a.MemberList.Select(m => m.Queue.Id.Value)],
        OfferCall = a.OfferCall?.Id.Value,
        OfferAttempt = a.OfferAttempt,
        OfferSeq = a.OfferSeq,
        OfferRinging = a.OfferRinging,
        OfferTimeoutSeconds = a.OfferTimeoutSeconds,
        TalkCall = a.TalkCall?.Id.Value,
        WrapCall = a.WrapCall?.Id.Value,
        WrapSeq = a.WrapSeq,
        StatusAfterWrap = a.StatusAfterWrap,
        ReasonAfterWrap = a.ReasonAfterWrap,
        Today = new AgentStatsSnapshot
        {
            Offered = a.Today.Offered,
            Answered = a.Today.Answered,
            Missed = a.Today.Missed,
            Rejected = a.Today.Rejected,
            TalkMs = a.Today.TalkMs,
            StatusMs = [.. a.Today.StatusMs],
        },
    };

    private static CallSnapshot SnapshotOf(Call c)
    {
        var r = c.Record;
        return new CallSnapshot
        {
            Record = new CallRecordSnapshot
            {
                Id = r.Id.Value,
                CallerNumber = r.CallerNumber,
                CallerName = r.CallerName,
                ExternalId = r.ExternalId,
                Priority = r.Priority,
                EnteredAt = r.EnteredAt,
                Visits = [.. r.VisitList.Select(v => new VisitSnapshot
                {
                    Queue = v.Queue.Value,
                    EnteredAt = v.EnteredAt,
                    LeftAt = v.LeftAt,
                    ExitReason = v.ExitReason,
                })],
                Attempts = [.. r.AttemptList.Select(x => new AttemptSnapshot
                {
                    Agent = x.Agent.Value,
                    Queue = x.Queue.Value,
                    OfferedAt = x.OfferedAt,
                    EndedAt = x.EndedAt,
                    Outcome = x.Outcome,
                    Pickup = x.Pickup,
                })],
                AnsweredAt = r.AnsweredAt,
                AnsweredBy = r.AnsweredBy?.Value,
                AnsweredIn = r.AnsweredIn?.Value,
                TalkEndedAt = r.TalkEndedAt,
                EndedAt = r.EndedAt,
                Disposition = r.Disposition,
                ExitReason = r.ExitReason,
                DestinationTarget = r.DestinationTarget,
                WasCallback = r.WasCallback,
                CallbackNumber = r.CallbackNumber,
                RecordingId = r.RecordingId,
                DispositionCode = r.DispositionCode,
                Rating = r.Rating,
            },
            State = c.State,
            Queue = c.Queue?.Id.Value,
            Priority = c.Priority,
            OrderTime = c.OrderTime,
            QueueEnteredAt = c.QueueEnteredAt,
            ConnectedAgent = c.ConnectedAgent?.Id.Value,
            Offers = [.. c.Offers.Select(a => a.Id.Value)],
            Tried = c.Tried is { } tried ? [.. tried.Select(a => a.Value)] : null,
            UnansweredAttempts = c.UnansweredAttempts,
            Hops = c.Hops,
            CallbackAttempts = c.CallbackAttempts,
            NotBefore = c.NotBefore,
            VisitSeq = c.VisitSeq,
            StickyPending = c.StickyPending,
            Supervisor = c.Supervisor,
            SupervisionMode = c.SupervisionMode,
            StickyRinging = c.StickyRinging,
            TransferRinging = c.TransferRinging,
            TransferFallback = c.TransferFallback is { } fallback ? SnapshotSettings.Of(fallback) : null,
            CallbackOffered = c.CallbackOffered,
            SurveyPending = c.SurveyPending,
        };
    }

    private static TimerSnapshot SnapshotOf(Timer t, long due, long order)
    {
        var snapshot = new TimerSnapshot { Kind = t.Kind.ToString(), Due = due, Order = order, Seq = t.Seq };
        // Only live timers are captured, so their targets are live too.
        return t.Target switch
        {
            Agent a => snapshot with { Agent = a.Id.Value },
            Queue q => snapshot with { Queue = q.Id.Value },
            Call c => snapshot with { Call = c.Id.Value },
            _ => throw new InvalidOperationException($"a live {t.Kind} timer has no target"),
        };
    }

    /// <summary>Builds an engine's state from a snapshot: objects first, then the references between them by id.</summary>
    private sealed class SnapshotReader(CallCenter engine)
    {
        private readonly Dictionary<(int Queue, int Agent), Member> _members = new();

        public CallCenter Read(EngineSnapshot s)
        {
            engine._now = s.Now;
            engine._dayEnd = s.DayEnd;
            engine._seq = s.Seq;
            engine._timerOrder = s.TimerOrder;
            engine._callSeq = s.CallSeq;
            engine._rng = s.Rng;
            foreach (var qs in s.Queues)
            {
                var q = new Queue(SnapshotSettings.ToConfig(qs.Config));
                if (!engine._queues.TryAdd(q.Id, q)) throw Broken($"queue {q.Id} appears twice");
            }
            foreach (var a in s.Agents) ReadAgent(a);
            foreach (var qs in s.Queues) ReadMembers(engine._queues[new QueueId(qs.Config.Id)], qs);
            foreach (var a in s.Agents) LinkMemberships(engine._agents[new AgentId(a.Config.Id)], a);
            foreach (var c in s.Calls) ReadCall(c);
            foreach (var cs in s.Calls) LinkCall(engine._calls[new CallId(cs.Record.Id)], cs);
            foreach (var a in s.Agents) LinkAgentCalls(engine._agents[new AgentId(a.Config.Id)], a);
            foreach (var qs in s.Queues) ReadQueue(engine._queues[new QueueId(qs.Config.Id)], qs);
            foreach (var t in s.Timers) ReadTimer(t);
            engine.RecomputeScheduleDue();
            return engine;
        }

        private void ReadAgent(AgentSnapshot s)
        {
            var a = new Agent(SnapshotSettings.ToConfig(s.Config), s.StatusSince)
            {
                Status = s.Status,
                Reason = s.Reason,
                StatusSince = s.StatusSince,
                Activity = s.Activity,
                DelayUntil = s.DelayUntil,
                ConsecutiveNoAnswers = s.ConsecutiveNoAnswers,
                LastIdleSince = s.LastIdleSince,
                LoggedInQueueCount = s.LoggedInQueueCount,
                StatusAccountedAt = s.StatusAccountedAt,
                NonQueueBusy = s.NonQueueBusy,
                InDelay = s.InDelay,
                OfferAttempt = s.OfferAttempt,
                OfferSeq = s.OfferSeq,
                OfferRinging = s.OfferRinging,
                OfferTimeoutSeconds = s.OfferTimeoutSeconds,
                WrapSeq = s.WrapSeq,
                StatusAfterWrap = s.StatusAfterWrap,
                ReasonAfterWrap = s.ReasonAfterWrap,
            };
            var t = a.Today;
            t.Offered = s.Today.Offered;
            t.Answered = s.Today.Answered;
            t.Missed = s.Today.Missed;
            t.Rejected = s.Today.Rejected;
            t.TalkMs = s.Today.TalkMs;
            if (s.Today.StatusMs.Count != t.StatusMs.Length) throw Broken($"agent {a.Id} has {s.Today.StatusMs.Count} status times");
            for (var i = 0; i < t.StatusMs.Length; i++) t.StatusMs[i] = s.Today.StatusMs[i];
            if (!engine._agents.TryAdd(a.Id, a)) throw Broken($"agent {a.Id} appears twice");
        }

        private void ReadMembers(Queue q, QueueSnapshot s)
        {
            foreach (var ms in s.Members)
            {
                var m = new Member(q, AgentOf(ms.Agent), SnapshotSettings.ToConfig(ms.Config))
                {
                    LoggedIn = ms.LoggedIn,
                    LastOfferedAt = ms.LastOfferedAt,
                    LastAnsweredAt = ms.LastAnsweredAt,
                    Category = Enum.TryParse<MemberCategory>(ms.Category, out var category) && Enum.IsDefined(category)
                        ? category
                        : throw Broken($"member category '{ms.Category}'"),
                };
                if (!_members.TryAdd((q.Id.Value, ms.Agent), m)) throw Broken($"agent {ms.Agent} is a member of queue {q.Id} twice");
                q.MemberList.Add(m);
            }
        }

        private void LinkMemberships(Agent a, AgentSnapshot s)
        {
            foreach (var queue in s.Queues) a.MemberList.Add(MemberOf(queue, a.Id.Value));
        }

        private void ReadCall(CallSnapshot s)
        {
            var rs = s.Record;
            var record = new CallRecord
            {
                Id = new CallId(rs.Id),
                CallerNumber = rs.CallerNumber,
                CallerName = rs.CallerName,
                ExternalId = rs.ExternalId,
                EnteredAt = rs.EnteredAt,
                Priority = rs.Priority,
                AnsweredAt = rs.AnsweredAt,
                AnsweredBy = rs.AnsweredBy is { } by ? new AgentId(by) : null,
                AnsweredIn = rs.AnsweredIn is { } inQueue ? new QueueId(inQueue) : null,
                TalkEndedAt = rs.TalkEndedAt,
                EndedAt = rs.EndedAt,
                Disposition = rs.Disposition,
                ExitReason = rs.ExitReason,
                DestinationTarget = rs.DestinationTarget,
                WasCallback = rs.WasCallback,
                CallbackNumber = rs.CallbackNumber,
                RecordingId = rs.RecordingId,
                DispositionCode = rs.DispositionCode,
                Rating = rs.Rating,
            };
            record.VisitList.AddRange(rs.Visits.Select(v => new QueueVisit(new QueueId(v.Queue), v.EnteredAt, v.LeftAt, v.ExitReason)));
            record.AttemptList.AddRange(rs.Attempts.Select(x =>
                new CallAttempt(new AgentId(x.Agent), new QueueId(x.Queue), x.OfferedAt, x.EndedAt, x.Outcome, x.Pickup)));
            var c = new Call(record, s.Priority, s.OrderTime)
            {
                State = s.State,
                QueueEnteredAt = s.QueueEnteredAt,
                Tried = s.Tried is { } tried ? [.. tried.Select(a => new AgentId(a))] : null,
                UnansweredAttempts = s.UnansweredAttempts,
                Hops = s.Hops,
                CallbackAttempts = s.CallbackAttempts,
                NotBefore = s.NotBefore,
                VisitSeq = s.VisitSeq,
                StickyPending = s.StickyPending,
                Supervisor = s.Supervisor,
                SupervisionMode = s.SupervisionMode,
                StickyRinging = s.StickyRinging,
                TransferRinging = s.TransferRinging,
                TransferFallback = s.TransferFallback is { } fallback ? SnapshotSettings.ToDestination(fallback) : null,
                CallbackOffered = s.CallbackOffered,
                SurveyPending = s.SurveyPending,
            };
            if (!engine._calls.TryAdd(c.Id, c)) throw Broken($"call {c.Id} appears twice");
        }

        private void LinkCall(Call c, CallSnapshot s)
        {
            c.Queue = s.Queue is { } q ? QueueOf(q) : null;
            c.ConnectedAgent = s.ConnectedAgent is { } a ? AgentOf(a) : null;
            foreach (var agent in s.Offers) c.Offers.Add(AgentOf(agent));
        }

        private void LinkAgentCalls(Agent a, AgentSnapshot s)
        {
            a.OfferCall = s.OfferCall is { } offer ? CallOf(offer) : null;
            a.TalkCall = s.TalkCall is { } talk ? CallOf(talk) : null;
            a.WrapCall = s.WrapCall is { } wrap ? CallOf(wrap) : null;
        }

        private void ReadQueue(Queue q, QueueSnapshot s)
        {
            q.NightMode = s.NightMode;
            // Before office hours, night mode could only be set by hand.
            q.NightOverride = s.NightOverride ?? (s.NightMode && q.Config.OfficeHours == null ? true : null);
            q.WaitingCount = s.WaitingCount;
            q.RingingCount = s.RingingCount;
            q.CallbackCount = s.CallbackCount;
            q.TalkingCount = s.TalkingCount;
            q.RoundRobinKey = s.RoundRobinKey;
            q.NoAgentSince = s.NoAgentSince;
            q.NoAgentTimerSeq = s.NoAgentTimerSeq;
            q.RecentHandleSeconds = s.RecentHandleSeconds;
            q.LastServedWaitMs = s.LastServedWaitMs;
            var t = q.Today;
            var st = s.Today;
            t.Offered = st.Offered;
            t.Answered = st.Answered;
            t.Abandoned = st.Abandoned;
            t.ShortAbandoned = st.ShortAbandoned;
            t.TimedOut = st.TimedOut;
            t.Overflowed = st.Overflowed;
            t.ExitedByKey = st.ExitedByKey;
            t.CallbacksRequested = st.CallbacksRequested;
            t.Rejected = st.Rejected;
            t.AnsweredWithinSla = st.AnsweredWithinSla;
            t.SlaEligible = st.SlaEligible;
            t.SumWaitAnsweredMs = st.SumWaitAnsweredMs;
            t.SumWaitAllMs = st.SumWaitAllMs;
            t.Left = st.Left;
            t.MaxWaitMs = st.MaxWaitMs;
            t.SumTalkMs = st.SumTalkMs;
            t.SumHandleMs = st.SumHandleMs;
            t.Handled = st.Handled;
            t.Ratings = st.Ratings;
            t.SumRatings = st.SumRatings;

            if (s.CategoryCounts.Count != q.Counts.Length) throw Broken($"queue {q.Id} has {s.CategoryCounts.Count} category counts");
            for (var i = 0; i < q.Counts.Length; i++) q.Counts[i] = s.CategoryCounts[i];
            foreach (var agent in s.Available)
            {
                var m = MemberOf(q.Id.Value, agent);
                m.AvailableIndex = q.Available.Count;
                q.Available.Add(m);
            }
            foreach (var bs in s.Buckets)
            {
                var b = new WaitBucket(bs.Priority);
                foreach (var id in bs.Calls) b.Append(CallOf(id));
                q.Buckets.Add(b);
            }
            foreach (var id in s.Arrivals)
            {
                var c = CallOf(id);
                c.ArrivalPrev = q.ArrivalTail;
                if (q.ArrivalTail != null) q.ArrivalTail.ArrivalNext = c; else q.ArrivalHead = c;
                q.ArrivalTail = c;
                c.InArrivalList = true;
            }
            foreach (var sticky in s.Sticky) q.Sticky[sticky.Caller] = (new AgentId(sticky.Agent), sticky.At);
            RecomputeLevels(q);
        }

        private void ReadTimer(TimerSnapshot s)
        {
            if (!Enum.TryParse<TimerKind>(s.Kind, out var kind) || !Enum.IsDefined(kind)) throw Broken($"timer kind '{s.Kind}'");
            object target = s switch
            {
                { Agent: { } a } => AgentOf(a),
                { Queue: { } q } => QueueOf(q),
                { Call: { } c } => CallOf(c),
                _ => Expired,
            };
            engine._timers.Enqueue(new Timer(kind, target, s.Seq), (s.Due, s.Order));
        }

        private Queue QueueOf(int id) =>
            engine._queues.TryGetValue(new QueueId(id), out var q) ? q : throw Broken($"queue {id} is referenced but not in the snapshot");

        private Agent AgentOf(int id) =>
            engine._agents.TryGetValue(new AgentId(id), out var a) ? a : throw Broken($"agent {id} is referenced but not in the snapshot");

        private Call CallOf(long id) =>
            engine._calls.TryGetValue(new CallId(id), out var c) ? c : throw Broken($"call {id} is referenced but not in the snapshot");

        private Member MemberOf(int queue, int agent) =>
            _members.TryGetValue((queue, agent), out var m) ? m : throw Broken($"agent {agent} is not a member of queue {queue}");

        private static ArgumentException Broken(string what) => new($"the snapshot does not hold together: {what}", "snapshot");
    }
}
