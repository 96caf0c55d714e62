using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Lineup.Sip.Media;

/// <summary>Settings of the <see cref="MediaEngine"/>.</summary>
public sealed record MediaOptions
{
    /// <summary>Address the RTP sockets bind to.</summary>
    public IPAddress Bind { get; init; } = IPAddress.Any;
    /// <summary>Address written in SDP c= and o=; required when <see cref="Bind"/> is a wildcard.</summary>
    public string? SdpAddress { get; init; }
    /// <summary>Lowest RTP port (rounded up to even).</summary>
    public int PortMin { get; init; } = 20000;
    /// <summary>Highest RTP port; the odd port after each RTP port is RTCP's (RFC 3550 §11).</summary>
    public int PortMax { get; init; } = 30000;
    /// <summary>Packet time in ms: 10, 20 or 30.</summary>
    public int PacketMs { get; init; } = 20;
    /// <summary>When given, every interval between two played packets of a stream is also recorded here, in seconds
    /// (an application's metrics; <see cref="MediaStatistics.PlayInterval"/> keeps them in any case).</summary>
    public System.Diagnostics.Metrics.Histogram<double>? PlayIntervalInstrument { get; init; }
    /// <summary>When given, every pacing tick's lateness is also recorded here, in seconds.</summary>
    public System.Diagnostics.Metrics.Histogram<double>? TickLatenessInstrument { get; init; }
    /// <summary>When given, each leg's loss, jitter and round trip are recorded here when it closes.</summary>
    public LegQualityInstruments? LegQuality { get; init; }
    /// <summary>SRTP policy of new legs (each leg's <see cref="RtpLeg.Srtp"/> can be changed before its offer/answer).</summary>
    public SrtpPolicy Srtp { get; init; } = SrtpPolicy.Off;
    /// <summary>Media threads (each paces, and on Linux receives for, its share of the legs); 0: one per core.</summary>
    public int Threads { get; init; }
    /// <summary>On Linux, the media threads run with real-time scheduling (SCHED_RR) at this priority, 1-99, so that
    /// no ordinary thread of this or another process delays a packet; 0 (the default): ordinary scheduling. It needs
    /// root, CAP_SYS_NICE or an RLIMIT_RTPRIO allowance; without it the threads stay ordinary
    /// (<see cref="MediaStatistics.RealtimeThreads"/> counts those that got it). A thread that starts more than half
    /// of its ticks over two seconds more than a period late goes back to ordinary scheduling for good: a saturated
    /// real-time thread would starve everything else on its core.</summary>
    public int RealtimePriority { get; init; }
}

/// <summary>
/// The media side of the process: hands out <see cref="RtpLeg"/>s on even ports of the configured range and spreads
/// them over its media loops (<see cref="MediaOptions.Threads"/>, one per core by default), each one thread that paces
/// its legs on absolute deadlines of one grid (epoch + n × <see cref="MediaOptions.PacketMs"/>, so lateness never
/// accumulates into drift) and, on Linux, receives their packets. A loop whose legs have nothing to send sleeps until
/// one starts playing. Pacing runs on the real clock (<see cref="Stopwatch"/>): a fake clock cannot pace a network, so
/// tests assert counts and header fields, not time.
/// <para>Looped clips (hold music) play at a position shared by every leg of the engine, the frame of the current
/// grid step: each clip frame is encoded once per codec (by <see cref="AudioClip"/>), every leg stamps its own
/// sequence number, timestamp and SSRC on it (and protects its own copy with SRTP), and a caller who joins late
/// hears the current frame, as on a radio.</para>
/// </summary>
public sealed class MediaEngine : IDisposable, IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly HashSet<int> _portsInUse = [];
    private readonly MediaLoop[] _loops;
    private readonly byte[] _tickBuffer = new byte[RtpLeg.BufferSize];
    private readonly long _epoch;
    private readonly ulong _ntpEpoch;
    private int _legCount;
    private int _nextPort;
    private long _tickNumber;
    private volatile bool _stopping;

    public MediaEngine(MediaOptions options)
        : this(options, startPacer: true)
    {
    }

    /// <summary>Tests drive <see cref="Tick"/> themselves when <paramref name="startPacer"/> is false (the legs then
    /// receive with their own asynchronous loops).</summary>
    internal MediaEngine(MediaOptions options, bool startPacer)
    {
        if (options.PacketMs is not (10 or 20 or 30)) throw new ArgumentException("PacketMs must be 10, 20 or 30.", nameof(options));
        if (options.Threads < 0) throw new ArgumentException("Threads must be 0 (one per core) or more.", nameof(options));
        if (options.RealtimePriority is < 0 or > 99) throw new ArgumentException("RealtimePriority must be 0 (off) or 1-99.", nameof(options));
        RealtimePriority = options.RealtimePriority;
        var min = options.PortMin + (options.PortMin & 1);
        if (min < 1024 || options.PortMax > 65535 || min > options.PortMax)
        {
            throw new ArgumentException($"RTP port range {options.PortMin}-{options.PortMax} holds no even port in 1024-65535.", nameof(options));
        }
        var sdpAddress = options.SdpAddress;
        if (string.IsNullOrEmpty(sdpAddress))
        {
            if (options.Bind.Equals(IPAddress.Any) || options.Bind.Equals(IPAddress.IPv6Any))
            {
                throw new ArgumentException("SdpAddress is required when Bind is a wildcard address.", nameof(options));
            }
            sdpAddress = options.Bind.ToString();
        }
        Options = options with { PortMin = min, SdpAddress = sdpAddress };
        Statistics = new MediaStatistics(options.PlayIntervalInstrument, options.TickLatenessInstrument, options.LegQuality);
        FrameSamples = 8 * options.PacketMs;
        _nextPort = min;
        Period = Stopwatch.Frequency * options.PacketMs / 1000;
        _epoch = Stopwatch.GetTimestamp();
        _ntpEpoch = RtcpPacket.NtpTimestamp(TimeProvider.System.GetUtcNow());
        // RFC 7022 §4.2: a random CNAME, the same for every stream of this process (they share its clock).
        CanonicalName = $"lineup-{Random.Shared.NextInt64():x16}@{sdpAddress}";
        var threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        _loops = new MediaLoop[threads];
        for (var i = 0; i < threads; i++) _loops[i] = new MediaLoop(this, i, startPacer);
    }

    /// <summary>The options in effect (PortMin rounded to even, SdpAddress filled in).</summary>
    public MediaOptions Options { get; }

    /// <summary>Samples per packet (160 at 20 ms).</summary>
    public int FrameSamples { get; }

    /// <summary>The address written in SDP.</summary>
    public string SdpAddress => Options.SdpAddress!;

    /// <summary>Counters and interval statistics.</summary>
    public MediaStatistics Statistics { get; }

    /// <summary>Legs currently open.</summary>
    public int LegCount => Volatile.Read(ref _legCount);

    /// <summary>The SDES CNAME of every leg's RTCP (RFC 3550 §6.5.1).</summary>
    internal string CanonicalName { get; }

    /// <summary>Our NTP-format wall clock (RFC 3550 §4) at <paramref name="now"/> (Stopwatch ticks): the wall clock read
    /// once at start, advanced by the monotonic clock, so a round trip computed from it never jumps with the system time.</summary>
    internal ulong NtpAt(long now)
    {
        var elapsed = Math.Max(0, now - _epoch);
        var seconds = (ulong)(elapsed / Stopwatch.Frequency);
        var fraction = (ulong)(elapsed % Stopwatch.Frequency) * (1UL << 32) / (ulong)Stopwatch.Frequency;
        return _ntpEpoch + (seconds << 32) + fraction;
    }

    /// <summary>The packet time in <see cref="Stopwatch"/> ticks.</summary>
    internal long Period { get; }

    /// <summary>SCHED_RR priority for the media threads, 0 for ordinary scheduling.</summary>
    internal int RealtimePriority { get; }

    internal AddressFamily AddressFamily => Options.Bind.AddressFamily;

    /// <summary>The grid deadline at or before <paramref name="now"/>.</summary>
    internal long DeadlineAtOrBefore(long now) => _epoch + ((now - _epoch) / Period * Period);

    /// <summary>The step number of a grid deadline: the same on every loop, so looped clips stay in step.</summary>
    internal long TickAt(long deadline) => (deadline - _epoch) / Period;

    /// <summary>Opens a leg on a free even port and the odd port after it (RTCP); throws
    /// <see cref="InvalidOperationException"/> when the range is exhausted.</summary>
    public RtpLeg CreateLeg() =>
        TryCreateLeg(out var leg, out var error) ? leg : throw new InvalidOperationException(error);

    /// <summary>Opens a leg on a free even port; false with a reason when every port of the range is taken.</summary>
    public bool TryCreateLeg([NotNullWhen(true)] out RtpLeg? leg, [NotNullWhen(false)] out string? error)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        lock (_lock)
        {
            var candidates = ((Options.PortMax - Options.PortMin) / 2) + 1;
            for (var i = 0; i < candidates; i++)
            {
                var port = _nextPort;
                _nextPort = port + 2 > Options.PortMax ? Options.PortMin : port + 2;
                if (_portsInUse.Contains(port)) continue;
                var socket = TryBind(port);
                if (socket is null) continue; // taken by another process
                var rtcpSocket = TryBind(port + 1);
                if (rtcpSocket is null)
                {
                    socket.Dispose(); // RFC 3550 §11: RTP and RTCP as a pair, or the next pair
                    continue;
                }
                _portsInUse.Add(port);
                // The loop with the fewest legs: playing legs spread evenly over the threads.
                var loop = _loops[0];
                foreach (var l in _loops)
                {
                    if (l.LegCount < loop.LegCount) loop = l;
                }
                leg = new RtpLeg(this, loop, socket, rtcpSocket, port);
                _legCount++;
                loop.Add(leg);
                if (!loop.ReceivesForLegs) leg.StartReceiving();
                error = null;
                return true;
            }
            leg = null;
            error = $"no free RTP port: all even/odd port pairs {Options.PortMin}-{Options.PortMax} are in use ({_portsInUse.Count} by Lineup)";
            return false;
        }
    }

    internal void Release(RtpLeg leg)
    {
        leg.Loop.Remove(leg);
        lock (_lock)
        {
            if (_portsInUse.Remove(leg.LocalPort)) _legCount--;
        }
    }

    private Socket? TryBind(int port)
    {
        var socket = new Socket(Options.Bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (Options.Bind.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = true;
            socket.Bind(new IPEndPoint(Options.Bind, port));
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    /// <summary>One pacing step on the calling thread, for tests that drive time themselves: every leg sends its next
    /// frame (or telephone-event packet) if it is playing.</summary>
    internal void Tick(long now)
    {
        var tick = ++_tickNumber;
        Interlocked.Increment(ref Statistics._ticks);
        foreach (var loop in _loops) loop.Tick(now, tick, _tickBuffer);
    }

    /// <summary>One RTCP pass on the calling thread, for tests: every leg whose report is due at
    /// <paramref name="now"/> sends it.</summary>
    internal void RtcpTick(long now)
    {
        foreach (var loop in _loops) loop.RtcpPass(now);
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        foreach (var loop in _loops)
        {
            foreach (var leg in loop.Legs) leg.Dispose();
            loop.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
