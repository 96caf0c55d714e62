namespace Lineup.Engine.Tests;

public class LifecycleTests
{
    [Fact]
    public void Answered_call_goes_through_wrap_up_and_ends_once_with_its_history()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, WrapUpSeconds = 10 }).Staff(1, 7);
        var call = h.Call(1);
        Assert.Equal([7], h.OffersFor(call));
        h.Wait(3);
        Assert.Equal(CommandResult.Ok, h.Answer(call, 7));
        h.Wait(60);
        h.CallerHangup(call);
        Assert.Equal(AgentStatus.WrapUp, h.AgentState(7).Status);
        Assert.Empty(h.Of(EventKind.CallEnded));
        h.Wait(10);
        Assert.Equal(AgentStatus.Ready, h.AgentState(7).Status);

        var cdr = h.Cdr(call);
        Assert.Equal(Disposition.Answered, cdr.Disposition);
        Assert.Equal(3, cdr.WaitSeconds);
        Assert.Equal(60, cdr.TalkSeconds);
        Assert.Equal(10, cdr.WrapUpSeconds);
        var attempt = Assert.Single(cdr.Attempts);
        Assert.Equal((new AgentId(7), AttemptOutcome.Answered), (attempt.Agent, attempt.Outcome));
        Assert.Single(h.Of(EventKind.CallEnded));

        var stats = h.QueueState(1).Today;
        Assert.Equal((1, 1, 1, 1.0), (stats.Offered, stats.Answered, stats.AnsweredWithinSla, stats.ServiceLevel));
        Assert.Equal(70, stats.AverageHandleSeconds);
    }

    [Fact]
    public void Caller_hanging_up_while_ringing_is_an_abandon_and_frees_the_agent()
    {
        var h = new Harness().Queue(1).Staff(1, 7, 8);
        var call = h.Call(1);
        Assert.Equal([7, 8], h.Ringing(call));
        h.Wait(25 - 20 + 1);
        h.CallerHangup(call);
        Assert.Equal(Disposition.Abandoned, h.Cdr(call).Disposition);
        Assert.All(h.Cdr(call).Attempts, a => Assert.NotEqual(AttemptOutcome.Pending, a.Outcome));
        Assert.Equal(AgentActivity.Idle, h.AgentState(7).Activity);
        Assert.Equal(1, h.QueueState(1).Today.Abandoned);
        Assert.Equal(0, h.QueueState(1).WaitingCount);
    }
}
