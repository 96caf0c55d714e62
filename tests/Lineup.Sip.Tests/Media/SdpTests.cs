using System.Text;
using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

public class SdpTests
{
    internal static byte[] B(string s) => Encoding.UTF8.GetBytes(s.Replace("\n", "\r\n", StringComparison.Ordinal));

    private const string Offer = """
        v=0
        o=alice 2890844526 2890844527 IN IP4 192.0.2.10
        s=call
        c=IN IP4 192.0.2.10
        t=0 0
        m=audio 49170 RTP/AVP 8 0 101
        a=rtpmap:8 PCMA/8000
        a=rtpmap:0 PCMU/8000
        a=rtpmap:101 telephone-event/8000
        a=fmtp:101 0-15
        a=ptime:20
        a=sendrecv

        """;

    [Fact]
    public void Parses_a_typical_offer()
    {
        var s = Sdp.Parse(B(Offer), out var error);
        Assert.NotNull(s);
        Assert.Null(error);
        Assert.Equal(new SdpOrigin("alice", 2890844526, 2890844527, "IP4", "192.0.2.10"), s.Origin);
        Assert.Equal(new SdpConnection("IP4", "192.0.2.10"), s.Connection);
        var m = Assert.Single(s.Media);
        Assert.Equal("audio", m.Media);
        Assert.Equal(49170, m.Port);
        Assert.Equal("RTP/AVP", m.Protocol);
        Assert.Equal(["8", "0", "101"], m.Formats);
        Assert.Equal(new SdpRtpMap(101, "telephone-event", 8000, 1), m.RtpMap(101));
        Assert.Equal("0-15", m.Fmtp(101));
        Assert.Equal(20, m.Ptime);
        Assert.Equal(MediaDirection.SendRecv, m.Direction);
    }

    [Fact]
    public void Media_level_connection_and_session_direction_apply()
    {
        var s = Sdp.Parse(B("v=0\no=- 1 1 IN IP6 ::1\ns=-\nt=0 0\na=sendonly\nm=audio 4000 RTP/AVP 0\nc=IN IP6 2001:db8::1\n"), out var error);
        Assert.NotNull(s);
        Assert.Null(s.Connection);
        Assert.Equal(new SdpConnection("IP6", "2001:db8::1"), s.ConnectionOf(s.Media[0]));
        Assert.Equal(MediaDirection.SendOnly, s.DirectionOf(s.Media[0]));
    }

    [Fact]
    public void Accepts_lf_only_line_ends_a_ttl_suffix_and_ptime_with_decimals()
    {
        var s = Sdp.Parse(Encoding.ASCII.GetBytes("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 224.2.1.1/127\nt=0 0\nm=audio 5000/2 RTP/AVP 0\na=ptime:20.0\n"), out _);
        Assert.NotNull(s);
        Assert.Equal("224.2.1.1", s.Connection!.Address);
        Assert.Equal(2, s.Media[0].PortCount);
        Assert.Equal(20, s.Media[0].Ptime);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("o=- 1 1 IN IP4 1.2.3.4\n", "first line")]
    [InlineData("v=1\n", "v=")]
    [InlineData("v=0\ns=-\n", "o=")]
    [InlineData("v=0\no=- x 1 IN IP4 1.2.3.4\n", "o=")]
    [InlineData("v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IPX 1.2.3.4\n", "c=")]
    [InlineData("v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 70000 RTP/AVP 0\nc=IN IP4 1.2.3.4\n", "port")]
    [InlineData("v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP\n", "four fields")]
    [InlineData("v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\n", "no c=")]
    [InlineData("v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\na=rtpmap:x PCMU/8000\n", "rtpmap")]
    [InlineData("v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU\n", "rtpmap")]
    [InlineData("v=0\no=- 1 1 IN IP4 1.2.3.4\nnonsense\n", "line 3")]
    public void Malformed_descriptions_give_a_reason(string text, string expected)
    {
        Assert.Null(Sdp.Parse(B(text), out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_then_parse_round_trips()
    {
        var offer = SdpOfferAnswer.CreateOffer(new SdpLocal("198.51.100.7", 20000, 77, 3));
        var text = Encoding.UTF8.GetString(Sdp.Write(offer));
        Assert.Contains("m=audio 20000 RTP/AVP 0 8 101\r\n", text, StringComparison.Ordinal);
        Assert.Contains("a=fmtp:101 0-16\r\n", text, StringComparison.Ordinal);
        Assert.Contains("o=lineup 77 3 IN IP4 198.51.100.7\r\n", text, StringComparison.Ordinal);
        var parsed = Sdp.Parse(Sdp.Write(offer), out var error);
        Assert.NotNull(parsed);
        Assert.Equal(offer.Origin, parsed.Origin);
        Assert.Equal(offer.Media[0].Formats, parsed.Media[0].Formats);
        Assert.Equal(offer.Media[0].RtpMaps, parsed.Media[0].RtpMaps);
        Assert.Equal(offer.Media[0].Fmtps, parsed.Media[0].Fmtps);
    }

    private static readonly byte[] Alphabet = B(" 0123456789/:=\nabcmv-.");

    [Fact]
    public void Garbage_and_mutations_never_throw()
    {
        var random = new Random(1234);
        var valid = B(Offer);
        var buffer = new byte[valid.Length + 16];
        for (var i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (i % 3 == 0)
            {
                input = new byte[random.Next(0, 200)];
                random.NextBytes(input);
            }
            else
            {
                valid.CopyTo(buffer, 0);
                var length = random.Next(0, valid.Length + 1);
                for (var k = random.Next(1, 6); k > 0; k--)
                {
                    // Printable mutations reach deeper than random bytes: digits, separators, letters.
                    buffer[random.Next(0, Math.Max(1, length))] = Alphabet[random.Next(0, Alphabet.Length)];
                }
                input = buffer[..length];
            }
            var s = Sdp.Parse(input, out var error);
            Assert.True(s is not null || error is not null);
            if (s is not null)
            {
                // Whatever parsed can be written and answered without throwing.
                _ = Sdp.Write(s);
                _ = SdpOfferAnswer.Answer(s, new SdpLocal("127.0.0.1", 20000, 1, 1), out _);
            }
        }
    }

    [Fact]
    public void Invalid_utf8_is_refused_rather_than_expanded()
    {
        var text = System.Text.Encoding.ASCII.GetBytes("v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n");
        var bad = text.Concat(new byte[] { (byte)'a', (byte)'=', 0xF3, 0xF3, (byte)'\r', (byte)'\n' }).ToArray();
        Assert.Null(Sdp.Parse(bad, out var error));
        Assert.Equal("not valid UTF-8", error);
    }

    [Fact]
    public void Crypto_attributes_are_read_and_written_back()
    {
        var text = System.Text.Encoding.ASCII.GetBytes("v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/SAVP 0\r\n"
            + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n"
            + "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj KDR=1 UNENCRYPTED_SRTP\r\n"
            + "a=crypto:x broken\r\n");
        var m = Sdp.Parse(text, out var error)!.Media[0];
        Assert.Null(error);
        Assert.Equal(2, m.Cryptos.Count);
        Assert.Equal(new SdpCrypto(1, "AES_CM_128_HMAC_SHA1_80", "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4", null), m.Cryptos[0]);
        Assert.Equal("KDR=1 UNENCRYPTED_SRTP", m.Cryptos[1].SessionParams);
        var again = Sdp.Parse(Sdp.Write(Sdp.Parse(text, out _)!), out _)!.Media[0];
        Assert.Equal(m.Cryptos, again.Cryptos);
    }
}
