using System.Data.Common;
using Dapper;

namespace Lineup.Server.Storage;

public sealed record TenantRow(long Id, string Name, string TimeZone, long Seed, long CreatedAt);
public sealed record UserRow(long Id, long? TenantId, string Username, string PasswordHash, string Role, long? AgentId, long CreatedAt);
public sealed record SessionRow(string TokenHash, long UserId, string Kind, long ExpiresAt, long CreatedAt);
public sealed record ApiKeyRow(long Id, long TenantId, string Name, string KeyHash, string Prefix, string Role, long CreatedAt);
public sealed record CommandRow(long TenantId, long Seq, long At, string Body);
public sealed record CdrRow(long CallId, long TenantId, long QueueId, long? AgentId, long EnteredAt, long EndedAt, string Disposition, string Body);
public sealed record DailyStatsRow(long TenantId, long QueueId, string Day, string Body);

/// <summary>Everything Lineup keeps, as plain SQL over Dapper; the same statements run on SQLite and PostgreSQL.</summary>
public sealed partial class Store(Database db)
{
    private readonly SemaphoreSlim _idLock = new(1, 1);
    private long _nextId;
    private long _idLimit;
    private const int IdBlock = 64;

    public Database Database => db;

    /// <summary>A new id, unique across every tenant and kind (so another tenant's id is never valid here). Ids are
    /// reserved durably in blocks, so a crash skips some numbers but never reuses one.</summary>
    public async Task<long> NextIdAsync(CancellationToken ct = default)
    {
        await _idLock.WaitAsync(ct);
        try
        {
            if (_nextId >= _idLimit)
            {
                await using var c = await db.OpenAsync(ct);
                await using var tx = await c.BeginTransactionAsync(ct);
                await c.ExecuteAsync("INSERT INTO id_counters (name, next) VALUES ('id', 1) ON CONFLICT (name) DO NOTHING", transaction: tx);
                var limit = await c.ExecuteScalarAsync<long>(
                    "UPDATE id_counters SET next = next + @n WHERE name = 'id' RETURNING next", new { n = IdBlock }, tx);
                await tx.CommitAsync(ct);
                _idLimit = limit;
                _nextId = limit - IdBlock;
            }
            return _nextId++;
        }
        finally
        {
            _idLock.Release();
        }
    }

    // ---- tenants
    public async Task InsertTenantAsync(TenantRow t)
    {
        await using var c = await db.OpenAsync();
        await c.ExecuteAsync("INSERT INTO tenants (id, name, time_zone, seed, created_at) VALUES (@Id, @Name, @TimeZone, @Seed, @CreatedAt)", t);
    }

    public async Task<IReadOnlyList<TenantRow>> ListTenantsAsync()
    {
        await using var c = await db.OpenAsync();
        return (await c.QueryAsync<TenantRow>("SELECT id, name, time_zone AS TimeZone, seed, created_at AS CreatedAt FROM tenants ORDER BY id")).AsList();
    }

    public async Task UpdateTenantAsync(long id, string name, string timeZone)
    {
        await using var c = await db.OpenAsync();
        await c.ExecuteAsync("UPDATE tenants SET name = @name, time_zone = @timeZone WHERE id = @id", new { id, name, timeZone });
    }

    public async Task DeleteTenantAsync(long id)
    {
        await using var c = await db.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("DELETE FROM webhook_attempts WHERE webhook_id IN (SELECT id FROM webhooks WHERE tenant_id = @id)", new { id }, tx);
        foreach (var table in new[] { "commands", "cdrs", "queue_daily_stats", "api_keys", "events", "webhook_deliveries", "webhooks", "sip_credentials" })
            await c.ExecuteAsync($"DELETE FROM {table} WHERE tenant_id = @id", new { id }, tx);
        await c.ExecuteAsync("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE tenant_id = @id)", new { id }, tx);
        await c.ExecuteAsync("DELETE FROM users WHERE tenant_id = @id", new { id }, tx);
        await c.ExecuteAsync("DELETE FROM tenants WHERE id = @id", new { id }, tx);
        await tx.CommitAsync();
    }

    // ---- users
    private const string UserColumns = "id, tenant_id AS TenantId, username, password_hash AS PasswordHash, role, agent_id AS AgentId, created_at AS CreatedAt";

    public async Task InsertUserAsync(UserRow u)
    {
        await using var c = await db.OpenAsync();
        await c.ExecuteAsync(
            "INSERT INTO users (id, tenant_id, username, password_hash, role, agent_id, created_at) VALUES (@Id, @TenantId, @Username, @PasswordHash, @Role, @AgentId, @CreatedAt)", u);
    }

    public async Task<UserRow?> FindUserAsync(long? tenantId, string username)
    {
        await using var c = await db.OpenAsync();
        return tenantId is { } t
            ? await c.QuerySingleOrDefaultAsync<UserRow>($"SELECT {UserColumns} FROM users WHERE tenant_id = @t AND username = @username", new { t, username })
            : await c.QuerySingleOrDefaultAsync<UserRow>($"SELECT {UserColumns} FROM users WHERE tenant_id IS NULL AND username = @username", new { username });
    }

    public async Task<UserRow?> GetUserAsync(long id)
    {
        await using var c = await db.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<UserRow>($"SELECT {UserColumns} FROM users WHERE id = @id", new { id });
    }

    public async Task<IReadOnlyList<UserRow>> ListUsersAsync(long tenantId, long afterId, int limit)
    {
        await using var c = await db.OpenAsync();
        return (await c.QueryAsync<UserRow>(
            $"SELECT {UserColumns} FROM users WHERE tenant_id = @tenantId AND id > @afterId ORDER BY id LIMIT @limit",
            new { tenantId, afterId, limit })).AsList();
    }

    /// <summary>Updates the user; with <paramref name="revokeSessions"/> (a new password) every session of the
    /// user ends in the same transaction, so a stolen token does not outlive a password change.</summary>
    public async Task UpdateUserAsync(UserRow u, bool revokeSessions = false)
    {
        await using var c = await db.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("UPDATE users SET password_hash = @PasswordHash, role = @Role, agent_id = @AgentId WHERE id = @Id", u, tx);
        if (revokeSessions) await c.ExecuteAsync("DELETE FROM sessions WHERE user_id = @Id", new { u.Id }, tx);
        await tx.CommitAsync();
    }

    public async Task DeleteUserAsync(long id)
    {
        await using var c = await db.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("DELETE FROM sessions WHERE user_id = @id", new { id }, tx);
        await c.ExecuteAsync("DELETE FROM users WHERE id = @id", new { id }, tx);
        await tx.CommitAsync();
    }

    // ---- sessions and API keys
    public async Task InsertSessionsAsync(params SessionRow[] rows)
    {
        await using var c = await db.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("INSERT INTO sessions (token_hash, user_id, kind, expires_at, created_at) VALUES (@TokenHash, @UserId, @Kind, @ExpiresAt, @CreatedAt)", rows, tx);
        await tx.CommitAsync();
    }

    public async Task<SessionRow?> GetSessionAsync(string tokenHash)
    {
        await using var c = await db.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<SessionRow>(
            "SELECT token_hash AS TokenHash, user_id AS UserId, kind, expires_at AS ExpiresAt, created_at AS CreatedAt FROM sessions WHERE token_hash = @tokenHash", new { tokenHash });
    }

    public async Task DeleteSessionsAsync(params string[] tokenHashes)
    {
        await using var c = await db.OpenAsync();
        foreach (var h in tokenHashes) await c.ExecuteAsync("DELETE FROM sessions WHERE token_hash = @h", new { h });
    }

    private const string ApiKeyColumns = "id, tenant_id AS TenantId, name, key_hash AS KeyHash, prefix, role, created_at AS CreatedAt";

    public async Task InsertApiKeyAsync(ApiKeyRow k)
    {
        await using var c = await db.OpenAsync();
        await c.ExecuteAsync("INSERT INTO api_keys (id, tenant_id, name, key_hash, prefix, role, created_at) VALUES (@Id, @TenantId, @Name, @KeyHash, @Prefix, @Role, @CreatedAt)", k);
    }

    public async Task<ApiKeyRow?> FindApiKeyAsync(string keyHash)
    {
        await using var c = await db.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<ApiKeyRow>($"SELECT {ApiKeyColumns} FROM api_keys WHERE key_hash = @keyHash", new { keyHash });
    }

    public async Task<IReadOnlyList<ApiKeyRow>> ListApiKeysAsync(long tenantId, long afterId, int limit)
    {
        await using var c = await db.OpenAsync();
        return (await c.QueryAsync<ApiKeyRow>($"SELECT {ApiKeyColumns} FROM api_keys WHERE tenant_id = @tenantId AND id > @afterId ORDER BY id LIMIT @limit",
            new { tenantId, afterId, limit })).AsList();
    }

    public async Task<bool> DeleteApiKeyAsync(long tenantId, long id)
    {
        await using var c = await db.OpenAsync();
        return await c.ExecuteAsync("DELETE FROM api_keys WHERE tenant_id = @tenantId AND id = @id", new { tenantId, id }) > 0;
    }

    // ---- the engine's command log, CDRs and daily statistics: written together, in one transaction per batch
    public Task CommitBatchAsync(IReadOnlyList<CommandRow> commands, IReadOnlyList<CdrRow> cdrs, IReadOnlyList<DailyStatsRow> stats, CancellationToken ct = default) =>
        CommitBatchAsync(commands, cdrs, stats, [], [], ct);

    /// <summary>One batch of the tenant host: commands, CDRs, statistics, the events they caused and the webhook
    /// outbox rows for those events, all or nothing.</summary>
    public async Task CommitBatchAsync(IReadOnlyList<CommandRow> commands, IReadOnlyList<CdrRow> cdrs, IReadOnlyList<DailyStatsRow> stats,
        IReadOnlyList<EventRow> events, IReadOnlyList<DeliveryRow> deliveries, CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        if (db.Kind == DatabaseKind.Postgres)
        {
            await CommitPostgresRowsAsync(c, tx, commands, cdrs, stats);
            await InsertEventsPostgresAsync(c, tx, events, deliveries);
            await tx.CommitAsync(ct);
            return;
        }
        await InsertEventsAsync(c, tx, events, deliveries);
        if (commands.Count > 0)
            await c.ExecuteAsync("INSERT INTO commands (tenant_id, seq, at, body) VALUES (@TenantId, @Seq, @At, @Body)", commands, tx);
        if (cdrs.Count > 0) await InsertCdrsAsync(c, tx, cdrs);
        if (stats.Count > 0)
            await c.ExecuteAsync(
                "INSERT INTO queue_daily_stats (tenant_id, queue_id, day, body) VALUES (@TenantId, @QueueId, @Day, @Body) ON CONFLICT (tenant_id, queue_id, day) DO UPDATE SET body = excluded.body",
                stats, tx);
        await tx.CommitAsync(ct);
    }

    /// <summary>The batch's rows as one multi-row statement per table (arrays through unnest): a list of parameter
    /// objects makes Dapper run one statement, so one network round trip, per row, and on PostgreSQL those round
    /// trips were most of a commit (bench/server: ~30 commands per batch took 15-30 ms, ~7 ms this way).</summary>
    private static async Task CommitPostgresRowsAsync(DbConnection c, DbTransaction tx, IReadOnlyList<CommandRow> commands, IReadOnlyList<CdrRow> cdrs, IReadOnlyList<DailyStatsRow> stats)
    {
        if (commands.Count > 0)
            await c.ExecuteAsync(
                "INSERT INTO commands (tenant_id, seq, at, body) SELECT * FROM unnest(@tenant, @seq, @at, @body)",
                new
                {
                    tenant = commands.Select(r => r.TenantId).ToArray(),
                    seq = commands.Select(r => r.Seq).ToArray(),
                    at = commands.Select(r => r.At).ToArray(),
                    body = commands.Select(r => r.Body).ToArray(),
                }, tx);
        if (cdrs.Count > 0)
            await c.ExecuteAsync(
                "INSERT INTO cdrs (call_id, tenant_id, queue_id, agent_id, entered_at, ended_at, disposition, body)"
                + " SELECT * FROM unnest(@call, @tenant, @queue, @agent, @entered, @ended, @disposition, @body) ON CONFLICT (call_id) DO NOTHING",
                new
                {
                    call = cdrs.Select(r => r.CallId).ToArray(),
                    tenant = cdrs.Select(r => r.TenantId).ToArray(),
                    queue = cdrs.Select(r => r.QueueId).ToArray(),
                    agent = cdrs.Select(r => r.AgentId).ToArray(),
                    entered = cdrs.Select(r => r.EnteredAt).ToArray(),
                    ended = cdrs.Select(r => r.EndedAt).ToArray(),
                    disposition = cdrs.Select(r => r.Disposition).ToArray(),
                    body = cdrs.Select(r => r.Body).ToArray(),
                }, tx);
        if (stats.Count > 0)
            await c.ExecuteAsync(
                "INSERT INTO queue_daily_stats (tenant_id, queue_id, day, body) SELECT * FROM unnest(@tenant, @queue, @day, @body)"
                + " ON CONFLICT (tenant_id, queue_id, day) DO UPDATE SET body = excluded.body",
                new
                {
                    tenant = stats.Select(r => r.TenantId).ToArray(),
                    queue = stats.Select(r => r.QueueId).ToArray(),
                    day = stats.Select(r => r.Day).ToArray(),
                    body = stats.Select(r => r.Body).ToArray(),
                }, tx);
    }

    public async Task InsertCdrsAsync(IReadOnlyList<CdrRow> cdrs, CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await InsertCdrsAsync(c, tx, cdrs);
        await tx.CommitAsync(ct);
    }

    private static Task InsertCdrsAsync(DbConnection c, DbTransaction tx, IReadOnlyList<CdrRow> cdrs) =>
        c.ExecuteAsync(
            "INSERT INTO cdrs (call_id, tenant_id, queue_id, agent_id, entered_at, ended_at, disposition, body) VALUES (@CallId, @TenantId, @QueueId, @AgentId, @EnteredAt, @EndedAt, @Disposition, @Body) ON CONFLICT (call_id) DO NOTHING",
            cdrs, tx);

    public async IAsyncEnumerable<CommandRow> ReadCommandsAsync(long tenantId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        await using var reader = await c.ExecuteReaderAsync("SELECT tenant_id, seq, at, body FROM commands WHERE tenant_id = @tenantId ORDER BY seq", new { tenantId });
        while (await reader.ReadAsync(ct))
            yield return new CommandRow(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3));
    }

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
        })).AsList();
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
