using System.Text.Json;
using System.Text.Json.Nodes;
using Lineup.Engine;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api.Dialects.Kazoo;

/// <summary>
/// Kazoo's Qubicle call-center API (seed 002, docs/dialects/kazoo.md) under <c>/v2/accounts/{ACCOUNT_ID}</c>: queues,
/// their status and daily statistics, sessions and recipients, in Kazoo's envelope. ACCOUNT_ID is the tenant's id
/// in Kazoo's format: the caller's own tenant, or any for the system administrator.
/// </summary>
public sealed class KazooDialect : Dialect
{
    private const string Key = "kazoo";

    /// <inheritdoc/>
    public override string Name => "kazoo";

    /// <summary>Kazoo sends its tokens in X-Auth-Token.</summary>
    public override IReadOnlyList<string> TokenHeaders => ["X-Auth-Token"];

    /// <inheritdoc/>
    public override void Map(IEndpointRouteBuilder app)
    {
        // The account in the URL is the tenant: in a cluster, the request goes to the node that runs it.
        var account = app.MapGroup("/v2/accounts/{accountId}").WithTags("Dialect: Kazoo").ExcludeFromDescription()
            .WithMetadata(TenantRoute.FromRouteValue("accountId", id => KazooIds.TryParse(id, out var tenantId) ? tenantId : null));
        var queues = account.MapGroup("/qubicle_queues");
        queues.MapGet("", ListAsync).Require(Role.Supervisor, tenantScoped: false, problem: Fail);
        queues.MapPut("", CreateAsync).Require(Role.Admin, tenantScoped: false, problem: Fail);
        queues.MapGet("/status", MultiStatusAsync).Require(Role.Supervisor, tenantScoped: false, problem: Fail);
        queues.MapGet("/{queueId}", GetAsync).Require(Role.Supervisor, tenantScoped: false, problem: Fail);
        queues.MapPatch("/{queueId}", PatchAsync).Require(Role.Admin, tenantScoped: false, problem: Fail);
        // The seed's PATCH heading spells the path this way.
        account.MapPatch("/qubicle/queues/{queueId}", PatchAsync).Require(Role.Admin, tenantScoped: false, problem: Fail);
        queues.MapGet("/{queueId}/status", StatusAsync).Require(Role.Supervisor, tenantScoped: false, problem: Fail);
        queues.MapGet("/{queueId}/sessions", SessionsAsync).Require(Role.Supervisor, tenantScoped: false, problem: Fail);
        queues.MapGet("/{queueId}/recipients", RecipientsAsync).Require(Role.Supervisor, tenantScoped: false, problem: Fail);
        queues.MapPost("/{queueId}/recipients", SetRecipientsAsync).Require(Role.Admin, tenantScoped: false, problem: Fail);
        queues.MapDelete("/{queueId}/recipients", ClearRecipientsAsync).Require(Role.Admin, tenantScoped: false, problem: Fail);
    }

    /// <summary>Authentication failures in Kazoo's shape (the endpoint filter has no HttpContext to give us).</summary>
    private static IResult Fail(int status, string message) => new KazooFailure(status, message);

    private sealed class KazooFailure(int status, string message) : IResult
    {
        public Task ExecuteAsync(HttpContext http) => KazooJson.Error(http, status, status switch
        {
            401 => "invalid_credentials",
            403 => "forbidden",
            404 => "bad identifier",
            _ => "error",
        }, message).ExecuteAsync(http);
    }

    /// <summary>The tenant named by ACCOUNT_ID, when the caller may act on it.</summary>
    private static (ITenant? Host, IResult? Error) Account(HttpContext http, string accountId)
    {
        var caller = http.RequiredCaller();
        if (!KazooIds.TryParse(accountId, out var tenantId)) return (null, KazooJson.NotFound(http, "account"));
        if (caller.Role != Role.SystemAdmin && caller.HomeTenantId != tenantId)
            return (null, KazooJson.Error(http, 403, "forbidden", "The account is not yours."));
        var host = http.RequestServices.GetRequiredService<ITenantGateway>().Get(tenantId);
        return host == null ? (null, KazooJson.NotFound(http, "account")) : (host, null);
    }

    // ---- queue documents

    private static readonly string[] Writable =
    [
        "name", "queue_type", "queue_router", "timeout", "queue_timeout", "ring_timeout", "agent_connect_timeout",
        "agent_wrapup_time", "hold_treatment", "tick_time", "force_away_on_reject", "timeout_if_size_exceeds",
        "timeout_immediately_if_empty", "timeout_redirect", "members", "id",
    ];

    private static JsonObject Stored(QueueConfig c) =>
        c.DialectData.TryGetValue(Key, out var json) && JsonNode.Parse(json) is JsonObject o ? o : new JsonObject();

    /// <summary>Kazoo's router names; Lineup's own are taken and shown for the rest.</summary>
    private static readonly StrategySpelling s_routers = new([("route_round_robin", Strategy.RoundRobin, false)]);

    /// <inheritdoc/>
    public override StrategySpelling Strategies => s_routers;

    private static string Router(QueueConfig c) => s_routers.NameOrNative(c.Strategy);

    private static JsonObject Document(Queue q)
    {
        var c = q.Config;
        var stored = Stored(c);
        return new JsonObject
        {
            ["name"] = c.Name,
            ["queue_type"] = stored["queue_type"]?.DeepClone() ?? "queue_basic",
            ["queue_router"] = Router(c),
            ["timeout"] = c.MaxWaitSeconds,
            ["queue_timeout"] = c.MaxWaitSeconds,
            ["ring_timeout"] = c.RingTimeoutSeconds,
            ["agent_connect_timeout"] = c.RingTimeoutSeconds,
            ["hold_treatment"] = c.HoldMusic ?? "",
            ["agent_wrapup_time"] = c.WrapUpSeconds,
            ["tick_time"] = stored["tick_time"]?.DeepClone() ?? 1000,
            ["force_away_on_reject"] = c.ForceNotReadyOnReject,
            ["timeout_if_size_exceeds"] = c.MaxCallers,
            ["timeout_immediately_if_empty"] = c.LeaveWhenNoAgents,
            ["timeout_redirect"] = c.TimeoutDestination.Kind == DestinationKind.Queue ? KazooIds.Format(c.TimeoutDestination.Queue.Value) : "",
            ["members"] = Members(q),
            ["id"] = KazooIds.Format(c.Id.Value),
        };
    }

    private static JsonObject Members(Queue q) =>
        new(q.Members.OrderBy(m => m.Agent.Id.Value).Select(m => KeyValuePair.Create(KazooIds.Format(m.Agent.Id.Value), (JsonNode?)"")));

    /// <summary>The config a request's <c>data</c> describes, over <paramref name="current"/>; null with errors.</summary>
    private static QueueConfig? Parse(JsonObject data, QueueConfig current, CallCenter engine, KazooErrors e, out List<int>? members)
    {
        members = null;
        foreach (var (key, value) in data)
            if (!Writable.Contains(key)) e.Add(key, "not_allowed", "Field is not a Qubicle queue setting", value);
        var stored = Stored(current);
        var name = e.String(data, "name", 1, 128);
        if (data["queue_type"] != null && e.String(data, "queue_type", 1, 64) is { } type)
        {
            if (type != "queue_basic") e.Add("queue_type", "enum", "Value not found in enumerated list of values", type);
            else stored["queue_type"] = type;
        }
        var strategy = current.Strategy;
        if (e.String(data, "queue_router", 1, 64) is { } router
            && !s_routers.TryParseOrNative(router, out strategy, out _))
            e.Add("queue_router", "enum", "Value not found in enumerated list of values", router);
        var timeout = Alias(data, e, "timeout", "queue_timeout", 10, 86400);
        var ring = Alias(data, e, "ring_timeout", "agent_connect_timeout", 1, 3600);
        var wrap = e.Int(data, "agent_wrapup_time", 0, 86400);
        // Issue 15: the hold music, a media id or name of the account's library; a media URI is read by its last segment.
        var holdMusic = current.HoldMusic;
        if (data["hold_treatment"] != null && e.String(data, "hold_treatment", 0, 256) is { } hold)
        {
            var media = hold.Contains('/', StringComparison.Ordinal) ? hold[(hold.LastIndexOf('/') + 1)..] : hold;
            if (media.Length > 0 && !Telephony.MediaLibrary.NamePattern().IsMatch(media))
                e.Add("hold_treatment", "invalid", "Must be the id or name of a media of this account (or a media URI ending in one)", data["hold_treatment"]);
            holdMusic = media.Length == 0 ? null : media;
        }
        if (e.Int(data, "tick_time", 250, 60_000) is { } tick) stored["tick_time"] = tick;
        var forceAway = e.Bool(data, "force_away_on_reject");
        var size = e.Int(data, "timeout_if_size_exceeds", 0, 100_000);
        var empty = e.Bool(data, "timeout_immediately_if_empty");
        var redirect = current.TimeoutDestination;
        if (data["timeout_redirect"] != null && e.String(data, "timeout_redirect", 0, 64) is { } target)
        {
            if (target.Length == 0) redirect = Destination.Hangup;
            else if (!KazooIds.TryEngine(target, out var qid) || qid == current.Id.Value || !engine.TryGetQueue(new QueueId(qid), out _))
                e.Add("timeout_redirect", "not_found", "Must be the id of another queue of this account", target);
            else redirect = Destination.ToQueue(new QueueId(qid));
        }
        if (data["id"] is { } id && (id.GetValueKind() != JsonValueKind.String || id.GetValue<string>() != KazooIds.Format(current.Id.Value)))
            e.Add("id", "invalid", "id must be the queue's id", id);
        if (data["members"] is { } m)
        {
            if (m is not JsonObject map) e.Add("members", "type", "Value did not match type(s): object", m);
            else members = ParseMembers(map.Select(kv => kv.Key), "members", engine, e);
        }
        if (e.Any) return null;
        return current with
        {
            Name = name ?? current.Name,
            Strategy = strategy,
            MaxWaitSeconds = timeout ?? current.MaxWaitSeconds,
            RingTimeoutSeconds = ring ?? current.RingTimeoutSeconds,
            WrapUpSeconds = wrap ?? current.WrapUpSeconds,
            HoldMusic = holdMusic,
            ForceNotReadyOnReject = forceAway ?? current.ForceNotReadyOnReject,
            MaxCallers = size ?? current.MaxCallers,
            LeaveWhenNoAgents = empty ?? current.LeaveWhenNoAgents,
            // A Qubicle timeout of any kind sends the call to timeout_redirect.
            TimeoutDestination = redirect,
            NoAgentsDestination = redirect,
            QueueFullDestination = redirect,
            DialectData = new Dictionary<string, string>(current.DialectData, StringComparer.Ordinal) { [Key] = stored.ToJsonString() },
        };
    }

    /// <summary>Two spellings of one setting (the seed uses both); given together they must agree.</summary>
    private static int? Alias(JsonObject data, KazooErrors e, string a, string b, int min, int max)
    {
        var x = e.Int(data, a, min, max);
        var y = e.Int(data, b, min, max);
        if (x != null && y != null && x != y) e.Add(b, "invalid", $"{b} is another name for {a}; they must agree", data[b]);
        return x ?? y;
    }

    private static List<int> ParseMembers(IEnumerable<string?> ids, string field, CallCenter engine, KazooErrors e)
    {
        var list = new List<int>();
        foreach (var raw in ids)
        {
            if (!KazooIds.TryEngine(raw, out var agent) || !engine.TryGetAgent(new AgentId(agent), out _))
                e.Add(field, "not_found", "Not the id of a recipient (agent) of this account", raw == null ? null : JsonValue.Create(raw));
            else if (!list.Contains(agent)) list.Add(agent);
        }
        return list;
    }

    /// <summary>Reads the <c>{"data": {...}}</c> envelope of a write.</summary>
    private static async Task<(JsonObject? Data, IResult? Error)> ReadDataAsync(HttpContext http)
    {
        var (node, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return (null, KazooJson.Invalid(http, KazooErrors.From(errors)));
        var body = (JsonObject)node!;
        var e = new KazooErrors();
        foreach (var (key, value) in body)
            if (key is not ("data" or "metadata")) e.Add(key, "not_allowed", "Only data (and metadata) may be sent", value);
        if (body["data"] is not JsonObject data)
        {
            e.Add("data", body.ContainsKey("data") ? "type" : "required", "data must be an object");
            return (null, KazooJson.Invalid(http, e));
        }
        return e.Any ? (null, KazooJson.Invalid(http, e)) : (data, null);
    }

    private static async Task<IResult> ListAsync(string accountId, HttpContext http)
    {
        var (host, error) = Account(http, accountId);
        if (host == null) return error!;
        var list = await host.QueryAsync(engine => new JsonArray([.. engine.Queues.OrderBy(q => q.Id.Value)
            .Select(q => (JsonNode)new JsonObject { ["id"] = KazooIds.Format(q.Id.Value), ["name"] = q.Config.Name })]));
        return KazooJson.Ok(http, list, pageSize: list.Count);
    }

    /// <summary>The fields a create answers with (the seed's example response).</summary>
    private static JsonObject Created(JsonObject doc) => new()
    {
        ["name"] = doc["name"]!.DeepClone(),
        ["agent_connect_timeout"] = doc["agent_connect_timeout"]!.DeepClone(),
        ["agent_wrapup_time"] = doc["agent_wrapup_time"]!.DeepClone(),
        ["queue_router"] = doc["queue_router"]!.DeepClone(),
        ["queue_timeout"] = doc["queue_timeout"]!.DeepClone(),
        ["queue_type"] = doc["queue_type"]!.DeepClone(),
        ["tick_time"] = doc["tick_time"]!.DeepClone(),
        ["id"] = doc["id"]!.DeepClone(),
    };

    private static async Task<IResult> CreateAsync(string accountId, HttpContext http, QueueService queues)
    {
        var (host, error) = Account(http, accountId);
        if (host == null) return error!;
        var (data, bad) = await ReadDataAsync(http);
        if (data == null) return bad!;
        var e = new KazooErrors();
        if (data["name"] == null) e.Add("name", "required", "Field is required but missing");
        if (data["id"] != null) e.Add("id", "not_allowed", "The server chooses the id", data["id"]);
        if (e.Any) return KazooJson.Invalid(http, e);
        var id = await queues.NewIdAsync();
        // The defaults of the seed's create example: 15 s to connect an agent, 2 s wrap-up, an hour in queue.
        var initial = new QueueConfig { Id = new QueueId(id), Strategy = Strategy.RoundRobin, RingTimeoutSeconds = 15, WrapUpSeconds = 2, MaxWaitSeconds = 3600 };
        return await SaveAsync(http, queues, host, data, initial, created: true);
    }

    private static async Task<IResult> PatchAsync(string accountId, string queueId, HttpContext http, QueueService queues)
    {
        var (host, error) = Account(http, accountId);
        if (host == null) return error!;
        if (!KazooIds.TryEngine(queueId, out var qid)) return KazooJson.NotFound(http, "queue");
        var current = await host.QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q) ? q.Config : null);
        if (current == null) return KazooJson.NotFound(http, "queue");
        var (data, bad) = await ReadDataAsync(http);
        if (data == null) return bad!;
        return await SaveAsync(http, queues, host, data, current, created: false);
    }

    private static async Task<IResult> SaveAsync(HttpContext http, QueueService queues, ITenant host, JsonObject data, QueueConfig current, bool created)
    {
        var e = new KazooErrors();
        var (config, members) = await host.QueryAsync(engine =>
        {
            var c = Parse(data, current, engine, e, out var m);
            return (c, m);
        });
        if (config == null) return KazooJson.Invalid(http, e);
        var saved = await queues.SaveAsync(host, config, keepDialectData: false, Field, (_, _) => true);
        if (!saved.Ok)
        {
            if (saved.Error!.Kind != Failure.Invalid) return KazooJson.Error(http, 409, "conflict", "The queue could not be saved.");
            foreach (var (field, messages) in saved.Error.Fields!) e.Add(field, field == "timeout_redirect" ? "not_found" : "invalid", messages[0]);
            return KazooJson.Invalid(http, e);
        }
        if (members != null) await SetMembersAsync(queues, host, config.Id.Value, members);
        var doc = await queues.ReadAsync(host, config.Id.Value, (_, q) => Document(q));
        if (!doc.Ok) return KazooJson.NotFound(http, "queue");
        return KazooJson.Ok(http, created ? Created(doc.Value!) : Document(doc.Value!), created ? 201 : 200);
    }

    /// <summary>Kazoo's names of the engine's queue settings (a Qubicle timeout of any kind sends the call to
    /// timeout_redirect).</summary>
    private static string? Field(string setting) => setting switch
    {
        nameof(QueueConfig.MaxWaitSeconds) => "timeout",
        nameof(QueueConfig.RingTimeoutSeconds) => "ring_timeout",
        nameof(QueueConfig.WrapUpSeconds) => "agent_wrapup_time",
        nameof(QueueConfig.MaxCallers) => "timeout_if_size_exceeds",
        nameof(QueueConfig.TimeoutDestination) or nameof(QueueConfig.NoAgentsDestination) or nameof(QueueConfig.QueueFullDestination) => "timeout_redirect",
        _ => null,
    };

    /// <summary>The PATCH answer: the seed's example shows the same fields as a create.</summary>
    private static JsonObject Document(JsonObject doc) => Created(doc);

    /// <summary>Sets the membership to exactly <paramref name="agents"/>, keeping the settings of those already in.</summary>
    private static async Task<Result<bool>> SetMembersAsync(QueueService queues, ITenant host, int queue, IReadOnlyList<int> agents)
    {
        var entries = await queues.ReadAsync(host, queue, (_, q) =>
            agents.Select((a, i) => new MemberEntry(a, q.Members.FirstOrDefault(m => m.Agent.Id.Value == a)?.Config ?? new MemberConfig { Position = q.Members.Count + i })).ToList());
        return entries.Ok ? await queues.SetMembersAsync(host, queue, entries.Value!, _ => "members", (_, _) => true) : QueueService.NoQueue;
    }

    private static async Task<IResult> GetAsync(string accountId, string queueId, HttpContext http)
    {
        var (host, error) = Account(http, accountId);
        if (host == null) return error!;
        if (!KazooIds.TryEngine(queueId, out var qid)) return KazooJson.NotFound(http, "queue");
        var doc = await host.QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q) ? Document(q) : null);
        return doc == null ? KazooJson.NotFound(http, "queue") : KazooJson.Ok(http, doc);
    }

    // ---- status, statistics, sessions

    private static JsonObject Status(CallCenter engine, Queue q)
    {
        var today = q.Today;
        return new JsonObject
        {
            ["active_recipient_count"] = q.LoggedInAgents,
            ["available_recipient_count"] = q.AvailableAgents,
            ["stats"] = new JsonObject
            {
                ["estimated_wait"] = (int)Math.Round(engine.EstimateWaitSeconds(q.Id)),
                ["average_wait"] = (int)Math.Round(today.AverageWaitSeconds),
                ["recipient_count"] = q.Members.Count,
                ["active_session_count"] = engine.ActiveCalls.Count(c => c.Queue == q && c.State != CallState.Ended),
                ["total_sessions"] = today.Offered,
                ["missed_sessions"] = today.TimedOut,
                ["abandoned_sessions"] = today.Abandoned,
            },
            // One Lineup process runs a tenant's queues: node 1.
            ["node"] = 1,
        };
    }

    private static async Task<IResult> StatusAsync(string accountId, string queueId, HttpContext http)
    {
        var (host, error) = Account(http, accountId);
        if (host == null) return error!;
        if (!KazooIds.TryEngine(queueId, out var qid)) return KazooJson.NotFound(http, "queue");
        var status = await host.QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q) ? Status(engine, q) : null);
        return status == null ? KazooJson.NotFound(http, "queue") : KazooJson.Ok(http, status);
    }

    /// <summary>The status of the queues listed in <c>{"data": {"queue_ids": [...]}}</c> (a GET with a body, as the seed
    /// shows it), or in <c>?queue_ids=a,b</c>; of every queue when none is listed.</summary>
    private static async Task<IResult> MultiStatusAsync(string accountId, HttpContext http)
    {
        var (host, error) = Account(http, accountId);
        if (host == null) return error!;
        List<string>? ids = null;
        if (http.Request.Query["queue_ids"].ToString() is { Length: > 0 } query) ids = [.. query.Split(',')];
        else if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            var (data, bad) = await ReadDataAsync(http);
            if (data == null) return bad!;
            if (data["queue_ids"] is not JsonArray list || list.Any(x => x?.GetValueKind() != JsonValueKind.String))
            {
                var e = new KazooErrors();
                e.Add("queue_ids", data.ContainsKey("queue_ids") ? "type" : "required", "queue_ids must be a list of queue ids", data["queue_ids"]);
                return KazooJson.Invalid(http, e);
            }
            ids = [.. list.Select(x => x!.GetValue<string>())];
        }
        var result = await host.QueryAsync(engine =>
        {
            var queues = new List<Queue>();
            if (ids == null) queues.AddRange(engine.Queues.OrderBy(q => q.Id.Value));
            else
            {
                foreach (var id in ids)
                {
                    if (!KazooIds.TryEngine(id, out var qid) || !engine.TryGetQueue(new QueueId(qid), out var q)) return (null, id);
                    queues.Add(q);
                }
            }
            return ((JsonObject?)new JsonObject(queues.DistinctBy(q => q.Id).Select(q =>
                KeyValuePair.Create(KazooIds.Format(q.Id.Value), (JsonNode?)Status(engine, q)))), (string?)null);
        });
        return result.Item1 == null ? KazooJson.NotFound(http, $"queue {result.Item2}") : KazooJson.Ok(http, result.Item1);
    }

    private static async Task<IResult> SessionsAsync(string accountId, string queueId, HttpContext http)
    {
        var (host, error) = Account(http, accountId);
        if (host == null) return error!;
        if (!KazooIds.TryEngine(queueId, out var qid)) return KazooJson.NotFound(http, "queue");
        var data = await host.QueryAsync(engine =>
        {
            if (!engine.TryGetQueue(new QueueId(qid), out var q)) return null;
            var sessions = engine.ActiveCalls.Where(c => c.Queue == q && c.State != CallState.Ended).OrderBy(c => c.Id.Value).Select(c =>
            {
                var dto = Dto.Call(engine, c);
                return (JsonNode)new JsonObject
                {
                    ["session_id"] = KazooIds.Format(c.Id.Value),
                    ["caller_id_number"] = dto.CallerNumber,
                    ["caller_id_name"] = dto.CallerName ?? "",
                    ["state"] = Dto.Snake(dto.State.ToString()),
                    ["position"] = dto.Position,
                    ["wait_time"] = dto.WaitSeconds,
                    ["entered"] = dto.EnteredAt.ToUnixTimeSeconds(),
                    ["recipient_id"] = dto.AgentId is { } a ? KazooIds.Format(a) : null,
                    ["offered_to"] = new JsonArray([.. dto.Offers.Select(o => (JsonNode)KazooIds.Format(o.AgentId))]),
                };
            });
            return new JsonArray(new JsonObject { ["queue_id"] = KazooIds.Format(qid), ["session_list"] = new JsonArray([.. sessions]) });
        });
        return data == null ? KazooJson.NotFound(http, "queue") : KazooJson.Ok(http, data);
    }

    // ---- recipients

    private static async Task<IResult> RecipientsAsync(string accountId, string queueId, HttpContext http)
    {
        var (host, error) = Account(http, accountId);
        if (host == null) return error!;
        if (!KazooIds.TryEngine(queueId, out var qid)) return KazooJson.NotFound(http, "queue");
        var data = await host.QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q)
            ? new JsonArray([.. q.Members.OrderBy(m => m.Agent.Id.Value).Select(m => (JsonNode)new JsonObject
            {
                ["id"] = KazooIds.Format(m.Agent.Id.Value),
                // Lineup has no per-queue recipient roles or permissions.
                ["permission_roles"] = new JsonArray(),
                ["permissions"] = new JsonArray(),
            })])
            : null);
        return data == null ? KazooJson.NotFound(http, "queue") : KazooJson.Ok(http, data);
    }

    /// <summary>The answer of a membership change: the queue's document with its new members (the seed's example).</summary>
    private static JsonObject MembershipDocument(Queue q)
    {
        var d = Document(q);
        return new JsonObject
        {
            ["name"] = d["name"]!.DeepClone(),
            ["queue_type"] = d["queue_type"]!.DeepClone(),
            ["queue_router"] = d["queue_router"]!.DeepClone(),
            ["timeout"] = d["timeout"]!.DeepClone(),
            ["agent_connect_timeout"] = d["agent_connect_timeout"]!.DeepClone(),
            ["hold_treatment"] = d["hold_treatment"]!.DeepClone(),
            ["agent_wrapup_time"] = d["agent_wrapup_time"]!.DeepClone(),
            ["tick_time"] = d["tick_time"]!.DeepClone(),
            ["members"] = d["members"]!.DeepClone(),
            ["id"] = d["id"]!.DeepClone(),
        };
    }

    private static async Task<IResult> SetRecipientsAsync(string accountId, string queueId, HttpContext http, QueueService queues)
    {
        var (host, error) = Account(http, accountId);
        if (host == null) return error!;
        if (!KazooIds.TryEngine(queueId, out var qid)) return KazooJson.NotFound(http, "queue");
        if (!await host.QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out _))) return KazooJson.NotFound(http, "queue");
        var (data, bad) = await ReadDataAsync(http);
        if (data == null) return bad!;
        var e = new KazooErrors();
        foreach (var (key, value) in data)
            if (key is not ("action" or "members")) e.Add(key, "not_allowed", "Only action and members may be sent", value);
        var action = e.String(data, "action", 1, 16);
        if (data["action"] == null) e.Add("action", "required", "Field is required but missing");
        else if (action != null && action is not ("add" or "remove" or "set")) e.Add("action", "enum", "Value not found in enumerated list of values: add, remove, set", action);
        List<string?>? ids = null;
        if (data["members"] is not JsonArray list) e.Add("members", data.ContainsKey("members") ? "type" : "required", "members must be a list of user ids", data["members"]);
        else if (list.Any(x => x?.GetValueKind() != JsonValueKind.String)) e.Add("members", "type", "members must be a list of user ids", list);
        else ids = [.. list.Select(x => x!.GetValue<string>())];
        if (e.Any) return KazooJson.Invalid(http, e);
        var agents = await host.QueryAsync(engine => ParseMembers(ids!, "members", engine, e));
        if (e.Any) return KazooJson.Invalid(http, e);
        var current = await host.QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q) ? q.Members.Select(m => m.Agent.Id.Value).ToList() : null);
        if (current == null) return KazooJson.NotFound(http, "queue");
        var target = action switch
        {
            "add" => [.. current, .. agents.Where(a => !current.Contains(a))],
            "remove" => current.Where(a => !agents.Contains(a)).ToList(),
            _ => agents,
        };
        var result = await SetMembersAsync(queues, host, qid, target);
        if (!result.Ok) return KazooJson.NotFound(http, "queue");
        return await MembershipAsync(http, host, qid);
    }

    private static async Task<IResult> ClearRecipientsAsync(string accountId, string queueId, HttpContext http, QueueService queues)
    {
        var (host, error) = Account(http, accountId);
        if (host == null) return error!;
        if (!KazooIds.TryEngine(queueId, out var qid)) return KazooJson.NotFound(http, "queue");
        var result = await queues.SetMembersAsync(host, qid, [], _ => "members", (_, _) => true);
        if (!result.Ok) return KazooJson.NotFound(http, "queue");
        return await MembershipAsync(http, host, qid);
    }

    private static async Task<IResult> MembershipAsync(HttpContext http, ITenant host, int qid)
    {
        var doc = await host.QueryAsync(engine => engine.TryGetQueue(new QueueId(qid), out var q) ? MembershipDocument(q) : null);
        return doc == null ? KazooJson.NotFound(http, "queue") : KazooJson.Ok(http, doc);
    }
}
