using System.Diagnostics.Metrics;

namespace Lineup.Sip.Media;

/// <summary>
/// A fixed-bucket histogram of durations in milliseconds (50 µs buckets up to 500 ms, one overflow bucket).
/// Recording is lock-free and allocation-free; percentiles are read by scanning the buckets.
/// </summary>
public sealed class IntervalHistogram
{
    private const double BucketMs = 0.05;
    private const int Buckets = 10_000;
    private readonly long[] _counts = new long[Buckets + 1];
    private long _count;
    private long _maxMicros;

    /// <summary>Values recorded.</summary>
    public long Count => Volatile.Read(ref _count);

    /// <summary>Largest value recorded, in ms.</summary>
    public double MaxMs => Volatile.Read(ref _maxMicros) / 1000.0;

    public void Record(double ms)
    {
        var bucket = ms <= 0 ? 0 : (int)Math.Min(Buckets, ms / BucketMs);
        Interlocked.Increment(ref _counts[bucket]);
        Interlocked.Increment(ref _count);
        var micros = (long)(ms * 1000);
        var max = Volatile.Read(ref _maxMicros);
        while (micros > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxMicros, micros, max);
            if (seen == max) break;
            max = seen;
        }
    }

    /// <summary>The upper edge of the bucket holding the <paramref name="percentile"/>-th value (0–100), in ms; 0 when
    /// empty. Values past 500 ms report the maximum.</summary>
    public double Percentile(double percentile)
    {
        var total = Count;
        if (total == 0) return 0;
        var rank = (long)Math.Ceiling(total * Math.Clamp(percentile, 0, 100) / 100.0);
        if (rank < 1) rank = 1;
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Volatile.Read(ref _counts[i]);
            if (seen >= rank) return i == Buckets ? MaxMs : (i + 1) * BucketMs;
        }
        return MaxMs;
    }

    /// <summary>Values recorded at or below <paramref name="ms"/> (to the 50 µs bucket), for cumulative histogram
    /// buckets that a scraper can subtract between two readings.</summary>
    public long CountAtMost(double ms)
    {
        var last = ms <= 0 ? 0 : (int)Math.Min(Buckets, ms / BucketMs) - 1;
        long total = 0;
        for (var i = 0; i <= last; i++) total += Volatile.Read(ref _counts[i]);
        return total;
    }

    /// <summary>Forgets everything recorded (e.g. after a benchmark's warm-up).</summary>
    public void Reset()
    {
        for (var i = 0; i < _counts.Length; i++) Volatile.Write(ref _counts[i], 0);
        Volatile.Write(ref _count, 0);
        Volatile.Write(ref _maxMicros, 0);
    }
}

/// <summary>Counters of a <see cref="MediaEngine"/> for monitoring and benchmarks.</summary>
/// <remarks>The interval histograms can also feed an application's instruments (seconds), given in
/// <see cref="MediaOptions"/>; recording stays on the pacing threads, without locks or allocation.</remarks>
public sealed class MediaStatistics(Histogram<double>? playIntervalInstrument = null, Histogram<double>? tickLatenessInstrument = null,
    LegQualityInstruments? legQuality = null)
{
    internal long _rtcpSent;
    internal long _rtcpReceived;
    internal long _rtcpDropped;
    internal long _packetsSent;
    internal long _packetsReceived;
    internal long _packetsRelayed;
    internal long _packetsDropped;
    internal long _sendErrors;
    internal long _ticks;
    internal long _ticksSkipped;
    internal long _srtpAuthenticationFailures;
    internal long _srtpReplays;
    internal int _realtimeThreads;
    internal int _realtimeDemotions;

    /// <summary>RTP packets sent (played, relayed, telephone-events).</summary>
    public long PacketsSent => Volatile.Read(ref _packetsSent);
    /// <summary>RTP packets received and accepted.</summary>
    public long PacketsReceived => Volatile.Read(ref _packetsReceived);
    /// <summary>Packets forwarded from one bridged leg to the other.</summary>
    public long PacketsRelayed => Volatile.Read(ref _packetsRelayed);
    /// <summary>Datagrams that were not RTP or carried a payload type we did not negotiate.</summary>
    public long PacketsDropped => Volatile.Read(ref _packetsDropped);
    /// <summary>Sends the socket refused.</summary>
    public long SendErrors => Volatile.Read(ref _sendErrors);
    /// <summary>SRTP packets dropped because their authentication tag did not match (tampered or forged).</summary>
    public long SrtpAuthenticationFailures => Volatile.Read(ref _srtpAuthenticationFailures);
    /// <summary>SRTP packets dropped as replays (seen before or older than the replay window).</summary>
    public long SrtpReplays => Volatile.Read(ref _srtpReplays);
    /// <summary>Pacing ticks run.</summary>
    public long Ticks => Volatile.Read(ref _ticks);
    /// <summary>Ticks given up because the pacing thread fell more than 100 ms behind (the schedule restarts).</summary>
    public long TicksSkipped => Volatile.Read(ref _ticksSkipped);

    /// <summary>RTCP compound packets sent (reports and BYEs).</summary>
    public long RtcpSent => Volatile.Read(ref _rtcpSent);
    /// <summary>RTCP compound packets received and accepted.</summary>
    public long RtcpReceived => Volatile.Read(ref _rtcpReceived);
    /// <summary>RTCP datagrams dropped: malformed (RFC 3550 §A.2), from another source than the latched one, or on an
    /// SRTP leg.</summary>
    public long RtcpDropped => Volatile.Read(ref _rtcpDropped);

    /// <summary>Media threads running with real-time scheduling (<see cref="MediaOptions.RealtimePriority"/>).</summary>
    public int RealtimeThreads => Volatile.Read(ref _realtimeThreads);
    /// <summary>Media threads that went back to ordinary scheduling, saturated (most ticks of two seconds late).</summary>
    public int RealtimeDemotions => Volatile.Read(ref _realtimeDemotions);

    /// <summary>Interval between consecutive played packets of one stream (every stream recorded into one
    /// histogram): p50/p99 should stay near the packet time.</summary>
    public IntervalHistogram PlayInterval { get; } = new();

    /// <summary>How late each pacing tick woke after its deadline.</summary>
    public IntervalHistogram TickLateness { get; } = new();

    internal void RecordPlayInterval(double ms)
    {
        PlayInterval.Record(ms);
        playIntervalInstrument?.Record(ms / 1000.0);
    }

    internal void RecordTickLateness(double ms)
    {
        TickLateness.Record(ms);
        tickLatenessInstrument?.Record(ms / 1000.0);
    }

    /// <summary>A leg closed: its quality goes to the application's instruments, if any (legs that received no RTP
    /// have no loss or jitter to tell, and a round trip only when the peer's reports gave one).</summary>
    internal void RecordLegEnd(in RtpLegQuality quality)
    {
        if (legQuality is null) return;
        if (quality.PacketsReceived > 0)
        {
            legQuality.LossRatio?.Record(quality.LossPercent / 100);
            legQuality.JitterSeconds?.Record(quality.JitterMaxMs / 1000);
        }
        if (quality.RoundTripMs is { } rtt) legQuality.RoundTripSeconds?.Record(rtt / 1000);
    }
}

/// <summary>An application's instruments for the quality of each leg, recorded when the leg closes.</summary>
/// <param name="LossRatio">Packets lost over packets expected, 0-1.</param>
/// <param name="JitterSeconds">The highest interarrival jitter of the leg, in seconds.</param>
/// <param name="RoundTripSeconds">The mean round trip from the peer's RTCP reports, in seconds.</param>
public sealed record LegQualityInstruments(Histogram<double>? LossRatio, Histogram<double>? JitterSeconds, Histogram<double>? RoundTripSeconds);
