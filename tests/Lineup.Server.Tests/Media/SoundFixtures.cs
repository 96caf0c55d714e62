namespace Lineup.Server.Tests.Media;

/// <summary>Sound files made with Debian's tools and embedded in the test assemblies (Fixtures/README.md).</summary>
internal static class SoundFixtures
{
    /// <summary>1.5 s of 880 Hz at amplitude 0.5, 44.1 kHz stereo, 128 kbit/s (lame 3.100).</summary>
    public static byte[] Mp3Tone()
    {
        using var stream = typeof(SoundFixtures).Assembly.GetManifestResourceStream("tone-880hz-44k1-stereo.mp3")
            ?? throw new InvalidOperationException("tone-880hz-44k1-stereo.mp3 is not embedded in the test assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
