using Lineup.Sip.Registrar;
using Microsoft.Extensions.Time.Testing;

namespace Lineup.Sip.Tests.Registrar;

public sealed class DigestTests
{
    // RFC 7616 §3.9.1: the same request with MD5 and with SHA-256.
    private const string Nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    private const string Cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    [Theory]
    [InlineData(DigestAlgorithm.Md5, "8ca523f5e9506fed4657c9700eebdbec")]
    [InlineData(DigestAlgorithm.Sha256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")]
    public void Rfc7616_example_responses(DigestAlgorithm algorithm, string expected)
    {
        var ha1 = DigestAuthenticator.Ha1(algorithm, "Mufasa", "http-auth@example.org", "Circle of Life");
        Assert.Equal(expected, DigestAuthenticator.Response(algorithm, ha1, Nonce, "00000001", Cnonce, "auth", "GET", "/dir/index.html"));
    }

    [Fact]
    public void Rfc7616_example_authorization_header_parses()
    {
        var header = "Digest username=\"Mufasa\",\r\n realm=\"http-auth@example.org\", uri=\"/dir/index.html\", algorithm=SHA-256, " +
            $"nonce=\"{Nonce}\", nc=00000001, cnonce=\"{Cnonce}\", qop=auth, " +
            "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
        Assert.True(SipDigestCredentials.TryParse(header.Replace("\r\n", "", StringComparison.Ordinal), out var c));
        Assert.Equal("Mufasa", c.Username);
        Assert.Equal("http-auth@example.org", c.Realm);
        Assert.Equal("/dir/index.html", c.Uri);
        Assert.Equal("SHA-256", c.Algorithm);
        Assert.Equal(Nonce, c.Nonce);
        Assert.Equal(1u, c.NonceCountValue);
        Assert.Equal("auth", c.Qop);
        Assert.Equal("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", c.Opaque);
    }

    [Fact]
    public void Sip_credential_holds_both_ha1_values()
    {
        var c = SipCredential.Create("1001", "acme", "secret-pw");
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("1001:acme:secret-pw"u8)), c.Ha1Md5);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("1001:acme:secret-pw"u8)), c.Ha1Sha256);
    }

    [Theory]
    [InlineData("Digest username=\"a\\\"b\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\"", "a\"b")]
    [InlineData("digest   USERNAME = \"u\" ,realm=r,nonce=n,uri=\"sip:x\",response=00,,", "u")]
    public void Parses_escapes_case_and_spacing(string header, string username)
    {
        Assert.True(SipDigestCredentials.TryParse(header, out var c));
        Assert.Equal(username, c.Username);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Digest")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Digest username=\"u\"")]
    [InlineData("Digest username=\"u, realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\"")]
    [InlineData("Digest username=\"u\", username=\"v\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\"")]
    [InlineData("Digest username=\"u\" realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\"")]
    [InlineData("Digest username=, realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\"")]
    [InlineData("Digest =\"u\", realm=\"r\"")]
    [InlineData("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\", qop=auth")]
    [InlineData("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\", qop=auth, nc=1, cnonce=\"c\"")]
    [InlineData("Digest username=\"u\\")]
    [InlineData("Digest username=\"u\u0001\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\"")]
    public void Malformed_authorization_is_refused(string header) =>
        Assert.False(SipDigestCredentials.TryParse(header, out _));

    [Fact]
    public void Parser_never_throws_on_random_or_truncated_input()
    {
        const string good = "Digest username=\"1001\", realm=\"acme\", nonce=\"abc\", uri=\"sip:acme\", response=\"0123\", " +
            "algorithm=MD5, cnonce=\"x\\\"y\", qop=auth, nc=00000001, opaque=\"o\"";
        for (var n = 0; n <= good.Length; n++)
        {
            SipDigestCredentials.TryParse(good.AsSpan(0, n), out _);
        }
        var random = new Random(7616);
        const string alphabet = "Digest usernamrlocq=\", \\\t\r\n0123456789abcdef\u0000\u00e9";
        for (var k = 0; k < 20_000; k++)
        {
            var chars = new char[random.Next(0, 120)];
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = alphabet[random.Next(alphabet.Length)];
            }
            var text = random.Next(3) == 0 ? "Digest " + new string(chars) : new string(chars);
            SipDigestCredentials.TryParse(text, out _);
        }
        Assert.False(SipDigestCredentials.TryParse(new string('a', SipDigestCredentials.MaxLength + 1), out _));
    }

    [Fact]
    public void Nonces_expire_and_forged_ones_are_stale()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var digest = new DigestAuthenticator(time, TimeSpan.FromMinutes(5));
        var credential = SipCredential.Create("1001", "acme", "secret-pw");
        SipDigestCredentials Sign(string nonce, string nc) => new("1001", "acme", nonce, "sip:acme", DigestAuthenticator.Response(
            DigestAlgorithm.Md5, credential.Ha1Md5, nonce, nc, "c", "auth", "REGISTER", "sip:acme"), "MD5", "c", "auth", nc, null, false);

        var nonce = digest.CreateNonce("acme");
        Assert.Equal(DigestOutcome.Ok, digest.Verify(Sign(nonce, "00000001"), "REGISTER", "sip:acme", "acme", credential));
        Assert.Equal(DigestOutcome.Replay, digest.Verify(Sign(nonce, "00000001"), "REGISTER", "sip:acme", "acme", credential));
        Assert.Equal(DigestOutcome.Ok, digest.Verify(Sign(nonce, "00000002"), "REGISTER", "sip:acme", "acme", credential));
        // Another realm's nonce, another process's nonce, garbage: stale (the password was right).
        Assert.Equal(DigestOutcome.Stale, digest.Verify(Sign(digest.CreateNonce("other"), "00000001"), "REGISTER", "sip:acme", "acme", credential));
        var otherProcess = new DigestAuthenticator(time, TimeSpan.FromMinutes(5));
        Assert.Equal(DigestOutcome.Stale, digest.Verify(Sign(otherProcess.CreateNonce("acme"), "00000001"), "REGISTER", "sip:acme", "acme", credential));
        Assert.Equal(DigestOutcome.Stale, digest.Verify(Sign("not-a-nonce", "00000001"), "REGISTER", "sip:acme", "acme", credential));
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(DigestOutcome.Stale, digest.Verify(Sign(nonce, "00000003"), "REGISTER", "sip:acme", "acme", credential));
        // Counts of expired nonces are forgotten at the next check.
        Assert.Equal(DigestOutcome.Ok, digest.Verify(Sign(digest.CreateNonce("acme"), "00000001"), "REGISTER", "sip:acme", "acme", credential));
        Assert.Equal(1, digest.TrackedNonces);
    }

    [Fact]
    public void Nonce_count_memory_is_bounded_and_forgotten_nonces_are_stale()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var digest = new DigestAuthenticator(time, TimeSpan.FromMinutes(5), maxTrackedNonces: 3);
        var credential = SipCredential.Create("1001", "acme", "secret-pw");
        SipDigestCredentials Sign(string nonce) => new("1001", "acme", nonce, "sip:acme", DigestAuthenticator.Response(
            DigestAlgorithm.Md5, credential.Ha1Md5, nonce, "00000001", "c", "auth", "REGISTER", "sip:acme"), null, "c", "auth", "00000001", null, false);
        var first = digest.CreateNonce("acme");
        Assert.Equal(DigestOutcome.Ok, digest.Verify(Sign(first), "REGISTER", "sip:acme", "acme", credential));
        for (var i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            Assert.Equal(DigestOutcome.Ok, digest.Verify(Sign(digest.CreateNonce("acme")), "REGISTER", "sip:acme", "acme", credential));
        }
        Assert.Equal(3, digest.TrackedNonces);
        // Its count was forgotten, so a replay of its first use cannot be told apart: stale, never Ok.
        Assert.Equal(DigestOutcome.Stale, digest.Verify(Sign(first), "REGISTER", "sip:acme", "acme", credential));
    }

    [Fact]
    public void Wrong_password_unknown_user_uri_mismatch_and_unsupported_algorithms()
    {
        var time = new FakeTimeProvider();
        var digest = new DigestAuthenticator(time, TimeSpan.FromMinutes(5));
        var right = SipCredential.Create("1001", "acme", "secret-pw");
        var wrong = SipCredential.Create("1001", "acme", "guess");
        var nonce = digest.CreateNonce("acme");
        SipDigestCredentials Sign(SipCredential c, string uri = "sip:acme", string? algorithm = null, string qop = "auth") => new("1001", "acme", nonce, uri,
            DigestAuthenticator.Response(DigestAlgorithm.Md5, c.Ha1Md5, nonce, "00000001", "c", qop, "REGISTER", uri), algorithm, "c", qop, "00000001", null, false);
        Assert.Equal(DigestOutcome.WrongResponse, digest.Verify(Sign(wrong), "REGISTER", "sip:acme", "acme", right));
        Assert.Equal(DigestOutcome.UnknownUser, digest.Verify(Sign(right), "REGISTER", "sip:acme", "acme", null));
        Assert.Equal(DigestOutcome.UriMismatch, digest.Verify(Sign(right, "sip:other"), "REGISTER", "sip:acme", "acme", right));
        Assert.Equal(DigestOutcome.Unsupported, digest.Verify(Sign(right, algorithm: "MD5-sess"), "REGISTER", "sip:acme", "acme", right));
        Assert.Equal(DigestOutcome.Unsupported, digest.Verify(Sign(right, qop: "auth-int"), "REGISTER", "sip:acme", "acme", right));
        // The digest-uri may differ from the Request-URI in the case of its host.
        Assert.Equal(DigestOutcome.Ok, digest.Verify(Sign(right, "sip:ACME"), "REGISTER", "sip:acme", "acme", right));
    }
}
