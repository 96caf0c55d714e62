using System.Text.Json;
using System.Text.Json.Serialization;
using Lineup.Engine;

namespace Lineup.Server.Tenancy;

/// <summary>
/// A state-changing command for one tenant's engine. Accepted commands are written to the command log in the same
/// transaction as their effects; replaying the log through a fresh engine rebuilds the tenant exactly, because the
/// engine is deterministic. Keep each type's JSON shape stable: old logs must still replay.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(UpsertQueueCommand), "upsert_queue")]
[JsonDerivedType(typeof(RemoveQueueCommand), "remove_queue")]
[JsonDerivedType(typeof(UpsertAgentCommand), "upsert_agent")]
[JsonDerivedType(typeof(RemoveAgentCommand), "remove_agent")]
[JsonDerivedType(typeof(SetMemberCommand), "set_member")]
[JsonDerivedType(typeof(RemoveMemberCommand), "remove_member")]
[JsonDerivedType(typeof(SetMembersCommand), "set_members")]
[JsonDerivedType(typeof(LoginCommand), "login")]
[JsonDerivedType(typeof(LogoutCommand), "logout")]
[JsonDerivedType(typeof(SetStatusCommand), "set_status")]
[JsonDerivedType(typeof(EnqueueCommand), "enqueue")]
[JsonDerivedType(typeof(CallEventCommand), "call_event")]
[JsonDerivedType(typeof(PickupCommand), "pickup")]
[JsonDerivedType(typeof(SetRecordingCommand), "set_recording")]
[JsonDerivedType(typeof(TickCommand), "tick")]
[JsonDerivedType(typeof(MediaLostCommand), "media_lost")]
[JsonDerivedType(typeof(SetDispositionCommand), "set_disposition")]
[JsonDerivedType(typeof(SetNightModeCommand), "set_night_mode")]
[JsonDerivedType(typeof(SetMonitorCommand), "set_monitor")]
[JsonDerivedType(typeof(VoicemailLeftCommand), "voicemail_left")]
[JsonDerivedType(typeof(TransferCallCommand), "transfer_call")]
[JsonDerivedType(typeof(TransferToAgentCommand), "transfer_to_agent")]
[JsonDerivedType(typeof(AttendedTransferCommand), "attended_transfer")]
public abstract record TenantCommand
{
    public abstract CommandResult Apply(CallCenter engine, long now);

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(), new ReadOnlySetConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    public static TenantCommand Deserialize(string body) =>
        JsonSerializer.Deserialize<TenantCommand>(body, Json) ?? throw new InvalidDataException("empty command");
}

/// <summary>Creates or replaces a queue. With <paramref name="KeepDialectData"/> (the native API, which does not
/// show those settings) the queue's current dialect data is kept, read when the command is applied, so a replay gives
/// the same result.</summary>
public sealed record UpsertQueueCommand(QueueConfig Config, bool KeepDialectData = false) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.UpsertQueue(KeepDialectData && engine.TryGetQueue(Config.Id, out var q) ? Config with { DialectData = q.Config.DialectData } : Config, now);
}

public sealed record RemoveQueueCommand(int QueueId) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) => engine.RemoveQueue(new QueueId(QueueId), now);
}

/// <summary>Creates or replaces an agent; <paramref name="KeepDialectData"/> as for <see cref="UpsertQueueCommand"/>.</summary>
public sealed record UpsertAgentCommand(AgentConfig Config, bool KeepDialectData = false) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.UpsertAgent(KeepDialectData && engine.TryGetAgent(Config.Id, out var a) ? Config with { DialectData = a.Config.DialectData } : Config, now);
}

public sealed record RemoveAgentCommand(int AgentId) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) => engine.RemoveAgent(new AgentId(AgentId), now);
}

public sealed record SetMemberCommand(int QueueId, int AgentId, MemberConfig Config) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.SetMember(new QueueId(QueueId), new AgentId(AgentId), Config, now);
}

public sealed record RemoveMemberCommand(int QueueId, int AgentId) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.RemoveMember(new QueueId(QueueId), new AgentId(AgentId), now);
}

public sealed record MemberEntry(int AgentId, MemberConfig Config);

/// <summary>Sets a queue's membership to exactly this list: others are removed, these added or updated.</summary>
public sealed record SetMembersCommand(int QueueId, IReadOnlyList<MemberEntry> Members) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now)
    {
        if (!engine.TryGetQueue(new QueueId(QueueId), out var q)) return CommandResult.UnknownQueue;
        foreach (var m in Members)
            if (!engine.TryGetAgent(new AgentId(m.AgentId), out _)) return CommandResult.UnknownAgent;
        var keep = Members.Select(m => m.AgentId).ToHashSet();
        foreach (var m in q.Members.Where(m => !keep.Contains(m.Agent.Id.Value)).ToList())
            engine.RemoveMember(q.Id, m.Agent.Id, now);
        foreach (var m in Members) engine.SetMember(q.Id, new AgentId(m.AgentId), m.Config, now);
        return CommandResult.Ok;
    }
}

/// <summary>Logs an agent in; <paramref name="Source"/> ("phone") says where from, null for the APIs.</summary>
public sealed record LoginCommand(int AgentId, IReadOnlyList<int>? Queues, string? Source = null) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.Login(new AgentId(AgentId), Queues?.Select(q => new QueueId(q)).ToList(), now, Source);
}

public sealed record LogoutCommand(int AgentId, IReadOnlyList<int>? Queues, string? Source = null) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.Logout(new AgentId(AgentId), Queues?.Select(q => new QueueId(q)).ToList(), now, Source);
}

public sealed record SetStatusCommand(int AgentId, AgentStatus Status, string? Reason) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.SetAgentStatus(new AgentId(AgentId), Status, Reason, now);
}

public sealed record EnqueueCommand(int QueueId, string Number, string? Name, int Priority, string? ExternalId) : TenantCommand
{
    /// <summary>The id the engine gave the call (not serialized: replay recomputes it).</summary>
    [JsonIgnore]
    public CallId Call { get; private set; }

    public override CommandResult Apply(CallCenter engine, long now)
    {
        var r = engine.Enqueue(new QueueId(QueueId), new CallerInfo(Number, Name, Priority, ExternalId), now);
        Call = r.Call;
        return r.Result;
    }
}

/// <summary>What the PBX reports about a call (the call-control API's event types).</summary>
public enum CallEventType
{
    AgentAnswered,
    AgentRejected,
    AgentBusy,
    AgentNoAnswer,
    CallerHangup,
    AgentHangup,
    Dtmf,
    CallbackRequested,
    CallbackAnswered,
    CallbackFailed,
    Cancel,
}

public sealed record CallEventCommand(long CallId, CallEventType Event, int? AgentId, string? Digits) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now)
    {
        var call = new CallId(CallId);
        var agent = new AgentId(AgentId ?? 0);
        return Event switch
        {
            CallEventType.AgentAnswered => engine.AgentAnswered(call, agent, now),
            CallEventType.AgentRejected => engine.AgentRejected(call, agent, now),
            CallEventType.AgentBusy => engine.AgentBusy(call, agent, now),
            CallEventType.AgentNoAnswer => engine.AgentNoAnswer(call, agent, now),
            CallEventType.CallerHangup => engine.CallerHangup(call, now),
            CallEventType.AgentHangup => engine.AgentHangup(call, now),
            CallEventType.Dtmf => engine.CallerDigits(call, Digits ?? "", now),
            CallEventType.CallbackRequested => engine.RequestCallback(call, Digits, now),
            CallEventType.CallbackAnswered => engine.CallbackAnswered(call, now),
            CallEventType.CallbackFailed => engine.CallbackFailed(call, now),
            CallEventType.Cancel => engine.CancelCall(call, now),
            _ => CommandResult.InvalidArgument,
        };
    }
}

public sealed record PickupCommand(long CallId, int AgentId) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.Pickup(new CallId(CallId), new AgentId(AgentId), now);
}

/// <summary>A blind transfer of a connected call to another queue (<paramref name="QueueId"/>) or a number
/// (<paramref name="Number"/>): <see cref="CallCenter.TransferCall"/>.</summary>
public sealed record TransferCallCommand(long CallId, int? QueueId, string? Number) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) => engine.TransferCall(new CallId(CallId),
        QueueId is { } q ? Destination.ToQueue(new QueueId(q)) : Destination.ToNumber(Number ?? ""), now);
}

/// <summary>A transfer of a connected call to one agent, and where the caller goes when that agent does not take it
/// (null: it stays in its queue): <see cref="CallCenter.TransferToAgent"/>.</summary>
public sealed record TransferToAgentCommand(long CallId, int AgentId, TransferFallback? Fallback) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.TransferToAgent(new CallId(CallId), new AgentId(AgentId), Fallback?.ToDestination(), now);
}

/// <summary>The end of an attended transfer: the caller of <paramref name="CallId"/> goes on with the agent of
/// <paramref name="ConsultationId"/>: <see cref="CallCenter.CompleteAttendedTransfer"/>.</summary>
public sealed record AttendedTransferCommand(long CallId, long ConsultationId) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) =>
        engine.CompleteAttendedTransfer(new CallId(CallId), new CallId(ConsultationId), now);
}

/// <summary>A transfer's fallback as the command log keeps it: a queue, a number, voicemail (a box, or none) or a hang-up.</summary>
public sealed record TransferFallback(DestinationKind Kind, int? QueueId = null, string? Target = null)
{
    public Destination ToDestination() => Kind switch
    {
        DestinationKind.Queue => Destination.ToQueue(new QueueId(QueueId ?? 0)),
        DestinationKind.Number => Destination.ToNumber(Target ?? ""),
        DestinationKind.Voicemail => Destination.ToVoicemail(Target),
        DestinationKind.Hangup => Destination.Hangup,
        _ => new Destination(Kind),
    };
}

/// <summary>Reads and writes <see cref="IReadOnlySet{T}"/> of strings (VIP numbers, blacklist) as a JSON array.</summary>
internal sealed class ReadOnlySetConverter : JsonConverter<IReadOnlySet<string>>
{
    public override IReadOnlySet<string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JsonSerializer.Deserialize<List<string>>(ref reader, options)?.ToHashSet(StringComparer.Ordinal) ?? new HashSet<string>();

    public override void Write(Utf8JsonWriter writer, IReadOnlySet<string> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var s in value.Order(StringComparer.Ordinal)) writer.WriteStringValue(s);
        writer.WriteEndArray();
    }
}

/// <summary>The telephony front-end records the call under <paramref name="RecordingId"/>; kept in its CDR.</summary>
public sealed record SetRecordingCommand(long CallId, string RecordingId) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now)
    {
        if (!engine.TryGetCall(new CallId(CallId), out var call)) return CommandResult.UnknownCall;
        call.Record.RecordingId = RecordingId;
        return CommandResult.Ok;
    }
}

/// <summary>The cluster node that carried the call's SIP legs and media died (docs/cluster.md, "Telephony"): the call
/// ends as <c>lost_on_node_failure</c>, its agent (if talking) wraps up and becomes available again.</summary>
public sealed record MediaLostCommand(long CallId) : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now) => engine.MediaLost(new CallId(CallId), now);
}

/// <summary>The clock reached the command's time and timers fired: logged by the host whenever that produced events
/// (a ring timeout, a max wait, the end of a wrap-up), so that a replay fires them in the same place among the commands
/// and the events they caused are never emitted a second time when the tenant starts again.</summary>
public sealed record TickCommand : TenantCommand
{
    public override CommandResult Apply(CallCenter engine, long now)
    {
        engine.Advance(now);
        return CommandResult.Ok;
    }
}
