namespace Lineup.Server.Tests.Telephony;

/// <summary>What one 20 ms frame of received audio is: silence, one party's tone, or anything else (hold music, a
/// prompt, two parties at once).</summary>
public readonly record struct Heard(int ToneHz)
{
    public static readonly Heard Silence = new(-1);
    public static readonly Heard Other = new(0);

    public bool IsTone => ToneHz > 0;

    public override string ToString() => ToneHz switch
    {
        -1 => "silence",
        0 => "other",
        _ => $"{ToneHz} Hz",
    };
}

/// <summary>
/// The recognisable signal each party of a SIP end-to-end test sends: a pure sine at a frequency of its own, and the
/// Goertzel filter that finds it again in decoded G.711. Every tone is a multiple of 50 Hz, so a 160-sample frame (20 ms
/// at 8 kHz) holds a whole number of its cycles whatever the frame's phase: its energy falls in one Goertzel bin, and
/// two tones are orthogonal over a frame. The tones sit above 1.8 kHz, clear of Lineup's hold music (sines and a
/// triangle bass from 87 Hz to 1.6 kHz, <c>HoldMusic</c>) and of the DTMF grid.
/// </summary>
public static class Tone
{
    public const int Caller = 1850;
    public const int FirstAgent = 2350;
    public const int SecondAgent = 2850;
    /// <summary>A number outside: the transfer target, the called-back customer.</summary>
    public const int Outside = 3250;

    public const int SampleRate = 8000;
    public const int FrameSamples = 160;
    public const short Amplitude = 8000;

    /// <summary>Below this RMS a frame is silence (the tones are at 5,657 RMS; G.711's quietest steps are a few units).</summary>
    public const double SilenceRms = 100;

    /// <summary>A frame is one tone when that tone holds at least this share of its energy.</summary>
    public const double ToneShare = 0.7;

    /// <summary>Samples <paramref name="from"/> .. <paramref name="from"/> + count of a continuous sine.</summary>
    public static short[] Samples(int hz, long from, int count)
    {
        var samples = new short[count];
        for (var i = 0; i < count; i++)
            samples[i] = (short)Math.Round(Amplitude * Math.Sin(2 * Math.PI * hz * (from + i) / SampleRate));
        return samples;
    }

    /// <summary>The share of the frame's energy at <paramref name="hz"/> (Goertzel): 1 for a pure tone there, 0 for none.
    /// Exact for a frequency that makes whole cycles over the frame; <paramref name="samples"/> must not be silent.</summary>
    public static double Share(ReadOnlySpan<int> samples, int hz)
    {
        double energy = 0, s1 = 0, s2 = 0;
        var coefficient = 2 * Math.Cos(2 * Math.PI * hz / SampleRate);
        foreach (var x in samples)
        {
            energy += (double)x * x;
            var s0 = x + (coefficient * s1) - s2;
            s2 = s1;
            s1 = s0;
        }
        var power = (s1 * s1) + (s2 * s2) - (coefficient * s1 * s2);
        return energy == 0 ? 0 : 2 * power / (samples.Length * energy);
    }

    public static double Rms(ReadOnlySpan<int> samples)
    {
        double energy = 0;
        foreach (var x in samples) energy += (double)x * x;
        return Math.Sqrt(energy / Math.Max(1, samples.Length));
    }

    /// <summary>Silence, the one of <paramref name="tones"/> the frame is, or Other.</summary>
    public static Heard Classify(ReadOnlySpan<int> samples, IEnumerable<int> tones)
    {
        if (Rms(samples) < SilenceRms) return Heard.Silence;
        foreach (var hz in tones)
            if (Share(samples, hz) >= ToneShare) return new Heard(hz);
        return Heard.Other;
    }

    /// <summary>The party tones, each with the name a failure message uses.</summary>
    public static readonly IReadOnlyDictionary<int, string> Names = new Dictionary<int, string>
    {
        [Caller] = "the caller's tone",
        [FirstAgent] = "the first agent's tone",
        [SecondAgent] = "the second agent's tone",
        [Outside] = "the outside number's tone",
    };

    public static string Describe(int hz) => Names.TryGetValue(hz, out var name) ? $"{name} ({hz} Hz)" : $"{hz} Hz";

    /// <summary>A 16-bit PCM WAV (Lineup's recordings: mono, 8 kHz), read without Lineup's own code: its samples.</summary>
    public static int[] ReadWav(byte[] wav)
    {
        Assert.True(wav.Length >= 44 && System.Text.Encoding.ASCII.GetString(wav, 0, 4) == "RIFF" && System.Text.Encoding.ASCII.GetString(wav, 8, 4) == "WAVE",
            $"not a WAV file ({wav.Length} bytes)");
        var at = 12;
        while (at + 8 <= wav.Length)
        {
            var id = System.Text.Encoding.ASCII.GetString(wav, at, 4);
            var size = BitConverter.ToInt32(wav, at + 4);
            if (id == "fmt ")
            {
                Assert.Equal(1, BitConverter.ToInt16(wav, at + 8)); // PCM
                Assert.Equal(1, BitConverter.ToInt16(wav, at + 10)); // mono
                Assert.Equal(SampleRate, BitConverter.ToInt32(wav, at + 12));
                Assert.Equal(16, BitConverter.ToInt16(wav, at + 22));
            }
            if (id == "data")
            {
                var count = Math.Min(size, wav.Length - at - 8) / 2;
                var samples = new int[count];
                for (var i = 0; i < count; i++) samples[i] = BitConverter.ToInt16(wav, at + 8 + (2 * i));
                return samples;
            }
            at += 8 + size + (size & 1);
        }
        Assert.Fail("the WAV file has no data chunk");
        return [];
    }

    /// <summary>How many 20 ms windows of a recording hold each tone (at least a fifth of the window's energy: both
    /// sides are mixed into one channel), and how many sound like neither.</summary>
    public static (Dictionary<int, int> Windows, int Neither, int Total) Recording(int[] samples, params int[] tones)
    {
        var windows = tones.ToDictionary(t => t, _ => 0);
        var neither = 0;
        var total = 0;
        for (var at = 0; at + FrameSamples <= samples.Length; at += FrameSamples)
        {
            var frame = samples.AsSpan(at, FrameSamples);
            if (Rms(frame) < SilenceRms) continue;
            total++;
            var share = 0.0;
            foreach (var t in tones)
            {
                var s = Share(frame, t);
                share += s;
                if (s >= 0.2) windows[t]++;
            }
            if (share < 0.5) neither++;
        }
        return (windows, neither, total);
    }
}

/// <summary>Assertions on what a party's <see cref="RtpProbe"/> heard.</summary>
public static class Hearing
{
    /// <summary>At least this much of the other side's tone: a second.</summary>
    public const int MinimumFrames = 50;

    /// <summary>
    /// <paramref name="listener"/> heard <paramref name="toneHz"/> (at least a second of it) and, from its first frame
    /// on, nothing but that tone or silence: no hold music, no prompt, no other party, not its own voice. Returns how
    /// long it heard the tone, first frame to last.
    /// </summary>
    public static TimeSpan Hears(RtpProbe listener, string who, int toneHz) => Hears(listener.Timeline(Tone.Names.Keys.ToArray()), who, toneHz);

    /// <summary>The same, on audio a phone wrote down (baresip's dump of what it decoded), in 20 ms windows.</summary>
    public static TimeSpan Hears(int[] samples, string who, int toneHz) =>
        Hears(Enumerable.Range(0, samples.Length / Tone.FrameSamples)
            .Select(i => (TimeSpan.FromMilliseconds(20 * i), Tone.Classify(samples.AsSpan(i * Tone.FrameSamples, Tone.FrameSamples), Tone.Names.Keys))).ToList(), who, toneHz);

    private static TimeSpan Hears(List<(TimeSpan At, Heard Heard)> timeline, string who, int toneHz)
    {
        var first = timeline.FindIndex(f => f.Heard.ToneHz == toneHz);
        Assert.True(first >= 0, $"{who} never heard {Tone.Describe(toneHz)}; it heard: {Summary(timeline)}");
        var bridged = timeline.Skip(first).ToList();
        var count = bridged.Count(f => f.Heard.ToneHz == toneHz);
        Assert.True(count >= MinimumFrames, $"{who} heard only {count} frames of {Tone.Describe(toneHz)}; it heard: {Summary(timeline)}");
        var wrong = bridged.Where(f => f.Heard != Heard.Silence && f.Heard.ToneHz != toneHz).ToList();
        Assert.True(wrong.Count == 0,
            $"{who}, once it heard {Tone.Describe(toneHz)}, also heard {wrong.Count} frames of something else: {Summary(bridged)}");
        var last = bridged.FindLastIndex(f => f.Heard.ToneHz == toneHz);
        return bridged[last].At - bridged[0].At;
    }

    /// <summary>Both sides of a bridge: each hears the other's tone and nothing else once it does. Returns how long
    /// <paramref name="a"/> heard <paramref name="b"/>.</summary>
    public static TimeSpan Bridged(RtpProbe a, string aName, RtpProbe b, string bName)
    {
        var heard = Hears(a, aName, b.ToneHz);
        Hears(b, bName, a.ToneHz);
        return heard;
    }

    /// <summary>Before <paramref name="toneHz"/> came, <paramref name="listener"/> heard Lineup's music (frames of
    /// sound that are no party's tone): the classifier does see music, so "nothing else" above means something.</summary>
    public static void HeardMusicBefore(RtpProbe listener, string who, int toneHz)
    {
        var timeline = listener.Timeline(Tone.Names.Keys.ToArray());
        var first = timeline.FindIndex(f => f.Heard.ToneHz == toneHz);
        var music = timeline.Take(first < 0 ? timeline.Count : first).Count(f => f.Heard == Heard.Other);
        Assert.True(music >= 10, $"{who} heard {music} frames of hold music before {Tone.Describe(toneHz)}: {Summary(timeline)}");
    }

    /// <summary>Heard nothing at all (a phone that rang and never answered).</summary>
    public static void HeardNothing(RtpProbe listener, string who)
    {
        var timeline = listener.Timeline(Tone.Names.Keys.ToArray());
        Assert.True(timeline.All(f => f.Heard == Heard.Silence), $"{who} heard {Summary(timeline)}");
    }

    /// <summary>The timeline in runs: "other x150 (0.0-3.0 s), 2350 Hz x200 (3.0-7.0 s)".</summary>
    public static string Summary(IReadOnlyList<(TimeSpan At, Heard Heard)> timeline)
    {
        if (timeline.Count == 0) return "nothing";
        var runs = new List<string>();
        var start = 0;
        for (var i = 1; i <= timeline.Count; i++)
        {
            if (i < timeline.Count && timeline[i].Heard == timeline[start].Heard) continue;
            runs.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{timeline[start].Heard} x{i - start} ({timeline[start].At.TotalSeconds:F2}-{timeline[i - 1].At.TotalSeconds:F2} s)"));
            start = i;
        }
        return runs.Count <= 40 ? string.Join(", ", runs) : string.Join(", ", runs.Take(20)) + $", ... {runs.Count - 40} runs ..., " + string.Join(", ", runs.TakeLast(20));
    }
}
