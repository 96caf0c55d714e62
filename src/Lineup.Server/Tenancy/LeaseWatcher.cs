using Lineup.Server.Storage;

namespace Lineup.Server.Tenancy;

/// <summary>
/// Notices, every <see cref="Interval"/>, that another process or node has taken one of this process's tenants (its
/// epoch moved on) and stops that tenant's host. A write would notice on its own (its commit fails the fence); this is
/// for a tenant that only answers reads, which would otherwise go on answering from a state that is no longer the
/// truth. One query per interval for all local tenants.
/// </summary>
public sealed partial class LeaseWatcher(LeaseStore leases, Func<IEnumerable<TenantHost>> hosts, TimeProvider time, ILogger<LeaseWatcher> log)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(Interval, time, stoppingToken);
                try
                {
                    await CheckAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogCheckFailed(log, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Stops every local host whose lease has a newer epoch (or is gone); returns how many.</summary>
    public async Task<int> CheckAsync(CancellationToken ct = default)
    {
        var running = hosts().Where(h => h.Stopped == null).ToDictionary(h => h.TenantId);
        if (running.Count == 0) return 0;
        var stored = (await leases.ReadAsync(running.Keys, ct)).ToDictionary(l => l.TenantId);
        var lost = 0;
        foreach (var (id, host) in running)
        {
            if (stored.TryGetValue(id, out var lease) && lease.Epoch == host.Lease.Fence.Epoch) continue;
            host.Lose(lease == null
                ? $"Tenant {id} has no lease any more (removed)."
                : TenantHost.TakenOver(id, lease.Owner));
            lost++;
        }
        return lost;
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Checking the tenants' leases failed; trying again")]
    private static partial void LogCheckFailed(ILogger logger, Exception ex);
}
