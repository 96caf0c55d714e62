using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// The media end of one party in the SIP end-to-end tests (sipp 3.6.1 cannot tell what RTP it received): a UDP port
/// named in the party's SDP (<c>-key rtp_port</c>) that records every RTP packet it gets, decoded from G.711, and,
/// once <see cref="StartSending(IPEndPoint?)"/> is called, sends 20 ms PCMU packets of the party's own tone
/// (<see cref="Tone"/>) to where Lineup's SDP asked for it (read from the scenario, see
/// <see cref="Sipp.RemoteMediaAsync"/>), or to where Lineup's first packet came from (symmetric RTP: a caller always
/// hears hold music first). <see cref="Timeline"/> tells, frame by frame, which party's tone was heard, silence, or
/// something else (hold music, a prompt): so a test proves that each side of a bridge hears the other and not the
/// music, and for how long.
/// <para>With <c>rtcp: true</c> the probe also binds the port after its RTP port (RFC 3550 §11), records the RTCP
/// reports Lineup sends there, and sends its own every second while it sends RTP: an SR with a report block about
/// Lineup's stream that echoes Lineup's last SR (LSR/DLSR), to the port after Lineup's RTP port. <see cref="LossEvery"/>
/// makes it skip packets on purpose (the sequence numbers go on), so Lineup's reports and CDR must show the loss.</para>
/// </summary>
public sealed class RtpProbe : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Socket? _rtcpSocket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiver;
    private readonly Task _rtcpReceiver = Task.CompletedTask;
    private readonly List<(TimeSpan At, Lineup.Sip.Media.RtcpReport Report)> _rtcpReceived = new();
    private readonly uint _ssrc = (uint)Random.Shared.NextInt64(0, 1L << 32);
    private Task? _rtcpSender;
    private uint _lineupLsr;
    private TimeSpan _lineupLsrAt;
    private int _skipped;
    private int _firstSent = -1;
    private int _rtcpSent;
    private readonly List<Received> _received = new();
    private readonly TaskCompletionSource<IPEndPoint> _firstSource = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Task? _sender;
    private int _sent;
    private int _key = -1;
    private int _muted;

    /// <param name="toneHz">The tone this party sends (one of <see cref="Tone"/>'s).</param>
    /// <param name="rtcp">Also speak RTCP on the port after the RTP port.</param>
    public RtpProbe(int toneHz, bool rtcp = false)
    {
        ToneHz = toneHz;
        for (var attempt = 0; ; attempt++)
        {
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, Sipp.FreeMediaPorts()));
            Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
            if (!rtcp) break;
            _rtcpSocket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                _rtcpSocket.Bind(new IPEndPoint(IPAddress.Loopback, Port + 1));
                break;
            }
            catch (SocketException) when (attempt < 20)
            {
                _rtcpSocket.Dispose();
                _socket.Dispose(); // the pair is taken: another one
            }
        }
        _receiver = Task.Run(ReceiveAsync);
        if (_rtcpSocket != null) _rtcpReceiver = Task.Run(ReceiveRtcpAsync);
    }

    /// <summary>Skip every Nth tone packet (0: none), as a lossy network would: its sequence number is used up.</summary>
    public int LossEvery { get; init; }

    /// <summary>Tone packets skipped on purpose (<see cref="LossEvery"/>).</summary>
    public int Skipped => Volatile.Read(ref _skipped);

    /// <summary>The sequence number of the first tone packet sent (-1 before it).</summary>
    public int FirstSentSequence => Volatile.Read(ref _firstSent);

    /// <summary>RTCP reports the probe sent.</summary>
    public int RtcpSent => Volatile.Read(ref _rtcpSent);

    /// <summary>The probe's own SSRC.</summary>
    public uint Ssrc => _ssrc;

    /// <summary>Every RTCP compound packet Lineup sent to the probe's RTCP port, as parsed.</summary>
    public IReadOnlyList<(TimeSpan At, Lineup.Sip.Media.RtcpReport Report)> RtcpReceived
    {
        get
        {
            lock (_rtcpReceived) return _rtcpReceived.ToList();
        }
    }

    public int Port { get; }

    public int ToneHz { get; }

    /// <summary>One packet as it arrived; <see cref="Samples"/> is its decoded audio (empty for other payload types).</summary>
    public sealed record Received(TimeSpan At, IPEndPoint From, int PayloadType, ushort Sequence, uint Timestamp, uint Ssrc, int[] Samples);

    /// <summary>Every packet received so far.</summary>
    public IReadOnlyList<Received> Packets
    {
        get
        {
            lock (_received) return _received.ToList();
        }
    }

    /// <summary>Tone packets sent so far.</summary>
    public int Sent => Volatile.Read(ref _sent);

    /// <summary>The probe's clock, the one <see cref="Received.At"/> is read on.</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>The party falls silent: from now on it sends 20 ms frames of digital silence (<paramref name="sendPackets"/>),
    /// or no packets at all (a muted phone, or one that stops sending while its user is quiet).</summary>
    public void Mute(bool sendPackets) => Volatile.Write(ref _muted, sendPackets ? 1 : 2);

    /// <summary>Where Lineup's first packet came from.</summary>
    public Task<IPEndPoint> FirstSource => _firstSource.Task;

    /// <summary>Every audio frame received (PCMU or PCMA), in order, with what it was: silence, one of
    /// <paramref name="tones"/>, or other.</summary>
    public List<(TimeSpan At, Heard Heard)> Timeline(IReadOnlyCollection<int> tones) =>
        Packets.Where(p => p.Samples.Length > 0).Select(p => (p.At, Tone.Classify(p.Samples, tones))).ToList();

    /// <summary>Sends the tone every 20 ms to <paramref name="to"/>, or to where Lineup's first packet came from
    /// (waits for it).</summary>
    public void StartSending(IPEndPoint? to = null) => StartSending(to != null ? _ => Task.FromResult(to) : FirstSource.WaitAsync);

    /// <summary>Sends the tone every 20 ms to the address <paramref name="target"/> gives (waits for it; the probe's
    /// disposal cancels the wait).</summary>
    public void StartSending(Func<CancellationToken, Task<IPEndPoint>> target)
    {
        _sender ??= Task.Run(async () =>
        {
            var to = await target(_stop.Token);
            if (_rtcpSocket != null) _rtcpSender = Task.Run(() => SendRtcpAsync(new IPEndPoint(to.Address, to.Port + 1)));
            var packet = new byte[12 + Tone.FrameSamples];
            var ssrc = _ssrc;
            ushort seq = (ushort)Random.Shared.Next(0, 1 << 16);
            uint ts = 0;
            long sample = 0;
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            do
            {
                if (Interlocked.Exchange(ref _key, -1) is var key and >= 0)
                {
                    // RFC 4733: one event of 100 ms (five packets, timestamp of its start, growing duration), the
                    // last sent three times with the end bit; the tone resumes after it.
                    var ev = new byte[16];
                    for (var i = 0; i < 7; i++)
                    {
                        var end = i >= 4;
                        ev[0] = 0x80;
                        ev[1] = (byte)(i == 0 ? 0x80 | 101 : 101);
                        BinaryPrimitives.WriteUInt16BigEndian(ev.AsSpan(2), seq++);
                        BinaryPrimitives.WriteUInt32BigEndian(ev.AsSpan(4), ts);
                        BinaryPrimitives.WriteUInt32BigEndian(ev.AsSpan(8), ssrc);
                        ev[12] = (byte)key;
                        ev[13] = (byte)((end ? 0x80 : 0) | 10);
                        BinaryPrimitives.WriteUInt16BigEndian(ev.AsSpan(14), (ushort)(Tone.FrameSamples * Math.Min(i + 1, 5)));
                        await _socket.SendToAsync(ev, SocketFlags.None, to, _stop.Token);
                        if (i < 4) await timer.WaitForNextTickAsync(_stop.Token);
                    }
                    ts += 5 * Tone.FrameSamples;
                    sample += 5 * Tone.FrameSamples;
                }
                var muted = Volatile.Read(ref _muted);
                if (muted == 2) continue;
                packet[0] = 0x80;
                packet[1] = 0; // PCMU
                BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), seq++);
                BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), ts);
                BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), ssrc);
                var samples = Tone.Samples(ToneHz, sample, Tone.FrameSamples);
                for (var i = 0; i < samples.Length; i++) packet[12 + i] = G711.MuLawEncode(muted == 1 ? (short)0 : samples[i]);
                ts += Tone.FrameSamples;
                sample += Tone.FrameSamples;
                if (LossEvery > 0 && (ushort)(seq - 1) % LossEvery == 0)
                {
                    Interlocked.Increment(ref _skipped); // lost on the way: the next packet's number shows the gap
                    continue;
                }
                Interlocked.CompareExchange(ref _firstSent, (ushort)(seq - 1), -1);
                await _socket.SendToAsync(packet, SocketFlags.None, to, _stop.Token);
                Interlocked.Increment(ref _sent);
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        });
    }

    /// <summary>Presses a key ('0'–'9') once: an RFC 4733 event (payload type 101, as the scenarios offer) in place of
    /// 100 ms of the tone, sent as soon as the tone is being sent.</summary>
    public void PressKey(char digit)
    {
        if (digit is < '0' or > '9') throw new ArgumentOutOfRangeException(nameof(digit));
        Volatile.Write(ref _key, digit - '0');
    }

    /// <summary>Intervals between consecutive packets of one stream (the most frequent SSRC), in ms, sorted.</summary>
    public double[] IntervalsMs()
    {
        var packets = Packets;
        if (packets.Count == 0) return [];
        var ssrc = packets.GroupBy(p => p.Ssrc).MaxBy(g => g.Count())!.Key;
        var times = packets.Where(p => p.Ssrc == ssrc).Select(p => p.At.TotalMilliseconds).ToList();
        return times.Zip(times.Skip(1), (a, b) => b - a).Order().ToArray();
    }

    /// <summary>Every second: an SR (what the probe sent) with a block about Lineup's stream, echoing Lineup's last SR.</summary>
    private async Task SendRtcpAsync(IPEndPoint to)
    {
        var buffer = new byte[512];
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(_stop.Token))
        {
            var fromLineup = Packets;
            var blocks = new List<Lineup.Sip.Media.RtcpReportBlock>();
            if (fromLineup.Count > 0)
            {
                var last = fromLineup[^1];
                uint lsr;
                TimeSpan lsrAt;
                lock (_rtcpReceived) (lsr, lsrAt) = (_lineupLsr, _lineupLsrAt);
                var dlsr = lsr == 0 ? 0u : (uint)((Now - lsrAt).TotalSeconds * 65536);
                blocks.Add(new(last.Ssrc, 0, 0, last.Sequence, 0, lsr, dlsr));
            }
            var sent = (uint)Sent;
            var sender = new Lineup.Sip.Media.RtcpSenderInfo(Lineup.Sip.Media.RtcpPacket.NtpTimestamp(DateTimeOffset.UtcNow), 0, sent, sent * Tone.FrameSamples);
            var n = Lineup.Sip.Media.RtcpPacket.Write(buffer, _ssrc, sender, blocks.ToArray(), "probe@127.0.0.1");
            await _rtcpSocket!.SendToAsync(buffer.AsMemory(0, n), SocketFlags.None, to, _stop.Token);
            Interlocked.Increment(ref _rtcpSent);
        }
    }

    private async Task ReceiveRtcpAsync()
    {
        var buffer = new byte[2048];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await _rtcpSocket!.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            // A packet that fails RFC 3550's checks is kept out: the test then misses the report it expected.
            if (!Lineup.Sip.Media.RtcpPacket.TryParse(buffer.AsSpan(0, r.ReceivedBytes), out var report, out _)) continue;
            lock (_rtcpReceived)
            {
                _rtcpReceived.Add((Now, report!));
                if (report!.Sender is { } sr) (_lineupLsr, _lineupLsrAt) = (Lineup.Sip.Media.RtcpPacket.Middle(sr.NtpTimestamp), Now);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        _rtcpSocket?.Dispose();
        try
        {
            await _receiver;
            await _rtcpReceiver;
            if (_sender != null) await _sender;
            if (_rtcpSender != null) await _rtcpSender;
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }
        _stop.Dispose();
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[2048];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            if (r.ReceivedBytes < 12 || (buffer[0] >> 6) != 2) continue; // not RTP version 2
            var csrc = buffer[0] & 0x0F;
            var headerLength = 12 + 4 * csrc;
            if ((buffer[0] & 0x10) != 0 && r.ReceivedBytes >= headerLength + 4)
                headerLength += 4 + 4 * BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(headerLength + 2));
            if (r.ReceivedBytes < headerLength) continue;
            var pt = buffer[1] & 0x7F;
            var payload = buffer.AsSpan(headerLength, r.ReceivedBytes - headerLength);
            var samples = pt is 0 or 8 ? new int[payload.Length] : [];
            for (var i = 0; i < samples.Length; i++) samples[i] = pt == 0 ? G711.MuLawDecode(payload[i]) : G711.ALawDecode(payload[i]);
            var from = (IPEndPoint)r.RemoteEndPoint;
            var p = new Received(_clock.Elapsed, from, pt, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2)),
                BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(4)), BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(8)), samples);
            lock (_received) _received.Add(p);
            _firstSource.TrySetResult(from);
        }
    }
}

/// <summary>G.711 (ITU-T G.711) for the probe: µ-law encoding of one sample, µ-law and A-law decoding.</summary>
public static class G711
{
    public static byte MuLawEncode(short sample)
    {
        const int bias = 0x84, clip = 32635;
        int s = sample;
        var sign = s < 0 ? 0x80 : 0;
        if (s < 0) s = -s;
        if (s > clip) s = clip;
        s += bias;
        var exponent = 7;
        for (var mask = 0x4000; (s & mask) == 0 && exponent > 0; mask >>= 1) exponent--;
        var mantissa = (s >> (exponent + 3)) & 0x0F;
        return (byte)~(sign | (exponent << 4) | mantissa);
    }

    public static int MuLawDecode(byte value)
    {
        int u = (byte)~value;
        var exponent = (u >> 4) & 7;
        var magnitude = ((((u & 0x0F) << 3) + 0x84) << exponent) - 0x84;
        return (u & 0x80) != 0 ? -magnitude : magnitude;
    }

    public static int ALawDecode(byte value)
    {
        int a = value ^ 0x55;
        var exponent = (a >> 4) & 7;
        var mantissa = a & 0x0F;
        var magnitude = exponent == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
        return (a & 0x80) != 0 ? magnitude : -magnitude;
    }
}
