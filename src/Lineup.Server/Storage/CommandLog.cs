using Dapper;
using Npgsql;

namespace Lineup.Server.Storage;

public sealed record CommandRow(long TenantId, long Seq, long At, string Body);

/// <summary>The tenants' command logs, written in one transaction per batch together with what the batch produced
/// (CDRs, daily statistics, events and their outbox rows), behind the tenant's fence.</summary>
public sealed class CommandLog(Database db)
{
    /// <summary>One batch of the tenant host: commands, CDRs, statistics, the events they caused and the webhook
    /// outbox rows for those events, all or nothing, and only while <paramref name="fence"/> holds: otherwise it fails
    /// with <see cref="TenantFencedException"/> and stores nothing.</summary>
    public async Task CommitBatchAsync(Fence fence, IReadOnlyList<CommandRow> commands, IReadOnlyList<CdrRow> cdrs, IReadOnlyList<DailyStatsRow> stats,
        IReadOnlyList<EventRow> events, IReadOnlyList<DeliveryRow> deliveries, CancellationToken ct = default)
    {
        if (db.Kind == DatabaseKind.Postgres)
        {
            await CommitPostgresAsync(fence, commands, cdrs, stats, events, deliveries, ct);
            return;
        }
        await using var c = await db.OpenAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await LeaseStore.CheckAsync(c, tx, db.Kind, fence);
        await EventStore.InsertEventsAsync(c, tx, events, deliveries);
        if (commands.Count > 0)
            await c.ExecuteAsync("INSERT INTO commands (tenant_id, seq, at, body) VALUES (@TenantId, @Seq, @At, @Body)", commands, tx);
        if (cdrs.Count > 0) await CdrStore.InsertCdrsAsync(c, tx, cdrs);
        if (stats.Count > 0)
            await c.ExecuteAsync(
                "INSERT INTO queue_daily_stats (tenant_id, queue_id, day, body) VALUES (@TenantId, @QueueId, @Day, @Body) ON CONFLICT (tenant_id, queue_id, day) DO UPDATE SET body = excluded.body",
                stats, tx);
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// The batch as one round trip: the fence and one multi-row statement per table (arrays through unnest) sent
    /// together as one <see cref="NpgsqlBatch"/>, which PostgreSQL runs as one implicit transaction (any failure rolls
    /// all of it back). Row by row, Dapper made one round trip per row and that was most of a commit (bench/server:
    /// ~30 commands per batch took 15-30 ms); one statement per table but each its own round trip, plus BEGIN and
    /// COMMIT, made seven, and the tail of the 2,000 writes/s benchmark was a few of those commits long.
    /// </summary>
    private async Task CommitPostgresAsync(Fence fence, IReadOnlyList<CommandRow> commands, IReadOnlyList<CdrRow> cdrs, IReadOnlyList<DailyStatsRow> stats,
        IReadOnlyList<EventRow> events, IReadOnlyList<DeliveryRow> deliveries, CancellationToken ct)
    {
        await using var c = (NpgsqlConnection)await db.OpenAsync(ct);
        await using var batch = new NpgsqlBatch(c);
        var list = batch.BatchCommands;
        list.Add(Statement("SELECT lineup_fence($1, $2)", fence.TenantId, fence.Epoch));
        if (commands.Count > 0)
            list.Add(Statement("INSERT INTO commands (tenant_id, seq, at, body) SELECT * FROM unnest($1, $2, $3, $4)",
                commands.Select(r => r.TenantId).ToArray(), commands.Select(r => r.Seq).ToArray(), commands.Select(r => r.At).ToArray(),
                commands.Select(r => r.Body).ToArray()));
        if (cdrs.Count > 0) list.Add(InsertCdrs(cdrs));
        if (stats.Count > 0)
            list.Add(Statement(
                "INSERT INTO queue_daily_stats (tenant_id, queue_id, day, body) SELECT * FROM unnest($1, $2, $3, $4)"
                + " ON CONFLICT (tenant_id, queue_id, day) DO UPDATE SET body = excluded.body",
                stats.Select(r => r.TenantId).ToArray(), stats.Select(r => r.QueueId).ToArray(), stats.Select(r => r.Day).ToArray(),
                stats.Select(r => r.Body).ToArray()));
        if (events.Count > 0)
            list.Add(Statement(
                "INSERT INTO events (tenant_id, seq, at, type, queue_id, agent_id, call_id, body) SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8)",
                events.Select(e => e.TenantId).ToArray(), events.Select(e => e.Seq).ToArray(), events.Select(e => e.At).ToArray(),
                events.Select(e => e.Type).ToArray(), events.Select(e => e.QueueId).ToArray(), events.Select(e => e.AgentId).ToArray(),
                events.Select(e => e.CallId).ToArray(), events.Select(e => e.Body).ToArray()));
        if (deliveries.Count > 0)
            list.Add(Statement(
                "INSERT INTO webhook_deliveries (webhook_id, seq, tenant_id, ordering_key, state, attempts, next_attempt_at, created_at)"
                + " SELECT w, s, t, k, 'pending', 0, a, a FROM unnest($1, $2, $3, $4, $5) AS u(w, s, t, k, a)",
                deliveries.Select(d => d.WebhookId).ToArray(), deliveries.Select(d => d.Seq).ToArray(), deliveries.Select(d => d.TenantId).ToArray(),
                deliveries.Select(d => d.OrderingKey).ToArray(), deliveries.Select(d => d.CreatedAt).ToArray()));
        try
        {
            await batch.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException ex) when (ex.SqlState == LeaseStore.FencedSqlState)
        {
            throw new TenantFencedException(fence.TenantId, fence.Epoch, ex);
        }
    }

    private static NpgsqlBatchCommand InsertCdrs(IReadOnlyList<CdrRow> cdrs) => Statement(
        "INSERT INTO cdrs (call_id, tenant_id, queue_id, agent_id, entered_at, ended_at, disposition, body)"
        + " SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (call_id) DO NOTHING",
        cdrs.Select(r => r.CallId).ToArray(), cdrs.Select(r => r.TenantId).ToArray(), cdrs.Select(r => r.QueueId).ToArray(),
        cdrs.Select(r => r.AgentId).ToArray(), cdrs.Select(r => r.EnteredAt).ToArray(), cdrs.Select(r => r.EndedAt).ToArray(),
        cdrs.Select(r => r.Disposition).ToArray(), cdrs.Select(r => r.Body).ToArray());

    private static NpgsqlBatchCommand Statement(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var v in values) command.Parameters.Add(new NpgsqlParameter { Value = v });
        return command;
    }

    /// <summary>CDRs a replay derived (most of them stored already: those are left alone), on PostgreSQL in one
    /// statement: a tenant's start replays up to a snapshot interval of commands, and row by row their CDRs were a
    /// round trip each.</summary>
    public async Task InsertCdrsAsync(IReadOnlyList<CdrRow> cdrs, CancellationToken ct = default)
    {
        if (db.Kind == DatabaseKind.Postgres)
        {
            await using var pg = (NpgsqlConnection)await db.OpenAsync(ct);
            await using var batch = new NpgsqlBatch(pg) { BatchCommands = { InsertCdrs(cdrs) } };
            await batch.ExecuteNonQueryAsync(ct);
            return;
        }
        await using var c = await db.OpenAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await CdrStore.InsertCdrsAsync(c, tx, cdrs);
        await tx.CommitAsync(ct);
    }

    /// <summary>The tenant's commands after <paramref name="afterSeq"/>, in order.</summary>
    public async IAsyncEnumerable<CommandRow> ReadCommandsAsync(long tenantId, long afterSeq = 0, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        await using var command = c.CreateCommand();
        command.CommandText = "SELECT tenant_id, seq, at, body FROM commands WHERE tenant_id = @tenantId AND seq > @afterSeq ORDER BY seq";
        command.AddParameter("tenantId", tenantId);
        command.AddParameter("afterSeq", afterSeq);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            yield return new CommandRow(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3));
    }
}
