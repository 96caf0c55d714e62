using System.Data.Common;
using System.Reflection;
using System.Runtime.CompilerServices;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Lineup.Server.Storage;

public enum DatabaseKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The one place that knows which database is behind Lineup: opens connections (SQLite in WAL mode with full
/// fsync, or PostgreSQL) and runs the versioned migrations embedded in the assembly at start-up.
/// </summary>
public sealed class Database : IAsyncDisposable
{
    // Typed as the ADO.NET base class so that a server on SQLite never loads Npgsql (issue 17: memory).
    private readonly DbDataSource? _postgres;
    private readonly string? _sqlite;

    private Database(DatabaseKind kind, string? sqlite, DbDataSource? postgres)
    {
        Kind = kind;
        _sqlite = sqlite;
        _postgres = postgres;
    }

    public DatabaseKind Kind { get; }

    /// <summary>The PostgreSQL data source (null on SQLite), shared with the cluster's membership table.</summary>
    public NpgsqlDataSource? Postgres => (NpgsqlDataSource?)_postgres;

    /// <summary>PostgreSQL when a connection string is given, else SQLite in <paramref name="dataDir"/>.</summary>
    public static Database Create(string? connectionString, string dataDir)
    {
        if (!string.IsNullOrWhiteSpace(connectionString)) return CreatePostgres(connectionString);
        Directory.CreateDirectory(dataDir);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(Path.GetFullPath(dataDir), "lineup.db"),
            Pooling = true,
            DefaultTimeout = 30,
        };
        return new Database(DatabaseKind.Sqlite, builder.ToString(), null);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Database CreatePostgres(string connectionString) =>
        new(DatabaseKind.Postgres, null, NpgsqlDataSource.Create(connectionString));

    public async Task<DbConnection> OpenAsync(CancellationToken ct = default)
    {
        if (_postgres != null) return await _postgres.OpenConnectionAsync(ct);
        var c = new SqliteConnection(_sqlite);
        await c.OpenAsync(ct);
        // WAL keeps readers off the writer's back; FULL syncs the WAL on every commit, so an answered write
        // survives kill -9 and power loss alike.
        await c.ExecuteAsync("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;");
        return c;
    }

    /// <summary>Applies every embedded migration newer than the schema's version, each in its own transaction. Nodes
    /// starting together on one PostgreSQL migrate one after the other (<see cref="ExclusiveAsync"/>).</summary>
    public async Task MigrateAsync(CancellationToken ct = default)
    {
        await using var exclusive = await ExclusiveAsync("migrate", ct);
        await using var c = await OpenAsync(ct);
        await c.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
        var current = await c.ExecuteScalarAsync<long?>("SELECT MAX(version) FROM schema_version") ?? 0;
        foreach (var (version, sql) in Migrations(Kind))
        {
            if (version <= current) continue;
            await using var tx = await c.BeginTransactionAsync(ct);
            await c.ExecuteAsync(sql, transaction: tx);
            await c.ExecuteAsync("INSERT INTO schema_version (version, applied_at) VALUES (@version, @at)",
                new { version, at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, tx);
            await tx.CommitAsync(ct);
        }
    }

    /// <summary>Holds a database-wide lock named <paramref name="name"/> until disposed, so that processes starting
    /// together on one PostgreSQL do a start-up step (migrations, the first run's tenant) one at a time: a session-level
    /// advisory lock on a connection of its own, released with it. SQLite needs none: one process opens its file.</summary>
    public async Task<IAsyncDisposable> ExclusiveAsync(string name, CancellationToken ct = default)
    {
        if (_postgres == null) return NoLock.Instance;
        var c = await _postgres.OpenConnectionAsync(ct);
        var key = LockKey(name);
        try
        {
            await c.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@key)", new { key }, cancellationToken: ct));
        }
        catch
        {
            await c.DisposeAsync();
            throw;
        }
        return new AdvisoryLock(c, key);
    }

    /// <summary>Unlocks explicitly: a pooled connection's session outlives its Dispose (a process that dies releases
    /// it with its session).</summary>
    private sealed class AdvisoryLock(DbConnection c, long key) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await c.ExecuteAsync("SELECT pg_advisory_unlock(@key)", new { key });
            }
            finally
            {
                await c.DisposeAsync();
            }
        }
    }

    /// <summary>A stable 64-bit key for a lock name (FNV-1a over "lineup:" + name).</summary>
    private static long LockKey(string name)
    {
        var h = 14695981039346656037UL;
        foreach (var ch in "lineup:" + name)
        {
            h ^= ch;
            h *= 1099511628211UL;
        }
        return unchecked((long)h);
    }

    private sealed class NoLock : IAsyncDisposable
    {
        public static readonly NoLock Instance = new();
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>The embedded migrations for <paramref name="kind"/>, ordered by their number (NNNN_name.sql).</summary>
    public static IReadOnlyList<(long Version, string Sql)> Migrations(DatabaseKind kind)
    {
        var asm = Assembly.GetExecutingAssembly();
        var folder = kind == DatabaseKind.Sqlite ? ".sqlite." : ".postgres.";
        var list = new List<(long, string)>();
        foreach (var name in asm.GetManifestResourceNames())
        {
            if (!name.Contains(".Migrations" + folder, StringComparison.Ordinal) || !name.EndsWith(".sql", StringComparison.Ordinal)) continue;
            var file = name[(name.IndexOf(".Migrations" + folder, StringComparison.Ordinal) + folder.Length + 11)..];
            var version = long.Parse(file[..file.IndexOf('_', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            using var stream = asm.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            list.Add((version, reader.ReadToEnd()));
        }
        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres != null) await _postgres.DisposeAsync();
        if (_sqlite != null) SqliteConnection.ClearAllPools();
    }
}
