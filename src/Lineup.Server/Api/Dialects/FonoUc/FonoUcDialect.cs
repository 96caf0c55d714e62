using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lineup.Engine;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Records;
using Lineup.Server.Telephony;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api.Dialects.FonoUc;

/// <summary>
/// The FonoUC-style queue API (seed 000, docs/dialects/fonouc.md) under <c>/api/v2</c>: token login, users, queue
/// documents, per-queue agent login/logout, live queue status and calls, and queue CDRs with per-attempt history.
/// The tenant is the caller's own, or the one X-Account-ID names for the system administrator.
/// </summary>
public sealed class FonoUcDialect : Dialect
{
    /// <inheritdoc/>
    public override string Name => "fonouc";

    /// <inheritdoc/>
    public override StrategySpelling Strategies => FonoUcQueues.Strategies;

    /// <inheritdoc/>
    public override void Map(IEndpointRouteBuilder app)
    {
        var v2 = app.MapGroup("/api/v2").WithTags("Dialect: FonoUC").ExcludeFromDescription();
        v2.MapPost("/login", LoginAsync).AllowAnonymous().WithMetadata(s_loginTenant);
        v2.MapGet("/config/users", UsersAsync).Require(Role.Supervisor, problem: Fail);
        v2.MapGet("/config/queues", (Delegate)QueuesAsync).Require(Role.Supervisor, problem: Fail);
        v2.MapPost("/config/queues", CreateQueueAsync).Require(Role.Admin, problem: Fail);
        v2.MapPut("/config/queues/{queueId}", UpdateQueueAsync).Require(Role.Admin, problem: Fail);
        v2.MapPut("/callcenter/admin/agent/{userId}/{action}", LoginLogoutAsync).Require(Role.Supervisor, problem: Fail);
        v2.MapGet("/callcenter/queues/status", (Delegate)StatusAsync).Require(Role.Supervisor, problem: Fail);
        v2.MapGet("/callcenter/queues/calls", (Delegate)CallsAsync).Require(Role.Supervisor, problem: Fail);
        v2.MapGet("/reports/callcenter/queues", CdrsAsync).Require(Role.Supervisor, problem: Fail);
        // Lineup's addition (the seed names recordings in its CDRs but documents no way to fetch one).
        v2.MapGet("/recordings/{mediaRecordingId}", RecordingAsync).Require(Role.Supervisor, problem: Fail);
    }

    private static IResult Fail(int status, string message) => FonoUcJson.Error(status, message);

    private static IResult NoQueue => FonoUcJson.Error(404, "No such queue.", "queueID");

    // ---- login

    /// <summary>The tenant of a login is its "domain" (the answer shows the agent's name from that tenant's engine): in a
    /// cluster the login runs on the node that runs it. The body is read again by the handler.</summary>
    private static readonly TenantRoute s_loginTenant = new(async (http, tenants) =>
    {
        http.Request.EnableBuffering();
        var (node, _) = await Body.ReadNodeAsync(http.Request);
        http.Request.Body.Position = 0;
        return node is JsonObject body && body["domain"] is JsonValue v && v.TryGetValue<string>(out var domain) && domain.Length > 0
            && await tenants.FindAsync(domain) is { } tenant ? tenant.TenantId : null;
    });

    private static async Task<IResult> LoginAsync(HttpContext http, SignInService signIn, AgentService agents, ITenantGateway tenants)
    {
        var (node, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return FonoUcJson.Invalid(errors);
        var body = (JsonObject)node!;
        var e = new Errors();
        foreach (var (key, _) in body)
            if (key is not ("username" or "password" or "domain")) e.Add(key, $"{key} is not a login field.");
        var r = new FieldReader(body, e);
        var username = r.String("username", 1, 128);
        var password = r.String("password", 1, 1024);
        var domain = r.String("domain", 0, 128);
        if (username == null && !e.All.ContainsKey("username")) e.Add("username", "username is required.");
        if (password == null && !e.All.ContainsKey("password")) e.Add("password", "password is required.");
        if (e.Any) return FonoUcJson.Invalid(e);

        // The domain is the tenant's name (none: the tenant "default"); the system administrator signs in with any or none.
        var signedIn = await signIn.SignInAsync(username!, password!, domain, AuthApi.ClientAddress(http));
        if (!signedIn.Ok)
        {
            if (signedIn.Error!.Kind != Failure.Throttled)
            {
                // The seed documents 400 for any invalid information sent to the login; the domain is the tenant.
                var field = signedIn.Error.Fields?.ContainsKey(SignInService.TenantField) == true ? "domain" : "password";
                return FonoUcJson.Error(400, signedIn.Error.Message, field);
            }
            http.Response.Headers.RetryAfter = ((int)Math.Ceiling(signedIn.Error.RetryAfter!.Value.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return FonoUcJson.Error(429, signedIn.Error.Message);
        }
        var (tokens, user) = signedIn.Value!;
        var name = user.AgentId is { } agentId && user.TenantId is { } tid && tenants.Get(tid) is { } tenant
            && await agents.ReadAsync(tenant, agentId, (_, a) => a.Config.Name) is { Ok: true } found ? found.Value : null;
        var (first, last) = SplitName(name ?? user.Username);
        return FonoUcJson.Ok(new JsonObject
        {
            ["user"] = new JsonObject
            {
                ["id"] = FonoUcIds.User(user.AgentId ?? user.Id),
                ["username"] = user.Username,
                ["first_name"] = first,
                ["last_name"] = last,
                ["level"] = Level(user.Role),
                ["role"] = Dto.Snake(user.Role.ToString()),
                ["account_id"] = user.TenantId?.ToString(CultureInfo.InvariantCulture),
                ["isAgent"] = user.AgentId != null,
            },
            ["access_token"] = tokens.AccessToken,
            ["refresh_token"] = tokens.RefreshToken,
        });
    }

    private static string Level(Role role) => role >= Role.Admin ? "admin" : "user";

    private static (string First, string Last) SplitName(string name)
    {
        var space = name.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? (name, "") : (name[..space], name[(space + 1)..]);
    }

    // ---- users

    private sealed record AgentInfo(long Id, string Name, string? Number, AgentKind Kind);

    private static async Task<IResult> UsersAsync(HttpContext http, AccountService users)
    {
        var host = http.Tenant();
        var agents = await host.QueryAsync(engine =>
            engine.Agents.OrderBy(a => a.Id.Value).Select(a => new AgentInfo(a.Id.Value, a.Config.Name, a.Config.Number, a.Config.Kind)).ToList());
        var accounts = await users.AllUsersAsync(host.TenantId);
        var byAgent = accounts.Where(u => u.AgentId != null).GroupBy(u => u.AgentId!.Value).ToDictionary(g => g.Key, g => g.First());
        var list = new JsonArray();
        // Every agent is a FonoUC user (isAgent); an account bound to an agent is shown once, as that agent.
        foreach (var a in agents)
        {
            var (first, last) = SplitName(a.Name);
            var account = byAgent.GetValueOrDefault(a.Id);
            list.Add(User(FonoUcIds.User(a.Id), first, last, a.Number ?? "", account, isAgent: true, a.Kind == AgentKind.Remote));
        }
        foreach (var u in accounts.Where(u => u.AgentId == null || !agents.Any(a => a.Id == u.AgentId)))
        {
            var (first, last) = SplitName(u.Username);
            list.Add(User(FonoUcIds.User(u.Id), first, last, "", u, isAgent: false, cellphones: false));
        }
        return FonoUcJson.Ok(list);
    }

    private static JsonObject User(string id, string first, string last, string presence, UserAccount? account, bool isAgent, bool cellphones)
    {
        var role = account?.Role ?? Role.Agent;
        return new JsonObject
        {
            ["id"] = id,
            ["level"] = Level(role),
            ["first_name"] = first,
            ["last_name"] = last,
            ["email"] = account?.Username.Contains('@', StringComparison.Ordinal) == true ? account.Username : "",
            ["presence_id"] = presence,
            ["enabled"] = true,
            ["has_cellphones"] = cellphones,
            ["role"] = Level(role),
            ["tags"] = new JsonArray(),
            ["isAgent"] = isAgent,
            ["invitation"] = new JsonObject { ["status"] = "", ["history"] = null },
            ["feature_plan"] = "",
        };
    }

    // ---- queue documents

    private static async Task<IResult> QueuesAsync(HttpContext http)
    {
        var list = await http.Tenant().QueryAsync(engine =>
            new JsonArray([.. engine.Queues.OrderBy(q => q.Id.Value).Select(q => (JsonNode)FonoUcQueues.Document(q))]));
        return FonoUcJson.Ok(list);
    }

    private static async Task<IResult> CreateQueueAsync(HttpContext http, QueueService queues)
    {
        var (node, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return FonoUcJson.Invalid(errors);
        var body = (JsonObject)node!;
        if (body.ContainsKey("id")) return FonoUcJson.Error(400, "id is given by the server.", "id");
        return await SaveAsync(http, queues, body, new QueueConfig { Id = new QueueId(await queues.NewIdAsync()) }, created: true);
    }

    private static async Task<IResult> UpdateQueueAsync(string queueId, HttpContext http, QueueService queues)
    {
        if (!FonoUcIds.TryQueue(queueId, out var id)) return NoQueue;
        var (node, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return FonoUcJson.Invalid(errors);
        var current = await queues.ReadAsync(http.Tenant(), id, (_, q) => (q.Config, Doc: FonoUcQueues.Document(q)));
        if (!current.Ok) return NoQueue;
        var patch = (JsonObject)node!;
        if (patch["id"] is { } given && (given.GetValueKind() != JsonValueKind.String || given.GetValue<string>() != queueId))
            return FonoUcJson.Error(400, "id must be the queue's id.", "id");
        // A PUT may send the whole document as read, or only the fields it changes.
        return await SaveAsync(http, queues, (JsonObject)Body.Merge(current.Value.Doc, patch), current.Value.Config, created: false);
    }

    private static async Task<IResult> SaveAsync(HttpContext http, QueueService queues, JsonObject body, QueueConfig current, bool created)
    {
        var e = new Errors();
        var parsed = FonoUcQueues.Parse(body, current, e);
        if (parsed == null) return FonoUcJson.Invalid(e);
        var host = http.Tenant();
        var qid = current.Id.Value;
        if (parsed.Members != null)
        {
            var missing = await host.QueryAsync(engine => parsed.Members.Select((m, i) => (m, i)).FirstOrDefault(x => !engine.TryGetAgent(new AgentId(x.m.AgentId), out _)));
            if (missing.m != null) return FonoUcJson.Error(400, "No agent with this id.", $"agents[{missing.i}].id");
        }
        var saved = await queues.SaveAsync(host, parsed.Config, keepDialectData: false, FonoUcQueues.Field, (_, _) => true);
        if (!saved.Ok) return saved.Error!.Kind switch
        {
            Failure.Invalid => FonoUcJson.Invalid(Errors.From(saved.Error)),
            _ when saved.Error.Engine == CommandResult.Conflict => FonoUcJson.Error(400, "Another queue already uses that extension.", "extensions[0].extension"),
            _ => FonoUcJson.Error(400, "The queue could not be saved."),
        };
        if (parsed.Members != null)
        {
            var set = await queues.SetMembersAsync(host, qid, parsed.Members, FonoUcQueues.MemberField, (_, _) => true);
            if (!set.Ok) return set.Error!.Kind == Failure.Invalid ? FonoUcJson.Invalid(Errors.From(set.Error)) : FonoUcJson.Error(400, "The queue's agents could not be set.", "agents");
        }
        var doc = await queues.ReadAsync(host, qid, (_, q) => FonoUcQueues.Document(q));
        return doc.Ok ? FonoUcJson.Ok(doc.Value!, created ? 201 : 200) : NoQueue;
    }

    // ---- agent login / logout

    private static async Task<IResult> LoginLogoutAsync(string userId, string action, HttpContext http, AgentService agents, AccountService users,
        QueueService queues)
    {
        if (action is not ("login" or "logout")) return FonoUcJson.Error(404, "The action must be login or logout.");
        if (!FonoUcIds.TryUser(userId, out var id)) return FonoUcJson.Error(404, "No such user.", "user_id");
        var host = http.Tenant();
        long? agentId = (await agents.ReadAsync(host, id, (_, _) => true)).Ok ? id : null;
        // A user account id stands for the agent it is bound to.
        if (agentId == null && await users.GetUserAsync(host.TenantId, id) is { AgentId: { } bound }) agentId = bound;
        if (agentId == null) return FonoUcJson.Error(404, "No such agent.", "user_id");
        List<int>? only = null;
        var raw = http.Request.Query["queueID"];
        if (raw.Count > 0)
        {
            if (!FonoUcIds.TryQueue(raw.ToString(), out var qid)) return NoQueue;
            var member = await queues.ReadAsync(host, qid, (_, q) => q.Members.Any(m => m.Agent.Id.Value == agentId));
            if (!member.Ok) return NoQueue;
            if (!member.Value) return FonoUcJson.Error(400, "The agent is not in this queue.", "queueID");
            only = [(int)qid];
        }
        var result = action == "login"
            ? await agents.LoginAsync(host, agentId.Value, only, (_, _) => true)
            : await agents.LogoutAsync(host, agentId.Value, only, (_, _) => true);
        return result.Ok ? TypedResults.NoContent() : FonoUcJson.Error(400, "Agent queue status couldn't be updated.", "user_id");
    }

    // ---- live status

    private static async Task<IResult> StatusAsync(HttpContext http)
    {
        var raw = http.Request.Query["queueID"];
        long? only = null;
        if (raw.Count > 0)
        {
            if (!FonoUcIds.TryQueue(raw.ToString(), out var qid) || qid > int.MaxValue) return NoQueue;
            only = qid;
        }
        var result = await http.Tenant().QueryAsync(engine =>
        {
            if (only is { } id)
                return engine.TryGetQueue(new QueueId((int)id), out var q) ? QueueStatus(engine, q) : null;
            return (JsonNode)new JsonArray([.. engine.Queues.OrderBy(q => q.Id.Value).Select(q => (JsonNode)QueueStatus(engine, q))]);
        });
        return result == null ? NoQueue : FonoUcJson.Ok(result);
    }

    private static JsonObject QueueStatus(CallCenter engine, Queue q)
    {
        var members = q.Members.OrderBy(m => m.Config.Level).ThenBy(m => m.Config.Position).ThenBy(m => m.Agent.Id.Value).ToList();
        return new JsonObject
        {
            ["id"] = FonoUcIds.Queue(q.Id.Value),
            ["name"] = q.Config.Name,
            ["max_time_caller_in_queue"] = q.OldestEntry is { } oldest ? (int)(Math.Max(0, engine.Now - oldest) / 1000) : 0,
            ["strategy"] = FonoUcQueues.StrategyName(q.Config),
            ["agents"] = new JsonArray([.. members.Select(m => (JsonNode)new JsonObject
            {
                ["id"] = FonoUcIds.User(m.Agent.Id.Value),
                ["name"] = m.Agent.Config.Name,
                ["extension"] = m.Agent.Config.Number ?? "",
                ["delay"] = m.Config.RingDelaySeconds,
                ["timeout"] = FonoUcQueues.Timeout(m),
                ["logged_in"] = m.LoggedIn,
                ["status"] = AgentStatusName(m),
                // Lineup has no SIP registration yet: an agent logged in anywhere counts as reachable.
                ["registered"] = m.Agent.Status != AgentStatus.LoggedOut,
                ["conference"] = Conference(engine, m.Agent),
            })]),
            ["total_agents"] = members.Count,
            ["logged_in_agents"] = members.Count(m => m.LoggedIn),
            ["logged_out_agents"] = members.Count(m => !m.LoggedIn),
            // The post-call survey (csat) today: how many callers rated, and their average (null before the first).
            ["csat_ratings"] = q.Today.Ratings,
            ["csat_average"] = q.Today.Ratings > 0 ? Math.Round(q.Today.AverageRating, 2) : null,
        };
    }

    /// <summary>Lineup's spelling of an agent's state in one queue (the seed shows only "idle").</summary>
    internal static string AgentStatusName(Member m) => !m.LoggedIn ? "logged_out" : m.Agent.Status switch
    {
        AgentStatus.NotReady => "not_ready",
        AgentStatus.WrapUp => "wrap_up",
        AgentStatus.LoggedOut => "logged_out",
        _ => m.Agent.Activity switch
        {
            AgentActivity.Ringing => "ringing",
            AgentActivity.Talking => "in_call",
            AgentActivity.BusyNonQueue => "busy",
            _ => "idle",
        },
    };

    /// <summary>The agent's live queue call as FonoUC's conference, or null.</summary>
    private static JsonObject? Conference(CallCenter engine, Agent a)
    {
        if (a.CurrentCall is not { } callId || !engine.TryGetCall(callId, out var call)) return null;
        var now = engine.Now;
        var r = call.Record;
        var answered = call.Agent == a.Id && r.AnsweredAt != null;
        var agentSince = answered ? r.AnsweredAt!.Value : r.Attempts.LastOrDefault(x => x.Agent == a.Id).OfferedAt;
        return new JsonObject
        {
            ["id"] = FonoUcIds.Call(callId.Value),
            ["answered"] = answered,
            ["participants"] = Participants(call, answered),
            ["duration"] = Secs(now - r.EnteredAt),
            ["agent"] = new JsonObject
            {
                ["hear"] = answered,
                ["speak"] = answered,
                ["duration"] = answered ? Secs(now - agentSince) : 0,
                ["hears_supervisor"] = answered && HearsSupervisor(call, agent: true),
            },
            ["caller"] = Caller(call, now),
            ["supervisor"] = answered ? Supervisor(call) : null,
        };
    }

    /// <summary>The caller's party: it hears and speaks from its entry on; it hears a supervisor only in barge.</summary>
    private static JsonObject Caller(Call c, long now) => new()
    {
        ["name"] = c.Record.CallerName ?? "",
        ["number"] = c.Record.CallerNumber,
        ["hear"] = true,
        ["speak"] = true,
        ["duration"] = Secs(now - c.Record.EnteredAt),
        ["hears_supervisor"] = HearsSupervisor(c, agent: false),
    };

    /// <summary>A supervisor monitoring the call (POST /api/v1/calls/{id}/monitor) as a third party, null when none: it
    /// always hears both; it speaks in whisper (to the agent alone) and barge (to both), never in listen.</summary>
    private static JsonObject? Supervisor(Call c) => c.Supervisor is not { } supervisor ? null : new JsonObject
    {
        ["number"] = supervisor,
        ["mode"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(c.SupervisionMode.ToString()),
        ["hear"] = true,
        ["speak"] = c.SupervisionMode != SupervisionMode.Listen,
    };

    /// <summary>Who hears the supervisor: the agent in whisper and barge, the caller in barge only.</summary>
    private static bool HearsSupervisor(Call c, bool agent) => c.Supervisor != null
        && (c.SupervisionMode == SupervisionMode.Barge || (agent && c.SupervisionMode == SupervisionMode.Whisper));

    /// <summary>Caller, then the agent once answered, then a monitoring supervisor (POST /api/v1/calls/{id}/monitor).</summary>
    private static int Participants(Call c, bool answered) => answered ? (c.Supervisor != null ? 3 : 2) : 1;

    private static int Secs(long ms) => (int)(Math.Max(0, ms) / 1000);

    private static async Task<IResult> CallsAsync(HttpContext http)
    {
        var list = await http.Tenant().QueryAsync(engine =>
        {
            var now = engine.Now;
            return new JsonArray([.. engine.ActiveCalls.Where(c => c.State is CallState.Waiting or CallState.Connected or CallState.CallbackDialing).OrderBy(c => c.Id.Value).Select(c =>
            {
                var r = c.Record;
                var answered = r.AnsweredAt != null && c.Agent != null;
                Agent? agent = null;
                if (c.Agent is { } connected) engine.TryGetAgent(connected, out agent);
                agent ??= engine.Agents.Where(a => a.CurrentCall == c.Id && a.Activity == AgentActivity.Ringing).OrderBy(a => a.Id.Value).FirstOrDefault();
                JsonObject? agentNode = null;
                if (agent != null)
                {
                    var since = answered ? r.AnsweredAt!.Value : now;
                    agentNode = new JsonObject
                    {
                        ["id"] = FonoUcIds.User(agent.Id.Value),
                        ["agent_name"] = agent.Config.Name,
                        ["ext"] = Ext(agent.Config.Number),
                        ["hear"] = answered,
                        ["speak"] = answered,
                        ["duration"] = Secs(now - since),
                        ["hears_supervisor"] = answered && HearsSupervisor(c, agent: true),
                    };
                }
                return (JsonNode)new JsonObject
                {
                    ["name"] = c.Queue?.Config.Name ?? "",
                    ["answered"] = answered,
                    ["participants"] = Participants(c, answered),
                    ["duration"] = Secs(now - r.EnteredAt),
                    ["agent"] = agentNode,
                    ["caller"] = Caller(c, now),
                    ["supervisor"] = answered ? Supervisor(c) : null,
                };
            })]);
        });
        return FonoUcJson.Ok(list);
    }

    /// <summary>FonoUC writes an extension as a number here; one with other characters stays a string.</summary>
    private static JsonNode? Ext(string? number) =>
        long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? JsonValue.Create(n) : JsonValue.Create(number ?? "");

    // ---- CDRs

    private sealed record QueueInfo(string Name, string? Extension);

    private sealed record PersonInfo(string Name, string? Number);

    private static async Task<IResult> CdrsAsync(HttpContext http, ReportService reports)
    {
        var q = http.Request.Query;
        // The seed's own example spells the lower limit "starDate": both spellings are accepted.
        var startField = q.ContainsKey("startDate") ? "startDate" : "starDate";
        if (!Time(q[startField].ToString(), 0, out var from)) return FonoUcJson.Error(400, $"{startField} must be a Unix timestamp.", startField);
        if (!Time(q["endDate"].ToString(), long.MaxValue, out var to)) return FonoUcJson.Error(400, "endDate must be a Unix timestamp.", "endDate");
        if (to < from) return FonoUcJson.Error(400, "endDate must not be before startDate.", "endDate");
        var pageSize = 100;
        var rawSize = q["page_size"].ToString();
        if (rawSize.Length > 0 && (!int.TryParse(rawSize, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > 1000))
            return FonoUcJson.Error(400, "page_size must be between 1 and 1000.", "page_size");
        (long, long)? after = null;
        var key = q["start_key"].ToString();
        if (key.Length > 0)
        {
            if (!ReportService.TryCursor(key, out var parsed)) return FonoUcJson.Error(400, "start_key must be a next_start_key this API returned.", "start_key");
            after = parsed;
        }
        var host = http.Tenant();
        var page = await reports.CdrsAsync(host, from, to == long.MaxValue ? to : to + 1, null, null, after, pageSize);
        var (queues, agents, members) = await host.QueryAsync(engine => (
            engine.Queues.ToDictionary(x => (long)x.Id.Value, x => new QueueInfo(x.Config.Name, x.Config.Extension)),
            engine.Agents.ToDictionary(x => (long)x.Id.Value, x => new PersonInfo(x.Config.Name, x.Config.Number)),
            engine.Queues.SelectMany(x => x.Members).ToDictionary(m => ((long)m.Queue.Id.Value, (long)m.Agent.Id.Value), m => (m.Config.RingDelaySeconds, FonoUcQueues.Timeout(m)))));
        var data = new JsonArray();
        foreach (var cdr in page.Items) data.Add(Cdr(cdr, queues, agents, members));
        return FonoUcJson.Ok(new JsonObject { ["data"] = data, ["next_start_key"] = page.Next ?? "", ["page_size"] = page.Items.Count });
    }

    /// <summary>Unix seconds, or milliseconds when the number is too large to be seconds (the seed's example mixes both).</summary>
    private static bool Time(string raw, long fallback, out long unixMs)
    {
        unixMs = fallback;
        if (raw.Length == 0) return true;
        if (!decimal.TryParse(raw, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value > 100_000_000_000_000m) return false;
        unixMs = value < 100_000_000_000m ? (long)(value * 1000) : (long)value;
        return true;
    }

    private static string QueueName(Dictionary<long, QueueInfo> queues, long id) => queues.TryGetValue(id, out var q) ? q.Name : "";

    private static JsonObject Cdr(CdrRecord c, Dictionary<long, QueueInfo> queues, Dictionary<long, PersonInfo> agents,
        Dictionary<(long, long), (int Delay, int Timeout)> members)
    {
        var callId = FonoUcIds.Call(c.CallId);
        var queueId = c.AnsweredQueueId ?? (c.Queues.Count > 0 ? c.Queues[^1].QueueId : 0);
        var queueName = QueueName(queues, queueId);
        var history = new JsonArray();
        foreach (var x in c.Attempts)
        {
            var person = agents.GetValueOrDefault(x.AgentId);
            var (first, last) = SplitName(person?.Name ?? "");
            var (delay, timeout) = members.GetValueOrDefault((x.QueueId, x.AgentId));
            var connected = x.Outcome == AttemptOutcome.Answered;
            history.Add(new JsonObject
            {
                ["uuid"] = "",
                ["endpoint"] = FonoUcIds.User(x.AgentId),
                ["device_endpoints"] = null,
                ["type"] = "user",
                ["event"] = "dial",
                ["timeout"] = timeout,
                ["delay"] = delay,
                // An agent is offered a call only when idle.
                ["status"] = "idle",
                ["ext"] = person?.Number ?? "",
                ["last_attempt"] = Seconds(x.OfferedAt),
                ["connected"] = connected,
                ["queue_name"] = QueueName(queues, x.QueueId),
                ["total_talk_time"] = connected && c.AgentId == x.AgentId ? (int)Math.Round(c.TalkSeconds) : 0,
                ["first_name"] = first,
                ["last_name"] = last,
                ["email"] = "",
            });
        }
        if (c.Disposition == "transferred")
        {
            history.Add(new JsonObject
            {
                ["uuid"] = "",
                ["endpoint"] = "",
                ["device_endpoints"] = null,
                ["type"] = "transfer",
                ["event"] = "transfer",
                ["timeout"] = 0,
                ["delay"] = 0,
                ["status"] = "",
                ["ext"] = c.DestinationTarget ?? "",
                ["last_attempt"] = Seconds(c.EndedAt),
                ["connected"] = false,
                ["queue_name"] = queueName,
                ["total_talk_time"] = 0,
                ["first_name"] = "",
                ["last_name"] = "",
                ["email"] = "",
            });
        }
        var answeredBy = c.AgentId is { } a ? agents.GetValueOrDefault(a) : null;
        var (af, al) = SplitName(answeredBy?.Name ?? "");
        var conf = "lineup_queue_app_" + queueName + "_" + c.CallId.ToString("X", CultureInfo.InvariantCulture);
        return new JsonObject
        {
            ["callid"] = callId,
            ["queue_name"] = queueName,
            ["state"] = c.AgentId != null ? 1 : 0,
            ["called_time"] = Seconds(c.EnteredAt),
            ["hangup_time"] = Seconds(c.EndedAt),
            ["conf_id"] = conf,
            ["queue_history"] = new JsonArray([.. c.Queues.Select(v => (JsonNode)new JsonObject
            {
                ["queue_name"] = QueueName(queues, v.QueueId),
                ["ts"] = Seconds(v.EnteredAt),
            })]),
            ["agent_history"] = history,
            ["disposition"] = Disposition(c.Disposition),
            ["agent_disposition"] = c.DispositionCode ?? "",
            ["caller_id_number"] = c.CallerNumber,
            ["caller_id_name"] = "\"" + (c.CallerName ?? c.CallerNumber) + "\"",
            ["timestamp"] = c.EnteredAt.ToUnixTimeSeconds(),
            ["transferred_on_digit"] = c.Disposition == "transferred" && c.ExitReason == ExitReason.ExitKey,
            ["billing_seconds"] = ((long)Math.Ceiling((c.EndedAt - c.EnteredAt).TotalSeconds)).ToString(CultureInfo.InvariantCulture),
            ["media_recording_id"] = c.RecordingId is { } r ? FonoUcIds.Recording(c.CallId, c.EnteredAt) : "",
            ["recording_filename"] = c.RecordingId is { } f ? FonoUcIds.RecordingFile(c.CallId, f) : "",
            ["callee_id_number"] = queues.GetValueOrDefault(queueId)?.Extension ?? "",
            ["interaction_id"] = c.ExternalId ?? "",
            ["has_screen_recording"] = false,
            ["agent_answered_name"] = answeredBy == null ? "" : $"{af} {al}",
            ["agent_answered_ext"] = answeredBy?.Number ?? "",
            // The caller's post-call survey key (1 to the queue's csat maximum); null when it did not rate the call.
            ["csat_rating"] = c.Rating,
        };
    }

    private sealed record LiveRecording(DateTimeOffset EnteredAt, string? Id);

    /// <summary>The audio of a CDR's <c>media_recording_id</c>, from the tenant's recordings (as the native
    /// <c>/api/v1/calls/{id}/recording</c>): unknown, malformed, another tenant's or not recorded is 404.</summary>
    private static async Task<IResult> RecordingAsync(string mediaRecordingId, HttpContext http, CallService calls, SipFrontEnd sip)
    {
        var none = FonoUcJson.Error(404, "No such recording.", "media_recording_id");
        if (!FonoUcIds.TryRecording(mediaRecordingId, out var callId)) return none;
        var host = http.Tenant();
        var call = await calls.GetAsync(host, callId, (_, c) => new LiveRecording(RecordJson.Time(c.Record.EnteredAt), c.Record.RecordingId));
        if (!call.Ok) return none;
        var (enteredAt, recording) = call.Value.Live ?? new LiveRecording(call.Value.Ended!.EnteredAt, call.Value.Ended.RecordingId);
        // The month must be the call's too: an id is only ever one the CDR gave.
        if (recording == null || FonoUcIds.Recording(callId, enteredAt) != mediaRecordingId) return none;
        return sip.RecordingPath(host.TenantId, recording) is { } path
            ? Results.File(path, "audio/wav", FonoUcIds.RecordingFile(callId, recording), enableRangeProcessing: true)
            : none;
    }

    private static double Seconds(DateTimeOffset t) => FonoUcJson.Seconds(t.ToUnixTimeMilliseconds());

    /// <summary>The call's outcome in FonoUC's upper-case spelling ("ANSWER" as in the seed; the others Lineup's).</summary>
    private static string Disposition(string lineup) => lineup switch
    {
        "answered" => "ANSWER",
        "abandoned" => "ABANDON",
        "transferred" => "TRANSFER",
        "voicemail" => "VOICEMAIL",
        "hung_up" => "HANGUP",
        "callback_failed" => "CALLBACK_FAILED",
        "cancelled" => "CANCEL",
        "lost_on_node_failure" => "NODE_FAILURE",
        _ => lineup.ToUpperInvariant(),
    };
}
