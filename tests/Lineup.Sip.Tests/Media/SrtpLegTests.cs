using System.Net;
using System.Net.Sockets;
using System.Text;
using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

/// <summary>SRTP on real legs over UDP on 127.0.0.1: SDES offer/answer under each policy, an SRTP leg bridged to a
/// clear-text one (decrypt, relay, re-encrypt), tampered and replayed packets dropped and counted.</summary>
public sealed class SrtpLegTests
{
    private static int _nextRange = 46000 + (Environment.ProcessId % 50 * 100);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static MediaEngine NewEngine(SrtpPolicy policy)
    {
        var min = Interlocked.Add(ref _nextRange, 40) - 40;
        return new MediaEngine(new MediaOptions { Bind = IPAddress.Loopback, PortMin = min, PortMax = min + 38, Srtp = policy });
    }

    private static string Offer(int port, string protocol, params string[] cryptos)
    {
        var sb = new StringBuilder($"v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} {protocol} 0 101\r\na=rtpmap:101 telephone-event/8000\r\n");
        foreach (var c in cryptos) sb.Append("a=crypto:").Append(c).Append("\r\n");
        return sb.ToString();
    }

    private static SdpMedia Audio(byte[] sdp) => Sdp.Parse(sdp, out var error)?.Media[0] ?? throw new InvalidOperationException(error);

    [Fact]
    public async Task An_srtp_leg_bridged_to_a_clear_leg_decrypts_relays_and_re_encrypts()
    {
        using var engine = NewEngine(SrtpPolicy.Optional);
        using var secure = new UdpPeer();
        using var clear = new UdpPeer();
        var peerKey = SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_80);
        await using var legA = engine.CreateLeg();
        await using var legB = engine.CreateLeg();
        legB.Srtp = SrtpPolicy.Off;
        var answer = legA.Answer(Encoding.ASCII.GetBytes(Offer(secure.Port, "RTP/SAVP",
            "1 AES_CM_128_HMAC_SHA1_32 inline:" + SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_32).ToInline() + "|1:4", // MKI: not usable
            "2 AES_CM_128_HMAC_SHA1_80 inline:" + peerKey.ToInline() + "|2^31")), out var reason);
        Assert.True(answer is not null, reason);
        var media = Audio(answer);
        Assert.Equal("RTP/SAVP", media.Protocol);
        var crypto = Assert.Single(media.Cryptos);
        Assert.Equal(2, crypto.Tag);
        Assert.Equal("AES_CM_128_HMAC_SHA1_80", crypto.Suite);
        Assert.True(SrtpMasterKey.TryParseInline(SrtpSuite.AesCm128HmacSha1_80, crypto.KeyParams.AsSpan("inline:".Length), out var lineupKey));
        Assert.True(legA.IsSecure);
        Assert.NotNull(legB.Answer(Encoding.ASCII.GetBytes(Offer(clear.Port, "RTP/AVP"))));
        Assert.False(legB.IsSecure);
        legA.BridgeTo(legB);

        using var peerSend = new SrtpContext(peerKey);
        using var peerReceive = new SrtpContext(lineupKey);
        var payload = Enumerable.Range(0, 160).Select(i => (byte)i).ToArray();
        var sent = new List<byte[]>();
        for (var i = 0; i < 5; i++)
        {
            var p = Srtp(peerSend, (ushort)(100 + i), payload);
            sent.Add(p);
            secure.Send(legA.LocalPort, p);
            var relayed = await clear.ReceiveAsync();
            Assert.True(RtpPacket.TryParse(relayed, out var rtp, out var error), error);
            Assert.Equal(payload, rtp.Payload.ToArray());
            Assert.Equal(legB.Ssrc, rtp.Ssrc);
        }

        // The other way: clear RTP in, SRTP out that the peer decrypts with the key from Lineup's answer.
        for (var i = 0; i < 3; i++)
        {
            var rtp = new byte[12 + 160];
            RtpPacket.Write(rtp, false, 0, (ushort)(7 + i), 160u * (uint)i, 0xC1EA, payload);
            clear.Send(legB.LocalPort, rtp);
            var protectedPacket = await secure.ReceiveAsync();
            Assert.Equal(12 + 160 + 10, protectedPacket.Length);
            Assert.NotEqual(payload, protectedPacket.AsSpan(12, 160).ToArray());
            var n = peerReceive.Unprotect(protectedPacket, protectedPacket.Length, out var error);
            Assert.True(n == 12 + 160, error.ToString());
            Assert.Equal(payload, protectedPacket.AsSpan(12, 160).ToArray());
        }

        // Tampered and replayed packets are dropped, counted, and never relayed.
        var tampered = Srtp(peerSend, 200, payload);
        tampered[20] ^= 0x01;
        secure.Send(legA.LocalPort, tampered);
        secure.Send(legA.LocalPort, sent[2]);
        await Until(() => legA.SrtpAuthenticationFailures == 1 && legA.SrtpReplays == 1);
        Assert.Equal(1, engine.Statistics.SrtpAuthenticationFailures);
        Assert.Equal(1, engine.Statistics.SrtpReplays);
        Assert.Equal(5, legA.PacketsReceived);
        // Still working: a genuine next packet goes through.
        secure.Send(legA.LocalPort, Srtp(peerSend, 201, payload));
        Assert.True(RtpPacket.TryParse(await clear.ReceiveAsync(), out _, out _));
    }

    [Fact]
    public async Task Required_refuses_clear_text_offers_and_off_refuses_savp()
    {
        using var engine = NewEngine(SrtpPolicy.Required);
        await using var leg = engine.CreateLeg();
        Assert.Null(leg.Answer(Encoding.ASCII.GetBytes(Offer(4000, "RTP/AVP")), out var reason));
        Assert.Contains("SRTP is required", reason);
        Assert.Null(leg.Answer(Encoding.ASCII.GetBytes(Offer(4000, "RTP/SAVP", "1 AES_256_CM_HMAC_SHA1_80 inline:" + new string('A', 40))), out reason));
        Assert.Contains("a=crypto", reason);
        // Best-effort SRTP (keys in an RTP/AVP offer) satisfies "required": the media is encrypted.
        var answer = leg.Answer(Encoding.ASCII.GetBytes(Offer(4000, "RTP/AVP",
            "1 AES_CM_128_HMAC_SHA1_80 inline:" + SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_80).ToInline())), out reason);
        Assert.True(answer is not null, reason);
        Assert.Equal("RTP/AVP", Audio(answer).Protocol);
        Assert.True(leg.IsSecure);

        await using var off = engine.CreateLeg();
        off.Srtp = SrtpPolicy.Off;
        Assert.Null(off.Answer(Encoding.ASCII.GetBytes(Offer(4000, "RTP/SAVP",
            "1 AES_CM_128_HMAC_SHA1_80 inline:" + SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_80).ToInline())), out reason));
        Assert.Contains("turned off", reason);
        // Off ignores keys in an RTP/AVP offer and answers clear text.
        answer = off.Answer(Encoding.ASCII.GetBytes(Offer(4000, "RTP/AVP",
            "1 AES_CM_128_HMAC_SHA1_80 inline:" + SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_80).ToInline())), out reason);
        Assert.True(answer is not null, reason);
        Assert.Empty(Audio(answer).Cryptos);
        Assert.False(off.IsSecure);
    }

    [Fact]
    public async Task Two_lineup_legs_agree_srtp_by_offer_and_answer_and_hear_each_other()
    {
        using var engine = NewEngine(SrtpPolicy.Required);
        await using var offerer = engine.CreateLeg();
        await using var answerer = engine.CreateLeg();
        var offer = offerer.CreateOffer();
        var offered = Audio(offer);
        Assert.Equal("RTP/SAVP", offered.Protocol);
        Assert.Equal(["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"], offered.Cryptos.Select(c => c.Suite));

        // A clear-text answer to a required-SRTP offer is refused.
        Assert.False(offerer.AcceptAnswer(Encoding.ASCII.GetBytes(Offer(answerer.LocalPort, "RTP/AVP")), out var reason));
        Assert.Contains("SRTP", reason);

        var answer = answerer.Answer(offer, out reason);
        Assert.True(answer is not null, reason);
        Assert.True(offerer.AcceptAnswer(answer, out reason), reason);
        Assert.True(offerer.IsSecure && answerer.IsSecure);

        offerer.Play([], AudioClip.HoldMusic());
        answerer.Play([], AudioClip.HoldMusic());
        await Until(() => offerer.PacketsReceived >= 20 && answerer.PacketsReceived >= 20);
        Assert.Equal(0, engine.Statistics.SrtpAuthenticationFailures);
        Assert.Equal(0, engine.Statistics.SrtpReplays);
    }

    [Fact]
    public async Task An_optional_offer_answered_in_clear_text_falls_back_to_rtp()
    {
        using var engine = NewEngine(SrtpPolicy.Optional);
        await using var leg = engine.CreateLeg();
        var offered = Audio(leg.CreateOffer());
        Assert.Equal("RTP/AVP", offered.Protocol);
        Assert.Equal(2, offered.Cryptos.Count);
        Assert.True(leg.AcceptAnswer(Encoding.ASCII.GetBytes(Offer(4000, "RTP/AVP")), out var reason), reason);
        Assert.False(leg.IsSecure);
    }

    private static byte[] Srtp(SrtpContext context, ushort sequence, byte[] payload)
    {
        var buffer = new byte[12 + payload.Length + 10];
        RtpPacket.Write(buffer, false, 0, sequence, sequence * 160u, 0x5EC0, payload);
        return buffer[..context.Protect(buffer, 12 + payload.Length)];
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

    private sealed class UdpPeer : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        public UdpPeer() => _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

        public void Send(int port, byte[] packet) => _socket.SendTo(packet, new IPEndPoint(IPAddress.Loopback, port));

        public async Task<byte[]> ReceiveAsync()
        {
            var buffer = new byte[2048];
            using var cts = new CancellationTokenSource(Wait);
            var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return buffer[..n];
        }

        public void Dispose() => _socket.Dispose();
    }
}
