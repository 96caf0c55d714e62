using System.Net;
using System.Net.Sockets;
using System.Text;
using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

/// <summary>Real UDP on 127.0.0.1. No timing asserts: counts and header fields, with generous waits.</summary>
public sealed class MediaEngineTests
{
    private static int _nextRange = 41000 + (Environment.ProcessId % 50 * 200);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static MediaEngine NewEngine(int ports = 20, bool pacer = true)
    {
        var min = Interlocked.Add(ref _nextRange, 100) - 100;
        return new MediaEngine(new MediaOptions { Bind = IPAddress.Loopback, PortMin = min, PortMax = min + (2 * ports) - 2 }, pacer);
    }

    [Fact]
    public async Task Ticks_send_one_packet_per_playing_leg_without_allocating()
    {
        using var engine = NewEngine(pacer: false);
        using var peer = new Peer();
        var legs = new List<RtpLeg>();
        for (var i = 0; i < 10; i++)
        {
            var leg = engine.CreateLeg();
            Assert.NotNull(leg.Answer(peer.Offer(i % 2 == 0 ? "0" : "8")));
            leg.Play([], AudioClip.HoldMusic());
            legs.Add(leg);
        }
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        var period = System.Diagnostics.Stopwatch.Frequency / 50;
        for (var t = 0; t < 5; t++) engine.Tick(now += period); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var t = 0; t < 100; t++) engine.Tick(now += period);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(1050, engine.Statistics.PacketsSent);
        Assert.Equal(1040, engine.Statistics.PlayInterval.Count);
        Assert.InRange(engine.Statistics.PlayInterval.Percentile(50), 19.9, 20.1); // the fake clock's exact period
        foreach (var leg in legs) await leg.DisposeAsync();
    }

    [Fact]
    public async Task Callers_on_hold_share_the_music_frame_but_each_has_its_own_stream()
    {
        // Hold music is encoded once per codec (in the clip) and played at the engine's shared position: a caller put
        // on hold late hears the frame everyone hears now, not the start, while sequence numbers, timestamps and SSRC
        // stay its own.
        using var engine = NewEngine(pacer: false);
        using var early = new Peer();
        using var late = new Peer();
        var samples = Enumerable.Range(0, 20).SelectMany(f => Enumerable.Repeat((short)((f + 1) * 1500), 160)).ToArray();
        var music = AudioClip.FromSamples("music", samples); // 20 frames, each a different level
        await using var first = engine.CreateLeg();
        await using var second = engine.CreateLeg();
        Assert.NotNull(first.Answer(early.Offer("0")));
        Assert.NotNull(second.Answer(late.Offer("0")));

        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        var period = System.Diagnostics.Stopwatch.Frequency / 50;
        first.Play([], music);
        for (var t = 0; t < 7; t++) engine.Tick(now += period);
        second.Play([], music);
        for (var t = 0; t < 5; t++) engine.Tick(now += period);

        var a = new List<Received>();
        for (var i = 0; i < 12; i++) a.Add(await early.ReceiveAsync());
        var b = new List<Received>();
        for (var i = 0; i < 5; i++) b.Add(await late.ReceiveAsync());
        for (var i = 0; i < b.Count; i++)
        {
            Assert.Equal(a[7 + i].Payload, b[i].Payload); // the same frame at the same step
        }
        Assert.NotEqual(a[0].Payload, b[0].Payload); // the late caller did not start from the beginning
        Assert.NotEqual(a[0].Ssrc, b[0].Ssrc);
        Assert.True(b[0].Marker);
        foreach (var stream in new[] { a, b })
        {
            Assert.All(stream, p => Assert.Equal(stream[0].Ssrc, p.Ssrc));
            for (var i = 1; i < stream.Count; i++)
            {
                Assert.Equal((ushort)(stream[i - 1].Sequence + 1), stream[i].Sequence);
                Assert.Equal(stream[i - 1].Timestamp + 160, stream[i].Timestamp);
            }
        }
    }

    private sealed record Received(bool Marker, byte PayloadType, ushort Sequence, uint Timestamp, uint Ssrc, byte[] Payload);

    /// <summary>A fake remote endpoint: a UDP socket with an SDP offer pointing at itself.</summary>
    private sealed class Peer : IDisposable
    {
        public Socket Socket { get; } = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        public Peer() => Socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        public int Port => ((IPEndPoint)Socket.LocalEndPoint!).Port;

        public byte[] Offer(string formats = "0 8 101", int? port = null) => Encoding.ASCII.GetBytes(
            $"v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port ?? Port} RTP/AVP {formats}\r\na=rtpmap:101 telephone-event/8000\r\n");

        public async Task<Received> ReceiveAsync()
        {
            var buffer = new byte[2048];
            using var cts = new CancellationTokenSource(Wait);
            var n = await Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return Parse(buffer.AsSpan(0, n));
        }

        public void Send(int port, ReadOnlySpan<byte> packet) => Socket.SendTo(packet, SocketFlags.None, new IPEndPoint(IPAddress.Loopback, port));

        public void Dispose() => Socket.Dispose();

        private static Received Parse(ReadOnlySpan<byte> data)
        {
            Assert.True(RtpPacket.TryParse(data, out var p, out var error), error);
            return new Received(p.Marker, p.PayloadType, p.SequenceNumber, p.Timestamp, p.Ssrc, p.Payload.ToArray());
        }
    }

    private static byte[] Rtp(byte pt, ushort seq, uint ts, uint ssrc, ReadOnlySpan<byte> payload, bool marker = false)
    {
        var b = new byte[12 + payload.Length];
        RtpPacket.Write(b, marker, pt, seq, ts, ssrc, payload);
        return b;
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Realtime_priority_puts_the_media_thread_under_sched_rr_when_the_process_may()
    {
        Assert.True(LinuxIo.IsSupported, "the media loops' Linux path is what this test checks");
        // Whether this process may use real-time scheduling at all (root or CAP_SYS_NICE): asked on a thread of its own.
        var permitted = false;
        var probe = new Thread(() => permitted = LinuxIo.SetRealtime(1) && LinuxIo.SetRealtime(0));
        probe.Start();
        probe.Join();

        var min = Interlocked.Add(ref _nextRange, 100) - 100;
        using var engine = new MediaEngine(new MediaOptions { Bind = IPAddress.Loopback, PortMin = min, PortMax = min + 38, Threads = 1, RealtimePriority = 3 });
        using var peer = new Peer();
        await using var leg = engine.CreateLeg();
        Assert.NotNull(leg.Answer(peer.Offer("0")));
        leg.Play([], AudioClip.HoldMusic());
        for (var i = 0; i < 3; i++) await peer.ReceiveAsync(); // the loop runs and sends

        Assert.Equal(permitted ? 1 : 0, engine.Statistics.RealtimeThreads);
        Assert.Equal(0, engine.Statistics.RealtimeDemotions);
        // The kernel's view: field 41 of /proc/self/task/TID/stat is the policy (2: SCHED_RR), field 40 the rt priority.
        var policies = new List<(string Priority, string Policy)>();
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).Trim() != "Lineup media 0") continue;
                var fields = File.ReadAllText(Path.Combine(task, "stat")).Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                policies.Add((fields[37], fields[38]));
            }
            catch (IOException)
            {
                // That thread (another test's) ended while we looked.
            }
        }
        Assert.NotEmpty(policies);
        Assert.Equal(permitted, policies.Contains(("3", "2")));
    }

    [Fact]
    public async Task Play_sends_the_clip_frames_with_continuous_headers_then_reports_the_end()
    {
        using var engine = NewEngine();
        using var peer = new Peer();
        await using var leg = engine.CreateLeg();
        Assert.NotNull(leg.Answer(peer.Offer("0 101")));
        var samples = new short[160 * 6];
        for (var i = 0; i < samples.Length; i++) samples[i] = (short)(i * 7);
        var clip = AudioClip.FromSamples("ramp", samples);
        var finished = new TaskCompletionSource();
        leg.PlaybackFinished += _ => finished.TrySetResult();

        leg.Play([clip], thenLoop: null);

        var packets = new List<Received>();
        for (var i = 0; i < 6; i++) packets.Add(await peer.ReceiveAsync());
        await finished.Task.WaitAsync(Wait);
        Assert.False(leg.IsPlaying);
        for (var i = 0; i < packets.Count; i++)
        {
            var p = packets[i];
            Assert.Equal(leg.Ssrc, p.Ssrc);
            Assert.Equal(0, p.PayloadType);
            Assert.Equal(i == 0, p.Marker);
            Assert.Equal(clip.Encoded(Codec.Pcmu).Slice(160 * i, 160).ToArray(), p.Payload);
            if (i > 0)
            {
                Assert.Equal((ushort)(packets[i - 1].Sequence + 1), p.Sequence);
                Assert.Equal(packets[i - 1].Timestamp + 160, p.Timestamp);
            }
        }
        Assert.True(engine.Statistics.PacketsSent >= 6);
        Assert.True(engine.Statistics.PlayInterval.Count >= 5);
        Assert.True(engine.Statistics.PlayInterval.Percentile(99) > 0);
    }

    [Fact]
    public async Task Announcements_then_hold_music_loop_until_stopped()
    {
        using var engine = NewEngine();
        using var peer = new Peer();
        await using var leg = engine.CreateLeg();
        Assert.NotNull(leg.Answer(peer.Offer("8")));
        var beep = AudioClip.FromSamples("beep", new short[480]); // three frames
        // Two frames (loud, then quieter), padded to three with silence.
        var music = AudioClip.FromSamples("music", [.. Enumerable.Repeat((short)5000, 160), .. Enumerable.Repeat((short)-3000, 160)]);

        leg.Play([beep], music);
        for (var i = 0; i < 3; i++)
        {
            var p = await peer.ReceiveAsync();
            Assert.Equal(8, p.PayloadType);
            Assert.Equal(beep.Encoded(Codec.Pcma)[..160].ToArray(), p.Payload);
        }
        var musicFrames = new List<byte[]>();
        for (var i = 0; i < 7; i++) musicFrames.Add((await peer.ReceiveAsync()).Payload);
        // The loop plays at the engine's shared position (it may start at any of its frames) and wraps: k, k+1, k+2, k...
        var frames = Enumerable.Range(0, 3).Select(f => music.Encoded(Codec.Pcma).Slice(160 * f, 160).ToArray()).ToList();
        var k = frames.FindIndex(f => f.AsSpan().SequenceEqual(musicFrames[0]));
        Assert.InRange(k, 0, 2);
        for (var i = 0; i < musicFrames.Count; i++) Assert.Equal(frames[(k + i) % 3], musicFrames[i]);
        Assert.True(leg.IsPlaying);
        leg.Stop();
        Assert.False(leg.IsPlaying);
    }

    [Fact]
    public async Task Symmetric_rtp_sends_to_where_the_peer_sends_from()
    {
        using var engine = NewEngine();
        using var peer = new Peer();
        using var decoy = new Peer();
        await using var leg = engine.CreateLeg();
        Assert.NotNull(leg.Answer(peer.Offer("0", port: decoy.Port))); // SDP names the decoy (a NAT's inside address)
        Assert.Equal(decoy.Port, leg.RemoteEndPoint!.Port);

        peer.Send(leg.LocalPort, Rtp(0, 1, 160, 99, new byte[160]));
        await Until(() => leg.IsLatched);
        Assert.Equal(peer.Port, leg.RemoteEndPoint!.Port);
        leg.Play([AudioClip.FromSamples("x", new short[160])], null);
        var p = await peer.ReceiveAsync();
        Assert.Equal(leg.Ssrc, p.Ssrc);

        // Another source is not heard once latched.
        var dropped = engine.Statistics.PacketsDropped;
        decoy.Send(leg.LocalPort, Rtp(0, 1, 160, 1234, new byte[160]));
        await Until(() => engine.Statistics.PacketsDropped == dropped + 1);
        Assert.Equal(1, leg.PacketsReceived);
        Assert.Equal(peer.Port, leg.RemoteEndPoint!.Port);
    }

    [Fact]
    public async Task Bridge_relays_from_a_to_c_with_the_out_legs_numbering_and_transcodes()
    {
        using var engine = NewEngine();
        using var a = new Peer();
        using var c = new Peer();
        await using var legA = engine.CreateLeg();
        await using var legB = engine.CreateLeg();
        Assert.NotNull(legA.Answer(a.Offer("0 101")));
        Assert.NotNull(legB.Answer(c.Offer("8 101")));
        Assert.Equal(Codec.Pcmu, legA.Codec);
        Assert.Equal(Codec.Pcma, legB.Codec);
        legA.Play([AudioClip.HoldMusic()], null);
        legA.BridgeTo(legB);
        Assert.Same(legB, legA.BridgedTo);
        Assert.False(legA.IsPlaying);

        var payload = new byte[160];
        for (var i = 0; i < payload.Length; i++) payload[i] = (byte)i;
        for (ushort i = 0; i < 5; i++) a.Send(legA.LocalPort, Rtp(0, (ushort)(1000 + i), 5000 + (160u * i), 0xAAAA, payload));

        var got = new List<Received>();
        for (var i = 0; i < 5; i++) got.Add(await c.ReceiveAsync());
        var expected = new byte[160];
        G711.Transcode(Codec.Pcmu, Codec.Pcma, payload, expected);
        Assert.All(got, p => Assert.Equal(legB.Ssrc, p.Ssrc));
        Assert.All(got, p => Assert.Equal(8, p.PayloadType));
        Assert.All(got, p => Assert.Equal(expected, p.Payload));
        Assert.True(got[0].Marker);
        for (var i = 1; i < got.Count; i++)
        {
            Assert.False(got[i].Marker);
            Assert.Equal((ushort)(got[0].Sequence + i), got[i].Sequence);
            Assert.Equal(got[0].Timestamp + (160u * (uint)i), got[i].Timestamp);
        }

        // A source change (new SSRC) keeps the out-leg's stream continuous and sets the marker.
        a.Send(legA.LocalPort, Rtp(0, 7, 123, 0xBBBB, payload));
        var after = await c.ReceiveAsync();
        Assert.True(after.Marker);
        Assert.Equal((ushort)(got[^1].Sequence + 1), after.Sequence);
        Assert.Equal(legB.Ssrc, after.Ssrc);
        Assert.True(after.Timestamp - got[^1].Timestamp >= 160);

        // Playing on a bridged leg ends the bridge both ways.
        legB.Play([], AudioClip.HoldMusic());
        Assert.Null(legA.BridgedTo);
        Assert.Null(legB.BridgedTo);
    }

    [Fact]
    public async Task Same_codec_bridge_copies_the_payload_and_relays_telephone_events()
    {
        using var engine = NewEngine();
        using var a = new Peer();
        using var c = new Peer();
        await using var legA = engine.CreateLeg();
        await using var legB = engine.CreateLeg();
        Assert.NotNull(legA.Answer(a.Offer("0 101")));
        Assert.NotNull(legB.Answer(c.Offer("0 101")));
        legA.BridgeTo(legB);
        var payload = Enumerable.Range(0, 160).Select(i => (byte)(255 - i)).ToArray();
        a.Send(legA.LocalPort, Rtp(0, 1, 0, 5, payload));
        Assert.Equal(payload, (await c.ReceiveAsync()).Payload);
        var ev = new byte[4];
        new TelephoneEvent(9, false, 10, 160).Write(ev);
        a.Send(legA.LocalPort, Rtp(101, 2, 160, 5, ev, marker: true));
        var relayed = await c.ReceiveAsync();
        Assert.Equal(101, relayed.PayloadType);
        Assert.Equal(ev, relayed.Payload);
    }

    [Fact]
    public async Task Dtmf_is_reported_once_from_crafted_rfc4733_packets()
    {
        using var engine = NewEngine();
        using var peer = new Peer();
        await using var leg = engine.CreateLeg();
        Assert.NotNull(leg.Answer(peer.Offer("0 101")));
        var digits = new List<char>();
        leg.Dtmf += (_, d) =>
        {
            lock (digits) digits.Add(d);
        };
        var ev = new byte[4];
        ushort seq = 10;
        foreach (var (end, duration) in new[] { (false, 160), (false, 320), (true, 480), (true, 480), (true, 480) })
        {
            new TelephoneEvent(5, end, 10, (ushort)duration).Write(ev);
            peer.Send(leg.LocalPort, Rtp(101, seq++, 8000, 77, ev, marker: duration == 160));
        }
        peer.Send(leg.LocalPort, Rtp(0, seq, 8480, 77, new byte[160])); // audio after the event
        await Until(() => leg.PacketsReceived == 6);
        lock (digits) Assert.Equal(['5'], digits);
    }

    [Fact]
    public async Task SendDigit_sends_an_event_with_one_timestamp_and_three_end_packets()
    {
        using var engine = NewEngine();
        using var peer = new Peer();
        await using var leg = engine.CreateLeg();
        Assert.NotNull(leg.Answer(peer.Offer("0 101")));
        Assert.True(leg.SendDigit('#', durationMs: 60));
        var packets = new List<Received>();
        for (var i = 0; i < 5; i++) packets.Add(await peer.ReceiveAsync());
        Assert.All(packets, p => Assert.Equal(101, p.PayloadType));
        Assert.All(packets, p => Assert.Equal(packets[0].Timestamp, p.Timestamp));
        Assert.True(packets[0].Marker);
        var events = packets.Select(p =>
        {
            Assert.True(TelephoneEvent.TryParse(p.Payload, out var e));
            return e;
        }).ToList();
        Assert.All(events, e => Assert.Equal(11, e.Event));
        Assert.Equal([false, false, true, true, true], events.Select(e => e.End));
        Assert.Equal(480, events[^1].Duration);
        Assert.False(leg.SendDigit('x'));
    }

    [Fact]
    public async Task Received_audio_is_recorded()
    {
        using var engine = NewEngine();
        using var peer = new Peer();
        await using var leg = engine.CreateLeg();
        Assert.NotNull(leg.Answer(peer.Offer("8")));
        var stream = new MemoryStream();
        var recorder = new WavRecorder(stream, leaveOpen: true);
        leg.StartRecording(recorder, RecordingSide.Left);
        var payload = Enumerable.Repeat((byte)0xAA, 160).ToArray(); // A-law 32256
        peer.Send(leg.LocalPort, Rtp(8, 1, 0, 3, payload));
        await Until(() => leg.PacketsReceived == 1);
        recorder.Dispose();
        var samples = WavFile.TryDecode(stream.ToArray(), out _);
        Assert.NotNull(samples);
        Assert.Equal(160, samples.Length);
        Assert.All(samples, s => Assert.Equal(32256, s));
    }

    [Fact]
    public async Task Ports_are_even_exhaustion_fails_clearly_and_dispose_releases()
    {
        using var engine = NewEngine(ports: 2);
        var first = engine.CreateLeg();
        await using var second = engine.CreateLeg();
        Assert.Equal(0, first.LocalPort % 2);
        Assert.Equal(0, second.LocalPort % 2);
        Assert.NotEqual(first.LocalPort, second.LocalPort);
        Assert.False(engine.TryCreateLeg(out _, out var error));
        Assert.Contains("no free RTP port", error, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(engine.CreateLeg);
        await first.DisposeAsync();
        await using var third = engine.CreateLeg();
        Assert.Equal(2, engine.LegCount);
    }

    [Fact]
    public async Task Offers_keep_the_session_id_and_increment_the_version()
    {
        using var engine = NewEngine();
        await using var leg = engine.CreateLeg();
        var o1 = Sdp.Parse(leg.CreateOffer(), out _)!.Origin;
        var o2 = Sdp.Parse(leg.CreateOffer(), out _)!.Origin;
        Assert.Equal(o1.SessionId, o2.SessionId);
        Assert.Equal(o1.SessionVersion + 1, o2.SessionVersion);
        Assert.Equal("127.0.0.1", o1.Address);
        Assert.True(leg.AcceptAnswer(SdpTests.B($"v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 8\n")));
        Assert.Equal(Codec.Pcma, leg.Codec);
        Assert.Null(leg.Answer(SdpTests.B("v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 18\n"), out var reason));
        Assert.NotNull(reason);
    }

    [DualStackFact]
    public async Task A_dual_stack_engine_talks_to_an_ipv4_peer()
    {
        var min = Interlocked.Add(ref _nextRange, 100) - 100;
        using var engine = new MediaEngine(new MediaOptions { Bind = IPAddress.IPv6Any, SdpAddress = "127.0.0.1", PortMin = min, PortMax = min + 20 });
        Assert.True(engine.TryCreateLeg(out var leg, out var error), error);
        await using var owned = leg;
        using var peer = new Peer();
        Assert.NotNull(leg.Answer(peer.Offer("0")));
        Assert.Equal(peer.Port, leg.RemoteEndPoint!.Port);
        peer.Send(leg.LocalPort, Rtp(0, 1, 0, 1, new byte[160]));
        await Until(() => leg.IsLatched);
        Assert.Equal(IPAddress.Loopback, leg.RemoteEndPoint!.Address.MapToIPv4());
        leg.Play([AudioClip.FromSamples("x", new short[160])], null);
        Assert.Equal(leg.Ssrc, (await peer.ReceiveAsync()).Ssrc);
    }
}

/// <summary>A test that needs a dual-stack UDP socket ([::] accepting IPv4): reported as skipped, with the reason, on a
/// machine where IPv6 is off (a kernel setting, not a tool the tests could install); it runs everywhere else.</summary>
public sealed class DualStackFactAttribute : FactAttribute
{
    public DualStackFactAttribute()
    {
        if (!Socket.OSSupportsIPv6)
        {
            Skip = "IPv6 is disabled on this machine: a dual-stack socket cannot exist";
            return;
        }
        try
        {
            using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
            probe.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        }
        catch (SocketException e)
        {
            Skip = $"IPv6 is disabled on this machine: binding [::] failed ({e.SocketErrorCode})";
        }
    }
}
