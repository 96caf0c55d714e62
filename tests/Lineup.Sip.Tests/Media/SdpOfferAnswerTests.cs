using System.Net;
using Lineup.Sip.Media;
using static Lineup.Sip.Tests.Media.SdpTests;

namespace Lineup.Sip.Tests.Media;

public class SdpOfferAnswerTests
{
    private static readonly SdpLocal Local = new("203.0.113.5", 20002, 900, 1);

    private static (SdpSession Answer, SdpNegotiation Negotiation) AnswerOf(string offer)
    {
        var parsed = Sdp.Parse(B(offer), out var error);
        Assert.True(parsed is not null, error);
        var result = SdpOfferAnswer.Answer(parsed, Local, out var reason);
        Assert.True(result is not null, reason);
        return result.Value;
    }

    [Fact]
    public void Answer_takes_the_first_supported_codec_of_the_offer_and_echoes_telephone_event()
    {
        var (answer, n) = AnswerOf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 18 8 0 96\na=rtpmap:18 G729/8000\na=rtpmap:96 telephone-event/8000\na=fmtp:96 0-15\n");
        Assert.Equal(Codec.Pcma, n.Codec);
        Assert.Equal(8, n.PayloadType);
        Assert.Equal(96, n.TelephoneEventPayloadType);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 4000), n.Remote);
        var m = Assert.Single(answer.Media);
        Assert.Equal(["8", "96"], m.Formats);
        Assert.Equal(20002, m.Port);
        Assert.Equal("0-15", m.Fmtp(96));
        Assert.Equal(new SdpConnection("IP4", "203.0.113.5"), answer.Connection);
    }

    [Fact]
    public void Static_payload_types_need_no_rtpmap()
    {
        var (_, n) = AnswerOf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n");
        Assert.Equal(Codec.Pcmu, n.Codec);
        Assert.Null(n.TelephoneEventPayloadType);
    }

    [Fact]
    public void No_common_codec_gives_null_for_a_488()
    {
        var offer = Sdp.Parse(B("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 9 18\n"), out _)!;
        Assert.Null(SdpOfferAnswer.Answer(offer, Local, out var reason));
        Assert.Contains("PCMU or PCMA", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_streams_are_rejected_with_port_zero_in_order()
    {
        var (answer, n) = AnswerOf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=video 5000 RTP/AVP 31\nm=audio 0 RTP/AVP 0\nm=audio 4002 RTP/SAVP 0\nm=audio 4004 RTP/AVP 0\nm=audio 4006 RTP/AVP 8\n");
        Assert.Equal([0, 0, 0, 20002, 0], answer.Media.Select(m => m.Port));
        Assert.Equal(["video", "audio", "audio", "audio", "audio"], answer.Media.Select(m => m.Media));
        Assert.Equal(["31"], answer.Media[0].Formats);
        Assert.Equal(4004, n.Remote!.Port);
    }

    [Theory]
    [InlineData("sendonly", MediaDirection.RecvOnly, false)]
    [InlineData("recvonly", MediaDirection.SendOnly, true)]
    [InlineData("inactive", MediaDirection.Inactive, false)]
    [InlineData("sendrecv", MediaDirection.SendRecv, true)]
    public void Direction_is_mirrored(string offered, MediaDirection ours, bool canSend)
    {
        var (answer, n) = AnswerOf($"v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na={offered}\n");
        Assert.Equal(ours, n.Direction);
        Assert.Equal(canSend, n.CanSend);
        Assert.Equal(ours, answer.Media[0].Direction);
    }

    [Fact]
    public void Hold_address_and_ipv6_are_accepted()
    {
        var (_, hold) = AnswerOf("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 4000 RTP/AVP 0\n");
        Assert.Null(hold.Remote);
        var (_, v6) = AnswerOf("v=0\no=- 1 1 IN IP6 2001:db8::1\ns=-\nc=IN IP6 2001:db8::1\nt=0 0\nm=audio 4000 RTP/AVP 0\n");
        Assert.Equal(IPAddress.Parse("2001:db8::1"), v6.Remote!.Address);
    }

    [Fact]
    public void Accepting_an_answer_reads_codec_and_address()
    {
        var answer = Sdp.Parse(B("v=0\no=- 1 1 IN IP4 192.0.2.9\ns=-\nt=0 0\nm=audio 7078 RTP/AVP 8 101\nc=IN IP4 192.0.2.9\na=rtpmap:101 telephone-event/8000\n"), out _)!;
        var n = SdpOfferAnswer.AcceptAnswer(answer, out _);
        Assert.NotNull(n);
        Assert.Equal(Codec.Pcma, n.Codec);
        Assert.Equal(101, n.TelephoneEventPayloadType);
        Assert.Equal(7078, n.Remote!.Port);

        var rejected = Sdp.Parse(B("v=0\no=- 1 1 IN IP4 192.0.2.9\ns=-\nt=0 0\nm=audio 0 RTP/AVP 0\n"), out _)!;
        Assert.Null(SdpOfferAnswer.AcceptAnswer(rejected, out var reason));
        Assert.NotNull(reason);
    }
}
