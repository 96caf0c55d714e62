using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MimeKit;

namespace Lineup.Server.Tests.Telephony;

/// <summary>The SIP server with an SMTP server configured: a local sink (python3-aiosmtpd) that keeps the e-mails.</summary>
public sealed class VoicemailServerFixture : SipServerFixture
{
    public SmtpSink Smtp { get; private set; } = null!;

    protected override IEnumerable<string> ExtraServerArguments =>
    [
        "--Smtp:Host=127.0.0.1",
        $"--Smtp:Port={Smtp.Port}",
        "--Smtp:From=lineup@example.com",
        "--Smtp:Security=none",
        "--Smtp:RetrySeconds=0.5",
    ];

    public override async Task InitializeAsync()
    {
        Smtp = await SmtpSink.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Smtp != null) await Smtp.DisposeAsync();
    }
}

/// <summary>
/// Issue 15, voicemail over SIP: a caller that finds no agent is sent to the queue's voicemail box, hears the greeting
/// and the tone, and what it says is recorded until the box's longest message (then Lineup hangs up), until it falls
/// silent for the box's silence (sending quiet audio, or no packets at all; then Lineup hangs up), or until it hangs up.
/// Each message is stored with its real length, listed and served by /api/v1/voicemails, published as voicemail.left,
/// and e-mailed with the WAV attached to a local SMTP sink. The CDR says the call ended in voicemail.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class VoicemailSipTests(VoicemailServerFixture server) : IClassFixture<VoicemailServerFixture>
{
    /// <summary>The built-in greeting (4 s) and the tone after it (0.5 s): the recording starts after them.</summary>
    private const int Beep = 1000;

    private Task<SipQueue> QueueAsync(string name, int maxSeconds, int silenceSeconds) => server.QueueAsync(name, new
    {
        leave_when_no_agents = true,
        destinations = new { no_agents = new { type = "voicemail" } },
        voicemail = new { enabled = true, mail_to = "sales@example.com", attach_audio = true, max_seconds = maxSeconds, silence_seconds = silenceSeconds },
    });

    [Fact]
    public async Task A_caller_with_no_agent_leaves_a_message_that_is_listed_served_published_and_emailed()
    {
        var q = await QueueAsync("vm", maxSeconds: 3, silenceSeconds: 2);
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller-waits-for-bye.xml", callerMedia, new());
        (await caller.WaitAsync()).AssertSucceeded(); // Lineup's BYE once the 3 s message is recorded

        var (vm, samples) = await MessageAsync(q, "the longest message");
        Assert.StartsWith("+1555000", vm.GetProperty("caller_number").GetString(), StringComparison.Ordinal);
        Assert.InRange(vm.GetProperty("duration_seconds").GetDouble(), 2.9, 3.0);
        // The audio is the caller's: 3 s (the box's longest message), almost all of it the caller's tone.
        Assert.InRange(samples.Length, 23_000, 24_000);
        Assert.True(Tone.Rms(samples) > 1000, $"the message is silent (RMS {Tone.Rms(samples):0})");
        var (windows, _, total) = Tone.Recording(samples, Tone.Caller);
        Assert.True(windows.GetValueOrDefault(Tone.Caller) >= total * 9 / 10, $"the caller's tone in {windows.GetValueOrDefault(Tone.Caller)} of {total} windows");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_caller_that_falls_silent_ends_the_message_after_the_box_s_silence_which_the_message_keeps(bool sendsQuietPackets)
    {
        var q = await QueueAsync("vm-silence", maxSeconds: 30, silenceSeconds: 2);
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller-waits-for-bye.xml", callerMedia, new());
        await BeepHeardAsync(callerMedia);
        await Task.Delay(1500);
        var mutedAt = callerMedia.Now;
        callerMedia.Mute(sendsQuietPackets);
        (await caller.WaitAsync()).AssertSucceeded(); // Lineup's BYE after 2 s of silence, long before 30 s

        var hungUpAfter = callerMedia.Now - mutedAt; // sipp waits 2 s after Lineup's BYE before it exits
        Assert.True(hungUpAfter < TimeSpan.FromSeconds(8), $"Lineup hung up {hungUpAfter.TotalSeconds:0.0} s after the caller fell silent");

        var (vm, samples) = await MessageAsync(q, "silence");
        // The message: the caller's tone (from the recording's start until it fell silent, ~1.5 s), then the 2 s of silence.
        var tail = TrailingSilenceSeconds(samples);
        Assert.InRange(tail, 1.9, 2.1);
        var spoken = (samples.Length / (double)Tone.SampleRate) - tail;
        // Lower bounds leave room for the test's own sender falling behind on a loaded machine: a gap of more than
        // 200 ms in its packets is (rightly) recorded as silence inside the tone.
        Assert.InRange(spoken, 0.5, 2.5);
        var (windows, _, total) = Tone.Recording(samples[..(int)(spoken * Tone.SampleRate)], Tone.Caller);
        Assert.True(windows.GetValueOrDefault(Tone.Caller) >= total * 9 / 10, $"the caller's tone in {windows.GetValueOrDefault(Tone.Caller)} of {total} windows");
        Assert.InRange(vm.GetProperty("duration_seconds").GetDouble(), 2.4, 4.6);
    }

    [Fact]
    public async Task A_caller_that_hangs_up_mid_message_leaves_what_it_said()
    {
        var q = await QueueAsync("vm-hangup", maxSeconds: 30, silenceSeconds: 5);
        await using var callerMedia = new RtpProbe(Tone.Caller);
        // The caller talks throughout and hangs up 7.5 s after Lineup answered: ~3 s after the tone.
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "7500" });
        var beepEnded = await BeepHeardAsync(callerMedia);
        (await caller.WaitAsync()).AssertSucceeded();
        var answered = callerMedia.Packets[0].At; // Lineup's first packet: it answered

        var (vm, samples) = await MessageAsync(q, "the caller's hang-up");
        var expected = 7.5 - (beepEnded - answered).TotalSeconds;
        var seconds = vm.GetProperty("duration_seconds").GetDouble();
        Assert.InRange(seconds, expected - 0.7, expected + 0.3);
        var (windows, _, total) = Tone.Recording(samples, Tone.Caller);
        Assert.True(windows.GetValueOrDefault(Tone.Caller) >= total * 9 / 10, $"the caller's tone in {windows.GetValueOrDefault(Tone.Caller)} of {total} windows");
        Assert.True(TrailingSilenceSeconds(samples) < 0.3, "the message ends with silence the caller did not leave");
    }

    /// <summary>Waits until the caller has heard the tone after the greeting and it has ended (nothing of it for 300 ms):
    /// the recording has started. Returns when the tone's last frame came, on the probe's clock.</summary>
    private static async Task<TimeSpan> BeepHeardAsync(RtpProbe probe)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            // The last run of frames that are the tone (0.4 s: 20 frames).
            var timeline = probe.Timeline([Beep]);
            var end = timeline.FindLastIndex(f => f.Heard.ToneHz == Beep);
            var run = 0;
            while (end - run >= 0 && timeline[end - run].Heard.ToneHz == Beep) run++;
            if (run >= 10 && probe.Now - timeline[end].At > TimeSpan.FromMilliseconds(300)) return timeline[end].At;
            await Task.Delay(50);
        }
        Assert.Fail("the caller never heard the voicemail tone");
        return default;
    }

    /// <summary>Seconds of digital silence (|sample| below 100) at the end of a message.</summary>
    private static double TrailingSilenceSeconds(int[] samples)
    {
        var i = samples.Length;
        while (i > 0 && Math.Abs(samples[i - 1]) < 100) i--;
        return (samples.Length - i) / (double)Tone.SampleRate;
    }

    /// <summary>The queue's one message, once listed (it is complete once the caller's leg is gone): its duration is its
    /// WAV's length, it belongs to the call the CDR ended in voicemail, it was logged as ended by
    /// <paramref name="endedBy"/>, published as voicemail.left and e-mailed with the same WAV attached.</summary>
    private async Task<(JsonElement Vm, int[] Samples)> MessageAsync(SipQueue q, string endedBy)
    {
        var cdr = await server.CdrAsync(q);
        Assert.Equal(("voicemail", "no_agents"), (cdr.GetProperty("disposition").GetString(), cdr.GetProperty("exit_reason").GetString()));
        var callId = cdr.GetProperty("call_id").GetInt64();

        JsonElement vm = default;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            var list = await server.Api.GetFromJsonAsync<JsonElement>($"/api/v1/voicemails?queue_id={q.Id}");
            if (list.GetProperty("items").EnumerateArray().FirstOrDefault() is { ValueKind: JsonValueKind.Object } found)
            {
                vm = found;
                break;
            }
            await Task.Delay(200);
        }
        if (vm.ValueKind != JsonValueKind.Object) await server.AssertLoggedAsync("voicemail … stored"); // fails with the server's log
        Assert.True(vm.ValueKind == JsonValueKind.Object, "no voicemail was listed");
        var id = vm.GetProperty("id").GetInt64();
        Assert.Equal(callId, vm.GetProperty("call_id").GetInt64());
        await server.AssertLoggedAsync($"voicemail {id} of queue {q.Id} stored, … s, ended by {endedBy}");

        using var audio = await server.Api.GetAsync(new Uri($"/api/v1/voicemails/{id}/audio", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, audio.StatusCode);
        var wav = await audio.Content.ReadAsByteArrayAsync();
        var samples = Tone.ReadWav(wav);
        Assert.Equal(samples.Length / (double)Tone.SampleRate, vm.GetProperty("duration_seconds").GetDouble(), 0.01);

        // This queue's voicemail.left events (the server's recent events are paged, and other tests' calls share them).
        // The message is listed once stored; its event follows through the engine's mailbox, so it may come a moment later.
        JsonElement[] published;
        clock.Restart();
        while (true)
        {
            var events = await server.Api.GetFromJsonAsync<JsonElement>($"/api/v1/events?after=0&limit=1000&types=voicemail.left&queue_id={q.Id}");
            published = [.. events.GetProperty("items").EnumerateArray().Where(e => e.GetProperty("type").GetString() == "voicemail.left"
                && e.GetProperty("call_id").GetInt64() == callId)];
            if (published.Length > 0 || clock.Elapsed > TimeSpan.FromSeconds(10)) break;
            await Task.Delay(100);
        }
        var left = Assert.Single(published);
        Assert.Equal((q.Id, id), (left.GetProperty("queue_id").GetInt64(), left.GetProperty("data").GetProperty("voicemail_id").GetInt64()));
        Assert.Equal(vm.GetProperty("duration_seconds").GetDouble(), left.GetProperty("data").GetProperty("duration_seconds").GetDouble(), 0.01);

        // E-mailed, with the same WAV attached.
        var mail = await server.Smtp.WaitForAsync(m => m.Subject?.Contains(vm.GetProperty("caller_number").GetString()!, StringComparison.Ordinal) == true
            && m.Attachments.OfType<MimePart>().Any(a => a.FileName == $"voicemail-{id}.wav"));
        Assert.Equal("sales@example.com", Assert.Single(mail.To.Mailboxes).Address);
        Assert.Equal("lineup@example.com", Assert.Single(mail.From.Mailboxes).Address);
        var attachment = Assert.Single(mail.Attachments.OfType<MimePart>());
        Assert.Equal(($"voicemail-{id}.wav", "audio/wav"), (attachment.FileName, attachment.ContentType.MimeType));
        using var attached = new MemoryStream();
        await attachment.Content!.DecodeToAsync(attached);
        Assert.Equal(wav, attached.ToArray());
        clock.Restart();
        string state;
        do
        {
            state = (await server.Api.GetFromJsonAsync<JsonElement>($"/api/v1/voicemails/{id}")).GetProperty("email").GetProperty("state").GetString()!;
            if (state == "sent") break;
            await Task.Delay(100);
        }
        while (clock.Elapsed < TimeSpan.FromSeconds(10));
        Assert.Equal("sent", state);
        await server.AssertLoggedAsync($"Voicemail {id} of tenant");
        return (vm, samples);
    }
}
