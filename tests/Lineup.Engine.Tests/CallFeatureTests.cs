namespace Lineup.Engine.Tests;

/// <summary>Call features: multi-queue policy, priority, limits and destinations, pickup, callback, sticky agent,
/// ring delay, announcements, and that every call ends exactly once.</summary>
public class CallFeatureTests
{
    private static long At(double seconds) => Harness.Start + (long)(seconds * 1000);

    private static List<(int Agent, double At)> Offers(Harness h, CallId call) =>
        h.Of(EventKind.CallOffered).Where(e => e.Call == call)
            .Select(e => (e.Agent.Value, (e.At - Harness.Start) / 1000.0)).ToList();

    private static List<EventKind> KindsFor(Harness h, CallId call) =>
        h.Events.Where(e => e.Call == call).Select(e => e.Kind).ToList();

    private static CallId CallFrom(Harness h, int queue, string number, int priority = 0) => h.Call(queue, number, priority);

    private static Harness TwoQueuesOneAgent(bool reverse, int weight1 = 1, int weight2 = 1)
    {
        var h = new Harness();
        if (reverse) h.Queue(2, q => q with { Weight = weight2 }).Queue(1, q => q with { Weight = weight1 });
        else h.Queue(1, q => q with { Weight = weight1 }).Queue(2, q => q with { Weight = weight2 });
        h.Agent(1);
        if (reverse) h.Member(2, 1).Member(1, 1);
        else h.Member(1, 1).Member(2, 1);
        h.Login(1);
        h.NotReady(1);
        return h;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_agent_in_two_queues_takes_the_higher_priority_call_first_whatever_the_creation_order(bool reverse)
    {
        var h = TwoQueuesOneAgent(reverse);
        var low = h.Call(1);
        var high = h.Wait(10).Call(2, priority: 5);
        h.Wait(10).Ready(1);
        Assert.Equal([1], h.Ringing(high));
        h.Answer(high, 1);
        h.AgentHangup(high);
        Assert.Equal([1], h.Ringing(low));
    }

    /// <summary>At 20 s the call in queue 1 has waited 20 s and the one in queue 2 10 s: wait × weight decides,
    /// ties go to the earlier arrival.</summary>
    [Theory]
    [InlineData(false, 1, 1)]
    [InlineData(true, 1, 1)]
    [InlineData(false, 3, 2)]
    [InlineData(true, 3, 2)]
    [InlineData(false, 2, 1)]
    [InlineData(true, 2, 1)]
    public void An_agent_in_two_queues_takes_the_largest_wait_times_weight(bool reverse, int weight2, int expectedQueue)
    {
        var h = TwoQueuesOneAgent(reverse, 1, weight2);
        var c1 = h.Call(1);
        var c2 = h.Wait(10).Call(2);
        h.Wait(10).Ready(1);
        Assert.Equal([1], h.Ringing(expectedQueue == 1 ? c1 : c2));
        Assert.Empty(h.Ringing(expectedQueue == 1 ? c2 : c1));
    }

    [Fact]
    public void A_vip_caller_jumps_the_line()
    {
        var h = new Harness().Queue(1, q => q with { VipNumbers = new HashSet<string> { "5559999" }, VipPriority = 10 }).Staff(1, 1);
        h.NotReady(1);
        var a = CallFrom(h, 1, "5550001");
        var b = CallFrom(h.Wait(1), 1, "5550002");
        var vip = CallFrom(h.Wait(1), 1, "5559999");
        Assert.Equal([1L, 2L, 1L], h.Of(EventKind.CallQueued).Select(e => e.Value));
        Assert.Equal([vip, a, b], h.QueueState(1).WaitingCalls.Select(c => c.Id));

        h.Wait(1).Ready(1);
        Assert.Equal([1], h.Ringing(vip));
        h.Answer(vip, 1);
        h.AgentHangup(vip);
        Assert.Equal(10, h.Cdr(vip).Priority);
        Assert.Equal([1], h.Ringing(a));
    }

    [Fact]
    public void Calls_are_first_in_first_out_within_a_priority()
    {
        var h = new Harness().Queue(1).Staff(1, 1);
        h.NotReady(1);
        var ids = new[] { 0, 0, 5, 0, 5 }.Select(p => h.Wait(1).Call(1, priority: p)).ToArray();
        var expected = new[] { ids[2], ids[4], ids[0], ids[1], ids[3] };
        Assert.Equal(expected, h.QueueState(1).WaitingCalls.Select(c => c.Id));

        h.Ready(1);
        var served = new List<CallId>();
        foreach (var _ in ids)
        {
            var call = h.AgentState(1).CurrentCall!.Value;
            served.Add(call);
            h.Answer(call, 1);
            h.AgentHangup(call);
        }
        Assert.Equal(expected, served);
    }

    [Fact]
    public void A_blacklisted_caller_is_refused_at_entry()
    {
        var h = new Harness().Queue(1, q => q with { Blacklist = new HashSet<string> { "5556666" } }).Staff(1, 1);
        var call = CallFrom(h, 1, "5556666");

        Assert.Equal([EventKind.CallLeftQueue, EventKind.CallHangup, EventKind.CallEnded], KindsFor(h, call));
        var cdr = h.Cdr(call);
        Assert.Equal((Disposition.HungUp, ExitReason.Blacklisted), (cdr.Disposition, cdr.ExitReason));
        Assert.Empty(cdr.Attempts);
        Assert.Equal(new QueueVisit(new QueueId(1), At(0), At(0), ExitReason.Blacklisted), Assert.Single(cdr.Queues));
        Assert.All(h.Events.Where(e => e.Call == call), e => Assert.Equal(new QueueId(1), e.Queue));
        var stats = h.QueueState(1).Today;
        Assert.Equal((1, 0, 0), (stats.Rejected, stats.Offered, stats.Left));
        Assert.Equal(AgentActivity.Idle, h.AgentState(1).Activity);
    }

    [Fact]
    public void Over_max_callers_a_new_call_goes_to_the_queue_full_destination()
    {
        var h = new Harness().Queue(1, q => q with { MaxCallers = 2, QueueFullDestination = Destination.ToNumber("200") });
        h.Call(1);
        h.Call(1);
        var third = h.Wait(1).Call(1);

        Assert.Equal([EventKind.CallLeftQueue, EventKind.CallTransferred, EventKind.CallEnded], KindsFor(h, third));
        Assert.Equal("200", h.Of(EventKind.CallTransferred).Single().Text);
        var cdr = h.Cdr(third);
        Assert.Equal((Disposition.Transferred, ExitReason.QueueFull, "200"), (cdr.Disposition, cdr.ExitReason, cdr.DestinationTarget));
        Assert.Equal(new QueueVisit(new QueueId(1), At(1), At(1), ExitReason.QueueFull), Assert.Single(cdr.Queues));
        Assert.Equal((3, 1, 2), (h.QueueState(1).Today.Offered, h.QueueState(1).Today.Overflowed, h.QueueState(1).WaitingCount));
    }

    [Fact]
    public void Max_wait_moves_the_call_to_another_queue_keeping_its_history_and_its_place_by_original_entry()
    {
        var h = new Harness()
            .Queue(1, q => q with { MaxWaitSeconds = 30, TimeoutDestination = Destination.ToQueue(new QueueId(2)) })
            .Queue(2).Staff(2, 5);
        h.NotReady(5);
        var moved = h.Call(1);
        var local = h.Wait(10).Call(2);
        h.Wait(20);

        var move = h.Of(EventKind.CallMoved).Single();
        Assert.Equal((moved, new QueueId(1), 2L, ExitReason.Timeout, At(30)), (move.Call, move.Queue, move.Value, (ExitReason)move.Code, move.At));
        Assert.Equal([moved, local], h.QueueState(2).WaitingCalls.Select(c => c.Id));
        Assert.Equal(At(0), h.CallState(moved).OrderTime);

        h.Wait(5).Ready(5);
        Assert.Equal([(5, 35.0)], Offers(h, moved));
        h.Answer(moved, 5);
        Assert.Equal(5000, h.Of(EventKind.CallAnswered).Single().Value);
        h.AgentHangup(moved);

        var cdr = h.Cdr(moved);
        Assert.Equal(At(0), cdr.EnteredAt);
        Assert.Equal(
            [new QueueVisit(new QueueId(1), At(0), At(30), ExitReason.Timeout), new QueueVisit(new QueueId(2), At(30), At(35), ExitReason.None)],
            cdr.Queues);
        Assert.Equal(35, cdr.WaitSeconds);
        Assert.Equal((Disposition.Answered, new QueueId(2)), (cdr.Disposition, cdr.AnsweredIn!.Value));
        Assert.Equal((1, 1, 0), (h.QueueState(1).Today.Offered, h.QueueState(1).Today.TimedOut, h.QueueState(1).Today.Answered));
        Assert.Equal((2, 1), (h.QueueState(2).Today.Offered, h.QueueState(2).Today.Answered));
    }

    [Fact]
    public void Max_wait_with_no_agent_sends_each_call_on_when_its_own_time_is_up()
    {
        var h = new Harness().Queue(1, q => q with { MaxWaitNoAgentSeconds = 20 });
        var a = h.Wait(5).Call(1);
        var b = h.Wait(3).Call(1);
        h.Wait(16.999);
        Assert.Equal(2, h.QueueState(1).WaitingCount);
        h.Wait(0.001);
        Assert.Equal((At(25), ExitReason.NoAgents, Disposition.HungUp), (h.Cdr(a).EndedAt!.Value, h.Cdr(a).ExitReason, h.Cdr(a).Disposition));
        h.Wait(3);
        Assert.Equal(At(28), h.Cdr(b).EndedAt);
        Assert.Equal(2, h.QueueState(1).Today.Overflowed);
    }

    [Fact]
    public void Max_wait_with_no_agent_counts_from_the_last_logout_and_stops_while_someone_is_logged_in()
    {
        var h = new Harness().Queue(1, q => q with { MaxWaitNoAgentSeconds = 20, AgentAutoReady = false }).Staff(1, 1);
        var call = h.Call(1);
        h.Wait(10).Do(h.Engine.Logout(new AgentId(1), null, h.Now));
        h.Wait(15).Login(1);
        h.Wait(10);
        Assert.Equal(CallState.Waiting, h.CallState(call).State);
        h.Do(h.Engine.Logout(new AgentId(1), null, h.Now));
        h.Wait(19.999);
        Assert.Empty(h.Of(EventKind.CallEnded));
        h.Wait(0.001);
        Assert.Equal((At(55), ExitReason.NoAgents), (h.Cdr(call).EndedAt!.Value, h.Cdr(call).ExitReason));
    }

    [Fact]
    public void Leave_when_no_agents_sends_a_call_on_at_entry_only_when_nobody_is_logged_in()
    {
        var h = new Harness().Queue(1, q => q with { LeaveWhenNoAgents = true, NoAgentsDestination = Destination.ToVoicemail("vm1") });
        var gone = h.Call(1);
        Assert.Equal([EventKind.CallLeftQueue, EventKind.CallToVoicemail, EventKind.CallEnded], KindsFor(h, gone));
        Assert.Equal((Disposition.Voicemail, ExitReason.NoAgents, "vm1"), (h.Cdr(gone).Disposition, h.Cdr(gone).ExitReason, h.Cdr(gone).DestinationTarget));

        h.Staff(1, 1).NotReady(1);
        var stays = h.Call(1);
        Assert.Equal([EventKind.CallQueued], KindsFor(h, stays));
    }

    [Fact]
    public void After_no_answer_max_attempts_the_call_goes_to_the_no_answer_destination()
    {
        var h = new Harness().Queue(1, q => q with
        {
            Strategy = Strategy.TopDown,
            RingTimeoutSeconds = 10,
            NoAnswerMaxAttempts = 2,
            NoAnswerDestination = Destination.ToVoicemail("box1"),
        }).Staff(1, 1, 2);
        var call = h.Call(1);
        h.Wait(20);

        var cdr = h.Cdr(call);
        Assert.Equal((Disposition.Voicemail, ExitReason.NoAnswer, "box1", At(20)), (cdr.Disposition, cdr.ExitReason, cdr.DestinationTarget, cdr.EndedAt!.Value));
        Assert.Equal([(1, AttemptOutcome.NoAnswer), (2, AttemptOutcome.NoAnswer)], cdr.Attempts.Select(a => (a.Agent.Value, a.Outcome)));
        Assert.Equal(1, h.QueueState(1).Today.Overflowed);
        Assert.Equal(2, h.QueueState(1).AvailableAgents);
    }

    [Fact]
    public void The_no_answer_limit_counts_only_the_offers_made_in_the_current_queue()
    {
        var h = new Harness()
            .Queue(1, q => q with
            {
                Strategy = Strategy.TopDown,
                RingTimeoutSeconds = 10,
                NoAnswerMaxAttempts = 2,
                NoAnswerDestination = Destination.ToQueue(new QueueId(2)),
            })
            .Queue(2, q => q with
            {
                Strategy = Strategy.TopDown,
                RingTimeoutSeconds = 10,
                NoAnswerMaxAttempts = 2,
                NoAnswerDestination = Destination.ToVoicemail("box2"),
            })
            .Staff(1, 1).Staff(2, 2);
        var call = h.Call(1);
        h.Wait(20);
        Assert.Equal(new QueueId(2), h.CallState(call).Queue!.Id);
        h.Wait(10);
        Assert.Equal(CallState.Waiting, h.CallState(call).State);
        h.Wait(10);

        var cdr = h.Cdr(call);
        Assert.Equal((Disposition.Voicemail, At(40)), (cdr.Disposition, cdr.EndedAt!.Value));
        Assert.Equal([1, 1, 2, 2], cdr.Attempts.Select(a => a.Agent.Value));
    }

    [Fact]
    public void The_exit_key_takes_the_caller_to_the_exit_destination_and_other_digits_are_ignored()
    {
        var h = new Harness().Queue(1, q => q with { ExitKey = "0", ExitKeyDestination = Destination.ToNumber("100") }).Staff(1, 1);
        var call = h.Call(1);
        Assert.Equal(CommandResult.Ignored, h.Try(h.Engine.CallerDigits(call, "5", h.Now)));
        Assert.Equal([1], h.Ringing(call));
        Assert.Equal(CommandResult.Ok, h.Wait(4).Do(h.Engine.CallerDigits(call, "0", h.Now)));

        var ended = h.Of(EventKind.OfferEnded).Single();
        Assert.Equal((1, AttemptOutcome.Cancelled), (ended.Agent.Value, (AttemptOutcome)ended.Code));
        var cdr = h.Cdr(call);
        Assert.Equal((Disposition.Transferred, ExitReason.ExitKey, "100", At(4)), (cdr.Disposition, cdr.ExitReason, cdr.DestinationTarget, cdr.EndedAt!.Value));
        Assert.Equal(1, h.QueueState(1).Today.ExitedByKey);
        Assert.Equal(AgentActivity.Idle, h.AgentState(1).Activity);
    }

    [Fact]
    public void Night_mode_sends_arriving_calls_to_the_night_destination_until_it_is_turned_off()
    {
        var h = new Harness()
            .Queue(1, q => q with { NightModeDestination = Destination.ToQueue(new QueueId(2)) }).Queue(2).Staff(1, 1);
        Assert.Equal(CommandResult.Ok, h.Do(h.Engine.SetNightMode(new QueueId(1), true, h.Now)));
        Assert.Equal(CommandResult.Ignored, h.Try(h.Engine.SetNightMode(new QueueId(1), true, h.Now)));
        Assert.Equal(1, Assert.Single(h.Of(EventKind.QueueNightModeChanged)).Code);

        var night = h.Call(1);
        Assert.Empty(Offers(h, night));
        Assert.Equal((ExitReason.NightMode, 2L), ((ExitReason)h.Of(EventKind.CallMoved).Single().Code, h.Of(EventKind.CallMoved).Single().Value));
        Assert.Equal(1, h.QueueState(2).WaitingCount);

        h.Do(h.Engine.SetNightMode(new QueueId(1), false, h.Now));
        var day = h.Call(1);
        Assert.Equal([1], h.Ringing(day));
    }

    [Theory]
    [InlineData(DestinationKind.Queue)]
    [InlineData(DestinationKind.Number)]
    [InlineData(DestinationKind.Voicemail)]
    [InlineData(DestinationKind.Callback)]
    [InlineData(DestinationKind.Hangup)]
    public void Each_destination_kind_does_what_it_says(DestinationKind kind)
    {
        var dest = kind switch
        {
            DestinationKind.Queue => Destination.ToQueue(new QueueId(2)),
            DestinationKind.Number => Destination.ToNumber("200"),
            DestinationKind.Voicemail => Destination.ToVoicemail("box7"),
            DestinationKind.Callback => Destination.Callback,
            _ => Destination.Hangup,
        };
        var h = new Harness()
            .Queue(1, q => q with { MaxWaitSeconds = 10, TimeoutDestination = dest, Callback = new CallbackSettings { Enabled = true } })
            .Queue(2);
        var call = CallFrom(h, 1, "5551234");
        h.Wait(10);
        var after = h.Events.Where(e => e.Call == call).Skip(1).ToList();

        switch (kind)
        {
            case DestinationKind.Queue:
                Assert.Equal([EventKind.CallLeftQueue, EventKind.CallMoved, EventKind.CallQueued], after.Select(e => e.Kind));
                Assert.Equal(new QueueId(2), h.CallState(call).Queue!.Id);
                break;
            case DestinationKind.Number:
                Assert.Equal([EventKind.CallLeftQueue, EventKind.CallTransferred, EventKind.CallEnded], after.Select(e => e.Kind));
                Assert.Equal(("200", Disposition.Transferred, "200"), (after[1].Text, h.Cdr(call).Disposition, h.Cdr(call).DestinationTarget));
                break;
            case DestinationKind.Voicemail:
                Assert.Equal([EventKind.CallLeftQueue, EventKind.CallToVoicemail, EventKind.CallEnded], after.Select(e => e.Kind));
                Assert.Equal(("box7", Disposition.Voicemail), (after[1].Text, h.Cdr(call).Disposition));
                break;
            case DestinationKind.Callback:
                Assert.Equal([EventKind.CallbackScheduled], after.Select(e => e.Kind));
                Assert.Equal("5551234", after[0].Text);
                Assert.Equal(CallState.CallbackWaiting, h.CallState(call).State);
                Assert.Equal((0, 1), (h.QueueState(1).WaitingCount, h.QueueState(1).CallbackCount));
                break;
            default:
                Assert.Equal([EventKind.CallLeftQueue, EventKind.CallHangup, EventKind.CallEnded], after.Select(e => e.Kind));
                Assert.Equal((Disposition.HungUp, ExitReason.Timeout), (h.Cdr(call).Disposition, h.Cdr(call).ExitReason));
                break;
        }
        Assert.All(after, e => Assert.Equal(At(10), e.At));
    }

    [Fact]
    public void A_destination_loop_between_queues_is_cut_after_max_queue_hops()
    {
        var h = new Harness(new EngineOptions { MaxQueueHops = 3 })
            .Queue(1, q => q with { MaxWaitSeconds = 10, TimeoutDestination = Destination.ToQueue(new QueueId(2)) })
            .Queue(2, q => q with { MaxWaitSeconds = 10, TimeoutDestination = Destination.ToQueue(new QueueId(1)) });
        var call = h.Call(1);
        h.Wait(100);

        Assert.Equal(3, h.Of(EventKind.CallMoved).Count());
        var cdr = h.Cdr(call);
        Assert.Equal([1, 2, 1, 2], cdr.Queues.Select(v => v.Queue.Value));
        Assert.Equal((Disposition.HungUp, ExitReason.Timeout, At(40)), (cdr.Disposition, cdr.ExitReason, cdr.EndedAt!.Value));
        Assert.Single(h.Of(EventKind.CallEnded));
    }

    [Fact]
    public void Pickup_takes_a_chosen_call_ahead_of_the_line_and_cancels_its_ringing_offer()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown }).Staff(1, 1, 2, 3);
        h.NotReady(3);
        var a = h.Call(1);
        var b = h.Call(1);
        var c = h.Call(1);
        Assert.Equal([1], h.Ringing(a));
        Assert.Equal([2], h.Ringing(b));

        h.Wait(5);
        Assert.Equal(CommandResult.AgentBusy, h.Try(h.Engine.Pickup(c, new AgentId(1), h.Now)));
        Assert.Equal(CommandResult.Ok, h.Do(h.Engine.Pickup(b, new AgentId(3), h.Now)));

        var ended = h.Of(EventKind.OfferEnded).Single();
        Assert.Equal((2, b, AttemptOutcome.Cancelled), (ended.Agent.Value, ended.Call, (AttemptOutcome)ended.Code));
        var answered = h.Of(EventKind.CallAnswered).Single();
        Assert.Equal((3, b, 5000L), (answered.Agent.Value, answered.Call, answered.Value));
        // Agent 2, freed, takes the next waiting call.
        Assert.Equal([(2, 5.0)], Offers(h, c));

        h.AgentHangup(b);
        Assert.Equal(
            [(2, AttemptOutcome.Cancelled, false), (3, AttemptOutcome.Answered, true)],
            h.Cdr(b).Attempts.Select(x => (x.Agent.Value, x.Outcome, x.Pickup)));

        // Picking up the call it is ringing for is answering it.
        Assert.Equal(CommandResult.Ok, h.Do(h.Engine.Pickup(a, new AgentId(1), h.Now)));
        Assert.Equal(CallState.Connected, h.CallState(a).State);
    }

    [Fact]
    public void A_callback_keeps_its_place_then_an_agent_is_offered_it_and_the_customer_is_dialled()
    {
        var h = new Harness().Queue(1, q => q with
        {
            Callback = new CallbackSettings { Enabled = true, OutboundPrefix = "9" },
        }).Staff(1, 1);
        h.NotReady(1);
        var a = CallFrom(h, 1, "111");
        var b = CallFrom(h.Wait(10), 1, "222");
        CallFrom(h.Wait(10), 1, "333");
        Assert.Equal(CommandResult.Ok, h.Wait(5).Do(h.Engine.RequestCallback(a, null, h.Now)));

        Assert.Equal("111", h.Of(EventKind.CallbackScheduled).Single().Text);
        Assert.Equal(CallState.CallbackWaiting, h.CallState(a).State);
        Assert.Equal(1, h.Engine.PositionOf(h.CallState(a)));
        Assert.Equal(2, h.Engine.PositionOf(h.CallState(b)));
        Assert.Equal((2, 1), (h.QueueState(1).WaitingCount, h.QueueState(1).CallbackCount));

        h.Wait(5).Ready(1);
        var offer = h.Of(EventKind.CallOffered).Single();
        Assert.Equal((a, 1, At(30)), (offer.Call, offer.Code, offer.At));
        h.Wait(2).Answer(a, 1);
        var dial = h.Of(EventKind.CallbackDial).Single();
        Assert.Equal((1, "9111"), (dial.Agent.Value, dial.Text));
        Assert.Equal(CallState.CallbackDialing, h.CallState(a).State);
        Assert.Equal(AgentActivity.Talking, h.AgentState(1).Activity);
        Assert.Empty(h.Of(EventKind.CallAnswered));

        Assert.Equal(CommandResult.Ok, h.Wait(8).Do(h.Engine.CallbackAnswered(a, h.Now)));
        var answered = h.Of(EventKind.CallAnswered).Single();
        Assert.Equal((a, At(40), 40_000L), (answered.Call, answered.At, answered.Value));
        h.Wait(60).AgentHangup(a);
        var cdr = h.Cdr(a);
        Assert.Equal((Disposition.Answered, true, "111", 40.0, 60.0), (cdr.Disposition, cdr.WasCallback, cdr.CallbackNumber, cdr.WaitSeconds, cdr.TalkSeconds));
        Assert.Equal([1], h.Ringing(b));
    }

    [Fact]
    public void A_failed_callback_is_retried_after_retry_seconds_up_to_max_attempts()
    {
        var h = new Harness().Queue(1, q => q with
        {
            Callback = new CallbackSettings { Enabled = true, MaxAttempts = 2, RetrySeconds = 60 },
        }).Staff(1, 1);
        h.NotReady(1);
        var call = h.Call(1);
        h.Wait(5).Do(h.Engine.RequestCallback(call, "5551234", h.Now));
        h.Wait(5).Ready(1);
        h.Answer(call, 1);
        Assert.Equal("5551234", h.Of(EventKind.CallbackDial).Single().Text);

        Assert.Equal(CommandResult.Ok, h.Wait(10).Do(h.Engine.CallbackFailed(call, h.Now)));
        Assert.Equal(CallState.CallbackWaiting, h.CallState(call).State);
        Assert.Equal(AgentActivity.Idle, h.AgentState(1).Activity);
        h.Wait(59.999);
        Assert.Equal([(1, 10.0)], Offers(h, call));
        h.Wait(0.001);
        Assert.Equal([(1, 10.0), (1, 80.0)], Offers(h, call));

        h.Answer(call, 1);
        Assert.Equal(2, h.Of(EventKind.CallbackDial).Count());
        h.Wait(10).Do(h.Engine.CallbackFailed(call, h.Now));
        var cdr = h.Cdr(call);
        Assert.Equal((Disposition.CallbackFailed, true, "5551234", At(90)), (cdr.Disposition, cdr.WasCallback, cdr.CallbackNumber, cdr.EndedAt!.Value));
        Assert.Equal(2, cdr.Attempts.Count);
        Assert.Null(cdr.AnsweredAt);
        Assert.Equal(AgentActivity.Idle, h.AgentState(1).Activity);
    }

    [Fact]
    public void Callback_is_refused_when_the_queue_does_not_offer_it()
    {
        var h = new Harness().Queue(1);
        var call = h.Call(1);
        Assert.Equal(CommandResult.CallbackUnavailable, h.Try(h.Engine.RequestCallback(call, null, h.Now)));
        Assert.Equal(CommandResult.Ignored, h.Try(h.Engine.CallerDigits(call, "3", h.Now)));
        Assert.Equal(CallState.Waiting, h.CallState(call).State);
    }

    [Fact]
    public void In_timeout_mode_the_callback_is_offered_after_offer_after_seconds_and_only_then_the_key_works()
    {
        var h = new Harness().Queue(1, q => q with
        {
            Callback = new CallbackSettings { Enabled = true, Mode = CallbackMode.Timeout, OfferAfterSeconds = 30, Key = "3" },
        });
        var call = h.Call(1);
        Assert.Equal(CommandResult.Ignored, h.Wait(10).Try(h.Engine.CallerDigits(call, "3", h.Now)));
        Assert.Equal(CallState.Waiting, h.CallState(call).State);
        h.Wait(19.999);
        Assert.Empty(h.Of(EventKind.Announcement));
        h.Wait(0.001);
        var offer = h.Of(EventKind.Announcement).Single();
        Assert.Equal((AnnouncementKind.CallbackOffer, "3", At(30)), ((AnnouncementKind)offer.Code, offer.Text, offer.At));

        Assert.Equal(CommandResult.Ok, h.Wait(5).Do(h.Engine.CallerDigits(call, "3", h.Now)));
        Assert.Equal(CallState.CallbackWaiting, h.CallState(call).State);
        Assert.Equal("5550100", h.Of(EventKind.CallbackScheduled).Single().Text);
    }

    [Fact]
    public void A_returning_caller_rings_its_last_agent_first_within_the_sticky_window()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, StickyAgentSeconds = 3600 }).Staff(1, 1, 2);
        var first = CallFrom(h, 1, "555A");
        h.Reject(first, 1);
        h.Answer(first, 2);
        h.Wait(60).AgentHangup(first);

        // Top-down would ring agent 1; the caller's last agent rings first, alone.
        var back = CallFrom(h.Wait(40), 1, "555A");
        Assert.Equal([2], h.Ringing(back));
        // It does not answer: the strategy takes over.
        h.Wait(20);
        Assert.Equal([(2, 100.0), (1, 120.0)], Offers(h, back));
    }

    [Fact]
    public void The_sticky_agent_is_skipped_when_busy()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, StickyAgentSeconds = 3600 }).Staff(1, 1, 2);
        var first = CallFrom(h, 1, "555A");
        h.Reject(first, 1);
        h.Answer(first, 2);

        var again = CallFrom(h.Wait(10), 1, "555A");
        Assert.Equal([(1, 10.0)], Offers(h, again));
    }

    [Fact]
    public void The_sticky_agent_is_forgotten_after_the_window()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, StickyAgentSeconds = 3600 }).Staff(1, 1, 2);
        var first = CallFrom(h, 1, "555A");
        h.Reject(first, 1);
        h.Answer(first, 2);
        h.AgentHangup(first);

        var edge = CallFrom(h.Wait(3600), 1, "555A");
        Assert.Equal([2], h.Ringing(edge));
        h.CallerHangup(edge);
        var late = CallFrom(h.Wait(0.001), 1, "555A");
        Assert.Equal([1], h.Ringing(late));
    }

    [Fact]
    public void A_member_ring_delay_reserves_the_agent_and_rings_it_only_after_the_delay()
    {
        var h = new Harness().Queue(1, q => q with { RingTimeoutSeconds = 20 }).Agent(1).Agent(2)
            .Member(1, 1).Member(1, 2, ringDelay: 5).Login(1).Login(2);
        var call = h.Call(1);
        Assert.Equal([(1, 0.0)], Offers(h, call));
        Assert.Equal(AgentActivity.Ringing, h.AgentState(2).Activity);
        h.Wait(5);
        Assert.Equal([(1, 0.0), (2, 5.0)], Offers(h, call));
        h.Wait(20);

        var ends = h.Of(EventKind.OfferEnded).Select(e => (e.Agent.Value, (AttemptOutcome)e.Code, e.At)).ToList();
        Assert.Equal([(1, AttemptOutcome.NoAnswer, At(20)), (2, AttemptOutcome.NoAnswer, At(25))], ends.Take(2));
    }

    [Fact]
    public void An_answer_during_another_members_ring_delay_cancels_it_before_it_rings()
    {
        var h = new Harness().Queue(1).Agent(1).Agent(2)
            .Member(1, 1).Member(1, 2, ringDelay: 5).Login(1).Login(2);
        var call = h.Call(1);
        h.Wait(3).Answer(call, 1);
        h.Wait(10);

        Assert.Equal([(1, 0.0)], Offers(h, call));
        var cancelled = h.Of(EventKind.OfferEnded).Single(e => e.Agent.Value == 2);
        Assert.Equal((AttemptOutcome.Cancelled, At(3)), ((AttemptOutcome)cancelled.Code, cancelled.At));
        Assert.Equal(AgentActivity.Idle, h.AgentState(2).Activity);
    }

    [Fact]
    public void Intro_and_periodic_announcements_play_at_entry_and_every_interval_while_waiting()
    {
        var h = new Harness().Queue(1, q => q with { IntroPrompt = "welcome", PeriodicPrompt = "hold", PeriodicAnnounceSeconds = 30 }).Staff(1, 1);
        h.NotReady(1);
        var call = h.Call(1);
        h.Wait(95).Ready(1);
        h.Answer(call, 1);
        h.Wait(100);

        var played = h.Of(EventKind.Announcement).Where(e => e.Call == call)
            .Select(e => ((AnnouncementKind)e.Code, e.Text, (e.At - Harness.Start) / 1000.0)).ToList();
        Assert.Equal(
            [(AnnouncementKind.Intro, "welcome", 0.0), (AnnouncementKind.Periodic, "hold", 30.0),
             (AnnouncementKind.Periodic, "hold", 60.0), (AnnouncementKind.Periodic, "hold", 90.0)],
            played);
    }

    [Fact]
    public void Position_announcements_give_the_position_and_the_estimated_wait()
    {
        var h = new Harness().Queue(1, q => q with
        {
            PositionAnnouncement = PositionAnnouncement.OnEntryThenPeriodically,
            PositionAnnounceSeconds = 20,
            ExpectedHandleSeconds = 180,
        }).Staff(1, 1);
        var busy = h.Call(1);
        h.Answer(busy, 1);
        var first = h.Call(1);
        var second = h.Call(1);
        h.Wait(25).CallerHangup(first);
        h.Wait(15);

        (double At, long Position, long Estimate) Seen(EngineEvent e) => ((e.At - Harness.Start) / 1000.0, e.Value, e.Value2);
        var position = h.Of(EventKind.Announcement).Where(e => e.Code == (int)AnnouncementKind.Position).ToList();
        Assert.Equal([(0.0, 1L, 180L), (20.0, 1L, 180L)], position.Where(e => e.Call == first).Select(Seen));
        Assert.Equal([(0.0, 2L, 360L), (20.0, 2L, 360L), (40.0, 1L, 180L)], position.Where(e => e.Call == second).Select(Seen));
    }

    [Fact]
    public void Periodic_position_announcements_start_one_interval_after_entry()
    {
        var h = new Harness().Queue(1, q => q with { PositionAnnouncement = PositionAnnouncement.Periodically, PositionAnnounceSeconds = 20 });
        var call = h.Call(1);
        h.Wait(45);
        Assert.Equal([20.0, 40.0], h.Of(EventKind.Announcement).Where(e => e.Call == call).Select(e => (e.At - Harness.Start) / 1000.0));
        // Nobody staffs the queue: the estimate is unknown.
        Assert.All(h.Of(EventKind.Announcement), e => Assert.Equal(-1, e.Value2));
    }

    [Fact]
    public void Every_call_ends_exactly_once_whatever_its_path()
    {
        var h = new Harness(new EngineOptions { MaxQueueHops = 2 })
            .Queue(1, q => q with
            {
                Strategy = Strategy.TopDown,
                RingTimeoutSeconds = 10,
                MaxWaitSeconds = 120,
                TimeoutDestination = Destination.ToQueue(new QueueId(2)),
                Blacklist = new HashSet<string> { "666" },
                ExitKey = "0",
                ExitKeyDestination = Destination.ToNumber("100"),
                Callback = new CallbackSettings { Enabled = true },
                WrapUpSeconds = 5,
            })
            .Queue(2, q => q with { MaxWaitSeconds = 60, TimeoutDestination = Destination.ToVoicemail() })
            .Staff(1, 1, 2)
            .Staff(2, 3); // free for the pickup: agents 1 and 2 are ringing or talking by then
        var calls = new List<CallId>();
        for (var i = 0; i < 12; i++) calls.Add(CallFrom(h.Wait(1), 1, i == 3 ? "666" : $"55500{i:00}"));
        h.Answer(calls[0], 1);
        h.Wait(2).CallerHangup(calls[1]);
        h.Do(h.Engine.CallerDigits(calls[4], "0", h.Now));
        h.Do(h.Engine.RequestCallback(calls[5], null, h.Now));
        h.Do(h.Engine.Pickup(calls[6], new AgentId(3), h.Now));
        h.Do(h.Engine.CancelCall(calls[7], h.Now));
        h.Wait(30).AgentHangup(calls[0]);
        h.Wait(300);
        // Whatever is left (a callback still ringing its agent, calls talking) is ended the way the world would.
        foreach (var c in h.Engine.ActiveCalls.ToList())
        {
            if (c.State == CallState.CallbackWaiting && c.ActiveOffers == 1) h.Answer(c.Id, h.Ringing(c.Id)[0]);
            if (c.State == CallState.CallbackDialing) h.Do(h.Engine.CallbackAnswered(c.Id, h.Now));
            if (c.State == CallState.Connected) h.Wait(1).AgentHangup(c.Id);
            if (c.IsQueued) h.Do(h.Engine.CancelCall(c.Id, h.Now));
        }
        h.Wait(30);

        Assert.Empty(h.Engine.ActiveCalls);
        Assert.All(calls, c => Assert.Single(h.Events, e => e.Kind == EventKind.CallEnded && e.Call == c));
        Assert.Equal(calls.Count, h.Of(EventKind.CallEnded).Count());
        Assert.All(h.Of(EventKind.CallEnded), e => Assert.NotEqual(Disposition.None, e.Record!.Disposition));
        // The pickup path was taken (agents 1 and 2 are busy by then: a pickup by either was refused, unnoticed).
        Assert.Contains(h.Cdr(calls[6]).Attempts, a => a.Pickup && a.Agent == new AgentId(3));

        var count = h.Events.Count;
        Assert.Equal(CommandResult.UnknownCall, h.Try(h.Engine.CallerHangup(calls[0], h.Now)));
        Assert.Equal(CommandResult.UnknownCall, h.Try(h.Engine.CancelCall(calls[1], h.Now)));
        Assert.Equal(count, h.Events.Count);
    }
}
