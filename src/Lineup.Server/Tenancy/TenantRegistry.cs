using System.Collections.Concurrent;
using Lineup.Server.Auth;
using Lineup.Server.Events;
using Lineup.Server.Storage;

namespace Lineup.Server.Tenancy;

/// <summary>Every tenant's host, loaded at start-up (each replays its command log) and created or removed at run time.</summary>
public sealed partial class TenantRegistry(Database db, IdSequence ids, AccountStore accounts, CommandLog commands, EventStore events, TimeProvider time, ILogger<TenantRegistry> log, ServerMetrics metrics, EventBus bus,
    Telephony.MediaEffects media) : ITenantGateway, IAsyncDisposable
{
    public const string DefaultTenant = "default";
    private readonly ConcurrentDictionary<long, TenantHost> _hosts = new();

    public bool Ready { get; private set; }

    public IEnumerable<TenantHost> Hosts => _hosts.Values;

    public TenantHost? Get(long tenantId) => _hosts.GetValueOrDefault(tenantId);

    public TenantHost? Find(string name) => _hosts.Values.FirstOrDefault(h => h.Tenant.Name == name);

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
        string? generated = null;
        var tenants = await accounts.ListTenantsAsync();
        if (tenants.Count == 0)
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var tenant = new TenantRow(await ids.NextIdAsync(ct), DefaultTenant, "UTC", Random.Shared.NextInt64(1, long.MaxValue), now);
            await accounts.InsertTenantAsync(tenant);
            if (await accounts.FindUserAsync(null, "admin") == null)
            {
                if (string.IsNullOrEmpty(adminPassword)) adminPassword = generated = Passwords.Generate();
                await accounts.InsertUserAsync(new UserRow(await ids.NextIdAsync(ct), null, "admin", Passwords.Hash(adminPassword),
                    nameof(Role.SystemAdmin), null, now));
            }
            tenants = [tenant];
        }
        foreach (var t in tenants) _hosts[t.Id] = await TenantHost.StartAsync(t, commands, events, time, log, metrics, bus, media, ct);
        Ready = true;
        LogStarted(log, tenants.Count);
        return generated;
    }

    public async Task<TenantHost> CreateAsync(string name, string timeZone, CancellationToken ct)
    {
        var row = new TenantRow(await ids.NextIdAsync(ct), name, timeZone, Random.Shared.NextInt64(1, long.MaxValue),
            time.GetUtcNow().ToUnixTimeMilliseconds());
        await accounts.InsertTenantAsync(row);
        var host = await TenantHost.StartAsync(row, commands, events, time, log, metrics, bus, media, ct);
        _hosts[row.Id] = host;
        return host;
    }

    public async Task RemoveAsync(long tenantId)
    {
        if (_hosts.TryRemove(tenantId, out var host)) await host.DisposeAsync();
        await accounts.DeleteTenantAsync(tenantId);
        bus.TenantRemoved(tenantId);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var h in _hosts.Values) await h.DisposeAsync();
        _hosts.Clear();
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Lineup started {Count} tenant(s)")]
    private static partial void LogStarted(ILogger logger, int count);
}
