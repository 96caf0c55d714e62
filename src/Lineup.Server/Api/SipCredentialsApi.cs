using System.Text.RegularExpressions;
using Lineup.Engine;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Storage;
using Lineup.Server.Telephony;

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
public static partial class SipCredentialsApi
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

    /// <summary>SIP user characters that need no escaping in a URI or a quoted string (RFC 3261 §25.1 unreserved).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9._~+-]{1,64}$")]
    private static partial Regex Username();

    private static bool MayActOn(HttpContext http, long agentId) =>
        http.RequiredCaller() is var c && (c.Role >= Role.Supervisor || c.AgentId == agentId);

    private static async Task<IResult> GetAsync(long id, HttpContext http, SipCredentialStore credentials)
    {
        if (!EngineIds.TryInt(id, out var agentId)) return NoAgent();
        if (!MayActOn(http, id)) return RequestContext.Problem(403, "Agents may read only their own SIP credential.");
        if (!await AgentExistsAsync(http, agentId)) return NoAgent();
        var row = await credentials.GetAsync(http.Tenant().TenantId, agentId);
        return row != null ? TypedResults.Ok(Dto(row)) : RequestContext.Problem(404, "The agent has no SIP credential.", "Not found");
    }

    private static async Task<IResult> PutAsync(long id, HttpContext http, SipCredentialStore credentials)
    {
        if (!EngineIds.TryInt(id, out var agentId)) return NoAgent();
        if (!MayActOn(http, id)) return RequestContext.Problem(403, "Agents may set only their own SIP credential.");
        var (body, errors) = await Body.ReadAsync<SipCredentialBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = new Errors();
        if (body!.Password == null) e.Add("password", "password is required.");
        e.Length("password", body.Password, 8, 128);
        e.Pattern("username", body.Username, Username(), "1 to 64 letters, digits or . _ ~ + -");
        if (body.Username is "") e.Add("username", "username must not be empty.");
        if (e.Any) return e.Problem();
        var tenant = http.Tenant();
        var number = await tenant.QueryAsync(engine => engine.TryGetAgent(new AgentId(agentId), out var a) ? (a.Config.Number ?? "") : null);
        if (number == null) return NoAgent();
        var username = body.Username ?? number;
        if (username.Length == 0 || !Username().IsMatch(username))
            return new Errors().Add("username", "username is required: the agent has no number that can serve as one.").Problem();
        var (result, row) = await credentials.SetAsync(tenant.TenantId, agentId, username, tenant.Name, body.Password!);
        return result == SipCredentialResult.Ok
            ? TypedResults.Ok(Dto(row!))
            : RequestContext.Problem(409, $"Another agent of this tenant has the SIP username '{username}'.", "Conflict");
    }

    private static async Task<IResult> DeleteAsync(long id, HttpContext http, SipCredentialStore credentials)
    {
        if (!EngineIds.TryInt(id, out var agentId) || !await AgentExistsAsync(http, agentId)) return NoAgent();
        return await credentials.RemoveAsync(http.Tenant().TenantId, agentId)
            ? TypedResults.NoContent()
            : RequestContext.Problem(404, "The agent has no SIP credential.", "Not found");
    }

    private static Task<bool> AgentExistsAsync(HttpContext http, int agentId) =>
        http.Tenant().QueryAsync(engine => engine.TryGetAgent(new AgentId(agentId), out _));

    private static IResult NoAgent() => RequestContext.Fail(AgentService.NoAgent);

    private static SipCredentialDto Dto(SipCredentialRow row) => new(row.AgentId, row.Username, row.Realm, Api.Dto.Time(row.UpdatedAt));
}
