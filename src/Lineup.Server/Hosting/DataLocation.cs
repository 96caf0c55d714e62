using System.Runtime.CompilerServices;
using Npgsql;

namespace Lineup.Server.Hosting;

/// <summary>Where this server keeps its data: SQLite in <see cref="DataDirectory"/> (an absolute path), or the
/// PostgreSQL database of <see cref="PostgresConnection"/>.</summary>
public sealed record DataLocation(string DataDirectory, string? PostgresConnection)
{
    /// <summary>For the start-up line: the SQLite file, or PostgreSQL's host, port, database and user (never the password).</summary>
    public string Describe()
    {
        if (string.IsNullOrWhiteSpace(PostgresConnection)) return $"{Path.Combine(DataDirectory, "lineup.db")} (SQLite)";
        return DescribePostgres(PostgresConnection);
    }

    // Apart, so that a server on SQLite never loads Npgsql.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string DescribePostgres(string connection)
    {
        var c = new NpgsqlConnectionStringBuilder(connection);
        return $"PostgreSQL database '{c.Database}' on {c.Host}:{c.Port} as '{c.Username}'";
    }
}
