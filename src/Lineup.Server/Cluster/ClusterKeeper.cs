using Lineup.Server.Storage;
using Orleans;
using Orleans.Runtime;

namespace Lineup.Server.Cluster;

/// <summary>
/// Keeps every tenant running somewhere (docs/design/cluster.md, "Timers after node loss"). Once a second each node
/// reads the tenants with their lease holders (one query), refreshes its catalog, and calls the grain of every tenant
/// whose holder is not an active member: a node that died (once membership declares it dead), a node that stopped and
/// released its tenants, or a tenant never started. Orleans starts each on a live node, where its timers that fell due
/// meanwhile fire at once, its webhook deliveries resume, and its stream clients reconnect. Orleans's reminders would
/// not do: their period is a minute at least. Every node runs it; a grain has one activation however many call it.
/// </summary>
public sealed partial class ClusterKeeper(ClusterGateway gateway, LeaseStore leases, IGrainFactory grains, ISiloStatusOracle oracle, TimeProvider time,
    ILogger<ClusterKeeper> log) : BackgroundService
{
    private const int Parallel = 8;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = TimeSpan.FromSeconds(gateway.Settings.KeeperIntervalSeconds);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (oracle.CurrentStatus == SiloStatus.Active)
                {
                    try
                    {
                        await KeepAsync(stoppingToken);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        LogKeepFailed(log, ex);
                    }
                }
                await Task.Delay(every, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One round: refresh the catalog, start the tenants that run nowhere; returns how many were called.</summary>
    public async Task<int> KeepAsync(CancellationToken ct)
    {
        var orphans = gateway.Refresh(await leases.TenantsAndOwnersAsync(ct));
        using var slots = new SemaphoreSlim(Parallel);
        await Task.WhenAll(orphans.Select(async id =>
        {
            await slots.WaitAsync(ct);
            try
            {
                await grains.GetGrain<ITenantGrain>(id).EnsureActiveAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                ClusterGateway.LogStartFailed(log, id, ex.Message);
            }
            finally
            {
                slots.Release();
            }
        }));
        return orphans.Count;
    }

    [LoggerMessage(EventId = 430, Level = LogLevel.Warning, Message = "The keeper's round failed; trying again")]
    private static partial void LogKeepFailed(ILogger logger, Exception ex);
}
