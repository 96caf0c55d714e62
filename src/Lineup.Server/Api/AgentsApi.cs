using System.Text.Json;
using Lineup.Engine;
using Lineup.Server.Auth;
using Lineup.Server.Storage;
using Lineup.Server.Telephony;
using Lineup.Server.Tenancy;

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
        agents.MapPost("/{id:long}/login", (long id, HttpContext http) => LoginLogoutAsync(id, http, login: true)).Require(Role.Agent)
            .WithSummary("Log an agent in to its queues")
            .AcceptsJson<QueueSelectionBody>(optional: true).Produces<AgentStatusDto>().ProducesProblems(404, 409);
        agents.MapPost("/{id:long}/logout", (long id, HttpContext http) => LoginLogoutAsync(id, http, login: false)).Require(Role.Agent)
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

    private static async Task<IResult> GetAsync(long id, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var agentId)) return RequestContext.Fail(CommandResult.UnknownAgent, "agent");
        if (!MayActOn(http, id)) return RequestContext.Problem(403, "Agents may read only themselves.");
        var dto = await http.Tenant().QueryAsync(engine => engine.TryGetAgent(new AgentId(agentId), out var a) ? Dto.Agent(a) : null);
        return dto != null ? TypedResults.Ok(dto) : RequestContext.Fail(CommandResult.UnknownAgent, "agent");
    }

    private static async Task<IResult> CreateAsync(HttpContext http, Store store)
    {
        var (body, errors) = await Body.ReadAsync<AgentBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = Validate.Agent(body!);
        if (e.Any) return e.Problem();
        var id = checked((int)await store.NextIdAsync());
        var command = new UpsertAgentCommand(Dto.AgentConfig(id, body!));
        var (result, dto) = await http.Tenant().ExecuteAsync(command, (engine, r) =>
            (r, r.IsSuccess() && engine.TryGetAgent(new AgentId(id), out var a) ? Dto.Agent(a) : null));
        return result.IsSuccess() ? TypedResults.Created($"/api/v1/agents/{id}", dto) : RequestContext.Fail(result, "local agent");
    }

    private static async Task<IResult> UpdateAsync(long id, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var agentId)) return RequestContext.Fail(CommandResult.UnknownAgent, "agent");
        var (patch, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return errors.Problem();
        var current = await http.Tenant().QueryAsync(engine => engine.TryGetAgent(new AgentId(agentId), out var a) ? Dto.AgentBody(a.Config) : null);
        if (current == null) return RequestContext.Fail(CommandResult.UnknownAgent, "agent");
        var merged = Body.Merge(JsonSerializer.SerializeToNode(current, Json.Options)!, patch!);
        var (body, bindErrors) = Body.Bind<AgentBody>(merged);
        if (bindErrors != null) return bindErrors.Problem();
        var e = Validate.Agent(body!);
        if (e.Any) return e.Problem();
        var (result, dto) = await http.Tenant().ExecuteAsync(new UpsertAgentCommand(Dto.AgentConfig(agentId, body!), KeepDialectData: true), (engine, r) =>
            (r, r.IsSuccess() && engine.TryGetAgent(new AgentId(agentId), out var a) ? Dto.Agent(a) : null));
        return result.IsSuccess() ? TypedResults.Ok(dto) : RequestContext.Fail(result, "local agent");
    }

    private static async Task<IResult> DeleteAsync(long id, HttpContext http, SipCredentialStore sip)
    {
        if (!RequestContext.TryEngineId(id, out var agentId)) return RequestContext.Fail(CommandResult.UnknownAgent, "agent");
        var result = await http.Tenant().ExecuteAsync(new RemoveAgentCommand(agentId), (_, r) => r);
        if (!result.IsSuccess()) return RequestContext.Fail(result, "agent");
        // Its phone may no longer register.
        await sip.RemoveAsync(http.Tenant().TenantId, agentId);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> GetStatusAsync(long id, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var agentId)) return RequestContext.Fail(CommandResult.UnknownAgent, "agent");
        if (!MayActOn(http, id)) return RequestContext.Problem(403, "Agents may read only their own status.");
        var dto = await http.Tenant().QueryAsync(engine => engine.TryGetAgent(new AgentId(agentId), out var a) ? Dto.Status(a) : null);
        return dto != null ? TypedResults.Ok(dto) : RequestContext.Fail(CommandResult.UnknownAgent, "agent");
    }

    private static async Task<IResult> SetStatusAsync(long id, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var agentId)) return RequestContext.Fail(CommandResult.UnknownAgent, "agent");
        if (!MayActOn(http, id)) return RequestContext.Problem(403, "Agents may change only their own status.");
        var (body, errors) = await Body.ReadAsync<StatusBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = new Errors();
        if (body!.Status == null) e.Add("status", "status is required: ready, not_ready, wrap_up or logged_out.");
        e.Length("reason", body.Reason, 1, 64);
        if (e.Any) return e.Problem();
        var command = new SetStatusCommand(agentId, body.Status!.Value, body.Status == AgentStatus.NotReady ? body.Reason : null);
        var (result, dto) = await http.Tenant().ExecuteAsync(command, (engine, r) =>
            (r, engine.TryGetAgent(new AgentId(agentId), out var a) ? Dto.Status(a) : null));
        return result.IsSuccess() ? TypedResults.Ok(dto) : RequestContext.Fail(result, "agent");
    }

    private static async Task<IResult> LoginLogoutAsync(long id, HttpContext http, bool login)
    {
        if (!RequestContext.TryEngineId(id, out var agentId)) return RequestContext.Fail(CommandResult.UnknownAgent, "agent");
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
                    if (!RequestContext.TryEngineId(q, out var qid)) return RequestContext.Fail(CommandResult.UnknownQueue, "queue");
                    queues.Add(qid);
                }
            }
        }
        TenantCommand command = login ? new LoginCommand(agentId, queues) : new LogoutCommand(agentId, queues);
        var (result, dto) = await http.Tenant().ExecuteAsync(command, (engine, r) =>
            (r, engine.TryGetAgent(new AgentId(agentId), out var a) ? Dto.Status(a) : null));
        return result.IsSuccess() ? TypedResults.Ok(dto) : RequestContext.Fail(result, "agent");
    }
}
