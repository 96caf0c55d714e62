using System.Text.Json;
using Lineup.Engine;
using Lineup.Server.Auth;
using Lineup.Server.Storage;
using Lineup.Server.Telephony;

namespace Lineup.Server.Api;

public sealed record SipContactDto(string Uri, string Transport, string Source, DateTimeOffset ExpiresAt);

public sealed record SipRegistrationDto(long AgentId, string Username, IReadOnlyList<SipContactDto> Contacts);

/// <summary>What the built-in SIP front-end knows: agents' registered phones, and call recordings.</summary>
public static class TelephonyApi
{
    public static void MapTelephonyApi(this RouteGroupBuilder api)
    {
        api.MapGet("/sip/registrations", RegistrationsAsync).WithTags("Telephony").Require(Role.Supervisor)
            .WithSummary("Agents' registered SIP phones").Produces<List<SipRegistrationDto>>().ProducesProblems(401, 403);
        api.MapGet("/calls/{id:long}/recording", RecordingAsync).WithTags("Telephony").Require(Role.Supervisor)
            .WithSummary("A recorded call as an 8 kHz WAV file").Produces(200, typeof(byte[]), "audio/wav").ProducesProblems(401, 403, 404);
    }

    private static async Task<IResult> RegistrationsAsync(HttpContext http, SipFrontEnd sip)
    {
        var host = http.Tenant();
        var agents = await host.QueryAsync(engine => engine.Agents.Where(a => a.Config.Kind == AgentKind.Local)
            .Select(a => (a.Id.Value, a.Config.Number)).OrderBy(a => a.Value).ToList());
        return TypedResults.Ok(agents.Select(a => sip.Registrations(host, a.Value, a.Number)).OfType<SipRegistrationDto>().ToList());
    }

    private static async Task<IResult> RecordingAsync(long id, HttpContext http, Store store, SipFrontEnd sip)
    {
        var host = http.Tenant();
        var recording = await host.QueryAsync(engine => engine.TryGetCall(new CallId(id), out var c) ? c.Record.RecordingId ?? "" : null);
        if (recording == null && await store.GetCdrAsync(host.TenantId, id) is { } body)
            recording = JsonSerializer.Deserialize<CdrDto>(body, Json.Options)!.RecordingId ?? "";
        if (recording == null) return RequestContext.Fail(CommandResult.UnknownCall, "call");
        var path = recording.Length > 0 ? sip.RecordingPath(host.TenantId, recording) : null;
        return path != null
            ? Results.File(path, "audio/wav", recording, enableRangeProcessing: true)
            : Results.Problem(detail: "This call has no recording.", statusCode: 404);
    }
}
