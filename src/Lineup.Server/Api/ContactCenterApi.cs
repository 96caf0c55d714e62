using Lineup.Server.Application;
using Lineup.Server.Auth;

namespace Lineup.Server.Api;

/// <summary>Issue 15's contact-center endpoints: an agent's disposition of a call, a queue's night-mode switch.</summary>
public static class ContactCenterApi
{
    public static void MapContactCenterApi(this RouteGroupBuilder api)
    {
        api.MapPost("/calls/{id:long}/disposition", DispositionAsync).WithTags("Call control").Require(Role.Agent)
            .WithSummary("Give a call a disposition code (the answering agent, while talking or in wrap-up)")
            .AcceptsJson<DispositionBody>().Produces<AgentStatusDto>().ProducesValidationProblem().ProducesProblems(401, 403, 404, 409);
        api.MapPut("/queues/{id:long}/night_mode", NightModeAsync).WithTags("Queues").Require(Role.Supervisor)
            .WithSummary("Switch a queue's night mode by hand (true/false), or give it back to its office hours (null)")
            .AcceptsJson<NightModeBody>().Produces<QueueStatusDto>().ProducesValidationProblem().ProducesProblems(401, 403, 404);
    }

    private static async Task<IResult> DispositionAsync(long id, HttpContext http, ContactCenterService service)
    {
        var (body, errors) = await Body.ReadAsync<DispositionBody>(http.Request);
        if (errors != null) return errors.Problem();
        var caller = http.RequiredCaller();
        var e = new Errors();
        if (string.IsNullOrEmpty(body!.Code)) e.Add("code", "code is required.");
        e.Length("code", body.Code, 1, 64);
        var agent = body.AgentId ?? caller.AgentId;
        if (agent == null) e.Add("agent_id", "agent_id is required (the agent who answered the call).");
        if (e.Any) return e.Problem();
        if (caller.Role < Role.Supervisor && caller.AgentId != agent) return RequestContext.Problem(403, "Agents may give codes to their own calls only.");
        var r = await service.SetDispositionAsync(http.Tenant(), id, agent!.Value, body.Code!, (_, a) => Dto.Status(a));
        return r.Ok ? TypedResults.Ok(r.Value) : RequestContext.Fail(r.Error!);
    }

    private static async Task<IResult> NightModeAsync(long id, HttpContext http, ContactCenterService service)
    {
        var (body, errors) = await Body.ReadAsync<NightModeBody>(http.Request);
        if (errors != null) return errors.Problem();
        var r = await service.SetNightModeAsync(http.Tenant(), id, body!.NightMode, Dto.QueueStatus);
        return r.Ok ? TypedResults.Ok(r.Value) : RequestContext.Fail(r.Error!);
    }
}
