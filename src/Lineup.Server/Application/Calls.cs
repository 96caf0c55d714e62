using Lineup.Engine;
using Lineup.Engine.Staffing;
using Lineup.Server.Records;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Application;

/// <summary>Call control (an external PBX using Lineup as its queue brain) and pickup, for every API.</summary>
public sealed class CallService(CdrStore cdrs)
{
    public static AppError NoCall { get; } = AppError.FromEngine(CommandResult.UnknownCall, "call");

    /// <summary>Puts a call in a queue; <paramref name="shape"/> gets the call, or its record when it ended at once
    /// (a queue that refuses callers).</summary>
    public async Task<Result<T>> EnqueueAsync<T>(ITenant tenant, long queueId, string number, string? name, int priority, string? externalId,
        Func<CallCenter, Call?, CallRecord?, T> shape)
    {
        if (!EngineIds.TryInt(queueId, out var qid)) return QueueService.NoQueue;
        var command = new EnqueueCommand(qid, number, name, priority, externalId);
        var (result, value) = await tenant.ExecuteAsync(command, (engine, r) => (r, Project(engine, command.Call, shape)));
        return result.IsSuccess() ? value : AppError.FromEngine(result, "queue");
    }

    /// <summary>Reports what happened to a call (answered, hung up, a digit...).</summary>
    public async Task<Result<T>> ReportAsync<T>(ITenant tenant, long callId, CallEventType type, long? agentId, string? digits,
        Func<CallCenter, Call?, CallRecord?, T> shape)
    {
        int? agent = null;
        if (agentId is { } a)
        {
            if (!EngineIds.TryInt(a, out var aid)) return AgentService.NoAgent;
            agent = aid;
        }
        var (result, value) = await tenant.ExecuteAsync(new CallEventCommand(callId, type, agent, digits), (engine, r) => (r, Project(engine, new CallId(callId), shape)));
        return result.IsSuccess() ? value : AppError.FromEngine(result, "call");
    }

    private static T Project<T>(CallCenter engine, CallId id, Func<CallCenter, Call?, CallRecord?, T> shape)
    {
        if (engine.TryGetCall(id, out var c)) return shape(engine, c, null);
        foreach (var e in engine.PendingEvents)
            if (e.Kind == EventKind.CallEnded && e.Call == id && e.Record is { } r) return shape(engine, null, r);
        return shape(engine, null, null);
    }

    /// <summary>The agent picks up a waiting call of the queue.</summary>
    public async Task<Result<T>> PickupAsync<T>(ITenant tenant, long queueId, long callId, long agentId, Func<CallCenter, Call, T> shape)
    {
        if (!EngineIds.TryInt(queueId, out var qid)) return QueueService.NoQueue;
        if (!EngineIds.TryInt(agentId, out var aid)) return AgentService.NoAgent;
        var inQueue = await tenant.QueryAsync(engine => engine.TryGetCall(new CallId(callId), out var c) && c.Queue?.Id.Value == qid);
        if (!inQueue) return NoCall;
        var (result, value) = await tenant.ExecuteAsync(new PickupCommand(callId, aid), (engine, r) =>
            engine.TryGetCall(new CallId(callId), out var c) ? (r, shape(engine, c)) : (r, default!));
        return result.IsSuccess() ? value : AppError.FromEngine(result, "call");
    }

    /// <summary>A transfer of a connected call to another queue of the tenant, a number or one of the tenant's agents
    /// (exactly one is given). With <paramref name="byAgent"/> (an agent acting for itself) only that agent's own call may
    /// be transferred. <paramref name="shape"/> gets the call as it is after the transfer: waiting in a queue (ringing the
    /// agent named), or ended.</summary>
    public async Task<Result<T>> TransferAsync<T>(ITenant tenant, long callId, TransferRequest to, long? byAgent,
        Func<CallCenter, Call?, CallRecord?, T> shape)
    {
        TenantCommand command;
        if (to.CallId is { } consultation)
        {
            command = new AttendedTransferCommand(callId, consultation);
        }
        else if (to.AgentId is { } agentId)
        {
            if (!EngineIds.TryInt(agentId, out var aid)) return AgentService.NoAgent;
            command = new TransferToAgentCommand(callId, aid, to.Fallback);
        }
        else
        {
            int? queue = null;
            if (to.QueueId is { } q)
            {
                if (!EngineIds.TryInt(q, out var qid)) return QueueService.NoQueue;
                queue = qid;
            }
            command = new TransferCallCommand(callId, queue, to.Number);
        }
        var id = new CallId(callId);
        if (byAgent is { } agent)
        {
            var own = await tenant.QueryAsync(engine => engine.TryGetCall(id, out var c) ? c.Agent?.Value : null);
            if (own == null) return NoCall;
            if (own != agent) return AppError.Forbidden("Agents may transfer their own calls only.");
        }
        var (result, value) = await tenant.ExecuteAsync(command, (engine, r) => (r, Project(engine, id, shape)));
        return result switch
        {
            CommandResult.Ok => value,
            CommandResult.InvalidDestination when to.AgentId != null => AppError.Invalid("agent_id", "That agent is already on the call: name another agent."),
            CommandResult.InvalidDestination when to.CallId != null => AppError.Invalid("call_id", "The same agent talks on both calls."),
            CommandResult.InvalidState when to.CallId != null => AppError.Conflict("Both calls must be connected to an agent (the call transferred and the consultation)."),
            CommandResult.InvalidDestination => AppError.Invalid("queue_id", "The call is already in that queue: transfer it to another queue."),
            CommandResult.InvalidState => AppError.Conflict("The call is not connected to an agent (only a call in talk can be transferred)."),
            CommandResult.UnknownAgent => AgentService.NoAgent,
            CommandResult.UnknownQueue when to.AgentId != null => AppError.NotFound("No such queue (fallback.queue_id)."),
            CommandResult.NotLoggedIn => AppError.Conflict("The agent is logged out: it cannot be offered the call."),
            CommandResult.AgentBusy => AppError.Conflict("The agent is on, or ringing for, another call."),
            CommandResult.AgentUnavailable => AppError.Conflict("The agent is not available (Not Ready, wrapping up, in a delay after a missed call, or on a call that did not come from a queue)."),
            _ => AppError.FromEngine(result, "call"),
        };
    }

    /// <summary>A call, live (shaped in the tenant's turn) or ended (its stored CDR).</summary>
    public async Task<Result<(T? Live, CdrRecord? Ended)>> GetAsync<T>(ITenant tenant, long callId, Func<CallCenter, Call, T> shape) where T : class
    {
        var live = await tenant.QueryAsync(engine => engine.TryGetCall(new CallId(callId), out var c) ? shape(engine, c) : null);
        if (live != null) return (live, null);
        var body = await cdrs.GetCdrAsync(tenant.TenantId, callId);
        return body != null ? (null, CdrRecord.Parse(body)) : NoCall;
    }
}

/// <summary>A transfer's target: exactly one of <see cref="QueueId"/>, <see cref="Number"/>, <see cref="AgentId"/> and
/// <see cref="CallId"/> (an attended transfer's consultation call); <see cref="Fallback"/> only with an agent.</summary>
public sealed record TransferRequest(long? QueueId, string? Number, long? AgentId, TransferFallback? Fallback, long? CallId = null);

/// <summary>A page of CDRs and the cursor of the next one.</summary>
public sealed record CdrPage(IReadOnlyList<CdrRecord> Items, string? Next);

/// <summary>Reports for every API: CDRs, a day's statistics, staffing estimates.</summary>
public sealed class ReportService(CdrStore cdrs)
{
    /// <summary>CDRs that ended in [from, to), oldest first, after the cursor <paramref name="after"/> (as returned in
    /// <see cref="CdrPage.Next"/>: "endedAt_callId").</summary>
    public async Task<CdrPage> CdrsAsync(ITenant tenant, long from, long to, long? queueId, long? agentId, (long EndedAt, long CallId)? after, int limit)
    {
        var rows = await cdrs.QueryCdrsAsync(tenant.TenantId, from, to, queueId, agentId, after, limit + 1);
        string? next = null;
        if (rows.Count > limit)
        {
            rows = [.. rows.Take(limit)];
            next = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{rows[^1].EndedAt}_{rows[^1].CallId}");
        }
        return new CdrPage([.. rows.Select(r => CdrRecord.Parse(r.Body))], next);
    }

    /// <summary>Parses a cursor <see cref="CdrsAsync"/> returned.</summary>
    public static bool TryCursor(string text, out (long EndedAt, long CallId) after)
    {
        after = default;
        var parts = text.Split('_');
        if (parts.Length != 2 || !long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ended)
            || !long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var call)) return false;
        after = (ended, call);
        return true;
    }

    /// <summary>A queue's statistics for <paramref name="day"/> (yyyy-MM-dd, the tenant's date; null: today), and the
    /// day they are for.</summary>
    public async Task<Result<(string Day, DailyStatsRecord Stats)>> DailyStatsAsync(ITenant tenant, long queueId, DateOnly? day)
    {
        if (!EngineIds.TryInt(queueId, out var qid)) return QueueService.NoQueue;
        var (exists, today, stats) = await tenant.QueryAsync(engine =>
            engine.TryGetQueue(new QueueId(qid), out var q) ? (true, tenant.Day(engine.Now), DailyStatsRecord.From(q)) : (false, "", DailyStatsRecord.Empty));
        if (!exists) return QueueService.NoQueue;
        var wanted = day?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) ?? today;
        if (wanted == today) return (today, stats);
        var stored = await cdrs.GetDailyStatsAsync(tenant.TenantId, qid, wanted);
        return (wanted, stored != null ? DailyStatsRecord.Parse(stored) : DailyStatsRecord.Empty);
    }

    /// <summary>The Erlang C estimate for a queue, from today's traffic unless overridden (a negative override: none).</summary>
    public async Task<Result<StaffingReport>> StaffingAsync(ITenant tenant, long queueId, double targetSeconds, double targetLevel,
        double callsOverride, double ahtOverride, double agentsOverride)
    {
        if (!EngineIds.TryInt(queueId, out var qid)) return QueueService.NoQueue;
        var estimate = await tenant.QueryAsync(engine =>
        {
            if (!engine.TryGetQueue(new QueueId(qid), out var q)) return null;
            // Current traffic: today's offered calls over the hours elapsed since local midnight.
            var local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(engine.Now), engine.Options.TimeZone);
            var hours = Math.Max(local.TimeOfDay.TotalHours, 1.0 / 60);
            var calls = callsOverride >= 0 ? callsOverride : q.Today.Offered / hours;
            // Today's average can be 0 (calls answered and hung up within the same millisecond); Erlang C needs AHT > 0.
            var aht = ahtOverride > 0 ? ahtOverride
                : q.Today.Handled > 0 && q.Today.AverageHandleSeconds > 0 ? q.Today.AverageHandleSeconds
                : Math.Max(q.RecentHandleSeconds, 1);
            var agents = agentsOverride > 0 ? (int)agentsOverride : Math.Max(1, q.StaffedAgents);
            var est = ErlangC.Estimate(agents, calls, aht, targetSeconds);
            var needed = ErlangC.AgentsForServiceLevel(est.TrafficErlangs, aht, targetSeconds, targetLevel);
            return new StaffingReport(agents, calls, aht, est, needed);
        });
        return estimate != null ? estimate : QueueService.NoQueue;
    }
}

/// <summary>An Erlang C estimate and the inputs it was made from.</summary>
public sealed record StaffingReport(int Agents, double CallsPerHour, double AverageHandleSeconds, StaffingEstimate Estimate, int AgentsNeeded);
