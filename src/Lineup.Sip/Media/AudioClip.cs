namespace Lineup.Sip.Media;

/// <summary>
/// A piece of 8 kHz audio ready to send: the 16-bit samples and both G.711 encodings, made once when the clip is
/// created so that playing it to any number of legs is only copying frames into packets. The encodings are padded
/// with silence to a whole number of frames for 10, 20 and 30 ms packets.
/// </summary>
public sealed class AudioClip
{
    /// <summary>Encodings are padded to a multiple of this many samples (the LCM of 10, 20 and 30 ms frames).</summary>
    internal const int PadTo = 480;

    private readonly short[] _samples;
    private readonly byte[] _pcmu;
    private readonly byte[] _pcma;

    private AudioClip(string name, short[] samples)
    {
        Name = name;
        _samples = samples;
        var padded = (samples.Length + PadTo - 1) / PadTo * PadTo;
        _pcmu = new byte[padded];
        _pcma = new byte[padded];
        G711.Encode(Codec.Pcmu, samples, _pcmu);
        G711.Encode(Codec.Pcma, samples, _pcma);
        _pcmu.AsSpan(samples.Length).Fill(G711.MuLawEncode(0));
        _pcma.AsSpan(samples.Length).Fill(G711.ALawEncode(0));
    }

    /// <summary>A name for logs: the prompt id or file name.</summary>
    public string Name { get; }

    /// <summary>The samples (8 kHz, 16-bit, mono).</summary>
    public ReadOnlySpan<short> Samples => _samples;

    /// <summary>Length without padding.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds(_samples.Length / (double)WavFile.SampleRate);

    /// <summary>The G.711 encoding, padded to whole frames.</summary>
    public ReadOnlySpan<byte> Encoded(Codec codec) => codec == Codec.Pcmu ? _pcmu : _pcma;

    /// <summary>Number of packets of <paramref name="frameSamples"/> samples it takes.</summary>
    public int FrameCount(int frameSamples) => _pcmu.Length / frameSamples;

    /// <summary>A clip from 8 kHz samples (not copied: the caller hands them over).</summary>
    public static AudioClip FromSamples(string name, short[] samples) => new(name, samples);

    /// <summary>Loads a WAV file in any format <see cref="AudioImport"/> accepts (converted to 8 kHz mono); throws
    /// <see cref="InvalidDataException"/> naming the file and the reason for others.</summary>
    public static AudioClip FromWav(string path) =>
        new(Path.GetFileNameWithoutExtension(path), AudioImport.TryConvert(File.ReadAllBytes(path), out _, out var error)
            ?? throw new InvalidDataException($"{path}: {error}"));

    /// <summary>The built-in hold music (<see cref="Media.HoldMusic"/>), made once per process.</summary>
    public static AudioClip HoldMusic() => Media.HoldMusic.Clip;

    /// <summary>Ringback instead of music: 425 Hz for one second, then four seconds of silence (the ETSI ES 201 970
    /// ringing tone), one cycle looped. Made once per process.</summary>
    public static AudioClip Ringback() => s_ringback.Value;

    /// <summary>The voicemail tone: 1 kHz for 400 ms, then 100 ms of silence before the recording. Made once per process.</summary>
    public static AudioClip Beep() => s_beep.Value;

    private static readonly Lazy<AudioClip> s_beep = new(() =>
    {
        const int tone = WavFile.SampleRate * 2 / 5;
        var samples = new short[tone + (WavFile.SampleRate / 10)];
        for (var i = 0; i < tone; i++)
        {
            var ramp = Math.Min(1.0, Math.Min(i, tone - 1 - i) / 80.0);
            samples[i] = (short)(8000 * ramp * Math.Sin(2 * Math.PI * 1000 * i / WavFile.SampleRate));
        }
        return new AudioClip("beep", samples);
    });

    private static readonly Lazy<AudioClip> s_ringback = new(() =>
    {
        var samples = new short[5 * WavFile.SampleRate];
        for (var i = 0; i < WavFile.SampleRate; i++)
        {
            // 10 ms ramps at both ends: no click when the tone starts and stops.
            var ramp = Math.Min(1.0, Math.Min(i, WavFile.SampleRate - 1 - i) / 80.0);
            samples[i] = (short)(8000 * ramp * Math.Sin(2 * Math.PI * 425 * i / WavFile.SampleRate));
        }
        return new AudioClip("ringback", samples);
    });
}
