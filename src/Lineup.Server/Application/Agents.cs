using Lineup.Engine;
using Lineup.Server.Storage;
using Lineup.Server.Telephony;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Application;

/// <summary>
/// Agents and their state, for every API: creation with a new id, changes checked by <see cref="ConfigRules"/>,
/// deletion with every cascade, status, and logins. Reads take a <c>shape</c> that runs in the tenant's turn and
/// turns the engine's agent into the caller's format.
/// </summary>
public sealed class AgentService(IdSequence ids, SipCredentialStore sip, WebhookService webhooks, AccountService accounts)
{
    public static AppError NoAgent { get; } = AppError.FromEngine(CommandResult.UnknownAgent, "agent");

    /// <summary>The agent shaped by <paramref name="shape"/>, or NotFound.</summary>
    public Task<Result<T>> ReadAsync<T>(ITenant tenant, long agentId, Func<CallCenter, Agent, T> shape) =>
        EngineIds.TryInt(agentId, out var id)
            ? tenant.QueryAsync(engine => engine.TryGetAgent(new AgentId(id), out var a) ? Result<T>.Success(shape(engine, a)) : NoAgent)
            : Task.FromResult<Result<T>>(NoAgent);

    /// <summary>Creates an agent from <paramref name="config"/> (its id is given here).</summary>
    public async Task<Result<T>> CreateAsync<T>(ITenant tenant, AgentConfig config, ConfigRules.FieldNames names, Func<CallCenter, Agent, T> shape)
    {
        var e = new FieldErrors();
        ConfigRules.Check(config, names, e);
        if (e.Any) return AppError.Invalid(e);
        return await SaveAsync(tenant, new UpsertAgentCommand(config with { Id = new AgentId(await ids.NextEngineIdAsync()) }), shape);
    }

    /// <summary>Replaces an agent's settings; with <paramref name="keepDialectData"/> (an API that does not show the
    /// dialects' data) the agent's dialect data is kept as it is when the command applies.</summary>
    public async Task<Result<T>> UpdateAsync<T>(ITenant tenant, AgentConfig config, bool keepDialectData, ConfigRules.FieldNames names,
        Func<CallCenter, Agent, T> shape)
    {
        var e = new FieldErrors();
        ConfigRules.Check(config, names, e);
        if (e.Any) return AppError.Invalid(e);
        return await SaveAsync(tenant, new UpsertAgentCommand(config, keepDialectData), shape);
    }

    private static async Task<Result<T>> SaveAsync<T>(ITenant tenant, UpsertAgentCommand command, Func<CallCenter, Agent, T> shape)
    {
        var (result, value) = await tenant.ExecuteAsync(command, (engine, r) =>
            r.IsSuccess() && engine.TryGetAgent(command.Config.Id, out var a) ? (r, shape(engine, a)) : (r, default!));
        return result.IsSuccess() ? value : AppError.FromEngine(result, command.Config.Kind == AgentKind.Local ? "local agent" : "agent");
    }

    /// <summary>Deletes an agent and everything that hangs on it, whichever API asks: its memberships (in the engine,
    /// with the agent), the webhook subscriptions that name it, its SIP credential, and the users bound to it.</summary>
    public async Task<Result<bool>> DeleteAsync(ITenant tenant, long agentId)
    {
        if (!EngineIds.TryInt(agentId, out var id)) return NoAgent;
        var result = await tenant.ExecuteAsync(new RemoveAgentCommand(id), (_, r) => r);
        if (!result.IsSuccess()) return AppError.FromEngine(result, "agent");
        await webhooks.RemoveAgentAsync(tenant, id);
        // Its phone may no longer register.
        await sip.RemoveAsync(tenant.TenantId, id);
        await accounts.DetachAgentAsync(tenant.TenantId, id);
        return true;
    }

    /// <summary>Sets the agent's status (a reason only for not ready), then shapes the agent.</summary>
    public Task<Result<T>> SetStatusAsync<T>(ITenant tenant, long agentId, AgentStatus status, string? reason, Func<CallCenter, Agent, T> shape) =>
        RunAsync(tenant, agentId, id => new SetStatusCommand(id, status, status == AgentStatus.NotReady ? reason : null), shape);

    /// <summary>Logs the agent in to <paramref name="queues"/> (null: all of its queues).</summary>
    public Task<Result<T>> LoginAsync<T>(ITenant tenant, long agentId, IReadOnlyList<int>? queues, Func<CallCenter, Agent, T> shape) =>
        RunAsync(tenant, agentId, id => new LoginCommand(id, queues), shape);

    /// <summary>Logs the agent out of <paramref name="queues"/> (null: all of its queues).</summary>
    public Task<Result<T>> LogoutAsync<T>(ITenant tenant, long agentId, IReadOnlyList<int>? queues, Func<CallCenter, Agent, T> shape) =>
        RunAsync(tenant, agentId, id => new LogoutCommand(id, queues), shape);

    private static async Task<Result<T>> RunAsync<T>(ITenant tenant, long agentId, Func<int, TenantCommand> command, Func<CallCenter, Agent, T> shape)
    {
        if (!EngineIds.TryInt(agentId, out var id)) return NoAgent;
        var (result, value) = await tenant.ExecuteAsync(command(id), (engine, r) =>
            engine.TryGetAgent(new AgentId(id), out var a) ? (r, shape(engine, a)) : (r, default!));
        return result.IsSuccess() ? value : AppError.FromEngine(result, "agent");
    }
}

public static class CommandResults
{
    public static bool IsSuccess(this CommandResult r) => r is CommandResult.Ok or CommandResult.Ignored;
}
