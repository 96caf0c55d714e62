using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;

namespace Lineup.Sip.Media;

/// <summary>
/// One media thread and the legs given to it (a <see cref="MediaEngine"/> has one per core by default). The thread
/// paces its legs: on each deadline of the engine's grid (epoch + n × packet time, so lateness never becomes drift)
/// every playing leg sends its next frame. When none of its legs plays or has a digit to send, the thread stops
/// pacing and sleeps until one starts: an idle server spends nothing on media.
/// <para>On Linux (x86-64, arm64) the thread also receives for its legs: one epoll set holds a timerfd for the next
/// deadline, an eventfd to be woken from idle, and read interest for each leg's socket; datagrams are read with
/// <c>recvfrom</c> and handled on this thread (SRTP check, latching, DTMF, recording, relay to the bridged leg).
/// Elsewhere the thread sleeps to its deadlines and each leg receives with its own asynchronous loop.</para>
/// <para>RTCP rides on the same thread and timer: the loop keeps the earliest report due among its legs and wakes for
/// it (also while idle); a pass then sends every report due and finds the next earliest. Passes are at least
/// <see cref="RtcpGranularityMs"/> apart, so a thousand legs cost a few scans of the leg list a second, not a wake per
/// report.</para>
/// </summary>
internal sealed class MediaLoop : IDisposable
{
    private const int MaxEvents = 256;
    /// <summary>Datagrams read from one socket per readiness event before the next socket's turn.</summary>
    private const int MaxReadsPerEvent = 16;
    /// <summary>Above this lateness the schedule restarts from now instead of sending a burst to catch up.</summary>
    private const int MaxCatchUpMs = 100;
    /// <summary>A real-time loop is judged over windows of this many ticks (2 s at 20 ms)...</summary>
    private const int SaturationWindow = 100;
    /// <summary>...and is saturated (its work takes longer than the packet time) when more than this many of them
    /// started more than a period late: it goes back to ordinary scheduling rather than starve its core. A lone
    /// stall (a GC, a suspended VM) is one late tick: the schedule restarts after it.</summary>
    private const int SaturatedTicks = 50;
    /// <summary>Shortest time between two RTCP passes: reports due within it go together (the interval is randomised
    /// over seconds anyway, RFC 3550 §6.3.1).</summary>
    private const int RtcpGranularityMs = 100;

    private readonly MediaEngine _engine;
    private readonly Lock _lock = new();
    private readonly Thread _thread;
    private readonly byte[] _tickBuffer = new byte[RtpLeg.BufferSize];
    private readonly byte[] _scratch = new byte[RtpLeg.BufferSize];
    private readonly byte[] _rtcpBuffer = new byte[RtcpSession.MaxCompound];
    private long _nextRtcp = long.MaxValue; // earliest report due among the legs (Stopwatch ticks)
    private readonly object _gate = new(); // portable: idle wait and wake
    private readonly bool _native;
    private readonly int _epoll = -1;
    private readonly int _timer = -1;
    private readonly int _wake = -1;
    private RtpLeg[] _legs = [];
    private RtpLeg?[] _byFd = new RtpLeg?[256];
    private int _idle;          // 1 while the thread waits without a deadline
    private bool _wakeRequested; // portable, under _gate
    private volatile bool _stopping;
    private bool _realtime;      // this loop's thread runs SCHED_RR (pacing thread only)
    private int _windowTicks;    // ticks in the current saturation window (pacing thread only)
    private int _lateTicks;      // of which started more than a period late (pacing thread only)

    public MediaLoop(MediaEngine engine, int index, bool start)
    {
        _engine = engine;
        _native = LinuxIo.IsSupported && start;
        if (_native)
        {
            _epoll = LinuxIo.EpollCreate(LinuxIo.CloseOnExec);
            _timer = LinuxIo.TimerCreate(LinuxIo.ClockMonotonic, LinuxIo.NonBlocking | LinuxIo.CloseOnExec);
            _wake = LinuxIo.EventCreate(0, LinuxIo.NonBlocking | LinuxIo.CloseOnExec);
            if (_epoll < 0 || _timer < 0 || _wake < 0 || !LinuxIo.AddForRead(_epoll, _timer) || !LinuxIo.AddForRead(_epoll, _wake))
            {
                throw new InvalidOperationException($"media loop: epoll/timerfd/eventfd failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        _thread = new Thread(_native ? RunNative : RunPortable)
        {
            IsBackground = true,
            Name = $"Lineup media {index}",
            Priority = ThreadPriority.AboveNormal,
        };
        if (start) _thread.Start();
    }

    /// <summary>True when this loop receives for its legs (else each leg runs its own receive loop).</summary>
    public bool ReceivesForLegs => _native;

    public int LegCount => Volatile.Read(ref _legs).Length;

    public IReadOnlyList<RtpLeg> Legs => Volatile.Read(ref _legs);

    public void Add(RtpLeg leg)
    {
        lock (_lock)
        {
            _legs = [.. _legs, leg];
            if (!_native) return;
            var fd = leg.Fd;
            var rtcpFd = leg.RtcpFd;
            if (Math.Max(fd, rtcpFd) >= _byFd.Length)
            {
                var grown = new RtpLeg?[Math.Max(Math.Max(fd, rtcpFd) + 1, _byFd.Length * 2)];
                _byFd.CopyTo(grown, 0);
                Volatile.Write(ref _byFd, grown);
            }
            Volatile.Write(ref _byFd[fd], leg);
            Volatile.Write(ref _byFd[rtcpFd], leg);
            if (!LinuxIo.AddForRead(_epoll, fd) || !LinuxIo.AddForRead(_epoll, rtcpFd))
            {
                throw new InvalidOperationException($"media loop: epoll_ctl failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }

    /// <summary>Stops pacing and receiving for <paramref name="leg"/>; called before its socket closes.</summary>
    public void Remove(RtpLeg leg)
    {
        lock (_lock)
        {
            var index = Array.IndexOf(_legs, leg);
            if (index < 0) return;
            var legs = new RtpLeg[_legs.Length - 1];
            Array.Copy(_legs, legs, index);
            Array.Copy(_legs, index + 1, legs, index, legs.Length - index);
            _legs = legs;
            if (!_native) return;
            foreach (var fd in (ReadOnlySpan<int>)[leg.Fd, leg.RtcpFd])
            {
                LinuxIo.Remove(_epoll, fd);
                if (fd < _byFd.Length && ReferenceEquals(_byFd[fd], leg)) Volatile.Write(ref _byFd[fd], null);
            }
        }
    }

    /// <summary>A leg started playing or has a digit to send: wake the thread if it stopped pacing.</summary>
    public void Activate()
    {
        if (Interlocked.Exchange(ref _idle, 0) == 0) return;
        if (_native)
        {
            LinuxIo.Signal(_wake);
            return;
        }
        lock (_gate)
        {
            _wakeRequested = true;
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>A leg's first report is due at <paramref name="due"/>: wake for it if it is earlier than what the loop
    /// waits for (the loop may be idle, waiting for nothing).</summary>
    public void ScheduleRtcp(long due)
    {
        if (!LowerNextRtcp(due)) return;
        if (_native)
        {
            LinuxIo.Signal(_wake);
            return;
        }
        lock (_gate) Monitor.Pulse(_gate);
    }

    /// <summary>Moves the next RTCP pass to <paramref name="due"/> if that is earlier; true when it did.</summary>
    private bool LowerNextRtcp(long due)
    {
        var current = Volatile.Read(ref _nextRtcp);
        while (due < current)
        {
            var seen = Interlocked.CompareExchange(ref _nextRtcp, due, current);
            if (seen == current) return true;
            current = seen;
        }
        return false;
    }

    /// <summary>When the next RTCP pass is due (Stopwatch ticks), long.MaxValue for none.</summary>
    private long NextRtcp => Volatile.Read(ref _nextRtcp);

    /// <summary>Sends every report due at <paramref name="now"/> and sets the next pass to the earliest report still
    /// to come (at least <see cref="RtcpGranularityMs"/> away). A leg scheduling its first report meanwhile lowers the
    /// next pass itself, so the reset to "none" first loses nothing.</summary>
    public void RtcpPass(long now)
    {
        if (now < NextRtcp) return;
        Volatile.Write(ref _nextRtcp, long.MaxValue);
        var next = long.MaxValue;
        foreach (var leg in Volatile.Read(ref _legs)) next = Math.Min(next, leg.OnRtcpTimer(now, _rtcpBuffer));
        if (next != long.MaxValue) LowerNextRtcp(Math.Max(next, now + (Stopwatch.Frequency * RtcpGranularityMs / 1000)));
    }

    /// <summary>One pacing step over this loop's legs; true when at least one of them is still playing or sending
    /// digits (so the next step is needed).</summary>
    public bool Tick(long now, long tick, byte[] buffer)
    {
        var active = false;
        foreach (var leg in Volatile.Read(ref _legs)) active |= leg.OnTick(now, tick, buffer);
        return active;
    }

    private bool AnyActive()
    {
        foreach (var leg in Volatile.Read(ref _legs))
        {
            if (leg.NeedsTicks) return true;
        }
        return false;
    }

    /// <summary>After a step with nothing to send: go idle unless a leg became active meanwhile (then Activate either
    /// saw the idle flag and wakes us, or we see its leg here).</summary>
    private bool GoIdle()
    {
        Interlocked.Exchange(ref _idle, 1);
        if (!AnyActive()) return true;
        Interlocked.Exchange(ref _idle, 0);
        return false;
    }

    /// <summary>Runs the step due at <paramref name="deadline"/> if it is due; returns the next deadline, or -1 to go
    /// idle.</summary>
    private long Step(long deadline)
    {
        var now = Stopwatch.GetTimestamp();
        if (now < deadline) return deadline;
        var period = _engine.Period;
        var stats = _engine.Statistics;
        var late = now - deadline;
        stats.RecordTickLateness(late * 1000.0 / Stopwatch.Frequency);
        if (late > Stopwatch.Frequency * MaxCatchUpMs / 1000)
        {
            // A long stall (GC, suspended VM): restart the schedule rather than burst the missed packets.
            Interlocked.Add(ref stats._ticksSkipped, late / period);
            deadline = _engine.DeadlineAtOrBefore(now);
        }
        if (_realtime)
        {
            if (late > period) _lateTicks++;
            if (++_windowTicks == SaturationWindow)
            {
                if (_lateTicks > SaturatedTicks && LinuxIo.SetRealtime(0))
                {
                    _realtime = false;
                    Interlocked.Decrement(ref stats._realtimeThreads);
                    Interlocked.Increment(ref stats._realtimeDemotions);
                }
                _windowTicks = 0;
                _lateTicks = 0;
            }
        }
        Interlocked.Increment(ref stats._ticks);
        var active = Tick(now, _engine.TickAt(deadline), _tickBuffer);
        return !active && GoIdle() ? -1 : deadline + period;
    }

    private unsafe void RunNative()
    {
        var eventSize = LinuxIo.EventSize;
        var dataOffset = LinuxIo.EventDataOffset;
        var events = stackalloc byte[MaxEvents * 16];
        var buffer = GC.AllocateUninitializedArray<byte>(RtpLeg.BufferSize, pinned: true);
        var from = new SocketAddress(_engine.AddressFamily);
        var address = GC.AllocateUninitializedArray<byte>(from.Buffer.Length, pinned: true);
        if (_engine.RealtimePriority > 0 && LinuxIo.SetRealtime(_engine.RealtimePriority))
        {
            _realtime = true;
            Interlocked.Increment(ref _engine.Statistics._realtimeThreads);
        }
        var deadline = _engine.DeadlineAtOrBefore(Stopwatch.GetTimestamp()) + _engine.Period;
        var armed = long.MinValue;
        while (!_stopping)
        {
            // The timer serves the pacing deadline and the next RTCP pass, whichever is first.
            var wake = Math.Min(deadline < 0 ? long.MaxValue : deadline, NextRtcp);
            if (wake != armed)
            {
                if (wake == long.MaxValue) LinuxIo.Disarm(_timer);
                else LinuxIo.Arm(_timer, (wake - Stopwatch.GetTimestamp()) * 1_000_000_000 / Stopwatch.Frequency);
                armed = wake;
            }
            var n = LinuxIo.EpollWait(_epoll, events, MaxEvents, -1);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == LinuxIo.Interrupted) continue;
                return; // the epoll set was closed: disposing
            }
            for (var i = 0; i < n && !_stopping; i++)
            {
                var fd = (int)*(ulong*)(events + (i * eventSize) + dataOffset);
                if (fd == _timer)
                {
                    LinuxIo.Drain(_timer);
                    armed = long.MinValue; // expired: arm again for whatever the deadline is after this round
                }
                else if (fd == _wake)
                {
                    LinuxIo.Drain(_wake);
                    // Activate (a leg to pace) clears the idle flag; ScheduleRtcp (a report) wakes without it.
                    if (deadline < 0 && Volatile.Read(ref _idle) == 0) deadline = _engine.DeadlineAtOrBefore(Stopwatch.GetTimestamp()) + _engine.Period;
                }
                else
                {
                    Receive(fd, buffer, address, from);
                }
            }
            if (deadline >= 0) deadline = Step(deadline);
            if (NextRtcp != long.MaxValue) RtcpPass(Stopwatch.GetTimestamp());
        }
    }

    private unsafe void Receive(int fd, byte[] buffer, byte[] address, SocketAddress from)
    {
        var table = Volatile.Read(ref _byFd);
        if (fd >= table.Length || Volatile.Read(ref table[fd]) is not { } leg) return;
        var rtcp = fd == leg.RtcpFd;
        var handle = rtcp ? leg.RtcpHandle : leg.Handle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            fixed (byte* data = buffer)
            fixed (byte* addr = address)
            {
                for (var i = 0; i < MaxReadsPerEvent; i++)
                {
                    var length = address.Length;
                    var received = LinuxIo.ReceiveFrom(fd, data, RtpLeg.MaxDatagram, LinuxIo.DontWait, addr, &length);
                    if (received < 0) break; // EAGAIN: drained (or an ICMP error, which leaves the socket usable)
                    if (length > from.Buffer.Length) continue;
                    address.AsSpan(0, length).CopyTo(from.Buffer.Span);
                    from.Size = length;
                    leg.OnReceived(buffer, (int)received, from, _scratch, rtcp);
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The leg closed while its last datagrams were waiting.
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    private void RunPortable()
    {
        var deadline = _engine.DeadlineAtOrBefore(Stopwatch.GetTimestamp()) + _engine.Period;
        while (!_stopping)
        {
            RtcpPass(Stopwatch.GetTimestamp());
            if (deadline < 0)
            {
                lock (_gate)
                {
                    // Idle: until a leg plays (Activate) or the next RTCP pass (ScheduleRtcp pulses when it moves).
                    while (!_wakeRequested && !_stopping)
                    {
                        var untilRtcp = NextRtcp - Stopwatch.GetTimestamp();
                        if (NextRtcp == long.MaxValue) Monitor.Wait(_gate);
                        else if (untilRtcp <= 0 || !Monitor.Wait(_gate, (int)Math.Min(int.MaxValue, ((untilRtcp * 1000) + Stopwatch.Frequency - 1) / Stopwatch.Frequency))) break;
                    }
                    if (!_wakeRequested) continue;
                    _wakeRequested = false;
                }
                deadline = _engine.DeadlineAtOrBefore(Stopwatch.GetTimestamp()) + _engine.Period;
                continue;
            }
            var remaining = Math.Min(deadline, NextRtcp) - Stopwatch.GetTimestamp();
            if (remaining > 0)
            {
                // Thread.Sleep has millisecond resolution: round up (a little late rather than spinning).
                Thread.Sleep((int)(((remaining * 1000) + Stopwatch.Frequency - 1) / Stopwatch.Frequency));
                continue;
            }
            if (Stopwatch.GetTimestamp() >= deadline) deadline = Step(deadline);
        }
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        if (_native)
        {
            LinuxIo.Signal(_wake);
        }
        else
        {
            lock (_gate) Monitor.Pulse(_gate);
        }
        if (_thread.IsAlive && Thread.CurrentThread != _thread) _thread.Join();
        if (_native)
        {
            LinuxIo.Close(_epoll);
            LinuxIo.Close(_timer);
            LinuxIo.Close(_wake);
        }
    }
}
