using System.Text.Json;
using Lineup.Server.Application;
using Lineup.Server.Auth;

namespace Lineup.Server.Api;

public static class AgentsApi
{
    public static void MapAgentsApi(this RouteGroupBuilder api)
    {
        var agents = api.MapGroup("/agents").WithTags("Agents").ProducesProblems(401, 403);
        agents.MapGet("", (Delegate)ListAsync).Require(Role.Supervisor).WithSummary("List agents")
            .Produces<Page<AgentDto>>().ProducesValidationProblem();
        agents.MapPost("", CreateAsync).Require(Role.Admin).WithSummary("Create an agent")
            .AcceptsJson<AgentBody>().Produces<AgentDto>(201).ProducesProblems(409);
        agents.MapGet("/{id:long}", GetAsync).Require(Role.Agent).WithSummary("Get an agent")
            .Produces<AgentDto>().ProducesProblems(404);
        agents.MapPatch("/{id:long}", UpdateAsync).Require(Role.Admin).WithSummary("Update an agent")
            .AcceptsJson<AgentBody>().Produces<AgentDto>().ProducesProblems(404, 409);
        agents.MapDelete("/{id:long}", DeleteAsync).Require(Role.Admin).WithSummary("Delete an agent")
            .Produces(204).ProducesProblems(404, 409);
        agents.MapGet("/{id:long}/status", GetStatusAsync).Require(Role.Agent).WithSummary("Get an agent's status")
            .Produces<AgentStatusDto>().ProducesProblems(404);
        agents.MapPut("/{id:long}/status", SetStatusAsync).Require(Role.Agent).WithSummary("Set an agent's status")
            .AcceptsJson<StatusBody>().Produces<AgentStatusDto>().ProducesProblems(404, 409);
        agents.MapPost("/{id:long}/login", (long id, HttpContext http, AgentService agents) => LoginLogoutAsync(id, http, agents, login: true)).Require(Role.Agent)
            .WithSummary("Log an agent in to its queues")
            .AcceptsJson<QueueSelectionBody>(optional: true).Produces<AgentStatusDto>().ProducesProblems(404, 409);
        agents.MapPost("/{id:long}/logout", (long id, HttpContext http, AgentService agents) => LoginLogoutAsync(id, http, agents, login: false)).Require(Role.Agent)
            .WithSummary("Log an agent out of its queues")
            .AcceptsJson<QueueSelectionBody>(optional: true).Produces<AgentStatusDto>().ProducesProblems(404, 409);
    }

    /// <summary>An agent user may act on itself only; supervisors and above on any agent of the tenant.</summary>
    private static bool MayActOn(HttpContext http, long agentId) =>
        http.RequiredCaller() is var c && (c.Role >= Role.Supervisor || c.AgentId == agentId);

    private static async Task<IResult> ListAsync(HttpContext http)
    {
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        var page = await http.Tenant().QueryAsync(engine =>
            RequestContext.PageOf(engine.Agents.OrderBy(a => a.Id.Value).Select(Dto.Agent), a => a.Id, limit, after));
        return TypedResults.Ok(page);
    }

    private static async Task<IResult> GetAsync(long id, HttpContext http, AgentService agents)
    {
        if (!EngineIds.TryInt(id, out _)) return RequestContext.Fail(AgentService.NoAgent);
        if (!MayActOn(http, id)) return RequestContext.Problem(403, "Agents may read only themselves.");
        return Answer(await agents.ReadAsync(http.Tenant(), id, (_, a) => Dto.Agent(a)));
    }

    private static IResult Answer<T>(Result<T> r) => r.Ok ? TypedResults.Ok(r.Value) : RequestContext.Fail(r.Error!);

    private static async Task<IResult> CreateAsync(HttpContext http, AgentService agents)
    {
        var (body, errors) = await Body.ReadAsync<AgentBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = Validate.Agent(body!);
        if (e.Any) return e.Problem();
        var r = await agents.CreateAsync(http.Tenant(), Dto.AgentConfig(1, body!), Validate.AgentField, (_, a) => Dto.Agent(a));
        return r.Ok ? TypedResults.Created($"/api/v1/agents/{r.Value!.Id}", r.Value) : RequestContext.Fail(r.Error!);
    }

    private static async Task<IResult> UpdateAsync(long id, HttpContext http, AgentService agents)
    {
        if (!EngineIds.TryInt(id, out var agentId)) return RequestContext.Fail(AgentService.NoAgent);
        var (patch, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return errors.Problem();
        var tenant = http.Tenant();
        var current = await agents.ReadAsync(tenant, id, (_, a) => Dto.AgentBody(a.Config));
        if (!current.Ok) return RequestContext.Fail(current.Error!);
        var merged = Body.Merge(JsonSerializer.SerializeToNode(current.Value, Json.Options)!, patch!);
        var (body, bindErrors) = Body.Bind<AgentBody>(merged);
        if (bindErrors != null) return bindErrors.Problem();
        var e = Validate.Agent(body!);
        if (e.Any) return e.Problem();
        return Answer(await agents.UpdateAsync(tenant, Dto.AgentConfig(agentId, body!), keepDialectData: true, Validate.AgentField, (_, a) => Dto.Agent(a)));
    }

    private static async Task<IResult> DeleteAsync(long id, HttpContext http, AgentService agents)
    {
        var r = await agents.DeleteAsync(http.Tenant(), id);
        return r.Ok ? TypedResults.NoContent() : RequestContext.Fail(r.Error!);
    }

    private static async Task<IResult> GetStatusAsync(long id, HttpContext http, AgentService agents)
    {
        if (!EngineIds.TryInt(id, out _)) return RequestContext.Fail(AgentService.NoAgent);
        if (!MayActOn(http, id)) return RequestContext.Problem(403, "Agents may read only their own status.");
        return Answer(await agents.ReadAsync(http.Tenant(), id, (_, a) => Dto.Status(a)));
    }

    private static async Task<IResult> SetStatusAsync(long id, HttpContext http, AgentService agents)
    {
        if (!EngineIds.TryInt(id, out _)) return RequestContext.Fail(AgentService.NoAgent);
        if (!MayActOn(http, id)) return RequestContext.Problem(403, "Agents may change only their own status.");
        var (body, errors) = await Body.ReadAsync<StatusBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = new Errors();
        if (body!.Status == null) e.Add("status", "status is required: ready, not_ready, wrap_up or logged_out.");
        e.Length("reason", body.Reason, 1, 64);
        if (e.Any) return e.Problem();
        return Answer(await agents.SetStatusAsync(http.Tenant(), id, body.Status!.Value, body.Reason, (_, a) => Dto.Status(a)));
    }

    private static async Task<IResult> LoginLogoutAsync(long id, HttpContext http, AgentService agents, bool login)
    {
        if (!EngineIds.TryInt(id, out _)) return RequestContext.Fail(AgentService.NoAgent);
        if (!MayActOn(http, id)) return RequestContext.Problem(403, "Agents may log only themselves in or out.");
        List<int>? queues = null;
        if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            var (body, errors) = await Body.ReadAsync<QueueSelectionBody>(http.Request);
            if (errors != null) return errors.Problem();
            if (body!.QueueIds != null)
            {
                queues = new List<int>();
                foreach (var q in body.QueueIds)
                {
                    if (!EngineIds.TryInt(q, out var qid)) return RequestContext.Fail(QueueService.NoQueue);
                    queues.Add(qid);
                }
            }
        }
        var tenant = http.Tenant();
        return Answer(login
            ? await agents.LoginAsync(tenant, id, queues, (_, a) => Dto.Status(a))
            : await agents.LogoutAsync(tenant, id, queues, (_, a) => Dto.Status(a)));
    }
}
