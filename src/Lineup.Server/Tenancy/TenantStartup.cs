namespace Lineup.Server.Tenancy;

/// <summary>Loads every tenant (migrations, first-run bootstrap, command-log replay) before the server takes
/// requests, and stops them on shutdown.</summary>
public sealed class TenantStartup(TenantRegistry registry, IConfiguration config) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var generated = await registry.StartAsync(config["LINEUP_ADMIN_PASSWORD"], cancellationToken);
        if (generated != null)
            Console.WriteLine($"Lineup: created system administrator 'admin' with password '{generated}' (shown once; set LINEUP_ADMIN_PASSWORD to choose it).");
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await registry.DisposeAsync();
}
