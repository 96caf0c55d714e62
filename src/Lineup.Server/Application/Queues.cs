using Lineup.Engine;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Application;

/// <summary>
/// Queues and their members, for every API. The engine checks the references a queue makes (destination queues)
/// inside the command, so no other request can remove a queue between the check and the change.
/// </summary>
public sealed class QueueService(IdSequence ids)
{
    public static AppError NoQueue { get; } = AppError.FromEngine(CommandResult.UnknownQueue, "queue");

    /// <summary>The queue shaped by <paramref name="shape"/>, or NotFound.</summary>
    /// <remarks>The result is made in the tenant's turn, so a read costs no async step of its own (status reads are
    /// the hottest request: docs/benchmarks.md, issue 11).</remarks>
    public Task<Result<T>> ReadAsync<T>(ITenant tenant, long queueId, Func<CallCenter, Queue, T> shape) =>
        EngineIds.TryInt(queueId, out var id)
            ? tenant.QueryAsync(engine => engine.TryGetQueue(new QueueId(id), out var q) ? Result<T>.Success(shape(engine, q)) : NoQueue)
            : Task.FromResult<Result<T>>(NoQueue);

    /// <summary>A new queue id, for an API that builds the config before creating the queue.</summary>
    public Task<int> NewIdAsync() => ids.NextEngineIdAsync();

    /// <summary>Creates or replaces the queue <c>config.Id</c> (from <see cref="NewIdAsync"/> for a new one). With
    /// <paramref name="keepDialectData"/> the queue's dialect data is kept as it is when the command applies.</summary>
    public async Task<Result<T>> SaveAsync<T>(ITenant tenant, QueueConfig config, bool keepDialectData, ConfigRules.FieldNames names,
        Func<CallCenter, Queue, T> shape)
    {
        var e = new FieldErrors();
        ConfigRules.Check(config, names, e);
        if (e.Any) return AppError.Invalid(e);
        var (result, value, bad) = await tenant.ExecuteAsync(new UpsertQueueCommand(config, keepDialectData), (engine, r) =>
        {
            if (r.IsSuccess() && engine.TryGetQueue(config.Id, out var q)) return (r, shape(engine, q), (FieldErrors?)null);
            // Which destinations the engine refused, judged in the same turn as the command.
            return (r, default!, r == CommandResult.InvalidDestination ? BadDestinations(engine, config, names) : null);
        });
        if (bad != null) return AppError.Invalid(bad);
        return result.IsSuccess() ? value : AppError.FromEngine(result, "queue");
    }

    private static FieldErrors BadDestinations(CallCenter engine, QueueConfig c, ConfigRules.FieldNames names)
    {
        var e = new FieldErrors();
        (string Setting, Destination D)[] all =
        [
            (nameof(QueueConfig.TimeoutDestination), c.TimeoutDestination), (nameof(QueueConfig.NoAgentsDestination), c.NoAgentsDestination),
            (nameof(QueueConfig.QueueFullDestination), c.QueueFullDestination), (nameof(QueueConfig.NoAnswerDestination), c.NoAnswerDestination),
            (nameof(QueueConfig.ExitKeyDestination), c.ExitKeyDestination), (nameof(QueueConfig.NightModeDestination), c.NightModeDestination),
        ];
        foreach (var (setting, d) in all)
        {
            if (d.Kind != DestinationKind.Queue || (d.Queue != c.Id && engine.TryGetQueue(d.Queue, out _))) continue;
            var field = names(setting) ?? setting;
            if (!e.All.Any(x => x.Field == field)) e.Add(field, $"{field[(field.LastIndexOf('.') + 1)..]} must name another queue of this tenant.");
        }
        return e;
    }

    public async Task<Result<bool>> DeleteAsync(ITenant tenant, long queueId)
    {
        if (!EngineIds.TryInt(queueId, out var id)) return NoQueue;
        var result = await tenant.ExecuteAsync(new RemoveQueueCommand(id), (_, r) => r);
        return result.IsSuccess() ? true : AppError.FromEngine(result, "queue");
    }

    /// <summary>Sets the queue's members to exactly <paramref name="members"/> (others removed).</summary>
    public async Task<Result<T>> SetMembersAsync<T>(ITenant tenant, long queueId, IReadOnlyList<MemberEntry> members, ConfigRules.FieldNames names,
        Func<CallCenter, Queue, T> shape)
    {
        if (!EngineIds.TryInt(queueId, out var id)) return NoQueue;
        var e = new FieldErrors();
        for (var i = 0; i < members.Count; i++) ConfigRules.Check(members[i].Config, s => names($"{i}.{s}"), e);
        if (e.Any) return AppError.Invalid(e);
        var (result, value) = await tenant.ExecuteAsync(new SetMembersCommand(id, members), (engine, r) =>
            r.IsSuccess() && engine.TryGetQueue(new QueueId(id), out var q) ? (r, shape(engine, q)) : (r, default!));
        return result.IsSuccess() ? value : AppError.FromEngine(result, "queue");
    }

    /// <summary>Adds the agent to the queue, or changes its membership.</summary>
    public async Task<Result<T>> SetMemberAsync<T>(ITenant tenant, long queueId, long agentId, MemberConfig config, ConfigRules.FieldNames names,
        Func<CallCenter, Member, T> shape)
    {
        if (!EngineIds.TryInt(queueId, out var qid)) return NoQueue;
        if (!EngineIds.TryInt(agentId, out var aid)) return AgentService.NoAgent;
        var e = new FieldErrors();
        ConfigRules.Check(config, names, e);
        if (e.Any) return AppError.Invalid(e);
        var (result, value) = await tenant.ExecuteAsync(new SetMemberCommand(qid, aid, config), (engine, r) =>
            r.IsSuccess() && engine.TryGetAgent(new AgentId(aid), out var a) && a.Memberships.FirstOrDefault(m => m.Queue.Id.Value == qid) is { } m
                ? (r, shape(engine, m)) : (r, default!));
        return result.IsSuccess() ? value : AppError.FromEngine(result, "queue");
    }

    public async Task<Result<bool>> RemoveMemberAsync(ITenant tenant, long queueId, long agentId)
    {
        if (!EngineIds.TryInt(queueId, out var qid)) return NoQueue;
        if (!EngineIds.TryInt(agentId, out var aid)) return AgentService.NoAgent;
        var result = await tenant.ExecuteAsync(new RemoveMemberCommand(qid, aid), (_, r) => r);
        return result.IsSuccess() ? true : AppError.FromEngine(result, "queue");
    }
}
