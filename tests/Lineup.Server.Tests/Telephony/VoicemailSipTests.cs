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
/// and the tone, and what it says is recorded (here until the box's longest message, then Lineup hangs up), stored,
/// listed and served by /api/v1/voicemails, published as voicemail.left, and e-mailed with the WAV attached to a local
/// SMTP sink. The CDR says the call ended in voicemail.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class VoicemailSipTests(VoicemailServerFixture server) : IClassFixture<VoicemailServerFixture>
{
    [Fact]
    public async Task A_caller_with_no_agent_leaves_a_message_that_is_listed_served_published_and_emailed()
    {
        var q = await server.QueueAsync("vm", new
        {
            leave_when_no_agents = true,
            destinations = new { no_agents = new { type = "voicemail" } },
            voicemail = new { enabled = true, mail_to = "sales@example.com", attach_audio = true, max_seconds = 3, silence_seconds = 2 },
        });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller-waits-for-bye.xml", callerMedia, new());
        (await caller.WaitAsync()).AssertSucceeded(); // Lineup's BYE once the 3 s message is recorded

        var cdr = await server.CdrAsync(q);
        Assert.Equal(("voicemail", "no_agents"), (cdr.GetProperty("disposition").GetString(), cdr.GetProperty("exit_reason").GetString()));
        var callId = cdr.GetProperty("call_id").GetInt64();

        // Listed (the message is complete once the caller's leg is gone; allow the server a moment).
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
        Assert.StartsWith("+1555000", vm.GetProperty("caller_number").GetString(), StringComparison.Ordinal);
        Assert.InRange(vm.GetProperty("duration_seconds").GetDouble(), 2.9, 3.0);

        // The audio is the caller's: 3 s (the box's longest message), almost all of it the caller's tone.
        using var audio = await server.Api.GetAsync(new Uri($"/api/v1/voicemails/{id}/audio", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, audio.StatusCode);
        var wav = await audio.Content.ReadAsByteArrayAsync();
        var samples = Tone.ReadWav(wav);
        Assert.InRange(samples.Length, 23_000, 24_000);
        Assert.True(Tone.Rms(samples) > 1000, $"the message is silent (RMS {Tone.Rms(samples):0})");
        var (windows, _, total) = Tone.Recording(samples, Tone.Caller);
        Assert.True(windows.GetValueOrDefault(Tone.Caller) >= total * 9 / 10, $"the caller's tone in {windows.GetValueOrDefault(Tone.Caller)} of {total} windows");

        // Published.
        var events = await server.Api.GetFromJsonAsync<JsonElement>("/api/v1/events?after=0");
        var left = Assert.Single(events.GetProperty("items").EnumerateArray(), e => e.GetProperty("type").GetString() == "voicemail.left"
            && e.GetProperty("call_id").GetInt64() == callId);
        Assert.Equal((q.Id, id), (left.GetProperty("queue_id").GetInt64(), left.GetProperty("data").GetProperty("voicemail_id").GetInt64()));

        // E-mailed, with the same WAV attached.
        var mail = await server.Smtp.WaitForAsync(m => m.Subject?.Contains(vm.GetProperty("caller_number").GetString()!, StringComparison.Ordinal) == true);
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
        await server.AssertLoggedAsync($"voicemail {id} of queue {q.Id} stored", $"Voicemail {id} of tenant");
    }
}
