using System.Collections.Concurrent;
using Lineup.Server.Auth;
using Lineup.Server.Events;
using Lineup.Server.Storage;

namespace Lineup.Server.Tenancy;

/// <summary>Every tenant's host in this process (single-node mode): all loaded at start-up, created or removed at run
/// time. Each host holds its tenant's lease, so a second process started on the same database takes the tenants over
/// and this one answers 503 for them instead of writing beside it (see <see cref="LeaseWatcher"/>).</summary>
public sealed partial class TenantRegistry(Database db, IdSequence ids, AccountStore accounts, TenantServices services, TimeProvider time,
    ILogger<TenantRegistry> log, EventBus bus) : ITenantGateway, ILocalTenants, IAsyncDisposable
{
    public const string DefaultTenant = "default";
    private readonly ConcurrentDictionary<long, TenantHost> _hosts = new();

    /// <summary>Who this process is in the tenants' leases: unique per process, readable by an operator.</summary>
    public string Owner { get; } = $"{Environment.MachineName} pid {Environment.ProcessId} ({Guid.NewGuid().ToString("N")[..8]})";

    public bool Ready { get; private set; }

    public IEnumerable<TenantHost> Hosts => _hosts.Values;

    public TenantHost? Get(long tenantId) => _hosts.GetValueOrDefault(tenantId);

    /// <summary>The tenant named <paramref name="name"/>: a system administrator's every request looks up "default", so
    /// this walks the hosts without copying them (<c>Values</c> copies) or a closure.</summary>
    public TenantHost? Find(string name)
    {
        foreach (var (_, host) in _hosts)
            if (host.Tenant.Name == name) return host;
        return null;
    }

    IEnumerable<ITenant> ITenantGateway.All => _hosts.Values;

    ITenant? ITenantGateway.Get(long tenantId) => Get(tenantId);

    ITenant? ITenantGateway.Find(string name) => Find(name);

    async Task<ITenant> ITenantGateway.CreateAsync(string name, string timeZone, CancellationToken ct) => await CreateAsync(name, timeZone, ct);

    public async Task RenameAsync(long tenantId, string name, string timeZone)
    {
        if (Get(tenantId) is not { } host) return;
        await accounts.UpdateTenantAsync(tenantId, name, timeZone);
        host.UpdateTenant(host.Tenant with { Name = name, TimeZone = timeZone });
    }

    /// <summary>Migrates the schema, creates the first tenant and system administrator on a new store, and starts
    /// every tenant. Returns the generated admin password when one was generated (to print once).</summary>
    public async Task<string?> StartAsync(string? adminPassword, CancellationToken ct)
    {
        await db.MigrateAsync(ct);
        var (tenants, generated) = await Bootstrap.FirstRunAsync(db, ids, accounts, time, adminPassword, ct);
        foreach (var t in tenants)
            if (await TenantHost.StartAsync(t, services, Owner, ct) is { } host) Add(host);
        Ready = true;
        LogStarted(log, tenants.Count, Owner);
        return generated;
    }

    public async Task<TenantHost> CreateAsync(string name, string timeZone, CancellationToken ct)
    {
        var row = new TenantRow(await ids.NextIdAsync(ct), name, timeZone, Random.Shared.NextInt64(1, long.MaxValue),
            time.GetUtcNow().ToUnixTimeMilliseconds());
        await accounts.InsertTenantAsync(row);
        var host = await TenantHost.StartAsync(row, services, Owner, ct)
            ?? throw new InvalidOperationException($"Tenant {row.Id} was removed while it was being created.");
        Add(host);
        return host;
    }

    private void Add(TenantHost host)
    {
        host.OnLost = lost => LogLost(log, lost.TenantId, lost.Stopped);
        _hosts[host.TenantId] = host;
    }

    public async Task RemoveAsync(long tenantId)
    {
        if (_hosts.TryRemove(tenantId, out var host)) await host.StopAsync(handOver: false);
        await accounts.DeleteTenantAsync(tenantId);
        bus.TenantRemoved(tenantId);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var h in _hosts.Values) await h.DisposeAsync();
        _hosts.Clear();
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Lineup started {Count} tenant(s) as {Owner}")]
    private static partial void LogStarted(ILogger logger, int count, string owner);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Tenant {TenantId} stopped here: {Reason} Two single-node Lineup processes must not share one database; stop one, or run them as a cluster (docs/cluster.md).")]
    private static partial void LogLost(ILogger logger, long tenantId, string? reason);
}

/// <summary>The first start on an empty store: the default tenant and the system administrator.</summary>
internal static class Bootstrap
{
    /// <summary>Every tenant, after creating the default one (and the administrator, with a generated password when
    /// none is given: returned to print once) on a store that has none.</summary>
    public static async Task<(IReadOnlyList<TenantRow> Tenants, string? Generated)> FirstRunAsync(Database db, IdSequence ids, AccountStore accounts,
        TimeProvider time, string? adminPassword, CancellationToken ct)
    {
        await using var guard = await db.ExclusiveAsync("bootstrap", ct);
        string? generated = null;
        var tenants = await accounts.ListTenantsAsync();
        if (tenants.Count > 0) return (tenants, null);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var tenant = new TenantRow(await ids.NextIdAsync(ct), TenantRegistry.DefaultTenant, "UTC", Random.Shared.NextInt64(1, long.MaxValue), now);
        await accounts.InsertTenantAsync(tenant);
        if (await accounts.FindUserAsync(null, "admin") == null)
        {
            if (string.IsNullOrEmpty(adminPassword)) adminPassword = generated = Passwords.Generate();
            await accounts.InsertUserAsync(new UserRow(await ids.NextIdAsync(ct), null, "admin", Passwords.Hash(adminPassword),
                nameof(Role.SystemAdmin), null, now));
        }
        return ([tenant], generated);
    }
}
