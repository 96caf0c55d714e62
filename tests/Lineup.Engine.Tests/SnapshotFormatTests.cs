using System.Text;
using System.Text.Json;
using Lineup.Engine.Snapshots;

namespace Lineup.Engine.Tests;

/// <summary>
/// The snapshot's stored form. <c>Snapshots/v1.json</c> pins version 1 byte for byte (indented here for reading): a
/// change to the engine's state or to the snapshot records that alters it must come with a new
/// <see cref="EngineSnapshot.CurrentVersion"/> (and a reader for the old one, or a note that old snapshots are
/// replaced by a replay of the whole log).
/// </summary>
public class SnapshotFormatTests
{
    private static readonly string GoldenPath = Path.Combine(AppContext.BaseDirectory, "Snapshots", "v1.json");

    /// <summary>A small tenant with a bit of everything: a call talking, one ringing, one waiting behind it with a VIP
    /// number, a callback, an agent in a delay, dialect data, sticky memory, and timers spent by a removed agent and an
    /// answered offer (left out of the snapshot).</summary>
    internal static Harness Tenant()
    {
        var h = new Harness(new EngineOptions { Seed = 42, CallIdBase = 7_000_000_000 })
            .Queue(1, q => q with
            {
                Strategy = Strategy.LongestIdle,
                Extension = "600",
                MaxWaitSeconds = 300,
                TimeoutDestination = Destination.ToQueue(new QueueId(2)),
                PeriodicPrompt = "hold-on",
                PeriodicAnnounceSeconds = 30,
                StickyAgentSeconds = 600,
                VipNumbers = new HashSet<string>(["5550199", "5550100"], StringComparer.Ordinal),
                Callback = new CallbackSettings { Enabled = true, Key = "5" },
                DialectData = new Dictionary<string, string> { ["kazoo"] = "{\"x\":1}", ["fonouc"] = "{}" },
            })
            .Queue(2, q => q with { Strategy = Strategy.RingAll, WrapUpSeconds = 10 })
            .Agent(1, a => a with { Number = "101", NoAnswerDelaySeconds = 15 })
            .Agent(2, a => a with { Kind = AgentKind.Remote, Number = "+15550142" })
            .Agent(3, a => a with { BusyDelaySeconds = 60 })
            .Agent(4, a => a with { BusyDelaySeconds = 90 })
            .Member(1, 1, position: 1).Member(1, 2, level: 1, position: 2).Member(2, 2).Member(2, 3).Member(2, 4)
            .Login(1).Login(2).Login(3).Login(4);
        var talking = h.Call(1, "5550123");
        h.Answer(talking, 1);
        h.Wait(5);
        var ringing = h.Call(2, "5550124");
        h.Busy(ringing, 3);
        h.Busy(ringing, 4);
        h.Wait(2);
        h.Call(1, "5550199");
        var callback = h.Call(1, "5550125");
        h.Do(h.Engine.RequestCallback(callback, "5550126", h.Now));
        h.Do(h.Engine.RemoveMember(new QueueId(2), new AgentId(3), h.Now));
        h.Do(h.Engine.RemoveAgent(new AgentId(3), h.Now));
        h.Wait(1);
        return h;
    }

    [Fact]
    public void Version_1_is_pinned()
    {
        var actual = Indented(Tenant().Engine.Capture().ToUtf8Json());
        Assert.True(File.Exists(GoldenPath), $"missing {GoldenPath}");
        var expected = File.ReadAllText(GoldenPath).ReplaceLineEndings("\n").TrimEnd();
        Assert.True(expected == actual, $"the snapshot's stored form changed; if that is intended, raise the version. Now:\n{actual}");
    }

    [Fact]
    public void The_pinned_tenant_has_what_the_comment_says()
    {
        var s = Tenant().Engine.Capture();
        Assert.Equal(4, s.Calls.Count);
        Assert.Contains(s.Calls, c => c.State == CallState.Connected);
        Assert.Contains(s.Calls, c => c.State == CallState.CallbackWaiting);
        Assert.Contains(s.Calls, c => c.Offers.Count > 0);
        Assert.Contains(s.Agents, a => a.InDelay);
        Assert.All(s.Timers, t => Assert.True(t.Agent != null || t.Queue != null || t.Call != null));
        Assert.True(s.Timers.Count < Tenant().Engine.HeldTimers, "no spent timer was left out");
        Assert.NotEmpty(s.Queues[0].Sticky);
        Assert.Equal(["fonouc", "kazoo"], s.Queues[0].Config.DialectData!.Keys);
        Assert.Equal(["5550100", "5550199"], s.Queues[0].Config.VipNumbers);
    }

    /// <summary>Snapshots written before spent timers were left out hold timers with no target: they still read, and
    /// such a timer is dropped unfired (the next deadline is a live timer's).</summary>
    [Fact]
    public void A_target_less_timer_from_an_older_snapshot_is_dropped_unfired()
    {
        var h = Tenant();
        var s = h.Engine.Capture();
        var early = s.Timers.Min(t => t.Due) - 1_000;
        var older = s with { Timers = [new TimerSnapshot { Kind = "RingTimeout", Due = early, Order = 0, Seq = 1 }, .. s.Timers] };
        var restored = CallCenter.Restore(EngineSnapshot.FromUtf8Json(older.ToUtf8Json()), h.Engine.Options);
        Assert.Equal(h.Engine.NextDeadline, restored.NextDeadline);
        Assert.Equal(s.ToUtf8Json(), restored.Capture().ToUtf8Json());
        restored.Advance(early);
        Assert.Empty(restored.TakeEvents());
    }

    [Fact]
    public void Another_version_is_refused_by_name()
    {
        var json = Encoding.UTF8.GetString(Tenant().Engine.Capture().ToUtf8Json()).Replace("{\"version\":1,", "{\"version\":2,", StringComparison.Ordinal);
        var e = Assert.Throws<NotSupportedException>(() => EngineSnapshot.FromUtf8Json(Encoding.UTF8.GetBytes(json)));
        Assert.Contains("version 2", e.Message);
        Assert.Throws<NotSupportedException>(() => CallCenter.Restore(new EngineSnapshot { Version = 0 }, EngineOptions.Default));
    }

    [Fact]
    public void Bytes_that_are_not_a_snapshot_are_a_json_error()
    {
        Assert.ThrowsAny<JsonException>(() => EngineSnapshot.FromUtf8Json("[1,2]"u8));
        Assert.ThrowsAny<JsonException>(() => EngineSnapshot.FromUtf8Json("{\"version\":1,\"now\":\"soon\"}"u8));
        Assert.ThrowsAny<JsonException>(() => EngineSnapshot.FromUtf8Json("{\"version\":1"u8));
    }

    [Fact]
    public void A_snapshot_that_names_a_missing_agent_is_refused()
    {
        var s = Tenant().Engine.Capture();
        var broken = s with { Agents = [.. s.Agents.Where(a => a.Config.Id != 1)] };
        var e = Assert.Throws<ArgumentException>(() => CallCenter.Restore(broken, new EngineOptions { Seed = 42, CallIdBase = 7_000_000_000 }));
        Assert.Contains("agent 1", e.Message);
        var badTimer = s with { Timers = [.. s.Timers, new TimerSnapshot { Kind = "Coffee", Due = 1 }] };
        Assert.Contains("Coffee", Assert.Throws<ArgumentException>(() => CallCenter.Restore(badTimer, EngineOptions.Default)).Message);
    }

    [Fact]
    public void Capture_refuses_while_events_are_pending()
    {
        var h = Tenant();
        h.Engine.Enqueue(new QueueId(2), new CallerInfo("5550177"), h.Now);
        Assert.Throws<InvalidOperationException>(() => h.Engine.Capture());
        h.Collect();
        Assert.NotNull(h.Engine.Capture());
    }

    [Fact]
    public void A_restored_engine_issues_the_next_call_id_and_keeps_the_options_it_is_given()
    {
        var h = Tenant();
        var options = new EngineOptions { Seed = 42, CallIdBase = 7_000_000_000, TimeZone = TimeZoneInfo.Utc };
        var restored = CallCenter.Restore(EngineSnapshot.FromUtf8Json(h.Engine.Capture().ToUtf8Json()), options);
        var a = h.Engine.Enqueue(new QueueId(2), new CallerInfo("5550177"), h.Now).Call;
        var b = restored.Enqueue(new QueueId(2), new CallerInfo("5550177"), h.Now).Call;
        Assert.Equal(a, b);
        Assert.Equal(7_000_000_005, b.Value);
        Assert.Same(options, restored.Options);
    }

    private static string Indented(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        return JsonSerializer.Serialize(doc.RootElement, new JsonSerializerOptions { WriteIndented = true }).ReplaceLineEndings("\n");
    }
}

/// <summary>What a tenant keeps must not grow with its history.</summary>
public class BoundedStateTests
{
    [Fact]
    public void The_sticky_agent_memory_forgets_callers_whose_window_passed_at_midnight()
    {
        var h = new Harness().Queue(1, q => q with { StickyAgentSeconds = 3_600 }).Staff(1, 1);
        foreach (var number in new[] { "5550101", "5550102" })
        {
            var call = h.Call(1, number);
            h.Answer(call, 1);
            h.AgentHangup(call);
        }
        // 09:00 now: the two callers are remembered; one more calls at 23:30 and is still inside its window at midnight.
        Assert.Equal(2, h.Engine.Capture().Queues[0].Sticky.Count);
        h.Wait(14.5 * 3_600);
        var late = h.Call(1, "5550103");
        h.Answer(late, 1);
        h.AgentHangup(late);
        h.Wait(3_600);

        var sticky = h.Engine.Capture().Queues[0].Sticky;
        Assert.Equal(["5550103"], sticky.Select(s => s.Caller));
    }
}
