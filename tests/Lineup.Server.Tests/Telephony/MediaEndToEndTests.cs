using System.Net;
using System.Net.Http.Headers;
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
        var music = timeline.FindIndex(f => f.Heard.ToneHz == Music);
        Assert.True(intro >= 0 && music > intro, $"the German intro, then the music: {summary}");
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
