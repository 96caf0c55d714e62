using System.Net;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// The SIP end-to-end harness checked without Lineup: our scenarios run against each other through <see cref="Sipp"/>,
/// and <see cref="RtpProbe"/>s exchange their tones the way <c>SipEndToEndTests</c>' parties do through Lineup; the
/// tone classifier is checked against Lineup's own hold music. Needs sipp (fails, never skips, without it) and root or
/// CAP_NET_RAW for pcap play.
/// </summary>
[Trait("Category", "Sip")]
public sealed class SippHarnessTests
{
    [Fact]
    public async Task Two_probes_bridged_by_a_sipp_call_hear_each_others_tone()
    {
        await using var agentMedia = new RtpProbe(Tone.FirstAgent);
        await using var agent = await Sipp.StartAsync(new SippOptions("agent-answer.xml")
        {
            Keys = new Dictionary<string, string> { ["ring_ms"] = "200", ["play"] = "0", ["rtp_port"] = Num(agentMedia.Port), ["report_media"] = "1" },
            Timeout = TimeSpan.FromSeconds(30),
        });
        agentMedia.StartSending(agent.RemoteMediaAsync); // the caller's SDP, as the scenario read it
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await Sipp.StartAsync(new SippOptions("caller.xml")
        {
            Remote = $"127.0.0.1:{agent.Port}",
            Service = "700",
            Keys = new Dictionary<string, string> { ["rtp_port"] = Num(callerMedia.Port), ["play"] = "0", ["talk_ms"] = "3000" },
            Timeout = TimeSpan.FromSeconds(30),
        });
        callerMedia.StartSending(new IPEndPoint(IPAddress.Loopback, agentMedia.Port));

        (await caller.WaitAsync()).AssertSucceeded();
        (await agent.WaitAsync()).AssertSucceeded();
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, callerMedia.Port), await agent.RemoteMediaAsync(CancellationToken.None));
        Hearing.Bridged(callerMedia, "the caller", agentMedia, "the agent");
    }

    [Fact]
    public async Task Probe_hears_its_tone_echoed_by_an_agent_and_the_agents_pcap()
    {
        await using var probe = new RtpProbe(Tone.Caller);
        var mediaPort = Sipp.FreeMediaPorts();
        await using var agent = await Sipp.StartAsync(new SippOptions("agent-answer.xml")
        {
            RtpEcho = true,
            MediaPort = mediaPort,
            Keys = new Dictionary<string, string> { ["ring_ms"] = "200", ["play"] = "1", ["rtp_port"] = Num(mediaPort), ["report_media"] = "0" },
            Links = new Dictionary<string, string> { ["agent.pcap"] = Path.Combine(Sipp.PcapDirectory, "g711a.pcap") },
            Timeout = TimeSpan.FromSeconds(30),
        });
        await using var caller = await Sipp.StartAsync(new SippOptions("caller.xml")
        {
            Remote = $"127.0.0.1:{agent.Port}",
            Service = "700",
            Keys = new Dictionary<string, string> { ["rtp_port"] = Num(probe.Port), ["play"] = "0", ["talk_ms"] = "3000" },
            Timeout = TimeSpan.FromSeconds(30),
        });
        probe.StartSending(new IPEndPoint(IPAddress.Loopback, agent.MediaPort));

        (await caller.WaitAsync()).AssertSucceeded();
        (await agent.WaitAsync()).AssertSucceeded();
        var timeline = probe.Timeline([Tone.Caller]);
        Assert.True(timeline.Count(f => f.Heard.ToneHz == Tone.Caller) >= 50, $"{probe.Sent} sent, came back: {Hearing.Summary(timeline)}");
        var pcap = probe.Packets.Where(p => p.Samples.Length > 0 && Tone.Classify(p.Samples, [Tone.Caller]) == Heard.Other).ToList();
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
    public void Tones_are_told_apart_from_each_other_silence_and_Lineups_hold_music()
    {
        int[] tones = [Tone.Caller, Tone.FirstAgent, Tone.SecondAgent, Tone.Outside];
        // Encoded by Lineup's codec, decoded by the probe's own.
        static int[] Law(short[] s, bool mu) => s.Select(x => mu ? G711.MuLawDecode(Lineup.Sip.Media.G711.MuLawEncode(x)) : G711.ALawDecode(Lineup.Sip.Media.G711.ALawEncode(x))).ToArray();
        foreach (var hz in tones)
        {
            foreach (var mu in new[] { true, false })
            {
                // Any 20 ms of the tone, whatever its phase, through either law.
                for (var from = 0; from < 400; from += 37)
                    Assert.Equal(new Heard(hz), Tone.Classify(Law(Tone.Samples(hz, from, Tone.FrameSamples), mu), tones));
            }
        }
        Assert.Equal(Heard.Silence, Tone.Classify(new int[Tone.FrameSamples], tones));

        // Lineup's 30 s of hold music, frame by frame through µ-law: never a party's tone, mostly sound.
        var music = Lineup.Sip.Media.HoldMusic.Generate();
        var heard = Enumerable.Range(0, music.Length / Tone.FrameSamples)
            .Select(i => Tone.Classify(Law(music[(i * Tone.FrameSamples)..((i + 1) * Tone.FrameSamples)], true), tones)).ToList();
        Assert.DoesNotContain(heard, h => h.IsTone);
        Assert.True(heard.Count(h => h == Heard.Other) > heard.Count * 0.9, $"{heard.Count(h => h == Heard.Other)} of {heard.Count} music frames are sound");

        // A tone with music under it is not that tone; two tones at once are neither (both are "other").
        var mixed = Tone.Samples(Tone.Caller, 0, Tone.FrameSamples).Zip(music.AsSpan(8000, Tone.FrameSamples).ToArray(), (a, b) => a + (2 * b)).ToArray();
        Assert.Equal(Heard.Other, Tone.Classify(mixed, tones));
        var both = Tone.Samples(Tone.Caller, 0, Tone.FrameSamples).Zip(Tone.Samples(Tone.FirstAgent, 0, Tone.FrameSamples), (a, b) => a + b).ToArray();
        Assert.Equal(Heard.Other, Tone.Classify(both, tones));
        Assert.InRange(Tone.Share(both, Tone.Caller), 0.45, 0.55); // orthogonal over a frame: half the energy each
    }

    private static string Num(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
