
namespace Lineup.Sip.Tests;

public sealed class SipHeaderTests
{
    [Fact]
    public void Via_with_branch_received_and_rport()
    {
        Assert.True(SipVia.TryParse("SIP / 2.0 / UDP  [2001:db8::9]:5061 ; branch=z9hG4bK77 ;received=192.0.2.1;rport=5070", out var v));
        Assert.Equal(("SIP", "2.0", "UDP"), (v.Protocol, v.Version, v.Transport));
        Assert.Equal("[2001:db8::9]", v.Host);
        Assert.Equal(5061, v.Port);
        Assert.Equal("z9hG4bK77", v.Branch);
        Assert.True(v.HasRfc3261Branch);
        Assert.Equal("192.0.2.1", v.Received);
        Assert.True(v.HasRport);
        Assert.Equal(5070, v.Rport);
    }

    [Fact]
    public void Via_with_empty_rport_asks_for_it()
    {
        Assert.True(SipVia.TryParse("SIP/2.0/TCP host.example.com;rport;branch=z9hG4bKx", out var v));
        Assert.True(v.HasRport);
        Assert.Null(v.Rport);
        Assert.Null(v.Port);
    }

    [Theory]
    [InlineData("SIP/2.0/UDP")]
    [InlineData("SIP/2.0 UDP host")]
    [InlineData("SIP/2.0/UDPhost")]
    [InlineData("SIP/2.0/UDP host;;")]
    [InlineData("SIP/2.0/UDP host:99999")]
    [InlineData("SIP/2.0/UDP host;branch=")]
    public void Bad_via_is_refused(string value) => Assert.False(SipVia.TryParse(value, out _));

    [Fact]
    public void Name_address_forms()
    {
        Assert.True(SipNameAddress.TryParse("sip:a@example.com;tag=x", out var bare));
        Assert.Null(bare.DisplayName);
        Assert.Equal("x", bare.Tag);
        Assert.Equal("a", bare.SipUri!.User);

        Assert.True(SipNameAddress.TryParse("Mr  Watson <sip:w@example.com;transport=tcp> ; tag = 9", out var named));
        Assert.Equal("Mr  Watson", named.DisplayName);
        Assert.Equal("9", named.Tag);
        Assert.Equal("tcp", named.SipUri!.Parameter("transport")!.Value);

        Assert.True(SipNameAddress.TryParse("<tel:+15551234>", out var tel));
        Assert.Null(tel.SipUri);
        Assert.Equal("tel:+15551234", tel.Uri);

        Assert.True(SipNameAddress.TryParse("*", out var star, allowWildcard: true));
        Assert.True(star.IsWildcard);
        Assert.False(SipNameAddress.TryParse("*", out _));
    }

    [Theory]
    [InlineData("\"unterminated <sip:a@b>")]
    [InlineData("Bell, Alexander <sip:a@b>")]
    [InlineData("< sip:a@b >")]
    [InlineData("sip:a@b?Route=x")]
    [InlineData("<sip:a@b")]
    public void Bad_name_address_is_refused(string value) => Assert.False(SipNameAddress.TryParse(value, out _));

    [Fact]
    public void Contact_expires_is_delta_seconds()
    {
        Assert.True(SipNameAddress.TryParse("<sip:a@b>;expires=3600", out var c));
        Assert.Equal(3600u, c.Expires);
        Assert.True(SipNameAddress.TryParse("<sip:a@b>;expires=280297596632815", out var big));
        Assert.Null(big.Expires);
    }

    [Theory]
    [InlineData("1 INVITE", 1u, "INVITE")]
    [InlineData("0009   ACK", 9u, "ACK")]
    [InlineData("2147483647 BYE", 2147483647u, "BYE")]
    public void CSeq_parses(string value, uint number, string method)
    {
        Assert.True(SipCSeq.TryParse(value, out var c));
        Assert.Equal(new SipCSeq(number, method), c);
    }

    [Theory]
    [InlineData("2147483648 INVITE")]
    [InlineData("INVITE")]
    [InlineData("1INVITE")]
    [InlineData("1 IN VITE")]
    public void Bad_cseq_is_refused(string value) => Assert.False(SipCSeq.TryParse(value, out _));

    [Fact]
    public void Content_type_with_parameters()
    {
        Assert.True(SipContentType.TryParse("multipart/mixed ; boundary=\"a b\"", out var ct));
        Assert.Equal("multipart/mixed", ct.MediaType);
        Assert.Equal("a b", ct.Parameters[0].Value);
        Assert.False(SipContentType.TryParse("text", out _));
    }
}
