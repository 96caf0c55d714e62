using System.Globalization;
using Lineup.Server.Auth;
using Lineup.Server.Records;
using Lineup.Server.Telephony;

namespace Lineup.Server.Api;

/// <summary>A voicemail's e-mail: to whom, whether the audio is attached, and how sending went (<c>none</c> when the
/// queue has no address or no SMTP server is configured, <c>pending</c>, <c>sent</c>, <c>failed</c>).</summary>
public sealed record VoicemailEmailDto(string? To, bool AttachAudio, string State, int Attempts, string? LastError, DateTimeOffset? SentAt);

/// <summary>A voicemail as the API shows it.</summary>
public sealed record VoicemailDto(long Id, long QueueId, long CallId, string CallerNumber, string? CallerName, DateTimeOffset CreatedAt,
    double DurationSeconds, string AudioUrl, VoicemailEmailDto Email);

/// <summary>The messages callers left in the tenant's queue voicemail boxes (docs/sip.md, "Voicemail").</summary>
public static class VoicemailsApi
{
    public static void MapVoicemailsApi(this RouteGroupBuilder api)
    {
        var vm = api.MapGroup("/voicemails").WithTags("Voicemail").ProducesProblems(401, 403);
        vm.MapGet("", List).Require(Role.Supervisor)
            .WithSummary("The tenant's voicemails, oldest first; filters queue_id, caller_number, from, to (ISO 8601 or Unix seconds)")
            .Produces<Page<VoicemailDto>>().ProducesValidationProblem();
        vm.MapGet("/{id:long}", Get).Require(Role.Supervisor).WithSummary("One voicemail").Produces<VoicemailDto>().ProducesProblems(404);
        vm.MapGet("/{id:long}/audio", Audio).Require(Role.Supervisor)
            .WithSummary("The message (8 kHz mono 16-bit WAV)").Produces(200, typeof(byte[]), "audio/wav").ProducesProblems(404);
        vm.MapDelete("/{id:long}", Delete).Require(Role.Admin).WithSummary("Delete a voicemail and its audio").Produces(204).ProducesProblems(404);
    }

    public static VoicemailDto Dto(VoicemailRecord r) => new(r.Id, r.QueueId, r.CallId, r.CallerNumber, r.CallerName, r.CreatedAt,
        r.DurationSeconds, string.Create(CultureInfo.InvariantCulture, $"/api/v1/voicemails/{r.Id}/audio"),
        new VoicemailEmailDto(r.MailTo, r.AttachAudio, r.MailState, r.MailAttempts, r.MailError, r.MailedAt));

    private static IResult List(HttpContext http, VoicemailBox box)
    {
        var q = http.Request.Query;
        var e = new Errors();
        var queue = CallsApi.Id(q["queue_id"].ToString(), "queue_id", e);
        var caller = q["caller_number"].ToString();
        e.Length("caller_number", caller, 0, 64);
        var from = CallsApi.Time(q["from"].ToString(), "from", 0, e);
        var to = CallsApi.Time(q["to"].ToString(), "to", long.MaxValue, e);
        if (e.Any) return e.Problem();
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        var matching = box.List(http.Tenant().TenantId).Where(r =>
            (queue == null || r.QueueId == queue) && (caller.Length == 0 || r.CallerNumber == caller)
            && r.CreatedAt.ToUnixTimeMilliseconds() >= from && r.CreatedAt.ToUnixTimeMilliseconds() < to);
        return TypedResults.Ok(RequestContext.PageOf(matching.Select(Dto), v => v.Id, limit, after));
    }

    private static IResult Get(long id, HttpContext http, VoicemailBox box) =>
        box.Get(http.Tenant().TenantId, id) is { } r ? TypedResults.Ok(Dto(r)) : NoVoicemail();

    private static IResult Audio(long id, HttpContext http, VoicemailBox box) =>
        box.AudioPath(http.Tenant().TenantId, id) is { } path
            ? Results.File(path, "audio/wav", string.Create(CultureInfo.InvariantCulture, $"voicemail-{id}.wav"), enableRangeProcessing: true)
            : NoVoicemail();

    private static IResult Delete(long id, HttpContext http, VoicemailBox box) =>
        box.Delete(http.Tenant().TenantId, id) ? TypedResults.NoContent() : NoVoicemail();

    private static IResult NoVoicemail() => RequestContext.Problem(404, "No such voicemail.", "Not found");
}
