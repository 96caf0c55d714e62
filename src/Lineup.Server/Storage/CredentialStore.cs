using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Lineup.Server.Storage;

/// <summary>An agent's SIP digest credential as stored (migration 0004_sip): HA1 hashes, never the password.</summary>
public sealed record SipCredentialRow(long TenantId, long AgentId, string Username, string Realm, string Ha1Md5, string Ha1Sha256, long UpdatedAt);

/// <summary>Agents' SIP digest credentials.</summary>
public sealed class CredentialStore(Database db)
{
    private const string SipColumns =
        "tenant_id AS TenantId, agent_id AS AgentId, username, realm, ha1_md5 AS Ha1Md5, ha1_sha256 AS Ha1Sha256, updated_at AS UpdatedAt";

    public async Task<IReadOnlyList<SipCredentialRow>> ListSipCredentialsAsync(CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        return (await c.QueryAsync<SipCredentialRow>($"SELECT {SipColumns} FROM sip_credentials ORDER BY tenant_id, agent_id")).ToList();
    }

    public async Task<SipCredentialRow?> GetSipCredentialAsync(long tenantId, long agentId)
    {
        await using var c = await db.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<SipCredentialRow>(
            $"SELECT {SipColumns} FROM sip_credentials WHERE tenant_id = @tenantId AND agent_id = @agentId", new { tenantId, agentId });
    }

    public async Task<SipCredentialRow?> FindSipCredentialAsync(long tenantId, string username)
    {
        await using var c = await db.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<SipCredentialRow>(
            $"SELECT {SipColumns} FROM sip_credentials WHERE tenant_id = @tenantId AND username = @username", new { tenantId, username });
    }

    /// <summary>Inserts or replaces the agent's credential; false when another agent of the tenant has the username.</summary>
    public async Task<bool> UpsertSipCredentialAsync(SipCredentialRow row)
    {
        await using var c = await db.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        var taken = await c.ExecuteScalarAsync<long?>(
            "SELECT agent_id FROM sip_credentials WHERE tenant_id = @TenantId AND username = @Username AND agent_id <> @AgentId", row, tx);
        if (taken != null) return false;
        try
        {
            await c.ExecuteAsync(
                "INSERT INTO sip_credentials (tenant_id, agent_id, username, realm, ha1_md5, ha1_sha256, updated_at) " +
                "VALUES (@TenantId, @AgentId, @Username, @Realm, @Ha1Md5, @Ha1Sha256, @UpdatedAt) " +
                "ON CONFLICT (tenant_id, agent_id) DO UPDATE SET username = excluded.username, realm = excluded.realm, " +
                "ha1_md5 = excluded.ha1_md5, ha1_sha256 = excluded.ha1_sha256, updated_at = excluded.updated_at", row, tx);
            await tx.CommitAsync();
            return true;
        }
        catch (DbException ex) when (IsUniqueViolation(ex))
        {
            return false; // another agent took the username between the check and the write
        }
    }

    /// <summary>Deletes the agent's credential; false when it had none.</summary>
    public async Task<bool> DeleteSipCredentialAsync(long tenantId, long agentId)
    {
        await using var c = await db.OpenAsync();
        return await c.ExecuteAsync("DELETE FROM sip_credentials WHERE tenant_id = @tenantId AND agent_id = @agentId", new { tenantId, agentId }) > 0;
    }

    private static bool IsUniqueViolation(DbException ex) => ex switch
    {
        SqliteException s => s.SqliteErrorCode == 19, // SQLITE_CONSTRAINT
        PostgresException p => p.SqlState == PostgresErrorCodes.UniqueViolation,
        _ => false,
    };
}
