using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

/// <summary>A voicemail's recorder: what arrives is written as 8 kHz mono WAV; the message ends once, by itself, at its
/// longest length or after a run of silence (counted in received audio), never before the caller stops talking.</summary>
public sealed class MessageRecorderTests
{
    private static short[] Tone(int count, int amplitude = 6000) =>
        [.. Enumerable.Range(0, count).Select(i => (short)(amplitude * Math.Sin(2 * Math.PI * 440 * i / WavFile.SampleRate)))];

    private static (MessageRecorder Recorder, MemoryStream Wav, List<MessageEnd> Ends) New(int maxSeconds, int silenceSeconds)
    {
        var wav = new MemoryStream();
        var recorder = new MessageRecorder(wav, maxSeconds, silenceSeconds);
        var ends = new List<MessageEnd>();
        recorder.Ended += (_, why) => ends.Add(why);
        return (recorder, wav, ends);
    }

    /// <summary>Feeds 20 ms packets, as a leg receives them.</summary>
    private static void Feed(MessageRecorder r, short[] samples)
    {
        for (var at = 0; at < samples.Length; at += 160) r.Write(RecordingSide.Left, samples.AsSpan(at, Math.Min(160, samples.Length - at)));
    }

    [Fact]
    public void Talking_past_the_longest_message_ends_it_there_once_and_keeps_exactly_that_much()
    {
        var (r, wav, ends) = New(maxSeconds: 2, silenceSeconds: 1);
        Feed(r, Tone(3 * WavFile.SampleRate));
        Assert.Equal([MessageEnd.MaxLength], ends);
        Assert.Equal(2 * WavFile.SampleRate, r.Samples);
        Assert.Equal(2 * WavFile.SampleRate, r.VoicedSamples);
        var bytes = wav.ToArray(); // before Dispose: the header has followed the data every second
        r.Dispose();
        var samples = WavFile.TryDecode(wav.ToArray(), out _);
        Assert.NotNull(samples);
        Assert.Equal(2 * WavFile.SampleRate, samples.Length);
        Assert.Equal(Tone(160), samples[..160]);
        Assert.True(bytes.Length >= 44 + (4 * WavFile.SampleRate));
    }

    [Fact]
    public void Silence_after_speech_ends_the_message_and_quiet_noise_counts_as_silence()
    {
        var (r, _, ends) = New(maxSeconds: 60, silenceSeconds: 2);
        Feed(r, Tone(WavFile.SampleRate));
        Feed(r, Tone(WavFile.SampleRate, amplitude: 100)); // below the silence level
        Assert.Empty(ends);
        Feed(r, Tone(WavFile.SampleRate / 2)); // talking again resets the count
        Feed(r, new short[(2 * WavFile.SampleRate) - 160]);
        Assert.Empty(ends);
        Feed(r, new short[320]);
        Assert.Equal([MessageEnd.Silence], ends);
        Assert.Equal(WavFile.SampleRate * 3 / 2, r.VoicedSamples);
        Feed(r, Tone(WavFile.SampleRate)); // after the end: ignored
        Assert.Equal([MessageEnd.Silence], ends);
        Assert.Equal(WavFile.SampleRate * 9 / 2, r.Samples); // 1 + 1 + 0.5 s, then the 2 s of silence that ended it
        r.Dispose();
    }

    [Fact]
    public void With_silence_off_only_the_length_or_the_owner_ends_it_and_a_silent_message_has_no_voice()
    {
        var (r, wav, ends) = New(maxSeconds: 10, silenceSeconds: 0);
        Feed(r, new short[5 * WavFile.SampleRate]);
        Assert.Empty(ends);
        Assert.Equal(0, r.VoicedSamples);
        r.Dispose();
        r.Dispose();
        Assert.Equal(5 * WavFile.SampleRate, WavFile.TryDecode(wav.ToArray(), out _)!.Length);
        Assert.Empty(ends); // disposing is the owner's end, not an event
    }
    private static readonly TimeSpan Tolerance = TimeSpan.FromMilliseconds(200);

    private static TimeSpan Seconds(double s) => TimeSpan.FromSeconds(s);

    [Fact]
    public void Time_with_no_packets_is_silence_that_ends_the_message_and_stays_in_it_but_late_packets_are_waited_for()
    {
        var (r, wav, ends) = New(maxSeconds: 60, silenceSeconds: 2);
        // Nothing yet: look again when 2 s of silence could have passed.
        Assert.Equal(Seconds(2.2), r.CatchUp(TimeSpan.Zero, Tolerance));
        Feed(r, Tone(WavFile.SampleRate));
        // 1.15 s by the clock, 1 s received: within the packets' tolerance, nothing is added.
        Assert.Equal(Seconds(2.2), r.CatchUp(Seconds(1.15), Tolerance));
        Assert.Equal(WavFile.SampleRate, r.Samples);
        // 1.5 s: the caller stopped sending; 0.3 s of it (beyond the tolerance) is silence, 1.7 s more would end it.
        Assert.Equal(Seconds(1.9), r.CatchUp(Seconds(1.5), Tolerance));
        Assert.Equal(WavFile.SampleRate * 13 / 10, r.Samples);
        Assert.Empty(ends);
        // 3.3 s: the silence reached 2 s at 3 s; the message ends there, with its silence.
        Assert.Null(r.CatchUp(Seconds(3.3), Tolerance));
        Assert.Equal([MessageEnd.Silence], ends);
        Assert.Equal(3 * WavFile.SampleRate, r.Samples);
        Assert.Equal(WavFile.SampleRate, r.VoicedSamples);
        Assert.Null(r.CatchUp(Seconds(10), Tolerance));
        Assert.Equal([MessageEnd.Silence], ends);
        r.Dispose();
        var samples = WavFile.TryDecode(wav.ToArray(), out _)!;
        Assert.Equal(3 * WavFile.SampleRate, samples.Length);
        Assert.All(samples[WavFile.SampleRate..], s => Assert.Equal(0, s));
    }

    [Fact]
    public void A_caller_that_never_sends_reaches_the_longest_message_by_the_clock_with_no_voice()
    {
        var (r, _, ends) = New(maxSeconds: 3, silenceSeconds: 0);
        Assert.Equal(Seconds(3.2), r.CatchUp(TimeSpan.Zero, Tolerance));
        Assert.Null(r.CatchUp(Seconds(3.2), Tolerance));
        Assert.Equal([MessageEnd.MaxLength], ends);
        Assert.Equal((3L * WavFile.SampleRate, 0L), (r.Samples, r.VoicedSamples));
        Feed(r, Tone(160)); // ended: ignored
        Assert.Equal(3L * WavFile.SampleRate, r.Samples);
        r.Dispose();
        Assert.Null(r.CatchUp(Seconds(5), Tolerance));
    }
}
