using Lineup.Fuzz;

namespace Lineup.Sip.Tests;

/// <summary>
/// Replays every input of the committed fuzz corpus (tests/Lineup.Sip.Tests/Fuzz/&lt;target&gt;/: seeds, the queue
/// afl++ found, and every input that once crashed) through the same checks the fuzz targets run
/// (bench/fuzz/Lineup.Fuzz/FuzzTargets.cs). A crash fixed once stays fixed.
/// </summary>
public sealed class FuzzCorpusTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Fuzz");

    public static TheoryData<string> Targets() => [.. FuzzTargets.All.Keys];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_corpus_input_passes_its_target(string target)
    {
        var files = Directory.GetFiles(Path.Combine(Root, target));
        Assert.NotEmpty(files);
        var failures = new List<string>();
        foreach (var file in files)
        {
            try
            {
                FuzzTargets.All[target](File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failures.Add($"{Path.GetFileName(file)}: {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Every_corpus_folder_is_a_target()
    {
        var folders = Directory.GetDirectories(Root).Select(d => Path.GetFileName(d)!).Order().ToList();
        Assert.Equal(FuzzTargets.All.Keys.Order().ToList(), folders);
    }
}
