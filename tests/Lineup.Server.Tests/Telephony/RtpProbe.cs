using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// The media end of a caller in the SIP end-to-end tests (sipp 3.6.1 cannot tell whether it received RTP). The caller's
/// SDP names the probe's port (<c>-key rtp_port</c>); the probe receives everything Lineup sends (hold music, then the
/// agent's audio) and, once <see cref="StartSending"/> is called, sends 20 ms PCMU packets of a constant level — the
/// signature — to the address Lineup's first packet came from (symmetric RTP), or to a given one.
/// <para>Media both ways is proved with the agent's sipp started with <c>-rtp_echo</c>: a signature packet that comes
/// back went caller → Lineup → agent → Lineup → caller. The signature is recognised after decoding (PCMU or PCMA),
/// so it survives a bridge that transcodes; hold music and speech are never a constant level for 160 samples.</para>
/// </summary>
public sealed class RtpProbe : IAsyncDisposable
{
    /// <summary>The linear level of the signature (about -6 dBFS of DC).</summary>
    public const short SignatureLevel = 16_000;

    private const int SamplesPerPacket = 160;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiver;
    private readonly List<Received> _received = new();
    private readonly TaskCompletionSource<IPEndPoint> _firstSource = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _sender;

    public RtpProbe()
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, Sipp.FreeMediaPorts()));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        _receiver = Task.Run(ReceiveAsync);
    }

    public int Port { get; }

    /// <summary>One packet as it arrived.</summary>
    public readonly record struct Received(TimeSpan At, IPEndPoint From, int PayloadType, ushort Sequence, uint Timestamp, uint Ssrc, bool Signature, int PayloadLength);

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>Every packet received so far.</summary>
    public IReadOnlyList<Received> Packets
    {
        get
        {
            lock (_received) return _received.ToList();
        }
    }

    /// <summary>Signature packets sent so far.</summary>
    public int Sent { get; private set; }

    /// <summary>Received packets carrying the signature (our own audio, come back through Lineup).</summary>
    public int SignaturesReceived => Packets.Count(p => p.Signature);

    /// <summary>Received packets that are not the signature (hold music, prompts, the agent's audio).</summary>
    public int OthersReceived => Packets.Count(p => !p.Signature);

    /// <summary>Where Lineup's first packet came from.</summary>
    public Task<IPEndPoint> FirstSource => _firstSource.Task;

    /// <summary>Sends a signature packet every 20 ms to <paramref name="to"/>, or to where Lineup's first packet came
    /// from (waits for it).</summary>
    public void StartSending(IPEndPoint? to = null)
    {
        _sender ??= Task.Run(async () =>
        {
            var target = to ?? await FirstSource.WaitAsync(_stop.Token);
            var packet = new byte[12 + SamplesPerPacket];
            var ssrc = (uint)Environment.TickCount ^ 0x5A5A1234u;
            ushort seq = 1;
            uint ts = 0;
            packet.AsSpan(12).Fill(G711.MuLawEncode(SignatureLevel));
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            do
            {
                packet[0] = 0x80;
                packet[1] = 0; // PCMU
                BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), seq++);
                BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), ts);
                BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), ssrc);
                ts += SamplesPerPacket;
                await _socket.SendToAsync(packet, SocketFlags.None, target, _stop.Token);
                Sent++;
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        });
    }

    /// <summary>Intervals between consecutive packets of one stream (the most frequent SSRC that is not ours), in ms,
    /// sorted.</summary>
    public double[] IntervalsMs()
    {
        var packets = Packets.Where(p => !p.Signature).ToList();
        if (packets.Count == 0) return [];
        var ssrc = packets.GroupBy(p => p.Ssrc).MaxBy(g => g.Count())!.Key;
        var times = packets.Where(p => p.Ssrc == ssrc).Select(p => p.At.TotalMilliseconds).ToList();
        return times.Zip(times.Skip(1), (a, b) => b - a).Order().ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _receiver;
            if (_sender != null) await _sender;
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
            var from = (IPEndPoint)r.RemoteEndPoint;
            var p = new Received(_clock.Elapsed, from, pt, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2)),
                BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(4)), BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(8)),
                IsSignature(pt, payload), payload.Length);
            lock (_received) _received.Add(p);
            _firstSource.TrySetResult(from);
        }
    }

    private static bool IsSignature(int payloadType, ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 80 || (payloadType != 0 && payloadType != 8)) return false;
        foreach (var b in payload)
        {
            var s = payloadType == 0 ? G711.MuLawDecode(b) : G711.ALawDecode(b);
            if (Math.Abs(s - SignatureLevel) > SignatureLevel / 10) return false;
        }
        return true;
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
