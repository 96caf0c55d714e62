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

    // ---- Dispositions ----

    [Fact]
    public void Required_disposition_holds_the_wrap_up_past_its_time_until_the_agent_gives_a_listed_code()
    {
        var h = new Harness().Queue(1, q => q with { WrapUpSeconds = 5, DispositionCodes = ["sale", "no_sale"], DispositionRequired = true }).Staff(1, 1, 2);
        var c = h.Call(1);
        h.Answer(c, 1);
        h.Wait(30);
        h.CallerHangup(c);
        h.Wait(60);
        Assert.Equal(AgentStatus.WrapUp, h.AgentState(1).Status);
        Assert.Equal(CommandResult.DispositionRequired, h.Try(h.Engine.SetReady(new AgentId(1), h.Now)));
        Assert.Equal(CommandResult.InvalidArgument, h.Try(h.Engine.SetDisposition(c, new AgentId(1), "maybe", h.Now)));
        Assert.Equal(CommandResult.InvalidState, h.Try(h.Engine.SetDisposition(c, new AgentId(2), "sale", h.Now)));
        Assert.Empty(h.Of(EventKind.CallEnded));

        h.Do(h.Engine.SetDisposition(c, new AgentId(1), "sale", h.Now)); // the time is over: the wrap-up ends now
        Assert.Equal(AgentStatus.Ready, h.AgentState(1).Status);
        var ended = Assert.Single(h.Of(EventKind.CallEnded));
        Assert.Equal("sale", ended.Record!.DispositionCode);
        Assert.Equal(60, ended.Record.WrapUpSeconds);
    }

    [Fact]
    public void A_code_given_while_talking_lands_in_the_cdr_and_the_wrap_up_ends_on_time()
    {
        var h = new Harness().Queue(1, q => q with { WrapUpSeconds = 5, DispositionRequired = true }).Staff(1, 1);
        var c = h.Call(1);
        h.Answer(c, 1);
        h.Do(h.Engine.SetDisposition(c, new AgentId(1), "callback later", h.Now)); // no list: any code
        h.CallerHangup(c);
        h.Wait(5);
        Assert.Equal(AgentStatus.Ready, h.AgentState(1).Status);
        Assert.Equal("callback later", Assert.Single(h.Of(EventKind.CallEnded)).Record!.DispositionCode);
        Assert.Equal(CommandResult.UnknownCall, h.Try(h.Engine.SetDisposition(c, new AgentId(1), "late", h.Now)));
    }

    [Fact]
    public void Required_disposition_gives_a_queue_without_wrap_up_time_a_wrap_up_until_the_code()
    {
        var h = new Harness().Queue(1, q => q with { DispositionRequired = true }).Staff(1, 1);
        var c = h.Call(1);
        h.Answer(c, 1);
        h.AgentHangup(c);
        h.Wait(600);
        Assert.Equal(AgentStatus.WrapUp, h.AgentState(1).Status);
        var next = h.Call(1);
        Assert.Empty(h.Ringing(next)); // not offered while the code is missing
        h.Do(h.Engine.SetDisposition(c, new AgentId(1), "done", h.Now));
        Assert.Equal([1], h.Ringing(next));
    }

    // ---- Office hours ----

    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    /// <summary>Monday to Friday 09:00-17:00 Berlin time; Tuesday 2026-01-06 a holiday. The harness starts on Monday
    /// 2026-01-05 at 09:00 UTC, 10:00 in Berlin.</summary>
    private static Harness Weekdays() =>
        new Harness(new EngineOptions { TimeZone = Berlin })
            .Queue(2)
            .Queue(1, q => q with
            {
                NightModeDestination = Destination.ToQueue(new QueueId(2)),
                OfficeHours = new OfficeHours
                {
                    Weekly = [.. Enumerable.Range(1, 5).Select(d => new OpeningInterval((DayOfWeek)d, 9 * 60, 17 * 60))],
                    Holidays = [new DateOnly(2026, 1, 6)],
                },
            })
            .Staff(1, 1);

    [Fact]
    public void Office_hours_switch_night_mode_at_each_boundary_by_themselves()
    {
        var h = Weekdays();
        Assert.False(h.QueueState(1).NightMode);
        Assert.Equal(Harness.Start + 7 * 3600_000L, h.Engine.NextDeadline); // 17:00 Berlin: the host's timer is set for it

        h.Wait(7 * 3600);
        var off = Assert.Single(h.Of(EventKind.QueueNightModeChanged));
        Assert.Equal((1, Harness.Start + 7 * 3600_000L), (off.Code, off.At));
        var night = h.Call(1);
        Assert.Equal((int)ExitReason.NightMode, Assert.Single(h.Of(EventKind.CallMoved)).Code);
        Assert.Equal(1, h.QueueState(2).WaitingCount);
        h.CallerHangup(night);

        // Tuesday is a holiday: closed all day; Wednesday 09:00 Berlin (08:00 UTC) it opens.
        h.Wait(24 * 3600);
        Assert.True(h.QueueState(1).NightMode);
        h.Wait(17 * 3600); // Wednesday 10:00 Berlin
        var on = h.Of(EventKind.QueueNightModeChanged).Last();
        Assert.Equal((0, Harness.Start + (2 * 24 - 1) * 3600_000L), (on.Code, on.At));
        Assert.Equal(2, h.Of(EventKind.QueueNightModeChanged).Count());
        Assert.Equal([1], h.Ringing(h.Call(1)));
    }

    [Fact]
    public void A_manual_override_wins_over_the_office_hours_until_it_is_cleared()
    {
        var h = Weekdays();
        h.Do(h.Engine.OverrideNightMode(new QueueId(1), true, h.Now));
        Assert.True(h.QueueState(1).NightMode);
        h.Wait(24 * 3600); // boundaries pass; the override holds
        Assert.True(h.QueueState(1).NightMode);
        Assert.Single(h.Of(EventKind.QueueNightModeChanged));

        h.Wait(24 * 3600); // Wednesday 10:00 Berlin: open hours
        h.Do(h.Engine.OverrideNightMode(new QueueId(1), null, h.Now));
        Assert.False(h.QueueState(1).NightMode);
        Assert.Equal(0, h.Of(EventKind.QueueNightModeChanged).Last().Code);
        Assert.Equal(CommandResult.Ignored, h.Try(h.Engine.OverrideNightMode(new QueueId(1), null, h.Now)));
    }

    [Fact]
    public void A_restored_tenant_keeps_its_override_and_its_next_boundary()
    {
        var h = Weekdays();
        h.Do(h.Engine.OverrideNightMode(new QueueId(2), true, h.Now));
        var restored = CallCenter.Restore(h.Engine.Capture(), h.Engine.Options);
        Assert.Equal(h.Engine.NextDeadline, restored.NextDeadline);
        Assert.True(restored.TryGetQueue(new QueueId(2), out var q2) && q2.NightOverride == true && q2.NightMode);
        restored.Advance(Harness.Start + 7 * 3600_000L);
        Assert.True(restored.TryGetQueue(new QueueId(1), out var q1) && q1.NightMode);
    }
}
