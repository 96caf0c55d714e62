using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Lineup.Sip.Media;

/// <summary>
/// One RTP stream endpoint of a call: a UDP socket on an even port, the SDP offer/answer that configures it, and
/// what it does with media: play clips (paced by the engine), relay to a bridged leg, record, detect DTMF.
/// <para>Symmetric RTP (RFC 4961): once the peer's first packet arrives, packets go to the address it came from,
/// which gets through NATs; until then, to the SDP c=/m= address. Once latched, packets from other sources are
/// dropped until the next offer/answer. Handlers of <see cref="Dtmf"/> run on the receive
/// loop and <see cref="PlaybackFinished"/> on the thread pool; both must be quick and must not throw.</para>
/// <para>RTCP (RFC 3550 §6) on the odd port after the RTP port, or on the RTP port itself when the offer/answer agreed
/// rtcp-mux (RFC 5761): the leg's media loop sends an SR (when the leg sent RTP since its last report) or RR with the
/// peer's reception block and a CNAME at the §6.3 interval, and a BYE when the leg closes; the peer's reports give its
/// view of our stream and the round trip (<see cref="Quality"/>). Not on SRTP legs: SRTCP (RFC 3711 §3.4) is not
/// implemented, and clear-text RTCP beside SRTP would leak what SRTP protects.</para>
/// </summary>
public sealed class RtpLeg : IDisposable, IAsyncDisposable
{
    /// <summary>Largest datagram received.</summary>
    internal const int MaxDatagram = 2048;
    /// <summary>Size of the packet buffers the media loops lend to legs (a datagram and room for the SRTP tag).</summary>
    internal const int BufferSize = MaxDatagram + SrtpRoom;
    /// <summary>Room kept after a packet for the SRTP tag.</summary>
    private const int SrtpRoom = 16;
    private const int EndRetransmissions = 3; // RFC 4733 §2.5.1.4

    private readonly MediaEngine _engine;
    private readonly Socket _socket;
    private readonly Socket _rtcpSocket;
    private readonly RtcpSession _rtcp = new();
    private readonly Lock _sendLock = new();
    private readonly RtpSendStream _stream = new();
    private readonly TelephoneEventDetector _detector = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<(int Code, int Samples)> _digits = new();
    private CancellationTokenSource? _cts; // the portable receive loop's
    private readonly ulong _sessionId = (ulong)Random.Shared.NextInt64(1, long.MaxValue);
    private ulong _sessionVersion;

    private volatile SdpNegotiation? _negotiation;
    private volatile SocketAddress? _remote;
    private volatile bool _latched;
    private volatile SocketAddress? _rtcpRemote;
    private volatile bool _rtcpLatched;
    private volatile bool _rtcpMux;
    private long _rtcpDue = long.MaxValue; // next report (Stopwatch ticks); MaxValue: none scheduled
    private volatile Playback? _playback;
    private volatile RtpLeg? _bridge;
    private volatile Recording? _recording;
    private volatile ThreePartyMix? _mix;

    // SRTP (RFC 3711): one context per direction, from this leg's own negotiation. The send context is used and
    // replaced under _sendLock; the receive context only on the receive loop (a replaced one is left to the GC
    // rather than disposed under a receive that may still be using it).
    private IReadOnlyList<SrtpMasterKey>? _offerKeys;
    private SrtpContext? _srtpSend;
    private SrtpMasterKey? _sendKey;
    private volatile SrtpContext? _srtpReceive;
    private string? _receiveKey;

    // Relay state (under _sendLock): the source we are forwarding and its offsets into our numbering.
    private bool _relaying;
    private uint _relaySource;
    private ushort _sequenceOffset;
    private uint _timestampOffset;

    // Pacing-thread state.
    private long _lastPlayTick = long.MinValue;
    private long _lastPlaySend;
    private DigitSend? _digit;

    private long _packetsSent;
    private long _octetsSent;
    private long _packetsReceived;
    private int _disposed;
    private Task _receiving = Task.CompletedTask;

    internal RtpLeg(MediaEngine engine, MediaLoop loop, Socket socket, Socket rtcpSocket, int port)
    {
        _engine = engine;
        _socket = socket;
        _rtcpSocket = rtcpSocket;
        Loop = loop;
        Handle = socket.SafeHandle;
        Fd = (int)Handle.DangerousGetHandle();
        RtcpHandle = rtcpSocket.SafeHandle;
        RtcpFd = (int)RtcpHandle.DangerousGetHandle();
        LocalPort = port;
        Srtp = engine.Options.Srtp;
    }

    /// <summary>The media loop that paces this leg (and, on Linux, receives for it).</summary>
    internal MediaLoop Loop { get; }

    /// <summary>The socket's handle, referenced around each native send and receive so the descriptor cannot be
    /// closed (and reused) under them.</summary>
    internal SafeHandle Handle { get; }

    /// <summary>The socket's file descriptor (Linux).</summary>
    internal int Fd { get; }

    /// <summary>The RTCP socket's handle (port + 1), referenced like <see cref="Handle"/>.</summary>
    internal SafeHandle RtcpHandle { get; }

    /// <summary>The RTCP socket's file descriptor (Linux).</summary>
    internal int RtcpFd { get; }

    /// <summary>True while the pacing loop has something to send for this leg.</summary>
    internal bool NeedsTicks => _playback is not null || _digit is not null || !_digits.IsEmpty;

    /// <summary>Whether this leg offers or accepts SRTP; set before <see cref="CreateOffer"/> or <see cref="Answer(ReadOnlySpan{byte}, out string?)"/>.</summary>
    public SrtpPolicy Srtp { get; set; }

    /// <summary>True when the last offer/answer agreed SRTP: every packet this leg sends is protected and every
    /// packet it receives must be.</summary>
    public bool IsSecure => _srtpReceive is not null;

    /// <summary>SRTP packets this leg dropped as tampered or forged.</summary>
    public long SrtpAuthenticationFailures => _srtpReceive?.AuthenticationFailures ?? 0;

    /// <summary>SRTP packets this leg dropped as replays.</summary>
    public long SrtpReplays => _srtpReceive?.Replays ?? 0;

    /// <summary>The RTP port this leg receives on (even; RTCP is on port + 1, or on this one with rtcp-mux).</summary>
    public int LocalPort { get; }

    /// <summary>The RTCP port (RFC 3550 §11: the odd port after the RTP port).</summary>
    public int RtcpPort => LocalPort + 1;

    /// <summary>Where RTCP reports go: the latched source of the peer's RTCP, else what its SDP said; null when unknown
    /// or on an SRTP leg.</summary>
    public IPEndPoint? RtcpRemoteEndPoint => ToEndPoint(_rtcpRemote);

    /// <summary>True when the last offer/answer agreed rtcp-mux (RFC 5761): RTCP on the RTP port.</summary>
    public bool RtcpMux => _rtcpMux;

    /// <summary>The call quality of this leg so far (or, once closed, until its end): what Lineup received of the peer's
    /// RTP, and what the peer's RTCP reports said of ours.</summary>
    public RtpLegQuality Quality => _rtcp.Quality();

    /// <summary>When the peer last sent a valid RTCP packet (Stopwatch ticks), 0 before any. A peer that sends only RTCP
    /// (on hold, sendonly/inactive) is alive.</summary>
    public long LastRtcpReceivedAt => _rtcp.LastRtcpAt;

    /// <summary>The negotiated codec (PCMU until a negotiation says otherwise).</summary>
    public Codec Codec => _negotiation?.Codec ?? Codec.Pcmu;

    /// <summary>The outcome of the last offer/answer, or null before one completed.</summary>
    public SdpNegotiation? Negotiation => _negotiation;

    /// <summary>Where packets go: the latched source of the peer's packets, else the SDP address; null when unknown.</summary>
    public IPEndPoint? RemoteEndPoint => ToEndPoint(_remote);

    private static IPEndPoint? ToEndPoint(SocketAddress? a) => a is null ? null
        : (IPEndPoint)new IPEndPoint(a.Family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0).Create(a);

    /// <summary>True once the peer's first packet set the remote address (symmetric RTP).</summary>
    public bool IsLatched => _latched;

    /// <summary>True while clips or hold music are playing.</summary>
    public bool IsPlaying => _playback is not null;

    /// <summary>The three-party mix (a monitoring supervisor) this leg takes part in, or null.</summary>
    public ThreePartyMix? Mix
    {
        get => _mix;
        internal set => _mix = value;
    }

    /// <summary>The leg this one relays to, or null.</summary>
    public RtpLeg? BridgedTo => _bridge;

    /// <summary>Our SSRC (RFC 3550 §8: random per stream).</summary>
    public uint Ssrc => _stream.Ssrc;

    /// <summary>Packets this leg sent.</summary>
    public long PacketsSent => Volatile.Read(ref _packetsSent);

    /// <summary>RTP packets this leg received.</summary>
    public long PacketsReceived => Volatile.Read(ref _packetsReceived);

    /// <summary>An RFC 4733 DTMF digit, reported once per event.</summary>
    public event Action<RtpLeg, char>? Dtmf;

    /// <summary>Played clips ran out (only when no loop was given).</summary>
    public event Action<RtpLeg>? PlaybackFinished;

    // ---- SDP ----

    /// <summary>An SDP offer (RFC 3264 §5) for this leg: PCMU, PCMA, telephone-event 101; with SRTP, fresh keys of
    /// both suites in <c>a=crypto</c> (RFC 4568), RTP/SAVP when SRTP is required. Each offer or answer after the first
    /// carries the next o= version (§8).</summary>
    public byte[] CreateOffer()
    {
        _offerKeys = Srtp == SrtpPolicy.Off ? null
            : [SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_80), SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_32)];
        return Sdp.Write(SdpOfferAnswer.CreateOffer(Local()));
    }

    /// <summary>Answers a peer's offer and applies it; null when nothing can be agreed (answer 488 Not Acceptable
    /// Here with <paramref name="reason"/> in a Warning).</summary>
    public byte[]? Answer(ReadOnlySpan<byte> offerSdp, out string? reason)
    {
        var offer = Sdp.Parse(offerSdp, out reason);
        if (offer is null) return null;
        if (SdpOfferAnswer.Answer(offer, Local(), out reason) is not { } result) return null;
        Apply(result.Negotiation);
        return Sdp.Write(result.Answer);
    }

    /// <inheritdoc cref="Answer(ReadOnlySpan{byte}, out string?)"/>
    public byte[]? Answer(ReadOnlySpan<byte> offerSdp) => Answer(offerSdp, out _);

    /// <summary>Applies the peer's answer to our offer; false with a reason when it is malformed or accepts no audio.</summary>
    public bool AcceptAnswer(ReadOnlySpan<byte> answerSdp, out string? reason)
    {
        var answer = Sdp.Parse(answerSdp, out reason);
        if (answer is null) return false;
        if (SdpOfferAnswer.AcceptAnswer(answer, Srtp, _offerKeys, out reason) is not { } negotiation) return false;
        Apply(negotiation);
        return true;
    }

    /// <inheritdoc cref="AcceptAnswer(ReadOnlySpan{byte}, out string?)"/>
    public bool AcceptAnswer(ReadOnlySpan<byte> answerSdp) => AcceptAnswer(answerSdp, out _);

    private SdpLocal Local() =>
        new(_engine.SdpAddress, LocalPort, _sessionId, Interlocked.Increment(ref _sessionVersion), _engine.Options.PacketMs, Srtp, _offerKeys);

    private SocketAddress? Serialize(IPEndPoint? ep)
    {
        if (ep is null) return null;
        var ip = ep.Address;
        if (_socket.AddressFamily == AddressFamily.InterNetworkV6 && ip.AddressFamily == AddressFamily.InterNetwork) ip = ip.MapToIPv6();
        return ip.AddressFamily == _socket.AddressFamily ? new IPEndPoint(ip, ep.Port).Serialize() : null;
    }

    private void Apply(SdpNegotiation negotiation)
    {
        var remote = Serialize(negotiation.Remote);
        var srtp = negotiation.Srtp;
        var receive = _srtpReceive;
        // A re-offer that keeps the peer's key keeps the receive context (its rollover counter and replay list).
        if (srtp is null || receive is null || _receiveKey != srtp.ReceiveKey.ToInline())
        {
            _receiveKey = srtp?.ReceiveKey.ToInline();
            _srtpReceive = srtp is null ? null : new SrtpContext(srtp.ReceiveKey);
        }
        lock (_sendLock)
        {
            if (!ReferenceEquals(_sendKey, srtp?.SendKey))
            {
                _srtpSend?.Dispose();
                _srtpSend = srtp is null ? null : new SrtpContext(srtp.SendKey);
                _sendKey = srtp?.SendKey;
            }
            _negotiation = negotiation;
            _remote = remote;
            _latched = false; // a new description may move the peer: latch again on its next packet
            _relaying = false;
            _stream.StartTalkspurt();
        }
        // RTCP: where the description says, latched again on the peer's next report; the first report of the leg is
        // scheduled once (RFC 3550 §6.3.2: half the minimum interval, randomised), the media loop keeps it going.
        _rtcpMux = negotiation.RtcpMux;
        _rtcpRemote = srtp is null ? Serialize(negotiation.RtcpRemote) : null;
        _rtcpLatched = false;
        if (srtp is null && Volatile.Read(ref _disposed) == 0)
        {
            var due = Stopwatch.GetTimestamp() + (long)(_rtcp.NextInterval(false, Random.Shared.NextDouble()).TotalSeconds * Stopwatch.Frequency);
            if (Interlocked.CompareExchange(ref _rtcpDue, due, long.MaxValue) == long.MaxValue) Loop.ScheduleRtcp(due);
        }
    }

    // ---- Playing ----

    /// <summary>Plays <paramref name="clips"/> in order, then <paramref name="thenLoop"/> (hold music) until stopped;
    /// replaces whatever was playing and ends any bridge (both directions).</summary>
    public void Play(IReadOnlyList<AudioClip> clips, AudioClip? thenLoop)
    {
        Unbridge();
        var playback = new Playback([.. clips], thenLoop);
        lock (_sendLock) _stream.StartTalkspurt();
        _playback = playback;
        Loop.Activate();
    }

    /// <summary>Stops playing (silence until the next Play or a bridge).</summary>
    public void Stop() => _playback = null;

    /// <summary>Queues an RFC 4733 event for <paramref name="digit"/> ('0'–'9', '*', '#', 'A'–'D'), sent by the pacing
    /// thread: <paramref name="durationMs"/> of event packets, then three end packets. Playback pauses meanwhile; on a
    /// bridged leg the event packets interleave with relayed audio, so send digits on unbridged legs.</summary>
    public bool SendDigit(char digit, int durationMs = 100)
    {
        var code = TelephoneEvent.FromDigit(digit);
        if (code < 0 || _negotiation?.TelephoneEventPayloadType is null) return false;
        _digits.Enqueue((code, Math.Clamp(durationMs, 40, 5000) * 8));
        Loop.Activate();
        return true;
    }

    /// <summary>The pacing step <paramref name="tick"/> (a step of the engine's grid): sends the next frame of what is
    /// playing, or the next telephone-event packet. Returns whether the leg still needs steps.</summary>
    internal bool OnTick(long now, long tick, byte[] buffer)
    {
        if (Volatile.Read(ref _disposed) != 0) return false;
        if (_digit is not null || !_digits.IsEmpty)
        {
            SendDigitPacket(now, buffer);
            return true;
        }
        var playback = _playback;
        if (playback is null) return false;
        var frameSamples = _engine.FrameSamples;
        var negotiation = _negotiation;
        if (!playback.Next(frameSamples, tick, out var clip, out var frame))
        {
            if (Interlocked.CompareExchange(ref _playback, null, playback) == playback && PlaybackFinished is not null)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static leg => leg.PlaybackFinished?.Invoke(leg), this, preferLocal: false);
            }
            return NeedsTicks;
        }
        if (negotiation is null || !negotiation.CanSend) return true; // the clock runs on while the peer holds
        var payload = clip.Encoded(negotiation.Codec).Slice(frame * frameSamples, frameSamples);
        var remote = _remote;
        if (remote is null) return true;
        lock (_sendLock)
        {
            // A gap in our sending (the peer held, a digit was sent) starts a new talkspurt: marker bit, and the
            // timestamp moves on by the time that passed.
            if (_lastPlayTick != tick - 1) _stream.StartTalkspurt();
            _stream.WriteAudioHeader(buffer, negotiation.PayloadType, frameSamples, now);
            payload.CopyTo(buffer.AsSpan(RtpPacket.HeaderLength));
            Send(buffer, RtpPacket.HeaderLength + frameSamples, remote);
        }
        if (_lastPlayTick == tick - 1)
        {
            _engine.Statistics.RecordPlayInterval((now - _lastPlaySend) * 1000.0 / Stopwatch.Frequency);
        }
        _lastPlayTick = tick;
        _lastPlaySend = now;
        return true;
    }

    private void SendDigitPacket(long now, byte[] buffer)
    {
        var negotiation = _negotiation;
        var remote = _remote;
        if (negotiation?.TelephoneEventPayloadType is not { } pt || remote is null || !negotiation.CanSend)
        {
            _digit = null;
            _digits.Clear();
            return;
        }
        lock (_sendLock)
        {
            if (_digit is null)
            {
                if (!_digits.TryDequeue(out var next)) return;
                _digit = new DigitSend(next.Code, next.Samples, _stream.BeginEvent(next.Samples, now));
            }
            var d = _digit;
            var first = d.Elapsed == 0;
            d.Elapsed = Math.Min(d.Elapsed + _engine.FrameSamples, d.Samples);
            var end = d.Elapsed >= d.Samples;
            if (end) d.EndsSent++;
            new TelephoneEvent((byte)d.Code, end, 10, (ushort)d.Elapsed).Write(buffer.AsSpan(RtpPacket.HeaderLength));
            _stream.WriteHeaderAt(buffer, first, (byte)pt, d.Timestamp, now);
            Send(buffer, RtpPacket.HeaderLength + TelephoneEvent.Length, remote);
            if (d.EndsSent >= EndRetransmissions)
            {
                _digit = null;
                _stream.StartTalkspurt();
            }
        }
    }

    // ---- Bridging ----

    /// <summary>Relays media both ways between this leg and <paramref name="other"/>: each packet leaves with the
    /// out-leg's own SSRC, sequence and timestamp continuity; the payload is copied when both legs use the same law
    /// and transcoded PCMU↔PCMA when not; telephone-events are relayed too. Stops playback on both.</summary>
    public void BridgeTo(RtpLeg other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other == this) throw new ArgumentException("A leg cannot bridge to itself.", nameof(other));
        Unbridge();
        other.Unbridge();
        Stop();
        other.Stop();
        lock (_sendLock) _relaying = false;
        lock (other._sendLock) other._relaying = false;
        _bridge = other;
        other._bridge = this;
    }

    /// <summary>Ends the bridge (both directions).</summary>
    public void Unbridge()
    {
        var other = _bridge;
        _bridge = null;
        if (other is not null && other._bridge == this) other._bridge = null;
    }

    // ---- Recording ----

    /// <summary>Records what this leg receives (the peer's voice) as <paramref name="side"/> of
    /// <paramref name="recorder"/>. The recorder belongs to the caller, who disposes it.</summary>
    public void StartRecording(IRecordingSink recorder, RecordingSide side) => _recording = new Recording(recorder, side);

    /// <summary>Stops recording on this leg.</summary>
    public void StopRecording() => _recording = null;

    // ---- Receiving ----

    /// <summary>Starts this leg's own receive loop (where its media loop does not receive for it).</summary>
    internal void StartReceiving()
    {
        _cts = new CancellationTokenSource();
        _receiving = Task.WhenAll(ReceiveLoopAsync(_socket, rtcpPort: false, _cts.Token), ReceiveLoopAsync(_rtcpSocket, rtcpPort: true, _cts.Token));
    }

    private async Task ReceiveLoopAsync(Socket socket, bool rtcpPort, CancellationToken token)
    {
        await Task.Yield();
        var buffer = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
        var scratch = new byte[BufferSize];
        var from = new SocketAddress(socket.AddressFamily);
        while (!token.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await socket.ReceiveFromAsync(buffer.AsMemory(0, MaxDatagram), SocketFlags.None, from, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                // ICMP errors surface on some platforms as a failed receive; the socket is still usable.
                continue;
            }
            OnReceived(buffer, length, from, scratch, rtcpPort);
        }
    }

    /// <summary>A datagram for this leg (on its media loop's thread, or its own receive loop): RTCP when it came to the
    /// RTCP port or, with rtcp-mux, has an RTCP packet type (RFC 5761 §4: the second octet 192-223, which RTP would
    /// read as marker and payload type 64-95); else SRTP check, then RTP. <paramref name="scratch"/> is a buffer the
    /// caller lends for a relayed packet.</summary>
    internal void OnReceived(byte[] buffer, int length, SocketAddress from, byte[] scratch, bool rtcpPort = false)
    {
        if (rtcpPort || (_rtcpMux && RtcpPacket.IsRtcp(buffer.AsSpan(0, length))))
        {
            OnRtcp(buffer.AsSpan(0, length), from);
            return;
        }
        if (_srtpReceive is { } srtp)
        {
            // RFC 3711 §3.3: nothing unauthenticated goes further (not even latching), replays neither.
            length = srtp.Unprotect(buffer, length, out var error);
            if (length < 0)
            {
                var stats = _engine.Statistics;
                Interlocked.Increment(ref stats._packetsDropped);
                if (error == SrtpError.Replayed) Interlocked.Increment(ref stats._srtpReplays);
                else if (error == SrtpError.AuthenticationFailed) Interlocked.Increment(ref stats._srtpAuthenticationFailures);
                return;
            }
        }
        OnDatagram(buffer.AsSpan(0, length), from, scratch);
    }

    private void OnDatagram(ReadOnlySpan<byte> datagram, SocketAddress from, byte[] scratch)
    {
        var stats = _engine.Statistics;
        var negotiation = _negotiation;
        if (negotiation is null || !RtpPacket.TryParse(datagram, out var packet, out _))
        {
            Interlocked.Increment(ref stats._packetsDropped);
            return;
        }
        var isEvent = packet.PayloadType == negotiation.TelephoneEventPayloadType;
        var isAudio = !isEvent && packet.PayloadType == negotiation.PayloadType;
        if (!isEvent && !isAudio)
        {
            Interlocked.Increment(ref stats._packetsDropped); // comfort noise, unknown payload types
            return;
        }
        if (!_latched)
        {
            Latch(from);
        }
        else if (!from.Equals(_remote))
        {
            // Once latched, only the latched source is heard (no injection into a call from elsewhere); a new
            // offer/answer latches again.
            Interlocked.Increment(ref stats._packetsDropped);
            return;
        }

        if (isEvent)
        {
            if (TelephoneEvent.TryParse(packet.Payload, out var ev) && _detector.Feed(packet.Timestamp, ev, out var digit))
            {
                Dtmf?.Invoke(this, digit);
            }
        }
        else if (_recording is { } recording && packet.Payload.Length <= 1024)
        {
            Span<short> pcm = stackalloc short[packet.Payload.Length];
            G711.Decode(negotiation.Codec, packet.Payload, pcm);
            recording.Recorder.Write(recording.Side, pcm);
        }
        if (_mix is { } mix && !isEvent) mix.OnAudio(this, packet, negotiation.Codec, scratch);
        else _bridge?.Relay(packet, negotiation.Codec, isEvent, scratch);
        _rtcp.OnRtp(packet, Stopwatch.GetTimestamp(), timing: isAudio);
        // Counted last, so that a reader who sees the count also sees the packet's effects.
        Interlocked.Increment(ref stats._packetsReceived);
        Interlocked.Increment(ref _packetsReceived);
    }

    /// <summary>An RTCP datagram from the peer: its reports update <see cref="Quality"/>; the first valid one latches
    /// where our reports go (symmetric RTCP, RFC 4961), later ones from elsewhere are dropped until the next
    /// offer/answer. Dropped on SRTP legs (SRTCP is not implemented).</summary>
    private void OnRtcp(ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        var stats = _engine.Statistics;
        if (_srtpReceive is not null || _negotiation is null || (_rtcpLatched && !from.Equals(_rtcpRemote)))
        {
            Interlocked.Increment(ref stats._rtcpDropped);
            return;
        }
        var now = Stopwatch.GetTimestamp();
        if (!_rtcp.OnRtcp(datagram, Ssrc, now, _engine.NtpAt(now)))
        {
            Interlocked.Increment(ref stats._rtcpDropped);
            return;
        }
        if (!_rtcpLatched)
        {
            _rtcpRemote = CopyOf(from);
            _rtcpLatched = true;
        }
        Interlocked.Increment(ref stats._rtcpReceived);
    }

    /// <summary>On the media loop's thread: sends the report due at or before <paramref name="now"/> and schedules the
    /// next (RFC 3550 §6.3.6); returns when the next is due, long.MaxValue when none is scheduled.</summary>
    internal long OnRtcpTimer(long now, byte[] buffer)
    {
        var due = Volatile.Read(ref _rtcpDue);
        if (due > now || Volatile.Read(ref _disposed) != 0) return due;
        var weSent = SendReport(now, buffer, bye: false);
        due = now + (long)(_rtcp.NextInterval(weSent, Random.Shared.NextDouble()).TotalSeconds * Stopwatch.Frequency);
        Volatile.Write(ref _rtcpDue, due);
        return due;
    }

    /// <summary>Sends a compound report (SR or RR, SDES, and BYE when <paramref name="bye"/>) to the peer's RTCP address,
    /// on the RTP socket with rtcp-mux, else from the RTCP port. Returns whether the leg sent RTP since its last report.</summary>
    private bool SendReport(long now, Span<byte> buffer, bool bye)
    {
        var remote = _rtcpRemote;
        long packets, octets;
        uint timestamp;
        lock (_sendLock)
        {
            packets = _packetsSent;
            octets = _octetsSent;
            timestamp = _stream.TimestampAt(now, _engine.FrameSamples);
        }
        var length = _rtcp.Write(buffer, Ssrc, _engine.CanonicalName, now, _engine.NtpAt(now), packets, octets, timestamp, bye, out var weSent);
        if (remote is null || _negotiation is null) return weSent;
        var mux = _rtcpMux;
        var sent = Loop.ReceivesForLegs
            ? SendNative(mux ? Handle : RtcpHandle, mux ? Fd : RtcpFd, buffer[..length], remote)
            : SendPortable(mux ? _socket : _rtcpSocket, buffer[..length], remote);
        if (sent) Interlocked.Increment(ref _engine.Statistics._rtcpSent);
        return weSent;
    }

    /// <summary>A copy of a receive's source address (the receive loop reuses its own for the next datagram).</summary>
    private static SocketAddress CopyOf(SocketAddress from)
    {
        var copy = new SocketAddress(from.Family, from.Size);
        from.Buffer.Span[..from.Size].CopyTo(copy.Buffer.Span);
        return copy;
    }

    private void Latch(SocketAddress from)
    {
        var copy = CopyOf(from);
        lock (_sendLock)
        {
            _remote = copy;
            _latched = true;
        }
    }

    /// <summary>Sends a packet received on the bridged leg (or, in a <see cref="ThreePartyMix"/>, on the leg that
    /// drives this one), renumbered into this leg's stream, with <paramref name="mixIn"/> added to its audio.</summary>
    internal void Relay(in RtpPacket packet, Codec fromCodec, bool isEvent, byte[] buffer, ReadOnlySpan<short> mixIn = default)
    {
        var negotiation = _negotiation;
        var remote = _remote;
        if (negotiation is null || remote is null || !negotiation.CanSend) return;
        byte payloadType;
        if (isEvent)
        {
            if (negotiation.TelephoneEventPayloadType is not { } te) return; // the peer cannot take events
            payloadType = (byte)te;
        }
        else
        {
            payloadType = negotiation.PayloadType;
        }
        var now = Stopwatch.GetTimestamp();
        lock (_sendLock)
        {
            var marker = packet.Marker;
            if (!_relaying || packet.Ssrc != _relaySource)
            {
                // A new source (the bridge started, or the peer changed SSRC): continue our numbering from where it is,
                // with the marker bit to say the talkspurt restarts.
                var (sequence, timestamp) = _stream.BeginRelay(now);
                _sequenceOffset = (ushort)(sequence - packet.SequenceNumber);
                _timestampOffset = timestamp - packet.Timestamp;
                _relaySource = packet.Ssrc;
                _relaying = true;
                marker = true;
            }
            var outSequence = (ushort)(packet.SequenceNumber + _sequenceOffset);
            var outTimestamp = packet.Timestamp + _timestampOffset;
            var payload = packet.Payload;
            if (RtpPacket.HeaderLength + payload.Length + SrtpRoom > buffer.Length) return;
            RtpPacket.WriteHeader(buffer, marker, payloadType, outSequence, outTimestamp, _stream.Ssrc);
            var body = buffer.AsSpan(RtpPacket.HeaderLength, payload.Length);
            if (!isEvent && !mixIn.IsEmpty)
            {
                ThreePartyMix.MixFrame(fromCodec, payload, mixIn, negotiation.Codec, body);
            }
            else if (isEvent || fromCodec == negotiation.Codec)
            {
                payload.CopyTo(body);
            }
            else
            {
                G711.Transcode(fromCodec, negotiation.Codec, payload, body);
            }
            _stream.CommitRelay(outSequence, outTimestamp + (uint)(isEvent ? 0 : payload.Length), now);
            Send(buffer, RtpPacket.HeaderLength + payload.Length, remote);
        }
        Interlocked.Increment(ref _engine.Statistics._packetsRelayed);
    }

    /// <summary>Sends the RTP packet in <c>buffer[..length]</c>; called under <see cref="_sendLock"/>. With SRTP the
    /// packet is protected in place first (the buffer has room for the tag): the one per-leg step between an RTP
    /// packet and the socket, so sends can be batched around it.</summary>
    private void Send(Span<byte> buffer, int length, SocketAddress remote)
    {
        var octets = length - RtpPacket.HeaderLength;
        if (_srtpSend is { } srtp)
        {
            length = srtp.Protect(buffer, length);
            if (length < 0)
            {
                Interlocked.Increment(ref _engine.Statistics._sendErrors);
                return;
            }
        }
        if (Loop.ReceivesForLegs ? SendNative(Handle, Fd, buffer[..length], remote) : SendPortable(_socket, buffer[..length], remote))
        {
            Interlocked.Increment(ref _packetsSent);
            _octetsSent += octets; // under _sendLock, where SendReport reads it
            Interlocked.Increment(ref _engine.Statistics._packetsSent);
        }
    }

    /// <summary>sendto(2) on the descriptor: what Socket.SendTo does, without its checks and error mapping.</summary>
    private unsafe bool SendNative(SafeHandle handle, int fd, ReadOnlySpan<byte> packet, SocketAddress remote)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var address = remote.Buffer.Span;
            fixed (byte* data = packet)
            fixed (byte* addr = address)
            {
                if (LinuxIo.SendTo(fd, data, packet.Length, 0, addr, remote.Size) >= 0) return true;
            }
            Interlocked.Increment(ref _engine.Statistics._sendErrors);
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false; // the leg closed while a tick or relay was sending
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    private bool SendPortable(Socket socket, ReadOnlySpan<byte> packet, SocketAddress remote)
    {
        try
        {
            socket.SendTo(packet, SocketFlags.None, remote);
            return true;
        }
        catch (SocketException)
        {
            Interlocked.Increment(ref _engine.Statistics._sendErrors);
        }
        catch (ObjectDisposedException)
        {
            // The leg closed while a tick or relay was sending.
        }
        return false;
    }

    /// <summary>Closes the socket, ends any bridge and returns the port to the engine.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _playback = null;
        _recording = null;
        Unbridge();
        _engine.Release(this); // out of its media loop (pacing, and the epoll set) before the socket closes
        // RFC 3550 §6.6: a last report with BYE tells the peer the stream ends (only where reports were being sent).
        if (Interlocked.Exchange(ref _rtcpDue, long.MaxValue) != long.MaxValue)
        {
            Span<byte> bye = stackalloc byte[RtcpSession.MaxCompound];
            SendReport(Stopwatch.GetTimestamp(), bye, bye: true);
        }
        _engine.Statistics.RecordLegEnd(_rtcp.Quality());
        _cts?.Cancel();
        _socket.Dispose();
        _rtcpSocket.Dispose();
        lock (_sendLock)
        {
            _srtpSend?.Dispose();
            _srtpSend = null;
        }
        _cts?.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        Dispose();
        try
        {
            await _receiving.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Clips to play, with a cursor only the pacing thread moves, then the loop at the engine's shared
    /// position.</summary>
    private sealed class Playback(AudioClip[] clips, AudioClip? loop)
    {
        private int _clip;
        private int _frame;

        /// <summary>The clip and frame to send at step <paramref name="tick"/>; false when everything was played and
        /// there is no loop. Clips play from their start; the loop plays its frame for this step (step mod length), the
        /// same frame every leg of the engine sends now.</summary>
        public bool Next(int frameSamples, long tick, out AudioClip clip, out int frame)
        {
            while (_clip < clips.Length && _frame >= clips[_clip].FrameCount(frameSamples))
            {
                _clip++;
                _frame = 0;
            }
            if (_clip < clips.Length)
            {
                clip = clips[_clip];
                frame = _frame++;
                return true;
            }
            if (loop is not null && loop.FrameCount(frameSamples) is > 0 and var frames)
            {
                clip = loop;
                frame = (int)(((tick % frames) + frames) % frames);
                return true;
            }
            clip = null!;
            frame = 0;
            return false;
        }
    }

    private sealed record Recording(IRecordingSink Recorder, RecordingSide Side);

    private sealed class DigitSend(int code, int samples, uint timestamp)
    {
        public int Code { get; } = code;
        public int Samples { get; } = samples;
        public uint Timestamp { get; } = timestamp;
        public int Elapsed { get; set; }
        public int EndsSent { get; set; }
    }
}
