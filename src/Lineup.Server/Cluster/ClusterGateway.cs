using System.Collections.Concurrent;
using System.Net;
using Lineup.Engine;
using Lineup.Server.Events;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;
using Orleans;
using Orleans.Runtime;

namespace Lineup.Server.Cluster;

/// <summary>Where a request for a tenant is served.</summary>
public enum Whereabouts
{
    /// <summary>On this node: its host runs here.</summary>
    Here,
    /// <summary>On another node, at <see cref="TenantLocation.Url"/>.</summary>
    There,
    /// <summary>Moving between nodes (taken over, or its node is going): try again in a moment.</summary>
    Moving,
    /// <summary>No such tenant.</summary>
    Missing,
}

public readonly record struct TenantLocation(Whereabouts Where, string? Url = null);

/// <summary>
/// The tenant gateway of a cluster node (<see cref="ITenantGateway"/>): every tenant of the cluster is known here
/// (the catalog, from the tenants table), and the ones whose grain activation runs on this node have their
/// <see cref="TenantHost"/> here. A request for a tenant that runs elsewhere is forwarded whole to its node
/// (Api/TenantForwarding), since reads and projections are functions that run next to the engine.
/// </summary>
public sealed partial class ClusterGateway(IGrainFactory grains, ILocalSiloDetails silo, ISiloStatusOracle oracle, IClusterMembershipService membership,
    AccountStore accounts, IdSequence ids, EventBus bus, TimeProvider time, ClusterSettings settings, ForwardingAddress address,
    ILogger<ClusterGateway> log) : ITenantGateway, ILocalTenants
{
    private readonly ConcurrentDictionary<long, TenantRow> _catalog = new();
    private readonly ConcurrentDictionary<long, TenantHost> _local = new();
    private readonly ConcurrentDictionary<long, (string Url, SiloAddress Silo)> _owners = new();
    private volatile bool _catalogLoaded;
    private long _failovers;

    /// <summary>This node in the tenants' leases: its silo address (unique per process start).</summary>
    public string Silo { get; } = silo.SiloAddress.ToParsableString();

    /// <summary>This node's answer to "where does the tenant run".</summary>
    public TenantPlacement Here => new() { Exists = true, HttpUrl = address.Url, Silo = Silo };

    /// <summary>The answer of an activation that is going away.</summary>
    public TenantPlacement Moving => new() { Exists = true };

    public ClusterSettings Settings => settings;

    /// <summary>Joined the cluster (an active member) and read the tenants.</summary>
    public bool Ready => _catalogLoaded && oracle.CurrentStatus == SiloStatus.Active;

    /// <summary>Tenants whose host runs on this node.</summary>
    public IEnumerable<TenantHost> Hosts => _local.Values;

    /// <summary>Active members of the cluster, as this node sees them.</summary>
    public int Nodes => membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);

    /// <summary>Tenants this node took over from another node since it started.</summary>
    public long Failovers => Interlocked.Read(ref _failovers);

    public void CountFailover() => Interlocked.Increment(ref _failovers);

    // ---- ITenantGateway

    public IEnumerable<ITenant> All => _catalog.Values.OrderBy(t => t.Id).Select(Of);

    public ITenant? Get(long tenantId) => _catalog.TryGetValue(tenantId, out var row) ? Of(row) : null;

    public ITenant? Find(string name) => _catalog.Values.FirstOrDefault(t => t.Name == name) is { } row ? Of(row) : null;

    public async Task<IReadOnlyList<ITenant>> AllAsync() => [.. (await accounts.ListTenantsAsync()).Select(Of)];

    /// <summary>As <see cref="Get"/>, reading the tenants table when this node has not seen the tenant yet (created
    /// through another node a moment ago).</summary>
    public async ValueTask<ITenant?> GetAsync(long tenantId)
    {
        if (Get(tenantId) is { } known) return known;
        if (await accounts.GetTenantAsync(tenantId) is not { } row) return null;
        _catalog[row.Id] = row;
        return Of(row);
    }

    public async ValueTask<ITenant?> FindAsync(string name)
    {
        if (Find(name) is { } known) return known;
        if (await accounts.FindTenantAsync(name) is not { } row) return null;
        _catalog[row.Id] = row;
        return Of(row);
    }

    private ITenant Of(TenantRow row) => _local.TryGetValue(row.Id, out var host) ? host : new RemoteTenant(row);

    public async Task<ITenant> CreateAsync(string name, string timeZone, CancellationToken ct)
    {
        var row = new TenantRow(await ids.NextIdAsync(ct), name, timeZone, Random.Shared.NextInt64(1, long.MaxValue), time.GetUtcNow().ToUnixTimeMilliseconds());
        await accounts.InsertTenantAsync(row);
        _catalog[row.Id] = row;
        // Started at once (wherever Orleans places it), as a single node starts a new tenant's host.
        await LocateAsync(row.Id, refresh: true);
        return Of(row);
    }

    public async Task RenameAsync(long tenantId, string name, string timeZone)
    {
        if (await GetAsync(tenantId) is null) return;
        await accounts.UpdateTenantAsync(tenantId, name, timeZone);
        if (_catalog.TryGetValue(tenantId, out var row)) _catalog[tenantId] = row with { Name = name, TimeZone = timeZone };
        await grains.GetGrain<ITenantGrain>(tenantId).RenameAsync(name, timeZone);
    }

    public async Task RemoveAsync(long tenantId)
    {
        await grains.GetGrain<ITenantGrain>(tenantId).RemoveAsync();
        await accounts.DeleteTenantAsync(tenantId);
        _catalog.TryRemove(tenantId, out _);
        _owners.TryRemove(tenantId, out _);
        bus.TenantRemoved(tenantId);
    }

    // ---- the node's hosts, attached by their grain activations

    public void Attach(TenantHost host)
    {
        _local[host.TenantId] = host;
        _catalog[host.TenantId] = host.Tenant;
        _owners.TryRemove(host.TenantId, out _);
    }

    public void Detach(TenantHost host) => _local.TryRemove(new KeyValuePair<long, TenantHost>(host.TenantId, host));

    /// <summary>True when the tenant's host runs on this node and takes work.</summary>
    public bool IsHere(long tenantId) => _local.TryGetValue(tenantId, out var host) && host.Stopped == null;

    /// <summary>Where the tenant runs: here, or the URL of its node (remembered; <paramref name="refresh"/> asks its grain
    /// again, which also starts it when it runs nowhere).</summary>
    public async ValueTask<TenantLocation> LocateAsync(long tenantId, bool refresh = false)
    {
        if (IsHere(tenantId)) return new(Whereabouts.Here);
        if (!refresh && _owners.TryGetValue(tenantId, out var known) && membership.CurrentSnapshot.GetSiloStatus(known.Silo) == SiloStatus.Active)
            return new(Whereabouts.There, known.Url);
        var placement = await grains.GetGrain<ITenantGrain>(tenantId).EnsureActiveAsync();
        if (!placement.Exists)
        {
            _owners.TryRemove(tenantId, out _);
            return new(Whereabouts.Missing);
        }
        if (placement.Silo == null || placement.HttpUrl == null) return new(Whereabouts.Moving);
        if (placement.Silo == Silo) return IsHere(tenantId) ? new(Whereabouts.Here) : new(Whereabouts.Moving);
        _owners[tenantId] = (placement.HttpUrl, SiloAddress.FromParsableString(placement.Silo));
        return new(Whereabouts.There, placement.HttpUrl);
    }

    /// <summary>Forgets where the tenant was seen running (its node did not answer, or no longer has it).</summary>
    public void Forget(long tenantId) => _owners.TryRemove(tenantId, out _);

    /// <summary>True when <paramref name="address"/> is an active node's address (a forwarded request's sender).</summary>
    public bool IsPeer(IPAddress? address)
    {
        if (address == null) return false;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return membership.CurrentSnapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && m.SiloAddress.Endpoint.Address.Equals(address));
    }

    /// <summary>Replaces the catalog with the tenants table as read (the keeper does, every second); returns the tenants
    /// whose lease holder is not an active node (or that were never started), to start.</summary>
    public IReadOnlyList<long> Refresh(IReadOnlyList<(TenantRow Tenant, string? Owner)> rows)
    {
        var active = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress.ToParsableString()).ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<long>();
        var orphans = new List<long>();
        foreach (var (tenant, owner) in rows)
        {
            seen.Add(tenant.Id);
            if (!_local.ContainsKey(tenant.Id)) _catalog[tenant.Id] = tenant;
            if (owner == null || !active.Contains(owner)) orphans.Add(tenant.Id);
        }
        foreach (var id in _catalog.Keys)
            if (!seen.Contains(id) && !_local.ContainsKey(id)) _catalog.TryRemove(id, out _);
        _catalogLoaded = true;
        return orphans;
    }

    [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "Tenant {TenantId}: could not be started ({Error})")]
    public static partial void LogStartFailed(ILogger logger, long tenantId, string error);

    internal ILogger Log => log;

    /// <summary>A tenant that runs on another node, as this node knows it: its name and settings. Its engine is there;
    /// requests for it are forwarded before they reach a handler, so these are never called on it.</summary>
    private sealed class RemoteTenant(TenantRow row) : ITenant
    {
        public long TenantId => row.Id;
        public string Name => row.Name;
        public string TimeZone => row.TimeZone;
        public long CreatedAt => row.CreatedAt;
        public IReadOnlyList<Webhook> Webhooks => [];

        private TenantUnavailableException Elsewhere() => new($"Tenant {row.Id} runs on another node; send the request again.");

        public Task<T> QueryAsync<T>(Func<CallCenter, T> read) => Task.FromException<T>(Elsewhere());

        public Task<T> ExecuteAsync<T>(TenantCommand command, Func<CallCenter, CommandResult, T> project) => Task.FromException<T>(Elsewhere());

        public Task<bool> UpdateWebhooksAsync(Func<IReadOnlyList<Webhook>, IEnumerable<Webhook>?> change) => Task.FromException<bool>(Elsewhere());

        public string Day(long unixMs) =>
            TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(unixMs), TenantHost.ResolveTimeZone(row.TimeZone))
                .ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>This node's URL for forwarded requests (<see cref="ClusterSettings.ForwardingUrl"/>).</summary>
public sealed record ForwardingAddress(string Url);
