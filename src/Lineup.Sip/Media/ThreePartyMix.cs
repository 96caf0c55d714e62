using System.Diagnostics;

namespace Lineup.Sip.Media;

/// <summary>Who hears a monitoring supervisor: nobody (listen), the agent (whisper), or both (barge). The supervisor
/// always hears the caller and the agent.</summary>
public enum MonitorMode
{
    Listen,
    Whisper,
    Barge,
}

/// <summary>
/// A supervisor joined to a bridged call: three-party mixing on the bridge's own packets. Each listener's stream is
/// driven by the packets of its main source (the agent's by the caller's, the caller's by the agent's, the
/// supervisor's by the caller's), renumbered into the listener's stream as a plain bridge does; the frames of its
/// second source (the supervisor for the agent in whisper and barge and for the caller in barge, the agent for the
/// supervisor) wait in a short queue and are added into the next outgoing frame, so each listener still gets one
/// packet per packet time. When a main source falls silent (no packet for <see cref="SilentAfterMs"/>), its second
/// source's packets go out on their own. Telephone-events keep going between caller and agent only. The mode can
/// change at any time; <see cref="Stop"/> leaves the caller and agent bridged as before.
/// </summary>
public sealed class ThreePartyMix
{
    /// <summary>A main source quiet for this long lets the second source drive its listener.</summary>
    public const int SilentAfterMs = 100;

    /// <summary>Frames of a second source kept for the next outgoing frame (older ones are dropped: 60 ms at 20 ms).</summary>
    private const int Depth = 3;

    private readonly Lock _lock = new();
    private readonly FrameQueue _toAgent = new(), _toCaller = new(), _toSupervisor = new();
    private long _callerHeard, _agentHeard;
    private volatile bool _stopped;

    private ThreePartyMix(RtpLeg caller, RtpLeg agent, RtpLeg supervisor, MonitorMode mode)
    {
        Caller = caller;
        Agent = agent;
        Supervisor = supervisor;
        Mode = mode;
    }

    public RtpLeg Caller { get; }
    public RtpLeg Agent { get; }
    public RtpLeg Supervisor { get; }

    /// <summary>Changes take effect with the next packet.</summary>
    public MonitorMode Mode { get; set; }

    /// <summary>Joins <paramref name="supervisor"/> to the bridge of <paramref name="caller"/> and <paramref name="agent"/>
    /// (which must be bridged to each other) in <paramref name="mode"/>.</summary>
    public static ThreePartyMix Start(RtpLeg caller, RtpLeg agent, RtpLeg supervisor, MonitorMode mode)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(supervisor);
        if (caller.BridgedTo != agent) throw new InvalidOperationException("The caller and the agent must be bridged to each other.");
        var mix = new ThreePartyMix(caller, agent, supervisor, mode);
        supervisor.Stop();
        caller.Mix = mix;
        agent.Mix = mix;
        supervisor.Mix = mix;
        return mix;
    }

    /// <summary>The supervisor leaves: caller and agent hear each other alone again.</summary>
    public void Stop()
    {
        _stopped = true;
        if (Caller.Mix == this) Caller.Mix = null;
        if (Agent.Mix == this) Agent.Mix = null;
        if (Supervisor.Mix == this) Supervisor.Mix = null;
    }

    /// <summary>An audio packet received on one of the three legs (on that leg's receive thread).</summary>
    internal void OnAudio(RtpLeg from, in RtpPacket packet, Codec codec, byte[] scratch)
    {
        if (_stopped) return;
        var mode = Mode;
        var now = Stopwatch.GetTimestamp();
        Span<short> pcm = stackalloc short[FrameQueue.MaxSamples];
        Span<short> other = stackalloc short[FrameQueue.MaxSamples];
        var length = Math.Min(packet.Payload.Length, FrameQueue.MaxSamples);
        var frame = pcm[..length];
        G711.Decode(codec, packet.Payload[..length], frame);
        if (from == Caller)
        {
            Volatile.Write(ref _callerHeard, now);
            var n = mode == MonitorMode.Listen ? 0 : Take(_toAgent, other);
            Agent.Relay(packet, codec, false, scratch, other[..n]);
            n = Take(_toSupervisor, other);
            Supervisor.Relay(packet, codec, false, scratch, other[..n]);
        }
        else if (from == Agent)
        {
            Volatile.Write(ref _agentHeard, now);
            var n = mode == MonitorMode.Barge ? Take(_toCaller, other) : 0;
            Caller.Relay(packet, codec, false, scratch, other[..n]);
            if (Silent(_callerHeard, now)) Supervisor.Relay(packet, codec, false, scratch, default);
            else Put(_toSupervisor, frame);
        }
        else if (from == Supervisor && mode != MonitorMode.Listen)
        {
            if (Silent(_callerHeard, now)) Agent.Relay(packet, codec, false, scratch, default);
            else Put(_toAgent, frame);
            if (mode == MonitorMode.Barge)
            {
                if (Silent(_agentHeard, now)) Caller.Relay(packet, codec, false, scratch, default);
                else Put(_toCaller, frame);
            }
        }
    }

    private static bool Silent(long heard, long now) => now - Volatile.Read(ref heard) > Stopwatch.Frequency * SilentAfterMs / 1000;

    private int Take(FrameQueue q, Span<short> into)
    {
        lock (_lock) return q.Take(into);
    }

    private void Put(FrameQueue q, ReadOnlySpan<short> frame)
    {
        lock (_lock) q.Put(frame);
    }

    /// <summary>Adds <paramref name="mixIn"/> into the G.711 <paramref name="payload"/> (saturating) and writes the
    /// result in <paramref name="to"/>'s law: one outgoing frame of a mixed stream.</summary>
    public static void MixFrame(Codec from, ReadOnlySpan<byte> payload, ReadOnlySpan<short> mixIn, Codec to, Span<byte> destination)
    {
        Span<short> pcm = stackalloc short[payload.Length];
        G711.Decode(from, payload, pcm);
        var n = Math.Min(pcm.Length, mixIn.Length);
        for (var i = 0; i < n; i++) pcm[i] = (short)Math.Clamp(pcm[i] + mixIn[i], short.MinValue, short.MaxValue);
        G711.Encode(to, pcm, destination);
    }

    /// <summary>A few decoded frames of one source for one listener; the oldest is dropped when full.</summary>
    private sealed class FrameQueue
    {
        public const int MaxSamples = 240; // 30 ms at 8 kHz
        private readonly short[][] _frames = [new short[MaxSamples], new short[MaxSamples], new short[MaxSamples]];
        private readonly int[] _lengths = new int[Depth];
        private int _head, _count;

        public void Put(ReadOnlySpan<short> frame)
        {
            if (_count == Depth)
            {
                _head = (_head + 1) % Depth;
                _count--;
            }
            var slot = (_head + _count) % Depth;
            frame.CopyTo(_frames[slot]);
            _lengths[slot] = frame.Length;
            _count++;
        }

        public int Take(Span<short> into)
        {
            if (_count == 0) return 0;
            var n = _lengths[_head];
            _frames[_head].AsSpan(0, n).CopyTo(into);
            _head = (_head + 1) % Depth;
            _count--;
            return n;
        }
    }
}
