using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Lineup.Server.Tests.Media;

/// <summary>POST/GET/DELETE /api/v1/media: uploads are converted to 8 kHz once, bad files are refused with a 400 that
/// names the field and leave nothing behind, a media item a queue uses cannot be deleted, tenants see only their own.</summary>
public sealed class MediaApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private HttpClient Admin => fixture.Tenant.Admin;

    private static MultipartFormDataContent Form(byte[] file, string? name, string? language = null, string fileName = "sound.wav")
    {
        var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(file);
        part.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        form.Add(part, "file", fileName);
        if (name != null) form.Add(new StringContent(name), "name");
        if (language != null) form.Add(new StringContent(language), "language");
        return form;
    }

    private string MediaDir => Path.Combine(fixture.Factory.DataDir, "media", fixture.Tenant.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private string[] StoredFiles => Directory.Exists(MediaDir) ? Directory.GetFiles(MediaDir) : [];

    [Fact]
    public async Task A_44_kHz_stereo_upload_is_listed_served_at_8_kHz_and_deleted()
    {
        var name = ApiFixture.Unique("summer-");
        using var response = await Admin.PostAsync(new Uri("/api/v1/media", UriKind.Relative), Form(TestWav.Tone(1000, 2, 44100, 2), name));
        var created = await response.JsonAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetInt64();
        Assert.Equal(name, created.GetProperty("name").GetString());
        Assert.Equal("WAV 16-bit PCM, 44100 Hz, 2 channels", created.GetProperty("source_format").GetString());
        Assert.Equal(2.0, created.GetProperty("duration_seconds").GetDouble(), 2);
        Assert.Equal($"/api/v1/media/{id}", response.Headers.Location?.OriginalString);

        var list = await Admin.OkAsync("/api/v1/media");
        Assert.Contains(list.EnumerateArray(), m => m.GetProperty("id").GetInt64() == id);
        using var audio = await Admin.GetAsync(new Uri($"/api/v1/media/{id}/audio", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, audio.StatusCode);
        var samples = Telephony.Tone.ReadWav(await audio.Content.ReadAsByteArrayAsync());
        Assert.InRange(samples.Length, 15_990, 16_000); // 2 s at 8 kHz, mono
        Assert.True(Telephony.Tone.Share(samples.AsSpan(800, 160), 1000) > 0.95, "the 1 kHz tone is what is stored");

        using var deleted = await Admin.DeleteAsync(new Uri($"/api/v1/media/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await Admin.GetAsync(new Uri($"/api/v1/media/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.DoesNotContain(StoredFiles, f => Path.GetFileNameWithoutExtension(f) == id.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_raw_body_upload_with_the_name_in_the_query_works_too()
    {
        var content = new ByteArrayContent(TestWav.Tone(500, 1, 16000, 1, tag: 1));
        content.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        using var response = await Admin.PostAsync(new Uri($"/api/v1/media?name={ApiFixture.Unique("raw-")}&language=de", UriKind.Relative), content);
        var created = await response.JsonAsync(HttpStatusCode.Created);
        Assert.Equal("de", created.GetProperty("language").GetString());
        Assert.Equal("WAV 16-bit PCM, 16000 Hz, 1 channel", created.GetProperty("source_format").GetString());
    }

    public static TheoryData<string, byte[], string?> BadUploads => new()
    {
        { "not audio", "<html>hello</html>"u8.ToArray(), "not a RIFF/WAVE file" },
        { "96 kHz", TestWav.Tone(1000, 0.5, 96000), "sample rate 96000 Hz" },
        { "4-bit ADPCM", TestWav.Wrap(2, 1, 8000, 4, new byte[4000]), "format 2" },
        { "no samples", TestWav.Wrap(1, 1, 8000, 16, []), "no audio" },
        { "empty", [], "file is required" },
        { "an ID3 tag and no MPEG audio", [.. "ID3"u8, 3, 0, 0, 0, 0, 0, 10, .. "not an mp3 at all, only text"u8], "not an MP3 file Lineup can decode" },
        { "an MP3 cut after its first header", Mp3()[..4], "MP3" },
    };

    private static byte[] Mp3() => SoundFixtures.Mp3Tone();

    [Fact]
    public async Task An_mp3_upload_is_decoded_once_into_8_kHz_audio_and_plays_like_a_wav()
    {
        var name = ApiFixture.Unique("mp3-");
        var mp3 = Mp3();
        using var response = await Admin.PostAsync(new Uri("/api/v1/media", UriKind.Relative), Form(mp3, name, fileName: "tone.mp3"));
        var created = await response.JsonAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetInt64();
        Assert.Equal("MP3, 44100 Hz, 2 channels", created.GetProperty("source_format").GetString());
        Assert.Equal(mp3.Length, created.GetProperty("source_bytes").GetInt64());
        Assert.InRange(created.GetProperty("duration_seconds").GetDouble(), 1.5, 1.6);
        // What is stored and served is the converted WAV, not the MP3.
        Assert.DoesNotContain(StoredFiles, f => File.ReadAllBytes(f).AsSpan().StartsWith(mp3.AsSpan(0, 16)));
        using var audio = await Admin.GetAsync(new Uri($"/api/v1/media/{id}/audio", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, audio.StatusCode);
        var samples = Telephony.Tone.ReadWav(await audio.Content.ReadAsByteArrayAsync());
        Assert.True(Telephony.Tone.Share(samples.AsSpan(4000, 160), 880) > 0.9, "the 880 Hz tone is what is stored");
        // As the raw body too.
        using var raw = await Admin.PostAsync(new Uri($"/api/v1/media?name={ApiFixture.Unique("mp3raw-")}", UriKind.Relative), new ByteArrayContent(mp3));
        Assert.Equal("MP3, 44100 Hz, 2 channels", (await raw.JsonAsync(HttpStatusCode.Created)).GetProperty("source_format").GetString());
    }

    [Fact]
    public async Task An_mp3_over_the_size_limit_is_a_400_and_nothing_is_stored()
    {
        using var factory = new LineupFactory { Settings = { ["Sip:MediaMaxBytes"] = "20000" } };
        var admin = await factory.SignInAsync();
        var mp3 = Mp3();
        Assert.True(mp3.Length > 20000);
        using (var big = await admin.PostAsync(new Uri("/api/v1/media", UriKind.Relative), Form(mp3, "big", fileName: "big.mp3")))
            Assert.Contains("limit is 20000", (await big.JsonAsync(HttpStatusCode.BadRequest)).GetProperty("errors").GetProperty("file")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await admin.OkAsync("/api/v1/media")).GetArrayLength());
    }

    [Theory]
    [MemberData(nameof(BadUploads))]
    public async Task Bad_files_get_a_400_naming_the_file_and_leave_nothing_stored(string what, byte[] file, string? reason)
    {
        var before = StoredFiles;
        var count = (await Admin.OkAsync("/api/v1/media")).GetArrayLength();
        using var response = await Admin.PostAsync(new Uri("/api/v1/media", UriKind.Relative), Form(file, ApiFixture.Unique("bad-")));
        var problem = await response.JsonAsync(HttpStatusCode.BadRequest);
        var message = problem.GetProperty("errors").GetProperty("file")[0].GetString();
        Assert.Contains(reason!, message, StringComparison.Ordinal);
        Assert.Equal(count, (await Admin.OkAsync("/api/v1/media")).GetArrayLength());
        Assert.Equal(before, StoredFiles);
        _ = what;
    }

    [Fact]
    public async Task Too_big_bad_name_and_bad_language_are_400s()
    {
        using var factory = new LineupFactory { Settings = { ["Sip:MediaMaxBytes"] = "20000" } };
        var admin = await factory.SignInAsync();
        using (var big = await admin.PostAsync(new Uri("/api/v1/media", UriKind.Relative), Form(TestWav.Tone(440, 2), "big")))
            Assert.Contains("limit is 20000", (await big.JsonAsync(HttpStatusCode.BadRequest)).GetProperty("errors").GetProperty("file")[0].GetString(), StringComparison.Ordinal);
        var raw = new ByteArrayContent(TestWav.Tone(440, 2));
        using (var bigRaw = await admin.PostAsync(new Uri("/api/v1/media?name=big", UriKind.Relative), raw))
            Assert.True((await bigRaw.JsonAsync(HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("file", out _));
        using (var badName = await admin.PostAsync(new Uri("/api/v1/media", UriKind.Relative), Form(TestWav.Tone(440, 0.5), "../etc/passwd")))
            Assert.True((await badName.JsonAsync(HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("name", out _));
        using (var badLanguage = await admin.PostAsync(new Uri("/api/v1/media", UriKind.Relative), Form(TestWav.Tone(440, 0.5), "ok", "not a language")))
            Assert.True((await badLanguage.JsonAsync(HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("language", out _));
        Assert.Equal(0, (await admin.OkAsync("/api/v1/media")).GetArrayLength());
        Assert.False(Directory.Exists(Path.Combine(factory.DataDir, "media", "1")) && Directory.GetFiles(Path.Combine(factory.DataDir, "media", "1")).Length > 0);
    }

    [Fact]
    public async Task A_name_is_unique_per_language_and_media_a_queue_uses_cannot_be_deleted()
    {
        var name = ApiFixture.Unique("welcome-");
        using var neutral = await Admin.PostAsync(new Uri("/api/v1/media", UriKind.Relative), Form(TestWav.Tone(440, 0.5), name));
        var neutralId = (await neutral.JsonAsync(HttpStatusCode.Created)).GetProperty("id").GetInt64();
        using var german = await Admin.PostAsync(new Uri("/api/v1/media", UriKind.Relative), Form(TestWav.Tone(440, 0.5), name, "de"));
        await german.JsonAsync(HttpStatusCode.Created);
        using var again = await Admin.PostAsync(new Uri("/api/v1/media", UriKind.Relative), Form(TestWav.Tone(440, 0.5), name, "de"));
        await again.JsonAsync(HttpStatusCode.Conflict);

        var music = ApiFixture.Unique("music-");
        using var upload = await Admin.PostAsync(new Uri("/api/v1/media", UriKind.Relative), Form(TestWav.Tone(440, 0.5), music));
        var musicId = (await upload.JsonAsync(HttpStatusCode.Created)).GetProperty("id").GetInt64();
        var queue = await Admin.CreatedAsync("/api/v1/queues", new { name = ApiFixture.Unique("q"), hold_music = music, intro_prompt = neutralId.ToString(System.Globalization.CultureInfo.InvariantCulture), language = "de-AT" });
        Assert.Equal(music, queue.GetProperty("hold_music").GetString());
        Assert.Equal("de-AT", queue.GetProperty("language").GetString());

        using (var used = await Admin.DeleteAsync(new Uri($"/api/v1/media/{musicId}", UriKind.Relative)))
            Assert.Contains($"{queue.GetProperty("id").GetInt64()}", (await used.JsonAsync(HttpStatusCode.Conflict)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        using (var usedById = await Admin.DeleteAsync(new Uri($"/api/v1/media/{neutralId}", UriKind.Relative)))
            await usedById.JsonAsync(HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.OK, (await Admin.GetAsync(new Uri($"/api/v1/media/{musicId}", UriKind.Relative))).StatusCode);

        // Another tenant sees none of it.
        var other = await fixture.CreateTenantAsync();
        Assert.Equal(0, (await other.Admin.OkAsync("/api/v1/media")).GetArrayLength());
        using var foreign = await other.Admin.DeleteAsync(new Uri($"/api/v1/media/{musicId}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        using var foreignAudio = await other.Admin.GetAsync(new Uri($"/api/v1/media/{musicId}/audio", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, foreignAudio.StatusCode);
    }

    [Fact]
    public async Task Bad_hold_music_and_language_on_a_queue_are_400s()
    {
        using var response = await Admin.PostAsJsonAsync("/api/v1/queues", new { name = ApiFixture.Unique("q"), hold_music = "no spaces allowed", language = "x" });
        var problem = await response.JsonAsync(HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("hold_music", out _), problem.ToString());
        Assert.True(errors.TryGetProperty("language", out _), problem.ToString());
        _ = JsonSerializer.Serialize(problem);
    }
}
