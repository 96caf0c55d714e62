namespace Lineup.Simulator;

/// <summary>
/// xoshiro256** (Blackman and Vigna), seeded through splitmix64: fast, and the same seed gives the same stream
/// on every machine and runtime version, which <see cref="System.Random"/> does not promise.
/// </summary>
internal struct Xoshiro
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Stream <paramref name="stream"/> of <paramref name="seed"/>: streams of one seed are independent.</summary>
    public Xoshiro(long seed, ulong stream)
    {
        var x = (ulong)seed ^ (stream * 0xD1B54A32D192ED03UL);
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    public ulong NextUInt64()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Exponentially distributed with the given mean.</summary>
    public double NextExponential(double mean) => -mean * Math.Log(1.0 - NextDouble());

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
