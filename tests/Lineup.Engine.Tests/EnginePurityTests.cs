using System.Text.RegularExpressions;

namespace Lineup.Engine.Tests;

/// <summary>
/// The engine is a pure state machine: time comes in as a parameter, and it does no I/O, starts no threads or
/// tasks and draws no unseeded randomness. These tests read its sources and fail on any use of the ambient
/// clock, timers, threads, tasks, files or the shared random generator.
/// </summary>
public partial class EnginePurityTests
{
    private static readonly (string Name, Regex Pattern)[] Forbidden =
    [
        ("DateTime.Now/UtcNow/Today", WallClock()),
        ("Environment.TickCount", new Regex(@"\bEnvironment\s*\.\s*TickCount", RegexOptions.CultureInvariant)),
        ("Stopwatch", new Regex(@"\bStopwatch\b", RegexOptions.CultureInvariant)),
        ("Thread / System.Threading", new Regex(@"\bThread\b|\bSystem\s*\.\s*Threading\b", RegexOptions.CultureInvariant)),
        ("Task", new Regex(@"\b(Value)?Task\b|\basync\b|\bawait\b", RegexOptions.CultureInvariant)),
        ("System.IO", new Regex(@"\bSystem\s*\.\s*IO\b", RegexOptions.CultureInvariant)),
        ("Random.Shared / new Random(", new Regex(@"\bRandom\s*\.\s*Shared\b|\bnew\s+(System\s*\.\s*)?Random\s*\(", RegexOptions.CultureInvariant)),
    ];

    [GeneratedRegex(@"\bDateTime(Offset)?\s*\.\s*(Now|UtcNow|Today)\b", RegexOptions.CultureInvariant)]
    private static partial Regex WallClock();

    [Fact]
    public void Engine_sources_use_no_clock_threads_tasks_io_or_shared_random()
    {
        var files = EngineSourceFiles();
        // The engine has a dozen and more source files; finding none would make this test pass vacuously.
        Assert.True(files.Count >= 10, $"found only {files.Count} engine source files under {EngineDirectory()}");
        Assert.Contains(files, f => Path.GetFileName(f) == "CallCenter.cs");

        var violations = files
            .SelectMany(f => Violations(File.ReadAllText(f)).Select(v => $"{Path.GetRelativePath(EngineDirectory(), f)}:{v}"))
            .ToList();
        Assert.True(violations.Count == 0, "the engine must stay pure:\n" + string.Join("\n", violations));
    }

    [Theory]
    [InlineData("var t = DateTime.UtcNow;")]
    [InlineData("long now = DateTimeOffset.Now.ToUnixTimeMilliseconds();")]
    [InlineData("var today = DateTime.Today;")]
    [InlineData("var ms = Environment.TickCount64;")]
    [InlineData("var sw = System.Diagnostics.Stopwatch.StartNew();")]
    [InlineData("Thread.Sleep(10);")]
    [InlineData("using System.Threading.Tasks;")]
    [InlineData("await Task.Delay(1);")]
    [InlineData("_ = Task.Run(Work);")]
    [InlineData("File.WriteAllText(System.IO.Path.GetTempFileName(), \"x\");")]
    [InlineData("var r = Random.Shared.Next();")]
    [InlineData("var r = new Random(42);")]
    public void The_scan_catches_each_forbidden_use(string line) =>
        Assert.NotEmpty(Violations("namespace X;\n" + line + "\n"));

    [Theory]
    [InlineData("/// <summary>Not thread-safe; never calls DateTime.Now.</summary>")]
    [InlineData("// a Task. would be wrong here; so would System.IO")]
    [InlineData("/* Stopwatch-free: new Random( is forbidden */ var x = 1;")]
    [InlineData("private long _dayEnd = long.MinValue; // DateTime.UtcNow is not used")]
    [InlineData("private ulong NextRandom() => _rng;")]
    public void Comments_and_lookalike_names_are_not_flagged(string line) =>
        Assert.Empty(Violations("namespace X;\n" + line + "\n"));

    /// <summary>Forbidden uses in <paramref name="source"/>, as "line: name: text", comments ignored.</summary>
    private static List<string> Violations(string source)
    {
        var result = new List<string>();
        var lines = StripComments(source).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            foreach (var (name, pattern) in Forbidden)
            {
                if (pattern.IsMatch(lines[i])) result.Add($"{i + 1}: {name}: {lines[i].Trim()}");
            }
        }
        return result;
    }

    /// <summary>Blanks out // and /* */ comments, keeping line breaks so line numbers stay right. String
    /// and character literals are kept as they are (a comment marker inside one is not a comment).</summary>
    private static string StripComments(string source)
    {
        var sb = new System.Text.StringBuilder(source.Length);
        var i = 0;
        while (i < source.Length)
        {
            var ch = source[i];
            var next = i + 1 < source.Length ? source[i + 1] : '\0';
            if (ch == '/' && next == '/')
            {
                while (i < source.Length && source[i] != '\n') i++;
            }
            else if (ch == '/' && next == '*')
            {
                i += 2;
                while (i < source.Length && !(source[i] == '*' && i + 1 < source.Length && source[i + 1] == '/'))
                {
                    if (source[i] == '\n') sb.Append('\n');
                    i++;
                }
                i += 2;
            }
            else if (ch is '"' or '\'')
            {
                sb.Append(ch);
                i++;
                while (i < source.Length && source[i] != ch && source[i] != '\n')
                {
                    if (source[i] == '\\' && i + 1 < source.Length) sb.Append(source[i++]);
                    sb.Append(source[i++]);
                }
                if (i < source.Length && source[i] == ch) sb.Append(source[i++]);
            }
            else
            {
                sb.Append(ch);
                i++;
            }
        }
        return sb.ToString();
    }

    private static List<string> EngineSourceFiles()
    {
        var dir = EngineDirectory();
        var separator = Path.DirectorySeparatorChar;
        return Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{separator}obj{separator}", StringComparison.Ordinal)
                        && !f.Contains($"{separator}bin{separator}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static string EngineDirectory() => Path.Combine(RepositoryRoot(), "src", "Lineup.Engine");

    /// <summary>The folder holding Lineup.slnx, found by walking up from the test's output folder.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Lineup.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Lineup.slnx above {AppContext.BaseDirectory}");
    }
}
