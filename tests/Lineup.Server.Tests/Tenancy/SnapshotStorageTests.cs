using Dapper;
using Lineup.Engine;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Tenancy;

/// <summary>
/// A tenant starts from its latest stored snapshot plus the commands after it, and that must be the same tenant as
/// replaying its whole log: the same state, then the same answers and events for whatever comes next. Timers that
/// fired are logged as ticks, so a start never fires them (and emits their events) a second time.
/// </summary>
public sealed class SnapshotStorageTests(ITestOutputHelper output)
{
    /// <summary>Drives <paramref name="host"/> with the setup and <paramref name="steps"/> commands of the workload,
    /// moving the rig's clock before each; returns every answer and the events the commands' projections saw.</summary>
    private static async Task<List<string>> DriveAsync(TenantRig rig, TenantHost host, Workload workload, int steps, bool setup)
    {
        var answers = new List<string>();
        if (setup)
            foreach (var c in Workload.Setup()) Assert.Equal(CommandResult.Ok, await host.ExecuteAsync(c, (_, r) => r));
        for (var i = 0; i < steps; i++)
        {
            var (command, advance) = workload.Next();
            rig.Time.Advance(TimeSpan.FromMilliseconds(advance));
            var answer = await host.ExecuteAsync(command, (e, r) => $"{r} calls={e.ActiveCalls.Count} next={e.NextDeadline}");
            workload.Created(command);
            answers.Add(answer);
        }
        return answers;
    }

    /// <summary>The events the engine emitted, as stored, without the ones a host adds per batch (a queue's statistics
    /// after each batch that touched it: batches depend on timing, not on the log) and without the sequence numbers
    /// those shift.</summary>
    private static List<string> Engine(IEnumerable<EventRow> events) =>
        [.. events.Where(e => e.Type != "queue.stats_changed").Select(e =>
        {
            var body = System.Text.Json.Nodes.JsonNode.Parse(e.Body)!.AsObject();
            body.Remove("id");
            body.Remove("seq");
            return body.ToJsonString();
        })];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Starting_from_a_snapshot_or_from_the_whole_log_gives_the_same_tenant_and_the_same_future(int seed)
    {
        // Two stores driven alike: one snapshots every 7 commands, the other never.
        await using var snapshotted = await TenantRig.CreateAsync(postgres: false, output, new SnapshotOptions { EveryCommands = 7 });
        await using var logOnly = await TenantRig.CreateAsync(postgres: false, output, new SnapshotOptions { EveryCommands = 100_000_000, EverySeconds = 86_400 });
        var steps = 150 + seed * 37;
        var (w1, w2) = (new Workload(seed), new Workload(seed));
        var a = await snapshotted.StartAsync("a");
        var b = await logOnly.StartAsync("a");
        Assert.Equal(await DriveAsync(snapshotted, a, w1, steps, setup: true), await DriveAsync(logOnly, b, w2, steps, setup: true));
        await a.StopAsync(handOver: false);
        await b.StopAsync(handOver: false);

        var snapshots = await snapshotted.Services.Snapshots.ListAsync(snapshotted.Tenant.Id);
        Assert.NotEmpty(snapshots);
        Assert.True(snapshots.Count <= SnapshotStore.Kept);
        Assert.Empty(await logOnly.Services.Snapshots.ListAsync(logOnly.Tenant.Id));
        var logLength = (await snapshotted.LogAsync()).Count;
        output.WriteLine($"seed {seed}: {logLength} logged commands (ticks included), snapshots at {string.Join(", ", snapshots.Select(s => s.Seq))}");
        Assert.Contains(await snapshotted.LogAsync(), body => body.Contains("\"tick\"", StringComparison.Ordinal));

        // Started again later: one from its snapshot and the tail, the other from the whole log.
        snapshotted.Time.Advance(TimeSpan.FromSeconds(3));
        logOnly.Time.Advance(TimeSpan.FromSeconds(3));
        var fromSnapshot = await snapshotted.StartAsync("b");
        var fromLog = await logOnly.StartAsync("b");
        Assert.Equal(await TenantRig.StateAsync(fromLog), await TenantRig.StateAsync(fromSnapshot));
        Assert.Equal(await DriveAsync(logOnly, fromLog, w2, 60, setup: false), await DriveAsync(snapshotted, fromSnapshot, w1, 60, setup: false));
        Assert.Equal(await TenantRig.StateAsync(fromLog), await TenantRig.StateAsync(fromSnapshot));
        Assert.Equal(Engine(await logOnly.StoredEventsAsync()), Engine(await snapshotted.StoredEventsAsync()));
    }

    [Fact]
    public async Task A_snapshot_that_cannot_be_read_falls_back_to_an_older_one_and_then_to_the_log()
    {
        await using var rig = await TenantRig.CreateAsync(postgres: false, output, new SnapshotOptions { EveryCommands = 5 });
        var host = await rig.StartAsync("a");
        var workload = new Workload(9);
        await DriveAsync(rig, host, workload, 80, setup: true);
        // Snapshots are best-effort: none is taken while the previous write is still in flight, so on a loaded machine
        // 80 commands can yield a single one. Drive on until the store keeps its full count.
        for (var round = 0; (await rig.Services.Snapshots.ListAsync(rig.Tenant.Id)).Count < SnapshotStore.Kept; round++)
        {
            Assert.True(round < 200, $"fewer than {SnapshotStore.Kept} snapshots after {80 + round * 10} commands");
            await Task.Delay(10);
            await DriveAsync(rig, host, workload, 10, setup: false);
        }
        var expected = await TenantRig.StateAsync(host);
        await host.StopAsync(handOver: false);
        var snapshots = await rig.Services.Snapshots.ListAsync(rig.Tenant.Id);
        Assert.Equal(SnapshotStore.Kept, snapshots.Count);

        await using (var c = await rig.Db.OpenAsync())
            await c.ExecuteAsync("UPDATE tenant_snapshots SET body = @body WHERE seq = @seq", new { body = new byte[] { 1, 2, 3 }, seq = snapshots[0].Seq });
        Assert.Equal(expected, await TenantRig.StateAsync(await rig.StartAsync("b")));

        await using (var c = await rig.Db.OpenAsync())
            await c.ExecuteAsync("UPDATE tenant_snapshots SET body = @body", new { body = new byte[] { 1, 2, 3 } });
        Assert.Equal(expected, await TenantRig.StateAsync(await rig.StartAsync("c")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_start_stores_the_CDRs_its_replay_derives_that_are_missing_and_leaves_the_stored_ones_alone(bool postgres)
    {
        // Snapshots never: the start replays the whole log, every ended call's CDR included.
        await using var rig = await TenantRig.CreateAsync(postgres, output, new SnapshotOptions { EveryCommands = 100_000_000, EverySeconds = 86_400 });
        var host = await rig.StartAsync("a");
        await DriveAsync(rig, host, new Workload(4), 300, setup: true);
        await host.StopAsync(handOver: false);
        var stored = await CdrsAsync(rig);
        Assert.True(stored.Count >= 10, $"the workload ended only {stored.Count} calls");

        // Some CDRs lost (as if their batch's rows had gone): the next start writes exactly those again.
        await using (var c = await rig.Db.OpenAsync())
            foreach (var (callId, _) in stored.Where((_, i) => i % 3 == 0))
                await c.ExecuteAsync("DELETE FROM cdrs WHERE call_id = @callId", new { callId });
        await (await rig.StartAsync("b")).StopAsync(handOver: false);
        Assert.Equal(stored, await CdrsAsync(rig));
    }

    private static async Task<List<(long CallId, string Body)>> CdrsAsync(TenantRig rig)
    {
        await using var c = await rig.Db.OpenAsync();
        return [.. (await c.QueryAsync<(long, string)>("SELECT call_id, body FROM cdrs WHERE tenant_id = @Id ORDER BY call_id", new { rig.Tenant.Id }))];
    }

    [Fact]
    public async Task A_timer_that_fired_before_a_restart_does_not_fire_again_and_one_due_while_down_fires_live()
    {
        await using var rig = await TenantRig.CreateAsync(postgres: false, output);
        var host = await rig.StartAsync("a");
        foreach (var c in Workload.Setup()) await host.ExecuteAsync(c, (_, r) => r);
        foreach (var agent in Enumerable.Range(1, 6)) await host.ExecuteAsync(new LogoutCommand(agent, null), (_, r) => r);
        await host.ExecuteAsync(new LoginCommand(1, null), (_, r) => r);
        var call = new EnqueueCommand(11, "+1555", null, 0, null);
        Assert.Equal(CommandResult.Ok, await host.ExecuteAsync(call, (_, r) => r));

        // Agent 1 is in queue 11 (1 % 2 == 1) and rings; its 6 s ring timeout fires on the host's timer (and the
        // call is offered to it again).
        rig.Time.Advance(TimeSpan.FromSeconds(7));
        await host.QueryAsync(e => e.Queues.Count);
        Assert.Contains(await rig.StoredEventsAsync(), e => e.Type == "call.offer_ended");
        var log = await rig.LogAsync();
        Assert.Equal("{\"type\":\"tick\"}", log.Last(b => b.Contains("tick", StringComparison.Ordinal)));
        var stored = await rig.StoredEventsAsync();
        await host.StopAsync(handOver: false);

        // A start right away fires nothing: the stored events stay as they are.
        var again = await rig.StartAsync("b");
        await again.QueryAsync(e => e.Queues.Count);
        Assert.Equal(stored.Select(e => e.Seq), (await rig.StoredEventsAsync()).Select(e => e.Seq));
        await again.StopAsync(handOver: false);

        // The call's max wait (25 s, then the timeout destination) falls due while no host runs: the next start fires
        // it as live events, stored after the others.
        rig.Time.Advance(TimeSpan.FromSeconds(30));
        var third = await rig.StartAsync("c");
        await third.QueryAsync(e => e.Queues.Count);
        var after = await rig.StoredEventsAsync();
        Assert.True(after.Count > stored.Count, "the timers due while down were not emitted");
        Assert.Equal(stored.Select(e => e.Seq), after.Take(stored.Count).Select(e => e.Seq));
        Assert.Contains(after.Skip(stored.Count), e => e.Type.StartsWith("call.", StringComparison.Ordinal));
    }
}
