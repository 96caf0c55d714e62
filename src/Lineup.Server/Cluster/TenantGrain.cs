using Lineup.Server.Storage;
using Lineup.Server.Tenancy;
using Lineup.Engine;
using Orleans;
using Orleans.Concurrency;

namespace Lineup.Server.Cluster;

/// <summary>Where a tenant runs, as its grain answers.</summary>
[GenerateSerializer, Immutable, Alias("lineup.placement")]
public sealed class TenantPlacement
{
    public static readonly TenantPlacement Missing = new() { Exists = false };

    /// <summary>False when the tenant does not exist (or was removed).</summary>
    [Id(0)] public bool Exists { get; init; }

    /// <summary>The URL of the node that runs it (for forwarding requests).</summary>
    [Id(1)] public string? HttpUrl { get; init; }

    /// <summary>The Orleans silo that runs it (as written in the tenant's lease).</summary>
    [Id(2)] public string? Silo { get; init; }
}

/// <summary>
/// One tenant in the cluster (key: the tenant's id). Orleans keeps one activation of it in the cluster and starts it
/// on a surviving node when its node dies. The activation owns the tenant's <see cref="TenantHost"/> — engine,
/// mailbox with group commit, timer, snapshots — on its node, so the grain's own methods are few and short; requests
/// reach the host on that node directly (docs/design/cluster.md).
/// </summary>
[Alias("lineup.tenant")]
public interface ITenantGrain : IGrainWithIntegerKey
{
    /// <summary>Starts the tenant if it is not running (taking its lease) and says where it runs.</summary>
    [Alias("ensure")]
    Task<TenantPlacement> EnsureActiveAsync();

    [Alias("rename")]
    Task RenameAsync(string name, string timeZone);

    /// <summary>Stops the tenant for good (it is being deleted): no last snapshot, no hand-over.</summary>
    [Alias("remove")]
    Task RemoveAsync();

    /// <summary>Telephony on another node: the queue whose extension is <paramref name="number"/> (in
    /// <see cref="TelephonyReply.Call"/>; result UnknownQueue when none).</summary>
    [Alias("queue-of-extension"), AlwaysInterleave]
    Task<TelephonyReply> QueueOfExtensionAsync(string number);

    /// <summary>Telephony on <paramref name="node"/> enqueues a SIP call (an <c>EnqueueCommand</c> as JSON): once
    /// applied, the call's media effects go to that node, with <paramref name="token"/>.</summary>
    [Alias("enqueue-call"), AlwaysInterleave]
    Task<TelephonyReply> EnqueueCallAsync(string command, string node, long token);

    /// <summary>A SIP outcome from the node that carries the call's legs (a command as JSON).</summary>
    [Alias("telephony-command"), AlwaysInterleave]
    Task<TelephonyReply> TelephonyCommandAsync(string command);
}

/// <summary>The activation: starts the host in <see cref="OnActivateAsync"/>, registers it with this node's gateway, and
/// stops it (a last snapshot, the lease released) when Orleans deactivates it. Kept alive: a tenant with no requests
/// still has timers and webhook deliveries to run.</summary>
[KeepAlive]
public sealed partial class TenantGrain(ClusterGateway gateway, AccountStore accounts, TenantServices services, ClusterTelephony telephony,
    ILogger<TenantGrain> log)
    : Grain, ITenantGrain
{
    private TenantHost? _host;
    private bool _removed;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var id = this.GetPrimaryKeyLong();
        if (await accounts.GetTenantAsync(id) is not { } row) return;
        // Where its live SIP calls have their media, before its first effects (timers that fell due) are delivered.
        await telephony.LoadRoutesAsync(id);
        var host = await TenantHost.StartAsync(row, services, gateway.Silo, cancellationToken);
        if (host == null) return;
        var context = GrainContext;
        host.OnLost = lost =>
        {
            // Another activation took the tenant (membership disagreed for a moment): this one goes away.
            gateway.Detach(lost);
            context.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationRequested, lost.Stopped ?? "taken over"), CancellationToken.None);
        };
        _host = host;
        gateway.Attach(host);
        _ = telephony.EndOrphansAsync(id);
        if (host.Lease.PreviousOwner is { } previous && previous != gateway.Silo)
        {
            gateway.CountFailover();
            LogTookOver(log, id, previous, host.Lease.Fence.Epoch);
        }
    }

    public Task<TenantPlacement> EnsureActiveAsync()
    {
        if (_host is not { Stopped: null } host)
        {
            // Missing, removed or taken over: this activation has nothing to serve; the next call starts afresh.
            DeactivateOnIdle();
            return Task.FromResult(_host == null || _removed ? TenantPlacement.Missing : gateway.Moving);
        }
        return Task.FromResult(gateway.Here);
    }

    public Task RenameAsync(string name, string timeZone)
    {
        _host?.UpdateTenant(_host.Tenant with { Name = name, TimeZone = timeZone });
        return Task.CompletedTask;
    }

    public async Task<TelephonyReply> QueueOfExtensionAsync(string number)
    {
        if (_host is not { Stopped: null } host) return TelephonyReply.Elsewhere;
        var queue = await host.QueryAsync(engine => engine.Queues.FirstOrDefault(q => q.Config.Extension == number)?.Id.Value);
        return new TelephonyReply { Result = (int)(queue == null ? CommandResult.UnknownQueue : CommandResult.Ok), Call = queue ?? 0 };
    }

    public async Task<TelephonyReply> EnqueueCallAsync(string command, string node, long token)
    {
        if (_host is not { Stopped: null } host || TenantCommand.Deserialize(command) is not EnqueueCommand enqueue) return TelephonyReply.Elsewhere;
        var result = await host.ExecuteAsync(enqueue, (_, r) =>
        {
            // In the tenant's turn, before this batch's effects are delivered: they go to the call's media node.
            if (r == CommandResult.Ok) telephony.AddRoute(host.TenantId, enqueue.Call.Value, node, token);
            return r;
        });
        if (result == CommandResult.Ok) await telephony.SaveRouteAsync(host.TenantId, enqueue.Call.Value, node, token);
        return new TelephonyReply { Result = (int)result, Call = enqueue.Call.Value };
    }

    public async Task<TelephonyReply> TelephonyCommandAsync(string command)
    {
        if (_host is not { Stopped: null } host) return TelephonyReply.Elsewhere;
        try
        {
            return new TelephonyReply { Result = (int)await host.ExecuteAsync(TenantCommand.Deserialize(command), (_, r) => r) };
        }
        catch (TenantUnavailableException)
        {
            return TelephonyReply.Elsewhere;
        }
    }

    public async Task RemoveAsync()
    {
        _removed = true;
        telephony.DropRoutes(this.GetPrimaryKeyLong());
        if (_host is { } host)
        {
            gateway.Detach(host);
            await host.StopAsync(handOver: false);
        }
        DeactivateOnIdle();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_host is not { } host) return;
        gateway.Detach(host);
        telephony.DropRoutes(host.TenantId);
        await host.StopAsync(handOver: !_removed);
        LogDeactivated(log, host.TenantId, reason.Description);
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Tenant {TenantId}: taken over from {Previous} (epoch {Epoch})")]
    private static partial void LogTookOver(ILogger logger, long tenantId, string previous, long epoch);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Tenant {TenantId}: stopped on this node ({Reason})")]
    private static partial void LogDeactivated(ILogger logger, long tenantId, string reason);
}
