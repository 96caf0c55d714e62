using System.Text.Json;
using Lineup.Engine;
using Lineup.Server.Api;
using Lineup.Server.Storage;

namespace Lineup.Server.Tenancy;

internal static class Cdrs
{
    public static CdrRow ToRow(long tenantId, CallRecord r)
    {
        var dto = Dto.Cdr(r);
        return new CdrRow(r.Id.Value, tenantId, r.Queues.Count > 0 ? r.Queues[^1].Queue.Value : 0, r.AnsweredBy?.Value,
            r.EnteredAt, r.EndedAt ?? r.EnteredAt, dto.Disposition, JsonSerializer.Serialize(dto, Json.Options));
    }
}
