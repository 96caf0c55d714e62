namespace Lineup.Engine.Tests;

/// <summary>A call whose media node died (cluster telephony): it ends as lost_on_node_failure, whatever it was doing,
/// and nobody stays stuck on it.</summary>
public class MediaLostTests
{
    [Fact]
    public void A_ringing_call_ends_lost_and_its_agent_is_free_for_the_next_caller()
    {
        var h = new Harness().Queue(1).Staff(1, 1);
        var lost = h.Call(1);
        Assert.Equal([1], h.Ringing(lost));
        var next = h.Wait(1).Call(1);

        Assert.Equal(CommandResult.Ok, h.Do(h.Engine.MediaLost(lost, h.Now)));
        Assert.Equal(Disposition.LostOnNodeFailure, h.Cdr(lost).Disposition);
        Assert.Equal(ExitReason.LostOnNodeFailure, h.Cdr(lost).ExitReason);
        // The agent's offer was withdrawn and the caller behind now rings it.
        Assert.Equal([1], h.Ringing(next));
    }

    [Fact]
    public void A_waiting_call_ends_lost_and_the_callers_behind_move_up()
    {
        var h = new Harness().Queue(1).Staff(1, 1);
        h.NotReady(1);
        var first = h.Call(1);
        var second = h.Wait(1).Call(1);

        h.Do(h.Engine.MediaLost(first, h.Now));
        Assert.Equal(Disposition.LostOnNodeFailure, h.Cdr(first).Disposition);
        Assert.Equal([second], h.QueueState(1).WaitingCalls.Select(c => c.Id));
    }

    [Fact]
    public void A_talk_ends_lost_after_the_agents_wrap_up_and_the_agent_takes_calls_again()
    {
        var h = new Harness().Queue(1, q => q with { WrapUpSeconds = 10 }).Staff(1, 1);
        var call = h.Call(1);
        h.Answer(call, 1);
        h.Wait(5);

        Assert.Equal(CommandResult.Ok, h.Do(h.Engine.MediaLost(call, h.Now)));
        Assert.Equal(AgentStatus.WrapUp, h.AgentState(1).Status);
        h.Wait(11);
        var cdr = h.Cdr(call);
        Assert.Equal(Disposition.LostOnNodeFailure, cdr.Disposition);
        Assert.Equal(5, cdr.TalkSeconds, 1);
        Assert.Equal(AgentStatus.Ready, h.AgentState(1).Status);
        var next = h.Call(1);
        Assert.Equal([1], h.Ringing(next));
    }

    [Fact]
    public void A_call_without_media_or_unknown_is_refused()
    {
        var h = new Harness().Queue(1).Staff(1, 1);
        Assert.Equal(CommandResult.UnknownCall, h.Engine.MediaLost(new CallId(99), h.Now));
        var call = h.Call(1);
        h.Answer(call, 1);
        h.AgentHangup(call);
        Assert.Equal(CommandResult.UnknownCall, h.Engine.MediaLost(call, h.Now));
    }
}
