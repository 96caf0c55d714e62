namespace Lineup.Engine.Tests;

/// <summary>A transfer of a connected call to one agent (<see cref="CallCenter.TransferToAgent"/>): only that agent
/// rings; unanswered, the caller keeps its place in the queue it came from, or goes to the fallback named.</summary>
public class TransferToAgentTests
{
    private static AgentId A(int id) => new(id);

    [Fact]
    public void Only_the_named_agent_rings_and_answering_connects_it_the_first_agent_wraps_up()
    {
        // Agent 3 serves queue 2 only: membership of the call's queue is not needed.
        var h = new Harness().Queue(1, q => q with { WrapUpSeconds = 10, RingTimeoutSeconds = 15, IntroPrompt = "hello" })
            .Queue(2).Staff(1, 1, 2).Staff(2, 3);
        var call = h.Call(1);
        var ringing = h.Ringing(call);
        var first = ringing[0];
        h.Answer(call, first);
        h.Wait(30);
        h.Collect();
        var from = h.Events.Count;

        Assert.Equal(CommandResult.Ok, h.Do(h.Engine.TransferToAgent(call, A(3), null, h.Now)));

        var after = h.Events.Skip(from).ToList();
        var started = Assert.Single(after, e => e.Kind == EventKind.CallTransferStarted);
        Assert.Equal((first, (int)TransferTarget.Agent, 3L), (started.Agent.Value, started.Code, started.Value));
        Assert.Contains(after, e => e.Kind == EventKind.CallQueued && e.Call == call && e.Queue == new QueueId(1));
        // No intro again: the caller was just talking to an agent of this queue.
        Assert.DoesNotContain(after, e => e.Kind == EventKind.Announcement);
        var offered = Assert.Single(after, e => e.Kind == EventKind.CallOffered);
        Assert.Equal((3, 15L), (offered.Agent.Value, offered.Value));
        Assert.Equal([3], h.Ringing(call));
        Assert.Equal(AgentStatus.WrapUp, h.AgentState(first).Status);

        h.Wait(4).Answer(call, 3);
        h.Wait(50).CallerHangup(call);
        h.Wait(10); // agent 3's wrap-up
        var cdr = h.Cdr(call);
        Assert.Equal(Disposition.Answered, cdr.Disposition);
        Assert.Equal(A(3), cdr.AnsweredBy);
        Assert.Equal([first, 3], cdr.Attempts.Where(x => x.Outcome == AttemptOutcome.Answered).Select(x => x.Agent.Value));
        Assert.Equal(2, h.QueueState(1).Today.Handled);
    }

    [Fact]
    public void While_the_named_agent_rings_no_other_agent_is_offered_the_call()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.RingAll }).Staff(1, 1, 2, 3);
        var call = h.Call(1);
        h.Answer(call, 1);
        h.NotReady(2);
        h.Do(h.Engine.TransferToAgent(call, A(3), null, h.Wait(5).Now));
        h.Ready(2); // a ring-all member becoming free does not join the directed ring
        Assert.Equal([3], h.Ringing(call));
    }

    [Fact]
    public void Unanswered_the_caller_stays_in_its_queue_ahead_of_later_callers_and_is_routed_by_the_strategy()
    {
        var h = new Harness().Queue(1, q => q with
        {
            Strategy = Strategy.TopDown,
            WrapUpSeconds = 30,
            RingTimeoutSeconds = 10,
            NoAnswerMaxAttempts = 1,
        }).Staff(1, 1, 2);
        var call = h.Call(1, priority: 1);
        h.Answer(call, 1);
        h.Do(h.Engine.TransferToAgent(call, A(2), null, h.Wait(20).Now));
        var later = h.Wait(1).Call(1, priority: 1);
        Assert.Equal([call, later], h.QueueState(1).WaitingCalls.Select(x => x.Id));

        // Agent 2's ring timeout. The directed offer does not count towards NoAnswerMaxAttempts (1 here), so the caller
        // stays, first in line with its priority, and the strategy offers it again (agent 1 still wraps up).
        h.Wait(9);
        var c = h.CallState(call);
        Assert.Equal((CallState.Waiting, new QueueId(1), 1), (c.State, c.Queue!.Id, c.Priority));
        Assert.Equal([call, later], h.QueueState(1).WaitingCalls.Select(x => x.Id));
        Assert.Contains(h.Events, e => e.Kind == EventKind.OfferEnded && e.Call == call && e.Agent == A(2) && e.Code == (int)AttemptOutcome.NoAnswer);
        Assert.Equal([2], h.Ringing(call));
        Assert.Empty(h.Ringing(later));
    }

    [Fact]
    public void Unanswered_with_a_fallback_the_caller_goes_there()
    {
        var h = new Harness().Queue(1).Queue(2).Staff(1, 1, 2).Staff(2, 3);
        var toNumber = h.Call(1);
        h.Answer(toNumber, 1);
        h.Do(h.Engine.TransferToAgent(toNumber, A(2), Destination.ToNumber("+15550199"), h.Wait(3).Now));
        h.Reject(toNumber, 2);
        var cdr = h.Cdr(toNumber);
        Assert.Equal((Disposition.Transferred, "+15550199", ExitReason.NoAnswer), (cdr.Disposition, cdr.DestinationTarget, cdr.ExitReason));
        Assert.Equal(A(1), cdr.AnsweredBy);

        // Another queue: the call moves there and that queue's agents ring.
        var h2 = new Harness().Queue(1).Queue(2).Staff(1, 1, 2).Staff(2, 3);
        var toQueue = h2.Call(1);
        h2.Answer(toQueue, 1);
        h2.Do(h2.Engine.TransferToAgent(toQueue, A(2), Destination.ToQueue(new QueueId(2)), h2.Wait(3).Now));
        h2.Do(h2.Engine.SetNotReady(A(2), "BREAK", h2.Now)); // the offer is taken back: the fallback applies too
        var moved = h2.CallState(toQueue);
        Assert.Equal(new QueueId(2), moved.Queue!.Id);
        Assert.Equal([3], h2.Ringing(toQueue));

        // The queue the call was answered in, as fallback, means the same as none: it stays there.
        var h3 = new Harness().Queue(1).Staff(1, 1, 2);
        var same = h3.Call(1);
        h3.Answer(same, 1);
        h3.Do(h3.Engine.TransferToAgent(same, A(2), Destination.ToQueue(new QueueId(1)), h3.Wait(3).Now));
        h3.Busy(same, 2);
        Assert.Equal((CallState.Waiting, new QueueId(1)), (h3.CallState(same).State, h3.CallState(same).Queue!.Id));
    }

    [Fact]
    public void A_transfer_to_an_agent_that_cannot_take_the_call_is_refused_and_changes_nothing()
    {
        // Top-down: each new call rings the first free agent. 1 and 2 talk, 3 rings, 4 wraps up, 5 is Not Ready.
        var h = new Harness().Queue(1, q => q with { WrapUpSeconds = 30, Strategy = Strategy.TopDown }).Staff(1, 1, 2, 3, 4, 5).Agent(6);
        var (first, busy, ringing, wrapping, notReady) = (1, 2, 3, 4, 5);
        var call = h.Call(1);
        h.Answer(call, first);
        var second = h.Call(1);
        h.Answer(second, busy);
        var third = h.Call(1);
        Assert.Equal([ringing], h.Ringing(third));
        var fourth = h.Call(1);
        h.Answer(fourth, wrapping);
        h.AgentHangup(fourth);
        Assert.Equal(AgentStatus.WrapUp, h.AgentState(wrapping).Status);
        h.NotReady(notReady);
        h.Collect();
        var events = h.Events.Count;

        Assert.Equal(CommandResult.UnknownCall, h.Try(h.Engine.TransferToAgent(new CallId(999), A(busy), null, h.Now)));
        Assert.Equal(CommandResult.UnknownAgent, h.Try(h.Engine.TransferToAgent(call, A(99), null, h.Now)));
        Assert.Equal(CommandResult.UnknownQueue, h.Try(h.Engine.TransferToAgent(call, A(notReady), Destination.ToQueue(new QueueId(9)), h.Now)));
        Assert.Equal(CommandResult.InvalidArgument, h.Try(h.Engine.TransferToAgent(call, A(notReady), Destination.ToNumber(""), h.Now)));
        Assert.Equal(CommandResult.InvalidArgument, h.Try(h.Engine.TransferToAgent(call, A(notReady), Destination.Callback, h.Now)));
        Assert.Equal(CommandResult.InvalidState, h.Try(h.Engine.TransferToAgent(third, A(notReady), null, h.Now)));
        Assert.Equal(CommandResult.InvalidDestination, h.Try(h.Engine.TransferToAgent(call, A(first), null, h.Now)));
        Assert.Equal(CommandResult.NotLoggedIn, h.Try(h.Engine.TransferToAgent(call, A(6), null, h.Now)));
        Assert.Equal(CommandResult.AgentBusy, h.Try(h.Engine.TransferToAgent(call, A(busy), null, h.Now)));
        Assert.Equal(CommandResult.AgentBusy, h.Try(h.Engine.TransferToAgent(call, A(ringing), null, h.Now)));
        Assert.Equal(CommandResult.AgentUnavailable, h.Try(h.Engine.TransferToAgent(call, A(notReady), null, h.Now)));
        Assert.Equal(CommandResult.AgentUnavailable, h.Try(h.Engine.TransferToAgent(call, A(wrapping), null, h.Now)));

        Assert.Equal(events, h.Events.Count);
        Assert.Equal(CallState.Connected, h.CallState(call).State);
        Assert.Equal(AgentActivity.Talking, h.AgentState(first).Activity);
    }

    [Fact]
    public void A_directed_ring_and_its_fallback_survive_a_snapshot()
    {
        var h = new Harness().Queue(1, q => q with { RingTimeoutSeconds = 10 }).Queue(2).Staff(1, 1, 2);
        var call = h.Call(1);
        h.Answer(call, 1);
        h.Do(h.Engine.TransferToAgent(call, A(2), Destination.ToNumber("+15550177"), h.Wait(2).Now));

        var copy = CallCenter.Restore(h.Engine.Capture(), h.Engine.Options);
        copy.Advance(h.Now + 10_000);
        var ended = copy.TakeEvents().Single(e => e.Kind == EventKind.CallEnded).Record!;
        Assert.Equal((Disposition.Transferred, "+15550177"), (ended.Disposition, ended.DestinationTarget));
    }
}
