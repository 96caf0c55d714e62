using System.Globalization;
using System.Text;
using System.Text.Json;
using Lineup.Engine;
using Lineup.Server.Auth;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api;

/// <summary>Call control (an external PBX uses Lineup as its queue brain) and CDRs.</summary>
public static class CallsApi
{
    public static void MapCallsApi(this RouteGroupBuilder api)
    {
        var calls = api.MapGroup("/calls").WithTags("Call control").Require(Role.Supervisor).ProducesProblems(401, 403);
        calls.MapPost("", (Delegate)CreateAsync).WithSummary("Put a call in a queue")
            .AcceptsJson<CreateCallBody>().Produces<CallDto>(201).ProducesProblems(404, 409);
        calls.MapGet("/{id:long}", GetAsync).WithSummary("Get a live or ended call")
            .Produces<CallDto>().ProducesProblems(404);
        calls.MapPost("/{id:long}/events", EventAsync).WithSummary("Report a call event")
            .AcceptsJson<CallEventBody>().Produces<CallDto>().Produces(204).ProducesProblems(404, 409);

        api.MapGet("/cdrs", CdrsAsync).WithTags("CDRs").Require(Role.Supervisor).WithSummary("List call detail records")
            .Produces<Page<CdrDto>>().AlsoProducesText(200, "text/csv").ProducesValidationProblem().ProducesProblems(401, 403);
    }

    private static async Task<IResult> CreateAsync(HttpContext http)
    {
        var (body, errors) = await Body.ReadAsync<CreateCallBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = new Errors();
        if (body!.QueueId is not { } queue) e.Add("queue_id", "queue_id is required.");
        if (string.IsNullOrEmpty(body.CallerNumber)) e.Add("caller_number", "caller_number is required.");
        e.Length("caller_number", body.CallerNumber, 1, 64);
        e.Length("caller_name", body.CallerName, 0, 128);
        e.Length("external_id", body.ExternalId, 0, 128);
        e.Range("priority", body.Priority, 0, 100);
        if (e.Any) return e.Problem();
        if (!RequestContext.TryEngineId(body.QueueId!.Value, out var qid)) return RequestContext.Fail(CommandResult.UnknownQueue, "queue");
        var command = new EnqueueCommand(qid, body.CallerNumber!, body.CallerName, body.Priority ?? 0, body.ExternalId);
        var (result, dto) = await http.Tenant().ExecuteAsync(command, (engine, r) => (r, Project(engine, command.Call)));
        return result.IsSuccess()
            ? TypedResults.Created($"/api/v1/calls/{dto!.Id}", dto)
            : RequestContext.Fail(result, "queue");
    }

    /// <summary>A live call, or, for a call that ended during this command, its final shape.</summary>
    private static CallDto? Project(CallCenter engine, CallId id) =>
        engine.TryGetCall(id, out var c) ? Dto.Call(engine, c) : LastEnded(engine, id);

    private static CallDto? LastEnded(CallCenter engine, CallId id)
    {
        foreach (var e in engine.PendingEvents)
            if (e.Kind == EventKind.CallEnded && e.Call == id && e.Record is { } r) return Dto.Ended(r);
        return null;
    }

    private static async Task<IResult> GetAsync(long id, HttpContext http, Store store)
    {
        var host = http.Tenant();
        var dto = await host.QueryAsync(engine => engine.TryGetCall(new CallId(id), out var c) ? Dto.Call(engine, c) : null);
        if (dto != null) return TypedResults.Ok(dto);
        var cdr = await FindCdrAsync(store, host.TenantId, id);
        return cdr != null ? TypedResults.Ok(cdr) : RequestContext.Fail(CommandResult.UnknownCall, "call");
    }

    private static async Task<CallDto?> FindCdrAsync(Store store, long tenantId, long callId)
    {
        var body = await store.GetCdrAsync(tenantId, callId);
        if (body == null) return null;
        var cdr = JsonSerializer.Deserialize<CdrDto>(body, Json.Options)!;
        return new CallDto(cdr.CallId, cdr.Queues.Count > 0 ? cdr.Queues[^1].QueueId : null, CallState.Ended, cdr.CallerNumber, cdr.CallerName,
            cdr.Priority, cdr.ExternalId, cdr.EnteredAt, 0, cdr.WaitSeconds, [], cdr.AgentId,
            Enum.Parse<Disposition>(cdr.Disposition.Replace("_", "", StringComparison.Ordinal), ignoreCase: true));
    }

    private static async Task<IResult> EventAsync(long id, HttpContext http)
    {
        var (body, errors) = await Body.ReadAsync<CallEventBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = new Errors();
        if (body!.Type is not { } type) e.Add("type", "type is required.");
        var needsAgent = body.Type is CallEventType.AgentAnswered or CallEventType.AgentRejected or CallEventType.AgentBusy or CallEventType.AgentNoAnswer;
        if (needsAgent && body.AgentId == null) e.Add("agent_id", "agent_id is required for this event type.");
        if (body.Type == CallEventType.Dtmf && string.IsNullOrEmpty(body.Digits)) e.Add("digits", "digits is required for dtmf.");
        e.Length("digits", body.Digits, 0, 32);
        if (e.Any) return e.Problem();
        int? agent = null;
        if (body.AgentId is { } a)
        {
            if (!RequestContext.TryEngineId(a, out var aid)) return RequestContext.Fail(CommandResult.UnknownAgent, "agent");
            agent = aid;
        }
        var command = new CallEventCommand(id, body.Type!.Value, agent, body.Digits);
        var (result, dto) = await http.Tenant().ExecuteAsync(command, (engine, r) => (r, Project(engine, new CallId(id))));
        if (!result.IsSuccess()) return RequestContext.Fail(result, "call");
        return dto != null ? TypedResults.Ok(dto) : TypedResults.NoContent();
    }

    private static async Task<IResult> CdrsAsync(HttpContext http, Store store)
    {
        var q = http.Request.Query;
        var e = new Errors();
        var from = Time(q["from"].ToString(), "from", 0, e);
        var to = Time(q["to"].ToString(), "to", long.MaxValue, e);
        long? queue = Id(q["queue_id"].ToString(), "queue_id", e);
        long? agent = Id(q["agent_id"].ToString(), "agent_id", e);
        var limit = 100;
        var rawLimit = q["limit"].ToString();
        if (rawLimit.Length > 0 && (!int.TryParse(rawLimit, out limit) || limit < 1 || limit > 1000)) e.Add("limit", "limit must be between 1 and 1000.");
        (long, long)? after = null;
        var cursor = q["cursor"].ToString();
        if (cursor.Length > 0)
        {
            var parts = cursor.Split('_');
            if (parts.Length != 2 || !long.TryParse(parts[0], out var ended) || !long.TryParse(parts[1], out var call)) e.Add("cursor", "cursor is not one this API returned.");
            else after = (ended, call);
        }
        if (e.Any) return e.Problem();
        var rows = await store.QueryCdrsAsync(http.Tenant().TenantId, from, to, queue, agent, after, limit + 1);
        string? next = null;
        if (rows.Count > limit)
        {
            rows = rows.Take(limit).ToList();
            next = string.Create(CultureInfo.InvariantCulture, $"{rows[^1].EndedAt}_{rows[^1].CallId}");
        }
        var items = rows.Select(r => JsonSerializer.Deserialize<CdrDto>(r.Body, Json.Options)!).ToList();
        if (http.Request.Headers.Accept.ToString().Contains("text/csv", StringComparison.OrdinalIgnoreCase))
        {
            if (next != null) http.Response.Headers["X-Next-Cursor"] = next;
            return TypedResults.Text(Csv(items), "text/csv; charset=utf-8");
        }
        return TypedResults.Ok(new Page<CdrDto>(items, next));
    }

    private static long Time(string raw, string field, long fallback, Errors e)
    {
        if (raw.Length == 0) return fallback;
        if (long.TryParse(raw, out var unix) && unix >= 0) return unix < 100_000_000_000 ? unix * 1000 : unix;
        if (DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return t.ToUnixTimeMilliseconds();
        e.Add(field, $"{field} must be an ISO 8601 time or Unix seconds.");
        return fallback;
    }

    private static long? Id(string raw, string field, Errors e)
    {
        if (raw.Length == 0) return null;
        if (long.TryParse(raw, out var id) && id > 0) return id;
        e.Add(field, $"{field} must be a positive id.");
        return null;
    }

    private static readonly string[] CsvColumns =
    [
        "call_id", "caller_number", "caller_name", "external_id", "priority", "entered_at", "answered_at", "ended_at",
        "disposition", "exit_reason", "agent_id", "queue_id", "wait_seconds", "talk_seconds", "wrap_up_seconds", "attempts", "queues",
    ];

    public static string Csv(IEnumerable<CdrDto> cdrs)
    {
        var sb = new StringBuilder();
        sb.AppendJoin(',', CsvColumns).Append("\r\n");
        foreach (var c in cdrs)
        {
            string[] cells =
            [
                c.CallId.ToString(CultureInfo.InvariantCulture), c.CallerNumber, c.CallerName ?? "", c.ExternalId ?? "",
                c.Priority.ToString(CultureInfo.InvariantCulture), c.EnteredAt.ToString("O"), c.AnsweredAt?.ToString("O") ?? "",
                c.EndedAt.ToString("O"), c.Disposition, Dto.Snake(c.ExitReason.ToString()), c.AgentId?.ToString(CultureInfo.InvariantCulture) ?? "",
                (c.AnsweredQueueId ?? (c.Queues.Count > 0 ? c.Queues[^1].QueueId : 0)).ToString(CultureInfo.InvariantCulture),
                c.WaitSeconds.ToString(CultureInfo.InvariantCulture), c.TalkSeconds.ToString(CultureInfo.InvariantCulture),
                c.WrapUpSeconds.ToString(CultureInfo.InvariantCulture), c.Attempts.Count.ToString(CultureInfo.InvariantCulture),
                string.Join(' ', c.Queues.Select(v => v.QueueId)),
            ];
            sb.AppendJoin(',', cells.Select(Escape)).Append("\r\n");
        }
        return sb.ToString();
    }

    private static string Escape(string cell)
    {
        // Quote as RFC 4180 asks; a leading formula character is neutralised so a spreadsheet never runs it.
        if (cell.Length > 0 && "=+-@".Contains(cell[0], StringComparison.Ordinal) && !double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            cell = "'" + cell;
        return cell.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;
    }
}
