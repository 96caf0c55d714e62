using System.Diagnostics;

namespace Lineup.Sip.Media;

/// <summary>
/// The quality of one leg's media, as Lineup received it and as the peer reported receiving ours (RFC 3550 §6.4).
/// </summary>
/// <param name="PacketsReceived">RTP packets received from the peer's source.</param>
/// <param name="PacketsLost">Packets the peer's sequence numbers say were sent and never arrived (at least 0).</param>
/// <param name="JitterMeanMs">Interarrival jitter (§A.8) averaged over the packets received, in ms.</param>
/// <param name="JitterMaxMs">The highest interarrival jitter reached, in ms.</param>
/// <param name="RoundTripMs">Mean round-trip time from the peer's report blocks (LSR/DLSR), in ms; null when the peer
/// sent none that echoed one of our sender reports.</param>
/// <param name="RemotePacketsLost">Cumulative loss of our packets in the peer's last report block about us, or null.</param>
/// <param name="RemoteJitterMs">Jitter of our packets in the peer's last report block about us, in ms, or null.</param>
/// <param name="RtcpReceived">RTCP compound packets received from the peer.</param>
public readonly record struct RtpLegQuality(long PacketsReceived, long PacketsLost, double JitterMeanMs, double JitterMaxMs,
    double? RoundTripMs, long? RemotePacketsLost, double? RemoteJitterMs, long RtcpReceived)
{
    /// <summary>Lost over expected (received + lost), in percent; 0 when nothing was expected.</summary>
    public double LossPercent => PacketsReceived + PacketsLost == 0 ? 0 : 100.0 * PacketsLost / (PacketsReceived + PacketsLost);
}

/// <summary>
/// The RTCP side of one <see cref="RtpLeg"/> (RFC 3550 §6): reception statistics of the peer's RTP, what the peer's
/// reports say of ours, and when the next report is due. The media loop that owns the leg builds the reports on its
/// own thread (no timer per leg); received RTP and RTCP update the figures on the receiving thread, and a snapshot may
/// be taken from any thread, so the few fields are kept under one small lock (uncontended but for a snapshot).
/// </summary>
internal sealed class RtcpSession
{
    /// <summary>Session bandwidth assumed for the interval (§6.2): G.711 at 64 kbit/s plus 16 kbit/s of IP/UDP/RTP
    /// headers at 50 packets a second.</summary>
    private const double SessionBitsPerSecond = 80_000;
    /// <summary>First guess of the compound size, before any was sent or received (§6.3.2): an SR with one block and
    /// a CNAME, plus UDP/IP headers.</summary>
    private const double InitialAverageSize = 100;

    /// <summary>Room for the largest compound packet a leg sends: SR with one block, SDES with a CNAME of at most 255
    /// octets, BYE.</summary>
    public const int MaxCompound = 28 + RtcpReportBlock.Length + 4 + 4 + 2 + 255 + 4 + 8;

    private readonly Lock _lock = new();
    private readonly RtcpReception _reception = new();
    private readonly double _ticksPerSample = Stopwatch.Frequency / 8000.0;
    private double _averageSize = InitialAverageSize;
    private bool _initial = true;
    private long _sentAtLastReport;
    private bool _peerSent;
    private double _roundTripSumMs;
    private int _roundTrips;
    private long? _remoteLost;
    private uint? _remoteJitter;
    private long _rtcpReceived;
    private long _lastRtcpAt;

    /// <summary>When the next report is due (Stopwatch ticks); long.MaxValue while none is scheduled. Read and written
    /// by the owning media loop's thread.</summary>
    public long DueAt { get; set; } = long.MaxValue;

    /// <summary>When the last valid RTCP packet arrived (Stopwatch ticks), 0 before any: RTCP shows the peer alive
    /// even while it sends no RTP (on hold, muted with silence suppression).</summary>
    public long LastRtcpAt => Volatile.Read(ref _lastRtcpAt);

    /// <summary>An RTP packet of the peer arrived at <paramref name="now"/> (Stopwatch ticks).</summary>
    public void OnRtp(in RtpPacket packet, long now, bool timing)
    {
        var arrival = (uint)(long)(now / _ticksPerSample);
        lock (_lock) _reception.OnRtp(packet.Ssrc, packet.SequenceNumber, packet.Timestamp, arrival, timing);
    }

    /// <summary>A compound RTCP packet from the peer: its sender report (for our next LSR), and its report block about
    /// <paramref name="ourSsrc"/> (the peer's view of our stream, and a round trip when it echoes one of our SRs).
    /// <paramref name="ntpNow"/> is our NTP clock at arrival. False for a packet that fails RFC 3550 §A.2.</summary>
    public bool OnRtcp(ReadOnlySpan<byte> data, uint ourSsrc, long now, ulong ntpNow)
    {
        if (!RtcpPacket.TryParse(data, out var report, out _)) return false;
        lock (_lock)
        {
            _averageSize = RtcpInterval.UpdateAverageSize(_averageSize, data.Length);
            _rtcpReceived++;
            if (report!.Sender is { } sender)
            {
                _peerSent = true;
                _reception.OnSenderReport(sender.NtpTimestamp, now);
            }
            foreach (var block in report.Blocks)
            {
                if (block.Ssrc != ourSsrc) continue;
                _remoteLost = Math.Max(0, block.CumulativeLost);
                _remoteJitter = block.Jitter;
                if (RtcpPacket.RoundTrip(RtcpPacket.Middle(ntpNow), block.LastSenderReport, block.DelaySinceLastSenderReport) is { } rtt)
                {
                    _roundTripSumMs += rtt.TotalMilliseconds;
                    _roundTrips++;
                }
            }
        }
        Volatile.Write(ref _lastRtcpAt, now);
        return true;
    }

    /// <summary>
    /// Writes this leg's next compound report into <paramref name="destination"/> (RFC 3550 §6.4): an SR when the leg
    /// sent RTP since its last report (<paramref name="packetsSent"/> grew), else an RR; a report block about the
    /// peer's source once it sent; SDES CNAME; and BYE when <paramref name="bye"/>. Returns the length.
    /// </summary>
    public int Write(Span<byte> destination, uint ssrc, string canonicalName, long now, ulong ntpNow, long packetsSent,
        long octetsSent, uint rtpTimestamp, bool bye, out bool weSent)
    {
        lock (_lock)
        {
            weSent = packetsSent > _sentAtLastReport;
            RtcpSenderInfo? sender = weSent ? new RtcpSenderInfo(ntpNow, rtpTimestamp, (uint)packetsSent, (uint)octetsSent) : null;
            _sentAtLastReport = packetsSent;
            Span<RtcpReportBlock> blocks = stackalloc RtcpReportBlock[1];
            var count = 0;
            if (_reception.Report(now) is { } block) blocks[count++] = block;
            var length = RtcpPacket.Write(destination, ssrc, sender, blocks[..count], canonicalName, bye);
            _averageSize = RtcpInterval.UpdateAverageSize(_averageSize, length);
            return length;
        }
    }

    /// <summary>The interval to the report after one sent now (§6.3.1): two members, the senders among them those
    /// heard lately; <paramref name="weSent"/> when this leg sent RTP since its last report; <paramref name="random01"/>
    /// a uniform draw in [0, 1).</summary>
    public TimeSpan NextInterval(bool weSent, double random01)
    {
        lock (_lock)
        {
            var senders = (weSent ? 1 : 0) + (_peerSent || _reception.Started ? 1 : 0);
            var interval = RtcpInterval.Next(2, senders, RtcpInterval.RtcpOctetsPerSecond(SessionBitsPerSecond), weSent, _averageSize, _initial, random01);
            _initial = false;
            return interval;
        }
    }

    /// <summary>The figures so far.</summary>
    public RtpLegQuality Quality()
    {
        lock (_lock)
        {
            var r = _reception;
            return new RtpLegQuality(r.Received, r.Started ? Math.Max(0, r.CumulativeLost) : 0, r.JitterMean / 8, r.JitterMax / 8,
                _roundTrips == 0 ? null : _roundTripSumMs / _roundTrips, _remoteLost, _remoteJitter is { } j ? j / 8.0 : null, _rtcpReceived);
        }
    }
}
