namespace Lineup.Engine.Tests;

/// <summary>The end of an attended transfer (<see cref="CallCenter.CompleteAttendedTransfer"/>): the caller goes on with
/// the agent its agent consulted; the consultation ends.</summary>
public class AttendedTransferTests
{
    [Fact]
    public void The_caller_goes_on_with_the_consulted_agent_one_cdr_names_both_and_the_consultation_ends_answered()
    {
        // Ana (1) talks to the caller in queue 1; she calls queue 2 (her consultation, caller number 1001), where Ben (2)
        // answers; then she joins the caller to Ben.
        var h = new Harness().Queue(1, q => q with { WrapUpSeconds = 10 }).Queue(2).Staff(1, 1).Staff(2, 2);
        var call = h.Call(1);
        h.Answer(call, 1);
        var consult = h.Wait(20).Call(2, number: "1001");
        h.Answer(consult, 2);
        h.Collect();
        var from = h.Events.Count;

        Assert.Equal(CommandResult.Ok, h.Do(h.Engine.CompleteAttendedTransfer(call, consult, h.Wait(15).Now)));

        var after = h.Events.Skip(from).ToList();
        Assert.Equal([(call, 1, (int)TransferTarget.Agent, 2L), (consult, 2, (int)TransferTarget.Call, call.Value)],
            after.Where(e => e.Kind == EventKind.CallTransferStarted).Select(e => (e.Call, e.Agent.Value, e.Code, e.Value)));
        // The consultation's CallTransferStarted comes before its end, and the caller's answer by Ben after both.
        var order = after.Where(e => e.Kind is EventKind.CallTransferStarted or EventKind.CallEnded or EventKind.CallAnswered)
            .Select(e => (e.Kind, e.Call)).ToList();
        Assert.Equal([(EventKind.CallTransferStarted, call), (EventKind.CallTransferStarted, consult), (EventKind.CallEnded, consult),
            (EventKind.CallAnswered, call)], order);
        Assert.DoesNotContain(after, e => e.Kind == EventKind.CallOffered);
        var k = h.Cdr(consult);
        Assert.Equal((Disposition.Answered, new AgentId(2), 15), (k.Disposition, k.AnsweredBy, (int)k.TalkSeconds));
        var c = h.CallState(call);
        Assert.Equal((CallState.Connected, new AgentId(2)), (c.State, c.Agent));
        Assert.Equal(AgentStatus.WrapUp, h.AgentState(1).Status);
        Assert.Equal(AgentActivity.Talking, h.AgentState(2).Activity);
        Assert.Equal((1, 1), (h.QueueState(1).TalkingCount, h.QueueState(2).Today.Handled));

        h.Wait(40).CallerHangup(call);
        h.Wait(10); // Ben's wrap-up in queue 1
        var cdr = h.Cdr(call);
        Assert.Equal((Disposition.Answered, new AgentId(2), new QueueId(1)), (cdr.Disposition, cdr.AnsweredBy, cdr.AnsweredIn));
        Assert.Equal([1, 2], cdr.Attempts.Where(x => x.Outcome == AttemptOutcome.Answered).Select(x => x.Agent.Value));
        Assert.Equal([new QueueId(1), new QueueId(1)], cdr.Queues.Select(v => v.Queue));
        Assert.Equal(40, cdr.TalkSeconds);
        Assert.Equal(2, h.QueueState(1).Today.Handled);
    }

    [Fact]
    public void An_attended_transfer_that_cannot_be_done_is_refused_and_changes_nothing()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown }).Staff(1, 1, 2, 3);
        var call = h.Call(1);
        h.Answer(call, 1);
        var consult = h.Call(1);
        h.Answer(consult, 2);
        var waiting = h.Call(1); // rings agent 3
        h.Collect();
        var events = h.Events.Count;

        Assert.Equal(CommandResult.UnknownCall, h.Try(h.Engine.CompleteAttendedTransfer(call, new CallId(999), h.Now)));
        Assert.Equal(CommandResult.UnknownCall, h.Try(h.Engine.CompleteAttendedTransfer(new CallId(999), consult, h.Now)));
        Assert.Equal(CommandResult.InvalidArgument, h.Try(h.Engine.CompleteAttendedTransfer(call, call, h.Now)));
        Assert.Equal(CommandResult.InvalidState, h.Try(h.Engine.CompleteAttendedTransfer(call, waiting, h.Now)));
        Assert.Equal(CommandResult.InvalidState, h.Try(h.Engine.CompleteAttendedTransfer(waiting, consult, h.Now)));

        Assert.Equal(events, h.Events.Count);
        Assert.Equal((CallState.Connected, new AgentId(1)), (h.CallState(call).State, h.CallState(call).Agent));
        Assert.Equal((CallState.Connected, new AgentId(2)), (h.CallState(consult).State, h.CallState(consult).Agent));
    }
}
