using System.IO.Compression;
using Dapper;
using Lineup.Engine.Snapshots;

namespace Lineup.Server.Storage;

/// <summary>A stored engine snapshot: the state after command <see cref="Seq"/> of the tenant's log.</summary>
public sealed record SnapshotRow(long TenantId, long Seq, long Epoch, long Version, long TakenAt, byte[] Body);

/// <summary>
/// Engine snapshots (docs/design/cluster.md, "Snapshots"): the engine's JSON (<see cref="EngineSnapshot"/>),
/// Brotli-compressed, written with the tenant's fence. The latest two are kept, so a snapshot that cannot be read
/// (a newer format after a downgrade, a damaged row) still leaves an older one before the whole log.
/// </summary>
public sealed class SnapshotStore(Database db)
{
    public const int Kept = 2;

    /// <summary>Stores a snapshot taken after command <paramref name="seq"/>; fails with
    /// <see cref="TenantFencedException"/> (storing nothing) when the tenant has another owner.</summary>
    public async Task SaveAsync(Fence fence, long seq, int version, long takenAt, byte[] body, CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await LeaseStore.CheckAsync(c, tx, db.Kind, fence);
        // Plain ADO.NET: Dapper.AOT 1.1.0 takes a byte[] parameter for a list to expand (IN @body), which stores nothing.
        await using (var insert = c.CreateCommand())
        {
            insert.Transaction = tx;
            insert.CommandText = "INSERT INTO tenant_snapshots (tenant_id, seq, epoch, version, taken_at, body) VALUES (@tenantId, @seq, @epoch, @version, @takenAt, @body)"
                + " ON CONFLICT (tenant_id, seq) DO UPDATE SET epoch = excluded.epoch, version = excluded.version, taken_at = excluded.taken_at, body = excluded.body";
            insert.AddParameter("tenantId", fence.TenantId);
            insert.AddParameter("seq", seq);
            insert.AddParameter("epoch", fence.Epoch);
            insert.AddParameter("version", version);
            insert.AddParameter("takenAt", takenAt);
            insert.AddParameter("body", body);
            await insert.ExecuteNonQueryAsync(ct);
        }
        await c.ExecuteAsync(
            "DELETE FROM tenant_snapshots WHERE tenant_id = @TenantId AND seq < (SELECT MIN(seq) FROM"
            + " (SELECT seq FROM tenant_snapshots WHERE tenant_id = @TenantId ORDER BY seq DESC LIMIT @Kept) newest)",
            new { fence.TenantId, Kept }, tx);
        await tx.CommitAsync(ct);
    }

    /// <summary>The tenant's snapshots, newest first.</summary>
    public async Task<IReadOnlyList<SnapshotRow>> ListAsync(long tenantId, CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        return (await c.QueryAsync<SnapshotRow>(
            "SELECT tenant_id AS TenantId, seq, epoch, version, taken_at AS TakenAt, body FROM tenant_snapshots WHERE tenant_id = @tenantId ORDER BY seq DESC",
            new { tenantId })).ToList();
    }

    /// <summary>The stored form: the snapshot's JSON, Brotli at its fastest level (a 6.8 MB tenant becomes about 1 MB).</summary>
    public static byte[] Encode(EngineSnapshot snapshot)
    {
        var json = snapshot.ToUtf8Json();
        using var output = new MemoryStream(json.Length / 4);
        using (var brotli = new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true)) brotli.Write(json);
        return output.ToArray();
    }

    /// <summary>Reads what <see cref="Encode"/> wrote. Throws as <see cref="EngineSnapshot.FromUtf8Json"/> does
    /// (or <see cref="InvalidDataException"/> for bytes that are not Brotli).</summary>
    public static EngineSnapshot Decode(byte[] body)
    {
        using var input = new BrotliStream(new MemoryStream(body), CompressionMode.Decompress);
        using var json = new MemoryStream(body.Length * 5);
        input.CopyTo(json);
        return EngineSnapshot.FromUtf8Json(json.GetBuffer().AsSpan(0, (int)json.Length));
    }
}
