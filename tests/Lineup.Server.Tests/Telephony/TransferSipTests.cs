using System.Text.Json;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// Blind transfer from the agent's phone (REFER, RFC 3515) against the real server with sipp: the phone gets 202, a
/// NOTIFY "100 Trying" and a final NOTIFY "200 OK" (agent-answer-refer.xml checks them), then Lineup's BYE; the caller
/// stays with Lineup and is bridged to the next party. Each party's probe proves who the caller heard, and when.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class TransferSipTests(SipServerFixture server) : IClassFixture<SipServerFixture>
{
    [Fact]
    public async Task An_agent_REFERs_the_caller_to_another_queue_whose_agent_then_talks_to_the_caller()
    {
        var first = await server.QueueAsync("refer-from", new { strategy = "top_down", ring_timeout = 20 });
        var second = await server.QueueAsync("refer-to", new { strategy = "top_down", ring_timeout = 20 });
        var ana = await server.AgentAsync(first, 1);
        var bob = await server.AgentAsync(second, 1);
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var bobMedia = new RtpProbe(Tone.SecondAgent);
        await ReferToSecondAgentAsync(first, ana, second.Extension, bob, callerMedia, bobMedia);

        var cdr = await server.CdrAsync(second);
        Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
        Assert.Equal(bob.Id, cdr.GetProperty("agent_id").GetInt64());
        Assert.Equal([first.Id, second.Id], cdr.GetProperty("queues").EnumerateArray().Select(v => v.GetProperty("queue_id").GetInt64()));
        Assert.Equal([ana.Id, bob.Id], Answered(cdr));
        HeardInTurn(callerMedia, Tone.FirstAgent, Tone.SecondAgent);
        Hearing.Hears(bobMedia, "the second agent", Tone.Caller);
        await server.AssertLoggedAsync($"agent {ana.Id} REFERs the caller to sip:{second.Extension}@…(queue {second.Id}): accepted");
    }

    [Fact]
    public async Task An_agent_REFERs_the_caller_to_a_number_which_Lineup_calls_and_bridges()
    {
        const string number = "5550177";
        var q = await server.QueueAsync("refer-number", new { strategy = "top_down", ring_timeout = 20 });
        var ana = await server.AgentAsync(q, 1);
        await using var anaMedia = new RtpProbe(Tone.FirstAgent);
        await using var anaPhone = await server.PhoneAsync(ana, "agent-answer-refer.xml", anaMedia,
            new() { ["ring_ms"] = "300", ["talk_ms"] = "3000", ["refer_to"] = number });
        await using var outsideMedia = new RtpProbe(Tone.Outside);
        await using var outside = await server.OutsideAsync(number, outsideMedia);
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "10000" });

        (await anaPhone.WaitAsync()).AssertSucceeded();
        (await caller.WaitAsync()).AssertSucceeded();
        (await outside.WaitAsync()).AssertSucceeded(); // answered the transfer, BYE when the caller hung up

        var cdr = await server.CdrAsync(q);
        Assert.Equal("transferred", cdr.GetProperty("disposition").GetString());
        Assert.Equal(number, cdr.GetProperty("destination_target").GetString());
        Assert.Equal(ana.Id, cdr.GetProperty("agent_id").GetInt64());
        Assert.True(cdr.GetProperty("talk_seconds").GetDouble() >= 2, $"the agent talked {cdr.GetProperty("talk_seconds")} s");
        // The number answers at once: the caller may hear no music in between (not required here).
        HeardInTurn(callerMedia, Tone.FirstAgent, Tone.Outside, musicBetween: false);
        Hearing.Hears(outsideMedia, "the number called", Tone.Caller);
    }

    [Fact]
    public async Task An_agent_REFERs_the_caller_to_another_agents_number_and_only_that_agent_rings_then_talks()
    {
        var q = await server.QueueAsync("refer-agent", new { strategy = "top_down", ring_timeout = 20 });
        var elsewhere = await server.QueueAsync("refer-agent-other", new { strategy = "top_down", ring_timeout = 20 });
        var ana = await server.AgentAsync(q, 1);
        var bob = await server.AgentAsync(elsewhere, 1); // not a member of the caller's queue
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var bobMedia = new RtpProbe(Tone.SecondAgent);
        await ReferToSecondAgentAsync(q, ana, bob.Number, bob, callerMedia, bobMedia);

        // One CDR for the caller: answered by Bob in the queue it came from, after Ana.
        var cdr = await server.CdrAsync(q);
        Assert.Equal(("answered", bob.Id), (cdr.GetProperty("disposition").GetString(), cdr.GetProperty("agent_id").GetInt64()));
        Assert.Equal([q.Id, q.Id], cdr.GetProperty("queues").EnumerateArray().Select(v => v.GetProperty("queue_id").GetInt64()));
        Assert.Equal([ana.Id, bob.Id], Answered(cdr));
        HeardInTurn(callerMedia, Tone.FirstAgent, Tone.SecondAgent);
        Hearing.Hears(bobMedia, "the agent transferred to", Tone.Caller);
        await server.AssertLoggedAsync($"agent {ana.Id} REFERs the caller to sip:{bob.Number}@…(agent {bob.Id}): accepted");
    }

    [Fact]
    public async Task A_REFER_to_an_agent_who_is_not_available_is_refused_and_the_call_goes_on()
    {
        var q = await server.QueueAsync("refer-agent-away", new { strategy = "top_down", ring_timeout = 20 });
        var ana = await server.AgentAsync(q, 1);
        var bob = await server.AgentAsync(await server.QueueAsync("refer-agent-away-other", new { strategy = "top_down" }), 1);
        await server.StatusAsync(bob, "not_ready");
        await using var anaMedia = new RtpProbe(Tone.FirstAgent);
        await using var anaPhone = await server.PhoneAsync(ana, "agent-refer-refused.xml", anaMedia,
            new() { ["ring_ms"] = "300", ["talk_ms"] = "1500", ["refer_to"] = bob.Number, ["refer_suffix"] = "" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "5000" });

        (await anaPhone.WaitAsync()).AssertSucceeded();
        (await caller.WaitAsync()).AssertSucceeded();

        var cdr = await server.CdrAsync(q);
        Assert.Equal(("answered", ana.Id), (cdr.GetProperty("disposition").GetString(), cdr.GetProperty("agent_id").GetInt64()));
        Assert.Equal([ana.Id], Answered(cdr));
        Hearing.Hears(callerMedia, "the caller", Tone.FirstAgent);
        await server.AssertLoggedAsync($"REFER to sip:{bob.Number}@…refused with 480");
    }

    [Fact]
    public async Task An_agent_that_holds_the_call_lets_the_caller_hear_music_until_it_resumes()
    {
        var q = await server.QueueAsync("hold", new { strategy = "top_down", ring_timeout = 20 });
        var ana = await server.AgentAsync(q, 1);
        await using var anaMedia = new RtpProbe(Tone.FirstAgent);
        await using var anaPhone = await server.PhoneAsync(ana, "agent-answer-hold.xml", anaMedia,
            new() { ["ring_ms"] = "300", ["talk_ms"] = "2500", ["hold_ms"] = "3000" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "9000" });

        (await anaPhone.WaitAsync()).AssertSucceeded(); // 200 recvonly to the hold, 200 sendrecv to the resume
        (await caller.WaitAsync()).AssertSucceeded();

        // The caller heard Ana, then music while she held (and not her, though her phone kept sending), then Ana again.
        var timeline = callerMedia.Timeline(Tone.Names.Keys.ToArray());
        var summary = Hearing.Summary(timeline);
        var talk = timeline.FindIndex(f => f.Heard.ToneHz == Tone.FirstAgent);
        var held = timeline.FindIndex(Math.Max(0, talk), f => f.Heard == Heard.Other);
        var back = held < 0 ? -1 : timeline.FindIndex(held, f => f.Heard.ToneHz == Tone.FirstAgent);
        Assert.True(talk >= 0 && held > talk && back > held, $"the caller did not hear the agent, music, then the agent: {summary}");
        var onHold = timeline.Skip(held).Take(back - held).ToList();
        Assert.True(onHold.Count(f => f.Heard == Heard.Other) >= 2 * Hearing.MinimumFrames, $"too little music on hold: {summary}");
        Assert.True(timeline.Skip(back).Count(f => f.Heard.ToneHz == Tone.FirstAgent) >= Hearing.MinimumFrames, $"too little of the agent after the hold: {summary}");

        var cdr = await server.CdrAsync(q);
        Assert.Equal(("answered", ana.Id), (cdr.GetProperty("disposition").GetString(), cdr.GetProperty("agent_id").GetInt64()));
        Assert.True(cdr.GetProperty("talk_seconds").GetDouble() >= 6, $"hold is talk time: {cdr.GetProperty("talk_seconds")} s");
        await server.AssertLoggedAsync($"agent {ana.Id} holds the caller (music on)", $"agent {ana.Id} resumes the call");
    }

    [Fact]
    public async Task An_attended_transfer_naming_a_dialog_Lineup_does_not_have_is_refused_with_481()
    {
        var q = await server.QueueAsync("replaces-unknown", new { strategy = "top_down", ring_timeout = 20 });
        var ana = await server.AgentAsync(q, 1);
        await using var anaMedia = new RtpProbe(Tone.FirstAgent);
        await using var anaPhone = await server.PhoneAsync(ana, "agent-refer-refused.xml", anaMedia, new()
        {
            ["ring_ms"] = "300",
            ["talk_ms"] = "1500",
            ["refer_to"] = "5550123",
            ["refer_suffix"] = "?Replaces=no-such-call%40192.0.2.1%3Bto-tag%3Dabc%3Bfrom-tag%3Ddef",
        });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "5000" });

        (await anaPhone.WaitAsync()).AssertSucceeded();
        (await caller.WaitAsync()).AssertSucceeded();
        var cdr = await server.CdrAsync(q);
        Assert.Equal(("answered", ana.Id), (cdr.GetProperty("disposition").GetString(), cdr.GetProperty("agent_id").GetInt64()));
        await server.AssertLoggedAsync("REFER to …refused with 481: Replaces names no dialog");
    }

    [Fact]
    public async Task An_attended_transfer_joins_the_caller_to_the_agent_the_first_agent_consulted_without_ringing_it_again()
    {
        // RFC 5589 §7 from the phone's side: answer, hold, call a second queue and talk to its agent, then REFER the
        // caller's dialog with Replaces naming the consultation's. Lineup is transferee and target at once.
        var q = await server.QueueAsync("attended-from", new { strategy = "top_down", ring_timeout = 20 });
        var help = await server.QueueAsync("attended-to", new { strategy = "top_down", ring_timeout = 20 });
        var ana = await server.AgentAsync(q, 1);
        var bob = await server.AgentAsync(help, 1);
        await using var phone = new ConsultingPhone(server.SipPort);
        await server.RegisterAsync(ana, phone.Port, unregister: false);
        await using var anaMedia = new RtpProbe(Tone.FirstAgent);
        await using var consultMedia = new RtpProbe(Tone.FirstAgent);
        await using var bobMedia = new RtpProbe(Tone.SecondAgent);
        await using var bobPhone = await server.PhoneAsync(bob, "agent-answer.xml", bobMedia, new() { ["ring_ms"] = "300" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "16000" });

        var (first, invite) = await phone.AnswerAsync(ConsultingPhone.Sdp(anaMedia.Port), TimeSpan.FromSeconds(20));
        anaMedia.StartSending(invite.Media());
        await Task.Delay(2500); // Ana talks to the caller
        Assert.Equal(200, (await phone.ReInviteAsync(first, ConsultingPhone.Sdp(anaMedia.Port, "sendonly"))).Status);
        var (consultation, answer) = await phone.CallAsync(help.Extension, ConsultingPhone.Sdp(consultMedia.Port));
        Assert.True(consultation != null, $"the consultation call was refused: {answer.FirstLine}");
        consultMedia.StartSending(answer.Media());
        // Bob answers the consultation and hears Ana for a second.
        Assert.True(await ConsultingPhone.WaitUntilAsync(
            () => bobMedia.Timeline(Tone.Names.Keys.ToArray()).Count(f => f.Heard.ToneHz == Tone.FirstAgent) >= Hearing.MinimumFrames, TimeSpan.FromSeconds(20)),
            "Bob never talked to Ana in the consultation");

        var replaces = Uri.EscapeDataString($"{consultation.CallId};to-tag={consultation.RemoteTag};from-tag={consultation.LocalTag}");
        var refer = await phone.ReferAsync(first, $"<sip:{help.Extension}@127.0.0.1?Replaces={replaces}>");
        Assert.Equal(202, refer.Status);
        // The final NOTIFY says the transfer succeeded; then Lineup hangs up both of the phone's dialogs.
        Assert.True(await ConsultingPhone.WaitUntilAsync(
            () => phone.Notifies.Any(n => n.Body.StartsWith("SIP/2.0 200", StringComparison.Ordinal)) && phone.Byes.Contains(first.CallId)
                && phone.Byes.Contains(consultation.CallId), TimeSpan.FromSeconds(15)),
            $"NOTIFYs: {string.Join(" | ", phone.Notifies.Select(n => n.Body.Trim()))}; BYEs in: {string.Join(", ", phone.Byes)}");

        (await caller.WaitAsync()).AssertSucceeded();
        (await bobPhone.WaitAsync()).AssertSucceeded(); // rung once, Lineup's BYE when the caller hung up

        // The caller heard Ana, the music while she held and consulted, then Bob; Bob heard Ana, then the caller.
        HeardInTurn(callerMedia, Tone.FirstAgent, Tone.SecondAgent);
        var bobHeard = bobMedia.Timeline(Tone.Names.Keys.ToArray());
        var callerAt = bobHeard.FindIndex(f => f.Heard.ToneHz == Tone.Caller);
        Assert.True(callerAt > bobHeard.FindIndex(f => f.Heard.ToneHz == Tone.FirstAgent), $"Bob did not hear Ana, then the caller: {Hearing.Summary(bobHeard)}");
        Assert.True(bobHeard.Skip(callerAt).Count(f => f.Heard.ToneHz == Tone.Caller) >= Hearing.MinimumFrames, $"too little of the caller: {Hearing.Summary(bobHeard)}");

        // One CDR for the caller naming both agents, Bob last; the consultation's own CDR: answered by Bob.
        var cdr = await server.CdrAsync(q);
        Assert.Equal(("answered", bob.Id), (cdr.GetProperty("disposition").GetString(), cdr.GetProperty("agent_id").GetInt64()));
        Assert.Equal([ana.Id, bob.Id], Answered(cdr));
        var consulted = await server.CdrAsync(help);
        Assert.Equal(("answered", bob.Id), (consulted.GetProperty("disposition").GetString(), consulted.GetProperty("agent_id").GetInt64()));
        await server.AssertLoggedAsync(
            $"agent {ana.Id} holds the caller (music on)",
            $"agent {ana.Id} REFERs the caller to sip:{help.Extension}@127.0.0.1?Replaces=…(agent {bob.Id} of consultation …): accepted",
            $"agent {bob.Id}'s answered phone goes on with the caller of call");
    }

    [Fact]
    public async Task An_attended_transfer_to_a_consultation_nobody_answered_yet_or_to_the_callers_own_dialog_is_refused_and_the_call_goes_on()
    {
        var q = await server.QueueAsync("attended-early", new { strategy = "top_down", ring_timeout = 20 });
        var empty = await server.QueueAsync("attended-early-to", new { strategy = "top_down", ring_timeout = 20 }); // no agents
        var ana = await server.AgentAsync(q, 1);
        await using var phone = new ConsultingPhone(server.SipPort);
        await server.RegisterAsync(ana, phone.Port, unregister: false);
        await using var anaMedia = new RtpProbe(Tone.FirstAgent);
        await using var consultMedia = new RtpProbe(Tone.FirstAgent);
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "8000" });

        var (first, invite) = await phone.AnswerAsync(ConsultingPhone.Sdp(anaMedia.Port), TimeSpan.FromSeconds(20));
        anaMedia.StartSending(invite.Media());
        var (consultation, answer) = await phone.CallAsync(empty.Extension, ConsultingPhone.Sdp(consultMedia.Port));
        Assert.True(consultation != null, $"the consultation call was refused: {answer.FirstLine}");

        // The caller's own dialog (as the phone sees it) is no consultation.
        var own = Uri.EscapeDataString($"{first.CallId};to-tag={first.RemoteTag};from-tag={first.LocalTag}");
        var refused = await phone.ReferAsync(first, $"<sip:{empty.Extension}@127.0.0.1?Replaces={own}>");
        Assert.Equal(403, refused.Status);
        Assert.Contains("Replaces must name a call this phone placed", refused.Header("Warning"), StringComparison.Ordinal);
        // The consultation still waits for an agent.
        var early = Uri.EscapeDataString($"{consultation.CallId};to-tag={consultation.RemoteTag};from-tag={consultation.LocalTag}");
        refused = await phone.ReferAsync(first, $"<sip:{empty.Extension}@127.0.0.1?Replaces={early}>");
        Assert.Equal(403, refused.Status);
        Assert.Contains("not talking to an agent", refused.Header("Warning"), StringComparison.Ordinal);
        Assert.Equal(200, (await phone.ByeAsync(consultation)).Status);

        (await caller.WaitAsync()).AssertSucceeded();
        Assert.True(await ConsultingPhone.WaitUntilAsync(() => phone.Byes.Contains(first.CallId), TimeSpan.FromSeconds(10)), "Lineup never hung up Ana's phone");
        Assert.Empty(phone.Notifies);
        Hearing.Hears(callerMedia, "the caller", Tone.FirstAgent);
        var cdr = await server.CdrAsync(q);
        Assert.Equal(("answered", ana.Id), (cdr.GetProperty("disposition").GetString(), cdr.GetProperty("agent_id").GetInt64()));
        Assert.Equal([ana.Id], Answered(cdr));
        var abandoned = await server.CdrAsync(empty);
        Assert.Equal("abandoned", abandoned.GetProperty("disposition").GetString());
    }

    /// <summary>A caller of <paramref name="queue"/> talks to <paramref name="ana"/>, whose phone REFERs it to
    /// <paramref name="referTo"/> after 3 s (202, both NOTIFYs, then Lineup's BYE); <paramref name="bob"/>'s phone answers
    /// what rings it; the caller hangs up after 12 s. Every party's sipp must succeed.</summary>
    private async Task ReferToSecondAgentAsync(SipQueue queue, SipAgent ana, string referTo, SipAgent bob, RtpProbe callerMedia, RtpProbe bobMedia)
    {
        await using var anaMedia = new RtpProbe(Tone.FirstAgent);
        await using var anaPhone = await server.PhoneAsync(ana, "agent-answer-refer.xml", anaMedia,
            new() { ["ring_ms"] = "300", ["talk_ms"] = "3000", ["refer_to"] = referTo });
        await using var bobPhone = await server.PhoneAsync(bob, "agent-answer.xml", bobMedia, new() { ["ring_ms"] = "300" });
        await using var caller = await server.CallAsync(queue, "caller.xml", callerMedia, new() { ["talk_ms"] = "12000" });
        (await anaPhone.WaitAsync()).AssertSucceeded();
        (await caller.WaitAsync()).AssertSucceeded();
        (await bobPhone.WaitAsync()).AssertSucceeded();
    }

    private static long[] Answered(JsonElement cdr) =>
        [.. cdr.GetProperty("attempts").EnumerateArray().Where(a => a.GetProperty("outcome").GetString() == "answered").Select(a => a.GetProperty("agent_id").GetInt64())];

    /// <summary>The caller heard the first party (a second at least), then (with <paramref name="musicBetween"/>) hold
    /// music, then the next party and from then on nothing else: the first leg was released and the caller bridged again.</summary>
    private static void HeardInTurn(RtpProbe caller, int firstHz, int nextHz, bool musicBetween = true)
    {
        var timeline = caller.Timeline(Tone.Names.Keys.ToArray());
        var summary = Hearing.Summary(timeline);
        var firstAt = timeline.FindIndex(f => f.Heard.ToneHz == firstHz);
        var nextAt = timeline.FindIndex(f => f.Heard.ToneHz == nextHz);
        Assert.True(firstAt >= 0 && nextAt > firstAt, $"the caller did not hear {Tone.Describe(firstHz)} then {Tone.Describe(nextHz)}: {summary}");
        Assert.True(timeline.Take(nextAt).Count(f => f.Heard.ToneHz == firstHz) >= Hearing.MinimumFrames, $"too little of the first party: {summary}");
        var lastFirst = timeline.FindLastIndex(f => f.Heard.ToneHz == firstHz);
        Assert.True(lastFirst < nextAt, $"the caller heard the first party after the transfer: {summary}");
        if (musicBetween)
            Assert.True(timeline.Skip(lastFirst).Take(nextAt - lastFirst).Any(f => f.Heard == Heard.Other), $"no hold music between the two: {summary}");
        var after = timeline.Skip(nextAt).ToList();
        Assert.True(after.Count(f => f.Heard.ToneHz == nextHz) >= Hearing.MinimumFrames, $"too little of the next party: {summary}");
        Assert.True(after.All(f => f.Heard == Heard.Silence || f.Heard.ToneHz == nextHz), $"the caller heard something else once bridged again: {summary}");
    }
}
