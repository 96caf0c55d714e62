using Lineup.Engine;

namespace Lineup.Server.Tenancy;

/// <summary>The answering agent gives the call a disposition code (issue 15).</summary>
public sealed record SetDispositionCommand(long CallId, int AgentId, string Code) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.SetDisposition(new CallId(CallId), new AgentId(AgentId), Code, now);
}

/// <summary>A supervisor turns a queue's night mode on or off by hand, or (<paramref name="On"/> null) gives it
/// back to the queue's office hours.</summary>
public sealed record SetNightModeCommand(int QueueId, bool? On) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.OverrideNightMode(new QueueId(QueueId), On, now);
}
