using System.Net;
using System.Net.Http.Headers;
using Lineup.Server.Tests.Media;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// Issue 15, the agent whisper before the bridge, over SIP: the answering agent alone hears the queue's announce
/// prompt and the caller's wait, then is connected; the caller hears its music all the while and never the whisper.
/// Each sound is a tone of its own, so what each party's RTP carried, and in what order, tells what it heard.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class AgentWhisperSipTests(SipServerFixture server, ITestOutputHelper output) : IClassFixture<SipServerFixture>
{
    private const int Music = 1350;
    private const int Whisper = 1150;
    private static readonly int[] Sounds = [Music, Whisper, Tone.Caller, Tone.FirstAgent];

    private async Task UploadAsync(byte[] wav, string name)
    {
        using var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(wav);
        part.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        form.Add(part, "file", name + ".wav");
        form.Add(new StringContent(name), "name");
        using var response = await server.Api.PostAsync(new Uri("/api/v1/media", UriKind.Relative), form);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /media answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task The_agent_alone_hears_the_announcement_and_the_wait_before_the_bridge_while_the_caller_hears_music()
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        await UploadAsync(TestWav.Tone(Music, 4, 8000), "music-" + suffix);
        await UploadAsync(TestWav.Tone(Whisper, 1.2, 16000), "whisper-" + suffix);
        var q = await server.QueueAsync("whisper", new
        {
            strategy = "top_down",
            hold_music = "music-" + suffix,
            agent_announce_prompt = "whisper-" + suffix,
            agent_announce_wait_time = true,
        });
        var ana = await server.AgentAsync(q, 1);
        await using var agentMedia = new RtpProbe(Tone.FirstAgent);
        await using var phone = await server.PhoneAsync(ana, "agent-answer.xml", agentMedia, new() { ["ring_ms"] = "1000" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "10000" });
        (await caller.WaitAsync()).AssertSucceeded();
        (await phone.WaitAsync()).AssertSucceeded();

        var agent = agentMedia.Timeline(Sounds);
        var heardByAgent = Hearing.Summary(agent);
        output.WriteLine($"agent: {heardByAgent}");
        var whisperAt = agent.FindIndex(f => f.Heard.ToneHz == Whisper);
        var whisperEnd = agent.FindLastIndex(f => f.Heard.ToneHz == Whisper);
        var callerAt = agent.FindIndex(f => f.Heard.ToneHz == Tone.Caller);
        // The announcement first (1.2 s, once), then the wait said in words, then the caller; never the music.
        Assert.True(whisperAt >= 0 && callerAt > whisperEnd, $"the agent heard the announcement, then the caller: {heardByAgent}");
        Assert.True(agent.Take(whisperAt).All(f => f.Heard == Heard.Silence), $"nothing before the announcement: {heardByAgent}");
        Assert.InRange(agent.Count(f => f.Heard.ToneHz == Whisper), 50, 70);
        var spoken = agent.Skip(whisperEnd + 1).Take(callerAt - whisperEnd - 1).Count(f => f.Heard == Heard.Other);
        Assert.True(spoken >= 60, $"the caller's wait was said in {spoken} frames of speech only: {heardByAgent}");
        Assert.DoesNotContain(agent, f => f.Heard.ToneHz == Music);
        Assert.True(agent.Count(f => f.Heard.ToneHz == Tone.Caller) >= Hearing.MinimumFrames, $"the agent was bridged to the caller: {heardByAgent}");

        var heard = callerMedia.Timeline(Sounds);
        var heardByCaller = Hearing.Summary(heard);
        output.WriteLine($"caller: {heardByCaller}");
        Assert.DoesNotContain(heard, f => f.Heard.ToneHz == Whisper);
        var agentAt = heard.FindIndex(f => f.Heard.ToneHz == Tone.FirstAgent);
        Assert.True(agentAt > 0, $"the caller was bridged to the agent: {heardByCaller}");
        // Music until the bridge: through the ringing (1 s) and the whisper (1.2 s of tone and about 2 s of words), not
        // a second more of silence than packets need to start.
        var music = heard.Take(agentAt).Count(f => f.Heard.ToneHz == Music);
        Assert.True(music >= 180, $"the caller heard {music} frames of music before the agent only: {heardByCaller}");
        Assert.True(heard.Take(agentAt).Count(f => f.Heard == Heard.Silence) <= 5, $"the caller's music stopped before the bridge: {heardByCaller}");

        var cdr = await server.CdrAsync(q);
        Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
        Assert.InRange(cdr.GetProperty("wait_seconds").GetDouble(), 0.5, 10);
    }
}
