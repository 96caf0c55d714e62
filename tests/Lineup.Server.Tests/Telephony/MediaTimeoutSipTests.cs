namespace Lineup.Server.Tests.Telephony;

/// <summary>The SIP server with <c>Sip:MediaTimeoutSeconds=2</c>.</summary>
public sealed class MediaTimeoutServerFixture : SipServerFixture
{
    public const int Seconds = 2;

    protected override IEnumerable<string> ExtraServerArguments => [$"--Sip:MediaTimeoutSeconds={Seconds}"];
}

/// <summary>
/// A talking leg whose far end falls silent (no RTP and no RTCP, as from a phone that crashed or lost its network) is
/// hung up after <c>Sip:MediaTimeoutSeconds</c>, and the engine hears of it as a hang-up by that party. The probes stop
/// sending altogether (<see cref="RtpProbe.Mute"/> without packets; they send no RTCP).
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class MediaTimeoutSipTests(MediaTimeoutServerFixture server) : IClassFixture<MediaTimeoutServerFixture>
{
    [Fact]
    public async Task A_caller_whose_phone_falls_silent_is_hung_up_after_the_timeout_and_the_agent_is_freed()
    {
        var q = await server.QueueAsync("media-timeout-caller", new { strategy = "top_down", ring_timeout = 20 });
        var ana = await server.AgentAsync(q, 1);
        await using var anaMedia = new RtpProbe(Tone.FirstAgent);
        await using var anaPhone = await server.PhoneAsync(ana, "agent-answer.xml", anaMedia, new() { ["ring_ms"] = "300" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller-waits-for-bye.xml", callerMedia, new());

        var silentAt = await TalkLongerThanTheTimeoutAsync(callerMedia, Tone.FirstAgent);
        callerMedia.Mute(sendPackets: false);
        (await caller.WaitAsync()).AssertSucceeded(); // Lineup's BYE
        var after = callerMedia.Now - silentAt;
        Assert.True(after >= TimeSpan.FromSeconds(MediaTimeoutServerFixture.Seconds - 0.1), $"hung up {after.TotalSeconds:F2} s after the caller fell silent");
        (await anaPhone.WaitAsync()).AssertSucceeded(); // the talk ended as by the caller's hang-up: Lineup's BYE to Ana

        var cdr = await server.CdrAsync(q);
        Assert.Equal(("answered", ana.Id), (cdr.GetProperty("disposition").GetString(), cdr.GetProperty("agent_id").GetInt64()));
        await server.AssertLoggedAsync($"call {cdr.GetProperty("call_id").GetInt64()}: the caller sent no media (RTP or RTCP) for {MediaTimeoutServerFixture.Seconds} s: hung up");
    }

    [Fact]
    public async Task An_agent_phone_that_falls_silent_is_hung_up_after_the_timeout_and_the_call_ends_as_by_its_hang_up()
    {
        var q = await server.QueueAsync("media-timeout-agent", new { strategy = "top_down", ring_timeout = 20 });
        var ana = await server.AgentAsync(q, 1);
        await using var anaMedia = new RtpProbe(Tone.FirstAgent);
        await using var anaPhone = await server.PhoneAsync(ana, "agent-answer.xml", anaMedia, new() { ["ring_ms"] = "300" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller-waits-for-bye.xml", callerMedia, new());

        await TalkLongerThanTheTimeoutAsync(callerMedia, Tone.FirstAgent);
        anaMedia.Mute(sendPackets: false);
        (await anaPhone.WaitAsync()).AssertSucceeded(); // Lineup's BYE to the silent phone
        (await caller.WaitAsync()).AssertSucceeded(); // then to the caller: the agent "hung up"

        var cdr = await server.CdrAsync(q);
        Assert.Equal(("answered", ana.Id), (cdr.GetProperty("disposition").GetString(), cdr.GetProperty("agent_id").GetInt64()));
        await server.AssertLoggedAsync($"call {cdr.GetProperty("call_id").GetInt64()}: agent {ana.Id} sent no media (RTP or RTCP) for {MediaTimeoutServerFixture.Seconds} s: hung up");
    }

    /// <summary>Waits until the caller has heard <paramref name="toneHz"/> for longer than the timeout (media flowing both
    /// ways keeps the call up), then returns the moment on the caller probe's clock.</summary>
    private static async Task<TimeSpan> TalkLongerThanTheTimeoutAsync(RtpProbe callerMedia, int toneHz)
    {
        var frames = (MediaTimeoutServerFixture.Seconds + 1) * 50;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (callerMedia.Timeline(Tone.Names.Keys.ToArray()).Count(f => f.Heard.ToneHz == toneHz) < frames)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the caller did not hear {Tone.Describe(toneHz)} for {frames} frames: "
                + Hearing.Summary(callerMedia.Timeline(Tone.Names.Keys.ToArray())));
            await Task.Delay(50);
        }
        return callerMedia.Now;
    }
}
