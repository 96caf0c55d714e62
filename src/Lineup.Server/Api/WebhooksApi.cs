using System.Globalization;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Events;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api;

public sealed record WebhookBody
{
    public string? Name { get; init; }
    public string? Url { get; init; }
    public WebhookMethod? Method { get; init; }
    public WebhookFormat? Format { get; init; }
    public IReadOnlyList<string>? EventTypes { get; init; }
    public IReadOnlyList<long>? QueueIds { get; init; }
    public IReadOnlyList<long>? AgentIds { get; init; }
    public string? Secret { get; init; }
    public bool? Enabled { get; init; }
}

/// <summary>A subscription as the API shows it: the secret only once, when it is created or replaced.</summary>
public sealed record WebhookDto(
    long Id, string Name, string Url, WebhookMethod Method, WebhookFormat Format, IReadOnlyList<string> EventTypes,
    IReadOnlyList<long> QueueIds, IReadOnlyList<long> AgentIds, bool Enabled, DateTimeOffset CreatedAt, string? Secret = null);

public sealed record WebhookLimitsDto(int MaxSubscriptions, int Subscriptions, IReadOnlyList<string> EventTypes);

public sealed record AttemptDto(long Attempt, DateTimeOffset At, long? StatusCode, double LatencyMs, string? Error);

public sealed record DeliveryDto(
    long Id, string EventId, string EventType, string State, long Attempts, DateTimeOffset CreatedAt, DateTimeOffset? NextAttemptAt,
    long? LastStatus, string? LastError, DateTimeOffset? FinishedAt, IReadOnlyList<AttemptDto>? AttemptLog = null);

/// <summary>Webhook subscriptions, their limits, and their delivery log (docs/events.md).</summary>
public static class WebhooksApi
{
    private static readonly string[] s_states = ["pending", "delivered", "dead"];

    public static void MapWebhooksApi(this RouteGroupBuilder api)
    {
        var hooks = api.MapGroup("/webhooks").WithTags("Webhooks");
        hooks.MapGet("", (Delegate)List).Require(Role.Admin).WithSummary("List webhook subscriptions")
            .Produces<Page<WebhookDto>>();
        hooks.MapPost("", CreateAsync).Require(Role.Admin).WithSummary("Create a webhook subscription")
            .AcceptsJson<WebhookBody>().Produces<WebhookDto>(201).ProducesProblems(409);
        hooks.MapGet("/limits", Limits).Require(Role.Admin).WithSummary("Subscription limit and event types")
            .Produces<WebhookLimitsDto>();
        hooks.MapGet("/{id:long}", Get).Require(Role.Admin).WithSummary("Get a webhook subscription")
            .Produces<WebhookDto>().ProducesProblems(404);
        hooks.MapPatch("/{id:long}", UpdateAsync).Require(Role.Admin).WithSummary("Update a webhook subscription")
            .AcceptsJson<WebhookBody>().Produces<WebhookDto>().ProducesProblems(404);
        hooks.MapDelete("/{id:long}", DeleteAsync).Require(Role.Admin).WithSummary("Delete a webhook subscription and its delivery log")
            .Produces(204).ProducesProblems(404);
        hooks.MapGet("/{id:long}/deliveries", DeliveriesAsync).Require(Role.Admin).WithSummary("A subscription's deliveries, newest first")
            .Produces<Page<DeliveryDto>>().ProducesProblems(404);
        hooks.MapGet("/{id:long}/deliveries/{seq:long}", DeliveryAsync).Require(Role.Admin).WithSummary("One delivery with every attempt")
            .Produces<DeliveryDto>().ProducesProblems(404);
        hooks.MapPost("/{id:long}/deliveries/{seq:long}/redeliver", RedeliverAsync).Require(Role.Admin)
            .WithSummary("Send a delivered or dead delivery again").Produces<DeliveryDto>(202).ProducesProblems(404, 409);
    }

    private static WebhookDto Dto(Webhook h, bool withSecret = false) => new(h.Id, h.Name, h.Url, h.Method, h.Format, h.EventTypes, h.QueueIds,
        h.AgentIds, h.Enabled, Api.Dto.Time(h.CreatedAt), withSecret ? h.Secret : null);

    private static Webhook? Find(HttpContext http, long id) => http.Tenant().Webhooks.FirstOrDefault(h => h.Id == id && h.Source == Webhook.NativeSource);

    private static IResult List(HttpContext http)
    {
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        var hooks = http.Tenant().Webhooks.Where(h => h.Source == Webhook.NativeSource).OrderBy(h => h.Id).Select(h => Dto(h));
        return TypedResults.Ok(RequestContext.PageOf(hooks, h => h.Id, limit, after));
    }

    private static IResult Limits(HttpContext http, WebhookService webhooks) =>
        TypedResults.Ok(new WebhookLimitsDto(webhooks.Limit, http.Tenant().Webhooks.Count, EventTypes.All));

    private static IResult Get(long id, HttpContext http) =>
        Find(http, id) is { } h ? TypedResults.Ok(Dto(h)) : RequestContext.Problem(404, "No such webhook.");

    private static async Task<IResult> CreateAsync(HttpContext http, WebhookService webhooks)
    {
        var (body, errors) = await Body.ReadAsync<WebhookBody>(http.Request);
        if (errors != null) return errors.Problem();
        var tenant = http.Tenant();
        var e = await ValidateAsync(tenant, body!, webhooks, create: true);
        if (e.Any) return e.Problem();
        var r = await webhooks.CreateAsync(tenant, Apply(new Webhook(), body!));
        return r.Ok
            ? TypedResults.Created($"/api/v1/webhooks/{r.Value!.Id}", Dto(r.Value, withSecret: true))
            : RequestContext.Problem(409, $"This tenant has reached its limit of {webhooks.Limit} webhook subscriptions (GET /api/v1/webhooks/limits).", "Conflict");
    }

    private static async Task<IResult> UpdateAsync(long id, HttpContext http, WebhookService webhooks)
    {
        if (Find(http, id) is not { } current) return RequestContext.Problem(404, "No such webhook.");
        var (patch, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return errors.Problem();
        var (body, bindErrors) = Body.Bind<WebhookBody>(patch);
        if (bindErrors != null) return bindErrors.Problem();
        var tenant = http.Tenant();
        var e = await ValidateAsync(tenant, body!, webhooks, create: false, current);
        if (e.Any) return e.Problem();
        var hook = await webhooks.UpdateAsync(tenant, Apply(current, body!));
        return TypedResults.Ok(Dto(hook, withSecret: body!.Secret != null));
    }

    private static async Task<IResult> DeleteAsync(long id, HttpContext http, WebhookService webhooks)
    {
        if (Find(http, id) is null) return RequestContext.Problem(404, "No such webhook.");
        await webhooks.DeleteAsync(http.Tenant(), [id]);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> DeliveriesAsync(long id, HttpContext http, WebhookService webhooks)
    {
        if (Find(http, id) is null) return RequestContext.Problem(404, "No such webhook.");
        if (!RequestContext.Paging(http.Request, out var limit, out var before, out var error)) return error!;
        var state = http.Request.Query["state"].ToString();
        if (state.Length > 0 && !s_states.Contains(state))
            return new Errors().Add("state", "state must be pending, delivered or dead.").Problem();
        var rows = await webhooks.DeliveriesAsync(http.Tenant(), id, state.Length > 0 ? state : null, before == 0 ? long.MaxValue : before, limit + 1);
        var items = rows.Take(limit).Select(d => Dto(d)).ToList();
        var next = rows.Count > limit ? items[^1].Id.ToString(CultureInfo.InvariantCulture) : null;
        return TypedResults.Ok(new Page<DeliveryDto>(items, next));
    }

    private static async Task<IResult> DeliveryAsync(long id, long seq, HttpContext http, WebhookService webhooks)
    {
        if (Find(http, id) is null || await webhooks.DeliveryAsync(http.Tenant(), id, seq) is not { } delivery) return RequestContext.Problem(404, "No such delivery.");
        var attempts = await webhooks.AttemptsAsync(id, seq);
        return TypedResults.Ok(Dto(delivery) with
        {
            AttemptLog = [.. attempts.Select(a => new AttemptDto(a.Attempt, Api.Dto.Time(a.At), a.StatusCode, a.LatencyMs, a.Error))],
        });
    }

    private static async Task<IResult> RedeliverAsync(long id, long seq, HttpContext http, WebhookService webhooks)
    {
        if (Find(http, id) is null || await webhooks.DeliveryAsync(http.Tenant(), id, seq) is null) return RequestContext.Problem(404, "No such delivery.");
        if (!await webhooks.RedeliverAsync(id, seq)) return RequestContext.Problem(409, "That delivery is still pending.", "Conflict");
        var delivery = await webhooks.DeliveryAsync(http.Tenant(), id, seq);
        return TypedResults.Accepted($"/api/v1/webhooks/{id}/deliveries/{seq}", Dto(delivery!));
    }

    private static DeliveryDto Dto(Delivery d) => new(
        d.Seq, d.EventId, d.EventType, d.State, d.Attempts, Api.Dto.Time(d.CreatedAt),
        d.NextAttemptAt is { } next ? Api.Dto.Time(next) : null, d.LastStatus, d.LastError,
        d.FinishedAt is { } f ? Api.Dto.Time(f) : null);

    private static Webhook Apply(Webhook h, WebhookBody b)
    {
        var method = b.Method ?? h.Method;
        return h with
        {
            Name = b.Name ?? h.Name,
            Url = b.Url ?? h.Url,
            Method = method,
            // A GET carries the fields in its query string.
            Format = method == WebhookMethod.Get ? WebhookFormat.Form : b.Format ?? h.Format,
            EventTypes = b.EventTypes is { } t ? [.. t.Distinct(StringComparer.Ordinal)] : h.EventTypes,
            QueueIds = b.QueueIds is { } q ? [.. q.Distinct()] : h.QueueIds,
            AgentIds = b.AgentIds is { } a ? [.. a.Distinct()] : h.AgentIds,
            Secret = b.Secret ?? h.Secret,
            Enabled = b.Enabled ?? h.Enabled,
        };
    }

    private static async Task<Errors> ValidateAsync(ITenant tenant, WebhookBody b, WebhookService webhooks, bool create, Webhook? current = null)
    {
        var e = new Errors();
        if (create && string.IsNullOrWhiteSpace(b.Url)) e.Add("url", "url is required.");
        e.Length("url", b.Url, 1, 2000);
        if (b.Url != null && webhooks.CheckUrl(b.Url) is { } why) e.Add("url", why);
        e.Length("name", b.Name, 0, 128);
        if (b.Secret != null && b.Secret.Length is < 16 or > 256) e.Add("secret", "secret must be 16 to 256 characters long.");
        if (create && (b.EventTypes == null || b.EventTypes.Count == 0))
            e.Add("event_types", "event_types is required: one or more event types, or \"*\" for all.");
        if (b.EventTypes != null)
        {
            if (b.EventTypes.Count == 0) e.Add("event_types", "event_types must not be empty.");
            if (b.EventTypes.Count > 64) e.Add("event_types", "event_types has at most 64 entries.");
            for (var i = 0; i < b.EventTypes.Count; i++)
                if (b.EventTypes[i] is not { } t || (t != "*" && !EventTypes.IsKnown(t)))
                    e.Add($"event_types[{i}]", $"'{b.EventTypes[i]}' is not an event type (GET /api/v1/webhooks/limits lists them).");
        }
        var method = b.Method ?? current?.Method ?? WebhookMethod.Post;
        if (method == WebhookMethod.Get && b.Format == WebhookFormat.Json)
            e.Add("format", "A GET webhook sends the fields in its query string: format must be form.");
        if (b.QueueIds is { Count: > 100 }) e.Add("queue_ids", "queue_ids has at most 100 entries.");
        if (b.AgentIds is { Count: > 1000 }) e.Add("agent_ids", "agent_ids has at most 1000 entries.");
        if (e.Any) return e;
        IReadOnlyList<long> queues = b.QueueIds ?? [], agents = b.AgentIds ?? [];
        var (badQueue, badAgent) = await webhooks.FindUnknownAsync(tenant, queues, agents);
        if (badQueue >= 0) e.Add($"queue_ids[{badQueue}]", $"No queue with id {queues[badQueue]}.");
        if (badAgent >= 0) e.Add($"agent_ids[{badAgent}]", $"No agent with id {agents[badAgent]}.");
        return e;
    }

}
