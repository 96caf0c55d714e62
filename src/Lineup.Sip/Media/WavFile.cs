using System.Buffers.Binary;

namespace Lineup.Sip.Media;

/// <summary>
/// RIFF/WAVE reading for prompts: 8 kHz mono, 16-bit PCM (format 1), A-law (6) or μ-law (7), also inside
/// WAVE_FORMAT_EXTENSIBLE (0xFFFE). Anything else is refused with a reason naming what was found.
/// </summary>
public static class WavFile
{
    /// <summary>The only sample rate Lineup plays.</summary>
    public const int SampleRate = 8000;

    /// <summary>Decodes a WAV file image to 16-bit samples; null with a reason when it is not a supported WAV.
    /// Never throws. A data chunk whose declared size runs past the end (a recording cut short) is read to the end.</summary>
    public static short[]? TryDecode(ReadOnlySpan<byte> file, out string? error)
    {
        if (!TryParse(file, out var format, out var data, out error)) return null;
        return Convert(data, format.Tag, format.Channels, format.Rate, format.Bits, out error);
    }

    /// <summary>The format fields and the data chunk of a RIFF/WAVE image; false with a reason when it is none.
    /// Never throws. WAVE_FORMAT_EXTENSIBLE is reported under its sub-format's tag.</summary>
    public static bool TryParse(ReadOnlySpan<byte> file, out WavFormat format, out ReadOnlySpan<byte> data, out string? error)
    {
        format = default;
        data = default;
        if (file.Length < 12 || !file[..4].SequenceEqual("RIFF"u8) || !file[8..12].SequenceEqual("WAVE"u8))
        {
            error = "not a RIFF/WAVE file";
            return false;
        }
        var pos = 12;
        var found = false;
        while (pos + 8 <= file.Length)
        {
            var id = file.Slice(pos, 4);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(file[(pos + 4)..]);
            var body = pos + 8;
            var available = file.Length - body;
            var length = size > (uint)available ? available : (int)size;
            if (id.SequenceEqual("fmt "u8))
            {
                if (length < 16)
                {
                    error = "fmt chunk shorter than 16 bytes";
                    return false;
                }
                var f = file.Slice(body, length);
                int tag = BinaryPrimitives.ReadUInt16LittleEndian(f);
                if (tag == 0xFFFE)
                {
                    // WAVE_FORMAT_EXTENSIBLE: cbSize, valid bits, channel mask, then the sub-format GUID whose first
                    // two bytes are the format tag.
                    if (length < 40)
                    {
                        error = "WAVE_FORMAT_EXTENSIBLE fmt chunk too short";
                        return false;
                    }
                    tag = BinaryPrimitives.ReadUInt16LittleEndian(f[24..]);
                }
                format = new WavFormat(tag, BinaryPrimitives.ReadUInt16LittleEndian(f[2..]), BinaryPrimitives.ReadInt32LittleEndian(f[4..]),
                    BinaryPrimitives.ReadUInt16LittleEndian(f[14..]));
                found = true;
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (!found)
                {
                    error = "data chunk before fmt chunk";
                    return false;
                }
                data = file.Slice(body, length);
                error = null;
                return true;
            }
            pos = body + length + (length & 1); // chunks are padded to an even length
        }
        error = found ? "no data chunk" : "no fmt chunk";
        return false;
    }

    /// <summary>Reads a WAV file; throws <see cref="InvalidDataException"/> naming the file and the reason when it is
    /// not 8 kHz mono PCM/μ-law/A-law.</summary>
    public static short[] Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return TryDecode(bytes, out var error) ?? throw new InvalidDataException($"{path}: {error}");
    }

    /// <summary>Writes a complete 16-bit PCM 8 kHz WAV file.</summary>
    public static void Write(string path, ReadOnlySpan<short> samples, int channels = 1)
    {
        using var stream = File.Create(path);
        using var writer = new WavWriter(stream, channels);
        writer.Write(samples);
    }

    private static short[]? Convert(ReadOnlySpan<byte> data, int format, int channels, int rate, int bits, out string? error)
    {
        if (channels != 1 || rate != SampleRate)
        {
            error = $"expected 8000 Hz mono, found {rate} Hz with {channels} channels";
            return null;
        }
        switch (format)
        {
            case 1 when bits == 16:
                var samples = new short[data.Length / 2];
                for (var i = 0; i < samples.Length; i++) samples[i] = BinaryPrimitives.ReadInt16LittleEndian(data[(2 * i)..]);
                error = null;
                return samples;
            case 6 or 7 when bits == 8:
                var decoded = new short[data.Length];
                G711.Decode(format == 7 ? Codec.Pcmu : Codec.Pcma, data, decoded);
                error = null;
                return decoded;
            default:
                error = $"expected 16-bit PCM, μ-law or A-law, found format {format} with {bits} bits per sample";
                return null;
        }
    }
}

/// <summary>The fmt chunk's fields that matter: the format tag (1 PCM, 3 IEEE float, 6 A-law, 7 μ-law), channels,
/// sample rate and bits per sample.</summary>
public readonly record struct WavFormat(int Tag, int Channels, int Rate, int Bits);

/// <summary>
/// Writes 16-bit PCM 8 kHz WAV (mono or interleaved stereo) incrementally: the header is written first with the sizes
/// known so far and patched by <see cref="UpdateHeader"/> and on dispose, so a file cut short is still readable.
/// </summary>
public sealed class WavWriter : IDisposable
{
    private const int HeaderLength = 44;
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly int _channels;
    private readonly byte[] _buffer = new byte[4096];
    private long _dataBytes;
    private bool _disposed;

    public WavWriter(Stream stream, int channels = 1, bool leaveOpen = false)
    {
        if (channels is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(channels), "1 or 2 channels");
        if (!stream.CanSeek || !stream.CanWrite) throw new ArgumentException("The stream must be writable and seekable.", nameof(stream));
        _stream = stream;
        _channels = channels;
        _leaveOpen = leaveOpen;
        Span<byte> header = stackalloc byte[HeaderLength];
        WriteHeader(header, 0);
        _stream.Write(header);
    }

    /// <summary>Samples written (per channel).</summary>
    public long SampleFrames => _dataBytes / (2 * _channels);

    /// <summary>Appends samples (interleaved when stereo).</summary>
    public void Write(ReadOnlySpan<short> samples)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!samples.IsEmpty)
        {
            var n = Math.Min(samples.Length, _buffer.Length / 2);
            for (var i = 0; i < n; i++) BinaryPrimitives.WriteInt16LittleEndian(_buffer.AsSpan(2 * i), samples[i]);
            _stream.Write(_buffer, 0, 2 * n);
            _dataBytes += 2 * n;
            samples = samples[n..];
        }
    }

    /// <summary>Rewrites the RIFF and data sizes for what has been written and flushes.</summary>
    public void UpdateHeader()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var end = _stream.Position;
        Span<byte> header = stackalloc byte[HeaderLength];
        WriteHeader(header, _dataBytes);
        _stream.Position = 0;
        _stream.Write(header);
        _stream.Position = end;
        _stream.Flush();
    }

    public void Dispose()
    {
        if (_disposed) return;
        UpdateHeader();
        _disposed = true;
        if (!_leaveOpen) _stream.Dispose();
    }

    private void WriteHeader(Span<byte> h, long dataBytes)
    {
        var data = (uint)Math.Min(dataBytes, uint.MaxValue - HeaderLength);
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], data + HeaderLength - 8);
        "WAVE"u8.CopyTo(h[8..]);
        "fmt "u8.CopyTo(h[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(h[20..], 1); // PCM
        BinaryPrimitives.WriteUInt16LittleEndian(h[22..], (ushort)_channels);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], WavFile.SampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], (uint)(WavFile.SampleRate * 2 * _channels));
        BinaryPrimitives.WriteUInt16LittleEndian(h[32..], (ushort)(2 * _channels));
        BinaryPrimitives.WriteUInt16LittleEndian(h[34..], 16);
        "data"u8.CopyTo(h[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[40..], data);
    }
}

/// <summary>Where a leg's received audio goes while it records (<see cref="RtpLeg.StartRecording"/>): a call's two-sided
/// <see cref="WavRecorder"/>, or a voicemail's <see cref="MessageRecorder"/>. Called on the leg's receive thread.</summary>
public interface IRecordingSink
{
    void Write(RecordingSide side, ReadOnlySpan<short> samples);
}

/// <summary>Which direction of a call a leg's received audio is recorded as.</summary>
public enum RecordingSide
{
    /// <summary>Left channel in stereo; one of the two mixed sources in mono.</summary>
    Left = 0,
    /// <summary>Right channel in stereo; the other mixed source in mono.</summary>
    Right = 1,
}

/// <summary>
/// Records the two directions of a bridged call into one WAV: mixed into one mono track (sum with clipping) or kept as
/// a stereo pair. Each side's samples queue until the other side has as many; a side that runs more than
/// <see cref="MaxLagSamples"/> ahead (the other is silent or stopped sending) is written against silence. The header
/// is patched every second of audio and on dispose, so a call that ends abruptly leaves a valid file. Thread-safe:
/// the two legs write from their receive loops.
/// </summary>
public sealed class WavRecorder : IRecordingSink, IDisposable
{
    /// <summary>How far one side may run ahead before it is written against silence (400 ms).</summary>
    public const int MaxLagSamples = 3200;
    private const int PatchEverySamples = WavFile.SampleRate;

    private readonly Lock _lock = new();
    private readonly WavWriter _writer;
    private readonly bool _stereo;
    private readonly short[][] _pending = [new short[MaxLagSamples * 2], new short[MaxLagSamples * 2]];
    private readonly int[] _pendingCount = new int[2];
    private readonly short[] _out = new short[MaxLagSamples * 4];
    private long _sinceHeader;
    private bool _disposed;

    public WavRecorder(string path, bool stereo = false)
        : this(File.Create(path), stereo, leaveOpen: false)
    {
    }

    public WavRecorder(Stream stream, bool stereo = false, bool leaveOpen = false)
    {
        _stereo = stereo;
        _writer = new WavWriter(stream, stereo ? 2 : 1, leaveOpen);
    }

    /// <summary>Samples written per channel so far.</summary>
    public long SampleFrames
    {
        get
        {
            lock (_lock) return _writer.SampleFrames;
        }
    }

    /// <summary>Adds audio received on one side. Ignored after dispose (a leg may still deliver a packet).</summary>
    public void Write(RecordingSide side, ReadOnlySpan<short> samples)
    {
        lock (_lock)
        {
            if (_disposed) return;
            var s = (int)side;
            while (!samples.IsEmpty)
            {
                var room = _pending[s].Length - _pendingCount[s];
                if (room == 0)
                {
                    Drain(force: true);
                    continue;
                }
                var n = Math.Min(room, samples.Length);
                samples[..n].CopyTo(_pending[s].AsSpan(_pendingCount[s]));
                _pendingCount[s] += n;
                samples = samples[n..];
                Drain(force: false);
            }
        }
    }

    /// <summary>Writes what is pending (the lagging side as silence), patches the header and closes the file.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            while (_pendingCount[0] > 0 || _pendingCount[1] > 0) Emit(Math.Max(_pendingCount[0], _pendingCount[1]));
            _disposed = true;
            _writer.Dispose();
        }
    }

    private void Drain(bool force)
    {
        var both = Math.Min(_pendingCount[0], _pendingCount[1]);
        if (both > 0) Emit(both);
        var ahead = Math.Max(_pendingCount[0], _pendingCount[1]);
        if (ahead > MaxLagSamples || (force && ahead > 0)) Emit(force ? ahead : ahead - MaxLagSamples);
    }

    /// <summary>Writes the first <paramref name="count"/> samples of both sides (a side with fewer pads with silence).</summary>
    private void Emit(int count)
    {
        while (count > 0)
        {
            var n = Math.Min(count, _stereo ? _out.Length / 2 : _out.Length);
            var a = _pending[0].AsSpan(0, Math.Min(n, _pendingCount[0]));
            var b = _pending[1].AsSpan(0, Math.Min(n, _pendingCount[1]));
            if (_stereo)
            {
                for (var i = 0; i < n; i++)
                {
                    _out[2 * i] = i < a.Length ? a[i] : (short)0;
                    _out[(2 * i) + 1] = i < b.Length ? b[i] : (short)0;
                }
                _writer.Write(_out.AsSpan(0, 2 * n));
            }
            else
            {
                for (var i = 0; i < n; i++)
                {
                    var sum = (i < a.Length ? a[i] : 0) + (i < b.Length ? b[i] : 0);
                    _out[i] = (short)Math.Clamp(sum, short.MinValue, short.MaxValue);
                }
                _writer.Write(_out.AsSpan(0, n));
            }
            Consume(0, a.Length);
            Consume(1, b.Length);
            count -= n;
            _sinceHeader += n;
        }
        if (_sinceHeader >= PatchEverySamples)
        {
            _sinceHeader = 0;
            _writer.UpdateHeader();
        }
    }

    private void Consume(int side, int n)
    {
        if (n == 0) return;
        var left = _pendingCount[side] - n;
        Array.Copy(_pending[side], n, _pending[side], 0, left);
        _pendingCount[side] = left;
    }
}
