using System.Globalization;
using System.Text.Json.Nodes;
using Lineup.Engine;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api.Dialects.Telphin;

/// <summary>A client's local agents (a phone extension) and remote agents (an external number).</summary>
internal static class TelphinAgents
{
    public static void Map(RouteGroupBuilder api)
    {
        foreach (var kind in new[] { AgentKind.Local, AgentKind.Remote })
        {
            var path = $"/client/{{client_id}}/agent/{Kind(kind)}/";
            api.MapPost(path, (string client_id, HttpContext http, AgentService agents) => CreateAsync(kind, client_id, http, agents)).Require(Role.Admin);
            api.MapGet(path, (string client_id, HttpContext http) => ListAsync(kind, client_id, http)).Require(Role.Supervisor);
            api.MapGet(path + "{agent_id}", (string client_id, string agent_id, HttpContext http) => GetAsync(kind, client_id, agent_id, http))
                .Require(Role.Supervisor);
            api.MapPut(path + "{agent_id}", (string client_id, string agent_id, HttpContext http, AgentService agents) =>
                UpdateAsync(kind, client_id, agent_id, http, agents)).Require(Role.Admin);
            api.MapDelete(path + "{agent_id}", (string client_id, string agent_id, HttpContext http, AgentService agents) =>
                DeleteAsync(kind, client_id, agent_id, http, agents)).Require(Role.Admin);
        }
    }

    internal static string Kind(AgentKind kind) => kind == AgentKind.Local ? "local" : "remote";

    internal static string AgentWord(AgentKind kind) => kind == AgentKind.Local ? "Local agent" : "Remote agent";

    private static readonly string[] s_common =
        ["busy_delay_time", "call_timeout", "extra_params", "name", "no_answer_delay_time", "reject_delay_time", "status", "wrap_up_time"];

    private static IReadOnlyCollection<string> Fields(AgentKind kind) =>
        [.. s_common, kind == AgentKind.Local ? "extension_id" : "number"];

    /// <summary>Telphin's agent status: "available" while logged in to its queues. An agent with no queue yet keeps
    /// the status it was given, and is logged in to each queue it is added to while "available".</summary>
    internal static string Status(Agent a)
    {
        if (a.Status != AgentStatus.LoggedOut) return "available";
        return a.Memberships.Count == 0 && TelphinJson.Data(a.Config.DialectData)["status"]?.GetValue<string>() == "available" ? "available" : "logged_out";
    }

    internal static JsonObject Dto(Agent a)
    {
        var c = a.Config;
        var data = TelphinJson.Data(c.DialectData);
        JsonNode? name = c.Name.Length > 0 ? c.Name : null;
        if (c.Kind == AgentKind.Local)
        {
            return new JsonObject
            {
                ["status"] = Status(a),
                ["name"] = name,
                ["busy_delay_time"] = c.BusyDelaySeconds,
                ["no_answer_delay_time"] = c.NoAnswerDelaySeconds,
                ["call_timeout"] = c.RingTimeoutSeconds,
                ["wrap_up_time"] = c.WrapUpSeconds ?? 0,
                ["extension_id"] = TelphinJson.Long(long.TryParse(c.Number, NumberStyles.None, CultureInfo.InvariantCulture, out var ext) ? ext : null),
                ["reject_delay_time"] = c.RejectDelaySeconds,
                ["extra_params"] = data["extra_params"]?.DeepClone(),
                ["id"] = TelphinIds.ToTelphin(c.Id.Value),
            };
        }
        return new JsonObject
        {
            ["busy_delay_time"] = c.BusyDelaySeconds,
            ["call_timeout"] = c.RingTimeoutSeconds,
            ["extra_params"] = data["extra_params"]?.DeepClone(),
            ["id"] = TelphinIds.ToTelphin(c.Id.Value),
            ["name"] = name,
            ["no_answer_delay_time"] = c.NoAnswerDelaySeconds,
            ["number"] = c.Number,
            ["reject_delay_time"] = c.RejectDelaySeconds,
            ["status"] = Status(a),
            ["wrap_up_time"] = c.WrapUpSeconds ?? 0,
        };
    }

    /// <summary>Validates the body and applies it over <paramref name="c"/>.</summary>
    private static AgentConfig Apply(AgentConfig c, TelphinBody b, bool create)
    {
        var day = 86400L;
        var busy = b.Long("busy_delay_time", 0, day);
        var timeout = b.Long("call_timeout", 0, 3600);
        var noAnswer = b.Long("no_answer_delay_time", 0, day);
        var reject = b.Long("reject_delay_time", 0, day);
        var wrap = b.Long("wrap_up_time", 0, day);
        var name = b.Str("name", 128);
        var extra = b.Str("extra_params", 1024);
        b.OneOf("status", "available", "logged_out");
        string? number = c.Number;
        if (c.Kind == AgentKind.Local)
        {
            var ext = b.Long("extension_id", 1, long.MaxValue);
            if (create && ext == null) b.Errors.Add("extension_id", "extension_id is required.");
            if (ext != null) number = ext.Value.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            var n = b.Str("number", 32);
            if ((create || b.Has("number")) && string.IsNullOrEmpty(n)) b.Errors.Add("number", "number is required.");
            else if (n != null && !Errors.Dialable().IsMatch(n)) b.Errors.Add("number", "number must be 1 to 32 of 0-9 * # +.");
            if (n != null) number = n;
        }
        var data = TelphinJson.Data(c.DialectData);
        if (b.Has("extra_params")) data["extra_params"] = extra;
        if (b.Str("status") is { } status) data["status"] = status;
        return c with
        {
            Name = b.Has("name") ? name ?? "" : c.Name,
            Number = number,
            BusyDelaySeconds = b.Has("busy_delay_time") ? (int)(busy ?? 0) : c.BusyDelaySeconds,
            RingTimeoutSeconds = b.Has("call_timeout") ? (int)(timeout ?? 0) : c.RingTimeoutSeconds,
            NoAnswerDelaySeconds = b.Has("no_answer_delay_time") ? (int)(noAnswer ?? 0) : c.NoAnswerDelaySeconds,
            RejectDelaySeconds = b.Has("reject_delay_time") ? (int)(reject ?? 0) : c.RejectDelaySeconds,
            // Telphin's queues have no wrap-up of their own: the agent's (0 by default) is the one that applies.
            WrapUpSeconds = b.Has("wrap_up_time") || create ? (int)(wrap ?? 0) : c.WrapUpSeconds,
            DialectData = TelphinJson.WithData(c.DialectData, data),
        };
    }

    /// <summary>Telphin's names of the engine's agent settings.</summary>
    internal static string? Field(string setting) => setting switch
    {
        nameof(AgentConfig.BusyDelaySeconds) => "busy_delay_time",
        nameof(AgentConfig.RingTimeoutSeconds) => "call_timeout",
        nameof(AgentConfig.NoAnswerDelaySeconds) => "no_answer_delay_time",
        nameof(AgentConfig.RejectDelaySeconds) => "reject_delay_time",
        nameof(AgentConfig.WrapUpSeconds) => "wrap_up_time",
        _ => null,
    };

    /// <summary>Logs the agent in to or out of its queues when the body sets its status.</summary>
    private static async Task<Result<bool>> ApplyStatusAsync(AgentService agents, ITenant host, int id, string? status)
    {
        if (status == null) return true;
        var hasQueues = await agents.ReadAsync(host, id, (_, a) => a.Memberships.Count > 0);
        if (!hasQueues.Ok || !hasQueues.Value) return true;
        return status == "available" ? await agents.LoginAsync(host, id, null, (_, _) => true) : await agents.LogoutAsync(host, id, null, (_, _) => true);
    }

    private static async Task<IResult> CreateAsync(AgentKind kind, string clientId, HttpContext http, AgentService agents)
    {
        if (TelphinIds.Client(http, clientId) is not { } host) return TelphinErrors.NotFound("Client");
        var (body, error) = await TelphinBody.ReadAsync(http.Request, Fields(kind));
        if (error != null) return error;
        var b = body!;
        var config = Apply(new AgentConfig { Id = new AgentId(1), Kind = kind }, b, create: true);
        if (TelphinJson.Data(config.DialectData)["status"] == null)
            config = config with { DialectData = TelphinJson.WithData(config.DialectData, new JsonObject { ["status"] = "logged_out" }) };
        if (b.Errors.Any) return TelphinErrors.Invalid(b.Errors);
        var created = await agents.CreateAsync(host, config, Field, (_, a) => Dto(a));
        return created.Ok ? TelphinJson.Result(created.Value!, 201) : TelphinErrors.Fail(created.Error!, "local agent");
    }

    private static async Task<IResult> ListAsync(AgentKind kind, string clientId, HttpContext http)
    {
        if (TelphinIds.Client(http, clientId) is not { } host) return TelphinErrors.NotFound("Client");
        var filter = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in http.Request.Query["extension_id"])
        {
            foreach (var part in (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var ext))
                    return TelphinErrors.Invalid(new Errors().Add("extension_id", "extension_id must be a list of integers."));
                filter.Add(ext.ToString(CultureInfo.InvariantCulture));
            }
        }
        var list = await host.QueryAsync(engine => new JsonArray([.. engine.Agents
            .Where(a => a.Config.Kind == kind && (filter.Count == 0 || (a.Config.Number is { } n && filter.Contains(n))))
            .OrderBy(a => a.Id.Value).Select(a => (JsonNode)Dto(a))]));
        return TelphinJson.Result(list);
    }

    /// <summary>The agent <paramref name="agentId"/> of this kind in the client's tenant, or null.</summary>
    internal static async Task<(ITenant? Host, int Id)> FindAsync(AgentKind kind, string clientId, string agentId, HttpContext http)
    {
        if (TelphinIds.Client(http, clientId) is not { } host || !TelphinIds.TryEngineId(agentId, out var id)) return (null, 0);
        var found = await host.QueryAsync(engine => engine.TryGetAgent(new AgentId(id), out var a) && a.Config.Kind == kind);
        return found ? (host, id) : (null, 0);
    }

    private static async Task<IResult> GetAsync(AgentKind kind, string clientId, string agentId, HttpContext http)
    {
        var (host, id) = await FindAsync(kind, clientId, agentId, http);
        if (host == null) return TelphinErrors.NotFound(AgentWord(kind));
        var dto = await host.QueryAsync(engine => engine.TryGetAgent(new AgentId(id), out var a) ? Dto(a) : null);
        return dto != null ? TelphinJson.Result(dto) : TelphinErrors.NotFound(AgentWord(kind));
    }

    private static async Task<IResult> UpdateAsync(AgentKind kind, string clientId, string agentId, HttpContext http, AgentService agents)
    {
        var (host, id) = await FindAsync(kind, clientId, agentId, http);
        if (host == null) return TelphinErrors.NotFound(AgentWord(kind));
        var (body, error) = await TelphinBody.ReadAsync(http.Request, Fields(kind));
        if (error != null) return error;
        var b = body!;
        var current = await host.QueryAsync(engine => engine.TryGetAgent(new AgentId(id), out var a) ? a.Config : null);
        if (current == null) return TelphinErrors.NotFound(AgentWord(kind));
        var config = Apply(current, b, create: false);
        if (b.Errors.Any) return TelphinErrors.Invalid(b.Errors);
        var saved = await agents.UpdateAsync(host, config, keepDialectData: false, Field, (_, _) => true);
        if (!saved.Ok) return TelphinErrors.Fail(saved.Error!, "local agent");
        var status = await ApplyStatusAsync(agents, host, id, b.Str("status"));
        if (!status.Ok) return TelphinErrors.Fail(status.Error!, "agent");
        var dto = await host.QueryAsync(engine => engine.TryGetAgent(new AgentId(id), out var a) ? Dto(a) : null);
        return dto != null ? TelphinJson.Result(dto) : TelphinErrors.NotFound(AgentWord(kind));
    }

    private static async Task<IResult> DeleteAsync(AgentKind kind, string clientId, string agentId, HttpContext http, AgentService agents)
    {
        var (host, id) = await FindAsync(kind, clientId, agentId, http);
        if (host == null) return TelphinErrors.NotFound(AgentWord(kind));
        var remove = http.Request.Query["remove_from_queues"].ToString();
        if (remove.Length > 0 && !bool.TryParse(remove, out _))
            return TelphinErrors.Invalid(new Errors().Add("remove_from_queues", "remove_from_queues must be true or false."));
        var removeFromQueues = remove.Length == 0 || bool.Parse(remove);
        var queues = await host.QueryAsync(engine => engine.TryGetAgent(new AgentId(id), out var a) ? a.Memberships.Count : 0);
        if (!removeFromQueues && queues > 0)
            return TelphinErrors.Error(409, $"The agent is in {queues} queue(s); delete it with remove_from_queues=true or take it out of them first.");
        // The same deletion as every API's: memberships, subscriptions, SIP credential and bound users go with it.
        var deleted = await agents.DeleteAsync(host, id);
        return deleted.Ok ? Results.NoContent() : TelphinErrors.Fail(deleted.Error!, "agent");
    }
}

/// <summary>Local and remote agents in a queue: memberships with level and position.</summary>
internal static class TelphinMembers
{
    public static void Map(RouteGroupBuilder api)
    {
        foreach (var kind in new[] { AgentKind.Local, AgentKind.Remote })
        {
            var path = $"/extension/{{extension_id}}/queue/agents/{TelphinAgents.Kind(kind)}/";
            api.MapPost(path, (string extension_id, HttpContext http, QueueService queues, AgentService agents) => AddAsync(kind, extension_id, http, queues, agents))
                .Require(Role.Admin);
            api.MapGet(path, (string extension_id, HttpContext http) => ListAsync(kind, extension_id, http)).Require(Role.Supervisor);
            api.MapGet(path + "{agent_id}", (string extension_id, string agent_id, HttpContext http) => GetAsync(kind, extension_id, agent_id, http))
                .Require(Role.Supervisor);
            api.MapPut(path + "{agent_id}", (string extension_id, string agent_id, HttpContext http, QueueService queues) =>
                UpdateAsync(kind, extension_id, agent_id, http, queues)).Require(Role.Admin);
            api.MapDelete(path + "{agent_id}", (string extension_id, string agent_id, HttpContext http, QueueService queues) =>
                RemoveAsync(kind, extension_id, agent_id, http, queues)).Require(Role.Admin);
        }
    }

    private static JsonObject Dto(Member m) => new()
    {
        ["position"] = m.Config.Position,
        ["agent_id"] = TelphinIds.ToTelphin(m.Agent.Id.Value),
        ["level"] = m.Config.Level,
    };

    /// <summary>What a membership request names: the queue, and the agent when it is of the right kind; a missing
    /// one is reported as Telphin's 404.</summary>
    private static IResult? Check(CallCenter engine, AgentKind kind, int queue, int agent)
    {
        if (!engine.TryGetQueue(new QueueId(queue), out _)) return TelphinErrors.NotFound("Extension");
        if (agent != 0 && (!engine.TryGetAgent(new AgentId(agent), out var a) || a.Config.Kind != kind)) return TelphinErrors.NotFound(TelphinAgents.AgentWord(kind));
        return null;
    }

    /// <summary>Telphin's names of the membership settings.</summary>
    private static string? Field(string setting) => setting switch
    {
        nameof(MemberConfig.Level) => "level",
        nameof(MemberConfig.Position) => "position",
        _ => null,
    };

    private static async Task<IResult> AddAsync(AgentKind kind, string extensionId, HttpContext http, QueueService queues, AgentService agents)
    {
        if (!TelphinIds.TryEngineId(extensionId, out var queue)) return TelphinErrors.NotFound("Extension");
        var (body, error) = await TelphinBody.ReadAsync(http.Request, ["agent_id", "level", "position"]);
        if (error != null) return error;
        var b = body!;
        var agentId = b.Long("agent_id", 1, int.MaxValue);
        if (!b.Has("agent_id") || b.IsNull("agent_id")) b.Errors.Add("agent_id", "agent_id is required.");
        var level = b.Long("level", 0, 1000);
        var position = b.Long("position", 0, 100_000);
        if (b.Errors.Any) return TelphinErrors.Invalid(b.Errors);
        var agent = (int)agentId!.Value;
        var host = http.Tenant();
        var problem = await host.QueryAsync(engine =>
            Check(engine, kind, queue, agent) ?? (engine.TryGetAgent(new AgentId(agent), out var a) && a.FindMemberOf(queue) != null
                ? TelphinErrors.Error(409, "The agent is already in this queue.") : null));
        if (problem != null) return problem;
        var config = new MemberConfig { Level = (int)(level ?? 0), Position = (int)(position ?? 0) };
        var added = await queues.SetMemberAsync(host, queue, agent, config, Field, (_, _) => true);
        if (!added.Ok) return TelphinErrors.Fail(added.Error!, "agent");
        // An "available" agent with no queue yet starts taking this queue's calls at once.
        var loginHere = await agents.ReadAsync(host, agent, (_, a) => a.Status == AgentStatus.LoggedOut && a.Memberships.Count == 1
            && TelphinJson.Data(a.Config.DialectData)["status"]?.GetValue<string>() == "available");
        if (loginHere is { Ok: true, Value: true }) await agents.LoginAsync(host, agent, [queue], (_, _) => true);
        var dto = await host.QueryAsync(engine => engine.TryGetAgent(new AgentId(agent), out var a) && a.FindMemberOf(queue) is { } m ? Dto(m) : null);
        return dto != null ? TelphinJson.Result(dto, 201) : TelphinErrors.NotFound("Queue agent");
    }

    private static Member? FindMemberOf(this Agent a, int queue) => a.Memberships.FirstOrDefault(m => m.Queue.Id.Value == queue);

    private static async Task<IResult> ListAsync(AgentKind kind, string extensionId, HttpContext http)
    {
        if (!TelphinIds.TryEngineId(extensionId, out var queue)) return TelphinErrors.NotFound("Extension");
        var list = await http.Tenant().QueryAsync(engine => engine.TryGetQueue(new QueueId(queue), out var q)
            ? new JsonArray([.. q.Members.Where(m => m.Agent.Config.Kind == kind)
                .OrderBy(m => m.Config.Level).ThenBy(m => m.Config.Position).ThenBy(m => m.Agent.Id.Value).Select(m => (JsonNode)Dto(m))])
            : null);
        return list != null ? TelphinJson.Result(list) : TelphinErrors.NotFound("Extension");
    }

    private static async Task<(IResult? Problem, Member? Member)> FindAsync(AgentKind kind, string extensionId, string agentId, HttpContext http)
    {
        if (!TelphinIds.TryEngineId(extensionId, out var queue)) return (TelphinErrors.NotFound("Extension"), null);
        if (!TelphinIds.TryEngineId(agentId, out var agent)) return (TelphinErrors.NotFound(TelphinAgents.AgentWord(kind)), null);
        return await http.Tenant().QueryAsync(engine =>
        {
            if (Check(engine, kind, queue, agent) is { } problem) return (problem, null);
            engine.TryGetAgent(new AgentId(agent), out var a);
            return a.FindMemberOf(queue) is { } m ? ((IResult?)null, m) : (TelphinErrors.NotFound("Queue agent"), null);
        });
    }

    private static async Task<IResult> GetAsync(AgentKind kind, string extensionId, string agentId, HttpContext http)
    {
        var (problem, member) = await FindAsync(kind, extensionId, agentId, http);
        if (problem != null) return problem;
        var dto = await http.Tenant().QueryAsync(_ => Dto(member!));
        return TelphinJson.Result(dto);
    }

    private static async Task<IResult> UpdateAsync(AgentKind kind, string extensionId, string agentId, HttpContext http, QueueService queues)
    {
        var (problem, member) = await FindAsync(kind, extensionId, agentId, http);
        if (problem != null) return problem;
        var (body, error) = await TelphinBody.ReadAsync(http.Request, ["level", "position"]);
        if (error != null) return error;
        var b = body!;
        var level = b.Long("level", 0, 1000);
        var position = b.Long("position", 0, 100_000);
        if (b.Errors.Any) return TelphinErrors.Invalid(b.Errors);
        var host = http.Tenant();
        int queue = member!.Queue.Id.Value, agent = member.Agent.Id.Value;
        var current = await host.QueryAsync(_ => member.Config);
        var config = current with
        {
            Level = level is { } l ? (int)l : current.Level,
            Position = position is { } p ? (int)p : current.Position,
        };
        var updated = await queues.SetMemberAsync(host, queue, agent, config, Field, (_, m) => Dto(m));
        return updated.Ok ? TelphinJson.Result(updated.Value!) : TelphinErrors.Fail(updated.Error!, "agent");
    }

    private static async Task<IResult> RemoveAsync(AgentKind kind, string extensionId, string agentId, HttpContext http, QueueService queues)
    {
        var (problem, member) = await FindAsync(kind, extensionId, agentId, http);
        if (problem != null) return problem;
        var removed = await queues.RemoveMemberAsync(http.Tenant(), member!.Queue.Id.Value, member.Agent.Id.Value);
        return removed.Ok ? Results.NoContent() : TelphinErrors.Fail(removed.Error!, "agent");
    }
}
