using System.Text.Json;
using System.Text.RegularExpressions;
using Lineup.Simulator;

namespace Lineup.Engine.Tests;

/// <summary>
/// The README's simulator example, read from README.md itself and run: the command line it prints works, the
/// figures it says the JSON holds are there, and the options it lists are the ones the simulator parses. If this
/// breaks, the README is wrong. (The README's curl walkthrough runs against the real server in
/// Lineup.Server.Tests, <c>ReadmeWalkthroughTests</c>.)
/// </summary>
public partial class ReadmeExampleTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Lineup.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"No Lineup.slnx above {AppContext.BaseDirectory}.");
    }

    /// <summary>The section of the README under a "### " heading, to the next heading.</summary>
    private static string Section(string heading)
    {
        var start = Readme.IndexOf("\n### " + heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"the README has no section \"{heading}\"");
        var end = Readme.IndexOf("\n#", start + 5, StringComparison.Ordinal);
        return Readme[start..(end < 0 ? Readme.Length : end)];
    }

    [GeneratedRegex(@"^dotnet run --project tools/Lineup\.Simulator .*? -- (?<args>.+)$", RegexOptions.Multiline)]
    private static partial Regex SimulatorCommand();

    [GeneratedRegex(@"`([a-z_]+)`")]
    private static partial Regex Field();

    [GeneratedRegex(@"--[a-z-]+")]
    private static partial Regex Option();

    [Fact]
    public void Readme_simulator_command_runs_and_prints_the_figures_the_readme_names()
    {
        var section = Section("The simulator");
        var command = SimulatorCommand().Match(section);
        Assert.True(command.Success, $"no simulator command line in the README's simulator section:\n{section}");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = Program.Run(command.Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries), stdout, stderr);

        Assert.Equal((0, ""), (code, stderr.ToString()));
        using var json = JsonDocument.Parse(stdout.ToString());
        var root = json.RootElement;
        // "It prints one JSON object (`offered`, `answered`, ..., the Erlang C prediction, and each wait estimator's error)".
        var prints = section[section.IndexOf("It prints one JSON object", StringComparison.Ordinal)..];
        prints = string.Join(' ', prints[..(prints.IndexOf(')', StringComparison.Ordinal) + 1)].Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries));
        var named = Field().Matches(prints).Select(m => m.Groups[1].Value).ToList();
        Assert.True(named.Count >= 7, $"the README names {named.Count} figures: {prints}");
        foreach (var name in named) Assert.True(root.TryGetProperty(name, out _), $"the README names `{name}`, the simulator does not print it: {root}");
        Assert.Contains("the Erlang C prediction", prints, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Object, root.GetProperty("erlang_c").ValueKind);
        Assert.Contains("each wait estimator's error", prints, StringComparison.Ordinal);
        Assert.NotEmpty(root.GetProperty("wait_estimate_errors").EnumerateObject());
        Assert.True(root.GetProperty("offered").GetInt64() > 0);

        // The example converges (no warning, checked above), and the figures the README quotes are the run's.
        var ci = root.GetProperty("confidence_intervals");
        string Round(JsonElement e, string name, string format) => e.GetProperty(name).GetDouble().ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        var sl = ci.GetProperty("service_level");
        var asa = ci.GetProperty("asa_seconds");
        var erlang = root.GetProperty("erlang_c");
        Assert.Contains($"service level {Round(root, "service_level", "F3")} ({Round(sl, "low", "F3")} to {Round(sl, "high", "F3")}) against Erlang\nC's {Round(erlang, "service_level", "F3")}", section, StringComparison.Ordinal);
        Assert.Contains($"ASA {Round(root, "asa_seconds", "F0")} s ({Round(asa, "low", "F0")} to {Round(asa, "high", "F0")}) against {Round(erlang, "asa_seconds", "F0")} s", section, StringComparison.Ordinal);
        Assert.InRange(erlang.GetProperty("asa_seconds").GetDouble(), asa.GetProperty("low").GetDouble(), asa.GetProperty("high").GetDouble());
        Assert.InRange(erlang.GetProperty("service_level").GetDouble(), sl.GetProperty("low").GetDouble(), sl.GetProperty("high").GetDouble());
    }

    [Fact]
    public void Readme_simulator_options_are_the_ones_it_parses()
    {
        var section = Section("The simulator");
        var options = section[section.IndexOf("Options:", StringComparison.Ordinal)..];
        options = options[..options.IndexOf("It prints", StringComparison.Ordinal)];
        var inReadme = Option().Matches(options).Select(m => m.Value).Order(StringComparer.Ordinal).ToArray();
        var inUsage = Option().Matches(CommandLine.Usage).Select(m => m.Value).Distinct().Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(inUsage, inReadme);
        // And the example's own options all parse.
        var args = SimulatorCommand().Match(section).Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(CommandLine.Parse(args).Ok, string.Join(' ', args));
    }
}
