namespace Lineup.Engine.Tests;

/// <summary>
/// A queue without a retry time starts a new round at once, but a round in which every offer failed within
/// <see cref="CallCenter.MinimumRoundMs"/> waits out the rest of it: agents that fail at once (a phone that is not
/// registered answers "busy" in a millisecond) are offered the call once a second, not thousands of times.
/// </summary>
public sealed class RoundPauseTests
{
    [Fact]
    public void An_agent_failing_at_once_is_offered_the_call_again_a_second_later_not_at_once()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown }).Staff(1, 1);
        var call = h.Call(1);
        Assert.Equal(CommandResult.Ok, h.Busy(call, 1));
        Assert.Empty(h.Ringing(call));
        h.Wait(0.999);
        Assert.Empty(h.Ringing(call));
        h.Wait(0.001);
        Assert.Equal([1], h.Ringing(call));

        // Five seconds of instant refusals make five more offers, not a loop.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(CommandResult.Ok, h.Busy(call, 1));
            Assert.Equal(CommandResult.NoSuchOffer, h.Try(h.Engine.AgentBusy(call, new AgentId(1), h.Now))); // no new offer within the second
            h.Wait(1);
        }
        Assert.Equal(7, h.OffersFor(call).Count);
    }

    [Fact]
    public void Every_agent_of_the_round_is_tried_at_once_and_then_the_round_pauses()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown }).Staff(1, 1, 2, 3);
        var call = h.Call(1);
        h.Busy(call, 1);
        h.Busy(call, 2);
        Assert.Equal([3], h.Ringing(call)); // the round goes on at once
        h.Wait(0.5).Busy(call, 3);
        Assert.Empty(h.Ringing(call));
        h.Wait(0.5);
        Assert.Equal([1], h.Ringing(call)); // one second after the round began
    }

    [Fact]
    public void A_round_that_lasted_a_second_or_more_starts_again_at_once()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, RingTimeoutSeconds = 5 }).Staff(1, 1);
        var call = h.Call(1);
        h.Wait(5); // rang for its whole ring time: no answer
        Assert.Equal([1], h.Ringing(call));
        Assert.Equal(2, h.OffersFor(call).Count);
    }

    [Fact]
    public void Ring_all_pauses_the_same_way()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.RingAll }).Staff(1, 1, 2);
        var call = h.Call(1);
        Assert.Equal([1, 2], h.Ringing(call));
        h.Busy(call, 1);
        h.Busy(call, 2);
        Assert.Empty(h.Ringing(call));
        h.Wait(1);
        Assert.Equal([1, 2], h.Ringing(call));
    }

    [Fact]
    public void A_retry_time_still_applies_as_set()
    {
        var h = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, RetrySeconds = 5 }).Staff(1, 1);
        var call = h.Call(1);
        h.Busy(call, 1);
        h.Wait(4.9);
        Assert.Empty(h.Ringing(call));
        h.Wait(0.1);
        Assert.Equal([1], h.Ringing(call));
    }
}
