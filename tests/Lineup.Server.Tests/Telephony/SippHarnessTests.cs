using System.Net;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// The SIP end-to-end harness checked without Lineup: our scenarios run against each other through <see cref="Sipp"/>,
/// and <see cref="RtpProbe"/> proves media both ways with an echoing agent, the way <c>SipEndToEndTests</c> does
/// through Lineup. Needs sipp (fails, never skips, without it) and root or CAP_NET_RAW for pcap play.
/// </summary>
[Trait("Category", "Sip")]
public sealed class SippHarnessTests
{
    [Fact]
    public async Task Probe_sees_its_audio_come_back_from_an_echoing_agent_and_the_agents_pcap()
    {
        await using var probe = new RtpProbe();
        await using var agent = await Sipp.StartAsync(new SippOptions("agent-answer.xml")
        {
            RtpEcho = true,
            Keys = new Dictionary<string, string> { ["ring_ms"] = "200", ["play"] = "1" },
            Links = new Dictionary<string, string> { ["agent.pcap"] = Path.Combine(Sipp.PcapDirectory, "g711a.pcap") },
            Timeout = TimeSpan.FromSeconds(30),
        });
        await using var caller = await Sipp.StartAsync(new SippOptions("caller.xml")
        {
            Remote = $"127.0.0.1:{agent.Port}",
            Service = "700",
            Keys = new Dictionary<string, string> { ["rtp_port"] = probe.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), ["play"] = "0", ["talk_ms"] = "3000" },
            Timeout = TimeSpan.FromSeconds(30),
        });
        probe.StartSending(new IPEndPoint(IPAddress.Loopback, agent.MediaPort));

        (await caller.WaitAsync()).AssertSucceeded();
        (await agent.WaitAsync()).AssertSucceeded();
        Assert.True(probe.SignaturesReceived >= 50, $"{probe.SignaturesReceived} of {probe.Sent} signature packets came back");
        var pcap = probe.Packets.Where(p => !p.Signature).ToList();
        Assert.True(pcap.Count >= 50, $"only {pcap.Count} packets of the agent's g711a.pcap arrived");
        Assert.All(pcap, p => Assert.Equal(8, p.PayloadType));
        Assert.All(pcap, p => Assert.Equal(agent.MediaPort, p.From.Port)); // symmetric: sent from the port in the agent's SDP
    }

    [Fact]
    public async Task Agent_registers_with_digest_auth_and_a_wrong_password_is_refused()
    {
        string[] csv = ["1001;secret-1001"];
        foreach (var (password, expected) in new[] { ("secret-1001", true), ("wrong", false) })
        {
            await using var registrar = await Sipp.StartAsync(new SippOptions("standins/registrar.xml") { CsvLines = csv, Timeout = TimeSpan.FromSeconds(20) });
            await using var phone = await Sipp.StartAsync(new SippOptions("agent-register.xml")
            {
                Remote = $"127.0.0.1:{registrar.Port}",
                CsvLines = csv,
                AuthUser = "1001",
                AuthPassword = password,
                Keys = new Dictionary<string, string> { ["contact_port"] = "15999", ["expires"] = "3600" },
                Extra = ["-default_behaviors", "all,-bye"],
                Timeout = TimeSpan.FromSeconds(20),
            });
            var result = await phone.WaitAsync();
            var stand = await registrar.WaitAsync();
            if (expected)
            {
                result.AssertSucceeded();
                stand.AssertSucceeded();
                continue;
            }
            // The wrong password failed for the right reason: the stand-in's verifyauth refused the digest and
            // answered 403, which is what the phone got instead of its 200 (not a timeout, a port clash or a crash).
            Assert.True(result.ExitCode == 1, result.Describe());
            Assert.Contains("SIP/2.0 403 Forbidden", result.Errors, StringComparison.Ordinal);
            Assert.True(stand.ExitCode == 255, stand.Describe()); // the scenario's <error> action ends sipp at once
            Assert.Contains("REGISTER with a wrong digest", stand.Errors, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void G711_signature_level_survives_both_laws()
    {
        var mu = G711.MuLawEncode(RtpProbe.SignatureLevel);
        Assert.InRange(G711.MuLawDecode(mu), 15_000, 17_000);
        Assert.InRange(G711.MuLawDecode(G711.MuLawEncode(-1000)), -1100, -900);
        Assert.Equal(8, G711.ALawDecode(0xD5)); // A-law 0xD5 is the smallest positive step
    }
}
