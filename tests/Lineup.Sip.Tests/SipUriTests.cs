
namespace Lineup.Sip.Tests;

public sealed class SipUriTests
{
    [Fact]
    public void Full_uri()
    {
        Assert.True(SipUri.TryParse("sips:alice:secr%65t@atlanta.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent", out var u));
        Assert.True(u.Secure);
        Assert.Equal("alice", u.User);
        Assert.Equal("secret", u.Password);
        Assert.Equal("atlanta.com", u.Host);
        Assert.Equal(5061, u.Port);
        Assert.Equal("tcp", u.Parameter("transport")!.Value);
        Assert.Null(u.Parameter("lr")!.Value);
        Assert.Equal([new("subject", "project x"), new("priority", "urgent")], u.Headers);
    }

    [Fact]
    public void IPv6_reference()
    {
        Assert.True(SipUri.TryParse("sip:[2001:db8::10]:5070", out var u));
        Assert.Equal("[2001:db8::10]", u.Host);
        Assert.True(u.IsIPv6Reference);
        Assert.Equal(5070, u.Port);
        Assert.Null(u.User);
    }

    [Fact]
    public void Escapes_in_user_including_null_and_semicolon_user()
    {
        Assert.True(SipUri.TryParse("sip:null-%00-null@example.com", out var u));
        Assert.Equal("null-\0-null", u.User);
        Assert.True(SipUri.TryParse("sip:user;par=u%40example.net@example.com", out var s));
        Assert.Equal("user;par=u@example.net", s.User);
        Assert.Equal("example.com", s.Host);
    }

    [Theory]
    [InlineData("http://example.com")]
    [InlineData("sip:")]
    [InlineData("sip:a@")]
    [InlineData("sip:a@b:70000")]
    [InlineData("sip:a%2@b")]
    [InlineData("sip:[::1")]
    [InlineData("sip:[nothex]")]
    [InlineData("sip:a b@c")]
    [InlineData("<sip:a@b>")]
    public void Bad_uri_is_refused(string s) => Assert.False(SipUri.TryParse(s, out _));
}
