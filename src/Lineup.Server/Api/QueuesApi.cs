using System.Globalization;
using System.Text.Json;
using Lineup.Engine;
using Lineup.Engine.Staffing;
using Lineup.Server.Auth;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api;

public sealed record MembersBody(IReadOnlyList<MemberBody>? Members = null);
public sealed record DailyStatsDto(string Date, QueueStatsDto Stats);

public static class QueuesApi
{
    public static void MapQueuesApi(this RouteGroupBuilder api)
    {
        var queues = api.MapGroup("/queues").WithTags("Queues").ProducesProblems(401, 403);
        queues.MapGet("", (Delegate)ListAsync).Require(Role.Supervisor).WithSummary("List queues")
            .Produces<Page<QueueBody>>().ProducesValidationProblem();
        queues.MapPost("", CreateAsync).Require(Role.Admin).WithSummary("Create a queue")
            .AcceptsJson<QueueBody>().Produces<QueueBody>(201).ProducesProblems(409);
        queues.MapGet("/{id:long}", GetAsync).Require(Role.Supervisor).WithSummary("Get a queue")
            .Produces<QueueBody>().ProducesProblems(404);
        queues.MapPatch("/{id:long}", UpdateAsync).Require(Role.Admin).WithSummary("Update a queue (merge)")
            .AcceptsJson<QueueBody>().Produces<QueueBody>().ProducesProblems(404, 409);
        queues.MapDelete("/{id:long}", DeleteAsync).Require(Role.Admin).WithSummary("Delete a queue")
            .Produces(204).ProducesProblems(404, 409);

        queues.MapGet("/{id:long}/members", ListMembersAsync).Require(Role.Supervisor).WithSummary("List a queue's members")
            .Produces<Page<MemberDto>>().ProducesValidationProblem().ProducesProblems(404);
        queues.MapPut("/{id:long}/members", SetMembersAsync).Require(Role.Admin).WithSummary("Replace a queue's members")
            .AcceptsJson<MembersBody>().Produces<Page<MemberDto>>().ProducesProblems(404, 409);
        queues.MapPost("/{id:long}/members", AddMemberAsync).Require(Role.Admin).WithSummary("Add or update a member")
            .AcceptsJson<MemberBody>().Produces<MemberDto>(201).ProducesProblems(404, 409);
        queues.MapDelete("/{id:long}/members/{agentId:long}", RemoveMemberAsync).Require(Role.Admin).WithSummary("Remove a member")
            .Produces(204).ProducesProblems(404, 409);

        queues.MapGet("/{id:long}/status", StatusAsync).Require(Role.Supervisor).WithSummary("Live queue status")
            .Produces<QueueStatusDto>().ProducesProblems(404);
        queues.MapGet("/{id:long}/stats", StatsAsync).Require(Role.Supervisor).WithSummary("A day's queue statistics")
            .Produces<DailyStatsDto>().ProducesValidationProblem().ProducesProblems(404);
        queues.MapGet("/{id:long}/calls", CallsAsync).Require(Role.Supervisor).WithSummary("List a queue's live calls")
            .Produces<Page<CallDto>>().ProducesValidationProblem().ProducesProblems(404);
        queues.MapPost("/{id:long}/calls/{callId:long}/pickup", PickupAsync).Require(Role.Agent).WithSummary("Pick up a waiting call")
            .AcceptsJson<PickupBody>().Produces<CallDto>().ProducesProblems(404, 409);
        queues.MapGet("/{id:long}/staffing", StaffingAsync).Require(Role.Supervisor).WithSummary("Erlang C staffing estimate")
            .Produces<StaffingDto>().ProducesValidationProblem().ProducesProblems(404);
    }

    private static IResult NoQueue => RequestContext.Fail(CommandResult.UnknownQueue, "queue");

    private static async Task<IResult> ListAsync(HttpContext http)
    {
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        var page = await http.Tenant().QueryAsync(engine =>
            RequestContext.PageOf(engine.Queues.OrderBy(q => q.Id.Value).Select(q => Dto.Queue(q.Config)), q => q.Id!.Value, limit, after));
        return TypedResults.Ok(page);
    }

    private static async Task<IResult> GetAsync(long id, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var qid)) return NoQueue;
        var dto = await http.Tenant().QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q) ? Dto.Queue(q.Config) : null);
        return dto != null ? TypedResults.Ok(dto) : NoQueue;
    }

    private static async Task<IResult> CreateAsync(HttpContext http, Store store)
    {
        var (patch, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return errors.Problem();
        // Defaults first, then the body: the same merge as PATCH, so both validate identically.
        var defaults = JsonSerializer.SerializeToNode(Dto.Queue(new QueueConfig { Id = new QueueId(1) }) with { Id = null, Name = null }, Json.Options)!;
        return await SaveAsync(http, Body.Merge(defaults, patch!), id: null, store);
    }

    private static async Task<IResult> UpdateAsync(long id, HttpContext http, Store store)
    {
        if (!RequestContext.TryEngineId(id, out var qid)) return NoQueue;
        var (patch, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return errors.Problem();
        var current = await http.Tenant().QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q) ? Dto.Queue(q.Config) : null);
        if (current == null) return NoQueue;
        return await SaveAsync(http, Body.Merge(JsonSerializer.SerializeToNode(current, Json.Options)!, patch!), qid, store);
    }

    private static async Task<IResult> SaveAsync(HttpContext http, System.Text.Json.Nodes.JsonNode merged, int? id, Store store)
    {
        var (body, errors) = Body.Bind<QueueBody>(merged);
        if (errors != null) return errors.Problem();
        var e = Validate.Queue(body!);
        if (e.Any) return e.Problem();
        var host = http.Tenant();
        foreach (var (field, d) in Destinations(body!))
        {
            if (d?.Type != DestinationKind.Queue) continue;
            var target = (int)d.QueueId!.Value;
            var exists = await host.QueryAsync(engine => engine.TryGetQueue(new QueueId(target), out _));
            if (!exists || target == id) e.Add($"destinations.{field}.queue_id", "queue_id must name another queue of this tenant.");
        }
        if (e.Any) return e.Problem();
        var queueId = id ?? checked((int)await store.NextIdAsync());
        var (result, dto) = await host.ExecuteAsync(new UpsertQueueCommand(Dto.QueueConfig(queueId, body!), KeepDialectData: true), (engine, r) =>
            (r, r.IsSuccess() && engine.TryGetQueue(new QueueId(queueId), out var q) ? Dto.Queue(q.Config) : null));
        if (!result.IsSuccess()) return RequestContext.Fail(result, "queue");
        return id == null ? TypedResults.Created($"/api/v1/queues/{queueId}", dto) : TypedResults.Ok(dto);
    }

    private static IEnumerable<(string, DestinationBody?)> Destinations(QueueBody b)
    {
        var d = b.Destinations;
        if (d == null) yield break;
        yield return ("timeout", d.Timeout);
        yield return ("no_agents", d.NoAgents);
        yield return ("queue_full", d.QueueFull);
        yield return ("no_answer", d.NoAnswer);
        yield return ("exit_key", d.ExitKey);
        yield return ("night_mode", d.NightMode);
    }

    private static async Task<IResult> DeleteAsync(long id, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var qid)) return NoQueue;
        var result = await http.Tenant().ExecuteAsync(new RemoveQueueCommand(qid), (_, r) => r);
        return result.IsSuccess() ? TypedResults.NoContent() : RequestContext.Fail(result, "queue");
    }

    private static async Task<IResult> ListMembersAsync(long id, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var qid)) return NoQueue;
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        var page = await http.Tenant().QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q)
            ? RequestContext.PageOf(q.Members.OrderBy(m => m.Agent.Id.Value).Select(Dto.Member), m => m.AgentId, limit, after)
            : null);
        return page != null ? TypedResults.Ok(page) : NoQueue;
    }

    private static async Task<IResult> SetMembersAsync(long id, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var qid)) return NoQueue;
        var (body, errors) = await Body.ReadAsync<MembersBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = new Errors();
        if (body!.Members == null) e.Add("members", "members is required (it may be empty).");
        else if (body.Members.Count > 10_000) e.Add("members", "at most 10000 members.");
        else
        {
            for (var i = 0; i < body.Members.Count; i++)
            {
                if (body.Members[i] == null) return new Errors().Add($"members[{i}]", "each member must be an object with agent_id.").Problem();
                var m = Validate.Member(body.Members[i], $"members[{i}].");
                if (m.Any) return m.Problem();
            }
            if (body.Members.Select(m => m.AgentId).Distinct().Count() != body.Members.Count) e.Add("members", "an agent may appear only once.");
        }
        if (e.Any) return e.Problem();
        var entries = body.Members!.Select(m => new MemberEntry((int)m.AgentId!.Value, Dto.MemberConfig(m))).ToList();
        var (result, list) = await http.Tenant().ExecuteAsync(new SetMembersCommand(qid, entries), (engine, r) =>
            (r, engine.TryGetQueue(new QueueId(qid), out var q) ? q.Members.OrderBy(m => m.Agent.Id.Value).Select(Dto.Member).ToList() : null));
        return result.IsSuccess() ? TypedResults.Ok(new Page<MemberDto>(list!, null)) : RequestContext.Fail(result, "queue");
    }

    private static async Task<IResult> AddMemberAsync(long id, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var qid)) return NoQueue;
        var (body, errors) = await Body.ReadAsync<MemberBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = Validate.Member(body!);
        if (e.Any) return e.Problem();
        var agentId = (int)body!.AgentId!.Value;
        var (result, dto) = await http.Tenant().ExecuteAsync(new SetMemberCommand(qid, agentId, Dto.MemberConfig(body)), (engine, r) =>
            (r, engine.TryGetAgent(new AgentId(agentId), out var a) && a.Memberships.FirstOrDefault(m => m.Queue.Id.Value == qid) is { } m ? Dto.Member(m) : null));
        return result.IsSuccess() ? TypedResults.Created($"/api/v1/queues/{qid}/members/{agentId}", dto) : RequestContext.Fail(result, "queue");
    }

    private static async Task<IResult> RemoveMemberAsync(long id, long agentId, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var qid)) return NoQueue;
        if (!RequestContext.TryEngineId(agentId, out var aid)) return RequestContext.Fail(CommandResult.UnknownAgent, "agent");
        var result = await http.Tenant().ExecuteAsync(new RemoveMemberCommand(qid, aid), (_, r) => r);
        return result.IsSuccess() ? TypedResults.NoContent() : RequestContext.Fail(result, "queue");
    }

    private static async Task<IResult> StatusAsync(long id, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var qid)) return NoQueue;
        var dto = await http.Tenant().QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q) ? Dto.QueueStatus(engine, q) : null);
        return dto != null ? TypedResults.Ok(dto) : NoQueue;
    }

    private static async Task<IResult> StatsAsync(long id, HttpContext http, Store store)
    {
        if (!RequestContext.TryEngineId(id, out var qid)) return NoQueue;
        var host = http.Tenant();
        var (exists, today) = await host.QueryAsync(engine =>
            engine.TryGetQueue(new QueueId(qid), out var q) ? (true, (Day: host.Day(engine.Now), Stats: Dto.Stats(q))) : (false, default));
        if (!exists) return NoQueue;
        var date = http.Request.Query["date"].ToString();
        if (date.Length == 0 || date == today.Day) return TypedResults.Ok(new DailyStatsDto(today.Day, today.Stats));
        if (!DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            return new Errors().Add("date", "date must be yyyy-MM-dd.").Problem();
        var stored = await store.GetDailyStatsAsync(host.TenantId, qid, day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        var stats = stored != null ? JsonSerializer.Deserialize<QueueStatsDto>(stored, Json.Options) : Dto.NoStats;
        return TypedResults.Ok(new DailyStatsDto(date, stats!));
    }

    private static async Task<IResult> CallsAsync(long id, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var qid)) return NoQueue;
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        var page = await http.Tenant().QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q)
            ? RequestContext.PageOf(engine.ActiveCalls.Where(c => c.Queue == q).OrderBy(c => c.Id.Value).Select(c => Dto.Call(engine, c)), c => c.Id, limit, after)
            : null);
        return page != null ? TypedResults.Ok(page) : NoQueue;
    }

    private static async Task<IResult> PickupAsync(long id, long callId, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var qid)) return NoQueue;
        var (body, errors) = await Body.ReadAsync<PickupBody>(http.Request);
        if (errors != null) return errors.Problem();
        if (body!.AgentId is not { } agent || !RequestContext.TryEngineId(agent, out var aid))
            return new Errors().Add("agent_id", "agent_id is required.").Problem();
        var caller = http.RequiredCaller();
        if (caller.Role < Role.Supervisor && caller.AgentId != agent) return RequestContext.Problem(403, "Agents may pick up calls only for themselves.");
        var host = http.Tenant();
        var inQueue = await host.QueryAsync(engine => engine.TryGetCall(new CallId(callId), out var c) && c.Queue?.Id.Value == qid);
        if (!inQueue) return RequestContext.Fail(CommandResult.UnknownCall, "call");
        var (result, dto) = await host.ExecuteAsync(new PickupCommand(callId, aid), (engine, r) =>
            (r, engine.TryGetCall(new CallId(callId), out var c) ? Dto.Call(engine, c) : null));
        return result.IsSuccess() ? TypedResults.Ok(dto) : RequestContext.Fail(result, "call");
    }

    private static async Task<IResult> StaffingAsync(long id, HttpContext http)
    {
        if (!RequestContext.TryEngineId(id, out var qid)) return NoQueue;
        var e = new Errors();
        var target = Number(http, "target_seconds", 20, 0, 86400, e);
        var targetLevel = Number(http, "target_service_level", 0.8, 0.01, 0.9999, e);
        var callsOverride = Number(http, "calls_per_hour", -1, 0, 1_000_000, e);
        var ahtOverride = Number(http, "aht_seconds", -1, 1, 86400, e);
        var agentsOverride = Number(http, "agents", -1, 1, 100_000, e);
        if (e.Any) return e.Problem();
        var host = http.Tenant();
        var dto = await host.QueryAsync(engine =>
        {
            if (!engine.TryGetQueue(new QueueId(qid), out var q)) return null;
            // Current traffic: today's offered calls over the hours elapsed since local midnight.
            var local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(engine.Now), engine.Options.TimeZone);
            var hours = Math.Max(local.TimeOfDay.TotalHours, 1.0 / 60);
            var calls = callsOverride >= 0 ? callsOverride : q.Today.Offered / hours;
            // Today's average can be 0 (calls answered and hung up within the same millisecond); Erlang C needs AHT > 0.
            var aht = ahtOverride > 0 ? ahtOverride
                : q.Today.Handled > 0 && q.Today.AverageHandleSeconds > 0 ? q.Today.AverageHandleSeconds
                : Math.Max(q.RecentHandleSeconds, 1);
            var agents = agentsOverride > 0 ? (int)agentsOverride : Math.Max(1, q.StaffedAgents);
            var est = ErlangC.Estimate(agents, calls, aht, target);
            var needed = ErlangC.AgentsForServiceLevel(est.TrafficErlangs, aht, target, targetLevel);
            return new StaffingDto(agents, Math.Round(calls, 2), Math.Round(aht, 1), Math.Round(est.TrafficErlangs, 3), target,
                Math.Round(est.ProbabilityOfWaiting, 4), Math.Round(est.ServiceLevel, 4),
                double.IsFinite(est.AverageSpeedOfAnswerSeconds) ? Math.Round(est.AverageSpeedOfAnswerSeconds, 1) : -1,
                Math.Round(est.Occupancy, 4), targetLevel, needed);
        });
        return dto != null ? TypedResults.Ok(dto) : NoQueue;
    }

    private static double Number(HttpContext http, string name, double fallback, double min, double max, Errors e)
    {
        var raw = http.Request.Query[name].ToString();
        if (raw.Length == 0) return fallback;
        if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v < min || v > max)
        {
            e.Add(name, $"{name} must be a number between {min} and {max}.");
            return fallback;
        }
        return v;
    }
}
