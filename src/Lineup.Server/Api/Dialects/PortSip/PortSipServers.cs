using Dapper;
using Lineup.Server.Application;

namespace Lineup.Server.Api.Dialects.PortSip;

/// <summary>A PortSIP call queue server as stored (Migrations/*/0003_portsip.sql); <c>Enabled</c> is 0 or 1.</summary>
public sealed record PortSipServerRow(long Id, long TenantId, string Name, long Enabled, string? Ipv4, string? Ipv6, long CreatedAt);

/// <summary>The PortSIP dialect's one table: call queue servers, per tenant (deleted with the tenant).</summary>
public sealed class PortSipServers(DialectStorage storage)
{
    public Task<long> NewIdAsync() => storage.NewIdAsync();

    private const string PortSipServerColumns = "id, tenant_id AS TenantId, name, enabled, ipv4, ipv6, created_at AS CreatedAt";

    public async Task InsertAsync(PortSipServerRow s)
    {
        await using var c = await storage.OpenAsync();
        await c.ExecuteAsync(
            "INSERT INTO portsip_queue_servers (id, tenant_id, name, enabled, ipv4, ipv6, created_at) VALUES (@Id, @TenantId, @Name, @Enabled, @Ipv4, @Ipv6, @CreatedAt)", s);
    }

    public async Task<IReadOnlyList<PortSipServerRow>> ListAsync(long tenantId)
    {
        await using var c = await storage.OpenAsync();
        return (await c.QueryAsync<PortSipServerRow>(
            $"SELECT {PortSipServerColumns} FROM portsip_queue_servers WHERE tenant_id = @tenantId ORDER BY id", new { tenantId })).ToList();
    }

    public async Task<PortSipServerRow?> GetAsync(long tenantId, long id)
    {
        await using var c = await storage.OpenAsync();
        return await c.QuerySingleOrDefaultAsync<PortSipServerRow>(
            $"SELECT {PortSipServerColumns} FROM portsip_queue_servers WHERE tenant_id = @tenantId AND id = @id", new { tenantId, id });
    }

    public async Task<bool> UpdateAsync(long tenantId, long id, bool enabled)
    {
        await using var c = await storage.OpenAsync();
        return await c.ExecuteAsync("UPDATE portsip_queue_servers SET enabled = @e WHERE tenant_id = @tenantId AND id = @id",
            new { tenantId, id, e = enabled ? 1L : 0L }) > 0;
    }

    public async Task<bool> DeleteAsync(long tenantId, long id)
    {
        await using var c = await storage.OpenAsync();
        return await c.ExecuteAsync("DELETE FROM portsip_queue_servers WHERE tenant_id = @tenantId AND id = @id", new { tenantId, id }) > 0;
    }
}
