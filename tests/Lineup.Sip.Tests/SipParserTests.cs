using System.Text;

namespace Lineup.Sip.Tests;

public sealed class SipParserTests
{
    private const string Base =
        "INVITE sip:bob@example.com SIP/2.0\r\n" +
        "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n" +
        "Max-Forwards: 70\r\n" +
        "To: Bob <sip:bob@example.com>\r\n" +
        "From: \"Alice \\\"A\\\"\" <sip:alice@example.com>;tag=1928301774\r\n" +
        "Call-ID: a84b4c76e66710@pc33.example.com\r\n" +
        "CSeq: 314159 INVITE\r\n" +
        "Contact: <sip:alice@pc33.example.com>;expires=60\r\n";

    private static SipParseResult Parse(string s, SipFraming framing = SipFraming.Datagram, SipParserLimits? limits = null) =>
        SipParser.Parse(Encoding.UTF8.GetBytes(s), framing, limits);

    private static SipMessage Ok(string s)
    {
        var r = Parse(s);
        Assert.True(r.Success, $"{r.Error}: {r.Detail}");
        return r.Message!;
    }

    [Fact]
    public void Parses_request_line_headers_in_order_and_body()
    {
        var m = Ok(Base + "Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n");
        Assert.Equal(new SipRequestLine("INVITE", "sip:bob@example.com", "SIP/2.0"), m.RequestLine);
        Assert.Equal(["Via", "Max-Forwards", "To", "From", "Call-ID", "CSeq", "Contact", "Content-Type", "Content-Length"], m.Headers.Select(h => h.Name));
        Assert.Equal("v=0\n", Encoding.ASCII.GetString(m.Body.Span));
    }

    [Fact]
    public void Parses_status_line_with_empty_reason()
    {
        var r = Parse(Base.Replace("INVITE sip:bob@example.com SIP/2.0", "SIP/2.0 100 ") + "\r\n");
        Assert.True(r.Success, r.Detail);
        Assert.Equal(new SipStatusLine("SIP/2.0", 100, ""), r.Message!.StatusLine);
    }

    [Theory]
    [InlineData("i", "Call-ID")]
    [InlineData("m", "Contact")]
    [InlineData("f", "From")]
    [InlineData("t", "To")]
    [InlineData("v", "Via")]
    [InlineData("l", "Content-Length")]
    [InlineData("c", "Content-Type")]
    [InlineData("k", "Supported")]
    [InlineData("s", "Subject")]
    [InlineData("e", "Content-Encoding")]
    [InlineData("o", "Event")]
    [InlineData("u", "Allow-Events")]
    [InlineData("r", "Refer-To")]
    [InlineData("b", "Referred-By")]
    [InlineData("x", "Session-Expires")]
    [InlineData("I", "Call-ID")]
    public void Compact_forms_are_normalised(string compact, string full) =>
        Assert.Equal(full, SipHeaderNames.Normalize(compact));

    [Fact]
    public void Header_names_are_case_insensitive_and_respelled()
    {
        var m = Ok(Base.Replace("Call-ID:", "cAlL-iD:").Replace("CSeq:", "cseq :") + "\r\n");
        Assert.Equal("a84b4c76e66710@pc33.example.com", m.CallId);
        Assert.Equal(new SipCSeq(314159, "INVITE"), m.CSeq);
        Assert.Contains(m.Headers, h => h.Name == "Call-ID");
        Assert.Equal("a84b4c76e66710@pc33.example.com", m.GetFirst("i"));
    }

    [Fact]
    public void Folded_lines_are_joined()
    {
        var m = Ok(Base.Replace("CSeq: 314159 INVITE", "CSeq: 314159\r\n   \tINVITE").Replace("Subject", "") + "Subject: I know\r\n you're there\r\n\r\n");
        Assert.Equal(new SipCSeq(314159, "INVITE"), m.CSeq);
        Assert.Equal("I know you're there", m.GetFirst("Subject"));
    }

    [Fact]
    public void Comma_lists_split_outside_quotes_and_brackets()
    {
        var m = Ok(Base.Replace("Contact: <sip:alice@pc33.example.com>;expires=60",
            "Contact: \"Doe, John\" <sip:a@h.example.com;x=1,2>, <sip:b@h.example.com>;expires=5") + "Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>\r\n\r\n");
        var contacts = m.Contacts!;
        Assert.Equal(2, contacts.Count);
        Assert.Equal("Doe, John", contacts[0].DisplayName);
        Assert.Equal("sip:a@h.example.com;x=1,2", contacts[0].Uri);
        Assert.Equal(5u, contacts[1].Expires);
        Assert.Equal(2, m.GetValues("Route").Count());
    }

    [Fact]
    public void From_is_not_split_at_commas()
    {
        var m = Ok(Base.Replace("From: \"Alice \\\"A\\\"\"", "From: \"Smith, Alice\"") + "\r\n");
        Assert.Equal("Smith, Alice", m.From!.DisplayName);
    }

    [Fact]
    public void Quoted_display_name_escapes_are_decoded()
    {
        var m = Ok(Base + "\r\n");
        Assert.Equal("Alice \"A\"", m.From!.DisplayName);
        Assert.Equal("1928301774", m.From.Tag);
        Assert.Equal("Bob", m.To!.DisplayName);
        Assert.Null(m.To.Tag);
    }

    [Fact]
    public void Udp_body_is_rest_of_datagram_without_content_length()
    {
        var m = Ok(Base + "\r\nhello");
        Assert.Equal("hello", Encoding.ASCII.GetString(m.Body.Span));
    }

    [Fact]
    public void Udp_content_length_shorter_than_datagram_truncates_body()
    {
        var m = Ok(Base + "Content-Length: 2\r\n\r\nhello");
        Assert.Equal("he", Encoding.ASCII.GetString(m.Body.Span));
    }

    [Theory]
    [InlineData("Content-Length: 6\r\n\r\nhello", SipFraming.Datagram)]
    [InlineData("Content-Length: -1\r\n\r\nhello", SipFraming.Datagram)]
    [InlineData("Content-Length: x\r\n\r\n", SipFraming.Datagram)]
    [InlineData("\r\nhello", SipFraming.Stream)]
    public void Bad_content_length_is_reported_with_the_headers_kept_for_a_400(string tail, SipFraming framing)
    {
        var r = Parse(Base + tail, framing);
        Assert.Equal(SipParseError.InvalidContentLength, r.Error);
        Assert.NotNull(r.Message);
        Assert.True(r.Message!.Body.IsEmpty);
    }

    [Fact]
    public void Crlf_keep_alives_are_ignored()
    {
        Assert.Equal(SipParseError.KeepAlive, Parse("\r\n\r\n").Error);
        Assert.True(Parse("\r\n\r\n" + Base + "\r\n").Success);
    }

    [Fact]
    public void Limits_bound_size_and_header_count()
    {
        Assert.Equal(SipParseError.TooLarge, Parse(Base + "\r\n", limits: new SipParserLimits(MaxMessageSize: 100)).Error);
        var many = string.Concat(Enumerable.Range(0, 20).Select(i => $"X-H{i}: v\r\n"));
        Assert.Equal(SipParseError.TooManyHeaders, Parse(Base + many + "\r\n", limits: new SipParserLimits(MaxHeaderCount: 20)).Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("INVITE sip:a@b SIP/2.0\r\n\r\n")]
    [InlineData("INVITE sip:a@b SIP/2.0\r\n : x\r\n\r\n")]
    [InlineData(" Via: x\r\n\r\n")]
    [InlineData("SIP/2.0 99 Low\r\n\r\n")]
    [InlineData("SIP/2.0 abc OK\r\n\r\n")]
    public void Garbage_gives_a_reason_not_an_exception(string input)
    {
        var r = Parse(input);
        Assert.False(r.Success);
        Assert.False(string.IsNullOrEmpty(r.Detail));
    }

    [Fact]
    public void Semantic_error_keeps_message_for_a_400()
    {
        var r = Parse(Base.Replace("CSeq: 314159 INVITE", "CSeq: 314159 BYE") + "\r\n");
        Assert.Equal(SipParseError.CSeqMethodMismatch, r.Error);
        Assert.NotNull(r.Message);
        Assert.Equal("a84b4c76e66710@pc33.example.com", r.Message!.CallId);
    }

    [Fact]
    public void Unsupported_version_is_its_own_error()
    {
        Assert.Equal(SipParseError.UnsupportedVersion, Parse(Base.Replace("SIP/2.0\r\nVia", "SIP/3.0\r\nVia") + "\r\n").Error);
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var rng = new Random(4475);
        var seed = Encoding.UTF8.GetBytes(Base + "Content-Length: 3\r\n\r\nabc");
        for (var n = 0; n < 5000; n++)
        {
            var buf = (byte[])seed.Clone();
            for (var k = 0; k < 4; k++)
            {
                buf[rng.Next(buf.Length)] = (byte)rng.Next(256);
            }
            var r = SipParser.Parse(buf);
            if (r.Success)
            {
                Assert.True(SipParser.Parse(SipWriter.Write(r.Message!)).Success);
            }
        }
    }
}
