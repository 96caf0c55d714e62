using Lineup.Engine;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Telephony;

namespace Lineup.Server.Api;

/// <summary>Issue 15's contact-center endpoints: an agent's disposition of a call, a queue's night-mode switch.</summary>
public static class ContactCenterApi
{
    public static void MapContactCenterApi(this RouteGroupBuilder api)
    {
        api.MapPost("/calls/{id:long}/disposition", DispositionAsync).WithTags("Call control").Require(Role.Agent)
            .WithSummary("Give a call a disposition code (the answering agent, while talking or in wrap-up)")
            .AcceptsJson<DispositionBody>().Produces<AgentStatusDto>().ProducesValidationProblem().ProducesProblems(401, 403, 404, 409);
        api.MapPost("/calls/{id:long}/monitor", MonitorAsync).WithTags("Call control").Require(Role.Supervisor)
            .WithSummary("A supervisor's phone joins the call: listen, whisper (heard by the agent) or barge (heard by both)")
            .AcceptsJson<MonitorBody>().Produces<MonitorDto>(202).Produces<MonitorDto>().ProducesValidationProblem().ProducesProblems(401, 403, 404, 409, 503);
        api.MapPatch("/calls/{id:long}/monitor", MonitorModeAsync).WithTags("Call control").Require(Role.Supervisor)
            .WithSummary("Change the monitoring supervisor's mode")
            .AcceptsJson<MonitorBody>().Produces<MonitorDto>().ProducesValidationProblem().ProducesProblems(401, 403, 404, 409);
        api.MapDelete("/calls/{id:long}/monitor", StopMonitorAsync).WithTags("Call control").Require(Role.Supervisor)
            .WithSummary("The supervisor leaves the call (only its leg ends)").Produces(204).ProducesProblems(401, 403, 404);
        api.MapPut("/queues/{id:long}/night_mode", NightModeAsync).WithTags("Queues").Require(Role.Supervisor)
            .WithSummary("Switch a queue's night mode by hand (true/false), or give it back to its office hours (null)")
            .AcceptsJson<NightModeBody>().Produces<QueueStatusDto>().ProducesValidationProblem().ProducesProblems(401, 403, 404);
    }

    private static async Task<IResult> MonitorAsync(long id, HttpContext http, SipFrontEnd sip)
    {
        var (body, errors) = await Body.ReadAsync<MonitorBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = new Errors();
        if (string.IsNullOrEmpty(body!.Supervisor)) e.Add("supervisor", "supervisor is required: a sip: URI, or the number of a phone registered here or behind the outbound proxy.");
        else if (!body.Supervisor.StartsWith("sip:", StringComparison.OrdinalIgnoreCase) && !Errors.Dialable().IsMatch(body.Supervisor))
            e.Add("supervisor", "supervisor must be a sip: URI or 1 to 32 of 0-9 * # +.");
        e.Length("supervisor", body.Supervisor, 1, 256);
        if (body.Mode == null) e.Add("mode", "mode is required: listen, whisper or barge.");
        if (e.Any) return e.Problem();
        return MonitorAnswer(id, await sip.MonitorAsync(http.Tenant(), id, body.Supervisor!, body.Mode!.Value), body.Supervisor!, body.Mode!.Value);
    }

    private static async Task<IResult> MonitorModeAsync(long id, HttpContext http, SipFrontEnd sip)
    {
        var (body, errors) = await Body.ReadAsync<MonitorBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = new Errors();
        if (body!.Mode == null) e.Add("mode", "mode is required: listen, whisper or barge.");
        if (e.Any) return e.Problem();
        var current = await http.Tenant().QueryAsync(engine => engine.TryGetCall(new CallId(id), out var c) ? c.Supervisor : null);
        if (current == null) return RequestContext.Problem(404, "No supervisor is on that call (or no such call).");
        return MonitorAnswer(id, await sip.MonitorAsync(http.Tenant(), id, current, body.Mode!.Value), current, body.Mode!.Value);
    }

    private static async Task<IResult> StopMonitorAsync(long id, HttpContext http, SipFrontEnd sip) => await sip.StopMonitorAsync(http.Tenant(), id) switch
    {
        SipFrontEnd.MonitorResult.Stopped => TypedResults.NoContent(),
        _ => RequestContext.Problem(404, "No supervisor is on that call (or no such call)."),
    };

    private static IResult MonitorAnswer(long id, SipFrontEnd.MonitorResult result, string supervisor, SupervisionMode mode) => result switch
    {
        SipFrontEnd.MonitorResult.Ringing => TypedResults.Accepted($"/api/v1/calls/{id}", new MonitorDto(id, supervisor, mode, "ringing")),
        SipFrontEnd.MonitorResult.ModeChanged => TypedResults.Ok(new MonitorDto(id, supervisor, mode, "joined")),
        SipFrontEnd.MonitorResult.NoSuchCall => RequestContext.Problem(404, "No such call on Lineup's SIP front-end (monitoring needs a call that came in over SIP)."),
        SipFrontEnd.MonitorResult.AnotherSupervisor => RequestContext.Problem(409, "Another supervisor is on that call."),
        SipFrontEnd.MonitorResult.NoRoute => RequestContext.Problem(409, "No phone is registered as that number and there is no Sip:OutboundProxy to call it through."),
        SipFrontEnd.MonitorResult.NoMediaPort => RequestContext.Problem(503, "No free RTP port."),
        _ => RequestContext.Problem(409, "The call is not connected to an agent."),
    };

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
