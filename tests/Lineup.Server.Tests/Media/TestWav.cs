using System.Buffers.Binary;

namespace Lineup.Server.Tests.Media;

/// <summary>WAV files made by the tests themselves (not with Lineup's code): a sine of one frequency in a chosen
/// encoding, rate and channel count, as a user would upload it.</summary>
public static class TestWav
{
    /// <summary>A tone of <paramref name="hz"/> at half scale. <paramref name="tag"/>: 1 PCM (16-bit), 7 μ-law (8-bit).</summary>
    public static byte[] Tone(int hz, double seconds, int rate = 8000, int channels = 1, int tag = 1)
    {
        var bits = tag == 1 ? 16 : 8;
        var frames = (int)(seconds * rate);
        var data = new byte[frames * channels * bits / 8];
        for (var i = 0; i < frames; i++)
        {
            var v = (short)(16000 * Math.Sin(2 * Math.PI * hz * i / rate));
            for (var c = 0; c < channels; c++)
            {
                var at = ((i * channels) + c) * bits / 8;
                if (tag == 1) BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(at), v);
                else data[at] = MuLaw(v);
            }
        }
        return Wrap(tag, channels, rate, bits, data);
    }

    /// <summary>A RIFF/WAVE image around <paramref name="data"/> with these fmt fields.</summary>
    public static byte[] Wrap(int tag, int channels, int rate, int bits, byte[] data)
    {
        var h = new byte[44 + data.Length];
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(4), 36 + data.Length);
        "WAVEfmt "u8.CopyTo(h.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(16), 16);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(20), (ushort)tag);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(22), (ushort)channels);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(24), rate);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(28), rate * channels * bits / 8);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(32), (ushort)(channels * bits / 8));
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(34), (ushort)bits);
        "data"u8.CopyTo(h.AsSpan(36));
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(40), data.Length);
        data.CopyTo(h, 44);
        return h;
    }

    /// <summary>G.711 μ-law (ITU-T G.711 §2, the bias-132 form).</summary>
    private static byte MuLaw(short sample)
    {
        var sign = sample < 0 ? 0x80 : 0;
        var magnitude = Math.Min(Math.Abs((int)sample), 32635) + 132;
        var exponent = 7;
        for (var mask = 0x4000; (magnitude & mask) == 0 && exponent > 0; mask >>= 1) exponent--;
        var mantissa = (magnitude >> (exponent + 3)) & 0x0F;
        return (byte)~(sign | (exponent << 4) | mantissa);
    }
}
