namespace Lineup.Server.Hosting;

/// <summary>
/// The server's command line, read before the host is built: Lineup's two switches (<c>--help</c> and
/// <c>--reset-admin-password</c>, which take no value), and every other argument as the configuration's command-line
/// provider will read it (<c>--key value</c>, <c>--key=value</c>, <c>/key value</c>). The provider silently drops what
/// it cannot read (a word without dashes, <c>-x</c>, a last <c>--key</c> without a value); here each of those is an
/// error that names the argument, so a typo never starts a server that ignores it.
/// </summary>
public sealed record ServerCommandLine
{
    public const string HelpSwitch = "--help";
    public const string ResetAdminPasswordSwitch = "--reset-admin-password";

    private static readonly string[] s_helpSpellings = ["--help", "-h", "-?", "/?", "/h", "/help"];

    public bool Help { get; private init; }
    public bool ResetAdminPassword { get; private init; }

    /// <summary>The arguments for the host (Lineup's switches removed).</summary>
    public IReadOnlyList<string> HostArguments { get; private init; } = [];

    /// <summary>(key, value) as the configuration will see them, in order, with the argument each came from.</summary>
    public IReadOnlyList<(string Key, string Value, string Argument)> Settings { get; private init; } = [];

    /// <summary>What is wrong with the arguments, naming the argument; null when nothing is.</summary>
    public string? Error { get; private init; }

    public static ServerCommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Any(a => s_helpSpellings.Contains(a, StringComparer.OrdinalIgnoreCase))) return new ServerCommandLine { Help = true };

        var reset = false;
        var host = new List<string>();
        var settings = new List<(string, string, string)>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (string.Equals(arg, ResetAdminPasswordSwitch, StringComparison.OrdinalIgnoreCase))
            {
                reset = true;
                continue;
            }
            host.Add(arg);
            var name = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..]
                : arg.StartsWith('/') ? arg[1..]
                : null;
            if (name == null)
            {
                return Fail(arg.StartsWith('-')
                    ? $"unknown option '{arg}' (options start with two dashes: --{arg.TrimStart('-')})"
                    : $"unexpected argument '{arg}' (settings are --Key value or --Key=value)");
            }
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                if (equals == 0) return Fail($"'{arg}' has no name before '='");
                settings.Add((name[..equals], name[(equals + 1)..], arg));
                continue;
            }
            if (name.Length == 0) return Fail($"'{arg}' is not an option");
            if (i + 1 >= args.Count) return Fail($"{arg} needs a value ({arg} VALUE or {arg}=VALUE)");
            host.Add(args[++i]);
            settings.Add((name, args[i], arg));
        }
        return new ServerCommandLine { ResetAdminPassword = reset, HostArguments = host, Settings = settings };
    }

    private static ServerCommandLine Fail(string error) => new() { Error = error };
}
