
namespace Lineup.Sip.Tests;

/// <summary>RFC 4475 torture messages: every file in Vectors/4475 must be listed in its manifest, and every entry runs.</summary>
public sealed class TortureVectorTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Vectors", "4475");

    private static IEnumerable<(string File, string Verdict, string Reason)> Manifest() =>
        File.ReadAllLines(Path.Combine(Dir, "manifest.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => (p[0], p[1], p.Length > 2 ? p[2] : ""));

    public static TheoryData<string, string, string> Entries()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (file, verdict, reason) in Manifest())
        {
            data.Add(file, verdict, reason);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Vector_gets_the_verdict_in_the_manifest(string file, string verdict, string reason)
    {
        Assert.Contains(verdict, new[] { "valid", "invalid" });
        var bytes = File.ReadAllBytes(Path.Combine(Dir, file));
        var result = SipParser.Parse(bytes);
        if (verdict == "valid")
        {
            Assert.True(result.Success, $"{file}: {result.Error} {result.Detail}");
            // What we accept must survive a write and re-parse with the same headers and body.
            var again = SipParser.Parse(SipWriter.Write(result.Message!));
            Assert.True(again.Success, $"{file} re-parse: {again.Error} {again.Detail}");
            Assert.Equal(result.Message!.Body.ToArray(), again.Message!.Body.ToArray());
        }
        else
        {
            Assert.False(result.Success, $"{file} was accepted");
            Assert.Equal(Enum.Parse<SipParseError>(reason), result.Error);
        }
    }

    [Fact]
    public void Every_vector_file_is_in_the_manifest_and_every_entry_exists()
    {
        var listed = Manifest().Select(e => e.File).ToHashSet();
        var onDisk = Directory.GetFiles(Dir).Select(Path.GetFileName).Where(f => f != "manifest.txt" && !f!.StartsWith('.')).ToHashSet();
        Assert.Empty(onDisk.Except(listed));
        Assert.Empty(listed.Except(onDisk!));
        Assert.Equal(listed.Count, Manifest().Count());
    }
}
