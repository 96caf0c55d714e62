namespace Lineup.Sip.Media;

/// <summary>
/// What a receiver keeps of one RTP source to fill its reception report block (RFC 3550 §6.4.1, §A.1, §A.3, §A.8):
/// the extended highest sequence number, packets received, loss since the last report, interarrival jitter, and the
/// last sender report heard. A few fields per source, updated per packet without allocating; probation and resync
/// of §A.1 are left out (a source is taken from its first packet, as the media legs latch onto it).
/// </summary>
public sealed class RtcpReception
{
    private ushort _maxSequence;
    private uint _cycles;
    private uint _baseSequence;
    private uint _received;
    private uint _expectedPrior;
    private uint _receivedPrior;
    private int _transit;
    private double _jitter;
    private uint _lastSenderReport;
    private long _lastSenderReportAt;
    private bool _started;
    private double _jitterMax;
    private double _jitterSum;
    private long _jitterSamples;

    /// <summary>The source these figures are about.</summary>
    public uint Ssrc { get; private set; }

    /// <summary>RTP packets received from it.</summary>
    public uint Received => _received;

    /// <summary>Extended highest sequence number received (§A.3).</summary>
    public uint HighestSequence => _cycles + _maxSequence;

    /// <summary>Packets expected minus packets received since the start (may be negative with duplicates).</summary>
    public int CumulativeLost => (int)Math.Clamp((long)HighestSequence - _baseSequence + 1 - _received, -0x800000, 0x7FFFFF);

    /// <summary>Interarrival jitter, in timestamp units (§A.8).</summary>
    public uint Jitter => (uint)_jitter;

    /// <summary>The largest jitter estimate reached, in timestamp units.</summary>
    public double JitterMax => _jitterMax;

    /// <summary>The jitter estimate averaged over the packets that updated it, in timestamp units (0 before any).</summary>
    public double JitterMean => _jitterSamples == 0 ? 0 : _jitterSum / _jitterSamples;

    /// <summary>True once a packet arrived.</summary>
    public bool Started => _started;

    /// <summary>An RTP packet arrived: <paramref name="arrival"/> is its arrival time in the stream's timestamp units
    /// (for G.711, 8,000 per second; any origin). <paramref name="timing"/> false leaves the jitter alone: RFC 4733
    /// events repeat their start timestamp, so their transit time says nothing about the network's variation.</summary>
    public void OnRtp(uint ssrc, ushort sequence, uint rtpTimestamp, uint arrival, bool timing = true)
    {
        if (!_started || ssrc != Ssrc)
        {
            // A new source (or the first): start over from this packet (§A.1 init_seq).
            Ssrc = ssrc;
            _started = true;
            _maxSequence = sequence;
            _cycles = 0;
            _baseSequence = sequence;
            _received = 0;
            _expectedPrior = _receivedPrior = 0;
            _jitter = 0;
            _jitterMax = _jitterSum = 0;
            _jitterSamples = 0;
            _transit = (int)(arrival - rtpTimestamp);
        }
        else
        {
            var delta = (ushort)(sequence - _maxSequence);
            if (delta is > 0 and < 0x8000)
            {
                if (sequence < _maxSequence)
                {
                    _cycles += 1 << 16; // wrapped
                }
                _maxSequence = sequence;
            }
            // Older or duplicate packets are counted as received but move nothing (§A.1 keeps them too).
            if (timing)
            {
                var transit = (int)(arrival - rtpTimestamp);
                var d = Math.Abs((long)transit - _transit);
                _transit = transit;
                _jitter += (d - _jitter) / 16; // §6.4.1: J(i) = J(i-1) + (|D(i-1,i)| - J(i-1))/16
                if (_jitter > _jitterMax) _jitterMax = _jitter;
                _jitterSum += _jitter;
                _jitterSamples++;
            }
        }
        _received++;
    }

    /// <summary>A sender report from the source arrived at <paramref name="nowTicks"/> (any monotonic clock in
    /// <see cref="TimeSpan"/> ticks): its LSR and the delay since it go in the next report block.</summary>
    public void OnSenderReport(ulong ntpTimestamp, long nowTicks)
    {
        _lastSenderReport = RtcpPacket.Middle(ntpTimestamp);
        _lastSenderReportAt = nowTicks;
    }

    /// <summary>The report block for this source at <paramref name="nowTicks"/>, and the start of the next loss
    /// interval (the fraction lost is since the previous call, §A.3); null before any packet.</summary>
    public RtcpReportBlock? Report(long nowTicks)
    {
        if (!_started)
        {
            return null;
        }
        var expected = HighestSequence - _baseSequence + 1;
        var expectedInterval = expected - _expectedPrior;
        var receivedInterval = _received - _receivedPrior;
        _expectedPrior = expected;
        _receivedPrior = _received;
        var lostInterval = (long)expectedInterval - receivedInterval;
        var fraction = expectedInterval == 0 || lostInterval <= 0 ? (byte)0 : (byte)Math.Min(255, (lostInterval << 8) / expectedInterval);
        var dlsr = _lastSenderReport == 0 ? 0u : (uint)((nowTicks - _lastSenderReportAt) * 65536 / TimeSpan.TicksPerSecond);
        return new RtcpReportBlock(Ssrc, fraction, CumulativeLost, HighestSequence, Jitter, _lastSenderReport, dlsr);
    }
}
