namespace Lineup.Engine.Tests;

/// <summary>Who is offered a call next, and when, under every strategy, tier rule and skills routing.</summary>
public class StrategyTests
{
    private static long At(double seconds) => Harness.Start + (long)(seconds * 1000);

    /// <summary>(agent, seconds after the start) of every CallOffered for the call, in order.</summary>
    private static List<(int Agent, double At)> Offers(Harness h, CallId call) =>
        h.Of(EventKind.CallOffered).Where(e => e.Call == call)
            .Select(e => (e.Agent.Value, (e.At - Harness.Start) / 1000.0)).ToList();

    /// <summary>Answers the call with the agent, talks for <paramref name="seconds"/>, and hangs up.</summary>
    private static void Talk(Harness h, CallId call, int agent, double seconds = 0)
    {
        Assert.Equal(CommandResult.Ok, h.Answer(call, agent));
        h.Wait(seconds);
        Assert.Equal(CommandResult.Ok, h.AgentHangup(call));
    }

    private static int OfferedTo(Harness h, CallId call) => Assert.Single(h.Ringing(call));

    [Fact]
    public void Ring_all_rings_every_eligible_agent_and_the_first_answer_cancels_the_others()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.RingAll }).Staff(1, 1, 2, 3);
        var call = h.Call(1);

        Assert.Equal([(1, 0.0), (2, 0.0), (3, 0.0)], Offers(h, call));
        Assert.Equal(1, h.QueueState(1).RingingCount);
        h.Wait(4);
        Assert.Equal(CommandResult.Ok, h.Answer(call, 2));

        var ended = h.Of(EventKind.OfferEnded).Select(e => (e.Agent.Value, (AttemptOutcome)e.Code, e.At)).OrderBy(x => x.Value).ToList();
        Assert.Equal([(1, AttemptOutcome.Cancelled, At(4)), (2, AttemptOutcome.Answered, At(4)), (3, AttemptOutcome.Cancelled, At(4))], ended);
        Assert.Equal(CommandResult.NoSuchOffer, h.Try(h.Engine.AgentAnswered(call, new AgentId(1), h.Now)));
        Assert.Equal(AgentActivity.Idle, h.AgentState(1).Activity);
        Assert.Equal(AgentActivity.Talking, h.AgentState(2).Activity);

        h.AgentHangup(call);
        var cdr = h.Cdr(call);
        Assert.Equal(new AgentId(2), cdr.AnsweredBy);
        Assert.Equal(
            [(1, AttemptOutcome.Cancelled), (2, AttemptOutcome.Answered), (3, AttemptOutcome.Cancelled)],
            cdr.Attempts.Select(a => (a.Agent.Value, a.Outcome)).OrderBy(x => x.Value));
    }

    [Fact]
    public void Longest_idle_offers_the_agent_free_of_a_queue_call_the_longest()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.LongestIdle }).Staff(1, 1, 2, 3);
        var c1 = h.Call(1);
        var c2 = h.Call(1);
        var c3 = h.Call(1);
        Assert.Equal((1, 2, 3), (OfferedTo(h, c1), OfferedTo(h, c2), OfferedTo(h, c3)));
        h.Answer(c1, 1);
        h.Answer(c2, 2);
        h.Answer(c3, 3);
        h.Wait(10).AgentHangup(c3);
        h.Wait(10).AgentHangup(c1);
        h.Wait(10).AgentHangup(c2);

        // Free since 10 s, 20 s and 30 s: agent 3 has been idle longest, agent 2 the shortest.
        Assert.Equal(3, OfferedTo(h, h.Call(1)));
        Assert.Equal(1, OfferedTo(h, h.Call(1)));
        Assert.Equal(2, OfferedTo(h, h.Call(1)));
    }

    [Fact]
    public void Round_robin_continues_after_the_agent_offered_last_and_wraps()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.RoundRobin }).Staff(1, 1, 2, 3);
        var order = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            var call = h.Call(1);
            var agent = OfferedTo(h, call);
            order.Add(agent);
            Talk(h, call, agent, 5);
        }
        Assert.Equal([1, 2, 3, 1, 2], order);

        // A rejected offer still moves the pointer: 3 rejects, 1 takes it, so the next call starts after 1.
        var c = h.Call(1);
        Assert.Equal(3, OfferedTo(h, c));
        h.Reject(c, 3);
        Assert.Equal(1, OfferedTo(h, c));
        Talk(h, c, 1);
        Assert.Equal(2, OfferedTo(h, h.Call(1)));
    }

    [Fact]
    public void Top_down_starts_every_call_from_the_first_position()
    {
        // Positions follow the order given to Staff (9, 4, 6), not the agent ids.
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown }).Staff(1, 9, 4, 6);
        var c1 = h.Call(1);
        Assert.Equal(9, OfferedTo(h, c1));
        Talk(h, c1, 9, 30);

        var c2 = h.Call(1);
        Assert.Equal(9, OfferedTo(h, c2));
        h.Answer(c2, 9);
        var c3 = h.Call(1);
        Assert.Equal(4, OfferedTo(h, c3));
        h.Reject(c3, 4);
        Assert.Equal(6, OfferedTo(h, c3));
    }

    [Fact]
    public void Least_talk_time_offers_the_agent_with_the_least_talk_today()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.LeastTalkTime }).Staff(1, 1, 2, 3);
        var c1 = h.Call(1);
        var c2 = h.Call(1);
        var c3 = h.Call(1);
        h.Answer(c1, 1);
        h.Answer(c2, 2);
        h.Answer(c3, 3);
        h.Wait(30).AgentHangup(c2);
        h.Wait(30).AgentHangup(c3);
        h.Wait(40).AgentHangup(c1);
        Assert.Equal((100_000L, 30_000L, 60_000L),
            (h.AgentState(1).Today.TalkMs, h.AgentState(2).Today.TalkMs, h.AgentState(3).Today.TalkMs));

        Assert.Equal(2, OfferedTo(h, h.Call(1)));
        Assert.Equal(3, OfferedTo(h, h.Call(1)));
        Assert.Equal(1, OfferedTo(h, h.Call(1)));
    }

    [Fact]
    public void Fewest_calls_offers_the_agent_with_the_fewest_answered_calls_today()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.FewestCalls }).Staff(1, 1, 2, 3);
        h.NotReady(2);
        h.NotReady(3);
        for (var i = 0; i < 2; i++)
        {
            var c = h.Call(1);
            Assert.Equal(1, OfferedTo(h, c));
            Talk(h, c, 1, 10);
        }
        h.Ready(3);
        var c3 = h.Call(1);
        Assert.Equal(3, OfferedTo(h, c3));
        Talk(h, c3, 3, 10);
        h.Ready(2);

        // Answered today: agent 1 two, agent 2 none, agent 3 one.
        Assert.Equal(2, OfferedTo(h, h.Call(1)));
        Assert.Equal(3, OfferedTo(h, h.Call(1)));
        Assert.Equal(1, OfferedTo(h, h.Call(1)));
    }

    [Fact]
    public void Sequential_by_agent_order_goes_by_level_then_position_and_restarts_for_every_call()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.SequentialByAgentOrder });
        foreach (var a in new[] { 1, 2, 3, 4 }) h.Agent(a);
        h.Member(1, 1, level: 2, position: 1).Member(1, 2, level: 1, position: 2)
            .Member(1, 3, level: 1, position: 1).Member(1, 4, level: 2, position: 0);
        foreach (var a in new[] { 1, 2, 3, 4 }) h.Login(a);

        var c1 = h.Call(1);
        Assert.Equal(3, OfferedTo(h, c1));
        h.Reject(c1, 3);
        Assert.Equal(2, OfferedTo(h, c1));
        h.Reject(c1, 2);
        Assert.Equal(4, OfferedTo(h, c1));
        h.Reject(c1, 4);
        Assert.Equal(1, OfferedTo(h, c1));
        Talk(h, c1, 1, 10);

        Assert.Equal(3, OfferedTo(h, h.Call(1)));
    }

    private static List<int> RandomRun(ulong seed, int calls)
    {
        var h = new Harness(new EngineOptions { Seed = seed })
            .Queue(1, q => q with { Strategy = Strategy.Random }).Staff(1, 1, 2, 3, 4);
        var chosen = new List<int>();
        for (var i = 0; i < calls; i++)
        {
            var c = h.Call(1);
            var agent = OfferedTo(h, c);
            chosen.Add(agent);
            Talk(h, c, agent, 1);
        }
        return chosen;
    }

    [Fact]
    public void Random_is_the_same_for_the_same_seed_and_reaches_every_agent()
    {
        var first = RandomRun(42, 200);
        Assert.Equal(first, RandomRun(42, 200));
        Assert.NotEqual(first, RandomRun(43, 200));
        var counts = first.GroupBy(a => a).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal([1, 2, 3, 4], counts.Keys.Order());
        Assert.All(counts.Values, n => Assert.InRange(n, 25, 75));
    }

    /// <summary>
    /// One script, two PortSIP hunts: agent 3 is offered a call at 20 s but rejects it, so at 30 s it was offered
    /// recently (CYCLIC_HUNT skips it) but has never answered (LEAST_WORKED_HUNT picks it).
    /// </summary>
    [Theory]
    [InlineData(Strategy.LeastRecentlyOffered, 2)]
    [InlineData(Strategy.LeastRecentlyAnswered, 3)]
    public void Least_recently_offered_and_least_recently_answered_keep_their_own_clocks(Strategy strategy, int expected)
    {
        var h = new Harness().Queue(1, q => q with { Strategy = strategy }).Staff(1, 1, 2, 3);
        var c1 = h.Call(1);
        Assert.Equal(1, OfferedTo(h, c1));
        Talk(h, c1, 1, 10);
        var c2 = h.Call(1);
        Assert.Equal(2, OfferedTo(h, c2));
        Talk(h, c2, 2, 10);
        var c3 = h.Call(1);
        Assert.Equal(3, OfferedTo(h, c3));
        h.Reject(c3, 3);
        Assert.Equal(1, OfferedTo(h, c3));
        Talk(h, c3, 1, 10);

        Assert.Equal(expected, OfferedTo(h, h.Call(1)));
    }

    [Fact]
    public void Serial_hunt_moves_on_after_the_engines_ring_timeout_and_after_reject_or_busy_then_starts_a_new_round()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, RingTimeoutSeconds = 15 }).Staff(1, 1, 2, 3);
        var call = h.Call(1);
        Assert.Equal([(1, 0.0)], Offers(h, call));
        h.Wait(14.999);
        Assert.Equal([1], h.Ringing(call));
        h.Wait(0.001);
        var timeout = Assert.Single(h.Of(EventKind.OfferEnded));
        Assert.Equal((1, AttemptOutcome.NoAnswer, At(15)), (timeout.Agent.Value, (AttemptOutcome)timeout.Code, timeout.At));
        // The engine's own timeout wins over an answer reported after it.
        Assert.Equal(CommandResult.NoSuchOffer, h.Try(h.Engine.AgentAnswered(call, new AgentId(1), h.Now)));
        h.Wait(2).Reject(call, 2);
        h.Wait(1).Busy(call, 3);

        Assert.Equal([(1, 0.0), (2, 15.0), (3, 17.0), (1, 18.0)], Offers(h, call));
        Assert.Equal([1], h.Ringing(call));
        h.Answer(call, 1);
        h.AgentHangup(call);
        Assert.Equal(
            [(1, 0L, 15_000L, AttemptOutcome.NoAnswer), (2, 15_000L, 17_000L, AttemptOutcome.Rejected),
             (3, 17_000L, 18_000L, AttemptOutcome.Busy), (1, 18_000L, 18_000L, AttemptOutcome.Answered)],
            h.Cdr(call).Attempts.Select(a => (a.Agent.Value, a.OfferedAt - Harness.Start, a.EndedAt - Harness.Start, a.Outcome)));
    }

    [Fact]
    public void Serial_hunt_waits_retry_seconds_between_rounds()
    {
        var h = new Harness()
            .Queue(1, q => q with { Strategy = Strategy.TopDown, RingTimeoutSeconds = 10, RetrySeconds = 5 }).Staff(1, 1, 2);
        var call = h.Call(1);
        h.Wait(24.999);
        Assert.Equal([(1, 0.0), (2, 10.0)], Offers(h, call));
        Assert.Empty(h.Ringing(call));
        Assert.Equal(0, h.QueueState(1).RingingCount);
        Assert.Equal(2, h.QueueState(1).AvailableAgents);
        h.Wait(0.001);
        Assert.Equal([(1, 0.0), (2, 10.0), (1, 25.0)], Offers(h, call));
    }

    [Fact]
    public void Ring_all_waits_retry_seconds_before_ringing_everyone_again()
    {
        var h = new Harness()
            .Queue(1, q => q with { Strategy = Strategy.RingAll, RingTimeoutSeconds = 10, RetrySeconds = 5 }).Staff(1, 1, 2);
        var call = h.Call(1);
        h.Wait(14);
        Assert.Equal([(1, 0.0), (2, 0.0)], Offers(h, call));
        h.Wait(1);
        Assert.Equal([(1, 0.0), (2, 0.0), (1, 15.0), (2, 15.0)], Offers(h, call));
    }

    [Fact]
    public void Skills_routing_serial_hunt_offers_skill_one_first_and_widens_after_no_answer()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, SkillsRouting = true, RingTimeoutSeconds = 10 });
        foreach (var a in new[] { 1, 2, 3 }) h.Agent(a);
        h.Member(1, 1, position: 1, skill: 2).Member(1, 2, position: 2, skill: 1).Member(1, 3, position: 3, skill: 1);
        foreach (var a in new[] { 1, 2, 3 }) h.Login(a);

        var call = h.Call(1);
        h.Wait(20);
        Assert.Equal([(2, 0.0), (3, 10.0), (1, 20.0)], Offers(h, call));
    }

    [Fact]
    public void Skills_routing_ring_all_rings_the_best_skill_group_then_the_next_when_it_has_no_answer()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.RingAll, SkillsRouting = true, RingTimeoutSeconds = 10 });
        foreach (var a in new[] { 1, 2, 3 }) h.Agent(a);
        h.Member(1, 1, position: 1, skill: 2).Member(1, 2, position: 2, skill: 1).Member(1, 3, position: 3, skill: 1);
        foreach (var a in new[] { 1, 2, 3 }) h.Login(a);

        var call = h.Call(1);
        Assert.Equal([2, 3], h.Ringing(call));
        h.Wait(3).Reject(call, 2);
        Assert.Equal([3], h.Ringing(call));
        h.Wait(7);
        Assert.Equal([1], h.Ringing(call));
        Assert.Equal([(2, 0.0), (3, 0.0), (1, 10.0)], Offers(h, call));
    }

    [Theory]
    [InlineData("ring_all", Strategy.RingAll)]
    [InlineData("longest_idle", Strategy.LongestIdle)]
    [InlineData("round_robin", Strategy.RoundRobin)]
    [InlineData("top_down", Strategy.TopDown)]
    [InlineData("least_talk_time", Strategy.LeastTalkTime)]
    [InlineData("fewest_calls", Strategy.FewestCalls)]
    [InlineData("sequential_by_agent_order", Strategy.SequentialByAgentOrder)]
    [InlineData("random", Strategy.Random)]
    [InlineData("least_recently_offered", Strategy.LeastRecentlyOffered)]
    [InlineData("least_recently_answered", Strategy.LeastRecentlyAnswered)]
    public void Every_strategy_name_parses_and_names_back(string name, Strategy strategy)
    {
        Assert.True(StrategyNames.TryParse(name, out var parsed));
        Assert.Equal(strategy, parsed);
        Assert.Equal(name, StrategyNames.NameOf(strategy));
    }

    [Fact]
    public void Strategy_name_table_names_each_strategy_once_and_parsing_is_exact()
    {
        Assert.Equal(Enum.GetValues<Strategy>().Length, StrategyNames.Table.Count);
        Assert.Equal(StrategyNames.Table.Count, StrategyNames.Table.Select(r => r.Strategy).Distinct().Count());
        Assert.False(StrategyNames.TryParse("RING_ALL", out _));
        Assert.False(StrategyNames.TryParse("ring-all", out _));
        Assert.False(StrategyNames.TryParse(null, out _));
    }

    [Theory]
    [InlineData(true, 20)]
    [InlineData(false, 10)]
    public void Tier_rules_add_each_level_to_a_ring_all_call_exactly_when_its_wait_is_over(bool multiply, double level3At)
    {
        var h = new Harness().Queue(1, q => q with
        {
            Strategy = Strategy.RingAll,
            RingTimeoutSeconds = 120,
            TierRulesApply = true,
            TierRuleWaitSeconds = 10,
            TierRuleWaitMultiplyLevel = multiply,
        });
        foreach (var a in new[] { 1, 2, 3 }) h.Agent(a);
        h.Member(1, 1, level: 1).Member(1, 2, level: 2).Member(1, 3, level: 3);
        foreach (var a in new[] { 1, 2, 3 }) h.Login(a);

        var call = h.Call(1);
        Assert.Equal([1], h.Ringing(call));
        h.Wait(9.999);
        Assert.Equal([1], h.Ringing(call));
        h.Wait(0.001);
        Assert.Contains(2, h.Ringing(call));
        h.Wait(10);
        Assert.Equal([1, 2, 3], h.Ringing(call));
        Assert.Equal([(1, 0.0), (2, 10.0), (3, level3At)], Offers(h, call).OrderBy(o => o.Agent));
    }

    [Fact]
    public void Tier_rules_keep_a_serial_call_waiting_for_the_next_level_even_when_it_is_free()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, TierRulesApply = true, TierRuleWaitSeconds = 15 });
        h.Agent(1).Agent(2).Member(1, 1, level: 1).Member(1, 2, level: 2).Login(1).Login(2);
        var first = h.Call(1);
        h.Answer(first, 1);

        var call = h.Call(1);
        h.Wait(14);
        Assert.Empty(h.Ringing(call));
        h.Wait(1);
        Assert.Equal([(2, 15.0)], Offers(h, call));
    }

    [Fact]
    public void Tier_rules_let_a_higher_level_agent_who_becomes_ready_late_take_a_call_only_once_its_level_is_open()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, TierRulesApply = true, TierRuleWaitSeconds = 15 });
        h.Agent(1).Agent(2).Member(1, 1, level: 1).Member(1, 2, level: 2).Login(1).Login(2);
        h.NotReady(1);
        h.NotReady(2);
        var call = h.Call(1);
        h.Wait(5).Ready(2);
        Assert.Empty(h.Ringing(call));
        h.Wait(10);
        Assert.Equal([(2, 15.0)], Offers(h, call));
    }

    [Fact]
    public void Without_tier_rules_the_next_level_rings_only_when_the_lower_level_has_nobody_available()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.RingAll, RingTimeoutSeconds = 60 });
        h.Agent(1).Agent(2).Member(1, 1, level: 1).Member(1, 2, level: 2).Login(1).Login(2);

        var c1 = h.Call(1);
        Assert.Equal([1], h.Ringing(c1));
        h.Wait(59);
        Assert.Equal([1], h.Ringing(c1));
        h.Answer(c1, 1);

        // Level 1 is talking: level 2 rings at once.
        var c2 = h.Call(1);
        Assert.Equal([(2, 59.0)], Offers(h, c2));
    }

    [Fact]
    public void Without_tier_rules_a_serial_call_goes_to_the_next_level_after_the_lower_level_did_not_answer()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.LongestIdle, RingTimeoutSeconds = 10 });
        h.Agent(1).Agent(2).Member(1, 2, level: 1).Member(1, 1, level: 2).Login(1).Login(2);

        // Agent 1 has been idle just as long, but level 1 (agent 2) comes first.
        var call = h.Call(1);
        h.Wait(10);
        Assert.Equal([(2, 0.0), (1, 10.0)], Offers(h, call));
    }
}
