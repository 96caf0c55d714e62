using System.Buffers.Binary;
using Lineup.Server.Tests.Media;
using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

public class AudioImportTests
{
    /// <summary>A WAV image of <paramref name="frames"/> frames; <paramref name="signal"/> gives sample (frame, channel).</summary>
    private static byte[] Wav(ushort tag, ushort channels, int rate, ushort bits, int frames, Func<int, int, double> signal)
    {
        var bytesPer = bits / 8;
        var data = new byte[frames * channels * bytesPer];
        for (var i = 0; i < frames; i++)
        {
            for (var c = 0; c < channels; c++)
            {
                var v = signal(i, c);
                var at = data.AsSpan(((i * channels) + c) * bytesPer);
                switch (tag, bits)
                {
                    case (1, 8): at[0] = (byte)Math.Clamp(128 + (v * 127), 0, 255); break;
                    case (1, 16): BinaryPrimitives.WriteInt16LittleEndian(at, (short)(v * 32767)); break;
                    case (1, 24):
                        var s24 = (int)(v * 8388607);
                        at[0] = (byte)s24;
                        at[1] = (byte)(s24 >> 8);
                        at[2] = (byte)(s24 >> 16);
                        break;
                    case (3, 32): BinaryPrimitives.WriteSingleLittleEndian(at, (float)v); break;
                    case (7, 8): at[0] = G711.MuLawEncode((short)(v * 32767)); break;
                }
            }
        }
        var h = new byte[44 + data.Length];
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(4), 36 + data.Length);
        "WAVEfmt "u8.CopyTo(h.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(16), 16);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(20), tag);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(22), channels);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(24), rate);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(28), rate * channels * bytesPer);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(32), (ushort)(channels * bytesPer));
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(34), bits);
        "data"u8.CopyTo(h.AsSpan(36));
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(40), data.Length);
        data.CopyTo(h, 44);
        return h;
    }

    private static Func<int, int, double> Sine(double hz, int rate, double amplitude = 0.5) => (i, _) => amplitude * Math.Sin(2 * Math.PI * hz * i / rate);

    /// <summary>Power of <paramref name="hz"/> in 8 kHz samples, (amplitude / 2)² for a full-scale-relative sine (Goertzel over
    /// one second after the first 100 ms).</summary>
    private static double Power(short[] samples, double hz)
    {
        var coeff = 2 * Math.Cos(2 * Math.PI * hz / 8000);
        double s1 = 0, s2 = 0;
        for (var i = 800; i < 8800; i++)
        {
            var s = (samples[i] / 32768.0) + (coeff * s1) - s2;
            s2 = s1;
            s1 = s;
        }
        return ((s1 * s1) + (s2 * s2) - (coeff * s1 * s2)) / (8000.0 * 8000.0);
    }

    [Theory]
    [InlineData(1, 1, 8000, 16)]
    [InlineData(1, 2, 44100, 16)]
    [InlineData(1, 1, 48000, 24)]
    [InlineData(1, 2, 22050, 8)]
    [InlineData(3, 1, 16000, 32)]
    [InlineData(7, 1, 8000, 8)]
    [InlineData(1, 1, 11025, 16)]
    [InlineData(1, 6, 32000, 16)]
    public void A_tone_at_any_common_rate_and_encoding_comes_out_at_8_kHz_with_its_length_and_pitch(int tag, int channels, int rate, int bits)
    {
        var samples = AudioImport.TryConvert(Wav((ushort)tag, (ushort)channels, rate, (ushort)bits, rate * 2, Sine(1000, rate)), out var source, out var error);
        Assert.Null(error);
        Assert.NotNull(samples);
        Assert.Contains($"{rate} Hz", source, StringComparison.Ordinal);
        Assert.InRange(samples.Length, 15990, 16000); // two seconds
        var tone = Power(samples, 1000);
        Assert.True(tone > 0.04, $"1 kHz power {tone}"); // amplitude 0.5 → power 0.0625
        Assert.True(Power(samples, 2000) < tone / 100, "no other frequency");
    }

    [Fact]
    public void What_G711_cannot_carry_is_filtered_out_instead_of_folding_back()
    {
        // 6 kHz at 48 kHz would alias to 2 kHz if decimated naively; 1 kHz beside it must survive.
        var samples = AudioImport.TryConvert(Wav(1, 1, 48000, 16, 96000, (i, _) => (0.3 * Math.Sin(2 * Math.PI * 1000 * i / 48000)) + (0.3 * Math.Sin(2 * Math.PI * 6000 * i / 48000))), out _, out _)!;
        Assert.True(Power(samples, 2000) < 1e-5, $"aliased 2 kHz power {Power(samples, 2000)}");
        Assert.True(Power(samples, 1000) > 0.02);
    }

    [Fact]
    public void Stereo_is_mixed_to_mono()
    {
        var samples = AudioImport.TryConvert(Wav(1, 2, 8000, 16, 16000, (i, c) => c == 0 ? Math.Sin(2 * Math.PI * 500 * i / 8000) * 0.4 : Math.Sin(2 * Math.PI * 1500 * i / 8000) * 0.4), out var source, out _)!;
        Assert.Equal("WAV 16-bit PCM, 8000 Hz, 2 channels", source);
        // Each channel at 0.4 is 0.2 of the mix: power (0.2 / 2)² = 0.01 each.
        Assert.InRange(Power(samples, 500), 0.009, 0.011);
        Assert.InRange(Power(samples, 1500), 0.009, 0.011);
    }

    [Theory]
    [InlineData(1, 1, 96000, 16, "sample rate 96000 Hz")]
    [InlineData(1, 1, 4000, 16, "sample rate 4000 Hz")]
    [InlineData(1, 9, 8000, 16, "channel count 9")]
    [InlineData(2, 1, 8000, 4, "format 2")]
    [InlineData(1, 1, 8000, 12, "12 bits")]
    public void Other_formats_are_refused_with_the_reason(int tag, int channels, int rate, int bits, string expected)
    {
        Assert.Null(AudioImport.TryConvert(Wav((ushort)tag, (ushort)channels, rate, (ushort)bits, 100, (_, _) => 0), out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Not_audio_and_empty_audio_are_refused_and_garbage_never_throws()
    {
        Assert.Null(AudioImport.TryConvert("<html>not a sound</html>"u8, out _, out var error));
        Assert.Equal("not a RIFF/WAVE file nor an MP3 file", error);
        // An ID3 tag then no MPEG frame: taken for an MP3, and refused as one.
        Assert.Null(AudioImport.TryConvert("ID3\u0003 this is not a wav"u8, out _, out error));
        Assert.Contains("MP3", error, StringComparison.Ordinal);
        Assert.Null(AudioImport.TryConvert(Wav(1, 1, 8000, 16, 0, (_, _) => 0), out _, out error));
        Assert.Equal("the file holds no audio", error);
        var valid = Wav(3, 2, 44100, 32, 50, Sine(440, 44100));
        var random = new Random(5);
        for (var i = 0; i < 3000; i++)
        {
            var copy = (byte[])valid.Clone();
            for (var j = 0; j < 3; j++) copy[random.Next(copy.Length)] = (byte)random.Next(256);
            var result = AudioImport.TryConvert(copy.AsSpan(0, random.Next(copy.Length + 1)), out _, out var e);
            Assert.True(result != null ^ e != null);
        }
    }

    [Fact]
    public void An_mp3_is_decoded_once_to_8_kHz_with_its_length_and_pitch()
    {
        var samples = AudioImport.TryConvert(SoundFixtures.Mp3Tone(), out var source, out var error);
        Assert.Null(error);
        Assert.NotNull(samples);
        Assert.Equal("MP3, 44100 Hz, 2 channels", source);
        // 1.5 s, give or take the encoder's delay and padding (under 0.1 s).
        Assert.InRange(samples.Length, 12000, 12800);
        var tone = Power(samples, 880);
        Assert.True(tone > 0.04, $"880 Hz power {tone}"); // amplitude 0.5 → power 0.0625
        Assert.True(Power(samples, 1760) < tone / 100, "no other frequency");
    }

    [Fact]
    public void Damaged_or_cut_mp3_files_give_a_reason_and_never_throw()
    {
        var mp3 = SoundFixtures.Mp3Tone();
        Assert.Null(AudioImport.TryConvert(mp3.AsSpan(0, 3), out _, out var error));
        Assert.NotNull(error);
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            var copy = (byte[])mp3.Clone();
            for (var j = 0; j < 20; j++) copy[random.Next(copy.Length)] = (byte)random.Next(256);
            var result = AudioImport.TryConvert(copy.AsSpan(0, random.Next(copy.Length + 1)), out _, out var e);
            Assert.True(result != null ^ e != null);
        }
    }
}
