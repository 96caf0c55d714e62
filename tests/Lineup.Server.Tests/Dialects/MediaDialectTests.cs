using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Lineup.Server.Tests.Media;

namespace Lineup.Server.Tests.Dialects;

/// <summary>
/// Issue 15: the dialects' hold-music and prompt fields name media of the tenant's library (/api/v1/media) and set
/// what the caller hears (the queue's hold_music, intro_prompt and language, read natively and through the others).
/// Ids are converted here from docs/dialects/*.md, not with the dialects' own helpers.
/// </summary>
public sealed class MediaDialectTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private TenantSession T => fx.Tenant;
    private HttpClient Admin => T.Admin;
    private string Token => T.Admin.DefaultRequestHeaders.Authorization!.Parameter!;

    private static string PortSip(long id) => Convert.ToBase64String(Encoding.ASCII.GetBytes(id.ToString(CultureInfo.InvariantCulture)));

    private static string FonoQueue(long id) => "00000001-0000-0000-" + id.ToString("x16", CultureInfo.InvariantCulture).Insert(4, "-");

    private async Task<(long Id, string Name, long Bytes)> UploadAsync()
    {
        var name = ApiFixture.Unique("m-");
        var wav = TestWav.Tone(700, 0.5, 22050, 2);
        using var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(wav);
        part.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        form.Add(part, "file", "x.wav");
        form.Add(new StringContent(name), "name");
        using var response = await Admin.PostAsync(new Uri("/api/v1/media", UriKind.Relative), form);
        return ((await response.JsonAsync(HttpStatusCode.Created)).Id(), name, wav.Length);
    }

    private async Task<long> QueueAsync() => (await Admin.CreatedAsync("/api/v1/queues", new { name = ApiFixture.Unique("q"), extension = ApiFixture.Number() })).Id();

    private async Task<JsonElement> NativeAsync(long queue) => await Admin.OkAsync($"/api/v1/queues/{queue}");

    [Fact]
    public async Task PortSip_prompt_files_are_library_media_with_their_name_size_and_url()
    {
        var music = await UploadAsync();
        var intro = await UploadAsync();
        var q = await QueueAsync();
        await (await Admin.SendJsonAsync(HttpMethod.Post, $"/api/call_queues/{PortSip(q)}", new
        {
            moh_prompt_file_id = PortSip(music.Id),
            intro_prompt_file_id = PortSip(intro.Id),
            intro_type = "NORMAL",
            language = "de-DE",
        })).JsonAsync(HttpStatusCode.OK);
        var native = await NativeAsync(q);
        Assert.Equal((music.Id.ToString(CultureInfo.InvariantCulture), intro.Id.ToString(CultureInfo.InvariantCulture), "de-DE"),
            (native.Str("hold_music"), native.Str("intro_prompt"), native.Str("language")));
        var doc = await Admin.OkAsync($"/api/call_queues/{PortSip(q)}");
        Assert.Equal((music.Name, music.Bytes, $"/api/v1/media/{music.Id}/audio"),
            (doc.Str("moh_prompt_file_name"), doc.Long("moh_prompt_file_size"), doc.Str("moh_prompt_file_url")));
        Assert.Equal((intro.Name, intro.Bytes), (doc.Str("intro_prompt_file_name"), doc.Long("intro_prompt_file_size")));
        // The file fields now have the golden file's types (strings and a size, not null and 0).
        var golden = GoldenShapes.Load("portsip", "call_queue_get.json");
        foreach (var field in new[] { "moh_prompt_file_name", "moh_prompt_file_size", "moh_prompt_file_url", "intro_prompt_file_name", "intro_prompt_file_size", "intro_prompt_file_url" })
            Assert.Equal(golden.GetProperty(field).ValueKind, doc.GetProperty(field).ValueKind);

        // intro_type DISABLE keeps the file but no intro is played; NORMAL again plays it.
        await (await Admin.SendJsonAsync(HttpMethod.Post, $"/api/call_queues/{PortSip(q)}", new { intro_type = "DISABLE" })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(JsonValueKind.Null, (await NativeAsync(q)).GetProperty("intro_prompt").ValueKind);
        Assert.Equal(PortSip(intro.Id), (await Admin.OkAsync($"/api/call_queues/{PortSip(q)}")).Str("intro_prompt_file_id"));
        await (await Admin.SendJsonAsync(HttpMethod.Post, $"/api/call_queues/{PortSip(q)}", new { intro_type = "FULL" })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(intro.Id.ToString(CultureInfo.InvariantCulture), (await NativeAsync(q)).Str("intro_prompt"));
    }

    [Fact]
    public async Task Telphin_sound_is_the_hold_music_and_ring_is_ringback()
    {
        var music = await UploadAsync();
        var q = await QueueAsync();
        var put = await (await Admin.SendJsonAsync(HttpMethod.Put, $"/api/ver1.0/extension/{q}/queue/", new { sound = music.Id, sound_type = "music" })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(music.Id, put.Long("sound"));
        Assert.Equal(music.Id.ToString(CultureInfo.InvariantCulture), (await NativeAsync(q)).Str("hold_music"));
        await (await Admin.SendJsonAsync(HttpMethod.Put, $"/api/ver1.0/extension/{q}/queue/", new { sound_type = "ring" })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("ringback", (await NativeAsync(q)).Str("hold_music"));
        // Set natively, read by Telphin.
        await Admin.PatchOkAsync($"/api/v1/queues/{q}", new { hold_music = music.Id.ToString(CultureInfo.InvariantCulture) });
        var get = await (await Admin.GetAsync(new Uri($"/api/ver1.0/extension/{q}/queue/", UriKind.Relative))).JsonAsync(HttpStatusCode.OK);
        Assert.Equal((music.Id, "music"), (get.Long("sound"), get.Str("sound_type")));
    }

    [Fact]
    public async Task Kazoo_hold_treatment_and_FonoUc_moh_name_the_hold_music()
    {
        var music = await UploadAsync();
        var q = await QueueAsync();
        var kazoo = fx.Anonymous();
        kazoo.DefaultRequestHeaders.Add("X-Auth-Token", Token);
        var account = $"/v2/accounts/{T.Id.ToString("x32", CultureInfo.InvariantCulture)}";
        var queueId = q.ToString("x32", CultureInfo.InvariantCulture);
        await (await kazoo.SendRawAsync(HttpMethod.Patch, $"{account}/qubicle_queues/{queueId}", $$$"""{"data":{"hold_treatment":"/media/{{{music.Id}}}"}}""")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(music.Id.ToString(CultureInfo.InvariantCulture), (await NativeAsync(q)).Str("hold_music"));
        await (await kazoo.SendRawAsync(HttpMethod.Patch, $"{account}/qubicle_queues/{queueId}", """{"data":{"hold_treatment":"no spaces"}}""")).JsonAsync(HttpStatusCode.BadRequest);

        var fono = fx.WithBearer(Token, T.Id);
        await (await fono.SendJsonAsync(HttpMethod.Put, $"/api/v2/config/queues/{FonoQueue(q)}", new { moh = music.Name })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(music.Name, (await NativeAsync(q)).Str("hold_music"));
        var kazooView = await (await kazoo.GetAsync(new Uri($"{account}/qubicle_queues/{queueId}", UriKind.Relative))).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(music.Name, kazooView.GetProperty("data").Str("hold_treatment"));
    }

    [Fact]
    public async Task Telphin_quality_rate_and_FonoUc_csat_turn_the_post_call_survey_on()
    {
        var question = await UploadAsync();
        var q = await QueueAsync();
        var put = await (await Admin.SendJsonAsync(HttpMethod.Put, $"/api/ver1.0/extension/{q}/queue/", new
        {
            agent_hangup_action = "quality_rate",
            quality_rate_max = 4,
            quality_rate_sound = question.Id,
        })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(("quality_rate", 4, question.Id), (put.Str("agent_hangup_action"), put.Int("quality_rate_max"), put.Long("quality_rate_sound")));
        var native = await NativeAsync(q);
        Assert.Equal((4, question.Id.ToString(CultureInfo.InvariantCulture)), (native.Int("survey_max_rating"), native.Str("survey_prompt")));
        await (await Admin.SendJsonAsync(HttpMethod.Put, $"/api/ver1.0/extension/{q}/queue/", new { quality_rate_max = 10 })).JsonAsync(HttpStatusCode.BadRequest);
        await (await Admin.SendJsonAsync(HttpMethod.Put, $"/api/ver1.0/extension/{q}/queue/", new { agent_hangup_action = "transfer" })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(0, (await NativeAsync(q)).Int("survey_max_rating"));

        var fono = fx.WithBearer(Token, T.Id);
        await (await fono.SendJsonAsync(HttpMethod.Put, $"/api/v2/config/queues/{FonoQueue(q)}", new
        {
            csat = new { callflow = question.Name, direction = "", note = "" },
        })).JsonAsync(HttpStatusCode.OK);
        native = await NativeAsync(q);
        Assert.Equal((5, question.Name), (native.Int("survey_max_rating"), native.Str("survey_prompt")));
        await (await fono.SendJsonAsync(HttpMethod.Put, $"/api/v2/config/queues/{FonoQueue(q)}", new { disable_call_rating = true })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(0, (await NativeAsync(q)).Int("survey_max_rating"));
    }

    [Fact]
    public async Task Telphin_agent_announce_sound_and_report_wait_time_set_the_agent_whisper_both_ways()
    {
        var whisper = await UploadAsync();
        var q = await QueueAsync();
        var native = await NativeAsync(q);
        Assert.Equal((JsonValueKind.Null, false), (native.GetProperty("agent_announce_prompt").ValueKind, native.GetProperty("agent_announce_wait_time").GetBoolean()));

        var put = await (await Admin.SendJsonAsync(HttpMethod.Put, $"/api/ver1.0/extension/{q}/queue/", new { agent_announce_sound = whisper.Id, agent_report_wait_time = true }))
            .JsonAsync(HttpStatusCode.OK);
        Assert.Equal((whisper.Id, true), (put.Long("agent_announce_sound"), put.GetProperty("agent_report_wait_time").GetBoolean()));
        native = await NativeAsync(q);
        Assert.Equal((whisper.Id.ToString(CultureInfo.InvariantCulture), true), (native.Str("agent_announce_prompt"), native.GetProperty("agent_announce_wait_time").GetBoolean()));

        // Set natively, read by Telphin; 0 turns the prompt off.
        await Admin.PatchOkAsync($"/api/v1/queues/{q}", new { agent_announce_wait_time = false });
        var get = await (await Admin.GetAsync(new Uri($"/api/ver1.0/extension/{q}/queue/", UriKind.Relative))).JsonAsync(HttpStatusCode.OK);
        Assert.Equal((whisper.Id, false), (get.Long("agent_announce_sound"), get.GetProperty("agent_report_wait_time").GetBoolean()));
        await (await Admin.SendJsonAsync(HttpMethod.Put, $"/api/ver1.0/extension/{q}/queue/", new { agent_announce_sound = 0 })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(JsonValueKind.Null, (await NativeAsync(q)).GetProperty("agent_announce_prompt").ValueKind);

        // A bad reference is a 400 naming the field, and changes nothing.
        await (await Admin.SendJsonAsync(HttpMethod.Patch, $"/api/v1/queues/{q}", new { agent_announce_prompt = "no spaces" })).ProblemAsync(HttpStatusCode.BadRequest, "agent_announce_prompt");
        await (await Admin.SendJsonAsync(HttpMethod.Put, $"/api/ver1.0/extension/{q}/queue/", new { agent_report_wait_time = "yes" })).JsonAsync(HttpStatusCode.BadRequest);
        Assert.False((await NativeAsync(q)).GetProperty("agent_announce_wait_time").GetBoolean());

        // A queue extension made through Telphin reports the wait (the seed's default).
        var created = await (await Admin.SendJsonAsync(HttpMethod.Post, "/api/ver1.0/client/@me/extension/", new { name = ApiFixture.Number()[2..], type = "queue" })).JsonAsync(HttpStatusCode.Created);
        Assert.True((await NativeAsync(created.Id())).GetProperty("agent_announce_wait_time").GetBoolean());
    }
}
