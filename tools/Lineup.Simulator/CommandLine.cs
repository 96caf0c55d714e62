using System.Globalization;
using Lineup.Engine;

namespace Lineup.Simulator;

/// <summary>The outcome of parsing: options, or an error naming the argument at fault, or a request for help.</summary>
public sealed record ParseResult
{
    public SimulationOptions? Options { get; init; }
    /// <summary>The argument at fault (for example <c>--agents</c>), when parsing failed.</summary>
    public string? Argument { get; init; }
    public string? Error { get; init; }
    public bool Help { get; init; }

    public bool Ok => Options != null;

    internal static ParseResult Fail(string argument, string message) => new() { Argument = argument, Error = message };
}

/// <summary>
/// Parses <c>--agents N --arrivals-per-hour X --aht SECONDS --hours H --strategy NAME --seed K
/// [--patience SECONDS] [--sla SECONDS] [--answer-delay SECONDS]</c>.
/// </summary>
public static class CommandLine
{
    public const string Usage =
        "usage: Lineup.Simulator --agents N --arrivals-per-hour X --aht SECONDS --hours H --strategy NAME --seed K\n" +
        "                        [--patience SECONDS] [--sla SECONDS] [--answer-delay SECONDS]\n" +
        "  --agents N             agents logged in Ready (1-100000)\n" +
        "  --arrivals-per-hour X  mean Poisson arrival rate\n" +
        "  --aht SECONDS          mean exponential talk time\n" +
        "  --hours H              simulated hours of arrivals (the first hour is warm-up, not measured, when H > 2)\n" +
        "  --strategy NAME        a Lineup strategy (longest_idle, ring_all, ...) or a vendor's name for one\n" +
        "  --seed K               random seed (an integer): the same seed gives the same figures\n" +
        "  --patience SECONDS     mean exponential caller patience; callers hang up when it runs out (default: never)\n" +
        "  --sla SECONDS          service-level time (default 20)\n" +
        "  --answer-delay SECONDS agents answer this long after the offer (default 0: at once)\n";

    private static readonly string[] Required = ["--agents", "--arrivals-per-hour", "--aht", "--hours", "--strategy", "--seed"];

    private static readonly HashSet<string> Known =
        new(Required.Concat(["--patience", "--sla", "--answer-delay"]), StringComparer.Ordinal);

    public static ParseResult Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name is "-h" or "--help") return new ParseResult { Help = true };
            if (!Known.Contains(name)) return ParseResult.Fail(name, $"unknown argument '{name}'");
            if (values.ContainsKey(name)) return ParseResult.Fail(name, $"{name} is given more than once");
            if (i + 1 >= args.Count || Known.Contains(args[i + 1]))
                return ParseResult.Fail(name, $"{name} needs a value");
            values[name] = args[++i];
        }
        foreach (var name in Required)
            if (!values.ContainsKey(name)) return ParseResult.Fail(name, $"{name} is required");

        if (!TryInt(values["--agents"], 1, 100_000, out var agents))
            return ParseResult.Fail("--agents", $"--agents must be a whole number from 1 to 100000, not '{values["--agents"]}'");
        if (!TryNumber(values["--arrivals-per-hour"], 0, 1e9, out var arrivals, minExclusive: true))
            return Bad("--arrivals-per-hour", values, "a number greater than 0 (at most 1e9)");
        if (!TryNumber(values["--aht"], 0, 1e6, out var aht, minExclusive: true))
            return Bad("--aht", values, "a number of seconds greater than 0 (at most 1e6)");
        if (!TryNumber(values["--hours"], 0, 1e5, out var hours, minExclusive: true))
            return Bad("--hours", values, "a number of hours greater than 0 (at most 1e5)");
        if (!long.TryParse(values["--seed"], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seed))
            return Bad("--seed", values, "a whole number");
        var strategyName = values["--strategy"];
        if (!StrategyNames.TryParse(strategyName, out var strategy))
        {
            return ParseResult.Fail("--strategy",
                $"--strategy '{strategyName}' is not a strategy: use one of {string.Join(", ", StrategyNames.Table.Select(r => r.Name))}");
        }

        double? patience = null;
        if (values.TryGetValue("--patience", out var p))
        {
            if (!TryNumber(p, 0, 1e6, out var value, minExclusive: true))
                return Bad("--patience", values, "a number of seconds greater than 0 (at most 1e6)");
            patience = value;
        }
        var sla = SimulationOptions.DefaultSlaSeconds;
        if (values.TryGetValue("--sla", out var s) && !TryNumber(s, 0, 1e6, out sla))
            return Bad("--sla", values, "a number of seconds from 0 to 1e6");
        var answerDelay = 0.0;
        if (values.TryGetValue("--answer-delay", out var d) && !TryNumber(d, 0, 3600, out answerDelay))
            return Bad("--answer-delay", values, "a number of seconds from 0 to 3600");

        return new ParseResult
        {
            Options = new SimulationOptions
            {
                Agents = agents,
                ArrivalsPerHour = arrivals,
                AhtSeconds = aht,
                Hours = hours,
                StrategyName = strategyName,
                Strategy = strategy,
                Seed = seed,
                PatienceSeconds = patience,
                SlaSeconds = sla,
                AnswerDelaySeconds = answerDelay,
            },
        };
    }

    private static ParseResult Bad(string name, Dictionary<string, string> values, string expected) =>
        ParseResult.Fail(name, $"{name} must be {expected}, not '{values[name]}'");

    private static bool TryInt(string text, int min, int max, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;

    private static bool TryNumber(string text, double min, double max, out double value, bool minExclusive = false) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value)
        && double.IsFinite(value) && (minExclusive ? value > min : value >= min) && value <= max;
}
