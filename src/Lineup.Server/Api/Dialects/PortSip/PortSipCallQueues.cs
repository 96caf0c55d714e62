using System.Text.Json.Nodes;
using Lineup.Engine;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api.Dialects.PortSip;

/// <summary>/api/call_queues: queues, their status, waiting callers, pickup and agents, on the tenant's engine.</summary>
internal static class PortSipCallQueues
{
    private static readonly string[] ListFields = ["id", "name", "extension_number", "ring_time", "polling_strategy"];

    /// <summary>PortSIP agent statuses, as the engine holds them (BREAK and LUNCH are Not Ready with that reason).</summary>
    public static readonly string[] AgentStatuses = ["READY", "NOT_READY", "WRAP_UP", "BREAK", "LUNCH", "LOGGED_IN", "LOGGED_OUT"];

    public static void Map(RouteGroupBuilder api)
    {
        var q = api.MapGroup("/call_queues");
        q.MapGet("", (Delegate)ListAsync).Require(Role.Supervisor);
        q.MapPost("", (Delegate)CreateAsync).Require(Role.Admin);
        q.MapGet("/{id}", (Delegate)GetAsync).Require(Role.Supervisor);
        q.MapPost("/{id}", (Delegate)UpdateAsync).Require(Role.Admin);
        q.MapGet("/{id}/status", (Delegate)StatusAsync).Require(Role.Supervisor);
        q.MapPost("/{id}/destroy", (Delegate)DestroyAsync).Require(Role.Admin);
        q.MapGet("/{id}/waiting", (Delegate)WaitingAsync).Require(Role.Agent);
        q.MapPost("/{id}/waiting/{sessionId}/pickup", (Delegate)PickupAsync).Require(Role.Agent);
        q.MapGet("/{id}/agents", (Delegate)AgentsAsync).Require(Role.Supervisor);
        q.MapPost("/{id}/agents", (Delegate)SetAgentsAsync).Require(Role.Admin);
        q.MapGet("/{id}/agents/{agentNumber}", (Delegate)AgentAsync).Require(Role.Agent);
        q.MapPost("/{id}/agents/{agentNumber}", (Delegate)SetAgentStatusAsync).Require(Role.Agent);
    }

    private static IResult NoQueue => PortSipErrors.NotFound("Call queue");

    private static async Task<(PortSipFields? Fields, IResult? Error)> ReadAsync(HttpRequest request)
    {
        var (node, errors) = await Body.ReadNodeAsync(request);
        return errors != null ? (null, PortSipErrors.FromErrors(errors)) : (new PortSipFields((JsonObject)node!), null);
    }

    private static async Task<IResult> ListAsync(HttpContext http)
    {
        var items = await http.Tenant().QueryAsync(engine =>
            engine.Queues.OrderBy(q => q.Id.Value).Select(q => PortSipQueueMapping.Summary(q.Config)).ToList());
        if (!PortSipQuery.TryApply(http.Request, items, ListFields, out var page, out var error)) return error!;
        return TypedResults.Json(new JsonObject { ["count"] = page.Count, ["items"] = new JsonArray([.. page.Items]) });
    }

    private static async Task<IResult> CreateAsync(HttpContext http, QueueService queues)
    {
        var (f, error) = await ReadAsync(http.Request);
        if (error != null) return error;
        var config = PortSipQueueMapping.Apply(f!, PortSipQueueMapping.Defaults(0), create: true);
        if (f!.Failed) return f.Problem();
        var id = await queues.NewIdAsync();
        var saved = await queues.SaveAsync(http.Tenant(), config with { Id = new QueueId(id) }, keepDialectData: false, PortSipQueueMapping.Field, (_, _) => true);
        if (!saved.Ok) return PortSipErrors.Fail(saved.Error!, "call queue");
        return TypedResults.Json(new JsonObject { ["id"] = PortSipIds.Encode(id) });
    }

    private static async Task<IResult> GetAsync(string id, HttpContext http, QueueService queues, Telephony.MediaLibrary media)
    {
        if (!PortSipIds.TryDecodeEngineId(id, out var qid)) return NoQueue;
        var tenant = http.Tenant().TenantId;
        var dto = await queues.ReadAsync(http.Tenant(), qid, (_, q) => PortSipQueueMapping.Detail(q.Config, m => media.Get(tenant, m)));
        return dto.Ok ? TypedResults.Json(dto.Value) : NoQueue;
    }

    private static async Task<IResult> UpdateAsync(string id, HttpContext http, QueueService queues)
    {
        if (!PortSipIds.TryDecodeEngineId(id, out var qid)) return NoQueue;
        var (f, error) = await ReadAsync(http.Request);
        if (error != null) return error;
        var host = http.Tenant();
        var current = await queues.ReadAsync(host, qid, (_, q) => q.Config);
        if (!current.Ok) return NoQueue;
        var config = PortSipQueueMapping.Apply(f!, current.Value!, create: false);
        if (f!.Failed) return f.Problem();
        // The command carries the whole configuration read above; a concurrent change in between is overwritten,
        // as with the native API's PATCH.
        var saved = await queues.SaveAsync(host, config, keepDialectData: false, PortSipQueueMapping.Field, (_, _) => true);
        return saved.Ok ? TypedResults.Ok() : PortSipErrors.Fail(saved.Error!, "call queue");
    }

    private static async Task<IResult> StatusAsync(string id, HttpContext http)
    {
        if (!PortSipIds.TryDecodeEngineId(id, out var qid)) return NoQueue;
        var exists = await http.Tenant().QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out _));
        // A queue that exists is served by this process's engine: it is online.
        return exists ? TypedResults.Json(new JsonObject { ["status"] = "ONLINE" }) : NoQueue;
    }

    private static async Task<IResult> DestroyAsync(string id, HttpContext http, QueueService queues)
    {
        if (!PortSipIds.TryDecodeEngineId(id, out var qid)) return NoQueue;
        var removed = await queues.DeleteAsync(http.Tenant(), qid);
        return removed.Ok ? TypedResults.NoContent() : PortSipErrors.Fail(removed.Error!, "call queue");
    }

    private static async Task<IResult> WaitingAsync(string id, HttpContext http)
    {
        if (!PortSipIds.TryDecodeEngineId(id, out var qid)) return NoQueue;
        var items = await http.Tenant().QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q)
            ? q.WaitingCalls.Select(c => (JsonNode)new JsonObject
            {
                ["session_id"] = PortSipIds.Encode(c.Id.Value),
                ["extension_number"] = c.Record.CallerNumber,
                ["display_name"] = c.Record.CallerName,
                // The same figure as the native call's wait_seconds: since the call entered Lineup.
                ["waiting_time"] = (int)(Math.Max(0, engine.Now - c.Record.EnteredAt) / 1000),
            }).ToArray()
            : null);
        return items != null ? TypedResults.Json(new JsonObject { ["items"] = new JsonArray(items) }) : NoQueue;
    }

    /// <summary>The signed-in user's own agent answers the chosen waiting call.</summary>
    private static async Task<IResult> PickupAsync(string id, string sessionId, HttpContext http, CallService calls)
    {
        if (!PortSipIds.TryDecodeEngineId(id, out var qid)) return NoQueue;
        if (!PortSipIds.TryDecode(sessionId, out var callId)) return PortSipErrors.NotFound("Session");
        var host = http.Tenant();
        var where = await host.QueryAsync(engine => !engine.TryGetQueue(new QueueId(qid), out _) ? 1
            : engine.TryGetCall(new CallId(callId), out var c) && c.Queue?.Id.Value == qid && c.IsQueued ? 0 : 2);
        if (where == 1) return NoQueue;
        if (where == 2) return PortSipErrors.NotFound("Session");
        if (http.RequiredCaller().AgentId is not { } agent || !EngineIds.TryInt(agent, out _))
            return PortSipErrors.Error(403, "Only a user with an agent extension can answer a waiting call.");
        var picked = await calls.PickupAsync(host, qid, callId, agent, (_, _) => true);
        return picked.Ok ? TypedResults.Ok() : PortSipErrors.Fail(picked.Error!, "session");
    }

    private static JsonObject AgentItem(Member m) => new()
    {
        ["extension_number"] = m.Agent.Config.Number,
        ["display_name"] = m.Agent.Config.Name,
        ["skill_level"] = m.Config.SkillLevel,
    };

    private static async Task<IResult> AgentsAsync(string id, HttpContext http)
    {
        if (!PortSipIds.TryDecodeEngineId(id, out var qid)) return NoQueue;
        var items = await http.Tenant().QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q)
            ? q.Members.OrderBy(m => m.Config.Level).ThenBy(m => m.Config.Position).ThenBy(m => m.Agent.Id.Value)
                .Select(m => (JsonNode)AgentItem(m)).ToArray()
            : null);
        return items != null ? TypedResults.Json(new JsonObject { ["items"] = new JsonArray(items) }) : NoQueue;
    }

    /// <summary>Replaces the queue's agents; the list's order is the hunt order (position), skill levels as given.</summary>
    private static async Task<IResult> SetAgentsAsync(string id, HttpContext http, QueueService queues)
    {
        if (!PortSipIds.TryDecodeEngineId(id, out var qid)) return NoQueue;
        var (f, error) = await ReadAsync(http.Request);
        if (error != null) return error;
        f!.OnlyKnown(["items"]);
        var array = f.Array("items");
        if (!f.Failed && array == null) f.Fail("items", "items is required (it may be empty).");
        if (!f.Failed && array!.Count > 10_000) f.Fail("items", "items may hold at most 10000 agents.");
        var wanted = new List<(string Number, int Skill)>();
        for (var i = 0; !f.Failed && i < array!.Count; i++)
        {
            var prefix = $"items[{i}].";
            if (array[i] is not JsonObject o)
            {
                f.Fail($"items[{i}]", "each item must be an object with extension_number.");
                break;
            }
            var e = new PortSipFields(o);
            e.OnlyKnown(["extension_number", "skill_level"], prefix);
            var number = e.String("extension_number", 3, 64, PortSipFields.Extension(), "3 to 64 digits", prefix);
            var skill = e.Int("skill_level", 1, 1000, prefix);
            if (!e.Failed && number == null) e.Fail(prefix + "extension_number", "extension_number is required.");
            if (!e.Failed && wanted.Any(w => w.Number == number)) e.Fail(prefix + "extension_number", "an extension may appear only once.");
            if (e.Failed) f.Fail(e.Field!, e.Message!);
            else wanted.Add((number!, skill ?? 1));
        }
        if (f.Failed) return f.Problem();

        var host = http.Tenant();
        // Extension numbers to agents, keeping each existing member's other settings (level, delays).
        var resolved = await host.QueryAsync(engine =>
        {
            if (!engine.TryGetQueue(new QueueId(qid), out var q)) return ((List<MemberEntry>?)null, -1);
            var byNumber = engine.Agents.Where(a => a.Config.Number != null).GroupBy(a => a.Config.Number!).ToDictionary(g => g.Key, g => g.OrderBy(a => a.Id.Value).First());
            var entries = new List<MemberEntry>();
            for (var i = 0; i < wanted.Count; i++)
            {
                if (!byNumber.TryGetValue(wanted[i].Number, out var agent)) return (null, i);
                var current = q.Members.FirstOrDefault(m => m.Agent == agent)?.Config ?? MemberConfig.Default;
                entries.Add(new MemberEntry(agent.Id.Value, current with { Position = i, SkillLevel = wanted[i].Skill }));
            }
            return (entries, -1);
        });
        var (entriesFound, missingAt) = resolved;
        if (missingAt >= 0) return PortSipErrors.Error(404, "No agent has that extension number.", $"items[{missingAt}].extension_number");
        if (entriesFound == null) return NoQueue;
        var set = await queues.SetMembersAsync(host, qid, entriesFound, PortSipQueueMapping.MemberField, (_, _) => true);
        return set.Ok ? TypedResults.Ok() : PortSipErrors.Fail(set.Error!, "call queue");
    }

    /// <summary>An agent user may read and set only its own extension.</summary>
    private static bool MayActOn(HttpContext http, int agentId) =>
        http.RequiredCaller() is var c && (c.Role >= Role.Supervisor || c.AgentId == agentId);

    /// <summary>The agent's status in this queue, in PortSIP's words.</summary>
    public static string StatusOf(Member m) => !m.LoggedIn || m.Agent.Status == AgentStatus.LoggedOut ? "LOGGED_OUT"
        : m.Agent.Status switch
        {
            AgentStatus.Ready => "READY",
            AgentStatus.WrapUp => "WRAP_UP",
            _ => m.Agent.Reason is "BREAK" or "LUNCH" ? m.Agent.Reason : "NOT_READY",
        };

    private static (int Missing, Member? Member) FindMember(CallCenter engine, int qid, string agentNumber)
    {
        if (!engine.TryGetQueue(new QueueId(qid), out var q)) return (1, null);
        var m = q.Members.Where(m => m.Agent.Config.Number == agentNumber).OrderBy(m => m.Agent.Id.Value).FirstOrDefault();
        return m == null ? (2, null) : (0, m);
    }

    private static async Task<IResult> AgentAsync(string id, string agentNumber, HttpContext http)
    {
        if (!PortSipIds.TryDecodeEngineId(id, out var qid)) return NoQueue;
        var (found, dto, agentId) = await http.Tenant().QueryAsync(engine =>
        {
            var (missing, m) = FindMember(engine, qid, agentNumber);
            if (m == null) return (missing, (JsonObject?)null, 0);
            var item = AgentItem(m);
            item["status"] = StatusOf(m);
            return (0, item, m.Agent.Id.Value);
        });
        if (found == 1) return NoQueue;
        if (dto == null) return PortSipErrors.NotFound("Call queue agent");
        if (!MayActOn(http, agentId))
            return PortSipErrors.Error(403, "Agents may read only their own extension.");
        return TypedResults.Json(dto);
    }

    private static async Task<IResult> SetAgentStatusAsync(string id, string agentNumber, HttpContext http, AgentService agents)
    {
        if (!PortSipIds.TryDecodeEngineId(id, out var qid)) return NoQueue;
        var (f, error) = await ReadAsync(http.Request);
        if (error != null) return error;
        f!.OnlyKnown(["status"]);
        var status = f.Enum("status", AgentStatuses);
        if (!f.Failed && status == null) f.Fail("status", "status is required.");
        if (f.Failed) return f.Problem();
        var host = http.Tenant();
        var (found, aid) = await host.QueryAsync(engine => FindMember(engine, qid, agentNumber) is var (missing, m) && m != null ? (0, m.Agent.Id.Value) : (missing, 0));
        if (found == 1) return NoQueue;
        if (aid == 0) return PortSipErrors.NotFound("Call queue agent");
        if (!MayActOn(http, aid)) return PortSipErrors.Error(403, "Agents may change only their own status.");
        var result = status switch
        {
            // Log in and out of this queue only, as PortSIP's per-queue agent does.
            "LOGGED_IN" => await agents.LoginAsync(host, aid, [qid], (_, _) => true),
            "LOGGED_OUT" => await agents.LogoutAsync(host, aid, [qid], (_, _) => true),
            "READY" => await agents.SetStatusAsync(host, aid, AgentStatus.Ready, null, (_, _) => true),
            "WRAP_UP" => await agents.SetStatusAsync(host, aid, AgentStatus.WrapUp, null, (_, _) => true),
            "BREAK" or "LUNCH" => await agents.SetStatusAsync(host, aid, AgentStatus.NotReady, status, (_, _) => true),
            _ => await agents.SetStatusAsync(host, aid, AgentStatus.NotReady, null, (_, _) => true),
        };
        return result.Ok ? TypedResults.Ok() : PortSipErrors.Fail(result.Error!, "agent");
    }
}
