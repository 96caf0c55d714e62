namespace Lineup.Engine.Tests;

/// <summary>The agent state machine: delays, no-answer limits, wrap-up, per-queue login, status events.</summary>
public class AgentStateTests
{
    private static long At(double seconds) => Harness.Start + (long)(seconds * 1000);

    private static List<(int Agent, double At)> Offers(Harness h, CallId call) =>
        h.Of(EventKind.CallOffered).Where(e => e.Call == call)
            .Select(e => (e.Agent.Value, (e.At - Harness.Start) / 1000.0)).ToList();

    private static List<(AgentStatus Status, string? Reason, double At)> StatusEvents(Harness h, int agent) =>
        h.Of(EventKind.AgentStatusChanged).Where(e => e.Agent.Value == agent)
            .Select(e => ((AgentStatus)e.Code, e.Text, (e.At - Harness.Start) / 1000.0)).ToList();

    public enum Failure { Busy, Reject, NoAnswerReported, RingTimeout }

    [Theory]
    [InlineData(Failure.Busy, 2, 30)]
    [InlineData(Failure.Reject, 2, 40)]
    [InlineData(Failure.NoAnswerReported, 2, 50)]
    [InlineData(Failure.RingTimeout, 20, 50)]
    public void A_failed_offer_keeps_the_agent_out_for_its_delay_then_offers_at_exactly_its_end(Failure failure, double failAt, int delay)
    {
        var h = new Harness()
            .Queue(1, q => q with { Strategy = Strategy.TopDown, RingTimeoutSeconds = 20 })
            .Agent(1, a => a with { BusyDelaySeconds = 30, RejectDelaySeconds = 40, NoAnswerDelaySeconds = 50 })
            .Staff(1, 1);
        var call = h.Call(1);
        h.Wait(failAt);
        var id = new AgentId(1);
        switch (failure)
        {
            case Failure.Busy: h.Busy(call, 1); break;
            case Failure.Reject: h.Reject(call, 1); break;
            case Failure.NoAnswerReported: h.Do(h.Engine.AgentNoAnswer(call, id, h.Now)); break;
            default: break;
        }

        var expected = failAt + delay;
        Assert.Equal(At(expected), h.AgentState(1).DelayUntil);
        Assert.Equal((0, 1), (h.QueueState(1).AvailableAgents, h.QueueState(1).BusyAgents));
        h.Wait(delay - 0.001);
        Assert.Equal([(1, 0.0)], Offers(h, call));
        h.Wait(0.001);
        Assert.Equal([(1, 0.0), (1, expected)], Offers(h, call));
    }

    [Fact]
    public void During_a_delay_the_call_goes_to_another_agent_at_once()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown })
            .Agent(1, a => a with { RejectDelaySeconds = 60 }).Staff(1, 1, 2);
        var c1 = h.Call(1);
        h.Wait(1).Reject(c1, 1);
        Assert.Equal([(1, 0.0), (2, 1.0)], Offers(h, c1));
        h.Answer(c1, 2);
        var c2 = h.Call(1);
        h.Wait(59.999);
        Assert.Empty(Offers(h, c2));
        h.Wait(0.001);
        Assert.Equal([(1, 61.0)], Offers(h, c2));
    }

    [Fact]
    public void Max_consecutive_no_answers_forces_not_ready_with_reason_no_answer()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, RingTimeoutSeconds = 10 })
            .Agent(1, a => a with { MaxConsecutiveNoAnswers = 2 }).Staff(1, 1);
        var call = h.Call(1);
        h.Wait(20);

        Assert.Equal([(1, 0.0), (1, 10.0)], Offers(h, call));
        Assert.Equal((AgentStatus.NotReady, "no_answer"), (h.AgentState(1).Status, h.AgentState(1).Reason));
        Assert.Equal((AgentStatus.NotReady, "no_answer", 20.0), StatusEvents(h, 1)[^1]);
        Assert.Equal(CallState.Waiting, h.CallState(call).State);
        h.Wait(100);
        Assert.Equal(2, Offers(h, call).Count);

        h.Ready(1);
        Assert.Equal((1, 120.0), Offers(h, call)[^1]);
    }

    [Fact]
    public void An_answer_resets_the_consecutive_no_answer_count()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, RingTimeoutSeconds = 10 })
            .Agent(1, a => a with { MaxConsecutiveNoAnswers = 2 }).Staff(1, 1);
        var c1 = h.Call(1);
        h.Wait(12).Answer(c1, 1);
        h.AgentHangup(c1);
        var c2 = h.Call(1);
        h.Wait(10);

        Assert.Equal(AgentStatus.Ready, h.AgentState(1).Status);
        Assert.Equal(1, h.AgentState(1).ConsecutiveNoAnswers);
        Assert.Equal([(1, 12.0), (1, 22.0)], Offers(h, c2));
    }

    [Fact]
    public void Force_not_ready_on_reject_takes_the_agent_out_and_the_call_moves_on()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, ForceNotReadyOnReject = true }).Staff(1, 1, 2);
        var call = h.Call(1);
        h.Wait(2).Reject(call, 1);

        Assert.Equal((AgentStatus.NotReady, "rejected", 2.0), StatusEvents(h, 1)[^1]);
        Assert.Equal([(1, 0.0), (2, 2.0)], Offers(h, call));
        h.Reject(call, 2);
        Assert.Equal(AgentStatus.NotReady, h.AgentState(2).Status);
        Assert.Equal(2, Offers(h, call).Count);
        Assert.Equal(1, h.QueueState(1).WaitingCount);
    }

    [Theory]
    [InlineData(null, 30)]
    [InlineData(5, 5)]
    [InlineData(0, 0)]
    public void Wrap_up_uses_the_agents_override_or_the_queues_and_the_next_call_comes_when_it_ends(int? agentWrap, int expected)
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, WrapUpSeconds = 30 })
            .Agent(1, a => a with { WrapUpSeconds = agentWrap }).Staff(1, 1);
        var c1 = h.Call(1);
        h.Answer(c1, 1);
        var c2 = h.Call(1);
        h.Wait(10).AgentHangup(c1);

        if (expected > 0)
        {
            var wrap = Assert.Single(h.Of(EventKind.CallWrapUp));
            Assert.Equal((c1, (long)expected, At(10)), (wrap.Call, wrap.Value, wrap.At));
            Assert.Equal(AgentStatus.WrapUp, h.AgentState(1).Status);
            Assert.Equal(1, h.QueueState(1).WrapUpAgents);
            h.Wait(expected - 0.001);
            Assert.Empty(Offers(h, c2));
            h.Wait(0.001);
        }
        else
        {
            Assert.Empty(h.Of(EventKind.CallWrapUp));
        }
        Assert.Equal(AgentStatus.Ready, h.AgentState(1).Status);
        Assert.Equal([(1, 10.0 + expected)], Offers(h, c2));
        Assert.Equal(expected, h.Cdr(c1).WrapUpSeconds);
    }

    [Fact]
    public void Ready_during_wrap_up_ends_it_early_and_with_it_the_call()
    {
        var h = new Harness().Queue(1, q => q with { WrapUpSeconds = 60 }).Staff(1, 1);
        var c1 = h.Call(1);
        h.Answer(c1, 1);
        h.Wait(10).AgentHangup(c1);
        h.Wait(5);
        Assert.Empty(h.Of(EventKind.CallEnded));
        Assert.Equal(CommandResult.Ok, h.Ready(1));
        Assert.Equal(At(15), h.Cdr(c1).EndedAt);
        Assert.Equal(5, h.Cdr(c1).WrapUpSeconds);
    }

    [Fact]
    public void Without_auto_ready_an_agent_logs_in_not_ready_and_returns_to_not_ready_after_each_call()
    {
        var h = new Harness().Queue(1, q => q with { AgentAutoReady = false }).Staff(1, 1);
        Assert.Equal((AgentStatus.NotReady, "login"), (h.AgentState(1).Status, h.AgentState(1).Reason));
        var c1 = h.Call(1);
        Assert.Empty(Offers(h, c1));

        h.Wait(5).Ready(1);
        Assert.Equal([(1, 5.0)], Offers(h, c1));
        h.Answer(c1, 1);
        var c2 = h.Call(1);
        h.Wait(30).AgentHangup(c1);
        Assert.Equal((AgentStatus.NotReady, "after_call", 35.0), StatusEvents(h, 1)[^1]);
        Assert.Empty(Offers(h, c2));
    }

    [Fact]
    public void Not_ready_chosen_during_a_call_applies_after_it()
    {
        var h = new Harness().Queue(1).Staff(1, 1);
        var c1 = h.Call(1);
        h.Answer(c1, 1);
        Assert.Equal(CommandResult.Ok, h.NotReady(1, "LUNCH"));
        Assert.Equal(CallState.Connected, h.CallState(c1).State);
        var c2 = h.Call(1);
        h.Wait(20).AgentHangup(c1);
        Assert.Equal((AgentStatus.NotReady, "LUNCH"), (h.AgentState(1).Status, h.AgentState(1).Reason));
        Assert.Empty(Offers(h, c2));
    }

    [Fact]
    public void An_agent_logged_in_to_one_of_its_queues_is_never_offered_the_other_queues_calls()
    {
        var h = new Harness().Queue(1).Queue(2).Agent(1).Member(1, 1).Member(2, 1).Login(1, 1);
        Assert.Equal([1], h.Of(EventKind.AgentLoggedIn).Select(e => e.Queue.Value));
        Assert.Equal((1, 0), (h.QueueState(1).LoggedInAgents, h.QueueState(2).LoggedInAgents));

        var c2 = h.Call(2);
        h.Wait(60);
        Assert.Empty(Offers(h, c2));
        var c1 = h.Call(1);
        Assert.Equal([1], h.Ringing(c1));
        h.Answer(c1, 1);
        h.AgentHangup(c1);
        Assert.Empty(Offers(h, c2));

        h.Login(1, 2);
        Assert.Equal([(1, 60.0)], Offers(h, c2));
    }

    [Fact]
    public void Logging_out_of_every_queue_is_logged_out_and_logging_out_of_one_keeps_the_others()
    {
        var h = new Harness().Queue(1).Queue(2).Agent(1).Member(1, 1).Member(2, 1).Login(1);
        Assert.Equal(CommandResult.Ok, h.Do(h.Engine.Logout(new AgentId(1), [new QueueId(2)], h.Now)));
        Assert.Equal(AgentStatus.Ready, h.AgentState(1).Status);
        Assert.Equal((1, 0), (h.QueueState(1).LoggedInAgents, h.QueueState(2).LoggedInAgents));
        Assert.Equal(CommandResult.Ok, h.Do(h.Engine.Logout(new AgentId(1), [new QueueId(1)], h.Now)));
        Assert.Equal(AgentStatus.LoggedOut, h.AgentState(1).Status);
        Assert.Equal([2, 1], h.Of(EventKind.AgentLoggedOut).Select(e => e.Queue.Value));
        Assert.Equal(CommandResult.NotLoggedIn, h.Try(h.Engine.SetReady(new AgentId(1), h.Now)));
    }

    [Fact]
    public void Logging_in_twice_emits_one_logged_in_event_and_one_status_change()
    {
        var h = new Harness().Queue(1).Agent(1).Member(1, 1);
        Assert.Equal(CommandResult.Ok, h.Do(h.Engine.Login(new AgentId(1), null, h.Now)));
        Assert.Equal(CommandResult.Ignored, h.Try(h.Engine.Login(new AgentId(1), null, h.Now)));
        Assert.Equal(CommandResult.Ignored, h.Try(h.Engine.Login(new AgentId(1), [new QueueId(1)], h.Now)));
        Assert.Single(h.Of(EventKind.AgentLoggedIn));
        Assert.Equal([(AgentStatus.Ready, null, 0.0)], StatusEvents(h, 1));
    }

    [Fact]
    public void Status_events_are_emitted_only_on_a_real_change()
    {
        var h = new Harness().Queue(1).Staff(1, 1);
        h.Events.Clear();
        Assert.Equal(CommandResult.Ignored, h.Try(h.Engine.SetReady(new AgentId(1), h.Now)));
        Assert.Equal(CommandResult.Ok, h.Wait(1).NotReady(1, "BREAK"));
        Assert.Equal(CommandResult.Ignored, h.Wait(1).Try(h.Engine.SetNotReady(new AgentId(1), "BREAK", h.Now)));
        Assert.Equal(CommandResult.Ok, h.Wait(1).NotReady(1, "LUNCH"));
        Assert.Equal(CommandResult.Ok, h.Wait(1).Ready(1));
        Assert.Equal(CommandResult.Ignored, h.Wait(1).Try(h.Engine.SetReady(new AgentId(1), h.Now)));
        Assert.Equal(CommandResult.Ignored, h.Try(h.Engine.SetNonQueueCall(new AgentId(1), false, h.Now)));

        Assert.Equal(
            [(AgentStatus.NotReady, "BREAK", 1.0), (AgentStatus.NotReady, "LUNCH", 3.0), (AgentStatus.Ready, null, 4.0)],
            StatusEvents(h, 1));
        Assert.Empty(h.Of(EventKind.AgentActivityChanged));
    }

    [Fact]
    public void An_agent_never_rings_for_two_calls_at_once_and_takes_the_next_when_its_offer_ends()
    {
        var h = new Harness().Queue(1).Queue(2).Agent(1).Agent(2)
            .Member(1, 1).Member(2, 1).Member(1, 2).Login(1).Login(2);
        var c1 = h.Call(1);
        h.Wait(1);
        var c2 = h.Call(2);
        var c3 = h.Call(1);
        Assert.Equal([1, 2], h.Ringing(c1));
        Assert.Empty(h.Ringing(c2));
        Assert.Empty(h.Ringing(c3));
        Assert.Equal(c1, h.AgentState(1).CurrentCall);

        // Agent 2 answers c1: agent 1's offer is cancelled and it takes the call waiting longest across its queues.
        h.Wait(1).Answer(c1, 2);
        Assert.Equal([1], h.Ringing(c2));
        Assert.Empty(h.Ringing(c3));
        Assert.All(h.Engine.Agents, a =>
            Assert.True(h.Events.Count(e => e.Kind == EventKind.CallOffered && e.Agent == a.Id)
                - h.Events.Count(e => e.Kind == EventKind.OfferEnded && e.Agent == a.Id) <= 1));
    }

    [Fact]
    public void Not_ready_while_ringing_takes_the_offer_back_and_the_call_moves_on()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown }).Staff(1, 1, 2);
        var call = h.Call(1);
        h.Wait(3).NotReady(1);

        var afterStart = h.Events.SkipWhile(e => e.Kind != EventKind.AgentStatusChanged).ToList();
        Assert.Equal(EventKind.AgentStatusChanged, afterStart[0].Kind);
        var ended = afterStart.Single(e => e.Kind == EventKind.OfferEnded);
        Assert.Equal((1, AttemptOutcome.Cancelled, At(3)), (ended.Agent.Value, (AttemptOutcome)ended.Code, ended.At));
        Assert.Equal([(1, 0.0), (2, 3.0)], Offers(h, call));
        Assert.Equal(AgentActivity.Idle, h.AgentState(1).Activity);

        h.NotReady(2);
        Assert.Empty(h.Ringing(call));
        Assert.Equal((1, 0), (h.QueueState(1).WaitingCount, h.QueueState(1).RingingCount));
    }

    [Theory]
    [InlineData(true, 2)]
    [InlineData(false, 1)]
    public void An_agent_on_a_non_queue_call_is_skipped_only_when_the_queue_skips_busy_agents(bool skip, int expected)
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, SkipBusyAgents = skip }).Staff(1, 1, 2);
        h.Do(h.Engine.SetNonQueueCall(new AgentId(1), true, h.Now));
        Assert.Equal(AgentActivity.BusyNonQueue, h.AgentState(1).Activity);
        Assert.Equal(skip ? 1 : 2, h.QueueState(1).AvailableAgents);

        var call = h.Call(1);
        Assert.Equal([expected], h.Ringing(call));
    }

    [Fact]
    public void A_call_waiting_for_an_agent_on_a_non_queue_call_is_offered_when_that_call_ends()
    {
        var h = new Harness().Queue(1).Staff(1, 1);
        h.Do(h.Engine.SetNonQueueCall(new AgentId(1), true, h.Now));
        var call = h.Call(1);
        h.Wait(30);
        Assert.Empty(Offers(h, call));
        h.Do(h.Engine.SetNonQueueCall(new AgentId(1), false, h.Now));
        Assert.Equal(AgentStatus.Ready, h.AgentState(1).Status);
        Assert.Equal([(1, 30.0)], Offers(h, call));
    }

    [Fact]
    public void Without_auto_ready_an_agent_becomes_not_ready_after_a_non_queue_call()
    {
        var h = new Harness().Queue(1, q => q with { AgentAutoReady = false }).Staff(1, 1);
        h.Ready(1);
        h.Do(h.Engine.SetNonQueueCall(new AgentId(1), true, h.Now));
        h.Wait(10).Do(h.Engine.SetNonQueueCall(new AgentId(1), false, h.Now));
        Assert.Equal((AgentStatus.NotReady, "after_non_queue_call", 10.0), StatusEvents(h, 1)[^1]);
    }

    [Fact]
    public void Time_in_status_counts_every_stretch_including_the_current_one()
    {
        var h = new Harness().Queue(1, q => q with { WrapUpSeconds = 15 }).Agent(1).Member(1, 1);
        h.Wait(20).Login(1);
        h.Wait(60).NotReady(1);
        h.Wait(30).Ready(1);
        var call = h.Call(1);
        h.Answer(call, 1);
        h.Wait(40).AgentHangup(call);
        h.Wait(15 + 5);

        var agent = h.AgentState(1);
        TimeSpan In(AgentStatus s) => h.Engine.TimeInStatus(agent, s);
        Assert.Equal(TimeSpan.FromSeconds(20), In(AgentStatus.LoggedOut));
        Assert.Equal(TimeSpan.FromSeconds(60 + 40 + 5), In(AgentStatus.Ready));
        Assert.Equal(TimeSpan.FromSeconds(30), In(AgentStatus.NotReady));
        Assert.Equal(TimeSpan.FromSeconds(15), In(AgentStatus.WrapUp));
        // The day figures alone stop at the last change (the end of wrap-up at 165 s).
        Assert.Equal(TimeSpan.FromSeconds(100), agent.Today.TimeIn(AgentStatus.Ready));
    }

    [Fact]
    public void Ring_timeouts_of_different_lengths_fire_at_their_own_times_in_order_with_the_other_timers()
    {
        // Agent 1 rings for 10 s, agent 2 for the queue's 30 s; the call's max wait (a timer of another kind) falls
        // between the two, so it must fire before agent 2's timeout although that one was set first.
        var h = new Harness()
            .Queue(1, q => q with { Strategy = Strategy.RingAll, RingTimeoutSeconds = 30, MaxWaitSeconds = 25 })
            .Agent(1, a => a with { RingTimeoutSeconds = 10 })
            .Agent(2)
            .Staff(1, 1, 2);
        var call = h.Call(1);
        Assert.Equal(At(10), h.Engine.NextDeadline);

        h.Wait(10);
        Assert.Equal([2], h.Ringing(call));
        Assert.Equal(At(25), h.Engine.NextDeadline);

        // One step past both deadlines: the max wait (25 s) fires first, so agent 2 is cancelled, not timed out.
        h.Wait(25);
        Assert.Equal(
            [(1, At(10), AttemptOutcome.NoAnswer), (2, At(25), AttemptOutcome.Cancelled)],
            h.Cdr(call).Attempts.Select(x => (x.Agent.Value, x.EndedAt, x.Outcome)));
        Assert.Equal(ExitReason.Timeout, h.Cdr(call).Queues[0].ExitReason);
    }
}
