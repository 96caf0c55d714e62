using Dapper;

namespace Lineup.Server.Storage;

/// <summary>A PortSIP call queue server as stored (migration 0003_portsip); <c>Enabled</c> is 0 or 1.</summary>
public sealed record PortSipServerRow(long Id, long TenantId, string Name, long Enabled, string? Ipv4, string? Ipv6, long CreatedAt);

/// <summary>The PortSIP dialect's one table: call queue servers, per tenant (deleted with the tenant).</summary>
public sealed partial class Store
{
    private const string PortSipServerColumns = "id, tenant_id AS TenantId, name, enabled, ipv4, ipv6, created_at AS CreatedAt";

    public async Task InsertPortSipServerAsync(PortSipServerRow s)
    {
        await using var c = await Database.OpenAsync();
        await c.ExecuteAsync(
            "INSERT INTO portsip_queue_servers (id, tenant_id, name, enabled, ipv4, ipv6, created_at) VALUES (@Id, @TenantId, @Name, @Enabled, @Ipv4, @Ipv6, @CreatedAt)", s);
    }

    public async Task<IReadOnlyList<PortSipServerRow>> ListPortSipServersAsync(long tenantId)
    {
        await using var c = await Database.OpenAsync();
        return (await c.QueryAsync<PortSipServerRow>(
            $"SELECT {PortSipServerColumns} FROM portsip_queue_servers WHERE tenant_id = @tenantId ORDER BY id", new { tenantId })).AsList();
    }

    public async Task<PortSipServerRow?> GetPortSipServerAsync(long tenantId, long id)
    {
        await using var c = await Database.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<PortSipServerRow>(
            $"SELECT {PortSipServerColumns} FROM portsip_queue_servers WHERE tenant_id = @tenantId AND id = @id", new { tenantId, id });
    }

    public async Task<bool> UpdatePortSipServerAsync(long tenantId, long id, bool enabled)
    {
        await using var c = await Database.OpenAsync();
        return await c.ExecuteAsync("UPDATE portsip_queue_servers SET enabled = @e WHERE tenant_id = @tenantId AND id = @id",
            new { tenantId, id, e = enabled ? 1L : 0L }) > 0;
    }

    public async Task<bool> DeletePortSipServerAsync(long tenantId, long id)
    {
        await using var c = await Database.OpenAsync();
        return await c.ExecuteAsync("DELETE FROM portsip_queue_servers WHERE tenant_id = @tenantId AND id = @id", new { tenantId, id }) > 0;
    }
}
