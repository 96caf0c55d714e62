using System.Net;
using Dapper;
using Lineup.Server.Cluster;
using Npgsql;
using Orleans;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Cluster;

/// <summary>
/// <see cref="PostgresMembershipTable"/> against a real PostgreSQL (<c>LINEUP_TEST_PG</c>): Orleans's contract of a
/// versioned table with compare-and-swap on the version etag (and the row etag for updates), atomic failures,
/// heartbeats that move no etag, and exactly one winner among concurrent writers of one version.
/// </summary>
public sealed class PostgresMembershipTableTests(ITestOutputHelper output) : IAsyncLifetime
{
    private ClusterDatabase? _db;
    private NpgsqlDataSource? _source;
    private static int _port = 20_000;

    public async Task InitializeAsync()
    {
        _db = await ClusterDatabase.CreateAsync(output);
        _source = _db?.Source;
    }

    public async Task DisposeAsync()
    {
        if (_db != null) await _db.DisposeAsync();
    }

    private PostgresMembershipTable Table(string cluster = "lineup-test") => _db!.Table(cluster);

    private async Task<PostgresMembershipTable> InitializedTable(string cluster = "lineup-test")
    {
        var table = Table(cluster);
        await table.InitializeMembershipTable(tryInitTableVersion: true);
        return table;
    }

    private static MembershipEntry Entry(SiloStatus status = SiloStatus.Joining, DateTime? at = null)
    {
        // Whole milliseconds, so that the stored times compare equal whatever the column's precision.
        var now = at ?? DateTime.UtcNow;
        now = new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
        var silo = SiloAddress.New(IPAddress.Loopback, Interlocked.Increment(ref _port), 7);
        return new MembershipEntry
        {
            SiloAddress = silo,
            Status = status,
            ProxyPort = silo.Endpoint.Port + 10_000,
            HostName = "node-a",
            SiloName = "silo-" + silo.Endpoint.Port,
            RoleName = "lineup",
            UpdateZone = 1,
            FaultZone = 2,
            StartTime = now,
            IAmAliveTime = now,
            SuspectTimes = [],
        };
    }

    [Fact]
    public async Task An_empty_cluster_reads_as_version_0_and_initialising_twice_changes_nothing()
    {
        if (_source == null) return;
        var table = await InitializedTable();
        await table.InitializeMembershipTable(tryInitTableVersion: true);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Table().InitializeMembershipTable(tryInitTableVersion: true)));

        var data = await table.ReadAll();
        Assert.Empty(data.Members);
        Assert.Equal(0, data.Version.Version);
        Assert.Equal("0", data.Version.VersionEtag);
        Assert.Equal(1, await Count("SELECT COUNT(*) FROM cluster_membership_version"));
        // A client that may not initialise sees the same empty cluster before any silo created it.
        Assert.Equal(0, (await Table("other").ReadAll()).Version.Version);
    }

    [Fact]
    public async Task An_insert_succeeds_only_with_the_current_version_etag_and_only_once_per_silo()
    {
        if (_source == null) return;
        var table = await InitializedTable();
        var before = await table.ReadAll();
        var entry = Entry();

        Assert.True(await table.InsertRow(entry, before.Version.Next()));
        var after = await table.ReadAll();
        Assert.Equal(1, after.Version.Version);
        Assert.NotEqual(before.Version.VersionEtag, after.Version.VersionEtag);
        var (stored, rowEtag) = Assert.Single(after.Members);
        Assert.Equal(entry.ToFullString(), stored.ToFullString());

        // The etag read before the insert is spent: another silo's insert with it fails, and so does the same silo's
        // insert with the fresh etag. Neither changes anything.
        Assert.False(await table.InsertRow(Entry(), before.Version.Next()));
        Assert.False(await table.InsertRow(entry, after.Version.Next()));
        var unchanged = await table.ReadAll();
        Assert.Equal(after.Version, unchanged.Version);
        Assert.Equal(rowEtag, Assert.Single(unchanged.Members).Item2);
        Assert.False(await table.InsertRow(Entry(), new TableVersion(2, "not-an-etag")));
    }

    [Fact]
    public async Task An_update_needs_both_the_version_etag_and_the_rows_etag_and_a_failed_one_changes_nothing()
    {
        if (_source == null) return;
        var table = await InitializedTable();
        var entry = Entry();
        Assert.True(await table.InsertRow(entry, (await table.ReadAll()).Version.Next()));
        var read = await table.ReadAll();
        var rowEtag = read.TryGet(entry.SiloAddress)!.Item2;

        entry.Status = SiloStatus.Active;
        entry.SuspectTimes = [Tuple.Create(SiloAddress.New(IPAddress.Loopback, 9, 1), DateTime.UtcNow)];
        // A stale version etag (the one before the insert), a row etag that is not the row's, a silo without a row.
        Assert.False(await table.UpdateRow(entry, rowEtag, new TableVersion(read.Version.Version + 1, "0")));
        Assert.False(await table.UpdateRow(entry, "12345", read.Version.Next()));
        Assert.False(await table.UpdateRow(Entry(), rowEtag, read.Version.Next()));
        var unchanged = await table.ReadAll();
        Assert.Equal(read.Version, unchanged.Version);
        Assert.Equal(SiloStatus.Joining, unchanged.TryGet(entry.SiloAddress)!.Item1.Status);

        Assert.True(await table.UpdateRow(entry, rowEtag, read.Version.Next()));
        var updated = await table.ReadAll();
        Assert.Equal(read.Version.Version + 1, updated.Version.Version);
        var (stored, newRowEtag) = updated.TryGet(entry.SiloAddress)!;
        Assert.NotEqual(rowEtag, newRowEtag);
        Assert.Equal(entry.ToFullString(), stored.ToFullString());
        // Both etags were spent by that update.
        Assert.False(await table.UpdateRow(entry, rowEtag, updated.Version.Next()));
        Assert.False(await table.UpdateRow(entry, newRowEtag, read.Version.Next()));
    }

    [Fact]
    public async Task A_heartbeat_writes_only_the_alive_time_and_what_was_read_before_it_stays_usable()
    {
        if (_source == null) return;
        var table = await InitializedTable();
        var entry = Entry();
        Assert.True(await table.InsertRow(entry, (await table.ReadAll()).Version.Next()));
        var read = await table.ReadAll();
        var (_, rowEtag) = read.TryGet(entry.SiloAddress)!;

        var alive = entry.IAmAliveTime.AddSeconds(30);
        await table.UpdateIAmAlive(new MembershipEntry { SiloAddress = entry.SiloAddress, IAmAliveTime = alive });

        var after = await table.ReadAll();
        Assert.Equal(read.Version, after.Version);
        var (stored, etagAfter) = after.TryGet(entry.SiloAddress)!;
        Assert.Equal(rowEtag, etagAfter);
        Assert.True((stored.IAmAliveTime - alive).Duration() < TimeSpan.FromMilliseconds(1));
        Assert.Equal(entry.Status, stored.Status);
        Assert.True(await table.UpdateRow(stored, rowEtag, read.Version.Next()));

        var stranger = Entry();
        await Assert.ThrowsAsync<InvalidOperationException>(() => table.UpdateIAmAlive(stranger));
    }

    [Fact]
    public async Task Concurrent_writers_of_one_version_have_exactly_one_winner()
    {
        if (_source == null) return;
        var table = await InitializedTable();
        var start = await table.ReadAll();

        // Twenty silos join at once, all having read the same version: one insert wins.
        var entries = Enumerable.Range(0, 20).Select(_ => Entry()).ToList();
        var inserts = await Task.WhenAll(entries.Select(e => Table().InsertRow(e, start.Version.Next())));
        Assert.Single(inserts, ok => ok);
        Assert.Single((await table.ReadAll()).Members);

        // Then twenty writers each update one shared row until they succeed: every attempt reads, then writes
        // version + 1. Each version is won exactly once, and the row ends with twenty updates on it.
        var shared = entries[Array.IndexOf(inserts, true)];
        var winners = new System.Collections.Concurrent.ConcurrentBag<int>();
        var losses = 0;
        await Task.WhenAll(Enumerable.Range(0, 20).Select(async writer =>
        {
            var mine = Table();
            while (true)
            {
                var data = await mine.ReadAll();
                var (row, etag) = data.TryGet(shared.SiloAddress)!;
                row.FaultZone++;
                var next = data.Version.Next();
                if (await mine.UpdateRow(row, etag, next))
                {
                    winners.Add(next.Version);
                    return;
                }
                Interlocked.Increment(ref losses);
            }
        })).WaitAsync(TimeSpan.FromSeconds(120));

        var final = await table.ReadAll();
        Assert.Equal(Enumerable.Range(2, 20), winners.Order());
        Assert.Equal(21, final.Version.Version);
        Assert.Equal(shared.FaultZone + 20, final.TryGet(shared.SiloAddress)!.Item1.FaultZone);
        output.WriteLine($"updates lost to a concurrent writer and retried: {losses}");
        Assert.True(losses > 0, "the writers never collided: the test did not exercise the compare-and-swap");
    }

    [Fact]
    public async Task Clean_up_removes_only_silos_that_are_not_active_and_were_last_heard_of_before_the_date()
    {
        if (_source == null) return;
        var table = await InitializedTable();
        var longAgo = DateTime.UtcNow.AddDays(-10);
        var rows = new Dictionary<string, MembershipEntry>
        {
            ["old dead"] = Entry(SiloStatus.Dead, longAgo),
            ["old joining"] = Entry(SiloStatus.Joining, longAgo),
            ["old shutting down"] = Entry(SiloStatus.ShuttingDown, longAgo),
            ["old active"] = Entry(SiloStatus.Active, longAgo),
            ["recent dead"] = Entry(SiloStatus.Dead),
            ["old dead, recently declared"] = Entry(SiloStatus.Dead, longAgo),
        };
        rows["old dead, recently declared"].SuspectTimes = [Tuple.Create(rows["recent dead"].SiloAddress, DateTime.UtcNow)];
        foreach (var e in rows.Values) Assert.True(await table.InsertRow(e, (await table.ReadAll()).Version.Next()));
        var version = (await table.ReadAll()).Version;

        await table.CleanupDefunctSiloEntries(DateTimeOffset.UtcNow.AddDays(-3));

        var left = (await table.ReadAll()).Members.Select(m => m.Item1.SiloAddress).ToHashSet();
        var kept = rows.Where(r => left.Contains(r.Value.SiloAddress)).Select(r => r.Key).Order();
        Assert.Equal(["old active", "old dead, recently declared", "recent dead"], kept);
        Assert.Equal(version, (await table.ReadAll()).Version);
    }

    [Fact]
    public async Task Deleting_a_clusters_entries_leaves_other_clusters_alone()
    {
        if (_source == null) return;
        var mine = await InitializedTable("mine");
        var theirs = await InitializedTable("theirs");
        Assert.True(await mine.InsertRow(Entry(), (await mine.ReadAll()).Version.Next()));
        Assert.True(await theirs.InsertRow(Entry(), (await theirs.ReadAll()).Version.Next()));

        await mine.DeleteMembershipTableEntries("mine");

        Assert.Empty((await mine.ReadAll()).Members);
        Assert.Equal(0, (await mine.ReadAll()).Version.Version);
        Assert.Single((await theirs.ReadAll()).Members);
        Assert.Equal(1, (await theirs.ReadAll()).Version.Version);
    }

    [Fact]
    public async Task Every_field_survives_the_round_trip_and_read_row_reads_one_silo_with_the_version()
    {
        if (_source == null) return;
        var table = await InitializedTable();
        var a = Entry(SiloStatus.Active);
        var b = Entry(SiloStatus.ShuttingDown);
        b.SuspectTimes = [Tuple.Create(a.SiloAddress, DateTime.UtcNow.AddSeconds(-3)), Tuple.Create(SiloAddress.New(IPAddress.IPv6Loopback, 4, 5), DateTime.UtcNow)];
        Assert.True(await table.InsertRow(a, (await table.ReadAll()).Version.Next()));
        Assert.True(await table.InsertRow(b, (await table.ReadAll()).Version.Next()));

        var row = await table.ReadRow(b.SiloAddress);
        var (stored, _) = Assert.Single(row.Members);
        Assert.Equal(b.ToFullString(), stored.ToFullString());
        Assert.Equal(b.SuspectTimes.Select(s => (s.Item1, s.Item2.Ticks / 10)), (stored.SuspectTimes ?? []).Select(s => (s.Item1, s.Item2.Ticks / 10)));
        Assert.Equal(DateTimeKind.Utc, stored.IAmAliveTime.Kind);
        Assert.Equal(2, row.Version.Version);
        var none = await table.ReadRow(Entry().SiloAddress);
        Assert.Empty(none.Members);
        Assert.Equal(row.Version, none.Version);
    }

    [Fact]
    public async Task Nodes_migrating_at_once_apply_the_cluster_schema_once()
    {
        if (_source == null) return;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => ClusterSchema.MigrateAsync(_source)));
        Assert.Equal(ClusterSchema.Migrations().Count, await Count("SELECT COUNT(*) FROM cluster_schema_version"));
        Assert.Equal(1, ClusterSchema.Migrations()[0].Version);
    }

    private async Task<long> Count(string sql)
    {
        await using var c = await _source!.OpenConnectionAsync();
        return await c.ExecuteScalarAsync<long>(sql);
    }
}
