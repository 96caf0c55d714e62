using System.Net;
using Lineup.Server.Telephony;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Lineup.Server.Tests;

/// <summary>The telephony endpoints with the SIP front-end off (the default), and the front-end's pure parts; calls
/// over real SIP are in Telephony/SipEndToEndTests.</summary>
public class TelephonyApiTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Registrations_are_empty_while_sip_is_off_and_need_a_supervisor()
    {
        await fx.Tenant.AgentAsync();
        var list = await fx.Tenant.Admin.OkAsync("/api/v1/sip/registrations");
        Assert.Equal(0, list.GetArrayLength());
        await fx.Anonymous().GetAsync("/api/v1/sip/registrations").ProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_sip_blocklist_is_for_administrators_and_validates_what_to_unblock()
    {
        Assert.Equal(0, (await fx.Tenant.Admin.OkAsync("/api/v1/sip/blocked")).GetArrayLength());
        var supervisor = await fx.Tenant.SupervisorAsync();
        await supervisor.GetAsync("/api/v1/sip/blocked").ProblemAsync(HttpStatusCode.Forbidden);
        await fx.Anonymous().GetAsync("/api/v1/sip/blocked").ProblemAsync(HttpStatusCode.Unauthorized);
        await fx.Tenant.Admin.DeleteAsync("/api/v1/sip/blocked").ProblemAsync(HttpStatusCode.BadRequest, "address");
        await fx.Tenant.Admin.DeleteAsync("/api/v1/sip/blocked?address=not-an-ip&username=1001").ProblemAsync(HttpStatusCode.BadRequest, "address");
        await fx.Tenant.Admin.DeleteAsync("/api/v1/sip/blocked?address=192.0.2.1&username=").ProblemAsync(HttpStatusCode.BadRequest, "username");
        await fx.Tenant.Admin.DeleteAsync("/api/v1/sip/blocked?address=192.0.2.1&username=1001").ProblemAsync(HttpStatusCode.NotFound);
        // A whole-address block may hold other tenants' phones: a tenant administrator cannot lift one.
        await fx.Tenant.Admin.DeleteAsync("/api/v1/sip/blocked?address=192.0.2.1").ProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Recording_of_an_unknown_or_other_tenants_call_is_404_and_of_an_unrecorded_call_404_saying_so()
    {
        var queue = await fx.Tenant.QueueAsync();
        var call = (await fx.Tenant.CallAsync(queue)).Long("id");
        var none = await (await fx.Tenant.Admin.GetAsync($"/api/v1/calls/{call}/recording")).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("no recording", none.Str("detail"), StringComparison.Ordinal);
        await fx.Tenant.Admin.GetAsync("/api/v1/calls/999999999999/recording").ProblemAsync(HttpStatusCode.NotFound);
        var other = await fx.CreateTenantAsync();
        var otherQueue = await other.QueueAsync();
        var otherCall = (await other.CallAsync(otherQueue)).Long("id");
        var cross = await (await fx.Tenant.Admin.GetAsync($"/api/v1/calls/{otherCall}/recording")).ProblemAsync(HttpStatusCode.NotFound);
        Assert.DoesNotContain("no recording", cross.Str("detail") ?? "", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(486, "AgentBusy")]
    [InlineData(600, "AgentBusy")]
    [InlineData(408, "AgentNoAnswer")]
    [InlineData(480, "AgentNoAnswer")]
    [InlineData(603, "AgentRejected")]
    [InlineData(404, "AgentRejected")]
    [InlineData(503, "AgentRejected")]
    public void Agent_failures_map_to_call_events(int status, string expected) =>
        Assert.Equal(expected, SipCall.Outcome(status).ToString());

    /// <summary>The options as the server gets them: bound, resolved and validated by AddTelephonyOptions.</summary>
    private static TelephonyOptions Load(IConfiguration config, string dataDir) =>
        new ServiceCollection().AddSingleton(config).AddTelephonyOptions(dataDir).BuildServiceProvider()
            .GetRequiredService<IOptions<TelephonyOptions>>().Value;

    [Theory]
    [InlineData("Sip:Listen", "nowhere:99999", "Sip:Listen")]
    [InlineData("Sip:Enabled", "maybe", "Sip:Enabled")]
    [InlineData("Sip:RtpPortMin", "70000", "Sip:RtpPortMin")]
    [InlineData("Sip:DigestAlgorithms", "MD5,SHA-1", "Sip:DigestAlgorithms")]
    [InlineData("Sip:PublicAddress", "lineup.example", "Sip:PublicAddress")]
    [InlineData("Sip:Srtp", "sometimes", "Sip:Srtp")]
    [InlineData("Sip:Srtp", "7", "Sip:Srtp")]
    [InlineData("Sip:SrtpQueues:700", "always", "Sip:SrtpQueues:700")]
    [InlineData("Sip:OutboundProxyTransport", "sctp", "Sip:OutboundProxyTransport")]
    [InlineData("Sip:Tls:Certificate", "/etc/lineup/sip.crt", "Sip:Tls:Key")]
    [InlineData("Sip:Tls:Pins", "abcd", "Sip:Tls:Pins")]
    [InlineData("Sip:Tls:CaFile", "/nonexistent/ca.pem", "Sip:Tls:CaFile")]
    public void A_bad_setting_stops_start_up_naming_the_key(string key, string value, string named)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        var e = Assert.ThrowsAny<Exception>(() => Load(config, "data"));
        Assert.True(e is InvalidOperationException or OptionsValidationException, e.ToString());
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_are_read_with_their_defaults()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sip:Enabled"] = "true",
            ["Sip:Listen"] = "127.0.0.1:5070",
            ["Sip:OutboundProxy"] = "127.0.0.1:5080",
            ["Sip:DigestAlgorithms"] = "SHA-256, MD5",
        }).Build();
        var o = Load(config, "/var/lib/lineup");
        Assert.True(o.Enabled);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5070), o.Listen);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5080), o.OutboundProxy);
        Assert.Equal(IPAddress.Loopback, o.Advertised());
        Assert.Equal([Lineup.Sip.Registrar.DigestAlgorithm.Sha256, Lineup.Sip.Registrar.DigestAlgorithm.Md5], o.DigestAlgorithms);
        Assert.Equal(Path.Combine("/var/lib/lineup", "recordings"), o.RecordingsPath);
        Assert.Equal((20000, 30000), (o.RtpPortMin, o.RtpPortMax));
        var defaults = Load(new ConfigurationBuilder().Build(), "data");
        Assert.False(defaults.Enabled);
        Assert.Equal([Lineup.Sip.Registrar.DigestAlgorithm.Md5], defaults.DigestAlgorithms);
        Assert.Equal(Lineup.Sip.Media.SrtpPolicy.Off, defaults.Srtp);
        Assert.False(defaults.TlsEnabled);
        Assert.Null(defaults.TlsOptions());
    }

    [Theory]
    [InlineData("sip:1001@192.0.2.7:5062", "Udp", "192.0.2.7:5062")]                // reachable as written
    [InlineData("sip:1001@10.0.0.2:5062", "Udp", "192.0.2.7:40000")]                // behind NAT: where it registered from
    [InlineData("sip:1001@192.0.2.7:5061;transport=tls", "Udp", null)]              // asks for TLS: the stack connects over TLS
    [InlineData("sips:1001@phone.example", "Tcp", null)]
    [InlineData("sip:1001@192.0.2.7:5061;transport=tls", "Tls", "192.0.2.7:40000")] // registered over TLS: that connection
    public void An_agent_phone_is_rung_where_its_registration_says(string contact, string transport, string? expected)
    {
        var source = new Lineup.Sip.Transport.SipRemote(Enum.Parse<Lineup.Sip.Transport.SipTransportKind>(transport), IPEndPoint.Parse("192.0.2.7:40000"));
        var destination = SipFrontEnd.Destination(new Lineup.Sip.Registrar.SipBinding(contact, source, "c", 1, DateTimeOffset.UnixEpoch));
        Assert.Equal(expected, destination?.EndPoint.ToString());
    }

    [Fact]
    public void Srtp_and_tls_settings_are_read_with_queue_and_agent_overrides()
    {
        var pin = new string('a', 64);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sip:Srtp"] = "optional",
            ["Sip:SrtpQueues:700"] = "required",
            ["Sip:SrtpAgents:1001"] = "off",
            ["Sip:OutboundProxy"] = "127.0.0.1:5061",
            ["Sip:OutboundProxyTransport"] = "tls",
            ["Sip:Tls:Pins"] = "AA:" + pin[2..],
            ["Sip:Tls:Listen"] = "127.0.0.1:5071",
        }).Build();
        var o = Load(config, "data");
        Assert.Equal(Lineup.Sip.Media.SrtpPolicy.Required, o.SrtpForQueue("700"));
        Assert.Equal(Lineup.Sip.Media.SrtpPolicy.Optional, o.SrtpForQueue("701"));
        Assert.Equal(Lineup.Sip.Media.SrtpPolicy.Off, o.SrtpForAgent("1001"));
        Assert.Equal(Lineup.Sip.Media.SrtpPolicy.Optional, o.SrtpForAgent("1002"));
        Assert.Equal(Lineup.Sip.Transport.SipTransportKind.Tls, o.OutboundProxyTransport);
        Assert.Equal("127.0.0.1", o.OutboundProxyHost);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5071), o.TlsListen);
        var tls = o.TlsOptions();
        Assert.NotNull(tls);
        Assert.Null(tls.ServerCertificate); // no certificate: TLS out only
        Assert.Equal(["AA" + pin[2..]], tls.PinnedCertificates);
    }
}
