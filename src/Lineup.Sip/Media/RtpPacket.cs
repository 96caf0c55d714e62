using System.Buffers.Binary;
using System.Diagnostics;

namespace Lineup.Sip.Media;

/// <summary>
/// An RTP packet read from the wire (RFC 3550 §5.1): the fixed header fields and the payload, with CSRCs, the
/// header extension (§5.3.1) and padding (§5.1 P bit) skipped. The payload is a slice of the input; nothing is copied.
/// </summary>
public readonly ref struct RtpPacket
{
    /// <summary>Length of the fixed header without CSRCs.</summary>
    public const int HeaderLength = 12;

    public bool Marker { get; init; }
    public byte PayloadType { get; init; }
    public ushort SequenceNumber { get; init; }
    public uint Timestamp { get; init; }
    public uint Ssrc { get; init; }
    public int CsrcCount { get; init; }
    public bool HasExtension { get; init; }
    public int PaddingLength { get; init; }
    public ReadOnlySpan<byte> Payload { get; init; }

    /// <summary>Parses a packet; false (with a reason) for anything that is not a well-formed RTP version 2 packet.
    /// Never throws.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out RtpPacket packet, out string? error)
    {
        packet = default;
        if (data.Length < HeaderLength) return Fail("shorter than the 12-byte RTP header", out error);
        var b0 = data[0];
        if (b0 >> 6 != 2) return Fail("RTP version is not 2", out error);
        var padding = (b0 & 0x20) != 0;
        var extension = (b0 & 0x10) != 0;
        var csrcCount = b0 & 0x0F;
        var offset = HeaderLength + (4 * csrcCount);
        if (data.Length < offset) return Fail("CSRC list runs past the end", out error);
        if (extension)
        {
            // §5.3.1: 16-bit profile-defined value, 16-bit length in 32-bit words, then the extension words.
            if (data.Length < offset + 4) return Fail("header extension runs past the end", out error);
            var words = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
            offset += 4 + (4 * words);
            if (data.Length < offset) return Fail("header extension runs past the end", out error);
        }
        var end = data.Length;
        var paddingLength = 0;
        if (padding)
        {
            // §5.1: the last octet counts the padding octets, itself included.
            paddingLength = data[^1];
            if (paddingLength == 0 || end - paddingLength < offset) return Fail("invalid padding length", out error);
            end -= paddingLength;
        }
        var b1 = data[1];
        packet = new RtpPacket
        {
            Marker = (b1 & 0x80) != 0,
            PayloadType = (byte)(b1 & 0x7F),
            SequenceNumber = BinaryPrimitives.ReadUInt16BigEndian(data[2..]),
            Timestamp = BinaryPrimitives.ReadUInt32BigEndian(data[4..]),
            Ssrc = BinaryPrimitives.ReadUInt32BigEndian(data[8..]),
            CsrcCount = csrcCount,
            HasExtension = extension,
            PaddingLength = paddingLength,
            Payload = data[offset..end],
        };
        error = null;
        return true;
    }

    /// <summary>Writes a 12-byte header (version 2, no padding, extension or CSRC) followed by
    /// <paramref name="payload"/>; returns the packet length. <paramref name="destination"/> must hold it.</summary>
    public static int Write(Span<byte> destination, bool marker, byte payloadType, ushort sequenceNumber, uint timestamp,
        uint ssrc, ReadOnlySpan<byte> payload)
    {
        WriteHeader(destination, marker, payloadType, sequenceNumber, timestamp, ssrc);
        payload.CopyTo(destination[HeaderLength..]);
        return HeaderLength + payload.Length;
    }

    /// <summary>Writes a 12-byte header only.</summary>
    public static void WriteHeader(Span<byte> destination, bool marker, byte payloadType, ushort sequenceNumber,
        uint timestamp, uint ssrc)
    {
        destination[0] = 0x80;
        destination[1] = (byte)((marker ? 0x80 : 0) | (payloadType & 0x7F));
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], sequenceNumber);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], timestamp);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], ssrc);
    }

    private static bool Fail(string reason, out string? error)
    {
        error = reason;
        return false;
    }
}

/// <summary>
/// The sending side of one RTP stream (RFC 3550 §5.1): a random SSRC, random initial sequence number and
/// timestamp; +1 sequence per packet, the timestamp advanced by the samples of each packet. The marker bit is set on
/// the first packet of a talkspurt (RFC 3551 §4.1): the first packet, after a pause, after a change of source.
/// Not thread-safe: the owner serialises access.
/// </summary>
public sealed class RtpSendStream
{
    private long _lastSendTicks;
    private bool _talkspurtStart = true;

    public RtpSendStream()
        : this((uint)Random.Shared.NextInt64(0, 1L << 32), (ushort)Random.Shared.Next(0, 1 << 16), (uint)Random.Shared.NextInt64(0, 1L << 32))
    {
    }

    public RtpSendStream(uint ssrc, ushort initialSequence, uint initialTimestamp)
    {
        Ssrc = ssrc;
        NextSequence = initialSequence;
        NextTimestamp = initialTimestamp;
    }

    public uint Ssrc { get; }
    public ushort NextSequence { get; private set; }
    public uint NextTimestamp { get; private set; }

    /// <summary>The RTP timestamp of the instant <paramref name="nowTicks"/> (Stopwatch ticks) for a sender report
    /// (RFC 3550 §6.4.1): the next packet's timestamp belongs one frame of <paramref name="frameSamples"/> after the last
    /// send, and the clock runs at 8 kHz in between.</summary>
    public uint TimestampAt(long nowTicks, int frameSamples)
    {
        var elapsed = Math.Max(0, nowTicks - _lastSendTicks);
        var samples = (long)(elapsed / (Stopwatch.Frequency / 8000.0));
        return NextTimestamp - (uint)frameSamples + (uint)samples;
    }

    /// <summary>Marks the next packet as the start of a talkspurt (marker bit), e.g. after a pause or a new source.</summary>
    public void StartTalkspurt() => _talkspurtStart = true;

    /// <summary>Writes the header of the next audio packet carrying <paramref name="samples"/> samples and advances
    /// the stream. <paramref name="nowTicks"/> (Stopwatch ticks) lets a talkspurt that starts after a pause keep the
    /// timestamp in step with the time that passed (§5.1: the timestamp reflects the sampling instant).</summary>
    public void WriteAudioHeader(Span<byte> destination, byte payloadType, int samples, long nowTicks)
    {
        var marker = _talkspurtStart;
        if (_talkspurtStart)
        {
            AdvanceForPause(nowTicks, samples);
            _talkspurtStart = false;
        }
        RtpPacket.WriteHeader(destination, marker, payloadType, NextSequence, NextTimestamp, Ssrc);
        NextSequence++;
        NextTimestamp += (uint)samples;
        _lastSendTicks = nowTicks;
    }

    /// <summary>Writes the header of a packet with an explicit timestamp (RFC 4733 events keep the event's start
    /// timestamp in every packet); the sequence number advances, the timestamp does not.</summary>
    public void WriteHeaderAt(Span<byte> destination, bool marker, byte payloadType, uint timestamp, long nowTicks)
    {
        RtpPacket.WriteHeader(destination, marker, payloadType, NextSequence, timestamp, Ssrc);
        NextSequence++;
        _lastSendTicks = nowTicks;
    }

    /// <summary>Reserves the timestamp for an event that starts now and lasts <paramref name="samples"/>; returns its
    /// start timestamp. Audio after the event continues after it.</summary>
    public uint BeginEvent(int samples, long nowTicks)
    {
        AdvanceForPause(nowTicks, 0);
        var start = NextTimestamp;
        NextTimestamp += (uint)samples;
        _talkspurtStart = true;
        return start;
    }

    /// <summary>Starts relaying a new source: the timestamp is moved on by the time since our last packet; returns
    /// the sequence number and timestamp the source's current packet maps to.</summary>
    public (ushort Sequence, uint Timestamp) BeginRelay(long nowTicks)
    {
        AdvanceForPause(nowTicks, 0);
        _talkspurtStart = false;
        return (NextSequence, NextTimestamp);
    }

    /// <summary>Records a relayed packet: the stream continues after <paramref name="sequence"/> and
    /// <paramref name="nextTimestamp"/> when they are ahead of it (a late, reordered packet moves nothing).</summary>
    public void CommitRelay(ushort sequence, uint nextTimestamp, long nowTicks)
    {
        var nextSequence = (ushort)(sequence + 1);
        if ((short)(nextSequence - NextSequence) > 0) NextSequence = nextSequence;
        if ((int)(nextTimestamp - NextTimestamp) > 0) NextTimestamp = nextTimestamp;
        _lastSendTicks = nowTicks;
    }

    private void AdvanceForPause(long nowTicks, int samples)
    {
        if (_lastSendTicks == 0) return;
        var elapsedSamples = (nowTicks - _lastSendTicks) * 8000 / System.Diagnostics.Stopwatch.Frequency;
        // The previous packet already advanced the timestamp by its own duration; add the silence beyond it.
        var gap = elapsedSamples - Math.Max(samples, 160);
        if (gap > 0) NextTimestamp += (uint)gap;
    }
}
