using System.Net;
using Lineup.Sip.Registrar;
using Lineup.Sip.Transport;
using Microsoft.Extensions.Time.Testing;

namespace Lineup.Sip.Tests.Registrar;

public sealed class SipRegistrarTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly Credentials _credentials = new Credentials().Add("acme", "1001", "secret-pw").Add("acme", "1002", "other-pw");
    private readonly SipRegistrar _registrar;
    private readonly AuthThrottle _throttle;
    private readonly List<(string Realm, string User)> _changes = [];

    public SipRegistrarTests()
    {
        _throttle = new AuthThrottle(new AuthThrottleOptions(MaxFailures: 3), _time);
        _registrar = new SipRegistrar(new SipRegistrarOptions { MaxBindingsPerAor = 3 }, _time, _credentials, _throttle);
        _registrar.BindingsChanged += (realm, user) => _changes.Add((realm, user));
    }

    public void Dispose() => _registrar.Dispose();

    private SipMessage Send(Phone phone, SipMessage register) => _registrar.Handle(register, phone.Remote, "acme");

    /// <summary>Challenge, then the authorized REGISTER; returns the final answer.</summary>
    private SipMessage Register(Phone phone, string? contacts = null, uint? expires = null, string algorithm = "MD5")
    {
        var challenge = Send(phone, phone.Register(contacts, expires, authorize: false));
        phone.Learn(challenge, algorithm);
        return Send(phone, phone.Register(contacts, expires));
    }

    private static int Status(SipMessage m) => m.StatusLine!.StatusCode;

    [Theory]
    [InlineData("MD5")]
    [InlineData("SHA-256")]
    public void Challenge_then_register_then_200_with_the_binding(string algorithm)
    {
        var phone = new Phone("1001", "secret-pw");
        var challenge = Send(phone, phone.Register(authorize: false));
        Assert.Equal(401, Status(challenge));
        var offers = challenge.GetValues("WWW-Authenticate").ToList();
        Assert.Equal(2, offers.Count);
        Assert.Contains("algorithm=SHA-256", offers[0], StringComparison.Ordinal);
        Assert.Contains("realm=\"acme\"", offers[1], StringComparison.Ordinal);
        Assert.Contains("qop=\"auth\"", offers[1], StringComparison.Ordinal);
        Assert.NotNull(challenge.To!.Tag);

        phone.Learn(challenge, algorithm);
        var ok = Send(phone, phone.Register());
        Assert.Equal(200, Status(ok));
        Assert.Equal("<sip:1001@192.168.1.20:5060>;expires=3600", Assert.Single(ok.GetValues("Contact")));
        Assert.NotNull(ok.GetFirst("Date"));
        var binding = Assert.Single(_registrar.Lookup("acme", "1001"));
        Assert.Equal("sip:1001@192.168.1.20:5060", binding.ContactUri);
        Assert.Equal(phone.Remote, binding.Source); // reached where the REGISTER came from (NAT)
        Assert.Equal(_time.GetUtcNow().AddHours(1), binding.ExpiresAt);
        Assert.Equal([("acme", "1001")], _changes);
        Assert.Empty(_registrar.Lookup("other-tenant", "1001"));
    }

    [Fact]
    public void Rfc2069_client_without_qop_is_accepted()
    {
        var phone = new Phone("1001", "secret-pw");
        var challenge = Send(phone, phone.Register(authorize: false));
        var md5 = challenge.GetValues("WWW-Authenticate").Single(v => v.Contains("MD5", StringComparison.Ordinal));
        var start = md5.IndexOf("nonce=\"", StringComparison.Ordinal) + 7;
        var nonce = md5[start..md5.IndexOf('"', start)];
        var ha1 = DigestAuthenticator.Ha1(DigestAlgorithm.Md5, "1001", "acme", "secret-pw");
        var response = DigestAuthenticator.Response(DigestAlgorithm.Md5, ha1, nonce, null, null, null, "REGISTER", "sip:acme");
        var ok = Send(phone, phone.Register(authorization: $"Digest username=\"1001\", realm=\"acme\", nonce=\"{nonce}\", uri=\"sip:acme\", response=\"{response}\""));
        Assert.Equal(200, Status(ok));
    }

    [Fact]
    public void Stale_nonce_gets_a_new_challenge_with_stale_true()
    {
        var phone = new Phone("1001", "secret-pw");
        Assert.Equal(200, Status(Register(phone)));
        _time.Advance(TimeSpan.FromMinutes(6));
        var stale = Send(phone, phone.Register());
        Assert.Equal(401, Status(stale));
        Assert.All(stale.GetValues("WWW-Authenticate"), v => Assert.EndsWith("stale=true", v, StringComparison.Ordinal));
        phone.Learn(stale);
        Assert.Equal(200, Status(Send(phone, phone.Register())));
    }

    [Fact]
    public void Replayed_nonce_count_is_refused()
    {
        var phone = new Phone("1001", "secret-pw");
        Assert.Equal(200, Status(Register(phone)));
        var replay = Send(phone, phone.Register(nc: "00000001"));
        Assert.Equal(401, Status(replay));
        Assert.Contains("stale=true", replay.GetFirst("WWW-Authenticate"), StringComparison.Ordinal);
        Assert.Equal(200, Status(Send(phone, phone.Register(nc: "00000002"))));
    }

    [Fact]
    public void Wrong_password_and_unknown_user_get_the_same_401()
    {
        var wrong = new Phone("1001", "guess");
        var unknown = new Phone("9999", "secret-pw", address: "203.0.113.8:5060");
        var a = Register(wrong);
        var b = Register(unknown);
        Assert.Equal(401, Status(a));
        Assert.Equal(401, Status(b));
        Assert.DoesNotContain("stale", a.GetFirst("WWW-Authenticate"), StringComparison.Ordinal);
        Assert.Equal(a.StatusLine!.ReasonPhrase, b.StatusLine!.ReasonPhrase);
        Assert.Empty(_registrar.Lookup("acme", "1001"));
        Assert.Empty(_changes);
    }

    [Fact]
    public void Aor_of_another_user_is_forbidden()
    {
        var phone = new Phone("1001", "secret-pw");
        phone.Learn(Send(phone, phone.Register(authorize: false, aor: "1002")));
        var answer = Send(phone, phone.Register(aor: "1002"));
        Assert.Equal(403, Status(answer));
        Assert.Empty(_registrar.Lookup("acme", "1002"));
    }

    [Fact]
    public void Failures_from_one_source_are_throttled_and_others_are_not()
    {
        var attacker = new Phone("1001", "guess");
        Assert.Equal(401, Status(Register(attacker)));
        Assert.Equal(401, Status(Send(attacker, attacker.Register())));
        Assert.Equal(403, Status(Send(attacker, attacker.Register()))); // third failure
        // Now even the right password from that address is refused, and nothing is challenged.
        attacker.Password = "secret-pw";
        Assert.Equal(403, Status(Send(attacker, attacker.Register())));
        Assert.Equal(403, Status(Send(attacker, attacker.Register(authorize: false))));
        // Another source is unaffected.
        Assert.Equal(200, Status(Register(new Phone("1001", "secret-pw", address: "198.51.100.1:5060"))));
        // After the cool-down the source may try again.
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(200, Status(Register(attacker)));
    }

    [Fact]
    public void Throttle_memory_is_bounded()
    {
        var throttle = new AuthThrottle(new AuthThrottleOptions(MaxFailures: 2, MaxSources: 100), _time);
        for (var i = 0; i < 1000; i++)
        {
            throttle.RecordFailure(IPAddress.Parse($"10.0.{i / 256}.{i % 256}"), "acme", "u");
        }
        Assert.Equal(100, throttle.Count);
        Assert.False(throttle.IsBlocked(IPAddress.Parse("10.0.3.231"), "acme", "u"));
        Assert.True(throttle.RecordFailure(IPAddress.Parse("10.0.3.231"), "acme", "u")); // its second failure
        Assert.True(throttle.IsBlocked(IPAddress.Parse("::ffff:10.0.3.231"), "acme", "u")); // IPv4-mapped is the same source
        Assert.False(throttle.RecordFailure(IPAddress.Parse("10.0.0.0"), "acme", "u")); // forgotten: its first failure again
    }

    [Fact]
    public void A_phone_failing_from_an_address_does_not_block_another_user_behind_the_same_address()
    {
        var office = "203.0.113.7:5060";
        var misconfigured = new Phone("1001", "old-password", address: office);
        Assert.Equal(401, Status(Register(misconfigured)));
        Assert.Equal(401, Status(Send(misconfigured, misconfigured.Register())));
        Assert.Equal(403, Status(Send(misconfigured, misconfigured.Register()))); // its third failure: 1001 from here is blocked
        Assert.Equal(403, Status(Send(misconfigured, misconfigured.Register(authorize: false))));

        // The neighbour on the same NAT address registers normally, and keeps doing so.
        var neighbour = new Phone("1002", "other-pw", address: office.Replace(":5060", ":5062", StringComparison.Ordinal));
        Assert.Equal(200, Status(Register(neighbour)));
        Assert.Equal(200, Status(Register(neighbour)));
        Assert.Equal([new AuthBlock(IPAddress.Parse("203.0.113.7"), "acme", "1001", _time.GetUtcNow().AddMinutes(5))], _throttle.Blocked());

        // An administrator lifts the block; the fixed phone registers.
        Assert.True(_throttle.Unblock(IPAddress.Parse("203.0.113.7"), "acme", "1001"));
        Assert.False(_throttle.Unblock(IPAddress.Parse("203.0.113.7"), "acme", "1001"));
        misconfigured.Password = "secret-pw";
        Assert.Equal(200, Status(Register(misconfigured)));
        Assert.Empty(_throttle.Blocked());
    }

    [Fact]
    public void Failures_across_many_user_names_block_the_whole_address_as_a_last_resort()
    {
        var throttle = new AuthThrottle(new AuthThrottleOptions(MaxFailures: 3, MaxSourceFailures: 20), _time);
        var sprayer = IPAddress.Parse("198.51.100.9");
        var blocked = false;
        for (var i = 0; i < 20; i++)
        {
            blocked = throttle.RecordFailure(sprayer, "acme", $"user{i}"); // one failure per name: no pair reaches its limit
        }
        Assert.True(blocked);
        Assert.True(throttle.IsBlocked(sprayer, "other-realm", "anyone"));
        Assert.True(throttle.IsBlocked(sprayer, "acme", null));
        Assert.False(throttle.IsBlocked(IPAddress.Parse("198.51.100.10"), "acme", "anyone"));
        Assert.Equal(new AuthBlock(sprayer, null, null, _time.GetUtcNow().AddMinutes(5)), Assert.Single(throttle.Blocked()));
        Assert.True(throttle.Unblock(sprayer, null, null));
        Assert.False(throttle.IsBlocked(sprayer, "other-realm", "anyone"));
    }

    [Fact]
    public void Several_contacts_per_aor_are_listed_and_the_oldest_gives_way_over_the_limit()
    {
        var phone = new Phone("1001", "secret-pw");
        var ok = Register(phone, "<sip:1001@10.0.0.1>;expires=600, <sip:1001@10.0.0.2>");
        Assert.Equal(["<sip:1001@10.0.0.1>;expires=600", "<sip:1001@10.0.0.2>;expires=3600"], ok.GetValues("Contact"));
        var desk = new Phone("1001", "secret-pw", address: "198.51.100.2:5062");
        ok = Register(desk, "<sip:1001@10.0.0.3;transport=tcp>", expires: 1800);
        Assert.Equal(3, ok.GetValues("Contact").Count());
        var bindings = _registrar.Lookup("acme", "1001");
        Assert.Equal(["sip:1001@10.0.0.2", "sip:1001@10.0.0.3;transport=tcp", "sip:1001@10.0.0.1"], bindings.Select(b => b.ContactUri));
        Assert.Equal(desk.Remote, bindings[1].Source);
        // A fourth contact replaces the one closest to expiring.
        ok = Register(new Phone("1001", "secret-pw"), "<sip:1001@10.0.0.4>");
        Assert.DoesNotContain(ok.GetValues("Contact"), c => c.Contains("10.0.0.1", StringComparison.Ordinal));
        Assert.Equal(3, _registrar.Lookup("acme", "1001").Count);
        // More contacts in one request than allowed: 403.
        Assert.Equal(403, Status(Register(phone, "<sip:1001@10.0.1.1>, <sip:1001@10.0.1.2>, <sip:1001@10.0.1.3>, <sip:1001@10.0.1.4>")));
    }

    [Fact]
    public void Bindings_expire_by_timer_and_on_lookup()
    {
        var phone = new Phone("1001", "secret-pw");
        Register(phone, "<sip:1001@10.0.0.1>;expires=60, <sip:1001@10.0.0.2>;expires=120");
        _changes.Clear();
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(2, _registrar.Lookup("acme", "1001").Count);
        Assert.Empty(_changes);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([("acme", "1001")], _changes); // the timer fired at the first expiry
        Assert.Equal("sip:1001@10.0.0.2", Assert.Single(_registrar.Lookup("acme", "1001")).ContactUri);
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(2, _changes.Count);
        Assert.Empty(_registrar.Lookup("acme", "1001"));
        Assert.Equal(0, _registrar.AorCount);
    }

    [Fact]
    public void Refresh_moves_the_expiry_and_the_source()
    {
        var phone = new Phone("1001", "secret-pw");
        Register(phone, expires: 60);
        _time.Advance(TimeSpan.FromSeconds(50));
        _changes.Clear();
        phone.Remote = new SipRemote(SipTransportKind.Tcp, IPEndPoint.Parse("203.0.113.7:40000")); // NAT rebinding
        Assert.Equal(200, Status(Send(phone, phone.Register(expires: 60))));
        Assert.Single(_changes);
        _time.Advance(TimeSpan.FromSeconds(30)); // past the first expiry, before the new one
        var binding = Assert.Single(_registrar.Lookup("acme", "1001"));
        Assert.Equal(phone.Remote, binding.Source);
        Assert.Single(_changes);
    }

    [Fact]
    public void Unregister_one_contact_or_all_of_them()
    {
        var phone = new Phone("1001", "secret-pw");
        Register(phone, "<sip:1001@10.0.0.1>, <sip:1001@10.0.0.2>");
        var ok = Send(phone, phone.Register("<sip:1001@10.0.0.1>;expires=0"));
        Assert.Equal(200, Status(ok));
        Assert.Equal("<sip:1001@10.0.0.2>;expires=3600", Assert.Single(ok.GetValues("Contact")));

        Assert.Equal(400, Status(Send(phone, phone.Register("*"))));
        Assert.Equal(400, Status(Send(phone, phone.Register("*", expires: 60))));
        Assert.Equal(400, Status(Send(phone, phone.Register("*, <sip:1001@10.0.0.2>", expires: 0))));
        ok = Send(phone, phone.Register("*", expires: 0));
        Assert.Equal(200, Status(ok));
        Assert.Empty(ok.GetValues("Contact"));
        Assert.Empty(_registrar.Lookup("acme", "1001"));
    }

    [Fact]
    public void Query_without_contact_lists_the_bindings()
    {
        var phone = new Phone("1001", "secret-pw");
        Register(phone);
        _time.Advance(TimeSpan.FromSeconds(100));
        var ok = Send(phone, phone.Register(contacts: ""));
        Assert.Equal("<sip:1001@192.168.1.20:5060>;expires=3500", Assert.Single(ok.GetValues("Contact")));
    }

    [Fact]
    public void Too_brief_interval_gets_423_with_min_expires_and_long_ones_are_capped()
    {
        var phone = new Phone("1001", "secret-pw");
        var brief = Register(phone, expires: 30);
        Assert.Equal(423, Status(brief));
        Assert.Equal("60", brief.GetFirst("Min-Expires"));
        Assert.Empty(_registrar.Lookup("acme", "1001"));
        var ok = Send(phone, phone.Register("<sip:1001@10.0.0.1>;expires=86400"));
        Assert.Equal("<sip:1001@10.0.0.1>;expires=7200", Assert.Single(ok.GetValues("Contact")));
    }

    [Fact]
    public void Out_of_order_cseq_for_the_same_call_id_is_refused()
    {
        var phone = new Phone("1001", "secret-pw");
        Register(phone);
        Assert.Equal(400, Status(Send(phone, phone.Register(cseq: 1))));
        Assert.Equal(400, Status(Send(phone, phone.Register("*", expires: 0, cseq: 2))));
        Assert.Single(_registrar.Lookup("acme", "1001"));
        // A new Call-ID (the phone rebooted) may start again from 1.
        phone.CallId = "rebooted@phone";
        Assert.Equal(200, Status(Send(phone, phone.Register(cseq: 1))));
    }

    [Fact]
    public void Malformed_authorization_never_throws()
    {
        var phone = new Phone("1001", "secret-pw");
        string[] headers =
        [
            "Digest", "Digest username=\"1001\"", "Digest username=\"1001\", realm=\"acme\", nonce=\"x\", uri=\"sip:acme\", response=\"zz\"",
            "Digest username=\"1001\", realm=\"acme\", nonce=\"" + new string('A', 43) + "\", uri=\"sip:acme\", response=\"" + new string('\u00e9', 32) + "\"",
            "Digest username=\"1001\", realm=\"acme\", nonce=\"x\", uri=\"sip:acme\", response=\"00\", algorithm=\"SHA-512\"",
            "Basic MTAwMTpzZWNyZXQ=", "Digest realm=\"other\", username=\"1001\", nonce=\"x\", uri=\"sip:acme\", response=\"00\"",
        ];
        foreach (var h in headers)
        {
            var answer = Send(phone, phone.Register(authorization: h));
            Assert.Contains(Status(answer), new[] { 400, 401 });
        }
        Assert.Empty(_registrar.Lookup("acme", "1001"));
    }

    [Fact]
    public void A_full_registrar_answers_503_to_a_new_aor_and_keeps_serving_known_ones()
    {
        using var small = new SipRegistrar(new SipRegistrarOptions { MaxAors = 1 }, _time, _credentials,
            new AuthThrottle(new AuthThrottleOptions(), _time));
        SipMessage Register(Phone p)
        {
            p.Learn(small.Handle(p.Register(authorize: false), p.Remote, "acme"));
            return small.Handle(p.Register(), p.Remote, "acme");
        }
        var first = new Phone("1001", "secret-pw");
        Assert.Equal(200, Status(Register(first)));
        Assert.Equal(503, Status(Register(new Phone("1002", "other-pw"))));
        Assert.Equal(200, Status(small.Handle(first.Register("<sip:1001@10.0.0.9>"), first.Remote, "acme")));
        Assert.Equal(2, small.Lookup("acme", "1001").Count);
    }

    [Fact]
    public void Other_methods_get_405()
    {
        var invite = SipParser.Parse(System.Text.Encoding.UTF8.GetBytes(
            "INVITE sip:1001@acme SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:1001@acme>\r\n" +
            "Call-ID: x\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")).Message!;
        var answer = _registrar.Handle(invite, new Phone("1001", "secret-pw").Remote, "acme");
        Assert.Equal(405, Status(answer));
        Assert.Equal("REGISTER", answer.GetFirst("Allow"));
    }

    [Fact]
    public void Rfc4475_regaut01_unknown_authorization_scheme_is_challenged()
    {
        var answer = Send(new Phone("1001", "secret-pw"), TortureValueTests.Load("regaut01"));
        Assert.Equal(401, Status(answer)); // §3.3.7: never a 500, nor taken for credentials
        Assert.NotEmpty(answer.GetValues("WWW-Authenticate"));
        Assert.Empty(_registrar.Lookup("acme", "j.user"));
    }

    /// <summary>RFC 4475 §3.3.12-14: the Contact of cparam01, cparam02 and regescrt, registered by a phone that can
    /// authenticate. A parameter after a bare URI belongs to the header, inside angle brackets to the URI; an escaped
    /// URI header is kept as it is.</summary>
    [Theory]
    [InlineData("cparam01", "sip:+19725552222@gw1.example.net")]
    [InlineData("cparam02", "sip:+19725552222@gw1.example.net;unknownparam")]
    [InlineData("regescrt", "sip:user@example.com?Route=%3Csip:sip.example.com%3E")]
    public void Rfc4475_contact_parameters_and_escaped_headers_are_bound_as_written(string vector, string boundUri)
    {
        var contact = Assert.Single(TortureValueTests.Load(vector).GetValues("Contact"));
        var phone = new Phone("1001", "secret-pw");
        var ok = Register(phone, contact);
        Assert.Equal(200, Status(ok));
        Assert.Equal(boundUri, Assert.Single(_registrar.Lookup("acme", "1001")).ContactUri);
        Assert.StartsWith($"<{boundUri}>", Assert.Single(ok.GetValues("Contact")), StringComparison.Ordinal);
    }
}
