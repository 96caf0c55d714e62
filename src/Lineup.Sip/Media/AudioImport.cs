using System.Buffers.Binary;
using System.Globalization;

namespace Lineup.Sip.Media;

/// <summary>
/// Turns an uploaded sound file into what calls play: 8 kHz mono 16-bit samples. Accepts WAV in 8-, 16-, 24- or 32-bit
/// PCM, 32- or 64-bit IEEE float, μ-law or A-law, one to eight channels (mixed down to mono) at any rate from 8 kHz to
/// 48 kHz (band-limited and resampled to 8 kHz by <see cref="Resampler"/>). Done once per file, so playing it to a
/// call is only copying frames (<see cref="AudioClip"/> keeps both G.711 encodings). MP3 files go to
/// <see cref="Mp3Import"/>. Never throws on bad input: the reason comes back instead.
/// </summary>
public static class AudioImport
{
    public const int MinRate = 8000;
    public const int MaxRate = 48000;
    public const int MaxChannels = 8;

    /// <summary>The reason given for a file that is neither WAV nor MP3.</summary>
    public const string NotAudio = "not a RIFF/WAVE file nor an MP3 file";

    /// <summary>The 8 kHz mono samples of a WAV or MP3 image, or null with a reason. <paramref name="source"/> describes
    /// what was found ("WAV 16-bit PCM, 44100 Hz, 2 channels", "MP3, 44100 Hz, 2 channels").</summary>
    public static short[]? TryConvert(ReadOnlySpan<byte> file, out string source, out string? error)
    {
        source = "";
        if (!file.StartsWith("RIFF"u8) && Mp3Import.LooksLikeMp3(file)) return Mp3Import.TryConvert(file, out source, out error);
        if (!WavFile.TryParse(file, out var f, out var data, out error))
        {
            if (!file.StartsWith("RIFF"u8)) error = NotAudio;
            return null;
        }
        var encoding = (f.Tag, f.Bits) switch
        {
            (1, 8) => "8-bit PCM",
            (1, 16) => "16-bit PCM",
            (1, 24) => "24-bit PCM",
            (1, 32) => "32-bit PCM",
            (3, 32) => "32-bit float",
            (3, 64) => "64-bit float",
            (6, 8) => "A-law",
            (7, 8) => "μ-law",
            _ => null,
        };
        if (encoding == null)
        {
            error = $"unsupported WAV encoding: format {f.Tag} with {f.Bits} bits per sample (PCM 8/16/24/32-bit, float, μ-law or A-law are accepted)";
            return null;
        }
        if (f.Channels is < 1 or > MaxChannels)
        {
            error = $"unsupported channel count {f.Channels} (1 to {MaxChannels})";
            return null;
        }
        if (f.Rate is < MinRate or > MaxRate)
        {
            error = $"unsupported sample rate {f.Rate} Hz ({MinRate} to {MaxRate} Hz)";
            return null;
        }
        source = string.Create(CultureInfo.InvariantCulture, $"WAV {encoding}, {f.Rate} Hz, {f.Channels} channel{(f.Channels == 1 ? "" : "s")}");
        var frameBytes = f.Bits / 8 * f.Channels;
        var frames = data.Length / frameBytes;
        if (frames == 0)
        {
            error = "the file holds no audio";
            return null;
        }
        var mono = new float[frames];
        for (var i = 0; i < frames; i++)
        {
            var frame = data.Slice(i * frameBytes, frameBytes);
            float sum = 0;
            for (var c = 0; c < f.Channels; c++) sum += Sample(frame[(c * f.Bits / 8)..], f.Tag, f.Bits);
            mono[i] = sum / f.Channels;
        }
        error = null;
        return Resampler.ToTelephone(mono, f.Rate);
    }

    /// <summary>One sample as a float in [-1, 1].</summary>
    private static float Sample(ReadOnlySpan<byte> b, int tag, int bits) => (tag, bits) switch
    {
        (1, 8) => (b[0] - 128) / 128f,
        (1, 16) => BinaryPrimitives.ReadInt16LittleEndian(b) / 32768f,
        (1, 24) => ((b[2] << 24) | (b[1] << 16) | (b[0] << 8)) / 2147483648f,
        (1, 32) => BinaryPrimitives.ReadInt32LittleEndian(b) / 2147483648f,
        (3, 32) => Clean(BinaryPrimitives.ReadSingleLittleEndian(b)),
        (3, 64) => Clean((float)BinaryPrimitives.ReadDoubleLittleEndian(b)),
        (6, 8) => G711.ALawDecode(b[0]) / 32768f,
        _ => G711.MuLawDecode(b[0]) / 32768f,
    };

    /// <summary>NaN and infinities (a broken float file) become silence; the rest is clipped to [-1, 1].</summary>
    private static float Clean(float v) => float.IsFinite(v) ? Math.Clamp(v, -1f, 1f) : 0f;
}

/// <summary>
/// Sample-rate conversion to 8 kHz for prompts and music: a windowed-sinc low-pass (cut-off 3.7 kHz, Blackman window,
/// 12 zero crossings each side) evaluated at each output instant from a table of 64 sub-sample phases. Audio above
/// 4 kHz cannot be carried by G.711 and would fold back as noise if not removed first.
/// </summary>
public static class Resampler
{
    private const double CutoffHz = 3700;
    private const int ZeroCrossings = 12;
    private const int Phases = 64;

    /// <summary>8 kHz 16-bit samples of <paramref name="input"/> (floats in [-1, 1] at <paramref name="rate"/> Hz).</summary>
    public static short[] ToTelephone(ReadOnlySpan<float> input, int rate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 1);
        var outLength = (int)((long)input.Length * WavFile.SampleRate / rate);
        var output = new short[outLength];
        if (rate == WavFile.SampleRate)
        {
            for (var i = 0; i < output.Length; i++) output[i] = ToShort(input[i]);
            return output;
        }
        // The kernel h(t) = 2fc·sinc(2fc·t) in input samples, fc the cut-off in cycles per input sample (never above
        // the input's own Nyquist when upsampling from a rate under 8 kHz; rates start at 8 kHz here, so it is 3.7/rate).
        var fc = Math.Min(CutoffHz, rate / 2.0 * 0.925) / rate;
        var half = (int)Math.Ceiling(ZeroCrossings / (2 * fc));
        var table = new float[((2 * half) + 1) * Phases];
        for (var p = 0; p < Phases; p++)
        {
            for (var k = -half; k <= half; k++)
            {
                var t = k - (p / (double)Phases);
                var x = 2 * fc * t;
                var sinc = Math.Abs(x) < 1e-12 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x);
                var w = Math.Abs(t) >= half ? 0 : 0.42 + (0.5 * Math.Cos(Math.PI * t / half)) + (0.08 * Math.Cos(2 * Math.PI * t / half));
                table[(p * ((2 * half) + 1)) + k + half] = (float)(2 * fc * sinc * w);
            }
        }
        var step = rate / (double)WavFile.SampleRate;
        for (var n = 0; n < outLength; n++)
        {
            var center = n * step;
            var i0 = (int)Math.Floor(center);
            var phase = (int)Math.Round((center - i0) * Phases);
            if (phase == Phases)
            {
                phase = 0;
                i0++;
            }
            var row = table.AsSpan(phase * ((2 * half) + 1), (2 * half) + 1);
            double sum = 0, weight = 0;
            for (var k = -half; k <= half; k++)
            {
                var i = i0 + k;
                if ((uint)i >= (uint)input.Length) continue;
                var h = row[k + half];
                sum += input[i] * h;
                weight += h;
            }
            // Normalised by the weights used, so the edges (fewer taps) keep their level.
            output[n] = ToShort(weight > 1e-9 ? (float)(sum / weight) : 0f);
        }
        return output;
    }

    private static short ToShort(float v) => (short)Math.Clamp(MathF.Round(v * 32767f), short.MinValue, short.MaxValue);
}
