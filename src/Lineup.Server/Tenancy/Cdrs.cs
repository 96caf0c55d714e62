using Lineup.Engine;
using Lineup.Server.Records;
using Lineup.Server.Storage;

namespace Lineup.Server.Tenancy;

internal static class Cdrs
{
    public static CdrRow ToRow(long tenantId, CallRecord r, CdrMediaQualityRecord? mediaQuality = null)
    {
        var record = CdrRecord.From(r, mediaQuality);
        return new CdrRow(r.Id.Value, tenantId, record.LastQueue(), r.AnsweredBy?.Value, r.EnteredAt, r.EndedAt ?? r.EnteredAt, record.Disposition, record.Json());
    }
}
