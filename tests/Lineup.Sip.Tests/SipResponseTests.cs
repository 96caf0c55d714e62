using System.Text;

namespace Lineup.Sip.Tests;

public sealed class SipResponseTests
{
    private static SipMessage Request(string to) => SipParser.Parse(Encoding.UTF8.GetBytes(
        "INVITE sip:700@lineup SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1;rport\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK2\r\n" +
        "From: \"Bob\" <sip:bob@example.com>;tag=f1\r\nTo: " + to + "\r\nCall-ID: abc@host\r\nCSeq: 7 INVITE\r\nMax-Forwards: 70\r\n" +
        "Contact: <sip:bob@10.0.0.1:5062>\r\nContent-Length: 0\r\n\r\n")).Message!;

    [Fact]
    public void Copies_vias_in_order_from_call_id_cseq_and_adds_the_to_tag()
    {
        var r = SipResponse.Create(Request("<sip:700@lineup>"), 180, toTag: "t9");
        Assert.Equal(180, r.StatusLine!.StatusCode);
        Assert.Equal("Ringing", r.StatusLine.ReasonPhrase);
        Assert.Equal(["SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1;rport", "SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK2"], r.GetValues("Via"));
        Assert.Equal("t9", r.To!.Tag);
        Assert.Equal("f1", r.From!.Tag);
        Assert.Equal("abc@host", r.CallId);
        Assert.Equal("7 INVITE", r.GetFirst("CSeq"));
        Assert.Null(r.GetFirst("Contact"));
        Assert.Null(r.GetFirst("Max-Forwards"));
    }

    [Fact]
    public void Keeps_an_existing_to_tag_and_adds_none_to_100()
    {
        Assert.Equal("old", SipResponse.Create(Request("<sip:700@lineup>;tag=old"), 200, toTag: "new").To!.Tag);
        Assert.Null(SipResponse.Create(Request("<sip:700@lineup>"), 100, toTag: "new").To!.Tag);
    }
}
