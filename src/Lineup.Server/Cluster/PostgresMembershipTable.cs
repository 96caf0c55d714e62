using System.Globalization;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Lineup.Server.Cluster;

/// <summary>
/// Orleans cluster membership over Lineup's own PostgreSQL tables (<c>Cluster/Schema</c>), through Orleans's documented
/// extension point <see cref="IMembershipTable"/>. The contract it keeps:
/// <list type="bullet">
/// <item>The table has a version and a version etag. Every insert and update of a row names the etag it read
/// (<see cref="TableVersion.VersionEtag"/>) and the version to write; it succeeds only when that etag is still the
/// table's, and then moves the version and the etag, all in one transaction with the row change, or changes nothing
/// and answers false. Concurrent writers of one version: the first to lock the version row wins, the others find
/// the etag moved once they get the lock.</item>
/// <item>A row's etag is the table etag its last insert or update produced. An update must name it too. Heartbeats
/// (<see cref="UpdateIAmAlive"/>) touch only the alive time: neither etag moves, so what a silo read stays usable.</item>
/// <item>Reads are single statements, so the rows and the version they return belong together.</item>
/// </list>
/// Orleans's reminders are not used (see docs/design/cluster.md), so there is no reminder table.
/// </summary>
public sealed partial class PostgresMembershipTable(NpgsqlDataSource dataSource, IOptions<ClusterOptions> cluster, ILogger<PostgresMembershipTable> log)
    : IMembershipTable
{
    private readonly string _clusterId = cluster.Value.ClusterId;

    private const string Columns =
        "silo, status, proxy_port, host_name, silo_name, role_name, update_zone, fault_zone, start_time, i_am_alive_time, suspect_times, etag";

    public Task InitializeMembershipTable(bool tryInitTableVersion) => InitializeMembershipTableAsync(tryInitTableVersion, CancellationToken.None);

    /// <summary>Creates the cluster's version row (version 0, etag 0) when asked to and it is missing. The tables
    /// themselves come from <see cref="ClusterSchema.MigrateAsync"/>, run before the silo starts.</summary>
    public async Task InitializeMembershipTableAsync(bool tryInitTableVersion, CancellationToken cancellationToken)
    {
        if (!tryInitTableVersion) return;
        await using var c = await dataSource.OpenConnectionAsync(cancellationToken);
        await c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO cluster_membership_version (cluster_id, version, etag) VALUES (@_clusterId, 0, 0) ON CONFLICT (cluster_id) DO NOTHING",
            new { _clusterId }, cancellationToken: cancellationToken));
    }

    public Task DeleteMembershipTableEntries(string clusterId) => DeleteMembershipTableEntriesAsync(clusterId, CancellationToken.None);

    /// <summary>Removes the cluster's version row and, with it, every silo row.</summary>
    public async Task DeleteMembershipTableEntriesAsync(string clusterId, CancellationToken cancellationToken)
    {
        await using var c = await dataSource.OpenConnectionAsync(cancellationToken);
        await c.ExecuteAsync(new CommandDefinition("DELETE FROM cluster_membership_version WHERE cluster_id = @clusterId",
            new { clusterId }, cancellationToken: cancellationToken));
    }

    public Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate) => CleanupDefunctSiloEntriesAsync(beforeDate, CancellationToken.None);

    /// <summary>Deletes rows of silos that are not active and whose last known update (start, heartbeat or the
    /// latest suspicion, a death declaration included) is older than <paramref name="beforeDate"/>. The version does
    /// not move: no live silo's view depends on those rows.</summary>
    public async Task CleanupDefunctSiloEntriesAsync(DateTimeOffset beforeDate, CancellationToken cancellationToken)
    {
        await using var c = await dataSource.OpenConnectionAsync(cancellationToken);
        var removed = await c.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM cluster_membership
            WHERE cluster_id = @_clusterId AND status <> @Active
              AND GREATEST(start_time, i_am_alive_time, COALESCE(suspected_at, '-infinity')) < @beforeDate
            """,
            new { _clusterId, Active = (int)SiloStatus.Active, beforeDate = beforeDate.UtcDateTime }, cancellationToken: cancellationToken));
        if (removed > 0) LogCleanedUp(log, removed, _clusterId);
    }

    public Task<MembershipTableData> ReadRow(SiloAddress key) => ReadRowAsync(key, CancellationToken.None);

    public async Task<MembershipTableData> ReadRowAsync(SiloAddress key, CancellationToken cancellationToken) =>
        await ReadAsync(key.ToParsableString(), cancellationToken);

    public Task<MembershipTableData> ReadAll() => ReadAllAsync(CancellationToken.None);

    public async Task<MembershipTableData> ReadAllAsync(CancellationToken cancellationToken) => await ReadAsync(null, cancellationToken);

    /// <summary>The version and the rows (all, or one silo's) in one statement: they are consistent with each other.
    /// A cluster without a version row reads as version 0, etag 0, no rows.</summary>
    private async Task<MembershipTableData> ReadAsync(string? silo, CancellationToken ct)
    {
        await using var c = await dataSource.OpenConnectionAsync(ct);
        var rows = (await c.QueryAsync<VersionedRow>(new CommandDefinition(
            $"""
            SELECT v.version AS TableVersion, v.etag AS TableEtag, m.silo AS Silo, m.status AS Status, m.proxy_port AS ProxyPort,
                m.host_name AS HostName, m.silo_name AS SiloName, m.role_name AS RoleName, m.update_zone AS UpdateZone,
                m.fault_zone AS FaultZone, m.start_time AS StartTime, m.i_am_alive_time AS IAmAliveTime,
                m.suspect_times AS SuspectTimes, m.etag AS Etag
            FROM cluster_membership_version v
            LEFT JOIN cluster_membership m ON m.cluster_id = v.cluster_id AND (@silo::text IS NULL OR m.silo = @silo::text)
            WHERE v.cluster_id = @_clusterId
            ORDER BY m.silo
            """,
            new { _clusterId, silo }, cancellationToken: ct))).ToList();
        if (rows.Count == 0) return new MembershipTableData(new TableVersion(0, Etag(0)));
        var version = new TableVersion(rows[0].TableVersion, Etag(rows[0].TableEtag));
        var members = rows.Where(r => r.Silo != null).Select(r => Tuple.Create(ToEntry(r), Etag(r.Etag!.Value))).ToList();
        return new MembershipTableData(members, version);
    }

    public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion) => InsertRowAsync(entry, tableVersion, CancellationToken.None);

    /// <summary>Adds a silo's row and moves the version, when the version etag is still <paramref name="tableVersion"/>'s
    /// and the silo has no row yet; otherwise changes nothing and answers false.</summary>
    public async Task<bool> InsertRowAsync(MembershipEntry entry, TableVersion tableVersion, CancellationToken cancellationToken)
    {
        if (!TryParseEtag(tableVersion.VersionEtag, out var expected)) return false;
        await using var c = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await c.BeginTransactionAsync(cancellationToken);
        if (await AdvanceVersionAsync(c, tx, tableVersion.Version, expected, cancellationToken) is not { } etag) return false;
        var inserted = await c.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO cluster_membership (cluster_id, {Columns}, suspected_at)
            VALUES (@ClusterId, @silo, @status, @proxy_port, @host_name, @silo_name, @role_name, @update_zone, @fault_zone,
                    @start_time, @i_am_alive_time, @suspect_times, @etag, @suspected_at)
            ON CONFLICT (cluster_id, silo) DO NOTHING
            """,
            Parameters(entry, etag), tx, cancellationToken: cancellationToken));
        if (inserted == 0) return false; // the silo already has a row: the transaction is rolled back on dispose
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion) =>
        UpdateRowAsync(entry, etag, tableVersion, CancellationToken.None);

    /// <summary>Replaces a silo's row and moves the version, when both the version etag and the row's etag are still
    /// the ones given; otherwise changes nothing and answers false.</summary>
    public async Task<bool> UpdateRowAsync(MembershipEntry entry, string etag, TableVersion tableVersion, CancellationToken cancellationToken)
    {
        if (!TryParseEtag(tableVersion.VersionEtag, out var expected) || !TryParseEtag(etag, out var rowEtag)) return false;
        await using var c = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await c.BeginTransactionAsync(cancellationToken);
        if (await AdvanceVersionAsync(c, tx, tableVersion.Version, expected, cancellationToken) is not { } next) return false;
        var parameters = Parameters(entry, next);
        parameters.Add("row_etag", rowEtag);
        var updated = await c.ExecuteAsync(new CommandDefinition(
            """
            UPDATE cluster_membership SET status = @status, proxy_port = @proxy_port, host_name = @host_name, silo_name = @silo_name,
                role_name = @role_name, update_zone = @update_zone, fault_zone = @fault_zone, start_time = @start_time,
                i_am_alive_time = @i_am_alive_time, suspect_times = @suspect_times, suspected_at = @suspected_at, etag = @etag
            WHERE cluster_id = @ClusterId AND silo = @silo AND etag = @row_etag
            """,
            parameters, tx, cancellationToken: cancellationToken));
        if (updated == 0) return false; // no such row, or it changed since it was read: rolled back on dispose
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    public Task UpdateIAmAlive(MembershipEntry entry) => UpdateIAmAliveAsync(entry, CancellationToken.None);

    /// <summary>Writes the silo's heartbeat time, and nothing else: no etag moves. A silo without a row is an error
    /// (its row was removed, so the cluster no longer counts it).</summary>
    public async Task UpdateIAmAliveAsync(MembershipEntry entry, CancellationToken cancellationToken)
    {
        await using var c = await dataSource.OpenConnectionAsync(cancellationToken);
        var updated = await c.ExecuteAsync(new CommandDefinition(
            "UPDATE cluster_membership SET i_am_alive_time = @at WHERE cluster_id = @_clusterId AND silo = @silo",
            new { _clusterId, silo = entry.SiloAddress.ToParsableString(), at = Utc(entry.IAmAliveTime) }, cancellationToken: cancellationToken));
        if (updated == 0)
            throw new InvalidOperationException($"silo {entry.SiloAddress} has no membership row in cluster '{_clusterId}'");
    }

    /// <summary>The compare-and-swap on the version row: the new etag, or null when the etag was no longer
    /// <paramref name="expected"/> (or the cluster has no version row). Under PostgreSQL's row lock a concurrent
    /// writer waits, then re-checks the condition against the committed row, so exactly one writer per etag wins.</summary>
    private async Task<long?> AdvanceVersionAsync(NpgsqlConnection c, NpgsqlTransaction tx, int version, long expected, CancellationToken ct) =>
        await c.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
            "UPDATE cluster_membership_version SET version = @version, etag = etag + 1 WHERE cluster_id = @_clusterId AND etag = @expected RETURNING etag",
            new { _clusterId, version, expected }, tx, cancellationToken: ct));

    private DynamicParameters Parameters(MembershipEntry e, long etag)
    {
        var suspects = e.SuspectTimes ?? [];
        var p = new DynamicParameters();
        p.Add("ClusterId", _clusterId);
        p.Add("silo", e.SiloAddress.ToParsableString());
        p.Add("status", (int)e.Status);
        p.Add("proxy_port", e.ProxyPort);
        p.Add("host_name", e.HostName);
        p.Add("silo_name", e.SiloName);
        p.Add("role_name", e.RoleName);
        p.Add("update_zone", e.UpdateZone);
        p.Add("fault_zone", e.FaultZone);
        p.Add("start_time", Utc(e.StartTime));
        p.Add("i_am_alive_time", Utc(e.IAmAliveTime));
        p.Add("suspect_times", JsonSerializer.Serialize(suspects.Select(s => new Suspicion(s.Item1.ToParsableString(), Utc(s.Item2))).ToList(),
            ClusterJson.Default.ListSuspicion));
        p.Add("suspected_at", suspects.Count == 0 ? (DateTime?)null : suspects.Max(s => Utc(s.Item2)));
        p.Add("etag", etag);
        return p;
    }

    private static MembershipEntry ToEntry(VersionedRow r) => new()
    {
        SiloAddress = SiloAddress.FromParsableString(r.Silo!),
        Status = (SiloStatus)r.Status!.Value,
        ProxyPort = r.ProxyPort!.Value,
        HostName = r.HostName!,
        SiloName = r.SiloName!,
        RoleName = r.RoleName!,
        UpdateZone = r.UpdateZone!.Value,
        FaultZone = r.FaultZone!.Value,
        StartTime = Utc(r.StartTime!.Value),
        IAmAliveTime = Utc(r.IAmAliveTime!.Value),
        SuspectTimes = [.. (JsonSerializer.Deserialize(r.SuspectTimes!, ClusterJson.Default.ListSuspicion) ?? [])
            .Select(s => Tuple.Create(SiloAddress.FromParsableString(s.Silo), Utc(s.At)))],
    };

    /// <summary>Npgsql writes only UTC times to <c>timestamptz</c>; Orleans's times are UTC but may say Unspecified.</summary>
    private static DateTime Utc(DateTime t) => t.Kind switch
    {
        DateTimeKind.Utc => t,
        DateTimeKind.Local => t.ToUniversalTime(),
        _ => DateTime.SpecifyKind(t, DateTimeKind.Utc),
    };

    private static string Etag(long etag) => etag.ToString(CultureInfo.InvariantCulture);

    private static bool TryParseEtag(string? etag, out long value) =>
        long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Removed {Count} defunct silo row(s) of cluster {ClusterId}")]
    private static partial void LogCleanedUp(ILogger logger, int count, string clusterId);

    /// <summary>One row as read: the table's version beside a silo's columns (all null when the cluster has no silo).</summary>
    private sealed record VersionedRow(
        int TableVersion, long TableEtag, string? Silo, int? Status, int? ProxyPort, string? HostName, string? SiloName, string? RoleName,
        int? UpdateZone, int? FaultZone, DateTime? StartTime, DateTime? IAmAliveTime, string? SuspectTimes, long? Etag);
}

/// <summary>One suspicion of a silo, as stored in <c>suspect_times</c>.</summary>
internal sealed record Suspicion(string Silo, DateTime At);

[System.Text.Json.Serialization.JsonSerializable(typeof(List<Suspicion>))]
internal sealed partial class ClusterJson : System.Text.Json.Serialization.JsonSerializerContext;
