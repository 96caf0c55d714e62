using Lineup.Engine;

namespace Lineup.Server.Tenancy;

/// <summary>The answering agent gives the call a disposition code (issue 15).</summary>
public sealed record SetDispositionCommand(long CallId, int AgentId, string Code) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.SetDisposition(new CallId(CallId), new AgentId(AgentId), Code, now);
}

/// <summary>A supervisor joined a call (or changed mode), or (<paramref name="Mode"/> null) left it.</summary>
public sealed record SetMonitorCommand(long CallId, SupervisionMode? Mode, string? Supervisor) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.SetMonitor(new CallId(CallId), Mode, Supervisor, now);
}

/// <summary>A supervisor turns a queue's night mode on or off by hand, or (<paramref name="On"/> null) gives it
/// back to the queue's office hours.</summary>
public sealed record SetNightModeCommand(int QueueId, bool? On) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.OverrideNightMode(new QueueId(QueueId), On, now);
}

/// <summary>The telephony front-end stored a voicemail the caller of <paramref name="CallId"/> left in queue
/// <paramref name="QueueId"/>'s box: published as <c>voicemail.left</c>.</summary>
public sealed record VoicemailLeftCommand(int QueueId, long CallId, long VoicemailId, long DurationMs, string CallerNumber) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.VoicemailLeft(new QueueId(QueueId), new CallId(CallId), VoicemailId, DurationMs, CallerNumber, now);
}
