using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// RTCP and call quality over SIP (RFC 3550): a caller whose phone loses every tenth packet on the way and sends its own
/// reports talks to an agent. Lineup's reports to the caller must describe what it received (its SSRC, the caller's
/// SSRC, the loss, the highest sequence number, a plausible jitter, the caller's SR echoed), end with a BYE, and the
/// CDR must carry both legs' quality, with the round trip from the caller's reports.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class RtcpSipTests(SipServerFixture server) : IClassFixture<SipServerFixture>
{
    [Fact]
    public async Task Lineup_reports_the_callers_loss_in_RTCP_and_both_legs_quality_in_the_CDR()
    {
        var q = await server.QueueAsync("rtcp", new { strategy = "top_down" });
        var ana = await server.AgentAsync(q, 1);
        await using var agentMedia = new RtpProbe(Tone.FirstAgent);
        await using var phone = await server.PhoneAsync(ana, "agent-answer-hangup.xml", agentMedia, new() { ["ring_ms"] = "300", ["talk_ms"] = "12000" });
        await using var callerMedia = new RtpProbe(Tone.Caller, rtcp: true) { LossEvery = 10 };
        await using var caller = await server.CallAsync(q, "caller-waits-for-bye.xml", callerMedia, new());

        (await phone.WaitAsync()).AssertSucceeded();
        (await caller.WaitAsync()).AssertSucceeded();
        Hearing.Bridged(callerMedia, "the caller", agentMedia, "the agent");
        var cdr = await server.CdrAsync(q);

        // Lineup's reports to the caller: from the SSRC of the RTP it sends, about the caller's SSRC.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!callerMedia.RtcpReceived.Any(r => r.Report.Bye) && DateTime.UtcNow < deadline) await Task.Delay(50);
        var reports = callerMedia.RtcpReceived.Select(r => r.Report).ToList();
        var summary = string.Join("; ", reports.Select(r => $"{(r.Sender is null ? "RR" : "SR")} blocks {r.Blocks.Count} bye {r.Bye}"));
        Assert.True(reports.Count >= 3, $"two reports in 12 s of talk and a BYE at least: {summary}");
        var lineupSsrc = callerMedia.Packets.GroupBy(p => p.Ssrc).MaxBy(g => g.Count())!.Key;
        Assert.All(reports, r => Assert.Equal(lineupSsrc, r.Ssrc));
        Assert.All(reports, r => Assert.StartsWith("lineup-", r.CanonicalName, StringComparison.Ordinal));
        Assert.True(reports[^1].Bye, $"the last report says BYE: {summary}");
        // Lineup sent music, then the agent's voice: every report is an SR, its counts growing (but the BYE, an RR
        // when a periodic report went out between the agent's hang-up and the caller's).
        Assert.All(reports.SkipLast(1), r => Assert.NotNull(r.Sender));
        var counts = reports.Where(r => r.Sender is not null).Select(r => r.Sender!.Value.PacketCount).ToList();
        Assert.Equal(counts.Order(), counts);

        var blocks = reports.SelectMany(r => r.Blocks).ToList();
        Assert.NotEmpty(blocks);
        Assert.All(blocks, b => Assert.Equal(callerMedia.Ssrc, b.Ssrc));
        // The last block (the BYE's) counts the loss exactly: every number from the first packet to the highest one
        // received that ends in 0 was skipped (more only if 127.0.0.1 itself dropped some).
        var last = blocks[^1];
        var first = (ushort)callerMedia.FirstSentSequence;
        var highest = (ushort)last.HighestSequence;
        var span = (ushort)(highest - first);
        Assert.InRange(span, 300, 2000); // 12 s of talk and the wait before it, at 50 packets a second
        var skippedUpToHighest = Enumerable.Range(1, span).Count(i => (ushort)(first + i) % 10 == 0);
        Assert.InRange(last.CumulativeLost, skippedUpToHighest, skippedUpToHighest + 2);
        Assert.True(last.HighestSequence >> 16 <= 1, "at most one wrap of the sequence number");
        // Jitter of a 20 ms stream on 127.0.0.1, in 8 kHz units: below 80 ms even on a loaded machine.
        Assert.All(blocks, b => Assert.InRange(b.Jitter, 0u, 640u));
        // After the caller's first SR, Lineup's blocks echo it (LSR) with the time since (DLSR).
        Assert.Contains(blocks, b => b.LastSenderReport != 0);

        // The CDR: the caller's leg shows the loss and the round trip; the agent's leg is clean.
        var quality = cdr.GetProperty("media_quality");
        var callerLeg = quality.GetProperty("caller");
        var received = callerLeg.GetProperty("packets_received").GetInt64();
        var lost = callerLeg.GetProperty("packets_lost").GetInt64();
        Assert.InRange(received, 400, callerMedia.Sent);
        Assert.InRange(lost, received / 10 - 2, received / 8);
        Assert.InRange(callerLeg.GetProperty("loss_percent").GetDouble(), 8, 12);
        Assert.InRange(callerLeg.GetProperty("jitter_max_ms").GetDouble(), 0, 80);
        Assert.True(callerLeg.GetProperty("jitter_max_ms").GetDouble() >= callerLeg.GetProperty("jitter_mean_ms").GetDouble(), callerLeg.ToString());
        Assert.InRange(callerLeg.GetProperty("rtt_ms").GetDouble(), 0, 500); // from the caller's blocks about Lineup's stream
        Assert.Equal(0, callerLeg.GetProperty("remote_packets_lost").GetInt64()); // what the probe reports
        Assert.True(callerLeg.GetProperty("rtcp_received").GetInt64() >= 5, callerLeg.ToString());
        var agentLeg = quality.GetProperty("agent");
        Assert.True(agentLeg.GetProperty("packets_received").GetInt64() >= 400, agentLeg.ToString()); // 12 s of voice
        Assert.InRange(agentLeg.GetProperty("loss_percent").GetDouble(), 0, 1);
        Assert.Equal(JsonValueKind.Null, agentLeg.GetProperty("rtt_ms").ValueKind); // sipp's phone sends no RTCP

        // Prometheus: the legs' loss went into the histogram at their end, and RTCP was counted.
        var metrics = await (await server.Api.GetAsync(new Uri("/metrics", UriKind.Relative))).Content.ReadAsStringAsync();
        Assert.True(Count(metrics, "lineup_rtp_leg_loss_ratio_count") >= 2, "two legs ended with RTP received");
        Assert.True(Count(metrics, "lineup_rtcp_packets_received_total") >= 5);
        Assert.True(Count(metrics, "lineup_rtcp_packets_sent_total") >= 3);
    }

    private static double Count(string metrics, string name)
    {
        var m = Regex.Match(metrics, "^" + Regex.Escape(name) + @"(?:\{[^}]*\})? (\S+)", RegexOptions.Multiline);
        Assert.True(m.Success, $"{name} is not in /metrics");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
