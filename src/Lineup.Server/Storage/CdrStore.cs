using System.Data.Common;
using Dapper;

namespace Lineup.Server.Storage;

public sealed record CdrRow(long CallId, long TenantId, long QueueId, long? AgentId, long EnteredAt, long EndedAt, string Disposition, string Body);
public sealed record DailyStatsRow(long TenantId, long QueueId, string Day, string Body);

/// <summary>Reports: call detail records and queues' daily statistics (written by <see cref="CommandLog"/>).</summary>
public sealed class CdrStore(Database db)
{
    internal static Task InsertCdrsAsync(DbConnection c, DbTransaction tx, IReadOnlyList<CdrRow> cdrs) =>
        c.ExecuteAsync(
            "INSERT INTO cdrs (call_id, tenant_id, queue_id, agent_id, entered_at, ended_at, disposition, body) VALUES (@CallId, @TenantId, @QueueId, @AgentId, @EnteredAt, @EndedAt, @Disposition, @Body) ON CONFLICT (call_id) DO NOTHING",
            cdrs, tx);

    public async Task<IReadOnlyList<CdrRow>> QueryCdrsAsync(long tenantId, long from, long to, long? queueId, long? agentId,
        (long EndedAt, long CallId)? after, int limit)
    {
        await using var c = await db.OpenAsync();
        var sql = "SELECT call_id AS CallId, tenant_id AS TenantId, queue_id AS QueueId, agent_id AS AgentId, entered_at AS EnteredAt, ended_at AS EndedAt, disposition, body FROM cdrs"
            + " WHERE tenant_id = @tenantId AND ended_at >= @from AND ended_at < @to"
            + (queueId != null ? " AND queue_id = @queueId" : "")
            + (agentId != null ? " AND agent_id = @agentId" : "")
            + (after != null ? " AND (ended_at > @afterEnded OR (ended_at = @afterEnded AND call_id > @afterCall))" : "")
            + " ORDER BY ended_at, call_id LIMIT @limit";
        return (await c.QueryAsync<CdrRow>(sql, new
        {
            tenantId,
            from,
            to,
            queueId,
            agentId,
            afterEnded = after?.EndedAt ?? 0,
            afterCall = after?.CallId ?? 0,
            limit,
        })).ToList();
    }

    public async Task<string?> GetCdrAsync(long tenantId, long callId)
    {
        await using var c = await db.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<string>("SELECT body FROM cdrs WHERE tenant_id = @tenantId AND call_id = @callId", new { tenantId, callId });
    }

    public async Task<string?> GetDailyStatsAsync(long tenantId, long queueId, string day)
    {
        await using var c = await db.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<string>(
            "SELECT body FROM queue_daily_stats WHERE tenant_id = @tenantId AND queue_id = @queueId AND day = @day", new { tenantId, queueId, day });
    }
}
