using System.Data.Common;
using Lineup.Server.Storage;

namespace Lineup.Server.Application;

/// <summary>
/// What a dialect keeps of its own (a vendor's queue servers, say): connections to Lineup's database, whose tables
/// the dialect creates with migrations in its own folder (<c>Api/Dialects/&lt;Vendor&gt;/Migrations</c>, numbered in
/// the one sequence of all migrations), and ids from Lineup's one id sequence.
/// </summary>
public sealed class DialectStorage(Database db, IdSequence ids)
{
    public Task<DbConnection> OpenAsync(CancellationToken ct = default) => db.OpenAsync(ct);

    public Task<long> NewIdAsync() => ids.NextIdAsync();
}
