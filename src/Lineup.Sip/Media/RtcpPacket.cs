using System.Buffers.Binary;
using System.Text;

namespace Lineup.Sip.Media;

/// <summary>RTCP packet types (RFC 3550 §12.1).</summary>
public enum RtcpType : byte
{
    /// <summary>Sender report (§6.4.1).</summary>
    SenderReport = 200,
    /// <summary>Receiver report (§6.4.2).</summary>
    ReceiverReport = 201,
    /// <summary>Source description (§6.5).</summary>
    SourceDescription = 202,
    /// <summary>Goodbye (§6.6).</summary>
    Bye = 203,
    /// <summary>Application-defined (§6.7).</summary>
    App = 204,
}

/// <summary>One reception report block (RFC 3550 §6.4.1): what a receiver saw of one source since its last report.</summary>
/// <param name="Ssrc">The source reported on.</param>
/// <param name="FractionLost">Packets lost since the previous report, as a fraction of 256.</param>
/// <param name="CumulativeLost">Packets lost since the start (24-bit signed: duplicates can make it negative).</param>
/// <param name="HighestSequence">Extended highest sequence number received (cycles in the upper 16 bits).</param>
/// <param name="Jitter">Interarrival jitter estimate, in timestamp units (§6.4.1, §A.8).</param>
/// <param name="LastSenderReport">Middle 32 bits of the NTP time of the last SR from that source (0: none yet).</param>
/// <param name="DelaySinceLastSenderReport">Since that SR, in units of 1/65536 s.</param>
public readonly record struct RtcpReportBlock(uint Ssrc, byte FractionLost, int CumulativeLost, uint HighestSequence,
    uint Jitter, uint LastSenderReport, uint DelaySinceLastSenderReport)
{
    /// <summary>Bytes on the wire.</summary>
    public const int Length = 24;
}

/// <summary>What a sender report says of its sender (RFC 3550 §6.4.1).</summary>
/// <param name="NtpTimestamp">Wall-clock time of the report, NTP format (seconds since 1900 in the upper 32 bits).</param>
/// <param name="RtpTimestamp">The same instant on the stream's RTP clock.</param>
/// <param name="PacketCount">RTP packets sent since the stream started.</param>
/// <param name="OctetCount">Payload octets sent since the stream started.</param>
public readonly record struct RtcpSenderInfo(ulong NtpTimestamp, uint RtpTimestamp, uint PacketCount, uint OctetCount);

/// <summary>
/// What a compound RTCP packet (RFC 3550 §6.1) carried, as far as Lineup uses it: the sender's SSRC, its sender info when
/// it was an SR, its report blocks, its CNAME, and whether it said BYE. Other packet types (APP, unknown) are skipped.
/// </summary>
public sealed record RtcpReport(uint Ssrc, RtcpSenderInfo? Sender, IReadOnlyList<RtcpReportBlock> Blocks, string? CanonicalName, bool Bye, string? ByeReason);

/// <summary>
/// Builds and parses compound RTCP packets (RFC 3550 §6): an SR or RR first, then an SDES with the CNAME (every compound
/// packet carries one, §6.1), then optionally a BYE. Parsing applies the validity checks of §A.2 and returns a reason
/// instead of throwing.
/// </summary>
public static class RtcpPacket
{
    private const int HeaderLength = 4;

    /// <summary>Seconds from the NTP epoch (1900) to the Unix epoch (1970).</summary>
    private const long NtpUnixOffset = 2_208_988_800;

    /// <summary>The NTP-format timestamp (§4) of <paramref name="time"/>: seconds since 1900 and a binary fraction.</summary>
    public static ulong NtpTimestamp(DateTimeOffset time)
    {
        var ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var seconds = (ulong)((ticks / TimeSpan.TicksPerSecond) + NtpUnixOffset);
        var fraction = (ulong)(ticks % TimeSpan.TicksPerSecond) * (1UL << 32) / TimeSpan.TicksPerSecond;
        return (seconds << 32) | fraction;
    }

    /// <summary>The middle 32 bits of an NTP timestamp: the LSR field a receiver echoes (§6.4.1).</summary>
    public static uint Middle(ulong ntpTimestamp) => (uint)(ntpTimestamp >> 16);

    /// <summary>Longest round trip believed; a larger one comes from a confused peer (a LSR of another sender).</summary>
    private const uint MaxRoundTrip = 10 * 65536;

    /// <summary>
    /// The round-trip time from a report block about our stream (§6.4.1): A − LSR − DLSR, where A is the middle 32 bits
    /// of our NTP clock when the report arrived, LSR the middle bits of our sender report the peer echoes and DLSR its
    /// delay since it, all in 1/65536 s with 32-bit wrap-around. Null when the peer had no SR of ours yet (LSR 0), or
    /// the figures give a negative or implausible (over 10 s) time.
    /// </summary>
    public static TimeSpan? RoundTrip(uint arrivalMiddle, uint lastSenderReport, uint delaySinceLastSenderReport)
    {
        if (lastSenderReport == 0) return null;
        var sinceReport = arrivalMiddle - lastSenderReport;
        if (sinceReport < delaySinceLastSenderReport) return null;
        var rtt = sinceReport - delaySinceLastSenderReport;
        if (rtt > MaxRoundTrip) return null;
        return TimeSpan.FromTicks(rtt * TimeSpan.TicksPerSecond / 65536);
    }

    /// <summary>
    /// Writes a compound packet into <paramref name="destination"/>: an SR when <paramref name="sender"/> is given (the
    /// leg sent RTP since its last report), else an RR; then SDES CNAME; then BYE when <paramref name="bye"/>. At most
    /// 31 report blocks. Returns the length written.
    /// </summary>
    public static int Write(Span<byte> destination, uint ssrc, RtcpSenderInfo? sender, ReadOnlySpan<RtcpReportBlock> blocks,
        string canonicalName, bool bye = false)
    {
        if (blocks.Length > 31) throw new ArgumentOutOfRangeException(nameof(blocks), "at most 31 report blocks fit one report");
        var at = 0;
        // SR or RR.
        var words = 1 + (sender is null ? 0 : 5) + (6 * blocks.Length);
        WriteHeader(destination[at..], blocks.Length, sender is null ? RtcpType.ReceiverReport : RtcpType.SenderReport, words);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(at + 4)..], ssrc);
        at += 8;
        if (sender is { } s)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination[at..], s.NtpTimestamp);
            BinaryPrimitives.WriteUInt32BigEndian(destination[(at + 8)..], s.RtpTimestamp);
            BinaryPrimitives.WriteUInt32BigEndian(destination[(at + 12)..], s.PacketCount);
            BinaryPrimitives.WriteUInt32BigEndian(destination[(at + 16)..], s.OctetCount);
            at += 20;
        }
        foreach (var b in blocks)
        {
            var d = destination[at..];
            BinaryPrimitives.WriteUInt32BigEndian(d, b.Ssrc);
            var lost = Math.Clamp(b.CumulativeLost, -0x800000, 0x7FFFFF) & 0xFFFFFF;
            BinaryPrimitives.WriteUInt32BigEndian(d[4..], ((uint)b.FractionLost << 24) | (uint)lost);
            BinaryPrimitives.WriteUInt32BigEndian(d[8..], b.HighestSequence);
            BinaryPrimitives.WriteUInt32BigEndian(d[12..], b.Jitter);
            BinaryPrimitives.WriteUInt32BigEndian(d[16..], b.LastSenderReport);
            BinaryPrimitives.WriteUInt32BigEndian(d[20..], b.DelaySinceLastSenderReport);
            at += RtcpReportBlock.Length;
        }
        // SDES: one chunk, CNAME then the end item, padded to a 32-bit boundary (§6.5).
        var name = Encoding.UTF8.GetBytes(canonicalName);
        if (name.Length > 255) throw new ArgumentException("a CNAME has at most 255 bytes", nameof(canonicalName));
        var chunk = 4 + 2 + name.Length + 1;
        var padded = (chunk + 3) & ~3;
        WriteHeader(destination[at..], 1, RtcpType.SourceDescription, padded / 4);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(at + 4)..], ssrc);
        destination[at + 8] = 1; // CNAME
        destination[at + 9] = (byte)name.Length;
        name.CopyTo(destination[(at + 10)..]);
        destination.Slice(at + 10 + name.Length, padded - chunk + 1).Clear();
        at += 4 + padded;
        if (bye)
        {
            WriteHeader(destination[at..], 1, RtcpType.Bye, 1);
            BinaryPrimitives.WriteUInt32BigEndian(destination[(at + 4)..], ssrc);
            at += 8;
        }
        return at;
    }

    private static void WriteHeader(Span<byte> d, int count, RtcpType type, int wordsAfterHeader)
    {
        d[0] = (byte)(0x80 | count);
        d[1] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], (ushort)wordsAfterHeader);
    }

    /// <summary>True when the datagram looks like RTCP rather than RTP on a shared port (RFC 5761 §4: payload types
    /// 64-95 with the marker bit, i.e. RTCP types 192-223).</summary>
    public static bool IsRtcp(ReadOnlySpan<byte> data) => data.Length >= HeaderLength && data[1] is >= 192 and <= 223;

    /// <summary>Parses a compound packet; false with a reason for one that fails the checks of RFC 3550 §A.2 (version
    /// 2, an SR or RR first, padding only on the last packet, lengths that add up to the datagram). Never throws.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out RtcpReport? report, out string? error)
    {
        report = null;
        if (data.Length < HeaderLength) return Fail("shorter than an RTCP header", out error);
        if (data[1] is not ((byte)RtcpType.SenderReport or (byte)RtcpType.ReceiverReport))
            return Fail("a compound RTCP packet starts with an SR or RR", out error);
        uint? ssrc = null;
        RtcpSenderInfo? sender = null;
        var blocks = new List<RtcpReportBlock>();
        string? cname = null;
        var bye = false;
        string? byeReason = null;
        var at = 0;
        while (at < data.Length)
        {
            var rest = data[at..];
            if (rest.Length < HeaderLength) return Fail("a packet header runs past the end", out error);
            if (rest[0] >> 6 != 2) return Fail("RTCP version is not 2", out error);
            var length = 4 * (BinaryPrimitives.ReadUInt16BigEndian(rest[2..]) + 1);
            if (length > rest.Length) return Fail("a packet's length runs past the end", out error);
            var hasPadding = (rest[0] & 0x20) != 0;
            if (hasPadding && at + length != data.Length) return Fail("padding on a packet that is not the last", out error);
            var packet = rest[..length];
            if (hasPadding)
            {
                var pad = packet[^1];
                if (pad == 0 || pad > length - HeaderLength) return Fail("invalid padding length", out error);
                packet = packet[..^pad];
            }
            var count = rest[0] & 0x1F;
            switch ((RtcpType)rest[1])
            {
                case RtcpType.SenderReport or RtcpType.ReceiverReport when ssrc is null:
                    {
                        var isSender = rest[1] == (byte)RtcpType.SenderReport;
                        var fixedLength = 8 + (isSender ? 20 : 0);
                        if (packet.Length < fixedLength + (count * RtcpReportBlock.Length)) return Fail("report blocks run past the packet", out error);
                        ssrc = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]);
                        if (isSender)
                        {
                            sender = new RtcpSenderInfo(BinaryPrimitives.ReadUInt64BigEndian(packet[8..]), BinaryPrimitives.ReadUInt32BigEndian(packet[16..]),
                                BinaryPrimitives.ReadUInt32BigEndian(packet[20..]), BinaryPrimitives.ReadUInt32BigEndian(packet[24..]));
                        }
                        for (var i = 0; i < count; i++)
                        {
                            var b = packet[(fixedLength + (i * RtcpReportBlock.Length))..];
                            var lossWord = BinaryPrimitives.ReadUInt32BigEndian(b[4..]);
                            var lost = (int)(lossWord & 0xFFFFFF);
                            if ((lost & 0x800000) != 0) lost -= 0x1000000; // 24-bit two's complement
                            blocks.Add(new RtcpReportBlock(BinaryPrimitives.ReadUInt32BigEndian(b), (byte)(lossWord >> 24), lost,
                                BinaryPrimitives.ReadUInt32BigEndian(b[8..]), BinaryPrimitives.ReadUInt32BigEndian(b[12..]),
                                BinaryPrimitives.ReadUInt32BigEndian(b[16..]), BinaryPrimitives.ReadUInt32BigEndian(b[20..])));
                        }
                        break;
                    }
                case RtcpType.SourceDescription:
                    if (!TryReadCname(packet, count, ref cname, out error)) return false;
                    break;
                case RtcpType.Bye:
                    if (packet.Length < HeaderLength + (4 * count)) return Fail("BYE sources run past the packet", out error);
                    bye = true;
                    var reasonAt = HeaderLength + (4 * count);
                    if (packet.Length > reasonAt && packet[reasonAt] > 0 && packet.Length >= reasonAt + 1 + packet[reasonAt])
                        byeReason = Encoding.UTF8.GetString(packet.Slice(reasonAt + 1, packet[reasonAt]));
                    break;
                default:
                    break; // a second report, APP, XR, feedback: not used
            }
            at += length;
        }
        report = new RtcpReport(ssrc!.Value, sender, blocks, cname, bye, byeReason);
        error = null;
        return true;
    }

    /// <summary>The first CNAME item of the SDES chunks (§6.5.1), skipping other items.</summary>
    private static bool TryReadCname(ReadOnlySpan<byte> packet, int chunks, ref string? cname, out string? error)
    {
        var at = HeaderLength;
        for (var c = 0; c < chunks; c++)
        {
            if (packet.Length < at + 4) return Fail("an SDES chunk runs past the packet", out error);
            at += 4; // SSRC/CSRC
            while (true)
            {
                if (at >= packet.Length) return Fail("an SDES item runs past the packet", out error);
                var type = packet[at];
                if (type == 0)
                {
                    at = (at + 4) & ~3; // the end item, then padding to the next 32-bit boundary
                    break;
                }
                if (at + 2 > packet.Length || at + 2 + packet[at + 1] > packet.Length) return Fail("an SDES item runs past the packet", out error);
                if (type == 1 && cname is null) cname = Encoding.UTF8.GetString(packet.Slice(at + 2, packet[at + 1]));
                at += 2 + packet[at + 1];
            }
        }
        error = null;
        return true;
    }

    private static bool Fail(string reason, out string? error)
    {
        error = reason;
        return false;
    }
}
