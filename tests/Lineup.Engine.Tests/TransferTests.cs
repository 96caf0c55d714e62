namespace Lineup.Engine.Tests;

/// <summary>A blind transfer of a connected call (<see cref="CallCenter.TransferCall"/>): the agent is released as
/// after a call, the caller goes on to a number or another queue.</summary>
public class TransferTests
{
    [Fact]
    public void A_transfer_to_a_number_ends_the_call_as_transferred_and_the_agent_wraps_up_then_takes_the_next_caller()
    {
        var h = new Harness().Queue(1, q => q with { WrapUpSeconds = 10 }).Staff(1, 1);
        var call = h.Call(1);
        h.Wait(2).Answer(call, 1);
        h.Wait(30);
        h.Collect();
        var from = h.Events.Count;

        Assert.Equal(CommandResult.Ok, h.Do(h.Engine.TransferCall(call, Destination.ToNumber("+15550123"), h.Now)));

        var after = h.Events.Skip(from).ToList();
        var started = Assert.Single(after, e => e.Kind == EventKind.CallTransferStarted);
        Assert.Equal((1, (int)DestinationKind.Number, "+15550123"), (started.Agent.Value, started.Code, started.Text));
        Assert.Contains(after, e => e.Kind == EventKind.CallTransferred && e.Text == "+15550123");
        // No CallWrapUp for the call: the host must not hang the caller up.
        Assert.DoesNotContain(after, e => e.Kind is EventKind.CallWrapUp or EventKind.CallHangup);
        var cdr = h.Cdr(call);
        Assert.Equal(Disposition.Transferred, cdr.Disposition);
        Assert.Equal("+15550123", cdr.DestinationTarget);
        Assert.Equal(new AgentId(1), cdr.AnsweredBy);
        Assert.Equal(30, cdr.TalkSeconds);
        Assert.Equal(AgentStatus.WrapUp, h.AgentState(1).Status);
        Assert.Equal(1, h.QueueState(1).Today.Handled);

        var next = h.Call(1);
        Assert.Empty(h.Ringing(next));
        h.Wait(10);
        Assert.Equal(AgentStatus.Ready, h.AgentState(1).Status);
        Assert.Equal([1], h.Ringing(next));
    }

    [Fact]
    public void A_transfer_to_a_queue_queues_the_caller_there_ahead_of_later_callers_with_its_priority()
    {
        var h = new Harness().Queue(1).Queue(2).Staff(1, 1).Staff(2, 2);
        h.NotReady(2);
        var early = h.Call(1, priority: 2);
        h.Wait(1).Answer(early, 1);
        var later = h.Wait(5).Call(2, priority: 2);

        Assert.Equal(CommandResult.Ok, h.Do(h.Engine.TransferCall(early, Destination.ToQueue(new QueueId(2)), h.Wait(20).Now)));

        var c = h.CallState(early);
        Assert.Equal(CallState.Waiting, c.State);
        Assert.Equal(new QueueId(2), c.Queue!.Id);
        Assert.Equal(2, c.Priority);
        Assert.Equal([early, later], h.QueueState(2).WaitingCalls.Select(x => x.Id));
        Assert.Contains(h.Events, e => e.Kind == EventKind.CallQueued && e.Call == early && e.Queue == new QueueId(2));
        // The first agent is free again (no wrap-up here); the second agent of queue 2 gets the transferred caller.
        Assert.Equal(AgentActivity.Idle, h.AgentState(1).Activity);
        h.Ready(2);
        Assert.Equal([2], h.Ringing(early));
        h.Answer(early, 2);
        h.Wait(60).CallerHangup(early);

        var cdr = h.Cdr(early);
        Assert.Equal(Disposition.Answered, cdr.Disposition);
        Assert.Equal(new AgentId(2), cdr.AnsweredBy);
        Assert.Equal([new QueueId(1), new QueueId(2)], cdr.Queues.Select(v => v.Queue));
        Assert.Equal([1, 2], cdr.Attempts.Where(x => x.Outcome == AttemptOutcome.Answered).Select(x => x.Agent.Value));
        Assert.Equal(1, h.QueueState(1).Today.Handled);
        Assert.Equal(1, h.QueueState(2).Today.Handled);
    }

    [Fact]
    public void A_transferred_agent_ends_its_wrap_up_in_the_status_the_call_end_gives()
    {
        var h = new Harness().Queue(1, q => q with { WrapUpSeconds = 5, AgentAutoReady = false }).Staff(1, 1);
        if (h.AgentState(1).Status != AgentStatus.Ready) h.Ready(1);
        var call = h.Call(1);
        h.Answer(call, 1);
        h.Do(h.Engine.TransferCall(call, Destination.ToNumber("200"), h.Wait(3).Now));
        Assert.Equal(AgentStatus.WrapUp, h.AgentState(1).Status);
        h.Wait(5);
        Assert.Equal((AgentStatus.NotReady, "after_call"), (h.AgentState(1).Status, h.AgentState(1).Reason));
    }

    [Fact]
    public void A_transfer_ends_a_supervisors_monitoring()
    {
        var h = new Harness().Queue(1).Queue(2).Staff(1, 1);
        var call = h.Call(1);
        h.Answer(call, 1);
        h.Do(h.Engine.SetMonitor(call, SupervisionMode.Listen, "sup", h.Now));
        h.Do(h.Engine.TransferCall(call, Destination.ToQueue(new QueueId(2)), h.Wait(1).Now));
        Assert.Single(h.Of(EventKind.CallMonitorEnded));
        Assert.Null(h.CallState(call).Supervisor);
    }

    [Fact]
    public void An_agent_hanging_up_first_in_a_queue_with_an_agent_hangup_transfer_sends_the_caller_to_that_number()
    {
        var h = new Harness().Queue(1, q => q with { AgentHangupTransfer = "+15550100", SurveyMaxRating = 5 }).Staff(1, 1);
        var first = h.Call(1);
        h.Answer(first, 1);
        h.Wait(20).AgentHangup(first);
        Assert.Equal(Disposition.Transferred, h.Cdr(first).Disposition);
        Assert.Equal("+15550100", h.Cdr(first).DestinationTarget);
        Assert.Equal(20, h.Cdr(first).TalkSeconds);
        Assert.Empty(h.Of(EventKind.CallSurvey)); // the transfer takes precedence
        Assert.Single(h.Of(EventKind.CallTransferStarted));

        // The caller hanging up first ends the call as usual.
        var second = h.Call(1);
        h.Answer(second, 1);
        h.Wait(5).CallerHangup(second);
        Assert.Equal(Disposition.Answered, h.Cdr(second).Disposition);
    }

    [Fact]
    public void Transfers_that_cannot_be_done_are_refused_and_change_nothing()
    {
        var h = new Harness().Queue(1).Queue(2).Staff(1, 1);
        var waiting = h.Call(1);
        h.NotReady(1);
        var talking = h.Call(1);
        h.Ready(1);
        h.Answer(waiting, 1);
        h.Collect();
        var events = h.Events.Count;

        Assert.Equal(CommandResult.UnknownCall, h.Engine.TransferCall(new CallId(999), Destination.ToNumber("1"), h.Now));
        Assert.Equal(CommandResult.InvalidState, h.Engine.TransferCall(talking, Destination.ToNumber("1"), h.Now));
        Assert.Equal(CommandResult.UnknownQueue, h.Engine.TransferCall(waiting, Destination.ToQueue(new QueueId(9)), h.Now));
        Assert.Equal(CommandResult.InvalidDestination, h.Engine.TransferCall(waiting, Destination.ToQueue(new QueueId(1)), h.Now));
        Assert.Equal(CommandResult.InvalidArgument, h.Engine.TransferCall(waiting, Destination.ToNumber(""), h.Now));
        Assert.Equal(CommandResult.InvalidArgument, h.Engine.TransferCall(waiting, Destination.ToVoicemail("box"), h.Now));
        Assert.Equal(CommandResult.InvalidArgument, h.Engine.TransferCall(waiting, Destination.Hangup, h.Now));

        h.Collect();
        Assert.Equal(events, h.Events.Count);
        Assert.Equal(CallState.Connected, h.CallState(waiting).State);
        Assert.Equal(AgentActivity.Talking, h.AgentState(1).Activity);
    }

    [Fact]
    public void A_transfer_survives_a_snapshot_while_the_agent_wraps_up()
    {
        var h = new Harness().Queue(1, q => q with { WrapUpSeconds = 8 }).Queue(2).Staff(1, 1);
        var call = h.Call(1);
        h.Answer(call, 1);
        h.Do(h.Engine.TransferCall(call, Destination.ToQueue(new QueueId(2)), h.Wait(4).Now));

        var copy = CallCenter.Restore(h.Engine.Capture(), h.Engine.Options);
        copy.Advance(h.Now + 8_000);
        Assert.True(copy.TryGetAgent(new AgentId(1), out var a));
        Assert.Equal(AgentStatus.Ready, a.Status);
        Assert.True(copy.TryGetCall(call, out var c));
        Assert.Equal((CallState.Waiting, new QueueId(2)), (c.State, c.Queue!.Id));
    }
}
