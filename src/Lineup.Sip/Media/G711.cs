namespace Lineup.Sip.Media;

/// <summary>The two G.711 payload formats Lineup speaks (RFC 3551 §6: static payload types 0 and 8, 8 kHz).</summary>
public enum Codec : byte
{
    /// <summary>G.711 μ-law, payload type 0.</summary>
    Pcmu = 0,
    /// <summary>G.711 A-law, payload type 8.</summary>
    Pcma = 8,
}

/// <summary>
/// ITU-T G.711 μ-law and A-law companding between 16-bit linear PCM and 8-bit codes. Decoding and transcoding are
/// 256-entry tables; encoding is the segment search of the Recommendation (the 16-bit input is reduced to 14 bits
/// for μ-law and 13 bits for A-law as G.711 defines).
/// </summary>
public static class G711
{
    private const int MuLawBias = 0x84;
    private const int MuLawClip = 32635;

    private static readonly short[] MuLawTable = BuildTable(static c => MuLawDecodeSlow(c));
    private static readonly short[] ALawTable = BuildTable(static c => ALawDecodeSlow(c));
    private static readonly byte[] MuToA = BuildTranscode(static c => ALawEncode(MuLawDecodeSlow(c)));
    private static readonly byte[] AToMu = BuildTranscode(static c => MuLawEncode(ALawDecodeSlow(c)));

    /// <summary>Encodes one linear sample to μ-law.</summary>
    public static byte MuLawEncode(short sample)
    {
        int s = sample;
        var sign = 0;
        if (s < 0)
        {
            sign = 0x80;
            s = -s;
        }
        if (s > MuLawClip) s = MuLawClip;
        s += MuLawBias;
        // s is in [0x84, 0x7FFF]: the exponent is the position of the highest set bit above bit 7.
        var exponent = 7 - (int.LeadingZeroCount(s) - 17);
        var mantissa = (s >> (exponent + 3)) & 0x0F;
        return (byte)~(sign | (exponent << 4) | mantissa);
    }

    /// <summary>Decodes one μ-law code (table lookup).</summary>
    public static short MuLawDecode(byte code) => MuLawTable[code];

    /// <summary>Encodes one linear sample to A-law (even bits inverted, 0x55).</summary>
    public static byte ALawEncode(short sample)
    {
        int s = sample;
        int mask;
        if (s >= 0)
        {
            mask = 0xD5;
        }
        else
        {
            mask = 0x55;
            s = -s - 1;
        }
        var x = s >> 3; // 13-bit magnitude, 0..4095
        int code;
        if (x < 32)
        {
            code = x >> 1;
        }
        else
        {
            var segment = 31 - int.LeadingZeroCount(x) - 4; // x in [16 << seg, 32 << seg)
            code = (segment << 4) | ((x >> segment) & 0x0F);
        }
        return (byte)(code ^ mask);
    }

    /// <summary>Decodes one A-law code (table lookup).</summary>
    public static short ALawDecode(byte code) => ALawTable[code];

    /// <summary>Encodes <paramref name="pcm"/> into <paramref name="destination"/> (same length).</summary>
    public static void Encode(Codec codec, ReadOnlySpan<short> pcm, Span<byte> destination)
    {
        if (destination.Length < pcm.Length) throw new ArgumentException("Destination is shorter than the input.", nameof(destination));
        if (codec == Codec.Pcmu)
        {
            for (var i = 0; i < pcm.Length; i++) destination[i] = MuLawEncode(pcm[i]);
        }
        else
        {
            for (var i = 0; i < pcm.Length; i++) destination[i] = ALawEncode(pcm[i]);
        }
    }

    /// <summary>Decodes <paramref name="payload"/> into <paramref name="destination"/> (same length).</summary>
    public static void Decode(Codec codec, ReadOnlySpan<byte> payload, Span<short> destination)
    {
        if (destination.Length < payload.Length) throw new ArgumentException("Destination is shorter than the input.", nameof(destination));
        var table = codec == Codec.Pcmu ? MuLawTable : ALawTable;
        for (var i = 0; i < payload.Length; i++) destination[i] = table[payload[i]];
    }

    /// <summary>Converts G.711 codes from one law to the other through linear PCM (G.711 §4 conversion, tabled).</summary>
    public static void Transcode(Codec from, Codec to, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if (destination.Length < payload.Length) throw new ArgumentException("Destination is shorter than the input.", nameof(destination));
        if (from == to)
        {
            payload.CopyTo(destination);
            return;
        }
        var table = from == Codec.Pcmu ? MuToA : AToMu;
        for (var i = 0; i < payload.Length; i++) destination[i] = table[payload[i]];
    }

    private static short MuLawDecodeSlow(byte code)
    {
        var u = ~code & 0xFF;
        var exponent = (u >> 4) & 0x07;
        var mantissa = u & 0x0F;
        var magnitude = (((mantissa << 3) + MuLawBias) << exponent) - MuLawBias;
        return (short)((u & 0x80) != 0 ? -magnitude : magnitude);
    }

    private static short ALawDecodeSlow(byte code)
    {
        var a = code ^ 0x55;
        var segment = (a >> 4) & 0x07;
        var mantissa = a & 0x0F;
        var magnitude = segment == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (segment - 1);
        return (short)((a & 0x80) != 0 ? magnitude : -magnitude);
    }

    private static short[] BuildTable(Func<byte, short> decode)
    {
        var table = new short[256];
        for (var i = 0; i < 256; i++) table[i] = decode((byte)i);
        return table;
    }

    private static byte[] BuildTranscode(Func<byte, byte> convert)
    {
        var table = new byte[256];
        for (var i = 0; i < 256; i++) table[i] = convert((byte)i);
        return table;
    }
}
