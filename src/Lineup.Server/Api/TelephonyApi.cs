using Lineup.Engine;
using Lineup.Server.Application;
using Lineup.Server.Auth;
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
        var registrations = new List<SipRegistration>();
        foreach (var (id, number) in agents)
            if (await sip.RegistrationsAsync(host, id, number) is { } r) registrations.Add(r);
        return TypedResults.Ok(registrations
            .Select(r => new SipRegistrationDto(r.AgentId, r.Username, [.. r.Contacts.Select(c => new SipContactDto(c.Uri, c.Transport, c.Source, c.ExpiresAt))]))
            .ToList());
    }

    private static async Task<IResult> RecordingAsync(long id, HttpContext http, CallService calls, SipFrontEnd sip)
    {
        var host = http.Tenant();
        var call = await calls.GetAsync(host, id, (_, c) => c.Record.RecordingId ?? "");
        if (!call.Ok) return RequestContext.Fail(call.Error!);
        var recording = call.Value.Live ?? call.Value.Ended!.RecordingId ?? "";
        var path = recording.Length > 0 ? sip.RecordingPath(host.TenantId, recording) : null;
        return path != null
            ? Results.File(path, "audio/wav", recording, enableRangeProcessing: true)
            : Results.Problem(detail: "This call has no recording.", statusCode: 404);
    }
}
