using System.Globalization;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Telephony;

namespace Lineup.Server.Api;

/// <summary>A media item as the API shows it.</summary>
public sealed record MediaDto(long Id, string Name, string? Language, string SourceFormat, long SourceBytes, double DurationSeconds,
    DateTimeOffset CreatedAt, string AudioUrl);

/// <summary>
/// The tenant's media library: hold music and prompts that queues name (<c>hold_music</c>, <c>intro_prompt</c>,
/// <c>periodic_prompt</c>) and that replace built-in prompts per language (docs/sip.md). Upload a WAV or MP3 file as a
/// multipart form (<c>-F file=@music.wav -F name=summer</c>) or as the raw body (<c>?name=summer</c>).
/// </summary>
public static class MediaApi
{
    public static void MapMediaApi(this RouteGroupBuilder api)
    {
        var media = api.MapGroup("/media").WithTags("Media").ProducesProblems(401, 403);
        media.MapPost("", UploadAsync).Require(Role.Admin).DisableAntiforgery()
            .WithSummary("Upload a sound (WAV: PCM, float, μ-law or A-law, 8 to 48 kHz; or MP3), converted to 8 kHz once")
            .WithDescription("A multipart form with a part named file (and name, language), or the WAV or MP3 file as the body with name and language in the query.")
            .Produces<MediaDto>(201).ProducesProblems(400, 409);
        media.MapGet("", List).Require(Role.Supervisor).WithSummary("The tenant's media").Produces<List<MediaDto>>();
        media.MapGet("/{id:long}", Get).Require(Role.Supervisor).WithSummary("One media item").Produces<MediaDto>().ProducesProblems(404);
        media.MapGet("/{id:long}/audio", Audio).Require(Role.Supervisor)
            .WithSummary("The converted audio, as calls hear it (8 kHz mono 16-bit WAV)").Produces(200, typeof(byte[]), "audio/wav").ProducesProblems(404);
        media.MapDelete("/{id:long}", DeleteAsync).Require(Role.Admin).WithSummary("Delete a media item no queue uses")
            .Produces(204).ProducesProblems(404, 409);
    }

    private static MediaDto Dto(MediaItem m) => new(m.Id, m.Name, m.Language, m.SourceFormat, m.SourceBytes, m.DurationSeconds,
        m.CreatedAt, string.Create(CultureInfo.InvariantCulture, $"/api/v1/media/{m.Id}/audio"));

    private static async Task<IResult> UploadAsync(HttpContext http, MediaLibrary library)
    {
        var request = http.Request;
        // The server takes 1 MB bodies; a sound file may be up to Sip:MediaMaxBytes (plus a form's headers).
        if (http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = library.MaxBytes + (64 * 1024);
        string? name, language;
        byte[] file;
        if (request.HasFormContentType)
        {
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(http.RequestAborted);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException)
            {
                return RequestContext.Fail(AppError.Invalid("file", $"file: the multipart body could not be read ({e.Message})."));
            }
            name = form["name"].FirstOrDefault() ?? request.Query["name"].FirstOrDefault();
            language = form["language"].FirstOrDefault() ?? request.Query["language"].FirstOrDefault();
            var part = form.Files.GetFile("file");
            if (part == null) return RequestContext.Fail(AppError.Invalid("file", "file is required: a form part named file."));
            if (part.Length > library.MaxBytes) return TooBig(part.Length, library);
            using var buffer = new MemoryStream();
            await part.CopyToAsync(buffer, http.RequestAborted);
            file = buffer.ToArray();
            name ??= Path.GetFileNameWithoutExtension(part.FileName);
        }
        else
        {
            name = request.Query["name"].FirstOrDefault();
            language = request.Query["language"].FirstOrDefault();
            if (request.ContentLength > library.MaxBytes) return TooBig(request.ContentLength.Value, library);
            // Read at most one byte more than the limit: a body without a length cannot make the server hold more.
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
            {
                buffer.Write(chunk, 0, n);
                if (buffer.Length > library.MaxBytes) return TooBig(buffer.Length, library);
            }
            file = buffer.ToArray();
        }
        var added = library.Add(http.Tenant().TenantId, string.IsNullOrEmpty(name) ? null : name, string.IsNullOrEmpty(language) ? null : language, file);
        if (!added.Ok) return RequestContext.Fail(added.Error!);
        return TypedResults.Created($"/api/v1/media/{added.Value!.Id}", Dto(added.Value));
    }

    private static IResult TooBig(long length, MediaLibrary library) =>
        RequestContext.Fail(AppError.Invalid("file", string.Create(CultureInfo.InvariantCulture,
            $"file is {length} bytes or more; the limit is {library.MaxBytes} (Sip:MediaMaxBytes).")));

    private static IResult List(HttpContext http, MediaLibrary library) =>
        TypedResults.Ok(library.List(http.Tenant().TenantId).Select(Dto).ToList());

    private static IResult Get(long id, HttpContext http, MediaLibrary library) =>
        library.Get(http.Tenant().TenantId, id) is { } m ? TypedResults.Ok(Dto(m)) : NoMedia();

    private static IResult Audio(long id, HttpContext http, MediaLibrary library) =>
        library.AudioPath(http.Tenant().TenantId, id) is { } path
            ? Results.File(path, "audio/wav", string.Create(CultureInfo.InvariantCulture, $"{id}.wav"), enableRangeProcessing: true)
            : NoMedia();

    private static async Task<IResult> DeleteAsync(long id, HttpContext http, MediaLibrary library)
    {
        var host = http.Tenant();
        if (library.Get(host.TenantId, id) is not { } item) return NoMedia();
        // A queue that names this item (by id, or by a name no other item carries) would lose its sound.
        var others = library.List(host.TenantId).Any(i => i.Id != id && string.Equals(i.Name, item.Name, StringComparison.OrdinalIgnoreCase));
        bool Names(string? reference) => reference != null
            && (reference == item.Id.ToString(CultureInfo.InvariantCulture) || (!others && string.Equals(reference, item.Name, StringComparison.OrdinalIgnoreCase)));
        var users = await host.QueryAsync(engine => engine.Queues
            .Where(q => Names(q.Config.HoldMusic) || Names(q.Config.IntroPrompt) || Names(q.Config.PeriodicPrompt)
                || Names(q.Config.SurveyPrompt) || Names(q.Config.SurveyThanksPrompt) || Names(q.Config.AgentAnnouncePrompt) || Names(q.Config.Voicemail.Greeting))
            .Select(q => q.Id.Value).Order().ToList());
        if (users.Count > 0)
            return RequestContext.Problem(409, $"Queue(s) {string.Join(", ", users)} use this media item: point them elsewhere first.", "Conflict");
        return library.Delete(host.TenantId, id) ? TypedResults.NoContent() : NoMedia();
    }

    private static IResult NoMedia() => RequestContext.Problem(404, "No such media item.", "Not found");
}
