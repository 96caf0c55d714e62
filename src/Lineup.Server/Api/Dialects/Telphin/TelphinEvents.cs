using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lineup.Engine;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Events;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api.Dialects.Telphin;

/// <summary>
/// Queue agent events: an agent's agent-login / agent-logout HTTP notifications. Each is a webhook subscription of
/// source "telphin" filtered to the agent and to agent.login or agent.logout, so it is delivered by the durable
/// outbox (retries, dead letters) and only when the agent's login really changes; <see cref="Payload"/> gives it the
/// form fields of the seed's example log.
/// </summary>
public static class TelphinEvents
{
    /// <summary>The subscriptions' <see cref="Webhook.Source"/>; the native API does not list them.</summary>
    public const string Source = TelphinDialect.DialectName;

    internal static void Map(RouteGroupBuilder api)
    {
        foreach (var kind in new[] { AgentKind.Local, AgentKind.Remote })
        {
            var path = $"/client/{{client_id}}/agent/{TelphinAgents.Kind(kind)}/{{agent_id}}/event/";
            api.MapPost(path, (string client_id, string agent_id, HttpContext http, WebhookService webhooks) =>
                CreateAsync(kind, client_id, agent_id, http, webhooks)).Require(Role.Admin);
            api.MapGet(path, (string client_id, string agent_id, HttpContext http) => ListAsync(kind, client_id, agent_id, http)).Require(Role.Supervisor);
            api.MapGet(path + "{event_id}", (string client_id, string agent_id, string event_id, HttpContext http) =>
                GetAsync(kind, client_id, agent_id, event_id, http)).Require(Role.Supervisor);
            api.MapPut(path + "{event_id}", (string client_id, string agent_id, string event_id, HttpContext http, WebhookService webhooks) =>
                UpdateAsync(kind, client_id, agent_id, event_id, http, webhooks)).Require(Role.Admin);
            api.MapDelete(path + "{event_id}", (string client_id, string agent_id, string event_id, HttpContext http, WebhookService webhooks) =>
                DeleteAsync(kind, client_id, agent_id, event_id, http, webhooks)).Require(Role.Admin);
        }
    }

    private static readonly string[] s_fields = ["event_type", "method", "url"];

    private static string EventType(Webhook h) => h.EventTypes.Contains(EventTypes.AgentLogout) ? "agent-logout" : "agent-login";

    private static JsonObject Dto(Webhook h) => new()
    {
        ["url"] = h.Url,
        ["id"] = h.Id,
        ["method"] = h.Method == WebhookMethod.Get ? "GET" : "POST",
        ["event_type"] = EventType(h),
    };

    private static bool IsFor(Webhook h, int agent) => h.Source == Source && h.AgentIds.Count == 1 && h.AgentIds[0] == agent;

    private static Webhook Apply(Webhook h, TelphinBody b)
    {
        var type = b.OneOf("event_type", "agent-login", "agent-logout");
        var method = b.OneOf("method", "GET", "POST");
        var url = b.Str("url", 2000);
        var m = method == null ? h.Method : method == "GET" ? WebhookMethod.Get : WebhookMethod.Post;
        return h with
        {
            Url = url ?? h.Url,
            Method = m,
            Format = WebhookFormat.Form,
            EventTypes = type == null ? h.EventTypes : [type == "agent-login" ? EventTypes.AgentLogin : EventTypes.AgentLogout],
            Name = $"telphin {type ?? EventType(h)}",
        };
    }

    private static void CheckUrl(TelphinBody b, WebhookService webhooks, bool create)
    {
        foreach (var f in s_fields)
            if ((create && !b.Has(f)) || b.IsNull(f)) b.Errors.Add(f, $"{f} is required.");
        if (b.Str("url", 2000) is { Length: > 0 } url && webhooks.CheckUrl(url) is { } why) b.Errors.Add("url", why);
    }

    private static async Task<IResult> CreateAsync(AgentKind kind, string clientId, string agentId, HttpContext http, WebhookService webhooks)
    {
        var (host, id) = await TelphinAgents.FindAsync(kind, clientId, agentId, http);
        if (host == null) return TelphinErrors.NotFound(TelphinAgents.AgentWord(kind));
        var (body, error) = await TelphinBody.ReadAsync(http.Request, s_fields);
        if (error != null) return error;
        var b = body!;
        CheckUrl(b, webhooks, create: true);
        var hook = Apply(new Webhook { AgentIds = [id], Source = Source }, b);
        if (b.Errors.Any) return TelphinErrors.Invalid(b.Errors);
        var created = await webhooks.CreateAsync(host, hook);
        return created.Ok ? TelphinJson.Result(Dto(created.Value!), 201) : TelphinErrors.Error(409, $"The limit of {webhooks.Limit} tracked events is reached.");
    }

    private static async Task<IResult> ListAsync(AgentKind kind, string clientId, string agentId, HttpContext http)
    {
        var (host, id) = await TelphinAgents.FindAsync(kind, clientId, agentId, http);
        if (host == null) return TelphinErrors.NotFound(TelphinAgents.AgentWord(kind));
        return TelphinJson.Result(new JsonArray([.. host.Webhooks.Where(h => IsFor(h, id)).OrderBy(h => h.Id).Select(h => (JsonNode)Dto(h))]));
    }

    private static async Task<(ITenant? Host, Webhook? Hook, IResult? Problem)> FindAsync(AgentKind kind, string clientId, string agentId, string eventId, HttpContext http)
    {
        var (host, id) = await TelphinAgents.FindAsync(kind, clientId, agentId, http);
        if (host == null) return (null, null, TelphinErrors.NotFound(TelphinAgents.AgentWord(kind)));
        var hook = long.TryParse(eventId, out var e) ? host.Webhooks.FirstOrDefault(h => h.Id == e && IsFor(h, id)) : null;
        return hook == null ? (null, null, TelphinErrors.NotFound("Event")) : (host, hook, null);
    }

    private static async Task<IResult> GetAsync(AgentKind kind, string clientId, string agentId, string eventId, HttpContext http)
    {
        var (_, hook, problem) = await FindAsync(kind, clientId, agentId, eventId, http);
        return problem ?? TelphinJson.Result(Dto(hook!));
    }

    private static async Task<IResult> UpdateAsync(AgentKind kind, string clientId, string agentId, string eventId, HttpContext http, WebhookService webhooks)
    {
        var (host, current, problem) = await FindAsync(kind, clientId, agentId, eventId, http);
        if (problem != null) return problem;
        var (body, error) = await TelphinBody.ReadAsync(http.Request, s_fields);
        if (error != null) return error;
        var b = body!;
        CheckUrl(b, webhooks, create: false);
        var hook = Apply(current!, b);
        if (b.Errors.Any) return TelphinErrors.Invalid(b.Errors);
        return TelphinJson.Result(Dto(await webhooks.UpdateAsync(host!, hook)));
    }

    private static async Task<IResult> DeleteAsync(AgentKind kind, string clientId, string agentId, string eventId, HttpContext http, WebhookService webhooks)
    {
        var (host, hook, problem) = await FindAsync(kind, clientId, agentId, eventId, http);
        if (problem != null) return problem;
        await webhooks.DeleteAsync(host!, [hook!.Id]);
        return Results.NoContent();
    }

    /// <summary>
    /// The form fields of an agent event, in the order of the seed's example log: agent_status (available /
    /// logged_out), agent_type (local / remote), event_source (phone: a feature code or a REGISTER; else api), agent_id,
    /// then extension_name for a local agent or agent_number for a remote one. URL-encoded; a GET sends them as
    /// its query string, a POST as its body.
    /// </summary>
    public static string Payload(EventRecord e)
    {
        using var doc = JsonDocument.Parse(e.Json);
        var data = doc.RootElement.GetProperty("data");
        var kind = data.TryGetProperty("agent_kind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : "local";
        var number = data.TryGetProperty("agent_number", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() ?? "" : "";
        var pairs = new List<(string, string)>
        {
            ("agent_status", e.Type == EventTypes.AgentLogin ? "available" : "logged_out"),
            ("agent_type", kind == "remote" ? "remote" : "local"),
            ("event_source", data.TryGetProperty("source", out var source) && source.ValueKind == JsonValueKind.String ? source.GetString() ?? "api" : "api"),
            ("agent_id", e.AgentId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""),
            (kind == "remote" ? "agent_number" : "extension_name", number),
        };
        var sb = new StringBuilder();
        foreach (var (key, value) in pairs)
        {
            if (sb.Length > 0) sb.Append('&');
            sb.Append(key).Append('=').Append(Uri.EscapeDataString(value));
        }
        return sb.ToString();
    }
}
