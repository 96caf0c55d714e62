using Lineup.Server.Cluster;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Cluster;

/// <summary>A test's own PostgreSQL database with the cluster schema migrated, and membership tables over it.</summary>
public sealed class ClusterDatabase : IAsyncDisposable
{
    private readonly TestDatabase _db;

    private ClusterDatabase(TestDatabase db, NpgsqlDataSource source)
    {
        _db = db;
        Source = source;
    }

    public NpgsqlDataSource Source { get; }

    /// <summary>Null when PostgreSQL tests are explicitly skipped (see <see cref="TestPostgres"/>).</summary>
    public static async Task<ClusterDatabase?> CreateAsync(ITestOutputHelper output)
    {
        var db = await TestPostgres.CreateDatabaseAsync(output);
        if (db == null) return null;
        var source = NpgsqlDataSource.Create(db.ConnectionString);
        await ClusterSchema.MigrateAsync(source);
        return new ClusterDatabase(db, source);
    }

    public PostgresMembershipTable Table(string cluster) =>
        new(Source, Options.Create(new ClusterOptions { ClusterId = cluster, ServiceId = "lineup" }), NullLogger<PostgresMembershipTable>.Instance);

    public async ValueTask DisposeAsync()
    {
        await Source.DisposeAsync();
        await _db.DisposeAsync();
    }
}
