namespace Lineup.Sip.Media;

/// <summary>
/// Lineup's own hold music, synthesised (no third-party audio): a 30-second loop of the progression
/// C – Am – F – G played twice, 3.75 s per chord. Each chord is a soft pad of three sine voices with a raised-cosine
/// swell, a triangle bass note on the root and a slow sine arpeggio with bell-like decays. Every voice starts and ends
/// at zero inside its chord, so the loop joins without a click. Deterministic: the same samples on every run.
/// </summary>
public static class HoldMusic
{
    /// <summary>Length of the loop in samples (30 s at 8 kHz, a whole number of 10/20/30 ms frames).</summary>
    public const int LengthSamples = 30 * WavFile.SampleRate;

    private const double Rate = WavFile.SampleRate;
    private const double ChordSeconds = 3.75;

    // MIDI note numbers: pad voicing (middle octave), bass root, arpeggio notes (an octave up).
    private static readonly int[][] Chords =
    [
        [60, 64, 67], // C
        [57, 60, 64], // Am
        [53, 57, 60], // F
        [55, 59, 62], // G
    ];

    private static readonly Lazy<AudioClip> Loop = new(() => AudioClip.FromSamples("hold-music", Generate()));

    /// <summary>The loop as a clip, generated and encoded on first use.</summary>
    public static AudioClip Clip => Loop.Value;

    /// <summary>Synthesises the loop.</summary>
    public static short[] Generate()
    {
        var mix = new double[LengthSamples];
        var chordLength = (int)(ChordSeconds * Rate);
        var chordCount = LengthSamples / chordLength;
        for (var c = 0; c < chordCount; c++)
        {
            var notes = Chords[c % Chords.Length];
            var start = c * chordLength;
            // Pad: three sines, swell in over 0.6 s, out over the last 0.9 s.
            foreach (var note in notes) AddVoice(mix, start, chordLength, Hz(note), 0.10, 0.6, 0.9, triangle: false, decay: 0);
            // Bass: the root an octave down, triangle, a little quieter.
            AddVoice(mix, start, chordLength, Hz(notes[0] - 12), 0.09, 0.3, 0.9, triangle: true, decay: 0);
            // Arpeggio: up through the chord an octave higher, one note every 0.625 s, each ringing 1.2 s.
            var step = (int)(0.625 * Rate);
            for (var k = 0; k < 6; k++)
            {
                var noteStart = start + (k * step);
                var length = Math.Min((int)(1.2 * Rate), start + chordLength - noteStart);
                var note = notes[k % 3] + 12 + (k >= 3 ? 12 : 0);
                AddVoice(mix, noteStart, length, Hz(note), 0.05, 0.01, 0.15, triangle: false, decay: 2.5);
            }
        }
        var samples = new short[LengthSamples];
        for (var i = 0; i < samples.Length; i++) samples[i] = (short)Math.Round(Math.Clamp(mix[i], -1, 1) * short.MaxValue);
        return samples;
    }

    private static double Hz(int midi) => 440.0 * Math.Pow(2, (midi - 69) / 12.0);

    /// <summary>Adds one note: a sine or triangle at <paramref name="amplitude"/> with a raised-cosine attack and
    /// release (zero at both ends) and an optional exponential decay per second.</summary>
    private static void AddVoice(double[] mix, int start, int length, double hz, double amplitude, double attack,
        double release, bool triangle, double decay)
    {
        var attackN = Math.Max(1, (int)(attack * Rate));
        var releaseN = Math.Max(1, (int)(release * Rate));
        for (var i = 0; i < length; i++)
        {
            var t = i / Rate;
            var env = 1.0;
            if (i < attackN) env = 0.5 - (0.5 * Math.Cos(Math.PI * i / attackN));
            var fromEnd = length - 1 - i;
            if (fromEnd < releaseN) env *= 0.5 - (0.5 * Math.Cos(Math.PI * fromEnd / releaseN));
            if (decay > 0) env *= Math.Exp(-decay * t);
            var phase = hz * t;
            var wave = triangle ? (4 * Math.Abs(phase - Math.Floor(phase + 0.5))) - 1 : Math.Sin(2 * Math.PI * phase);
            mix[start + i] += amplitude * env * wave;
        }
    }
}
