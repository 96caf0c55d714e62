namespace Lineup.Engine.Tests;

/// <summary>Live and daily statistics, the tenant's day boundary, and the wait estimators.</summary>
public class StatisticsTests
{
    private static long At(double seconds) => Harness.Start + (long)(seconds * 1000);

    [Fact]
    public void Live_counts_follow_calls_and_agents()
    {
        var h = new Harness().Queue(1).Staff(1, 1, 2, 3).Agent(4).Member(1, 4);
        h.NotReady(3);
        var q = h.QueueState(1);
        Assert.Equal((3, 2, 0, 1, 2), (q.LoggedInAgents, q.AvailableAgents, q.BusyAgents, q.NotReadyAgents, q.StaffedAgents));

        var c1 = h.Call(1);
        Assert.Equal((1, 1, 0), (q.WaitingCount, q.RingingCount, q.TalkingCount));
        Assert.Equal((0, 2), (q.AvailableAgents, q.BusyAgents));

        h.Wait(2).Answer(c1, 1);
        Assert.Equal((0, 0, 1), (q.WaitingCount, q.RingingCount, q.TalkingCount));
        Assert.Equal((1, 1), (q.AvailableAgents, q.BusyAgents));
        Assert.Null(q.OldestEntry);

        var c2 = h.Wait(8).Call(1);
        var c3 = h.Wait(10).Call(1);
        Assert.Equal((2, 1, 1), (q.WaitingCount, q.RingingCount, q.TalkingCount));
        Assert.Equal((0, 2), (q.AvailableAgents, q.BusyAgents));
        Assert.Equal(At(10), q.OldestEntry);

        h.CallerHangup(c2);
        Assert.Equal(At(20), q.OldestEntry);
        Assert.Equal([2], h.Ringing(c3));
        // Agent 1, free again, joins the ring-all call already ringing agent 2.
        h.AgentHangup(c1);
        Assert.Equal([1, 2], h.Ringing(c3));
        Assert.Equal((1, 1, 0), (q.WaitingCount, q.RingingCount, q.TalkingCount));
        Assert.Equal((0, 2, 1, 3), (q.AvailableAgents, q.BusyAgents, q.NotReadyAgents, q.LoggedInAgents));
    }

    /// <summary>
    /// SLA 20 s. A answered after 10 s, B after 30 s, C abandons after 5 s (short, not counted), D abandons after
    /// 40 s, E times out at 60 s: the service level is 1 ÷ 4.
    /// </summary>
    [Fact]
    public void Todays_queue_figures_and_the_service_level_count_exactly_the_documented_calls()
    {
        var h = new Harness().Queue(1, q => q with
        {
            Strategy = Strategy.TopDown,
            SlaSeconds = 20,
            WrapUpSeconds = 10,
            MaxWaitSeconds = 60,
        }).Staff(1, 1, 2);
        h.NotReady(1);
        h.NotReady(2);
        var a = h.Call(1);
        var b = h.Call(1);
        var c = h.Call(1);
        var d = h.Call(1);
        h.Call(1);

        h.Wait(5).CallerHangup(c);
        h.Wait(5).Ready(1);
        h.Answer(a, 1);
        h.Wait(20).Ready(2);
        h.Answer(b, 2);
        h.Wait(10).CallerHangup(d);
        h.Wait(15).AgentHangup(b);
        h.Wait(5);
        var s = h.QueueState(1).Today;
        Assert.Equal(1, s.TimedOut);
        h.Wait(10).AgentHangup(a);
        h.Wait(10);

        Assert.Equal((5, 2, 2, 1, 1, 0), (s.Offered, s.Answered, s.Abandoned, s.ShortAbandoned, s.TimedOut, s.Overflowed));
        Assert.Equal((1, 4, 0.25), (s.AnsweredWithinSla, s.SlaEligible, s.ServiceLevel));
        Assert.Equal((20.0, 29.0, 60_000L), (s.AverageWaitAnsweredSeconds, s.AverageWaitSeconds, s.MaxWaitMs));
        Assert.Equal((2, 42.5, 52.5), (s.Handled, s.AverageTalkSeconds, s.AverageHandleSeconds));
    }

    [Fact]
    public void The_sla_time_is_inclusive_and_a_short_abandon_at_exactly_the_sla_time_is_not_counted()
    {
        var h = new Harness(new EngineOptions { DefaultSlaSeconds = 15 }).Queue(1).Staff(1, 1);
        h.NotReady(1);
        var answered = h.Call(1);
        var abandoned = h.Call(1);
        h.Wait(15).CallerHangup(abandoned);
        h.Ready(1);
        h.Answer(answered, 1);

        var s = h.QueueState(1).Today;
        Assert.Equal((1, 1, 1, 1, 1.0), (s.Answered, s.ShortAbandoned, s.AnsweredWithinSla, s.SlaEligible, s.ServiceLevel));
        Assert.Equal(1.0, new Harness().Queue(1).QueueState(1).Today.ServiceLevel);
    }

    [Fact]
    public void Overflow_at_entry_counts_as_offered_and_overflowed_but_not_in_the_service_level()
    {
        var h = new Harness().Queue(1, q => q with { LeaveWhenNoAgents = true });
        h.Call(1);
        h.Do(h.Engine.SetNightMode(new QueueId(1), true, h.Now));
        h.Call(1);
        var s = h.QueueState(1).Today;
        Assert.Equal((2, 2, 0, 1.0), (s.Offered, s.Overflowed, s.SlaEligible, s.ServiceLevel));
    }

    [Fact]
    public void Todays_agent_figures_count_offers_answers_misses_rejects_and_talk()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, RingTimeoutSeconds = 10 }).Staff(1, 1);
        var call = h.Call(1);
        h.Wait(10);
        h.Wait(2).Reject(call, 1);
        h.Wait(3).Answer(call, 1);
        h.Wait(30).AgentHangup(call);
        var busy = h.Call(1);
        h.Busy(busy, 1);
        h.Wait(1); // a round that failed at once is tried again a second later (MinimumRoundMs)

        var t = h.AgentState(1).Today;
        Assert.Equal((5, 1, 3, 1, 30_000L), (t.Offered, t.Answered, t.Missed, t.Rejected, t.TalkMs));
    }

    public static TheoryData<string, double> Zones => new()
    {
        // The harness starts at 09:00 UTC on a Monday in January.
        { "UTC", 15 },
        { "America/New_York", 20 },
        { "Asia/Tokyo", 6 },
    };

    [Theory]
    [MemberData(nameof(Zones))]
    public void Daily_counters_reset_at_midnight_in_the_tenants_time_zone(string zone, double hoursToMidnight)
    {
        var h = new Harness(new EngineOptions { TimeZone = TimeZoneInfo.FindSystemTimeZoneById(zone) }).Queue(1).Staff(1, 1);
        var call = h.Call(1);
        h.Wait(5).Answer(call, 1);
        h.Wait(10).AgentHangup(call);
        h.NotReady(1, "LUNCH");

        h.Wait(hoursToMidnight * 3600 - 15 - 0.001);
        var q = h.QueueState(1).Today;
        var agent = h.AgentState(1);
        Assert.Equal((1, 1, 1), (q.Offered, q.Answered, agent.Today.Answered));
        Assert.Equal(TimeSpan.FromSeconds(15), h.Engine.TimeInStatus(agent, AgentStatus.Ready));

        h.Wait(0.001);
        Assert.Equal((0, 0, 0, 0L), (q.Offered, q.Answered, agent.Today.Answered, agent.Today.TalkMs));
        Assert.Equal(TimeSpan.Zero, h.Engine.TimeInStatus(agent, AgentStatus.Ready));
        Assert.Equal(TimeSpan.Zero, h.Engine.TimeInStatus(agent, AgentStatus.NotReady));
        h.Wait(3600);
        Assert.Equal(TimeSpan.FromHours(1), h.Engine.TimeInStatus(agent, AgentStatus.NotReady));
    }

    [Fact]
    public void A_call_across_midnight_counts_offered_yesterday_and_answered_today()
    {
        var ny = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        var h = new Harness(new EngineOptions { TimeZone = ny }).Queue(1).Staff(1, 1);
        h.NotReady(1);
        // 23:59 local (04:59 UTC the next day).
        var call = h.Wait(20 * 3600 - 60).Call(1);
        Assert.Equal(1, h.QueueState(1).Today.Offered);
        h.Wait(120).Ready(1);
        h.Answer(call, 1);

        var s = h.QueueState(1).Today;
        Assert.Equal((0, 1, 120_000L), (s.Offered, s.Answered, s.SumWaitAnsweredMs));
        Assert.Equal(new DateTime(2026, 1, 6, 0, 1, 0), TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(h.Now), ny).DateTime);
    }

    /// <summary>Two agents talking, three callers waiting: a new caller has 3 ahead, none free.</summary>
    private static Harness BusyQueue(WaitEstimatorKind estimator, EngineOptions? options = null)
    {
        var h = new Harness(options).Queue(1, q => q with { WaitEstimator = estimator, ExpectedHandleSeconds = 120 }).Staff(1, 1, 2);
        var c1 = h.Call(1);
        h.Wait(12).Answer(c1, 1);
        var c2 = h.Call(1);
        h.Wait(3).Answer(c2, 2);
        h.Call(1);
        h.Wait(10).Call(1);
        h.Wait(10).Call(1);
        h.Wait(25);
        return h;
    }

    [Fact]
    public void Queue_length_estimate_is_calls_ahead_over_staffed_agents_times_handle_time()
    {
        var empty = new Harness().Queue(1).Staff(1, 1);
        Assert.Equal(0, empty.Engine.EstimateWaitSeconds(new QueueId(1)));
        Assert.Equal(-1, new Harness().Queue(1).Engine.EstimateWaitSeconds(new QueueId(1)));
        Assert.Equal(-1, empty.Engine.EstimateWaitSeconds(new QueueId(99)));

        var h = BusyQueue(WaitEstimatorKind.QueueLength);
        Assert.Equal((3 + 1) * 120.0 / 2, h.Engine.EstimateWaitSeconds(new QueueId(1)));
        h.NotReady(2);
        Assert.Equal((3 + 1) * 120.0 / 1, h.Engine.EstimateWaitSeconds(new QueueId(1)));
        h.NotReady(1);
        Assert.Equal(-1, h.Engine.EstimateWaitSeconds(new QueueId(1)));
    }

    [Fact]
    public void Queue_length_estimate_follows_the_measured_handle_time()
    {
        var h = new Harness(new EngineOptions { HandleTimeSmoothing = 1 })
            .Queue(1, q => q with { WrapUpSeconds = 10, ExpectedHandleSeconds = 120 }).Staff(1, 1);
        var c1 = h.Call(1);
        h.Answer(c1, 1);
        h.Wait(30).AgentHangup(c1);
        h.Wait(10);
        Assert.Equal(40, h.QueueState(1).RecentHandleSeconds);
        var c2 = h.Call(1);
        h.Answer(c2, 1);
        h.Call(1);
        Assert.Equal((1 + 1) * 40.0, h.Engine.EstimateWaitSeconds(new QueueId(1)));
    }

    [Fact]
    public void Last_to_enter_service_estimate_is_the_wait_of_the_last_caller_answered()
    {
        var h = BusyQueue(WaitEstimatorKind.LastToEnterService);
        Assert.Equal(3, h.Engine.EstimateWaitSeconds(new QueueId(1)));
        Assert.Equal(3_000, h.QueueState(1).LastServedWaitMs);

        // Nobody answered yet: the queue-length estimate stands in (one call ringing the only agent).
        var fresh = new Harness().Queue(1, q => q with { WaitEstimator = WaitEstimatorKind.LastToEnterService, ExpectedHandleSeconds = 120 }).Staff(1, 1);
        fresh.Call(1);
        Assert.Equal(-1, fresh.QueueState(1).LastServedWaitMs);
        Assert.Equal((1 + 1) * 120.0 / 1, fresh.Engine.EstimateWaitSeconds(new QueueId(1)));
    }

    [Fact]
    public void Head_of_line_estimate_is_the_current_wait_of_the_longest_waiting_caller()
    {
        var h = BusyQueue(WaitEstimatorKind.HeadOfLine);
        Assert.Equal(45, h.Engine.EstimateWaitSeconds(new QueueId(1)));
        Assert.Equal(45, h.Engine.EstimateWaitSeconds(new QueueId(1), WaitEstimatorKind.HeadOfLine));
        Assert.Equal((3 + 1) * 120.0 / 2, h.Engine.EstimateWaitSeconds(new QueueId(1), WaitEstimatorKind.QueueLength));
        h.Wait(5);
        Assert.Equal(50, h.Engine.EstimateWaitSeconds(new QueueId(1)));
    }
}
