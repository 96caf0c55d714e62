using System.Globalization;
using System.Text;
using Lineup.Engine;
using Lineup.Server.Application;
using Lineup.Server.Auth;
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

        // Agents may transfer the call they talk on; supervisors (and API keys) any call.
        api.MapPost("/calls/{id:long}/transfer", TransferAsync).WithTags("Call control").Require(Role.Agent)
            .WithSummary("Transfer a connected call to another queue, a number, one agent, or the agent of a consultation call; the agent is released")
            .AcceptsJson<TransferBody>().Produces<CallDto>().ProducesValidationProblem().ProducesProblems(401, 403, 404, 409);

        api.MapGet("/cdrs", CdrsAsync).WithTags("CDRs").Require(Role.Supervisor).WithSummary("List call detail records")
            .Produces<Page<CdrDto>>().AlsoProducesText(200, "text/csv").ProducesValidationProblem().ProducesProblems(401, 403);
    }

    private static CallDto? Shape(CallCenter engine, Call? live, CallRecord? ended) =>
        live != null ? Dto.Call(engine, live) : ended != null ? Dto.Ended(ended) : null;

    private static async Task<IResult> CreateAsync(HttpContext http, CallService calls)
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
        var r = await calls.EnqueueAsync(http.Tenant(), body.QueueId!.Value, body.CallerNumber!, body.CallerName, body.Priority ?? 0, body.ExternalId, Shape);
        return r.Ok ? TypedResults.Created($"/api/v1/calls/{r.Value!.Id}", r.Value) : RequestContext.Fail(r.Error!);
    }

    private static async Task<IResult> GetAsync(long id, HttpContext http, CallService calls)
    {
        var r = await calls.GetAsync(http.Tenant(), id, Dto.Call);
        if (!r.Ok) return RequestContext.Fail(r.Error!);
        return TypedResults.Ok(r.Value.Live ?? Dto.Ended(r.Value.Ended!));
    }

    private static async Task<IResult> EventAsync(long id, HttpContext http, CallService calls)
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
        var r = await calls.ReportAsync(http.Tenant(), id, body.Type!.Value, body.AgentId, body.Digits, Shape);
        if (!r.Ok) return RequestContext.Fail(r.Error!);
        return r.Value != null ? TypedResults.Ok(r.Value) : TypedResults.NoContent();
    }

    private static async Task<IResult> TransferAsync(long id, HttpContext http, CallService calls)
    {
        var (body, errors) = await Body.ReadAsync<TransferBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = new Errors();
        var given = (body!.QueueId != null ? 1 : 0) + (body.Number != null ? 1 : 0) + (body.AgentId != null ? 1 : 0) + (body.CallId != null ? 1 : 0);
        if (given != 1)
            e.Add(body.QueueId == null ? "queue_id" : body.Number != null ? "number" : body.AgentId != null ? "agent_id" : "call_id",
                "Give exactly one of queue_id (another queue), number (a number or a sip: URI), agent_id (one agent) and call_id (the consultation call whose agent takes the caller).");
        if (body.QueueId is <= 0) e.Add("queue_id", "queue_id must be a positive id.");
        if (body.AgentId is <= 0) e.Add("agent_id", "agent_id must be a positive id.");
        if (body.CallId is <= 0) e.Add("call_id", "call_id must be a positive id.");
        if (body.CallId == id) e.Add("call_id", "call_id must be another call (the consultation), not the call transferred.");
        if (body.Number is "") e.Add("number", "number must not be empty.");
        Validate.TransferNumber(e, "number", body.Number);
        var fallback = Validate.TransferFallback(e, "fallback", body.Fallback);
        if (body.Fallback != null && body.AgentId == null) e.Add("fallback", "fallback applies to a transfer to an agent (agent_id) only.");
        if (e.Any) return e.Problem();
        var caller = http.RequiredCaller();
        var target = new TransferRequest(body.QueueId, body.Number, body.AgentId, fallback, body.CallId);
        var r = await calls.TransferAsync(http.Tenant(), id, target, caller.Role < Role.Supervisor ? caller.AgentId ?? 0 : null, Shape);
        return r.Ok ? TypedResults.Ok(r.Value) : RequestContext.Fail(r.Error!);
    }

    private static async Task<IResult> CdrsAsync(HttpContext http, ReportService reports)
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
            if (!ReportService.TryCursor(cursor, out var parsed)) e.Add("cursor", "cursor is not one this API returned.");
            else after = parsed;
        }
        if (e.Any) return e.Problem();
        var page = await reports.CdrsAsync(http.Tenant(), from, to, queue, agent, after, limit);
        var items = page.Items.Select(Dto.Cdr).ToList();
        if (http.Request.Headers.Accept.ToString().Contains("text/csv", StringComparison.OrdinalIgnoreCase))
        {
            if (page.Next != null) http.Response.Headers["X-Next-Cursor"] = page.Next;
            return TypedResults.Text(Csv(items), "text/csv; charset=utf-8");
        }
        return TypedResults.Ok(new Page<CdrDto>(items, page.Next));
    }

    internal static long Time(string raw, string field, long fallback, Errors e)
    {
        if (raw.Length == 0) return fallback;
        if (long.TryParse(raw, out var unix) && unix >= 0) return unix < 100_000_000_000 ? unix * 1000 : unix;
        if (DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return t.ToUnixTimeMilliseconds();
        e.Add(field, $"{field} must be an ISO 8601 time or Unix seconds.");
        return fallback;
    }

    internal static long? Id(string raw, string field, Errors e)
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
        "disposition_code",
        "rating",
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
                c.Priority.ToString(CultureInfo.InvariantCulture), Dto.Text(c.EnteredAt), c.AnsweredAt is { } answered ? Dto.Text(answered) : "",
                Dto.Text(c.EndedAt), c.Disposition, Dto.Snake(c.ExitReason.ToString()), c.AgentId?.ToString(CultureInfo.InvariantCulture) ?? "",
                (c.AnsweredQueueId ?? (c.Queues.Count > 0 ? c.Queues[^1].QueueId : 0)).ToString(CultureInfo.InvariantCulture),
                c.WaitSeconds.ToString(CultureInfo.InvariantCulture), c.TalkSeconds.ToString(CultureInfo.InvariantCulture),
                c.WrapUpSeconds.ToString(CultureInfo.InvariantCulture), c.Attempts.Count.ToString(CultureInfo.InvariantCulture),
                string.Join(' ', c.Queues.Select(v => v.QueueId)),
                c.DispositionCode ?? "",
                c.Rating?.ToString(CultureInfo.InvariantCulture) ?? "",
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
