using System.Globalization;
using NLayer;

namespace Lineup.Sip.Media;

/// <summary>
/// MP3 (MPEG-1, -2 and -2.5 audio, layers I to III) uploads decoded once with NLayer into what calls play: 8 kHz mono
/// 16-bit samples, like <see cref="AudioImport"/> does for WAV. A file is taken as MP3 when it starts with an ID3v2 tag
/// or an MPEG audio frame header (ISO/IEC 11172-3 §2.4.1.3: twelve sync bits, then a valid layer, bit-rate index and
/// sampling frequency). Never throws on bad input: the reason comes back instead.
/// </summary>
public static class Mp3Import
{
    /// <summary>The longest MP3 accepted, decoded: hold music loops, so ten minutes is plenty, and it bounds what one
    /// upload may make the server hold while decoding (a small MP3 can hold hours of low-rate audio).</summary>
    public const int MaxSeconds = 600;

    /// <summary>Whether <paramref name="file"/> starts like an MP3 file (an ID3v2 tag or an MPEG audio frame header).</summary>
    public static bool LooksLikeMp3(ReadOnlySpan<byte> file) =>
        file.StartsWith("ID3"u8) || (file.Length >= 4 && IsFrameHeader(file));

    private static bool IsFrameHeader(ReadOnlySpan<byte> h) =>
        h[0] == 0xFF && (h[1] & 0xE0) == 0xE0 // sync
        && ((h[1] >> 3) & 3) != 1 // version: 1 is reserved
        && ((h[1] >> 1) & 3) != 0 // layer: 0 is reserved
        && (h[2] >> 4) != 15 // bit-rate index 15 is invalid
        && ((h[2] >> 2) & 3) != 3; // sampling frequency 3 is reserved

    /// <summary>The 8 kHz mono samples of an MP3 file, or null with a reason. <paramref name="source"/> describes what
    /// was found ("MP3, 44100 Hz, 2 channels").</summary>
    public static short[]? TryConvert(ReadOnlySpan<byte> file, out string source, out string? error)
    {
        source = "";
        float[] mono;
        int rate, channels;
        try
        {
            using var stream = new MemoryStream(file.ToArray(), writable: false);
            using var mpeg = new MpegFile(stream);
            rate = mpeg.SampleRate;
            channels = mpeg.Channels;
            if (rate is < AudioImport.MinRate or > AudioImport.MaxRate || channels is < 1 or > 2)
            {
                error = "not an MP3 file Lineup can decode: no MPEG audio frame found";
                return null;
            }
            // Decoded in blocks and mixed down as it goes; stopped as soon as it is longer than MaxSeconds.
            var limit = (long)MaxSeconds * rate;
            var block = new float[1152 * 2 * 8];
            var output = new List<float>(rate * 4);
            int read;
            while ((read = mpeg.ReadSamples(block, 0, block.Length)) > 0)
            {
                for (var i = 0; i + channels <= read; i += channels)
                {
                    var sum = 0f;
                    for (var c = 0; c < channels; c++) sum += block[i + c];
                    var v = sum / channels;
                    output.Add(float.IsFinite(v) ? Math.Clamp(v, -1f, 1f) : 0f);
                }
                if (output.Count > limit)
                {
                    error = string.Create(CultureInfo.InvariantCulture, $"the MP3 lasts longer than {MaxSeconds / 60} minutes, the longest Lineup takes");
                    return null;
                }
            }
            mono = [.. output];
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The decoder's own checks on a damaged stream surface as exceptions of several kinds: each is a bad file.
            error = $"not an MP3 file Lineup can decode: {e.Message}";
            return null;
        }
        if (mono.Length == 0)
        {
            error = "the file holds no audio (no MPEG audio frame could be decoded)";
            return null;
        }
        source = string.Create(CultureInfo.InvariantCulture, $"MP3, {rate} Hz, {channels} channel{(channels == 1 ? "" : "s")}");
        error = null;
        return Resampler.ToTelephone(mono, rate);
    }
}
