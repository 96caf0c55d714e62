using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lineup.Engine;
using Lineup.Server.Api.Dialects;
using Lineup.Server.Application;
using Lineup.Server.Auth;
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

    private static IResult NoQueue => RequestContext.Fail(QueueService.NoQueue);

    private static IResult Answer<T>(Result<T> r) => r.Ok ? TypedResults.Ok(r.Value) : RequestContext.Fail(r.Error!);

    private static async Task<IResult> ListAsync(HttpContext http)
    {
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        var page = await http.Tenant().QueryAsync(engine =>
            RequestContext.PageOf(engine.Queues.OrderBy(q => q.Id.Value).Select(q => Dto.Queue(q.Config)), q => q.Id!.Value, limit, after));
        return TypedResults.Ok(page);
    }

    private static async Task<IResult> GetAsync(long id, HttpContext http, QueueService queues) =>
        Answer(await queues.ReadAsync(http.Tenant(), id, (_, q) => Dto.Queue(q.Config)));

    private static async Task<IResult> CreateAsync(HttpContext http, QueueService queues)
    {
        var (patch, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return errors.Problem();
        if (NativeStrategy(patch!) is { } bad) return bad.Problem();
        // Defaults first, then the body: the same merge as PATCH, so both validate identically.
        var defaults = JsonSerializer.SerializeToNode(Dto.Queue(new QueueConfig { Id = new QueueId(1) }) with { Id = null, Name = null }, Json.Options)!;
        return await SaveAsync(http, Body.Merge(defaults, patch!), id: null, queues);
    }

    private static async Task<IResult> UpdateAsync(long id, HttpContext http, QueueService queues)
    {
        if (!EngineIds.TryInt(id, out var qid)) return NoQueue;
        var (patch, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return errors.Problem();
        if (NativeStrategy(patch!) is { } bad) return bad.Problem();
        var current = await queues.ReadAsync(http.Tenant(), id, (_, q) => Dto.Queue(q.Config));
        if (!current.Ok) return NoQueue;
        return await SaveAsync(http, Body.Merge(JsonSerializer.SerializeToNode(current.Value, Json.Options)!, patch!), qid, queues);
    }

    /// <summary>A strategy in another spelling (a vendor's, or Lineup's own without its underscores: <c>ringall</c>)
    /// becomes Lineup's name, and a spelling that includes skills-based routing turns <c>skills_routing</c> on; the
    /// answer then shows Lineup's name. Null, or the contradiction with an explicit <c>skills_routing: false</c>.</summary>
    private static Errors? NativeStrategy(JsonNode patch)
    {
        if (patch is not JsonObject body || body["strategy"] is not JsonValue value || !value.TryGetValue<string>(out var name)) return null;
        if (StrategyNames.TryParse(name, out _) || !AnyStrategySpelling.TryParse(name, out var strategy, out var skills)) return null;
        body["strategy"] = StrategyNames.NameOf(strategy);
        if (!skills) return null;
        if (body["skills_routing"] is JsonValue given && given.TryGetValue<bool>(out var on) && !on)
            return new Errors().Add("strategy", $"'{name}' routes by skill, which skills_routing false contradicts.");
        body["skills_routing"] = true;
        return null;
    }

    private static async Task<IResult> SaveAsync(HttpContext http, JsonNode merged, int? id, QueueService queues)
    {
        var (body, errors) = Body.Bind<QueueBody>(merged);
        if (errors != null) return errors.Problem();
        var e = Validate.Queue(body!, id ?? 1);
        if (e.Any) return e.Problem();
        var queueId = id ?? await queues.NewIdAsync();
        var r = await queues.SaveAsync(http.Tenant(), Dto.QueueConfig(queueId, body!), keepDialectData: true, Validate.QueueField, (_, q) => Dto.Queue(q.Config));
        if (!r.Ok) return RequestContext.Fail(r.Error!);
        return id == null ? TypedResults.Created($"/api/v1/queues/{queueId}", r.Value) : TypedResults.Ok(r.Value);
    }

    private static async Task<IResult> DeleteAsync(long id, HttpContext http, QueueService queues)
    {
        var r = await queues.DeleteAsync(http.Tenant(), id);
        return r.Ok ? TypedResults.NoContent() : RequestContext.Fail(r.Error!);
    }

    private static async Task<IResult> ListMembersAsync(long id, HttpContext http, QueueService queues)
    {
        if (!EngineIds.TryInt(id, out _)) return NoQueue;
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        return Answer(await queues.ReadAsync(http.Tenant(), id, (_, q) =>
            RequestContext.PageOf(q.Members.OrderBy(m => m.Agent.Id.Value).Select(Dto.Member), m => m.AgentId, limit, after)));
    }

    private static async Task<IResult> SetMembersAsync(long id, HttpContext http, QueueService queues)
    {
        if (!EngineIds.TryInt(id, out _)) return NoQueue;
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
        var r = await queues.SetMembersAsync(http.Tenant(), id, entries, MemberNames, (_, q) =>
            new Page<MemberDto>(q.Members.OrderBy(m => m.Agent.Id.Value).Select(Dto.Member).ToList(), null));
        return Answer(r);
    }

    /// <summary>Names "i.Setting" as members[i].field.</summary>
    private static string? MemberNames(string indexed)
    {
        var dot = indexed.IndexOf('.', StringComparison.Ordinal);
        return Validate.MemberField($"members[{indexed[..dot]}].")(indexed[(dot + 1)..]);
    }

    private static async Task<IResult> AddMemberAsync(long id, HttpContext http, QueueService queues)
    {
        if (!EngineIds.TryInt(id, out var qid)) return NoQueue;
        var (body, errors) = await Body.ReadAsync<MemberBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = Validate.Member(body!);
        if (e.Any) return e.Problem();
        var agentId = body!.AgentId!.Value;
        var r = await queues.SetMemberAsync(http.Tenant(), id, agentId, Dto.MemberConfig(body), Validate.MemberField(), (_, m) => Dto.Member(m));
        return r.Ok ? TypedResults.Created($"/api/v1/queues/{qid}/members/{agentId}", r.Value) : RequestContext.Fail(r.Error!);
    }

    private static async Task<IResult> RemoveMemberAsync(long id, long agentId, HttpContext http, QueueService queues)
    {
        var r = await queues.RemoveMemberAsync(http.Tenant(), id, agentId);
        return r.Ok ? TypedResults.NoContent() : RequestContext.Fail(r.Error!);
    }

    private static async Task<IResult> StatusAsync(long id, HttpContext http, QueueService queues) =>
        Answer(await queues.ReadAsync(http.Tenant(), id, Dto.QueueStatus));

    private static async Task<IResult> StatsAsync(long id, HttpContext http, ReportService reports)
    {
        if (!EngineIds.TryInt(id, out _)) return NoQueue;
        var date = http.Request.Query["date"].ToString();
        DateOnly? day = null;
        if (date.Length > 0)
        {
            if (!DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
            {
                // Today's figures answer even a malformed date, as long as the queue exists; then the date is wrong.
                var today = await reports.DailyStatsAsync(http.Tenant(), id, null);
                return today.Ok ? new Errors().Add("date", "date must be yyyy-MM-dd.").Problem() : NoQueue;
            }
            day = d;
        }
        var r = await reports.DailyStatsAsync(http.Tenant(), id, day);
        return r.Ok ? TypedResults.Ok(new DailyStatsDto(r.Value.Day, Dto.Stats(r.Value.Stats))) : RequestContext.Fail(r.Error!);
    }

    private static async Task<IResult> CallsAsync(long id, HttpContext http, QueueService queues)
    {
        if (!EngineIds.TryInt(id, out _)) return NoQueue;
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        return Answer(await queues.ReadAsync(http.Tenant(), id, (engine, q) =>
            RequestContext.PageOf(engine.ActiveCalls.Where(c => c.Queue == q).OrderBy(c => c.Id.Value).Select(c => Dto.Call(engine, c)), c => c.Id, limit, after)));
    }

    private static async Task<IResult> PickupAsync(long id, long callId, HttpContext http, CallService calls)
    {
        if (!EngineIds.TryInt(id, out _)) return NoQueue;
        var (body, errors) = await Body.ReadAsync<PickupBody>(http.Request);
        if (errors != null) return errors.Problem();
        if (body!.AgentId is not { } agent || !EngineIds.TryInt(agent, out _))
            return new Errors().Add("agent_id", "agent_id is required.").Problem();
        var caller = http.RequiredCaller();
        if (caller.Role < Role.Supervisor && caller.AgentId != agent) return RequestContext.Problem(403, "Agents may pick up calls only for themselves.");
        return Answer(await calls.PickupAsync(http.Tenant(), id, callId, agent, Dto.Call));
    }

    private static async Task<IResult> StaffingAsync(long id, HttpContext http, ReportService reports)
    {
        if (!EngineIds.TryInt(id, out _)) return NoQueue;
        var e = new Errors();
        var target = Number(http, "target_seconds", 20, 0, 86400, e);
        var targetLevel = Number(http, "target_service_level", 0.8, 0.01, 0.9999, e);
        var callsOverride = Number(http, "calls_per_hour", -1, 0, 1_000_000, e);
        var ahtOverride = Number(http, "aht_seconds", -1, 1, 86400, e);
        var agentsOverride = Number(http, "agents", -1, 1, 100_000, e);
        if (e.Any) return e.Problem();
        var r = await reports.StaffingAsync(http.Tenant(), id, target, targetLevel, callsOverride, ahtOverride, agentsOverride);
        if (!r.Ok) return RequestContext.Fail(r.Error!);
        var (agents, calls, aht, est, needed) = r.Value!;
        return TypedResults.Ok(new StaffingDto(agents, Math.Round(calls, 2), Math.Round(aht, 1), Math.Round(est.TrafficErlangs, 3), target,
            Math.Round(est.ProbabilityOfWaiting, 4), Math.Round(est.ServiceLevel, 4),
            double.IsFinite(est.AverageSpeedOfAnswerSeconds) ? Math.Round(est.AverageSpeedOfAnswerSeconds, 1) : -1,
            Math.Round(est.Occupancy, 4), targetLevel, needed));
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
