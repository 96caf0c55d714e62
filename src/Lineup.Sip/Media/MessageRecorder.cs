namespace Lineup.Sip.Media;

/// <summary>Why a voicemail message's recording ended by itself.</summary>
public enum MessageEnd
{
    /// <summary>It reached its longest allowed length.</summary>
    MaxLength,
    /// <summary>The caller was silent for the allowed time.</summary>
    Silence,
}

/// <summary>
/// Records one voice message (a voicemail): what the caller's leg receives, as an 8 kHz mono 16-bit WAV, up to a
/// maximum length, ending by itself after a run of silence. Length and silence are counted in samples: the received
/// ones, and silence for the time no packet came (<see cref="CatchUp"/>, which the owner calls when the recorder says:
/// a caller that mutes, or a phone that stops sending while its user is quiet, is silent too). <see cref="Ended"/> is
/// raised once, on the thread that wrote the sample that ended it (the leg's receive thread, or the owner's timer); it
/// must not block. Thread-safe.
/// </summary>
public sealed class MessageRecorder : IRecordingSink, IDisposable
{
    /// <summary>Audio quieter than this (mean absolute sample value of a 20 ms frame, about -42 dBFS) is silence.</summary>
    public const int SilenceLevel = 250;

    private const int FrameSamples = WavFile.SampleRate / 50;

    private readonly Lock _lock = new();
    private readonly WavWriter _writer;
    private readonly long _maxSamples;
    private readonly long _silenceSamples;
    private readonly short[] _frame = new short[FrameSamples];
    private int _frameCount;
    private long _quiet;
    private long _voiced;
    private bool _ended;
    private bool _disposed;

    /// <param name="stream">Where the WAV goes (writable, seekable); disposed with the recorder.</param>
    /// <param name="maxSeconds">The longest message.</param>
    /// <param name="silenceSeconds">Silence that ends the message; 0: none does.</param>
    public MessageRecorder(Stream stream, int maxSeconds, int silenceSeconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeconds, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(silenceSeconds);
        _writer = new WavWriter(stream);
        _maxSamples = (long)maxSeconds * WavFile.SampleRate;
        _silenceSamples = (long)silenceSeconds * WavFile.SampleRate;
    }

    /// <summary>Raised once when the message ends by itself (length or silence).</summary>
    public event Action<MessageRecorder, MessageEnd>? Ended;

    /// <summary>Samples recorded so far.</summary>
    public long Samples
    {
        get
        {
            lock (_lock) return _writer.SampleFrames + _frameCount;
        }
    }

    /// <summary>Samples in 20 ms frames louder than <see cref="SilenceLevel"/>: 0 means the caller said nothing.</summary>
    public long VoicedSamples
    {
        get
        {
            lock (_lock) return _voiced;
        }
    }

    public TimeSpan Duration => TimeSpan.FromSeconds(Samples / (double)WavFile.SampleRate);

    /// <summary>Adds received audio (either side: a message has one). Ignored once ended or disposed.</summary>
    public void Write(RecordingSide side, ReadOnlySpan<short> samples)
    {
        MessageEnd? end;
        lock (_lock)
        {
            if (_ended || _disposed) return;
            end = Append(samples);
        }
        if (end is { } why) Ended?.Invoke(this, why);
    }

    /// <summary>
    /// The message has lasted <paramref name="elapsed"/> by the owner's clock (since it started recording): what no packet
    /// covered, beyond <paramref name="tolerance"/> (packets late by network jitter, which still count when they come),
    /// is recorded as silence. So a caller that sends nothing ends the message after the silence, or at the longest
    /// length, as one that sends quiet audio does, and the WAV keeps the message's real length.
    /// </summary>
    /// <returns>When to call again (the earliest the silence or the length can end the message if nothing more comes),
    /// or null once the message has ended.</returns>
    public TimeSpan? CatchUp(TimeSpan elapsed, TimeSpan tolerance)
    {
        MessageEnd? end = null;
        TimeSpan? next;
        lock (_lock)
        {
            if (_ended || _disposed) return null;
            var missing = (long)((elapsed - tolerance).TotalSeconds * WavFile.SampleRate) - (_writer.SampleFrames + _frameCount);
            while (missing > 0 && end == null)
            {
                var n = (int)Math.Min(missing, s_silence.Length);
                end = Append(s_silence.AsSpan(0, n));
                missing -= n;
            }
            var left = _maxSamples - _writer.SampleFrames - _frameCount;
            if (_silenceSamples > 0) left = Math.Min(left, _silenceSamples - _quiet);
            next = end == null ? tolerance + TimeSpan.FromSeconds(Math.Max(left, FrameSamples) / (double)WavFile.SampleRate) : null;
        }
        if (end is { } why) Ended?.Invoke(this, why);
        return next;
    }

    private static readonly short[] s_silence = new short[WavFile.SampleRate];

    /// <summary>Adds samples frame by frame until they run out or the message ends (then says why, and takes no more).</summary>
    private MessageEnd? Append(ReadOnlySpan<short> samples)
    {
        MessageEnd? end = null;
        while (!samples.IsEmpty && end == null)
        {
            var room = (int)Math.Min(FrameSamples - _frameCount, _maxSamples - _writer.SampleFrames - _frameCount);
            var n = Math.Min(room, samples.Length);
            samples[..n].CopyTo(_frame.AsSpan(_frameCount));
            _frameCount += n;
            samples = samples[n..];
            if (_frameCount == FrameSamples || _writer.SampleFrames + _frameCount >= _maxSamples) end = Flush();
            if (end == null && _writer.SampleFrames >= _maxSamples) end = MessageEnd.MaxLength;
        }
        if (end != null) _ended = true;
        return end;
    }

    /// <summary>Writes the pending frame and measures it; says whether the message ends.</summary>
    private MessageEnd? Flush()
    {
        var frame = _frame.AsSpan(0, _frameCount);
        long sum = 0;
        foreach (var s in frame) sum += Math.Abs((int)s);
        if (frame.Length > 0 && sum / frame.Length >= SilenceLevel)
        {
            _voiced += frame.Length;
            _quiet = 0;
        }
        else
        {
            _quiet += frame.Length;
        }
        _writer.Write(frame);
        _frameCount = 0;
        // The header follows the data every second, so a crash leaves a readable file (the box recovers it).
        if (_writer.SampleFrames % WavFile.SampleRate < FrameSamples) _writer.UpdateHeader();
        if (_writer.SampleFrames >= _maxSamples) return MessageEnd.MaxLength;
        return _silenceSamples > 0 && _quiet >= _silenceSamples ? MessageEnd.Silence : null;
    }

    /// <summary>Ends the message (if it had not ended) and closes the WAV with its final header.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            if (_frameCount > 0) Flush();
            _ended = true;
            _disposed = true;
            _writer.Dispose();
        }
    }
}
