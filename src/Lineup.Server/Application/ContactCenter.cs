using Lineup.Engine;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Application;

/// <summary>Issue 15's contact-center actions: an agent's disposition of a call, a queue's night-mode override.</summary>
public sealed class ContactCenterService
{
    /// <summary>The agent gives the call a code. Refusals: the call ended or is unknown (404); the agent did not
    /// answer it, or it is not connected or in wrap-up (409); a code the queue does not list (400 on <c>code</c>).</summary>
    public async Task<Result<T>> SetDispositionAsync<T>(ITenant tenant, long callId, long agentId, string code, Func<CallCenter, Agent, T> shape)
    {
        if (!EngineIds.TryInt(agentId, out var aid)) return AgentService.NoAgent;
        var (result, value) = await tenant.ExecuteAsync(new SetDispositionCommand(callId, aid, code), (engine, r) =>
            r.IsSuccess() && engine.TryGetAgent(new AgentId(aid), out var a) ? (r, shape(engine, a)) : (r, default!));
        return result switch
        {
            _ when result.IsSuccess() => value,
            CommandResult.InvalidArgument => AppError.Invalid("code", "code must be one of the queue's disposition_codes (any 1 to 64 characters when it lists none)."),
            CommandResult.InvalidState => AppError.Conflict("Only the agent who answered the call may give it a code, while talking or in wrap-up."),
            _ => AppError.FromEngine(result, "call"),
        };
    }

    /// <summary>Night mode on or off by hand (<paramref name="on"/>), or back to the office hours (null).</summary>
    public async Task<Result<T>> SetNightModeAsync<T>(ITenant tenant, long queueId, bool? on, Func<CallCenter, Queue, T> shape)
    {
        if (!EngineIds.TryInt(queueId, out var qid)) return QueueService.NoQueue;
        var (result, value) = await tenant.ExecuteAsync(new SetNightModeCommand(qid, on), (engine, r) =>
            r.IsSuccess() && engine.TryGetQueue(new QueueId(qid), out var q) ? (r, shape(engine, q)) : (r, default!));
        return result.IsSuccess() ? value : AppError.FromEngine(result, "queue");
    }
}
