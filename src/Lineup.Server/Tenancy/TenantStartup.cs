namespace Lineup.Server.Tenancy;

/// <summary>Loads every tenant (migrations, first-run bootstrap, command-log replay) before the server takes
/// requests, and stops them on shutdown (single-node mode).</summary>
public sealed class TenantStartup(TenantRegistry registry, IConfiguration config) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken) =>
        Announce(await registry.StartAsync(config["LINEUP_ADMIN_PASSWORD"], cancellationToken));

    public async Task StopAsync(CancellationToken cancellationToken) => await registry.DisposeAsync();

    /// <summary>Prints the system administrator's generated password, once, when the first start made one.</summary>
    public static void Announce(string? generated)
    {
        if (generated != null)
            Console.WriteLine($"Lineup: created system administrator 'admin' with password '{generated}' (shown once; set LINEUP_ADMIN_PASSWORD to choose it).");
    }
}
