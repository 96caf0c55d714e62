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
    /// <summary>Highest RTP port; the odd port after each RTP port is left for RTCP.</summary>
    public int PortMax { get; init; } = 30000;
    /// <summary>Packet time in ms: 10, 20 or 30.</summary>
    public int PacketMs { get; init; } = 20;
    /// <summary>When given, every interval between two played packets of a stream is also recorded here, in seconds
    /// (an application's metrics; <see cref="MediaStatistics.PlayInterval"/> keeps them in any case).</summary>
    public System.Diagnostics.Metrics.Histogram<double>? PlayIntervalInstrument { get; init; }
    /// <summary>When given, every pacing tick's lateness is also recorded here, in seconds.</summary>
    public System.Diagnostics.Metrics.Histogram<double>? TickLatenessInstrument { get; init; }
    /// <summary>SRTP policy of new legs (each leg's <see cref="RtpLeg.Srtp"/> can be changed before its offer/answer).</summary>
    public SrtpPolicy Srtp { get; init; } = SrtpPolicy.Off;
}

/// <summary>
/// The media side of the process: hands out <see cref="RtpLeg"/>s on even ports of the configured range and runs the
/// one pacing thread. Every <see cref="MediaOptions.PacketMs"/> the thread wakes on an absolute deadline
/// (start + n × period, so lateness never accumulates into drift) and sends one packet for every playing leg from the
/// clips' pre-encoded frames. Receiving is one async receive loop per leg. Pacing runs on the real clock
/// (<see cref="Stopwatch"/>): a fake clock cannot pace a network, so tests assert counts and header fields, not time.
/// </summary>
public sealed class MediaEngine : IDisposable, IAsyncDisposable
{
    /// <summary>Above this lateness the schedule restarts from now instead of sending a burst to catch up.</summary>
    private const int MaxCatchUpMs = 100;

    private readonly Lock _lock = new();
    private readonly HashSet<int> _portsInUse = [];
    private readonly Thread _pacer;
    private readonly long _period;
    private readonly byte[] _tickBuffer = new byte[RtpPacket.HeaderLength + 512];
    private RtpLeg[] _legs = [];
    private int _nextPort;
    private long _tickNumber;
    private volatile bool _stopping;

    public MediaEngine(MediaOptions options)
        : this(options, startPacer: true)
    {
    }

    /// <summary>Tests drive <see cref="Tick"/> themselves when <paramref name="startPacer"/> is false.</summary>
    internal MediaEngine(MediaOptions options, bool startPacer)
    {
        if (options.PacketMs is not (10 or 20 or 30)) throw new ArgumentException("PacketMs must be 10, 20 or 30.", nameof(options));
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
        Statistics = new MediaStatistics(options.PlayIntervalInstrument, options.TickLatenessInstrument);
        FrameSamples = 8 * options.PacketMs;
        _nextPort = min;
        _period = Stopwatch.Frequency * options.PacketMs / 1000;
        _pacer = new Thread(PaceLoop) { IsBackground = true, Name = "Lineup media pacer", Priority = ThreadPriority.AboveNormal };
        if (startPacer) _pacer.Start();
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
    public int LegCount => Volatile.Read(ref _legs).Length;

    /// <summary>Opens a leg on a free even port; throws <see cref="InvalidOperationException"/> when the range is
    /// exhausted.</summary>
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
                _portsInUse.Add(port);
                leg = new RtpLeg(this, socket, port);
                _legs = [.. _legs, leg];
                leg.StartReceiving();
                error = null;
                return true;
            }
            leg = null;
            error = $"no free RTP port: all even ports {Options.PortMin}-{Options.PortMax} are in use ({_portsInUse.Count} by Lineup)";
            return false;
        }
    }

    internal void Release(RtpLeg leg)
    {
        lock (_lock)
        {
            _portsInUse.Remove(leg.LocalPort);
            _legs = Array.FindAll(_legs, l => l != leg);
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

    private void PaceLoop()
    {
        var next = Stopwatch.GetTimestamp() + _period;
        var catchUp = Stopwatch.Frequency * MaxCatchUpMs / 1000;
        while (!_stopping)
        {
            WaitUntil(next);
            var now = Stopwatch.GetTimestamp();
            var late = now - next;
            Statistics.RecordTickLateness(late * 1000.0 / Stopwatch.Frequency);
            if (late > catchUp)
            {
                // A long stall (GC, suspended VM): restart the schedule rather than burst the missed packets.
                Interlocked.Add(ref Statistics._ticksSkipped, late / _period);
                next = now;
            }
            Tick(now);
            next += _period;
        }
    }

    /// <summary>One pacing step: every leg sends its next frame (or telephone-event packet) if it is playing.</summary>
    internal void Tick(long now)
    {
        var tick = ++_tickNumber;
        Interlocked.Increment(ref Statistics._ticks);
        foreach (var leg in Volatile.Read(ref _legs)) leg.OnTick(now, tick, _tickBuffer);
    }

    private static void WaitUntil(long deadline)
    {
        // Sleep until about a millisecond before the deadline, then yield: Thread.Sleep alone wakes up to a
        // scheduler quantum late.
        while (true)
        {
            var remaining = deadline - Stopwatch.GetTimestamp();
            if (remaining <= 0) return;
            var ms = remaining * 1000 / Stopwatch.Frequency;
            if (ms >= 2)
            {
                Thread.Sleep((int)ms - 1);
            }
            else
            {
                Thread.Yield();
            }
        }
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        foreach (var leg in Volatile.Read(ref _legs)) leg.Dispose();
        if (_pacer.IsAlive && Thread.CurrentThread != _pacer) _pacer.Join();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
