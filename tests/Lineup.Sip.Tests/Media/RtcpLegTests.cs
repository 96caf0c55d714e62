using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

/// <summary>
/// RTCP on a media leg: SDP (rtcp-mux of RFC 5761, a=rtcp of RFC 3605), the round trip of RFC 3550 §6.4.1, and a leg
/// on real UDP (127.0.0.1) driven by the test: its reports (SR or RR, the block about the peer, SDES, BYE) on its
/// schedule, and the peer's reports read back into its quality. The engine runs without its pacing thread, so the test
/// decides when ticks and RTCP passes happen; no timing asserts.
/// </summary>
public sealed class RtcpLegTests
{
    private static int _nextRange = 46000 + (Environment.ProcessId % 50 * 100);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly long Second = Stopwatch.Frequency;

    private static MediaEngine NewEngine()
    {
        var min = Interlocked.Add(ref _nextRange, 20) - 20;
        return new MediaEngine(new MediaOptions { Bind = IPAddress.Loopback, PortMin = min, PortMax = min + 18 }, startPacer: false);
    }

    private static string Offer(int rtpPort, string extra = "") =>
        $"v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {rtpPort} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n{extra}";

    // ---- SDP ----

    [Fact]
    public void An_offer_with_rtcp_mux_is_answered_with_it_and_RTCP_goes_to_the_RTP_address()
    {
        var offer = Sdp.Parse(Encoding.ASCII.GetBytes(Offer(40000, "a=rtcp-mux\r\n")), out var error)!;
        Assert.Null(error);
        Assert.True(offer.Media[0].RtcpMux);
        var (answer, negotiation) = SdpOfferAnswer.Answer(offer, new SdpLocal("192.0.2.1", 20000, 1, 1), out _)!.Value;
        Assert.True(negotiation.RtcpMux);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 40000), negotiation.RtcpRemote);
        Assert.Contains("a=rtcp-mux\r\n", Encoding.ASCII.GetString(Sdp.Write(answer)), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_rtcp_mux_the_answer_does_not_claim_it_and_RTCP_goes_to_the_next_port()
    {
        var offer = Sdp.Parse(Encoding.ASCII.GetBytes(Offer(40000)), out _)!;
        var (answer, negotiation) = SdpOfferAnswer.Answer(offer, new SdpLocal("192.0.2.1", 20000, 1, 1), out _)!.Value;
        Assert.False(negotiation.RtcpMux);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 40001), negotiation.RtcpRemote);
        Assert.DoesNotContain("rtcp-mux", Encoding.ASCII.GetString(Sdp.Write(answer)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a=rtcp:53020\r\n", "127.0.0.1", 53020)]
    [InlineData("a=rtcp:53020 IN IP4 192.0.2.7\r\n", "192.0.2.7", 53020)]
    [InlineData("a=rtcp:53020 IN IP6 2001:db8::7\r\n", "2001:db8::7", 53020)]
    public void An_rtcp_attribute_says_where_RTCP_goes(string attribute, string address, int port)
    {
        var offer = Sdp.Parse(Encoding.ASCII.GetBytes(Offer(40000, attribute)), out var error)!;
        Assert.Null(error);
        var negotiation = SdpOfferAnswer.Answer(offer, new SdpLocal("192.0.2.1", 20000, 1, 1), out _)!.Value.Negotiation;
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), negotiation.RtcpRemote);
        // The attribute survives a write and a parse.
        var again = Sdp.Parse(Sdp.Write(offer), out _)!;
        Assert.Equal(offer.Media[0].Rtcp, again.Media[0].Rtcp);
    }

    [Theory]
    [InlineData("a=rtcp:\r\n")]
    [InlineData("a=rtcp:70000\r\n")]
    [InlineData("a=rtcp:53020 IN IP4\r\n")]
    [InlineData("a=rtcp:53020 XX IP4 192.0.2.7\r\n")]
    public void A_malformed_rtcp_attribute_is_refused_with_a_reason(string attribute)
    {
        Assert.Null(Sdp.Parse(Encoding.ASCII.GetBytes(Offer(40000, attribute)), out var error));
        Assert.Contains("rtcp", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Our_offer_proposes_rtcp_mux_and_an_answer_that_accepts_it_is_applied()
    {
        var offer = SdpOfferAnswer.CreateOffer(new SdpLocal("192.0.2.1", 20000, 1, 1));
        Assert.True(offer.Media[0].RtcpMux);
        var accepted = SdpOfferAnswer.AcceptAnswer(Sdp.Parse(Encoding.ASCII.GetBytes(Offer(40000, "a=rtcp-mux\r\n")), out _)!, out _)!;
        Assert.True(accepted.RtcpMux);
        Assert.Equal(accepted.Remote, accepted.RtcpRemote);
        var refused = SdpOfferAnswer.AcceptAnswer(Sdp.Parse(Encoding.ASCII.GetBytes(Offer(40000)), out _)!, out _)!;
        Assert.False(refused.RtcpMux);
        Assert.Equal(40001, refused.RtcpRemote!.Port);
    }

    // ---- Round trip ----

    [Fact]
    public void The_round_trip_is_arrival_minus_LSR_minus_DLSR()
    {
        // RFC 3550 §6.4.1's example: the report arrives at 46864.500 s, echoes an SR of 46853.125 s and was held 5.250 s.
        var rtt = RtcpPacket.RoundTrip(0xB710_8000, 0xB705_2000, 0x0005_4000);
        Assert.Equal(TimeSpan.FromMilliseconds(6125), rtt);
        // Across the 32-bit wrap of the middle bits.
        Assert.Equal(TimeSpan.FromMilliseconds(125), RtcpPacket.RoundTrip(0x0000_2000, 0xFFFF_E000, 0x0000_2000));
        Assert.Null(RtcpPacket.RoundTrip(0xB710_8000, 0, 0)); // no SR of ours echoed yet
        Assert.Null(RtcpPacket.RoundTrip(0xB710_8000, 0xB705_2000, 0x000C_0000)); // held longer than it was away
        Assert.Null(RtcpPacket.RoundTrip(0xB710_8000, 0x0005_2000, 0)); // an echo from hours ago: not ours
    }

    // ---- A leg ----

    /// <summary>The far end: an RTP socket and an RTCP socket (named in its offer with a=rtcp), or only the RTP one with mux.</summary>
    private sealed class Phone : IDisposable
    {
        public Socket Rtp { get; } = Bind();
        public Socket Rtcp { get; } = Bind();
        public uint Ssrc { get; } = 0x5EED_0001;

        private static Socket Bind()
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return s;
        }

        public int RtpPort => ((IPEndPoint)Rtp.LocalEndPoint!).Port;
        public int RtcpPort => ((IPEndPoint)Rtcp.LocalEndPoint!).Port;

        public byte[] OfferSdp(bool mux) => Encoding.ASCII.GetBytes(Offer(RtpPort, mux ? "a=rtcp-mux\r\n" : $"a=rtcp:{RtcpPort}\r\n"));

        public void SendRtp(int port, ushort seq, uint ts) =>
            Rtp.SendTo(Packet(seq, ts), SocketFlags.None, new IPEndPoint(IPAddress.Loopback, port));

        private byte[] Packet(ushort seq, uint ts)
        {
            var b = new byte[12 + 160];
            RtpPacket.Write(b, false, 0, seq, ts, Ssrc, new byte[160]);
            return b;
        }

        public void SendRtcp(Socket from, int port, RtcpSenderInfo? sender, RtcpReportBlock[] blocks)
        {
            var b = new byte[256];
            var n = RtcpPacket.Write(b, Ssrc, sender, blocks, "phone@127.0.0.1");
            from.SendTo(b.AsSpan(0, n), SocketFlags.None, new IPEndPoint(IPAddress.Loopback, port));
        }

        /// <summary>The next RTCP compound packet on <paramref name="socket"/> (skipping RTP on a muxed port).</summary>
        public static async Task<RtcpReport> ReceiveRtcpAsync(Socket socket)
        {
            var buffer = new byte[2048];
            using var cts = new CancellationTokenSource(Wait);
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (!RtcpPacket.IsRtcp(buffer.AsSpan(0, n))) continue;
                Assert.True(RtcpPacket.TryParse(buffer.AsSpan(0, n), out var report, out var error), error);
                return report!;
            }
        }

        public void Dispose()
        {
            Rtp.Dispose();
            Rtcp.Dispose();
        }
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
    public async Task Reports_follow_the_schedule_SR_after_sending_then_RR_then_BYE_at_the_end()
    {
        using var engine = NewEngine();
        using var phone = new Phone();
        var leg = engine.CreateLeg();
        Assert.Equal(leg.LocalPort + 1, leg.RtcpPort);
        var start = Stopwatch.GetTimestamp();
        Assert.NotNull(leg.Answer(phone.OfferSdp(mux: false)));
        Assert.Equal(phone.RtcpPort, leg.RtcpRemoteEndPoint!.Port);

        // Nothing before the first interval (RFC 3550 §6.3.2: at least a quarter of the 5 s minimum, randomised).
        engine.RtcpTick(start);
        Assert.Equal(0, engine.Statistics.RtcpSent);

        // Lineup plays 3 packets, the phone sends 20 with two lost (seq 105 and 110).
        leg.Play([AudioClip.FromSamples("x", new short[480])], null);
        for (var t = 1; t <= 3; t++) engine.Tick(start + (t * Second / 50));
        for (ushort seq = 100; seq < 120; seq++)
        {
            if (seq is not (105 or 110)) phone.SendRtp(leg.LocalPort, seq, (uint)(seq * 160));
        }
        await Until(() => leg.PacketsReceived == 18);

        engine.RtcpTick(start + (10 * Second));
        var sr = await Phone.ReceiveRtcpAsync(phone.Rtcp);
        Assert.Equal(leg.Ssrc, sr.Ssrc);
        Assert.NotNull(sr.Sender);
        Assert.Equal(3u, sr.Sender!.Value.PacketCount);
        Assert.Equal(3u * 160, sr.Sender.Value.OctetCount);
        var block = Assert.Single(sr.Blocks);
        Assert.Equal(phone.Ssrc, block.Ssrc);
        Assert.Equal(2, block.CumulativeLost);
        Assert.Equal(119u, block.HighestSequence);
        Assert.Equal((byte)(2 * 256 / 20), block.FractionLost);
        Assert.Equal(0u, block.LastSenderReport); // the phone sent no SR yet
        Assert.StartsWith("lineup-", sr.CanonicalName, StringComparison.Ordinal);
        Assert.False(sr.Bye);

        // Right after a report, the next is not due (at least 2 s: 5 s x 0.5 / 1.21828).
        engine.RtcpTick(start + (10 * Second) + (Second / 2));
        Assert.Equal(1, engine.Statistics.RtcpSent);

        // Nothing sent since: the next report is an RR.
        engine.RtcpTick(start + (30 * Second));
        var rr = await Phone.ReceiveRtcpAsync(phone.Rtcp);
        Assert.Null(rr.Sender);
        Assert.Equal(0, Assert.Single(rr.Blocks).FractionLost); // no loss since the last report

        var quality = leg.Quality;
        Assert.Equal(18, quality.PacketsReceived);
        Assert.Equal(2, quality.PacketsLost);
        Assert.Equal(10, quality.LossPercent, 3);

        await leg.DisposeAsync();
        var bye = await Phone.ReceiveRtcpAsync(phone.Rtcp);
        Assert.True(bye.Bye);
        Assert.Equal(leg.Ssrc, bye.Ssrc);
    }

    [Fact]
    public async Task The_phones_reports_give_its_view_of_our_stream_and_the_round_trip()
    {
        using var engine = NewEngine();
        using var phone = new Phone();
        await using var leg = engine.CreateLeg();
        var start = Stopwatch.GetTimestamp();
        Assert.NotNull(leg.Answer(phone.OfferSdp(mux: false)));
        leg.Play([AudioClip.FromSamples("x", new short[160])], null);
        engine.Tick(start + (Second / 50));
        // The round trip is measured on the real clock: wait out the first interval (at most 2.5 s x 1.5 / 1.21828).
        await Task.Delay(TimeSpan.FromSeconds(3.2));
        var sentAt = Stopwatch.GetTimestamp();
        engine.RtcpTick(sentAt);
        var sr = await Phone.ReceiveRtcpAsync(phone.Rtcp);
        Assert.NotNull(sr.Sender);

        // The phone answers from its RTCP port with an SR and a block about our stream that echoes our SR, held 0 s.
        var lsr = RtcpPacket.Middle(sr.Sender!.Value.NtpTimestamp);
        phone.SendRtcp(phone.Rtcp, leg.RtcpPort, new RtcpSenderInfo(RtcpPacket.NtpTimestamp(DateTimeOffset.UtcNow), 0, 50, 8000),
            [new RtcpReportBlock(leg.Ssrc, 0, 4, 1000, 80, lsr, 0)]);
        await Until(() => leg.Quality.RtcpReceived == 1);
        var quality = leg.Quality;
        Assert.Equal(4, quality.RemotePacketsLost);
        Assert.Equal(10, quality.RemoteJitterMs); // 80 timestamp units at 8 kHz
        // The round trip is the time from our SR to the phone's reply (it held it 0 s): known, and no longer than the
        // test took since (not a figure to assert).
        Assert.NotNull(quality.RoundTripMs);
        Assert.InRange(quality.RoundTripMs!.Value, 0, Stopwatch.GetElapsedTime(sentAt).TotalMilliseconds + 1);
        Assert.NotEqual(0, leg.LastRtcpReceivedAt);

        // Our next report carries the phone's SR as LSR.
        engine.RtcpTick(start + (30 * Second));
        var next = await Phone.ReceiveRtcpAsync(phone.Rtcp);
        Assert.Empty(next.Blocks); // the phone sent no RTP: no block about it
        Assert.Equal(1, engine.Statistics.RtcpReceived);
    }

    [Fact]
    public async Task With_rtcp_mux_reports_share_the_RTP_port_both_ways_and_are_told_from_RTP_by_payload_type()
    {
        using var engine = NewEngine();
        using var phone = new Phone();
        await using var leg = engine.CreateLeg();
        var start = Stopwatch.GetTimestamp();
        var answer = Encoding.ASCII.GetString(leg.Answer(phone.OfferSdp(mux: true))!);
        Assert.Contains("a=rtcp-mux", answer, StringComparison.Ordinal);
        Assert.True(leg.RtcpMux);

        phone.SendRtp(leg.LocalPort, 1, 160);
        phone.SendRtcp(phone.Rtp, leg.LocalPort, null, []);
        phone.SendRtp(leg.LocalPort, 2, 320);
        await Until(() => leg.PacketsReceived == 2 && leg.Quality.RtcpReceived == 1);
        Assert.Equal(0, engine.Statistics.PacketsDropped); // the RTCP packet was not taken for RTP of payload type 73

        engine.RtcpTick(start + (10 * Second));
        var rr = await Phone.ReceiveRtcpAsync(phone.Rtp); // on the phone's RTP port
        Assert.Equal(leg.Ssrc, rr.Ssrc);
        Assert.Equal(2u, Assert.Single(rr.Blocks).HighestSequence);
    }

    [Fact]
    public async Task Without_mux_RTCP_on_the_RTP_port_is_not_RTP_and_malformed_RTCP_is_dropped()
    {
        using var engine = NewEngine();
        using var phone = new Phone();
        await using var leg = engine.CreateLeg();
        Assert.NotNull(leg.Answer(phone.OfferSdp(mux: false)));
        phone.SendRtcp(phone.Rtp, leg.LocalPort, null, []);
        await Until(() => engine.Statistics.PacketsDropped == 1);
        Assert.Equal(0, leg.PacketsReceived);
        Assert.Equal(0, leg.Quality.RtcpReceived);

        phone.Rtcp.SendTo(new byte[] { 0x80, 200, 0, 9 }, SocketFlags.None, new IPEndPoint(IPAddress.Loopback, leg.RtcpPort));
        await Until(() => engine.Statistics.RtcpDropped == 1);
        Assert.Equal(0, leg.Quality.RtcpReceived);
    }
}
