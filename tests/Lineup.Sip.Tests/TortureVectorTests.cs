
namespace Lineup.Sip.Tests;

/// <summary>RFC 4475 torture messages: the RFC's 49 vectors, each in Vectors/4475 and in its manifest with a verdict,
/// and every entry runs.</summary>
public sealed class TortureVectorTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Vectors", "4475");

    /// <summary>Every message of RFC 4475 §3 by its file name, section by section: written out here so that the manifest
    /// and the folder are checked against the RFC, not against each other.</summary>
    private static readonly string[] Rfc4475 =
    [
        // §3.1.1 valid messages
        "wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq", "semiuri", "transports",
        "mpart01", "unreason", "noreason",
        // §3.1.2 invalid messages
        "badinv01", "clerr", "ncl", "scalar02", "scalarlg", "quotbal", "ltgtruri", "lwsruri", "lwsstart", "trws",
        "escruri", "baddate", "regbadct", "badaspec", "baddn", "badvers", "mismatch01", "mismatch02", "bigcode",
        // §3.2 transaction layer
        "badbranch",
        // §3.3 application layer
        "insuf", "unkscm", "novelsc", "unksm2", "bext01", "invut", "regaut01", "multi01", "mcl01", "bcast", "zeromf",
        "cparam01", "cparam02", "regescrt", "sdp01",
        // §3.4 backward compatibility
        "inv2543",
    ];

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
            // What we accept must survive a write and re-parse with the same start line, headers (names, values, order)
            // and body.
            var message = result.Message!;
            var again = SipParser.Parse(SipWriter.Write(message));
            Assert.True(again.Success, $"{file} re-parse: {again.Error} {again.Detail}");
            Assert.Equal(message.RequestLine, again.Message!.RequestLine);
            Assert.Equal(message.StatusLine, again.Message.StatusLine);
            // The writer puts its own Content-Length (the body's length) last.
            Assert.Equal(WithoutLength(message), WithoutLength(again.Message));
            Assert.Equal(message.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), again.Message.GetFirst("Content-Length"));
            Assert.Equal(message.Body.ToArray(), again.Message.Body.ToArray());
        }
        else
        {
            Assert.False(result.Success, $"{file} was accepted");
            Assert.Equal(Enum.Parse<SipParseError>(reason), result.Error);
        }
    }

    private static SipHeader[] WithoutLength(SipMessage m) =>
        m.Headers.Where(h => !string.Equals(h.Name, "Content-Length", StringComparison.OrdinalIgnoreCase)).ToArray();

    [Fact]
    public void The_manifest_and_the_folder_hold_exactly_the_rfcs_49_vectors()
    {
        Assert.Equal(49, Rfc4475.Distinct().Count());
        var expected = Rfc4475.Select(n => n + ".sip").Order(StringComparer.Ordinal).ToArray();
        var listed = Manifest().Select(e => e.File).ToList();
        Assert.Equal(expected, listed.Order(StringComparer.Ordinal).ToArray()); // also: no name listed twice
        var onDisk = Directory.GetFiles(Dir).Select(Path.GetFileName).Where(f => f != "manifest.txt" && !f!.StartsWith('.'));
        Assert.Equal(expected, onDisk.Order(StringComparer.Ordinal).ToArray());
    }
}
