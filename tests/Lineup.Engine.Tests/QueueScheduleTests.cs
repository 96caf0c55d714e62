namespace Lineup.Engine.Tests;

/// <summary>Issue 15's queue features in the engine: inactive queues (and, below, office hours and dispositions).</summary>
public sealed class QueueScheduleTests
{
    [Fact]
    public void Inactive_queue_sends_new_calls_to_its_destination_and_keeps_serving_the_calls_it_has()
    {
        var h = new Harness().Queue(1).Queue(2).Staff(1, 1);
        h.NotReady(1);
        var before = h.Call(1); // waits: nobody ready
        h.Queue(1, q => q with { Active = false, InactiveDestination = Destination.ToQueue(new QueueId(2)) });

        var after = h.Call(1);
        var moved = Assert.Single(h.Of(EventKind.CallMoved));
        Assert.Equal((ExitReason.Inactive, 2L, after.Value), ((ExitReason)moved.Code, moved.Value, moved.Call.Value));
        Assert.Equal(1, h.QueueState(1).WaitingCount); // the call that came before stays
        Assert.Equal(1, h.QueueState(2).WaitingCount);
        Assert.Equal(1, h.QueueState(1).Today.Overflowed);

        h.Ready(1);
        Assert.Equal([1], h.Ringing(before));
    }

    [Fact]
    public void Inactive_queue_hangs_up_by_default_and_an_active_one_queues_again()
    {
        var h = new Harness().Queue(1, q => q with { Active = false }).Staff(1, 1);
        var c = h.Call(1);
        Assert.Equal((int)ExitReason.Inactive, Assert.Single(h.Of(EventKind.CallHangup)).Code);
        Assert.False(h.Engine.TryGetCall(c, out _));

        h.Queue(1);
        Assert.Equal([1], h.Ringing(h.Call(1)));
    }
}
