using System.Net;
using Lineup.Server.Telephony;
using Microsoft.Extensions.Configuration;

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

    [Theory]
    [InlineData("Sip:Listen", "nowhere:99999", "Sip:Listen")]
    [InlineData("Sip:Enabled", "maybe", "Sip:Enabled")]
    [InlineData("Sip:RtpPortMin", "70000", "Sip:RtpPortMin")]
    [InlineData("Sip:DigestAlgorithms", "MD5,SHA-1", "Sip:DigestAlgorithms")]
    [InlineData("Sip:PublicAddress", "lineup.example", "Sip:PublicAddress")]
    public void A_bad_setting_stops_start_up_naming_the_key(string key, string value, string named)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        var e = Assert.Throws<FormatException>(() => TelephonyOptions.FromConfiguration(config, "data"));
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
        var o = TelephonyOptions.FromConfiguration(config, "/var/lib/lineup");
        Assert.True(o.Enabled);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5070), o.Listen);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5080), o.OutboundProxy);
        Assert.Equal(IPAddress.Loopback, o.Advertised());
        Assert.Equal([Lineup.Sip.Registrar.DigestAlgorithm.Sha256, Lineup.Sip.Registrar.DigestAlgorithm.Md5], o.DigestAlgorithms);
        Assert.Equal(Path.Combine("/var/lib/lineup", "recordings"), o.RecordingsPath);
        Assert.Equal((20000, 30000), (o.RtpPortMin, o.RtpPortMax));
        var defaults = TelephonyOptions.FromConfiguration(new ConfigurationBuilder().Build(), "data");
        Assert.False(defaults.Enabled);
        Assert.Equal([Lineup.Sip.Registrar.DigestAlgorithm.Md5], defaults.DigestAlgorithms);
    }
}
