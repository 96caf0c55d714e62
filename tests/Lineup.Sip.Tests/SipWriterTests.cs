using System.Text;

namespace Lineup.Sip.Tests;

public sealed class SipWriterTests
{
    [Fact]
    public void Writes_full_names_and_correct_content_length_and_round_trips()
    {
        var input = "SIP/2.0 200 OK\r\n" +
                    "v: SIP/2.0/UDP a.example.com;branch=z9hG4bKa, SIP/2.0/UDP b.example.com;branch=z9hG4bKb\r\n" +
                    "f: <sip:a@example.com>;tag=1\r\nt: <sip:b@example.com>;tag=2\r\ni: cid\r\nCSeq: 1 INVITE\r\n" +
                    "c: application/sdp\r\nl: 99\r\n\r\nbody";
        var r = SipParser.Parse(Encoding.UTF8.GetBytes(input[..^4] + "body"), SipFraming.Datagram);
        Assert.Equal(SipParseError.InvalidContentLength, r.Error); // l: 99 > 4 bytes

        var ok = SipParser.Parse(Encoding.UTF8.GetBytes(input.Replace("l: 99", "l: 4")));
        Assert.True(ok.Success, ok.Detail);
        var text = Encoding.UTF8.GetString(SipWriter.Write(ok.Message!));
        Assert.Equal(
            "SIP/2.0 200 OK\r\n" +
            "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa\r\nVia: SIP/2.0/UDP b.example.com;branch=z9hG4bKb\r\n" +
            "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\nCall-ID: cid\r\nCSeq: 1 INVITE\r\n" +
            "Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nbody", text);

        var again = SipParser.Parse(Encoding.UTF8.GetBytes(text), SipFraming.Stream);
        Assert.True(again.Success);
        Assert.Equal(ok.Message!.Headers, again.Message!.Headers);
        Assert.Equal(ok.Message.StatusLine, again.Message.StatusLine);
    }
}

public sealed class SipStreamFramerTests
{
    private static readonly byte[] Msg = Encoding.ASCII.GetBytes("OPTIONS sip:a@b SIP/2.0\r\nl: 3\r\nVia: SIP/2.0/TCP h\r\n\r\nabc");

    [Fact]
    public void Finds_message_end_after_keep_alives()
    {
        var buf = Encoding.ASCII.GetBytes("\r\n\r\n").Concat(Msg).Concat(Msg).ToArray();
        Assert.Equal(SipFrameStatus.Message, SipStreamFramer.TryFrame(buf, out var skipped, out var length));
        Assert.Equal(4, skipped);
        Assert.Equal(Msg.Length, length);
    }

    [Fact]
    public void Needs_more_until_body_complete()
    {
        Assert.Equal(SipFrameStatus.NeedMore, SipStreamFramer.TryFrame(Msg.AsSpan(0, Msg.Length - 1), out _, out _));
        Assert.Equal(SipFrameStatus.NeedMore, SipStreamFramer.TryFrame(Msg.AsSpan(0, 10), out _, out _));
    }

    [Fact]
    public void Errors_without_content_length_or_over_limit()
    {
        var noCl = Encoding.ASCII.GetBytes("OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n");
        Assert.Equal(SipFrameStatus.Error, SipStreamFramer.TryFrame(noCl, out _, out _));
        Assert.Equal(SipFrameStatus.Error, SipStreamFramer.TryFrame(new byte[200], out _, out _, new SipParserLimits(MaxMessageSize: 100)));
    }
}
