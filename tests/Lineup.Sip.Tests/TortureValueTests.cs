namespace Lineup.Sip.Tests;

/// <summary>What the RFC 4475 messages must parse to, beyond being accepted.</summary>
public sealed class TortureValueTests
{
    /// <summary>An RFC 4475 vector (Vectors/4475/<paramref name="name"/>.sip), parsed; it must be accepted.</summary>
    internal static SipMessage Load(string name)
    {
        var r = SipParser.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Vectors", "4475", name + ".sip")));
        Assert.True(r.Success, r.Detail);
        return r.Message!;
    }

    [Fact]
    public void Wsinv_whitespace_folding_and_escapes()
    {
        var m = Load("wsinv");
        Assert.Equal("1918181833n", m.To!.Tag);
        Assert.Equal("sip:vivekg@chair-dnrc.example.com", m.To.Uri);
        Assert.Equal("J Rosenberg \\\"", m.From!.DisplayName);
        Assert.Equal("98asjd8", m.From.Tag);
        Assert.Equal(68, m.MaxForwards);
        Assert.Equal(new SipCSeq(9, "INVITE"), m.CSeq);
        Assert.Equal(["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"], m.Vias!.Select(v => v.Branch));
        Assert.Equal("spindle.example.com", m.Vias![1].Host);
        Assert.Equal("", m.GetFirst("Subject"));
        Assert.Equal("newfangled value continued newfangled value", m.GetFirst("newfangledheader"));
        var contact = Assert.Single(m.Contacts!);
        Assert.Equal("Quoted string \"\"", contact.DisplayName);
        Assert.Equal("newvalue", contact.Parameters[0].Value);
        Assert.Equal("0.33", contact.Parameters[2].Value);
        Assert.Equal(150, m.Body.Length);
    }

    [Fact]
    public void Esc01_and_escnull_decode_escapes()
    {
        var m = Load("esc01");
        Assert.Equal("user", m.To!.SipUri!.User);
        Assert.Equal("I have spaces", m.From!.SipUri!.User);
        var c = m.Contacts![0].SipUri!;
        Assert.Equal("caller", c.User);
        Assert.Equal("lr", c.Parameters[0].Name);
        Assert.Equal("value%41", c.Parameter("name")!.Value);

        var n = Load("escnull");
        Assert.Equal("null-\0-null", n.To!.SipUri!.User);
        Assert.Equal(["\0", "\0\0"], n.Contacts!.Select(x => x.SipUri!.User));
    }

    [Fact]
    public void Esc02_percent_in_method_and_header_name_is_not_an_escape()
    {
        var m = Load("esc02");
        Assert.Equal("RE%47IST%45R", m.RequestLine!.Method);
        Assert.Equal("%Z%45", m.To!.DisplayName);
        Assert.Equal(2, m.Contacts!.Count);
        Assert.Equal("<sip:alias2@host2.example.com>", m.GetFirst("C%6Fntact"));
    }

    [Fact]
    public void Dblreq_ignores_octets_after_the_body()
    {
        var m = Load("dblreq");
        Assert.Equal("REGISTER", m.RequestLine!.Method);
        Assert.Equal(0, m.Body.Length);
    }

    [Fact]
    public void Semiuri_and_transports_and_longreq()
    {
        var s = Load("semiuri");
        Assert.True(SipUri.TryParse(s.RequestLine!.RequestUri, out var uri));
        Assert.Equal("user;par=u@example.net", uri.User);
        Assert.Equal(6, s.GetValues("Accept").Count());

        Assert.Equal(["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"], Load("transports").Vias!.Select(v => v.Transport));

        var l = Load("longreq");
        Assert.Equal(34, l.Vias!.Count);
        Assert.Equal("192.0.2.5", l.Vias![^1].Received);
        Assert.Equal(6000, l.To!.SipUri!.Port);
    }

    [Fact]
    public void Mpart01_binary_body_with_nulls_is_framed_by_content_length()
    {
        var m = Load("mpart01");
        Assert.Equal(553, m.Body.Length);
        Assert.Contains((byte)0, m.Body.ToArray());
        Assert.Equal("multipart/mixed", m.ContentType!.MediaType);
        Assert.Equal("7a9cbec02ceef655", m.ContentType.Parameters[0].Value);
        Assert.True(m.TopVia!.HasRport);
    }

    [Fact]
    public void Unknown_schemes_and_extensions_parse_for_the_application_to_refuse()
    {
        Assert.Equal("nobodyKnowsThisScheme:totallyopaquecontent", Load("unkscm").RequestLine!.RequestUri);
        var unksm2 = Load("unksm2");
        Assert.Null(unksm2.To!.SipUri);
        Assert.Equal("isbn:2983792873", unksm2.To.Uri);
        Assert.Equal("name:John_Smith", unksm2.Contacts![0].Uri);
        Assert.Equal(["nothingSupportsThis", "nothingSupportsThisEither"], Load("bext01").GetValues("Require"));
        Assert.Equal("application/unknownformat", Load("invut").ContentType!.MediaType);
    }

    [Fact]
    public void Application_layer_vectors_parse_to_what_the_rfc_describes()
    {
        // §3.3.3: a scheme other than sip is kept for the application (416).
        Assert.Equal("soap.beep://192.0.2.103:3002", Load("novelsc").RequestLine!.RequestUri);
        // §3.3.7: an Authorization the registrar cannot read.
        Assert.Equal("NoOneKnowsThisScheme opaque-data=here", Load("regaut01").GetFirst("Authorization"));
        // §3.3.10: a response whose second Via is the broadcast address.
        var bcast = Load("bcast");
        Assert.Equal(200, bcast.StatusLine!.StatusCode);
        Assert.Equal(["192.0.2.198", "255.255.255.255"], bcast.Vias!.Select(v => v.Host));
        // §3.3.11: Max-Forwards 0.
        Assert.Equal(0, Load("zeromf").MaxForwards);
        // §3.3.12/13: a parameter after a bare URI is the header's; inside angle brackets, the URI's.
        var c1 = Assert.Single(Load("cparam01").Contacts!);
        Assert.Equal(["unknownparam"], c1.Parameters.Select(p => p.Name));
        Assert.Empty(c1.SipUri!.Parameters);
        var c2 = Assert.Single(Load("cparam02").Contacts!);
        Assert.Empty(c2.Parameters);
        Assert.Equal(["unknownparam"], c2.SipUri!.Parameters.Select(p => p.Name));
        // §3.3.14: an escaped header in the Contact URI, decoded.
        Assert.Equal([new KeyValuePair<string, string>("Route", "<sip:sip.example.com>")], Assert.Single(Load("regescrt").Contacts!).SipUri!.Headers);
        // §3.3.15: an Accept the answer cannot meet (the application answers 406).
        Assert.Equal("text/nobodyKnowsThis", Load("sdp01").GetFirst("Accept"));
    }

    [Fact]
    public void Inv2543_rfc2543_syntax_is_accepted()
    {
        var m = Load("inv2543");
        var via = Assert.Single(m.Vias!);
        Assert.Null(via.Branch); // no RFC 3261 branch: transactions are matched the RFC 2543 way (§17.2.3)
        Assert.Equal("iftgw.example.com", via.Host);
        Assert.Null(m.MaxForwards);
        Assert.Null(m.GetFirst("Content-Length"));
        Assert.Equal(105, m.Body.Length); // over UDP the body is the rest of the datagram
        // Without angle brackets ";user=phone" belongs to the To header; inside them (From), to the URI (RFC 3261 §20).
        Assert.Equal([new SipParameter("user", "phone")], m.To!.Parameters.Where(p => p.Name != "tag"));
        Assert.Equal("phone", m.From!.SipUri!.Parameter("user")!.Value);
    }

    [Fact]
    public void Unreason_keeps_a_utf8_reason_phrase()
    {
        var m = Load("unreason");
        Assert.Equal(new SipStatusLine("SIP/2.0", 200, "= 2**3 * 5**2 но сто девяносто девять - простое"), m.StatusLine);
        Assert.Equal(154, m.Body.Length);
    }

    [Fact]
    public void Noreason_has_an_empty_reason_phrase()
    {
        Assert.Equal(new SipStatusLine("SIP/2.0", 100, ""), Load("noreason").StatusLine);
    }
}

public sealed class TortureIntmethTests
{
    [Fact]
    public void Intmeth_wide_range_of_valid_characters()
    {
        var r = SipParser.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Vectors", "4475", "intmeth.sip")));
        Assert.True(r.Success, r.Detail);
        var m = r.Message!;
        Assert.Equal("!interesting-Method0123456789_*+`.%indeed'~", m.RequestLine!.Method);
        Assert.True(SipUri.TryParse(m.RequestLine.RequestUri, out var uri));
        Assert.Equal("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*", uri.User);
        Assert.Equal("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)", uri.Password);
        Assert.Equal("BEL:\a NUL:\0 DEL:\u007f", m.To!.DisplayName);
        Assert.Equal("token1~` token2'+_ token3*%!.-", m.From!.DisplayName);
        Assert.Equal("работающий", m.From.Parameters[0].Value);
        Assert.Equal("_token~1'+`*%!-.", m.From.Tag);
        Assert.Equal("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{", m.CallId);
        Assert.Equal("\uFEFF大停電", m.GetFirst("extensionHeader-!.%*+_`'~"));
    }

    [Theory]
    [InlineData("Subject: bell\a\r\n")]
    [InlineData("Subject: \"quoted \a bell\"\r\n")]
    public void Bare_control_characters_are_refused(string header)
    {
        var text = "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\nTo: <sip:a@example.com>\r\n" +
                   "From: <sip:b@example.com>;tag=1\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n" + header + "\r\n";
        Assert.False(SipParser.Parse(System.Text.Encoding.UTF8.GetBytes(text)).Success);
    }
}
