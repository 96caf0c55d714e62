namespace Lineup.Simulator;

/// <summary>
/// The simulator's command line: parses the arguments, runs one <see cref="Simulation"/> and prints its result as
/// one JSON object. Bad arguments: a message naming the argument on stderr, exit code 2.
/// </summary>
public static class Program
{
    public const int UsageError = 2;

    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var parsed = CommandLine.Parse(args);
        if (parsed.Help)
        {
            stdout.Write(CommandLine.Usage);
            return 0;
        }
        if (parsed.Options is not { } options)
        {
            stderr.WriteLine($"error: {parsed.Error}");
            stderr.Write(CommandLine.Usage);
            return UsageError;
        }
        var result = Simulation.Run(options);
        stdout.WriteLine(result.ToJson());
        foreach (var warning in result.Warnings) stderr.WriteLine($"warning: {warning}");
        return 0;
    }
}
