using Lineup.Engine;
using Lineup.Server.Events;

namespace Lineup.Server.Tenancy;

/// <summary>
/// The one way the application layer reaches tenants. On a single node <see cref="TenantRegistry"/> runs every tenant
/// in this process (a single-reader mailbox each); in cluster mode <c>Cluster.ClusterGateway</c> knows every tenant and
/// runs the ones whose grain is on this node, and requests for the others are forwarded to their node before they
/// reach an endpoint, so no endpoint or service changes (docs/design/server.md, "Layers"; docs/design/cluster.md).
/// </summary>
public interface ITenantGateway
{
    /// <summary>True once every tenant has replayed its log and takes requests.</summary>
    bool Ready { get; }

    IEnumerable<ITenant> All { get; }

    ITenant? Get(long tenantId);

    ITenant? Find(string name);

    /// <summary>As <see cref="All"/>; in a cluster it reads the tenants table, so tenants created or removed through
    /// another node a moment ago are counted as they are.</summary>
    Task<IReadOnlyList<ITenant>> AllAsync() => Task.FromResult<IReadOnlyList<ITenant>>([.. All]);

    /// <summary>As <see cref="Get"/>; in a cluster it also finds a tenant created through another node a moment ago.</summary>
    ValueTask<ITenant?> GetAsync(long tenantId) => ValueTask.FromResult(Get(tenantId));

    /// <summary>As <see cref="Find"/>; in a cluster it also finds a tenant created through another node a moment ago.</summary>
    ValueTask<ITenant?> FindAsync(string name) => ValueTask.FromResult(Find(name));

    Task<ITenant> CreateAsync(string name, string timeZone, CancellationToken ct);

    Task RenameAsync(long tenantId, string name, string timeZone);

    Task RemoveAsync(long tenantId);
}

/// <summary>
/// One tenant's single writer: commands are applied one at a time, and every answer is given only after the
/// commands before it are durable.
/// </summary>
/// <remarks>
/// Commands are data (<see cref="TenantCommand"/>, the command log's JSON), so they can cross a process boundary.
/// Reads and projections are functions that run in the tenant's turn, next to its engine: a gateway for tenants on
/// another node runs them on that node (it forwards the use case, or the request, to the tenant's owner).
/// </remarks>
public interface ITenant
{
    long TenantId { get; }

    string Name { get; }

    string TimeZone { get; }

    long CreatedAt { get; }

    /// <summary>Runs <paramref name="read"/> against the engine in the tenant's turn, after earlier writes are durable.</summary>
    Task<T> QueryAsync<T>(Func<CallCenter, T> read);

    /// <summary>Applies <paramref name="command"/> (logged when the engine accepts it), then projects the result in the
    /// same turn; answers once the command is durable.</summary>
    Task<T> ExecuteAsync<T>(TenantCommand command, Func<CallCenter, CommandResult, T> project);

    /// <summary>The tenant's webhook subscriptions, as events are matched against them.</summary>
    IReadOnlyList<Webhook> Webhooks { get; }

    /// <summary>Changes the subscriptions in the tenant's turn (so concurrent changes do not overwrite one another):
    /// <paramref name="change"/> gets the current list and returns the new one, or null to refuse (the result is then
    /// false).</summary>
    Task<bool> UpdateWebhooksAsync(Func<IReadOnlyList<Webhook>, IEnumerable<Webhook>?> change);

    /// <summary>The tenant's local date of a Unix-ms time, as yyyy-MM-dd.</summary>
    string Day(long unixMs);
}

/// <summary>The tenant hosts running in this process (all of them on a single node; a cluster node's share).</summary>
public interface ILocalTenants
{
    IEnumerable<TenantHost> Hosts { get; }
}
