using System.Net;
using System.Net.Sockets;
using Lineup.Server.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Cluster;

/// <summary>A grain that says which silo runs it: enough to see grains spread over the cluster and move on a failure.</summary>
public interface IWhereGrain : IGrainWithIntegerKey
{
    Task<string> Silo();
}

// Random placement: Orleans 10's default (resource-optimized) keeps every grain on the calling silo when the other is
// busier, which a loaded machine makes likely; the test asks whether grains can land on both silos.
[Orleans.Placement.RandomPlacement]
public sealed class WhereGrain(ILocalSiloDetails silo) : Grain, IWhereGrain
{
    public Task<string> Silo() => Task.FromResult(silo.SiloAddress.ToParsableString());
}

/// <summary>
/// Two Orleans 10.4.2 silos in this process form a cluster through <see cref="PostgresMembershipTable"/> on a real
/// PostgreSQL: both become Active in the table, grains run on both, and when one silo dies without a goodbye the
/// other declares it dead in the table (its own vote in the row) and takes over its grains.
/// </summary>
public sealed class OrleansClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string ClusterId = "lineup-orleans-test";
    private ClusterDatabase? _db;
    private NpgsqlDataSource? _source;
    private readonly List<IHost> _silos = new();

    public async Task InitializeAsync()
    {
        _db = await ClusterDatabase.CreateAsync(output);
        _source = _db?.Source;
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            using var done = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await silo.StopAsync(done.Token); } catch (OperationCanceledException) { }
            silo.Dispose();
        }
        if (_db != null) await _db.DisposeAsync();
    }

    private async Task<IHost> StartSiloAsync(string name, SeverableTable? severable = null)
    {
        var host = new HostBuilder()
            .UseOrleans(silo =>
            {
                silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ClusterId, "lineup"));
                silo.ConfigureEndpoints(IPAddress.Loopback, FreePort(), FreePort());
                silo.Configure<SiloOptions>(o => o.SiloName = name);
                // Fast failure detection for a test: probe every second, one missed-probe round and one vote suffice.
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    o.ProbeTimeout = TimeSpan.FromSeconds(1);
                    o.NumMissedProbesLimit = 2;
                    o.NumVotesForDeathDeclaration = 1;
                    o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
                    o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(2);
                    // A silo cut off from the table retries its last status update this long before it gives up and
                    // stops (by default minutes, during which it still answers probes and nobody can declare it dead).
                    if (severable != null) o.MaxJoinAttemptTime = TimeSpan.FromSeconds(5);
                });
                silo.Services.AddSingleton(_source!);
                silo.Services.AddSingleton<PostgresMembershipTable>();
                if (severable == null) silo.Services.AddSingleton<IMembershipTable>(sp => sp.GetRequiredService<PostgresMembershipTable>());
                else silo.Services.AddSingleton<IMembershipTable>(sp => severable.Attach(sp.GetRequiredService<PostgresMembershipTable>()));
            })
            // Orleans ends the process when a silo learns it was declared dead. Here that silo is B, stopped already
            // but one of two in the test runner's process: ending it would take every other test with it.
            .ConfigureServices(s => s.AddSingleton<IFatalErrorHandler>(new KeepProcessAlive(output, name)))
            .Build();
        await host.StartAsync();
        _silos.Add(host);
        return host;
    }

    private sealed class KeepProcessAlive(ITestOutputHelper output, string silo) : IFatalErrorHandler
    {
        public bool IsUnexpected(Exception exception) => exception is not OperationCanceledException;

        public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null)
        {
            try
            {
                output.WriteLine($"silo {silo}: fatal ({context}) {exception?.Message}");
            }
            catch (InvalidOperationException)
            {
                // after the test ended: nobody to tell
            }
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Two_silos_form_a_cluster_through_the_table_and_a_dead_one_is_declared_dead_by_the_other()
    {
        if (_source == null) return;
        var table = _db!.Table(ClusterId);
        var a = await StartSiloAsync("a");
        var severable = new SeverableTable();
        var b = await StartSiloAsync("b", severable);
        var addressA = a.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var addressB = b.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;

        // Both are Active in the table, and each silo's own view has both.
        var rows = await WaitForAsync(table, d => d.Members.Count(m => m.Item1.Status == SiloStatus.Active) == 2, "both silos Active in the table");
        Assert.Equal(new[] { addressA, addressB }.Order(), rows.Members.Select(m => m.Item1.SiloAddress).Order());
        foreach (var silo in new[] { a, b })
        {
            var view = silo.Services.GetRequiredService<IClusterMembershipService>();
            await WaitAsync(() => view.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active) == 2, "each silo sees two active silos");
        }

        // Grains called through silo A land on both silos.
        var grains = a.Services.GetRequiredService<IGrainFactory>();
        var placed = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => grains.GetGrain<IWhereGrain>(i).Silo()));
        output.WriteLine($"grains on A: {placed.Count(p => p == addressA.ToParsableString())}, on B: {placed.Count(p => p == addressB.ToParsableString())}");
        Assert.Contains(addressB.ToParsableString(), placed);
        Assert.Contains(addressA.ToParsableString(), placed);

        // B dies without a goodbye: it loses the database first (as a killed process would never write again), then
        // its host stops with an already cancelled token, as TestingHost kills a silo. Even so an Orleans silo that
        // stops in-process would mark itself dead; cut off from the table, only A can.
        var killed = System.Diagnostics.Stopwatch.StartNew();
        severable.Sever();
        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            try { await b.StopAsync(cancelled.Token); } catch (OperationCanceledException) { }
        }
        _silos.Remove(b);
        b.Dispose();
        output.WriteLine($"B stopped after {killed.Elapsed.TotalSeconds:F1} s");

        var dead = await WaitForAsync(table, d => d.TryGet(addressB)?.Item1.Status == SiloStatus.Dead, "B declared dead in the table");
        output.WriteLine($"B declared dead {killed.Elapsed.TotalSeconds:F1} s after it was killed");
        var rowB = dead.TryGet(addressB)!.Item1;
        output.WriteLine($"B's row: {rowB.ToFullString()}");
        Assert.Contains(rowB.SuspectTimes ?? [], s => s.Item1.Equals(addressA));
        Assert.Equal(SiloStatus.Active, dead.TryGet(addressA)!.Item1.Status);

        // Every grain answers again, now from A.
        await WaitAsync(async () =>
        {
            var after = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => grains.GetGrain<IWhereGrain>(i).Silo()));
            return after.All(p => p == addressA.ToParsableString());
        }, "every grain runs on A");
    }

    /// <summary>A silo's membership table that stops answering at <see cref="Sever"/>, as if the silo's process died.</summary>
    private sealed class SeverableTable : IMembershipTable
    {
        private PostgresMembershipTable? _inner;
        private volatile bool _severed;

        public IMembershipTable Attach(PostgresMembershipTable inner)
        {
            _inner = inner;
            return this;
        }

        public void Sever() => _severed = true;

        private PostgresMembershipTable Inner => _severed ? throw new InvalidOperationException("this silo is dead") : _inner!;

        public Task InitializeMembershipTable(bool tryInitTableVersion) => Inner.InitializeMembershipTable(tryInitTableVersion);
        public Task DeleteMembershipTableEntries(string clusterId) => Inner.DeleteMembershipTableEntries(clusterId);
        public Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate) => Inner.CleanupDefunctSiloEntries(beforeDate);
        public Task<MembershipTableData> ReadRow(SiloAddress key) => Inner.ReadRow(key);
        public Task<MembershipTableData> ReadAll() => Inner.ReadAll();
        public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion) => Inner.InsertRow(entry, tableVersion);
        public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion) => Inner.UpdateRow(entry, etag, tableVersion);
        public Task UpdateIAmAlive(MembershipEntry entry) => Inner.UpdateIAmAlive(entry);
    }

    private static async Task<MembershipTableData> WaitForAsync(PostgresMembershipTable table, Func<MembershipTableData, bool> condition, string what)
    {
        MembershipTableData? last = null;
        await WaitAsync(async () => condition(last = await table.ReadAll()), what);
        return last!;
    }

    private static Task WaitAsync(Func<bool> condition, string what) => WaitAsync(() => Task.FromResult(condition()), what);

    /// <summary>Polls until <paramref name="condition"/> holds, for at most 60 s (the cluster runs on a loaded machine).</summary>
    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                // A grain call may fail while the cluster reacts to the death; try again.
            }
            if (DateTime.UtcNow >= deadline) Assert.Fail($"timed out waiting for: {what}");
            await Task.Delay(200);
        }
    }
}
