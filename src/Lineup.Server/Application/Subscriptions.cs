using System.Security.Cryptography;
using Lineup.Engine;
using Lineup.Server.Events;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;
using Microsoft.Extensions.Options;

namespace Lineup.Server.Application;

/// <summary>
/// Webhook subscriptions, whichever API makes them (the native API, a dialect's own events): stored, handed to the
/// relay, and matched by the tenant, with the per-tenant limit enforced in the tenant's turn so that concurrent
/// creates cannot overshoot it.
/// </summary>
public sealed class WebhookService(IdSequence ids, EventStore events, WebhookRelay relay, IOptions<WebhookOptions> options, NetworkGuard guard,
    TimeProvider time)
{
    /// <summary>Subscriptions a tenant may have, all sources together.</summary>
    public int Limit => options.Value.MaxPerTenant;

    /// <summary>Why <paramref name="url"/> cannot be a destination, or null.</summary>
    public string? CheckUrl(string url) => guard.Check(url);

    /// <summary>The first of <paramref name="queues"/> and of <paramref name="agents"/> that names nothing in the
    /// tenant (index, or -1).</summary>
    public Task<(int BadQueue, int BadAgent)> FindUnknownAsync(ITenant tenant, IReadOnlyList<long> queues, IReadOnlyList<long> agents) =>
        tenant.QueryAsync(engine =>
        {
            var q = -1;
            for (var i = 0; i < queues.Count && q < 0; i++)
                if (!EngineIds.TryInt(queues[i], out var v) || !engine.TryGetQueue(new QueueId(v), out _)) q = i;
            var a = -1;
            for (var i = 0; i < agents.Count && a < 0; i++)
                if (!EngineIds.TryInt(agents[i], out var v) || !engine.TryGetAgent(new AgentId(v), out _)) a = i;
            return (q, a);
        });

    /// <summary>Creates a subscription from <paramref name="draft"/> (its id, creation time and, unless given, secret
    /// are set here). A Conflict when the tenant has <see cref="Limit"/> already.</summary>
    public async Task<Result<Webhook>> CreateAsync(ITenant tenant, Webhook draft)
    {
        var limit = Limit;
        if (tenant.Webhooks.Count >= limit) return LimitReached(limit);
        var hook = draft with
        {
            Id = await ids.NextIdAsync(),
            TenantId = tenant.TenantId,
            CreatedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
            Secret = draft.Secret.Length > 0 ? draft.Secret : NewSecret(),
        };
        await events.InsertWebhookAsync(WebhookStore.ToRow(hook));
        relay.Upsert(hook);
        // The limit again, in the tenant's turn: of concurrent creates, only as many as fit get in.
        if (!await tenant.UpdateWebhooksAsync(hooks => hooks.Count >= limit ? null : [.. hooks, hook]))
        {
            await events.DeleteWebhookAsync(tenant.TenantId, hook.Id);
            relay.Removed(hook.Id);
            return LimitReached(limit);
        }
        return hook;
    }

    private static AppError LimitReached(int limit) =>
        AppError.Conflict($"This tenant has reached its limit of {limit} webhook subscriptions.");

    public async Task<Webhook> UpdateAsync(ITenant tenant, Webhook hook)
    {
        await events.UpdateWebhookAsync(WebhookStore.ToRow(hook));
        relay.Upsert(hook);
        await tenant.UpdateWebhooksAsync(hooks => hooks.Select(h => h.Id == hook.Id ? hook : h));
        return hook;
    }

    public async Task DeleteAsync(ITenant tenant, IReadOnlyCollection<long> hookIds)
    {
        if (hookIds.Count == 0) return;
        // Matching stops first, so no outbox row for them is written after their rows are deleted.
        await tenant.UpdateWebhooksAsync(hooks => hooks.Where(h => !hookIds.Contains(h.Id)));
        foreach (var id in hookIds)
        {
            await events.DeleteWebhookAsync(tenant.TenantId, id);
            relay.Removed(id);
        }
    }

    /// <summary>A removed agent leaves every subscription's agent filter; a subscription that named only that agent
    /// (a dialect's per-agent events, or a native one filtered to it) is deleted, rather than widened to all agents.</summary>
    internal async Task RemoveAgentAsync(ITenant tenant, long agentId)
    {
        var named = tenant.Webhooks.Where(h => h.AgentIds.Contains(agentId)).ToList();
        await DeleteAsync(tenant, [.. named.Where(h => h.AgentIds.All(a => a == agentId)).Select(h => h.Id)]);
        foreach (var h in named.Where(h => h.AgentIds.Any(a => a != agentId)))
            await UpdateAsync(tenant, h with { AgentIds = [.. h.AgentIds.Where(a => a != agentId)] });
    }

    /// <summary>A subscription's deliveries, newest first, before <paramref name="beforeSeq"/>, optionally in one state.</summary>
    public async Task<IReadOnlyList<Delivery>> DeliveriesAsync(ITenant tenant, long webhookId, string? state, long beforeSeq, int limit) =>
        [.. (await events.ListDeliveriesAsync(webhookId, state, beforeSeq, limit)).Select(r => Delivery.From(tenant.TenantId, r))];

    public async Task<Delivery?> DeliveryAsync(ITenant tenant, long webhookId, long seq) =>
        await events.GetDeliveryAsync(webhookId, seq) is { } row ? Delivery.From(tenant.TenantId, row) : null;

    /// <summary>Every attempt of one delivery, oldest first.</summary>
    public async Task<IReadOnlyList<DeliveryAttempt>> AttemptsAsync(long webhookId, long seq) =>
        [.. (await events.ListAttemptsAsync(webhookId, seq)).Select(a => new DeliveryAttempt(a.Attempt, a.At, a.StatusCode, a.LatencyMs, a.Error))];

    /// <summary>Sends a delivered or dead delivery again; false while it is still pending.</summary>
    public Task<bool> RedeliverAsync(long webhookId, long seq) => relay.RedeliverAsync(webhookId, seq);

    private static string NewSecret() => "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
}

/// <summary>One event's delivery to one subscription (times in Unix ms; the next attempt only while pending).</summary>
public sealed record Delivery(long Seq, string EventId, string EventType, string State, long Attempts, long CreatedAt, long? NextAttemptAt,
    long? LastStatus, string? LastError, long? FinishedAt)
{
    public const string Pending = "pending";

    internal static Delivery From(long tenantId, DeliveryInfoRow r) => new(
        r.Seq, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{tenantId}-{r.Seq}"), r.Type, r.State, r.Attempts,
        r.CreatedAt, r.State == Pending ? r.NextAttemptAt : null, r.LastStatus, r.LastError, r.FinishedAt);
}

/// <summary>One HTTP attempt of a delivery (at: Unix ms; no status code when the request failed before an answer).</summary>
public sealed record DeliveryAttempt(long Attempt, long At, long? StatusCode, double LatencyMs, string? Error);

/// <summary>Engine ids are positive ints; an API id outside that range names nothing.</summary>
public static class EngineIds
{
    public static bool TryInt(long id, out int value)
    {
        value = id is > 0 and <= int.MaxValue ? (int)id : 0;
        return value > 0;
    }
}
