using Lineup.Server.Application;

namespace Lineup.Server.Hosting;

/// <summary>
/// Says at start-up what a newcomer needs to know: where the data is, and that <c>LINEUP_ADMIN_PASSWORD</c> was not
/// used because the system administrator already had another password (it is read only when the data is new).
/// Runs after the tenants have started, so the administrator exists.
/// </summary>
public sealed partial class StartupReport(DataLocation data, AccountService accounts, IConfiguration config, ILogger<StartupReport> log)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        LogData(log, data.Describe());
        if (config[LineupComposition.AdminPasswordVariable] is { Length: > 0 } password
            && await accounts.SystemAdminHasPasswordAsync(password) == false)
        {
            LogAdminPasswordIgnored(log, LineupComposition.AdminPasswordVariable, AccountService.SystemAdminName, data.Describe(),
                ServerCommandLine.ResetAdminPasswordSwitch);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Lineup keeps its data in {Location}")]
    private static partial void LogData(ILogger logger, string location);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "{Variable} is ignored: the system administrator '{Admin}' already exists in {Location} with another password (the variable is read only when the data is new). Sign in with that password, or set it from the variable: stop the server and run it once with {Switch}.")]
    private static partial void LogAdminPasswordIgnored(ILogger logger, string variable, string admin, string location, string @switch);
}
