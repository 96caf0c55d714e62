using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lineup.Server.Telephony;
using Lineup.Sip.Media;
using Microsoft.Extensions.DependencyInjection;

namespace Lineup.Server.Tests.Media;

/// <summary>GET/DELETE /api/v1/voicemails and the queue's voicemail box in the native API: messages are listed with
/// filters and paging, served as WAV, deleted by an admin only, invisible to other tenants; bad box settings get a 400
/// naming the field and change nothing. (The messages here are put in the box as the SIP front-end does; the SIP path
/// itself is tests/Lineup.Server.Tests/Telephony/VoicemailSipTests.)</summary>
public sealed class VoicemailApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private HttpClient Admin => fixture.Tenant.Admin;

    private VoicemailBox Box => fixture.Factory.Services.GetRequiredService<VoicemailBox>();

    /// <summary>A complete message of <paramref name="seconds"/> of a 440 Hz tone, stored as a call would leave it.</summary>
    private long Leave(long tenant, long queue, string caller, double seconds)
    {
        var (record, audio) = Box.Start(tenant, queue, 7_000_000_001, caller, "Ann", "ops@example.com", attachAudio: true, mailConfigured: false);
        using (var recorder = new MessageRecorder(audio, 60, 0))
        {
            var samples = Telephony.Tone.Samples(440, 0, (int)(seconds * WavFile.SampleRate));
            recorder.Write(RecordingSide.Left, samples);
        }
        Assert.NotNull(Box.Complete(tenant, record.Id, seconds));
        return record.Id;
    }

    [Fact]
    public async Task Messages_are_listed_filtered_paged_served_as_wav_and_deleted_by_an_admin()
    {
        var tenant = fixture.Tenant.Id;
        var q1 = await fixture.Tenant.QueueAsync();
        var q2 = await fixture.Tenant.QueueAsync();
        var a = Leave(tenant, q1, "5550101", 2);
        var b = Leave(tenant, q2, "5550102", 1);
        var c = Leave(tenant, q1, "5550103", 1.5);

        var supervisor = await fixture.Tenant.SupervisorAsync();
        var all = await supervisor.OkAsync("/api/v1/voicemails");
        Assert.Equal([a, b, c], all.GetProperty("items").EnumerateArray().Select(v => v.Id()).Where(id => id >= a).ToArray());
        var first = all.GetProperty("items").EnumerateArray().Single(v => v.Id() == a);
        Assert.Equal((q1, "5550101", "Ann", 2.0), (first.Long("queue_id"), first.Str("caller_number"), first.Str("caller_name"), first.GetProperty("duration_seconds").GetDouble()));
        Assert.Equal($"/api/v1/voicemails/{a}/audio", first.Str("audio_url"));
        Assert.Equal(("ops@example.com", "none"), (first.GetProperty("email").Str("to"), first.GetProperty("email").Str("state")));

        var ofQ1 = await supervisor.OkAsync($"/api/v1/voicemails?queue_id={q1}");
        Assert.Equal([a, c], ofQ1.GetProperty("items").EnumerateArray().Select(v => v.Id()).ToArray());
        var byCaller = await supervisor.OkAsync("/api/v1/voicemails?caller_number=5550102");
        Assert.Equal([b], byCaller.GetProperty("items").EnumerateArray().Select(v => v.Id()).ToArray());
        var future = await supervisor.OkAsync("/api/v1/voicemails?from=2099-01-01T00:00:00Z");
        Assert.Empty(future.GetProperty("items").EnumerateArray());
        var page = await supervisor.OkAsync($"/api/v1/voicemails?queue_id={q1}&limit=1");
        Assert.Equal(a, Assert.Single(page.GetProperty("items").EnumerateArray()).Id());
        var next = await supervisor.OkAsync($"/api/v1/voicemails?queue_id={q1}&limit=1&cursor={page.Str("next_cursor")}");
        Assert.Equal(c, Assert.Single(next.GetProperty("items").EnumerateArray()).Id());

        using var audio = await supervisor.GetAsync(new Uri($"/api/v1/voicemails/{a}/audio", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, audio.StatusCode);
        Assert.Equal("audio/wav", audio.Content.Headers.ContentType?.MediaType);
        var samples = Telephony.Tone.ReadWav(await audio.Content.ReadAsByteArrayAsync());
        Assert.Equal(2 * WavFile.SampleRate, samples.Length);
        Assert.True(Telephony.Tone.Share(samples.AsSpan(800, 160), 440) > 0.95, "the caller's tone is what is served");

        using var bySupervisor = await supervisor.DeleteAsync(new Uri($"/api/v1/voicemails/{a}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Forbidden, bySupervisor.StatusCode);
        using var deleted = await Admin.DeleteAsync(new Uri($"/api/v1/voicemails/{a}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        foreach (var path in new[] { $"/api/v1/voicemails/{a}", $"/api/v1/voicemails/{a}/audio" })
        {
            using var gone = await Admin.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        using var again = await Admin.DeleteAsync(new Uri($"/api/v1/voicemails/{a}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task Another_tenant_gets_404_and_an_agent_403()
    {
        var queue = await fixture.Tenant.QueueAsync();
        var id = Leave(fixture.Tenant.Id, queue, "5550199", 1);
        var other = await fixture.CreateTenantAsync();
        foreach (var path in new[] { $"/api/v1/voicemails/{id}", $"/api/v1/voicemails/{id}/audio" })
        {
            using var response = await other.Admin.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
        using (var delete = await other.Admin.DeleteAsync(new Uri($"/api/v1/voicemails/{id}", UriKind.Relative)))
            Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
        Assert.DoesNotContain((await other.Admin.OkAsync("/api/v1/voicemails")).GetProperty("items").EnumerateArray(), v => v.Id() == id);
        Assert.NotNull(Box.Get(fixture.Tenant.Id, id)); // still there

        var agent = await fixture.Tenant.AgentUserAsync(await fixture.Tenant.AgentAsync());
        using var forbidden = await agent.GetAsync(new Uri("/api/v1/voicemails", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    [Theory]
    [InlineData("queue_id=abc", "queue_id")]
    [InlineData("from=yesterday", "from")]
    [InlineData("limit=0", "limit")]
    [InlineData("cursor=x", "cursor")]
    public async Task Bad_filters_get_a_400_naming_the_field(string query, string field)
    {
        using var response = await Admin.GetAsync(new Uri("/api/v1/voicemails?" + query, UriKind.Relative));
        var problem = await response.JsonAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task The_queue_s_box_round_trips_and_bad_settings_get_a_400_naming_the_field_and_change_nothing()
    {
        var queue = await fixture.Tenant.QueueAsync();
        var box = new { enabled = true, greeting = "welcome-vm", mail_to = "a@example.com, b@example.com", attach_audio = false, max_seconds = 90, silence_seconds = 0 };
        var patched = await (await Admin.PatchAsJsonAsync($"/api/v1/queues/{queue}", new { voicemail = box })).JsonAsync(HttpStatusCode.OK);
        var vm = patched.GetProperty("voicemail");
        Assert.Equal((true, "welcome-vm", "a@example.com, b@example.com", false, 90, 0),
            (vm.GetProperty("enabled").GetBoolean(), vm.Str("greeting"), vm.Str("mail_to"), vm.GetProperty("attach_audio").GetBoolean(),
                vm.GetProperty("max_seconds").GetInt32(), vm.GetProperty("silence_seconds").GetInt32()));

        foreach (var (bad, field) in new (object Body, string Field)[]
        {
            (new { voicemail = new { mail_to = "not an address" } }, "voicemail.mail_to"),
            (new { voicemail = new { max_seconds = 0 } }, "voicemail.max_seconds"),
            (new { voicemail = new { max_seconds = 601 } }, "voicemail.max_seconds"),
            (new { voicemail = new { silence_seconds = -1 } }, "voicemail.silence_seconds"),
            (new { voicemail = new { greeting = "no spaces allowed" } }, "voicemail.greeting"),
        })
        {
            using var response = await Admin.PatchAsJsonAsync($"/api/v1/queues/{queue}", bad);
            var problem = await response.JsonAsync(HttpStatusCode.BadRequest);
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{JsonSerializer.Serialize(bad)}: {problem}");
        }
        var after = (await Admin.OkAsync($"/api/v1/queues/{queue}")).GetProperty("voicemail");
        Assert.Equal(vm.ToString(), after.ToString());
    }
}
