using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Lineup.Server.Tests.Media;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// Issue 15, hold music and prompts from the media library, over SIP: what a caller actually receives is the
/// uploaded sound (each upload a tone of its own, so the caller's RTP says which one it heard, and in what order).
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class MediaEndToEndTests(SipServerFixture server) : IClassFixture<SipServerFixture>
{
    private const int Music = 1350;
    private const int GermanIntro = 1150;
    private const int NeutralIntro = 950;
    private static readonly int[] Sounds = [Music, GermanIntro, NeutralIntro];

    private async Task<long> UploadAsync(byte[] wav, string name, string? language = null)
    {
        using var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(wav);
        part.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        form.Add(part, "file", name + ".wav");
        form.Add(new StringContent(name), "name");
        if (language != null) form.Add(new StringContent(language), "language");
        using var response = await server.Api.PostAsync(new Uri("/api/v1/media", UriKind.Relative), form);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /media answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetInt64();
    }

    [Fact]
    public async Task The_caller_hears_the_queue_s_intro_in_its_language_then_the_uploaded_music_instead_of_the_built_in()
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        // A CD-quality stereo file and two prompts of the same name, one for German queues.
        await UploadAsync(TestWav.Tone(Music, 3, 44100, 2), "music-" + suffix);
        await UploadAsync(TestWav.Tone(NeutralIntro, 1.5, 16000), "hello-" + suffix);
        await UploadAsync(TestWav.Tone(GermanIntro, 1.5, 8000, 1, tag: 7), "hello-" + suffix, "de");
        var q = await server.QueueAsync("moh", new { strategy = "top_down", hold_music = "music-" + suffix, intro_prompt = "hello-" + suffix, language = "de-DE" });

        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller-abandons.xml", callerMedia, new() { ["wait_ms"] = "6000" });
        (await caller.WaitAsync()).AssertSucceeded();

        var timeline = callerMedia.Timeline(Sounds);
        var summary = Hearing.Summary(timeline);
        var intro = timeline.FindIndex(f => f.Heard.ToneHz == GermanIntro);
        // The music starts with the answer; the intro follows at once (a frame or two of music may come first).
        var music = intro < 0 ? -1 : timeline.FindIndex(intro, f => f.Heard.ToneHz == Music);
        Assert.True(intro >= 0 && intro <= 5 && music > intro, $"the German intro, then the music: {summary}");
        Assert.InRange(timeline.Count(f => f.Heard.ToneHz == GermanIntro), 60, 80); // the 1.5 s prompt, once
        Assert.True(timeline.Count(f => f.Heard.ToneHz == Music) >= 150, $"3 s of the uploaded music at least: {summary}");
        Assert.DoesNotContain(timeline, f => f.Heard.ToneHz == NeutralIntro);
        // No built-in music (sound that is none of the uploads), beyond a frame or two where intro and music meet.
        Assert.True(timeline.Count(f => f.Heard == Heard.Other) <= 3, $"only uploaded sounds: {summary}");
        var cdr = await server.CdrAsync(q);
        Assert.Equal("abandoned", cdr.GetProperty("disposition").GetString());
    }

    [Fact]
    public async Task Ringback_instead_of_music()
    {
        var q = await server.QueueAsync("ringback", new { strategy = "top_down", hold_music = "ringback" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller-abandons.xml", callerMedia, new() { ["wait_ms"] = "5500" });
        (await caller.WaitAsync()).AssertSucceeded();
        var timeline = callerMedia.Timeline([425]);
        var summary = Hearing.Summary(timeline);
        // One second of 425 Hz, then four of silence, and again.
        Assert.InRange(timeline.Count(f => f.Heard.ToneHz == 425), 45, 110);
        Assert.True(timeline.Count(f => f.Heard == Heard.Silence) >= 150, summary);
        Assert.True(timeline.Count(f => f.Heard == Heard.Other) <= 6, summary);
    }
}

/// <summary>
/// Issue 15, the post-call survey over SIP: the agent hangs up first, the caller hears the question (and no longer the
/// agent), presses a key, hears the thanks and is hung up; the rating lands in the CDR, the daily statistics and a
/// call.rated event.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class SurveyEndToEndTests(SipServerFixture server) : IClassFixture<SipServerFixture>
{
    [Fact]
    public async Task The_caller_rates_the_call_after_the_agent_hangs_up_and_the_rating_is_in_the_cdr_and_the_statistics()
    {
        var q = await server.QueueAsync("survey", new { strategy = "top_down", ring_timeout = 20, survey_max_rating = 5 });
        var ana = await server.AgentAsync(q, 1);
        await using var agentMedia = new RtpProbe(Tone.FirstAgent);
        await using var phone = await server.PhoneAsync(ana, "agent-answer-hangup.xml", agentMedia, new() { ["ring_ms"] = "300", ["talk_ms"] = "2500" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller-waits-for-bye.xml", callerMedia, new());

        (await phone.WaitAsync()).AssertSucceeded(); // the agent's BYE
        // The question plays once the agent is gone: wait for its first second, then press 4.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan? agentGone = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            var timeline = callerMedia.Timeline(Tone.Names.Keys.ToArray());
            var lastAgent = timeline.FindLastIndex(f => f.Heard.ToneHz == Tone.FirstAgent);
            if (lastAgent >= 0 && timeline.Skip(lastAgent + 1).Count(f => f.Heard == Heard.Other) >= 50)
            {
                agentGone = timeline[lastAgent].At;
                break;
            }
            await Task.Delay(100);
        }
        Assert.True(agentGone != null, $"the caller heard no question after the agent: {Hearing.Summary(callerMedia.Timeline(Tone.Names.Keys.ToArray()))}");
        callerMedia.PressKey('4');
        (await caller.WaitAsync()).AssertSucceeded(); // Lineup's BYE after the thanks

        var cdr = await server.CdrAsync(q);
        Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
        Assert.Equal(4, cdr.GetProperty("rating").GetInt32());
        var after = callerMedia.Timeline(Tone.Names.Keys.ToArray()).Where(f => f.At > agentGone).ToList();
        Assert.DoesNotContain(after, f => f.Heard.ToneHz == Tone.FirstAgent); // the agent's leg is gone
        // The question (about 6 s of speech) and the thanks (about 2 s) are voice: "other" frames, 2.5 s at least.
        Assert.True(after.Count(f => f.Heard == Heard.Other) >= 125, Hearing.Summary(after));

        var stats = (await server.Api.GetFromJsonAsync<JsonElement>($"/api/v1/queues/{q.Id}/stats")).GetProperty("stats");
        Assert.Equal((1, 4.0), (stats.GetProperty("ratings").GetInt32(), stats.GetProperty("average_rating").GetDouble()));
        var events = await server.Api.GetFromJsonAsync<JsonElement>("/api/v1/events?after=0");
        var rated = events.GetProperty("items").EnumerateArray().Where(e => e.GetProperty("type").GetString() == "call.rated").ToList();
        Assert.Contains(rated, e => e.GetProperty("data").GetProperty("rating").GetInt32() == 4
            && e.GetProperty("call_id").GetInt64() == cdr.GetProperty("call_id").GetInt64());
    }
}
