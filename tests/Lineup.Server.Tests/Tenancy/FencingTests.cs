using Lineup.Engine;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Tenancy;

/// <summary>
/// Two owners of one tenant over one database (two processes, or two activations in a cluster while membership
/// disagrees) never both write it: whoever started the tenant last holds the epoch; the other's next commit fails,
/// stores nothing, answers an error and stops. On SQLite and on PostgreSQL.
/// </summary>
public sealed class FencingTests(ITestOutputHelper output)
{
    private static TenantCommand Queue(int id) => new UpsertQueueCommand(new QueueConfig { Id = new QueueId(id), Name = "q" + id });

    private static Task<CommandResult> RunAsync(TenantHost host, TenantCommand command) => host.ExecuteAsync(command, (_, r) => r);

    public static TheoryData<bool> Stores() => new() { false, true };

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task The_older_owner_s_writes_fail_store_nothing_and_it_stops(bool postgres)
    {
        await using var rig = await TenantRig.CreateAsync(postgres, output);
        var first = await rig.StartAsync("first");
        Assert.Equal(CommandResult.Ok, await RunAsync(first, Queue(1)));

        var second = await rig.StartAsync("second");
        Assert.Equal(first.Lease.Fence.Epoch + 1, second.Lease.Fence.Epoch);
        Assert.Equal("first", second.Lease.PreviousOwner);

        // The first owner does not know yet: its write reaches the commit, which the fence refuses.
        var refused = await Assert.ThrowsAsync<TenantUnavailableException>(() => RunAsync(first, Queue(2)));
        output.WriteLine(refused.Message);
        Assert.NotNull(first.Stopped);
        // From then on it answers every request with the same error, reads included.
        await Assert.ThrowsAsync<TenantUnavailableException>(() => first.QueryAsync(e => e.Queues.Count));
        await Assert.ThrowsAsync<TenantUnavailableException>(() => RunAsync(first, Queue(3)));

        // The second owner saw the first's committed write and goes on.
        Assert.Equal(CommandResult.Ok, await RunAsync(second, Queue(4)));
        Assert.Equal(new[] { 1, 4 }, await second.QueryAsync(e => e.Queues.Select(q => q.Id.Value).Order().ToArray()));
        var log = (await rig.LogAsync()).Select(body => ((UpsertQueueCommand)TenantCommand.Deserialize(body)).Config.Id.Value);
        Assert.Equal(new[] { 1, 4 }, log);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_commit_under_a_superseded_epoch_stores_none_of_its_rows(bool postgres)
    {
        await using var rig = await TenantRig.CreateAsync(postgres, output);
        var leases = new LeaseStore(rig.Db);
        var old = (await leases.AcquireAsync(rig.Tenant.Id, "old", 1))!;
        var current = (await leases.AcquireAsync(rig.Tenant.Id, "new", 2))!;
        Assert.True(old.FirstEver);
        Assert.False(current.FirstEver);
        var log = rig.Services.Commands;
        var id = rig.Tenant.Id;
        CommandRow[] commands = [new(id, 1, 10, new TickCommand().Serialize())];
        CdrRow[] cdrs = [new(id * 1_000_000_000 + 1, id, 1, null, 1, 2, "abandoned", "{}")];
        DailyStatsRow[] stats = [new(id, 1, "2026-03-02", "{}")];
        EventRow[] events = [new(id, 1, 10, "call.ended", 1, null, null, "{}")];

        await Assert.ThrowsAsync<TenantFencedException>(() => log.CommitBatchAsync(old.Fence, commands, cdrs, stats, events, []));
        Assert.Empty(await rig.LogAsync());
        Assert.Empty(await rig.StoredEventsAsync());
        Assert.Null(await new CdrStore(rig.Db).GetCdrAsync(id, cdrs[0].CallId));
        Assert.Null(await new CdrStore(rig.Db).GetDailyStatsAsync(id, 1, "2026-03-02"));
        await Assert.ThrowsAsync<TenantFencedException>(() => rig.Services.Snapshots.SaveAsync(old.Fence, 1, 1, 10, [1, 2, 3]));
        Assert.Empty(await rig.Services.Snapshots.ListAsync(id));

        await log.CommitBatchAsync(current.Fence, commands, cdrs, stats, events, []);
        Assert.Single(await rig.LogAsync());
        Assert.Single(await rig.StoredEventsAsync());
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task An_owner_that_only_reads_stops_once_the_watcher_sees_the_new_epoch(bool postgres)
    {
        await using var rig = await TenantRig.CreateAsync(postgres, output);
        var first = await rig.StartAsync("first");
        var watcher = new LeaseWatcher(rig.Services.Leases, () => [first], rig.Time, NullLogger<LeaseWatcher>.Instance);
        Assert.Equal(0, await watcher.CheckAsync());
        Assert.Equal(0, await first.QueryAsync(e => e.Queues.Count));

        var second = await rig.StartAsync("second");
        Assert.Equal(1, await watcher.CheckAsync());
        var refused = await Assert.ThrowsAsync<TenantUnavailableException>(() => first.QueryAsync(e => e.Queues.Count));
        Assert.Contains("second", refused.Message);
        Assert.Equal(CommandResult.Ok, await RunAsync(second, Queue(1)));
    }

    [Fact]
    public async Task A_tenant_that_does_not_exist_gets_no_lease()
    {
        await using var rig = await TenantRig.CreateAsync(postgres: false, output);
        Assert.Null(await rig.Services.Leases.AcquireAsync(999, "anyone", 1));
        Assert.Empty(await rig.Services.Leases.ReadAsync([999]));
    }
}
