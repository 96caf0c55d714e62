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
/// maximum length, ending by itself after a run of silence. Length and silence are counted in received samples, not by
/// a clock: a caller that sends no packets at all is ended by its owner's timer. <see cref="Ended"/> is raised once,
/// on the leg's receive thread, when the message ends by itself; it must not block. Thread-safe.
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
        MessageEnd? end = null;
        lock (_lock)
        {
            if (_ended || _disposed) return;
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
        }
        if (end is { } why) Ended?.Invoke(this, why);
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
