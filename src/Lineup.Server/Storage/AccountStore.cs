using Dapper;

namespace Lineup.Server.Storage;

public sealed record TenantRow(long Id, string Name, string TimeZone, long Seed, long CreatedAt);
public sealed record UserRow(long Id, long? TenantId, string Username, string PasswordHash, string Role, long? AgentId, long CreatedAt);
public sealed record SessionRow(string TokenHash, long UserId, string Kind, long ExpiresAt, long CreatedAt);
public sealed record ApiKeyRow(long Id, long TenantId, string Name, string KeyHash, string Prefix, string Role, long CreatedAt);

/// <summary>Accounts: tenants, their users, sessions and API keys.</summary>
public sealed class AccountStore(Database db)
{
    // ---- tenants
    public async Task InsertTenantAsync(TenantRow t)
    {
        await using var c = await db.OpenAsync();
        await c.ExecuteAsync("INSERT INTO tenants (id, name, time_zone, seed, created_at) VALUES (@Id, @Name, @TimeZone, @Seed, @CreatedAt)", t);
    }

    public async Task<IReadOnlyList<TenantRow>> ListTenantsAsync()
    {
        await using var c = await db.OpenAsync();
        return (await c.QueryAsync<TenantRow>("SELECT id, name, time_zone AS TimeZone, seed, created_at AS CreatedAt FROM tenants ORDER BY id")).ToList();
    }

    public async Task<TenantRow?> GetTenantAsync(long id)
    {
        await using var c = await db.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<TenantRow>("SELECT id, name, time_zone AS TimeZone, seed, created_at AS CreatedAt FROM tenants WHERE id = @id", new { id });
    }

    public async Task<TenantRow?> FindTenantAsync(string name)
    {
        await using var c = await db.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<TenantRow>("SELECT id, name, time_zone AS TimeZone, seed, created_at AS CreatedAt FROM tenants WHERE name = @name", new { name });
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
        foreach (var table in new[] { "commands", "cdrs", "queue_daily_stats", "api_keys", "events", "webhook_deliveries", "webhooks", "sip_credentials", "tenant_snapshots", "tenant_leases" })
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
            new { tenantId, afterId, limit })).ToList();
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

    /// <summary>Unbinds the users bound to a removed agent, in one transaction: agent users (who act only as that agent)
    /// are deleted with their sessions, the others keep their accounts without an agent. Returns the users changed.</summary>
    [BindTupleByName(false)] // the columns bind by position
    public async Task<IReadOnlyList<long>> DetachAgentAsync(long tenantId, long agentId)
    {
        await using var c = await db.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        var users = (await c.QueryAsync<(long Id, string Role)>(
            "SELECT id, role FROM users WHERE tenant_id = @tenantId AND agent_id = @agentId", new { tenantId, agentId }, tx)).ToList();
        foreach (var (id, role) in users)
        {
            if (role == "Agent")
            {
                await c.ExecuteAsync("DELETE FROM sessions WHERE user_id = @id", new { id }, tx);
                await c.ExecuteAsync("DELETE FROM users WHERE id = @id", new { id }, tx);
            }
            else
            {
                await c.ExecuteAsync("UPDATE users SET agent_id = NULL WHERE id = @id", new { id }, tx);
            }
        }
        await tx.CommitAsync();
        return [.. users.Select(u => u.Id)];
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
            new { tenantId, afterId, limit })).ToList();
    }

    public async Task<bool> DeleteApiKeyAsync(long tenantId, long id)
    {
        await using var c = await db.OpenAsync();
        return await c.ExecuteAsync("DELETE FROM api_keys WHERE tenant_id = @tenantId AND id = @id", new { tenantId, id }) > 0;
    }
}
