using System.Globalization;
using System.Reflection;
using Dapper;
using Npgsql;

namespace Lineup.Server.Cluster;

/// <summary>
/// The cluster's own tables (PostgreSQL only: cluster mode needs it), migrated beside Lineup's storage schema but on
/// their own version track (<c>cluster_schema_version</c>), so that the storage migrations and these never compete
/// for a number. Nodes starting together migrate one at a time behind a transaction-scoped advisory lock.
/// </summary>
public static class ClusterSchema
{
    private const string Prefix = "Lineup.Server.Cluster.Schema.";

    /// <summary>Key of the advisory lock held while migrating ("LINEUPCL").</summary>
    private const long LockKey = 0x4C494E455550434C;

    public static async Task MigrateAsync(NpgsqlDataSource dataSource, CancellationToken ct = default)
    {
        await using var c = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await c.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@LockKey)", new { LockKey }, tx, cancellationToken: ct));
        await c.ExecuteAsync(new CommandDefinition(
            "CREATE TABLE IF NOT EXISTS cluster_schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)", transaction: tx, cancellationToken: ct));
        var current = await c.ExecuteScalarAsync<int?>(new CommandDefinition("SELECT MAX(version) FROM cluster_schema_version", transaction: tx, cancellationToken: ct)) ?? 0;
        foreach (var (version, sql) in Migrations())
        {
            if (version <= current) continue;
            await c.ExecuteAsync(new CommandDefinition(sql, transaction: tx, cancellationToken: ct));
            await c.ExecuteAsync(new CommandDefinition("INSERT INTO cluster_schema_version (version, applied_at) VALUES (@version, @at)",
                new { version, at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, tx, cancellationToken: ct));
        }
        await tx.CommitAsync(ct);
    }

    /// <summary>The embedded <c>Cluster/Schema/NNNN_name.sql</c> files in order of their number.</summary>
    public static IReadOnlyList<(int Version, string Sql)> Migrations()
    {
        var asm = Assembly.GetExecutingAssembly();
        var list = new List<(int, string)>();
        foreach (var name in asm.GetManifestResourceNames())
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal) || !name.EndsWith(".sql", StringComparison.Ordinal)) continue;
            var file = name[Prefix.Length..];
            var version = int.Parse(file[..file.IndexOf('_', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            using var stream = asm.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            list.Add((version, reader.ReadToEnd()));
        }
        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }
}
