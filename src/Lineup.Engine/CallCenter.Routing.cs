namespace Lineup.Engine;

/// <summary>
/// Routing. After every command the engine is at a fixed point: no available agent is eligible for a call that
/// still wants one. Two moves keep it there: a call that wants agents picks among the available ones by its
/// queue's strategy (<see cref="DispatchCall"/>), and an agent that becomes available picks the best call across
/// its queues by the multi-queue policy (<see cref="DispatchAgent"/>). See docs/engine.md.
/// </summary>
public sealed partial class CallCenter
{
    private readonly List<Member> _ring = new(16);

    /// <summary>The call enters <paramref name="q"/> (arrival, a move, a transfer). With <paramref name="directed"/> (a
    /// transfer to one agent) the queue's entry checks and intro are skipped and that agent alone is offered the call.</summary>
    private void EnterQueue(Call c, Queue q, DirectedOffer? directed = null)
    {
        c.Queue = q;
        c.QueueEnteredAt = _now;
        c.Record.VisitList.Add(new QueueVisit(q.Id, _now, 0, ExitReason.None));
        q.Today.Offered++;
        c.State = CallState.Waiting;
        c.Tried!.Clear();
        c.NotBefore = 0;
        c.CallbackOffered = false;
        // NoAnswerMaxAttempts is a per-queue rule: offers made in an earlier queue do not count here.
        c.UnansweredAttempts = 0;
        c.TransferRinging = false;
        c.TransferFallback = null;

        if (directed == null && !Admits(c, q)) return;

        InsertQueued(c, q);
        Emit(new EngineEvent(EventKind.CallQueued, _now, q.Id, default, c.Id, Value: PositionOf(c)));
        var cfg = q.Config;
        if (cfg.MaxWaitSeconds > 0) Schedule(_now + cfg.MaxWaitSeconds * 1000L, TimerKind.MaxWait, c, c.VisitSeq);
        if (cfg.IntroPrompt != null && directed == null)
            Emit(new EngineEvent(EventKind.Announcement, _now, q.Id, default, c.Id, (int)AnnouncementKind.Intro, Text: cfg.IntroPrompt));
        if (cfg.PeriodicAnnounceSeconds > 0)
            Schedule(_now + cfg.PeriodicAnnounceSeconds * 1000L, TimerKind.PeriodicAnnouncement, c, c.VisitSeq);
        if (cfg.PositionAnnouncement != PositionAnnouncement.Disabled && cfg.PositionAnnounceSeconds > 0)
        {
            if (cfg.PositionAnnouncement == PositionAnnouncement.OnEntryThenPeriodically) AnnouncePosition(c);
            Schedule(_now + cfg.PositionAnnounceSeconds * 1000L, TimerKind.PositionAnnouncement, c, c.VisitSeq);
        }
        if (cfg.Callback.Enabled && cfg.Callback.Mode == CallbackMode.Timeout)
            Schedule(_now + Math.Max(0, cfg.Callback.OfferAfterSeconds) * 1000L, TimerKind.CallbackOffer, c, c.VisitSeq);
        if (cfg.MaxWaitNoAgentSeconds > 0 && q.LoggedInAgents == 0 && q.ArrivalHead == c)
            Schedule(Math.Max(_now, q.NoAgentSince) + cfg.MaxWaitNoAgentSeconds * 1000L, TimerKind.NoAgentCheck, q, ++q.NoAgentTimerSeq);
        ScheduleTierEscalation(c);
        if (directed is { } d)
        {
            c.StickyPending = false;
            c.TransferRinging = true;
            c.TransferFallback = d.Fallback;
            Offer(c, d.Agent, q, d.Agent.FindMember(q.Id));
            c.StickyRinging = true; // exclusive, like a sticky agent's ring
            return;
        }
        c.StickyPending = cfg.StickyAgentSeconds > 0 && c.Record.CallerNumber.Length > 0;
        DispatchCall(c);
    }

    /// <summary>The checks at a queue's door: false when the call was sent on to the queue's destination instead.</summary>
    private bool Admits(Call c, Queue q)
    {
        if (!q.Config.Active)
        {
            LeaveQueue(c, ExitReason.Inactive, q.Config.InactiveDestination);
            return false;
        }
        if (q.NightMode)
        {
            LeaveQueue(c, ExitReason.NightMode, q.Config.NightModeDestination);
            return false;
        }
        if (q.Config.LeaveWhenNoAgents && q.LoggedInAgents == 0)
        {
            LeaveQueue(c, ExitReason.NoAgents, q.Config.NoAgentsDestination);
            return false;
        }
        if (q.Config.MaxCallers > 0 && q.WaitingCount >= q.Config.MaxCallers)
        {
            LeaveQueue(c, ExitReason.QueueFull, q.Config.QueueFullDestination);
            return false;
        }
        return true;
    }

    /// <summary>The call leaves its queue unanswered for <paramref name="reason"/> and goes to <paramref name="dest"/>.</summary>
    private void LeaveQueue(Call c, ExitReason reason, Destination dest)
    {
        var q = c.Queue!;
        if (dest.Kind == DestinationKind.Callback && c.Record.CallerNumber.Length > 0)
        {
            if (c.Bucket == null) InsertQueued(c, q);
            ConvertToCallback(c, c.Record.CallerNumber);
            return;
        }
        var wait = _now - c.QueueEnteredAt;
        RemoveQueued(c, reason);
        switch (reason)
        {
            case ExitReason.Timeout:
                q.Today.TimedOut++;
                break;
            case ExitReason.ExitKey:
                q.Today.ExitedByKey++;
                break;
            default:
                q.Today.Overflowed++;
                break;
        }
        q.Today.RecordLeft(wait, answered: false, q.SlaMs(_options));
        c.Record.ExitReason = reason;
        Emit(new EngineEvent(EventKind.CallLeftQueue, _now, q.Id, default, c.Id, (int)reason));
        RouteTo(c, dest, reason);
    }

    private void RouteTo(Call c, Destination dest, ExitReason reason)
    {
        var from = c.Queue!;
        switch (dest.Kind)
        {
            case DestinationKind.Queue when _queues.TryGetValue(dest.Queue, out var target) && target != from
                                            && c.Hops < _options.MaxQueueHops:
                c.Hops++;
                Emit(new EngineEvent(EventKind.CallMoved, _now, from.Id, default, c.Id, (int)reason, Value: target.Id.Value));
                // Agents whose offers for this call were just taken back choose their next call first (the
                // multi-queue policy), so the moving call cannot take them ahead of calls already waiting.
                DispatchFreed();
                EnterQueue(c, target);
                return;
            case DestinationKind.Number when !string.IsNullOrEmpty(dest.Target):
                c.Record.DestinationTarget = dest.Target;
                Emit(new EngineEvent(EventKind.CallTransferred, _now, from.Id, default, c.Id, (int)reason, Text: dest.Target));
                End(c, Disposition.Transferred, reason);
                return;
            case DestinationKind.Voicemail:
                c.Record.DestinationTarget = dest.Target;
                Emit(new EngineEvent(EventKind.CallToVoicemail, _now, from.Id, default, c.Id, (int)reason, Text: dest.Target));
                End(c, Disposition.Voicemail, reason);
                return;
            default:
                Emit(new EngineEvent(EventKind.CallHangup, _now, from.Id, default, c.Id, (int)reason));
                End(c, Disposition.HungUp, reason);
                return;
        }
    }

    private void ConvertToCallback(Call c, string number)
    {
        var q = c.Queue!;
        CancelOffers(c);
        RemoveFromQueueLists(c);
        c.State = CallState.CallbackWaiting;
        c.Record.WasCallback = true;
        c.Record.CallbackNumber = number;
        q.Today.CallbacksRequested++;
        InsertQueued(c, q);
        Emit(new EngineEvent(EventKind.CallbackScheduled, _now, q.Id, default, c.Id, Text: number));
        ScheduleTierEscalation(c);
        // Re-inserting renewed the visit sequence, which orphans a pending retry timer: set it again.
        if (c.NotBefore > _now) Schedule(c.NotBefore, TimerKind.Retry, c, c.VisitSeq);
        DispatchCall(c);
    }

    /// <summary>Takes a queued call out of its queue unanswered: offers cancelled, lists left, visit closed.</summary>
    private void RemoveQueued(Call c, ExitReason reason)
    {
        CancelOffers(c);
        RemoveFromQueueLists(c);
        CloseVisit(c, reason);
    }

    private void InsertQueued(Call c, Queue q)
    {
        q.BucketFor(c.Priority).Insert(c);
        if (c.State == CallState.Waiting)
        {
            q.WaitingCount++;
            c.ArrivalPrev = q.ArrivalTail;
            c.ArrivalNext = null;
            if (q.ArrivalTail != null) q.ArrivalTail.ArrivalNext = c; else q.ArrivalHead = c;
            q.ArrivalTail = c;
            c.InArrivalList = true;
        }
        else
        {
            q.CallbackCount++;
        }
        c.VisitSeq = ++_seq;
    }

    private void RemoveFromQueueLists(Call c)
    {
        var q = c.Queue!;
        if (c.Bucket != null)
        {
            c.Bucket.Remove(c);
            if (c.State == CallState.Waiting) q.WaitingCount--;
            else if (c.State == CallState.CallbackWaiting) q.CallbackCount--;
        }
        if (c.InArrivalList)
        {
            if (c.ArrivalPrev != null) c.ArrivalPrev.ArrivalNext = c.ArrivalNext; else q.ArrivalHead = c.ArrivalNext;
            if (c.ArrivalNext != null) c.ArrivalNext.ArrivalPrev = c.ArrivalPrev; else q.ArrivalTail = c.ArrivalPrev;
            c.ArrivalPrev = c.ArrivalNext = null;
            c.InArrivalList = false;
        }
        c.VisitSeq = ++_seq;
    }

    private void CloseVisit(Call c, ExitReason reason)
    {
        var visits = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(c.Record.VisitList);
        ref var last = ref visits[^1];
        if (last.LeftAt == 0) last = last with { LeftAt = _now, ExitReason = reason };
    }

    private void ScheduleTierEscalation(Call c)
    {
        var q = c.Queue!;
        if (!q.Config.TierRulesApply || q.Levels.Length < 2) return;
        var elapsed = _now - c.QueueEnteredAt;
        foreach (var level in q.Levels)
        {
            var unlock = TierUnlockMs(q, level);
            if (unlock > elapsed)
            {
                Schedule(c.QueueEnteredAt + unlock, TimerKind.TierEscalation, c, c.VisitSeq);
                return;
            }
        }
    }

    /// <summary>Time in the queue after which agents of <paramref name="level"/> may be offered the call.</summary>
    private static long TierUnlockMs(Queue q, int level)
    {
        var cfg = q.Config;
        if (!cfg.TierRulesApply || level <= q.MinLevel) return 0;
        var steps = cfg.TierRuleWaitMultiplyLevel ? (long)level - q.MinLevel : 1;
        return steps * cfg.TierRuleWaitSeconds * 1000L;
    }

    private bool TierAllows(Call c, Member m) =>
        !m.Queue.Config.TierRulesApply || m.Config.Level <= m.Queue.MinLevel
        || _now - c.QueueEnteredAt >= TierUnlockMs(m.Queue, m.Config.Level);

    /// <summary>A queued call wants agents: serial strategies ring one at a time, ring-all every eligible one.</summary>
    private void DispatchCall(Call c)
    {
        // While its sticky agent rings alone, a call takes nobody else (not even on a tier escalation).
        if (!c.IsQueued || c.NotBefore > _now || c.StickyRinging) return;
        var q = c.Queue!;
        if (c.StickyPending)
        {
            c.StickyPending = false;
            if (TryOfferSticky(c, q)) return;
        }
        if (q.Config.Strategy == Strategy.RingAll)
        {
            RingAll(c, q);
            return;
        }
        if (c.Offers.Count > 0) return;
        var best = PickMember(c, q);
        if (best == null)
        {
            // Every eligible agent has been tried once: a new round starts, at once or after the retry time.
            if (c.Tried!.Count == 0) return;
            var roundStartedAt = RoundStartedAt(c);
            c.Tried.Clear();
            best = PickMember(c, q);
            if (best == null) return;
            if (StartRetryWait(c, q, roundStartedAt)) return;
        }
        Offer(c, best);
    }

    /// <summary>
    /// Without a retry time (<see cref="QueueConfig.RetrySeconds"/> 0) a new round starts at once, unless the round that
    /// just failed began less than this long ago: then it waits out the rest. Agents that fail an offer at once (a
    /// phone that is not registered, a PBX answering busy) would otherwise be offered the call over and over at the
    /// speed of the machine, each offer a durable command and an attempt in the CDR.
    /// </summary>
    public const long MinimumRoundMs = 1000;

    /// <summary>Starts the pause before the next round (the retry time, or the rest of <see cref="MinimumRoundMs"/>
    /// from <paramref name="roundStartedAt"/>, see <see cref="RoundStartedAt"/>); false when the next round may start now.</summary>
    private bool StartRetryWait(Call c, Queue q, long roundStartedAt)
    {
        var until = q.Config.RetrySeconds > 0 ? _now + q.Config.RetrySeconds * 1000L
            : roundStartedAt == long.MinValue ? _now : roundStartedAt + MinimumRoundMs;
        if (until <= _now) return false;
        c.NotBefore = until;
        Schedule(c.NotBefore, TimerKind.Retry, c, c.VisitSeq);
        return true;
    }

    /// <summary>When the current round's first offer was made, if every offer of the round failed (none was answered:
    /// a callback whose customer did not pick up was answered by its agent); else <see cref="long.MinValue"/>. Each
    /// offer adds one attempt and one tried agent, so the round's offers are the last <c>Tried.Count</c> attempts.</summary>
    private static long RoundStartedAt(Call c)
    {
        var round = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(c.Record.AttemptList)[^c.Tried!.Count..];
        foreach (ref readonly var attempt in round)
            if (attempt.Outcome == AttemptOutcome.Answered) return long.MinValue;
        return round[0].OfferedAt;
    }

    private bool TryOfferSticky(Call c, Queue q)
    {
        if (!q.Sticky.TryGetValue(c.Record.CallerNumber, out var last)) return false;
        if (_now - last.At > q.Config.StickyAgentSeconds * 1000L)
        {
            q.Sticky.Remove(c.Record.CallerNumber);
            return false;
        }
        if (!_agents.TryGetValue(last.Agent, out var a) || a.FindMember(q.Id) is not { AvailableIndex: >= 0 } m) return false;
        Offer(c, m);
        c.StickyRinging = true;
        return true;
    }

    private void RingAll(Call c, Queue q)
    {
        CollectRingAll(c, q);
        if (_ring.Count == 0)
        {
            if (c.Offers.Count > 0 || c.Tried!.Count == 0) return;
            var roundStartedAt = RoundStartedAt(c);
            c.Tried.Clear();
            CollectRingAll(c, q);
            if (_ring.Count == 0 || StartRetryWait(c, q, roundStartedAt)) return;
        }
        // One allocation per list for the whole ring instead of a doubling per agent rung.
        c.Offers.EnsureCapacity(c.Offers.Count + _ring.Count);
        c.Tried!.EnsureCapacity(c.Tried.Count + _ring.Count);
        c.Record.AttemptList.EnsureCapacity(c.Record.AttemptList.Count + _ring.Count);
        foreach (var m in _ring) Offer(c, m);
        _ring.Clear();
    }

    /// <summary>Members ring-all should add to the call's ring now, in (skill, level, position, id) order.</summary>
    private void CollectRingAll(Call c, Queue q)
    {
        _ring.Clear();
        var tiers = q.Config.TierRulesApply;
        var tried = c.Tried is { Count: > 0 };
        foreach (var m in q.Available)
            if ((!tiers || TierAllows(c, m)) && (!tried || !c.WasTried(m.Agent.Id))) _ring.Add(m);
        if (_ring.Count == 0) return;
        _ring.Sort(static (x, y) => CompareOrder(x, y));
        if (q.Config.TierRulesApply && !q.Config.SkillsRouting) return;
        // Without tier rules, only the best level (and with skills routing, the best skill group) rings; the
        // next joins only when that one has nobody left to ring.
        var (skill, level) = (_ring[0].Config.SkillLevel, _ring[0].Config.Level);
        foreach (var ringing in c.Offers)
        {
            if (ringing.FindMember(q.Id) is not { } rm) continue;
            if (Better(rm.Config.SkillLevel, rm.Config.Level, skill, level, q)) (skill, level) = (rm.Config.SkillLevel, rm.Config.Level);
        }
        // In place, not RemoveAll with a lambda: capturing q would allocate a closure on every ring-all dispatch.
        var kept = 0;
        for (var i = 0; i < _ring.Count; i++)
        {
            var m = _ring[i];
            if (!Better(skill, level, m.Config.SkillLevel, m.Config.Level, q)) _ring[kept++] = m;
        }
        _ring.RemoveRange(kept, _ring.Count - kept);
    }

    private static bool Better(int skillA, int levelA, int skillB, int levelB, Queue q)
    {
        if (q.Config.SkillsRouting && skillA != skillB) return skillA < skillB;
        return !q.Config.TierRulesApply && levelA < levelB;
    }

    private static int CompareOrder(Member x, Member y)
    {
        var byQueue = x.Queue.Config.SkillsRouting ? x.Config.SkillLevel.CompareTo(y.Config.SkillLevel) : 0;
        if (byQueue != 0) return byQueue;
        var byLevel = x.Config.Level.CompareTo(y.Config.Level);
        if (byLevel != 0) return byLevel;
        var byPosition = x.Config.Position.CompareTo(y.Config.Position);
        return byPosition != 0 ? byPosition : x.Agent.Id.Value.CompareTo(y.Agent.Id.Value);
    }

    /// <summary>The serial strategies' choice among the available members not yet tried this round.</summary>
    private Member? PickMember(Call c, Queue q)
    {
        Member? best = null;
        RankKey bestKey = default;
        var tiers = q.Config.TierRulesApply;
        var tried = c.Tried is { Count: > 0 };
        foreach (var m in q.Available)
        {
            if ((tiers && !TierAllows(c, m)) || (tried && c.WasTried(m.Agent.Id))) continue;
            var key = Rank(m, q);
            if (best == null || key.CompareTo(bestKey) < 0)
            {
                best = m;
                bestKey = key;
            }
        }
        return best;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private RankKey Rank(Member m, Queue q)
    {
        var cfg = q.Config;
        var a = m.Agent;
        long key = cfg.Strategy switch
        {
            Strategy.LongestIdle => a.LastIdleSince,
            Strategy.RoundRobin => RoundRobinKey(m) > q.RoundRobinKey ? RoundRobinKey(m) : RoundRobinKey(m) + (1L << 62),
            Strategy.LeastTalkTime => a.Today.TalkMs,
            Strategy.FewestCalls => a.Today.Answered,
            Strategy.Random => (long)(NextRandom() >> 1),
            Strategy.LeastRecentlyOffered => m.LastOfferedAt,
            Strategy.LeastRecentlyAnswered => m.LastAnsweredAt,
            _ => 0,
        };
        return new RankKey(cfg.SkillsRouting ? m.Config.SkillLevel : 0, m.Config.Level, key, m.Config.Position, a.Id.Value);
    }

    private static long RoundRobinKey(Member m) =>
        ((long)Math.Clamp(m.Config.Position, 0, 1 << 28) << 32) | (uint)m.Agent.Id.Value;

    private readonly record struct RankKey(int Skill, int Level, long Key, int Position, int Agent) : IComparable<RankKey>
    {
        public int CompareTo(RankKey other)
        {
            if (Skill != other.Skill) return Skill.CompareTo(other.Skill);
            if (Level != other.Level) return Level.CompareTo(other.Level);
            if (Key != other.Key) return Key.CompareTo(other.Key);
            if (Position != other.Position) return Position.CompareTo(other.Position);
            return Agent.CompareTo(other.Agent);
        }
    }

    /// <summary>
    /// The multi-queue policy: an agent that becomes available takes, among the first eligible waiting call of
    /// each of its queues, the one with the highest priority, then the largest wait × queue weight, then the
    /// earliest arrival. Only when no call waits unoffered does it join a ring-all call already ringing.
    /// </summary>
    private void DispatchAgent(Agent a)
    {
        if (a.OfferCall != null || a.TalkCall != null || a.WrapCall != null || a.Status != AgentStatus.Ready) return;
        Call? best = null;
        Member? bestMember = null;
        foreach (var m in a.MemberList)
        {
            if (m.AvailableIndex < 0) continue;
            var c = FirstWaiting(m, joining: false);
            if (c != null && (best == null || Precedes(c, m.Queue, best, bestMember!.Queue)))
            {
                best = c;
                bestMember = m;
            }
        }
        if (best == null)
        {
            foreach (var m in a.MemberList)
            {
                if (m.AvailableIndex < 0 || m.Queue.Config.Strategy != Strategy.RingAll) continue;
                var c = FirstWaiting(m, joining: true);
                if (c != null && (best == null || Precedes(c, m.Queue, best, bestMember!.Queue)))
                {
                    best = c;
                    bestMember = m;
                }
            }
        }
        if (best != null) Offer(best, bestMember!);
    }

    private bool Precedes(Call x, Queue qx, Call y, Queue qy)
    {
        if (x.Priority != y.Priority) return x.Priority > y.Priority;
        var wx = (_now - x.OrderTime) * Math.Max(1, qx.Config.Weight);
        var wy = (_now - y.OrderTime) * Math.Max(1, qy.Config.Weight);
        if (wx != wy) return wx > wy;
        return x.Id.Value < y.Id.Value;
    }

    /// <summary>The first call of the member's queue, in queue order, this member may be offered: an unoffered
    /// call, or (<paramref name="joining"/>) a ring-all call already ringing that this agent may join.</summary>
    private Call? FirstWaiting(Member m, bool joining)
    {
        var q = m.Queue;
        foreach (var b in q.Buckets)
        {
            for (var c = b.Head; c != null; c = c.Next)
            {
                if ((c.Offers.Count > 0) != joining || c.NotBefore > _now) continue;
                if (!TierAllows(c, m))
                {
                    // Calls behind one that never moved entered later, so no later one is allowed either.
                    if (c.QueueEnteredAt == c.OrderTime) break;
                    continue;
                }
                if (joining && (c.WasTried(m.Agent.Id) || !MayJoin(c, m))) continue;
                return c;
            }
        }
        return null;
    }

    private static bool MayJoin(Call c, Member m)
    {
        if (c.StickyRinging) return false;
        var q = m.Queue;
        foreach (var ringing in c.Offers)
        {
            if (ringing.FindMember(q.Id) is not { } rm) continue;
            if (Better(rm.Config.SkillLevel, rm.Config.Level, m.Config.SkillLevel, m.Config.Level, q)) return false;
        }
        return true;
    }

    private void Offer(Call c, Member m) => Offer(c, m.Agent, m.Queue, m);

    /// <summary>Offers <paramref name="c"/> to <paramref name="a"/> for <paramref name="q"/>; <paramref name="m"/> is the
    /// agent's membership of the queue, or null for an agent asked for by name who is not a member.</summary>
    private void Offer(Call c, Agent a, Queue q, Member? m)
    {
        var attempt = c.Record.AttemptList.Count;
        c.Record.AttemptList.Add(new CallAttempt(a.Id, q.Id, _now, 0, AttemptOutcome.Pending));
        if (c.Offers.Count == 0) q.RingingCount++;
        c.Offers.Add(a);
        c.Tried!.Add(a.Id);
        a.OfferCall = c;
        a.OfferAttempt = attempt;
        a.OfferSeq = ++_seq;
        a.OfferRinging = false;
        a.OfferTimeoutSeconds = m is { Config.RingTimeoutSeconds: > 0 } ? m.Config.RingTimeoutSeconds
            : a.Config.RingTimeoutSeconds > 0 ? a.Config.RingTimeoutSeconds
            : Math.Max(1, q.Config.RingTimeoutSeconds);
        a.Today.Offered++;
        // A transfer's offer to one agent was not the strategy's choice: the round-robin place stays.
        var directed = c.TransferRinging;
        if (m != null) m.LastOfferedAt = _now;
        if (m != null && !directed && q.Config.Strategy == Strategy.RoundRobin) q.RoundRobinKey = RoundRobinKey(m);
        UpdateActivity(a);
        Refresh(a);
        if (!directed && m is { Config.RingDelaySeconds: > 0 }) Schedule(_now + m.Config.RingDelaySeconds * 1000L, TimerKind.RingStart, a, a.OfferSeq);
        else StartRinging(a);
    }

    private void StartRinging(Agent a)
    {
        var c = a.OfferCall!;
        a.OfferRinging = true;
        Emit(new EngineEvent(EventKind.CallOffered, _now, c.Queue!.Id, a.Id, c.Id,
            c.State == CallState.CallbackWaiting ? 1 : 0, Value: a.OfferTimeoutSeconds, Text: c.Record.CallerNumber));
        ScheduleAfter(a.OfferTimeoutSeconds * 1000L, TimerKind.RingTimeout, a, a.OfferSeq);
    }

    /// <summary>After a change to a queue's settings or members, offers its waiting calls in order.</summary>
    private void DispatchQueue(Queue q)
    {
        foreach (var b in q.Buckets)
        {
            for (var c = b.Head; c != null;)
            {
                if (q.Available.Count == 0) return;
                var next = c.Next;
                DispatchCall(c);
                c = next;
            }
        }
    }

    private void DispatchFreed()
    {
        for (var i = 0; i < _freed.Count; i++) DispatchAgent(_freed[i]);
        _freed.Clear();
    }

    /// <summary>1-based place of a queued call among the calls (and callbacks) queued in its queue.</summary>
    public int PositionOf(Call c)
    {
        if (c.Bucket is not { } bucket) return 0;
        var q = c.Queue!;
        var ahead = 0;
        foreach (var b in q.Buckets)
        {
            if (b == bucket) break;
            ahead += b.Count;
        }
        var behind = 0;
        for (var x = bucket.Tail; x != c; x = x!.Prev) behind++;
        return ahead + bucket.Count - behind;
    }

    private void AnnouncePosition(Call c)
    {
        var q = c.Queue!;
        var position = PositionOf(c);
        var estimate = EstimateWait(q, q.Config.WaitEstimator, position - 1);
        Emit(new EngineEvent(EventKind.Announcement, _now, q.Id, default, c.Id, (int)AnnouncementKind.Position,
            Value: position, Value2: estimate < 0 ? -1 : (long)Math.Round(estimate)));
    }

    /// <summary>Expected wait in seconds for a caller joining <paramref name="queue"/> now; -1 when nobody staffs it.</summary>
    public double EstimateWaitSeconds(QueueId queue, WaitEstimatorKind? estimator = null)
    {
        if (!_queues.TryGetValue(queue, out var q)) return -1;
        return EstimateWait(q, estimator ?? q.Config.WaitEstimator, q.WaitingCount + q.CallbackCount);
    }

    private double EstimateWait(Queue q, WaitEstimatorKind kind, int ahead)
    {
        var free = q.AvailableAgents;
        if (ahead < free) return 0;
        var staffed = q.StaffedAgents;
        switch (kind)
        {
            case WaitEstimatorKind.LastToEnterService when q.LastServedWaitMs >= 0:
                return q.LastServedWaitMs / 1000.0;
            case WaitEstimatorKind.HeadOfLine when q.ArrivalHead is { } head:
                return (_now - head.QueueEnteredAt) / 1000.0;
            default:
                if (staffed == 0) return -1;
                return (ahead - free + 1) * q.RecentHandleSeconds / staffed;
        }
    }
}
