using System.Data.Common;
using Dapper;

namespace Lineup.Server.Storage;

public sealed record EventRow(long TenantId, long Seq, long At, string Type, long? QueueId, long? AgentId, long? CallId, string Body);
public sealed record WebhookRow(long Id, long TenantId, string Body, long CreatedAt);
public sealed record DeliveryRow(long WebhookId, long Seq, long TenantId, string OrderingKey, long CreatedAt);

/// <summary>A delivery as the relay loads it: the outbox row with its event.</summary>
public sealed record PendingDeliveryRow(long WebhookId, long Seq, long TenantId, string OrderingKey, long Attempts, long NextAttemptAt,
    long CreatedAt, long At, string Type, long? QueueId, long? AgentId, long? CallId, string Body);

/// <summary>A delivery's state after an attempt (or a redeliver), and the attempt itself when there was one.</summary>
public sealed record DeliveryUpdate(long WebhookId, long Seq, string State, long Attempts, long NextAttemptAt, long? LastStatus,
    string? LastError, long? FinishedAt, AttemptRow? Attempt);

public sealed record AttemptRow(long WebhookId, long Seq, long Attempt, long At, long? StatusCode, double LatencyMs, string? Error);

public sealed record DeliveryInfoRow(long WebhookId, long Seq, string Type, string State, long Attempts, long NextAttemptAt, long CreatedAt,
    long? LastStatus, string? LastError, long? FinishedAt);

/// <summary>Events and their webhook outbox: the stored events, the subscriptions, deliveries and attempts.</summary>
public sealed class EventStore(Database db)
{
    internal static async Task InsertEventsAsync(DbConnection c, DbTransaction tx, IReadOnlyList<EventRow> events, IReadOnlyList<DeliveryRow> deliveries)
    {
        if (events.Count > 0)
            await c.ExecuteAsync(
                "INSERT INTO events (tenant_id, seq, at, type, queue_id, agent_id, call_id, body) VALUES (@TenantId, @Seq, @At, @Type, @QueueId, @AgentId, @CallId, @Body)",
                events, tx);
        if (deliveries.Count > 0)
            await c.ExecuteAsync(
                "INSERT INTO webhook_deliveries (webhook_id, seq, tenant_id, ordering_key, state, attempts, next_attempt_at, created_at)"
                + " VALUES (@WebhookId, @Seq, @TenantId, @OrderingKey, 'pending', 0, @CreatedAt, @CreatedAt)",
                deliveries, tx);
    }

    private const string EventColumns = "tenant_id AS TenantId, seq, at, type, queue_id AS QueueId, agent_id AS AgentId, call_id AS CallId, body";

    public async Task<long> MaxEventSeqAsync(long tenantId)
    {
        await using var c = await db.OpenAsync();
        return await c.ExecuteScalarAsync<long?>("SELECT MAX(seq) FROM events WHERE tenant_id = @tenantId", new { tenantId }) ?? 0;
    }

    public async Task<EventRow?> EventAsync(long tenantId, long seq)
    {
        await using var c = await db.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<EventRow>($"SELECT {EventColumns} FROM events WHERE tenant_id = @tenantId AND seq = @seq", new { tenantId, seq });
    }

    /// <summary>The newest <paramref name="limit"/> events of a tenant, oldest first.</summary>
    public async Task<IReadOnlyList<EventRow>> RecentEventsAsync(long tenantId, int limit)
    {
        await using var c = await db.OpenAsync();
        var rows = (await c.QueryAsync<EventRow>(
            $"SELECT {EventColumns} FROM events WHERE tenant_id = @tenantId ORDER BY seq DESC LIMIT @limit", new { tenantId, limit })).ToList();
        rows.Reverse();
        return rows;
    }

    // ---- webhook subscriptions
    public async Task InsertWebhookAsync(WebhookRow w)
    {
        await using var c = await db.OpenAsync();
        await c.ExecuteAsync("INSERT INTO webhooks (id, tenant_id, body, created_at) VALUES (@Id, @TenantId, @Body, @CreatedAt)", w);
    }

    public async Task UpdateWebhookAsync(WebhookRow w)
    {
        await using var c = await db.OpenAsync();
        await c.ExecuteAsync("UPDATE webhooks SET body = @Body WHERE id = @Id AND tenant_id = @TenantId", w);
    }

    /// <summary>Removes a subscription with its outbox rows and delivery log.</summary>
    public async Task<bool> DeleteWebhookAsync(long tenantId, long id)
    {
        await using var c = await db.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        var deleted = await c.ExecuteAsync("DELETE FROM webhooks WHERE id = @id AND tenant_id = @tenantId", new { id, tenantId }, tx);
        if (deleted > 0)
        {
            await c.ExecuteAsync("DELETE FROM webhook_deliveries WHERE webhook_id = @id", new { id }, tx);
            await c.ExecuteAsync("DELETE FROM webhook_attempts WHERE webhook_id = @id", new { id }, tx);
        }
        await tx.CommitAsync();
        return deleted > 0;
    }

    public async Task<IReadOnlyList<WebhookRow>> ListWebhooksAsync(long? tenantId)
    {
        await using var c = await db.OpenAsync();
        return (await c.QueryAsync<WebhookRow>(
            "SELECT id, tenant_id AS TenantId, body, created_at AS CreatedAt FROM webhooks WHERE (@tenantId IS NULL OR tenant_id = @tenantId) ORDER BY id",
            new { tenantId })).ToList();
    }

    // ---- the outbox, as the relay and the delivery log see it
    /// <summary>Pending deliveries of a subscription after <paramref name="afterSeq"/>, in order, with their events.</summary>
    public async Task<IReadOnlyList<PendingDeliveryRow>> PendingDeliveriesAsync(long webhookId, long afterSeq, int limit)
    {
        await using var c = await db.OpenAsync();
        return (await c.QueryAsync<PendingDeliveryRow>(
            "SELECT d.webhook_id AS WebhookId, d.seq, d.tenant_id AS TenantId, d.ordering_key AS OrderingKey, d.attempts, d.next_attempt_at AS NextAttemptAt,"
            + " d.created_at AS CreatedAt, e.at, e.type, e.queue_id AS QueueId, e.agent_id AS AgentId, e.call_id AS CallId, e.body"
            + " FROM webhook_deliveries d JOIN events e ON e.tenant_id = d.tenant_id AND e.seq = d.seq"
            + " WHERE d.webhook_id = @webhookId AND d.state = 'pending' AND d.seq > @afterSeq ORDER BY d.seq LIMIT @limit",
            new { webhookId, afterSeq, limit })).ToList();
    }

    /// <summary>Writes the relay's results of one flush in one transaction.</summary>
    public async Task ApplyDeliveryUpdatesAsync(IReadOnlyList<DeliveryUpdate> updates, CancellationToken ct = default)
    {
        if (updates.Count == 0) return;
        await using var c = await db.OpenAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var attempts = updates.Where(u => u.Attempt != null).Select(u => u.Attempt!).ToList();
        if (db.Kind == DatabaseKind.Postgres)
        {
            await c.ExecuteAsync(
                "UPDATE webhook_deliveries d SET state = u.state, attempts = u.attempts, next_attempt_at = u.next, last_status = u.status,"
                + " last_error = u.error, finished_at = u.finished"
                + " FROM unnest(@webhook, @seq, @state, @attempts, @next, @status, @error, @finished) AS u(webhook, seq, state, attempts, next, status, error, finished)"
                + " WHERE d.webhook_id = u.webhook AND d.seq = u.seq",
                new
                {
                    webhook = updates.Select(u => u.WebhookId).ToArray(),
                    seq = updates.Select(u => u.Seq).ToArray(),
                    state = updates.Select(u => u.State).ToArray(),
                    attempts = updates.Select(u => u.Attempts).ToArray(),
                    next = updates.Select(u => u.NextAttemptAt).ToArray(),
                    status = updates.Select(u => u.LastStatus).ToArray(),
                    error = updates.Select(u => u.LastError).ToArray(),
                    finished = updates.Select(u => u.FinishedAt).ToArray(),
                }, tx);
            if (attempts.Count > 0)
                await c.ExecuteAsync(
                    "INSERT INTO webhook_attempts (webhook_id, seq, attempt, at, status_code, latency_ms, error)"
                    + " SELECT * FROM unnest(@webhook, @seq, @attempt, @at, @status, @latency, @error) ON CONFLICT DO NOTHING",
                    new
                    {
                        webhook = attempts.Select(a => a.WebhookId).ToArray(),
                        seq = attempts.Select(a => a.Seq).ToArray(),
                        attempt = attempts.Select(a => a.Attempt).ToArray(),
                        at = attempts.Select(a => a.At).ToArray(),
                        status = attempts.Select(a => a.StatusCode).ToArray(),
                        latency = attempts.Select(a => a.LatencyMs).ToArray(),
                        error = attempts.Select(a => a.Error).ToArray(),
                    }, tx);
        }
        else
        {
            await c.ExecuteAsync(
                "UPDATE webhook_deliveries SET state = @State, attempts = @Attempts, next_attempt_at = @NextAttemptAt, last_status = @LastStatus,"
                + " last_error = @LastError, finished_at = @FinishedAt WHERE webhook_id = @WebhookId AND seq = @Seq",
                updates, tx);
            if (attempts.Count > 0)
                await c.ExecuteAsync(
                    "INSERT INTO webhook_attempts (webhook_id, seq, attempt, at, status_code, latency_ms, error)"
                    + " VALUES (@WebhookId, @Seq, @Attempt, @At, @StatusCode, @LatencyMs, @Error) ON CONFLICT DO NOTHING",
                    attempts, tx);
        }
        await tx.CommitAsync(ct);
    }

    private const string DeliveryInfoColumns =
        "d.webhook_id AS WebhookId, d.seq, e.type, d.state, d.attempts, d.next_attempt_at AS NextAttemptAt, d.created_at AS CreatedAt,"
        + " d.last_status AS LastStatus, d.last_error AS LastError, d.finished_at AS FinishedAt";

    /// <summary>A subscription's deliveries, newest first, optionally in one state.</summary>
    public async Task<IReadOnlyList<DeliveryInfoRow>> ListDeliveriesAsync(long webhookId, string? state, long beforeSeq, int limit)
    {
        await using var c = await db.OpenAsync();
        return (await c.QueryAsync<DeliveryInfoRow>(
            $"SELECT {DeliveryInfoColumns} FROM webhook_deliveries d JOIN events e ON e.tenant_id = d.tenant_id AND e.seq = d.seq"
            + " WHERE d.webhook_id = @webhookId AND (@state IS NULL OR d.state = @state) AND d.seq < @beforeSeq ORDER BY d.seq DESC LIMIT @limit",
            new { webhookId, state, beforeSeq, limit })).ToList();
    }

    public async Task<DeliveryInfoRow?> GetDeliveryAsync(long webhookId, long seq)
    {
        await using var c = await db.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<DeliveryInfoRow>(
            $"SELECT {DeliveryInfoColumns} FROM webhook_deliveries d JOIN events e ON e.tenant_id = d.tenant_id AND e.seq = d.seq"
            + " WHERE d.webhook_id = @webhookId AND d.seq = @seq", new { webhookId, seq });
    }

    public async Task<IReadOnlyList<AttemptRow>> ListAttemptsAsync(long webhookId, long seq)
    {
        await using var c = await db.OpenAsync();
        return (await c.QueryAsync<AttemptRow>(
            "SELECT webhook_id AS WebhookId, seq, attempt, at, status_code AS StatusCode, latency_ms AS LatencyMs, error FROM webhook_attempts"
            + " WHERE webhook_id = @webhookId AND seq = @seq ORDER BY attempt", new { webhookId, seq })).ToList();
    }

    /// <summary>Forgets delivered and dead deliveries finished before <paramref name="before"/>, their attempts, and
    /// events older than that which no pending delivery needs.</summary>
    public async Task PruneAsync(long before, CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await c.ExecuteAsync(
            "DELETE FROM webhook_attempts WHERE EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = webhook_attempts.webhook_id"
            + " AND d.seq = webhook_attempts.seq AND d.state <> 'pending' AND d.finished_at < @before)", new { before }, tx);
        await c.ExecuteAsync("DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < @before", new { before }, tx);
        await c.ExecuteAsync(
            "DELETE FROM events WHERE at < @before AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.tenant_id = events.tenant_id AND d.seq = events.seq)"
            // The newest event of a tenant stays: it carries the tenant's event sequence across restarts.
            + " AND seq < (SELECT MAX(e2.seq) FROM events e2 WHERE e2.tenant_id = events.tenant_id)",
            new { before }, tx);
        await tx.CommitAsync(ct);
    }
}
