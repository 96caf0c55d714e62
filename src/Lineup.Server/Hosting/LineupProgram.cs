using System.Text;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Storage;
using Microsoft.Extensions.Options;

namespace Lineup.Server.Hosting;

/// <summary>
/// The server's entry point: reads the command line (<see cref="ServerCommandLine"/>), prints the help, refuses
/// options and settings that nothing reads (<see cref="SettingsCatalog"/>), resets the administrator's password on
/// request, and otherwise composes and runs the server. A mistake stops it with one line naming the culprit and exit
/// code <see cref="UsageError"/>, never a stack trace.
/// </summary>
public static class LineupProgram
{
    public const int UsageError = 2;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var commandLine = ServerCommandLine.Parse(args);
        if (commandLine.Help)
        {
            await stdout.WriteAsync(Help(SettingsCatalog.From(Compose([]).Services)));
            return 0;
        }
        if (commandLine.Error is { } error) return Usage(stderr, error);

        try
        {
            var builder = Compose([.. commandLine.HostArguments]);
            if (SettingsCatalog.From(builder.Services).Check(commandLine, builder.Configuration) is { } unknown) return Usage(stderr, unknown);
            var app = builder.Build();
            app.MapLineup();
            if (commandLine.ResetAdminPassword) return await ResetAdminPasswordAsync(app, stdout);
            await app.RunAsync();
            return 0;
        }
        catch (Exception e) when (e is FormatException or OptionsValidationException
                                  || (e is InvalidOperationException && e.Source == "Microsoft.Extensions.Configuration.Binder"))
        {
            // A setting with a bad value (checked at composition, by the binder or by validation at start): each of these
            // messages names the key.
            return Usage(stderr, e.Message);
        }
        catch (IOException e) when (AddressInUse(e))
        {
            // An HTTP or SIP address another process holds: said plainly (the message names the address), not a crash.
            await stderr.WriteLineAsync($"Lineup could not start: {e.Message}");
            return 1;
        }
    }

    private static bool AddressInUse(Exception? e)
    {
        for (; e != null; e = e.InnerException)
        {
            if (e is Microsoft.AspNetCore.Connections.AddressInUseException
                || e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse })
                return true;
        }
        return false;
    }

    /// <summary>The server's builder, composed. The content root is the server's own folder (its appsettings.json),
    /// whatever the current directory is.</summary>
    internal static WebApplicationBuilder Compose(string[] args)
    {
        // The slim builder: no IIS integration, no HTTP/3 (QUIC), no hosting-startup scan and no Event Log or debugger
        // log providers, each loaded at start-up for nothing here; HTTPS endpoints from configuration are added back.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.AddLineup();
        return builder;
    }

    private static int Usage(TextWriter stderr, string error)
    {
        stderr.WriteLine($"Lineup: {error}");
        return UsageError;
    }

    /// <summary>Sets the system administrator's password from <c>LINEUP_ADMIN_PASSWORD</c> (or a generated one, printed
    /// once), ends its sessions and exits without serving.</summary>
    private static async Task<int> ResetAdminPasswordAsync(WebApplication app, TextWriter stdout)
    {
        var given = app.Configuration[LineupComposition.AdminPasswordVariable];
        var password = string.IsNullOrEmpty(given) ? Passwords.Generate() : given;
        await app.Services.GetRequiredService<Database>().MigrateAsync();
        await app.Services.GetRequiredService<AccountService>().ResetSystemAdminPasswordAsync(password);
        var where = app.Services.GetRequiredService<DataLocation>().Describe();
        await stdout.WriteLineAsync(string.IsNullOrEmpty(given)
            ? $"Lineup: the system administrator '{AccountService.SystemAdminName}' in {where} now has the password '{password}' (shown once); its sessions are ended."
            : $"Lineup: the system administrator '{AccountService.SystemAdminName}' in {where} now has the password in {LineupComposition.AdminPasswordVariable}; its sessions are ended.");
        return 0;
    }

    /// <summary>The text of <c>--help</c>: the options, the environment variables and every setting with its default.</summary>
    public static string Help(SettingsCatalog settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var sb = new StringBuilder();
        sb.Append("Lineup: a call-center queue server (ACD).\n\n")
          .Append("Usage: dotnet run --project src/Lineup.Server [-- OPTIONS]   (a published build: Lineup.Server [OPTIONS])\n\n")
          .Append("Options:\n");
        var options = SettingsCatalog.TopLevel.Select(s => ($"--{s.Key} {Placeholder(s.Key)}", Described(s)))
            .Append(($"{ServerCommandLine.ResetAdminPasswordSwitch}", $"give the system administrator '{AccountService.SystemAdminName}' the password in " +
                $"{LineupComposition.AdminPasswordVariable} (or a generated one, printed once), end its sessions, and exit"))
            .Append(($"{ServerCommandLine.HelpSwitch}", "print this and exit"))
            .ToList();
        Table(sb, options);
        sb.Append("\nEnvironment:\n");
        Table(sb, [.. SettingsCatalog.Variables.Select(s => (s.Key, Described(s)))]);
        sb.Append("\nSettings: --Section:Key=VALUE (or --Section:Key VALUE), the environment variable Section__Key=VALUE, or\n")
          .Append("appsettings.json. An option or setting that nothing reads stops the server, naming it.\n");
        Table(sb, [.. settings.Lineup.Select(s => (s.Key + (s.AnySubkey ? "[:N]" : ""), Described(s)))]);
        sb.Append("\nThe framework's settings are accepted too: --Logging:LogLevel:Default=Debug (Lineup.Sip shows each SIP\n")
          .Append("message at Debug), --Kestrel:..., --environment NAME. More in README.md (Configuration) and docs/.\n");
        return sb.ToString();
    }

    private static string Placeholder(string key) => key switch
    {
        LineupComposition.DataDirKey => "PATH",
        LineupComposition.DatabaseKey => "CONNECTION",
        _ => "URL",
    };

    private static string Described(Setting s) =>
        (s.Description.Length > 0 ? s.Description.TrimEnd('.') : "") + (s.Default.Length > 0 ? $" [default: {s.Default}]" : "");

    private static void Table(StringBuilder sb, IReadOnlyList<(string Name, string Text)> rows)
    {
        var width = rows.Max(r => r.Name.Length) + 2;
        foreach (var (name, text) in rows) sb.Append("  ").Append(name.PadRight(width)).Append(text).Append('\n');
    }
}
