using Lineup.Server.Application;
using Lineup.Server.Auth;

namespace Lineup.Server.Api;

/// <summary>Body of PUT /agents/{id}/sip.</summary>
public sealed record SipCredentialBody
{
    /// <summary>The digest username (the user part of the phone's address-of-record); the agent's number by default.</summary>
    public string? Username { get; init; }

    /// <summary>The SIP password, 8 to 128 characters; only its digest hashes are kept.</summary>
    public string? Password { get; init; }
}

/// <summary>An agent's SIP credential as the API shows it: never the password nor its hashes.</summary>
public sealed record SipCredentialDto(long AgentId, string Username, string Realm, DateTimeOffset UpdatedAt);

/// <summary>Agents' SIP credentials, with which their phones register with Lineup's registrar (docs/design/sip.md).
/// Supervisors manage any agent's; an agent user may read and set its own.</summary>
public static class SipCredentialsApi
{
    public static void MapSipCredentialsApi(this RouteGroupBuilder api)
    {
        var sip = api.MapGroup("/agents/{id:long}/sip").WithTags("Agents").ProducesProblems(401, 403);
        sip.MapGet("", GetAsync).Require(Role.Agent).WithSummary("Get an agent's SIP credential (without the password)")
            .Produces<SipCredentialDto>().ProducesProblems(404);
        sip.MapPut("", PutAsync).Require(Role.Agent).WithSummary("Set an agent's SIP username and password")
            .AcceptsJson<SipCredentialBody>().Produces<SipCredentialDto>().ProducesProblems(404, 409);
        sip.MapDelete("", DeleteAsync).Require(Role.Supervisor).WithSummary("Remove an agent's SIP credential")
            .Produces(204).ProducesProblems(404);
    }

    private static bool MayActOn(HttpContext http, long agentId) =>
        http.RequiredCaller() is var c && (c.Role >= Role.Supervisor || c.AgentId == agentId);

    private static async Task<IResult> GetAsync(long id, HttpContext http, SipCredentialService credentials)
    {
        if (!EngineIds.TryInt(id, out _)) return NoAgent();
        if (!MayActOn(http, id)) return RequestContext.Problem(403, "Agents may read only their own SIP credential.");
        return Answer(await credentials.GetAsync(http.Tenant(), id));
    }

    private static async Task<IResult> PutAsync(long id, HttpContext http, SipCredentialService credentials)
    {
        if (!EngineIds.TryInt(id, out _)) return NoAgent();
        if (!MayActOn(http, id)) return RequestContext.Problem(403, "Agents may set only their own SIP credential.");
        var (body, errors) = await Body.ReadAsync<SipCredentialBody>(http.Request);
        if (errors != null) return errors.Problem();
        return Answer(await credentials.SetAsync(http.Tenant(), id, body!.Username, body.Password));
    }

    private static async Task<IResult> DeleteAsync(long id, HttpContext http, SipCredentialService credentials)
    {
        var r = await credentials.RemoveAsync(http.Tenant(), id);
        return r.Ok ? TypedResults.NoContent() : RequestContext.Fail(r.Error!);
    }

    private static IResult NoAgent() => RequestContext.Fail(AgentService.NoAgent);

    private static IResult Answer(Result<SipCredentialInfo> r) => r.Ok ? TypedResults.Ok(Dto(r.Value!)) : RequestContext.Fail(r.Error!);

    private static SipCredentialDto Dto(SipCredentialInfo c) => new(c.AgentId, c.Username, c.Realm, Api.Dto.Time(c.UpdatedAt));
}
