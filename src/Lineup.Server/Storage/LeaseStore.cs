using System.Data.Common;
using Dapper;
using Npgsql;

namespace Lineup.Server.Storage;

/// <summary>The right to write one tenant: the epoch its owner took when it started the tenant.</summary>
public readonly record struct Fence(long TenantId, long Epoch);

/// <summary>A lease taken: the fence to write with, and who held the tenant before (null: nobody, or released).</summary>
public sealed record Lease(Fence Fence, string? PreviousOwner, bool FirstEver);

/// <summary>A tenant's current holder as stored.</summary>
public sealed record LeaseRow(long TenantId, long Epoch, string? Owner);

/// <summary>A write refused because another process (or another activation) started the tenant since: its epoch is
/// no longer current. Nothing of the transaction was stored.</summary>
public sealed class TenantFencedException(long tenantId, long epoch, Exception? inner = null)
    : Exception($"Tenant {tenantId} was taken over by another owner: epoch {epoch} is no longer current.", inner)
{
    public long TenantId { get; } = tenantId;
}

/// <summary>
/// Tenant leases (docs/design/cluster.md, "Fencing"): whoever starts a tenant takes the next epoch, and every
/// transaction that writes the tenant's state checks the epoch in that transaction (<see cref="CheckAsync"/>). Two
/// processes on one database, or two activations of one tenant in a cluster, therefore never both write: the older
/// one's next commit fails and it stops. The check is the fence; there is no time-based expiry to get wrong.
/// </summary>
public sealed class LeaseStore(Database db)
{
    /// <summary>Raised by <c>lineup_fence</c> (migration 0005) when the epoch is not current.</summary>
    public const string FencedSqlState = "LU001";

    /// <summary>Takes the tenant: the next epoch, with <paramref name="owner"/> as its holder. Committed before it
    /// returns, so everything read afterwards includes whatever an older owner committed (its commit in flight held
    /// the lease row, and this waited for it). Null when the tenant does not exist.</summary>
    public async Task<Lease?> AcquireAsync(long tenantId, string owner, long now, CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var lockRow = db.Kind == DatabaseKind.Postgres ? " FOR UPDATE" : "";
        var previous = await c.QuerySingleOrDefaultAsync<LeaseRow>(
            "SELECT tenant_id AS TenantId, epoch, owner FROM tenant_leases WHERE tenant_id = @tenantId" + lockRow, new { tenantId }, tx);
        var epoch = await c.ExecuteScalarAsync<long?>(
            "INSERT INTO tenant_leases (tenant_id, epoch, owner, acquired_at) SELECT @tenantId, 1, @owner, @now WHERE EXISTS (SELECT 1 FROM tenants WHERE id = @tenantId)"
            + " ON CONFLICT (tenant_id) DO UPDATE SET epoch = tenant_leases.epoch + 1, owner = excluded.owner, acquired_at = excluded.acquired_at RETURNING epoch",
            new { tenantId, owner, now }, tx);
        if (epoch == null) return null;
        await tx.CommitAsync(ct);
        return new Lease(new Fence(tenantId, epoch.Value), previous?.Owner, previous == null);
    }

    /// <summary>Gives the tenant up (a graceful stop): the next owner takes it without waiting for anyone to notice
    /// this one is gone. Does nothing when another owner took it since.</summary>
    public async Task ReleaseAsync(Fence fence, CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        await c.ExecuteAsync("UPDATE tenant_leases SET owner = NULL WHERE tenant_id = @TenantId AND epoch = @Epoch", fence);
    }

    /// <summary>The stored holders of these tenants (a tenant without a row has never been started).</summary>
    public async Task<IReadOnlyList<LeaseRow>> ReadAsync(IReadOnlyCollection<long> tenantIds, CancellationToken ct = default)
    {
        if (tenantIds.Count == 0) return [];
        await using var c = await db.OpenAsync(ct);
        var ids = tenantIds.ToArray();
        var match = db.Kind == DatabaseKind.Postgres ? "= ANY(@ids)" : "IN @ids";
        return (await c.QueryAsync<LeaseRow>(
            $"SELECT tenant_id AS TenantId, epoch, owner FROM tenant_leases WHERE tenant_id {match}", new { ids })).ToList();
    }

    /// <summary>Every tenant with its lease's holder (null when released or never started), for a cluster's keeper.</summary>
    public async Task<IReadOnlyList<(TenantRow Tenant, string? Owner)>> TenantsAndOwnersAsync(CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        var rows = await c.QueryAsync<OwnedTenant>(new CommandDefinition(
            "SELECT t.id, t.name, t.time_zone AS TimeZone, t.seed, t.created_at AS CreatedAt, l.owner FROM tenants t LEFT JOIN tenant_leases l ON l.tenant_id = t.id ORDER BY t.id",
            cancellationToken: ct));
        return [.. rows.Select(r => (new TenantRow(r.Id, r.Name, r.TimeZone, r.Seed, r.CreatedAt), r.Owner))];
    }

    private sealed record OwnedTenant(long Id, string Name, string TimeZone, long Seed, long CreatedAt, string? Owner);

    /// <summary>Fails the transaction (<see cref="TenantFencedException"/>) unless <paramref name="fence"/>'s epoch is
    /// current, and holds the lease row until it ends. Call it first in every transaction that writes a tenant's state.</summary>
    internal static async Task CheckAsync(DbConnection c, DbTransaction tx, DatabaseKind kind, Fence fence)
    {
        if (kind == DatabaseKind.Postgres)
        {
            try
            {
                await c.ExecuteAsync("SELECT lineup_fence(@TenantId, @Epoch)", fence, tx);
            }
            catch (PostgresException ex) when (ex.SqlState == FencedSqlState)
            {
                throw new TenantFencedException(fence.TenantId, fence.Epoch, ex);
            }
            return;
        }
        // SQLite transactions take the database's write lock when they begin (BEGIN IMMEDIATE), so the check and the
        // writes after it cannot interleave with another process's epoch bump, and reading the epoch is enough (an
        // UPDATE that changes nothing still writes the lease's page to the WAL in every commit).
        var held = await c.ExecuteScalarAsync<long?>("SELECT 1 FROM tenant_leases WHERE tenant_id = @TenantId AND epoch = @Epoch", fence, tx);
        if (held == null) throw new TenantFencedException(fence.TenantId, fence.Epoch);
    }
}
