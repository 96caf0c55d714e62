using System.Buffers;
using System.Text.Json;
using Lineup.Engine;
using Lineup.Server.Records;

namespace Lineup.Server.Events;

/// <summary>The public event types (docs/events.md). Version 1 of the envelope.</summary>
public static class EventTypes
{
    public const int Version = 1;

    public const string AgentLogin = "agent.login";
    public const string AgentLogout = "agent.logout";
    public const string AgentStatusChanged = "agent.status_changed";
    public const string AgentActivityChanged = "agent.activity_changed";
    public const string CallQueued = "call.queued";
    public const string CallOffered = "call.offered";
    public const string CallOfferEnded = "call.offer_ended";
    public const string CallAnswered = "call.answered";
    public const string CallAbandoned = "call.abandoned";
    public const string CallTimedOut = "call.timed_out";
    public const string CallExited = "call.exited";
    public const string CallOverflowed = "call.overflowed";
    public const string CallTransferred = "call.transferred";
    public const string CallCallbackScheduled = "call.callback_scheduled";
    public const string CallCallbackDialing = "call.callback_dialing";
    public const string CallCompleted = "call.completed";
    public const string CallRated = "call.rated";
    public const string QueueStatsChanged = "queue.stats_changed";
    public const string QueueNightModeChanged = "queue.night_mode_changed";
    public const string CallMonitorStarted = "call.monitor_started";
    public const string CallMonitorEnded = "call.monitor_ended";
    public const string VoicemailLeft = "voicemail.left";
    public const string CallTransferStarted = "call.transfer_started";

    public static readonly IReadOnlyList<string> All =
    [
        AgentLogin, AgentLogout, AgentStatusChanged, AgentActivityChanged, CallQueued, CallOffered, CallOfferEnded,
        CallAnswered, CallAbandoned, CallTimedOut, CallExited, CallOverflowed, CallTransferred, CallCallbackScheduled,
        CallCallbackDialing, CallCompleted, CallRated, QueueStatsChanged, QueueNightModeChanged,
        CallMonitorStarted, CallMonitorEnded, VoicemailLeft, CallTransferStarted,
    ];

    private static readonly HashSet<string> s_known = new(All, StringComparer.Ordinal);

    public static bool IsKnown(string type) => s_known.Contains(type);
}

/// <summary>One public event: the envelope, already serialized (shared by the store, the stream and webhooks).</summary>
public sealed record EventRecord(long TenantId, long Seq, long At, string Type, long? QueueId, long? AgentId, long? CallId, string Json)
{
    public string Id => $"{TenantId}-{Seq}";

    /// <summary>Deliveries of one call, else of one agent, else of one queue keep their order. Statistics snapshots
    /// are not ordered among themselves (each is complete, and its seq tells which is newer): ordering them would make
    /// a busy queue's one key the bottleneck of its subscription.</summary>
    public string OrderingKey => Type == EventTypes.QueueStatsChanged ? $"s{Seq}"
        : CallId is { } c ? $"c{c}" : AgentId is { } a ? $"a{a}" : QueueId is { } q ? $"q{q}" : "";
}

/// <summary>
/// Turns the engine's events into public events. Runs in the tenant's mailbox, right after the command, so it may
/// read the engine's state (names, numbers, the call's caller) as it is at that moment.
/// </summary>
public sealed class EventMapper(long tenantId)
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer = new(Stream.Null);

    public long LastSeq { get; set; }

    /// <summary>Maps <paramref name="e"/> to zero or one public event, appended to <paramref name="output"/>. A call's
    /// end carries its CDR as <paramref name="cdrJson"/>, already serialized for the CDR row.</summary>
    public void Map(CallCenter engine, EngineEvent e, List<EventRecord> output, string? cdrJson = null)
    {
        switch (e.Kind)
        {
            case EventKind.AgentLoggedIn:
            case EventKind.AgentLoggedOut:
                Agent(engine, e, output, e.Kind == EventKind.AgentLoggedIn ? EventTypes.AgentLogin : EventTypes.AgentLogout, w =>
                {
                    engine.TryGetAgent(e.Agent, out var a);
                    w.WriteString("status", a != null ? RecordJson.Snake(a.Status) : null);
                    if (e.Text != null) w.WriteString("source", e.Text); // "phone": a feature code or a REGISTER
                });
                break;
            case EventKind.AgentStatusChanged:
                Agent(engine, e, output, EventTypes.AgentStatusChanged, w =>
                {
                    w.WriteString("status", RecordJson.Snake((AgentStatus)e.Code));
                    w.WriteString("reason", e.Text);
                });
                break;
            case EventKind.AgentActivityChanged:
                Agent(engine, e, output, EventTypes.AgentActivityChanged, w =>
                {
                    w.WriteString("activity", RecordJson.Snake((AgentActivity)e.Code));
                    engine.TryGetAgent(e.Agent, out var a);
                    if (a?.CurrentCall is { } call) w.WriteNumber("current_call_id", call.Value);
                    else w.WriteNull("current_call_id");
                });
                break;
            case EventKind.CallQueued:
                Call(engine, e, output, EventTypes.CallQueued, w => w.WriteNumber("position", e.Value));
                break;
            case EventKind.CallOffered:
                Call(engine, e, output, EventTypes.CallOffered, w => w.WriteNumber("ring_timeout", e.Value));
                break;
            case EventKind.OfferEnded:
                Call(engine, e, output, EventTypes.CallOfferEnded, w => w.WriteString("outcome", RecordJson.Snake((AttemptOutcome)e.Code)));
                break;
            case EventKind.CallAnswered:
                Call(engine, e, output, EventTypes.CallAnswered, w => w.WriteNumber("wait_seconds", e.Value / 1000.0));
                break;
            case EventKind.CallMoved:
                Call(engine, e, output, EventTypes.CallOverflowed, w =>
                {
                    w.WriteNumber("to_queue_id", e.Value);
                    w.WriteString("reason", RecordJson.Snake((ExitReason)e.Code));
                });
                break;
            case EventKind.CallLeftQueue:
                var reason = (ExitReason)e.Code;
                var type = reason switch
                {
                    ExitReason.Abandoned or ExitReason.Cancelled => EventTypes.CallAbandoned,
                    ExitReason.Timeout or ExitReason.NoAnswer => EventTypes.CallTimedOut,
                    _ => EventTypes.CallExited,
                };
                Call(engine, e, output, type, w => w.WriteString("reason", RecordJson.Snake(reason)));
                break;
            case EventKind.CallTransferred:
            case EventKind.CallToVoicemail:
                Call(engine, e, output, EventTypes.CallTransferred, w =>
                {
                    w.WriteString("destination", e.Kind == EventKind.CallToVoicemail ? "voicemail" : "number");
                    w.WriteString("target", e.Text);
                });
                break;
            case EventKind.CallTransferStarted:
                Call(engine, e, output, EventTypes.CallTransferStarted, w =>
                {
                    var to = (TransferTarget)e.Code;
                    w.WriteString("destination", to switch
                    {
                        TransferTarget.Queue => "queue",
                        TransferTarget.Agent => "agent",
                        TransferTarget.Call => "call",
                        _ => "number",
                    });
                    Id(w, "to_queue_id", to == TransferTarget.Queue, e.Value);
                    Id(w, "to_agent_id", to == TransferTarget.Agent, e.Value);
                    Id(w, "to_call_id", to == TransferTarget.Call, e.Value);
                    w.WriteString("target", e.Text);
                });
                break;
            case EventKind.CallbackScheduled:
                Call(engine, e, output, EventTypes.CallCallbackScheduled, w => w.WriteString("callback_number", e.Text));
                break;
            case EventKind.CallbackDial:
                Call(engine, e, output, EventTypes.CallCallbackDialing, w => w.WriteString("callback_number", e.Text));
                break;
            case EventKind.CallEnded when e.Record is { } record:
                var queue = record.Queues.Count > 0 ? record.Queues[^1].Queue.Value : (long?)null;
                Write(output, EventTypes.CallCompleted, e.At, queue, record.AnsweredBy?.Value, record.Id.Value, w =>
                {
                    w.WritePropertyName("cdr");
                    if (cdrJson != null) w.WriteRawValue(cdrJson, skipInputValidation: true);
                    else JsonSerializer.Serialize(w, CdrRecord.From(record), RecordJson.Options);
                });
                break;
            case EventKind.CallRated:
                Call(engine, e, output, EventTypes.CallRated, w => w.WriteNumber("rating", e.Code));
                break;
            case EventKind.QueueNightModeChanged:
                Write(output, EventTypes.QueueNightModeChanged, e.At, e.Queue.Value, null, null, w => w.WriteBoolean("night_mode", e.Code == 1));
                break;
            case EventKind.CallMonitorStarted:
            case EventKind.CallMonitorEnded:
                Write(output, e.Kind == EventKind.CallMonitorStarted ? EventTypes.CallMonitorStarted : EventTypes.CallMonitorEnded, e.At,
                    e.Queue.Value == 0 ? null : e.Queue.Value, e.Agent.Value == 0 ? null : e.Agent.Value, e.Call.Value, w =>
                    {
                        w.WriteString("supervisor", e.Text);
                        w.WriteString("mode", RecordJson.Snake((SupervisionMode)e.Code));
                    });
                break;
            case EventKind.VoicemailLeft:
                Write(output, EventTypes.VoicemailLeft, e.At, e.Queue.Value, null, e.Call.Value, w =>
                {
                    foreach (var p in JsonSerializer.SerializeToElement(VoicemailLeftRecord.From(e), RecordJson.Options).EnumerateObject()) p.WriteTo(w);
                });
                break;
            default:
                // Media effects (ring, announcements, hang up) and wrap-up start (an agent status change says it).
                break;
        }
    }

    /// <summary>The live figures and today's statistics of a queue after a batch that touched it; <c>todayJson</c> is
    /// today's statistics, already serialized for the daily statistics row.</summary>
    public void QueueStats(CallCenter engine, Queue q, string todayJson, List<EventRecord> output) =>
        Write(output, EventTypes.QueueStatsChanged, engine.Now, q.Id.Value, null, null, w =>
        {
            w.WritePropertyName("status");
            JsonSerializer.Serialize(w, QueueStatusRecord.From(engine, q), RecordJson.Options);
            w.WritePropertyName("today");
            w.WriteRawValue(todayJson, skipInputValidation: true);
        });

    private void Agent(CallCenter engine, EngineEvent e, List<EventRecord> output, string type, Action<Utf8JsonWriter> data)
    {
        engine.TryGetAgent(e.Agent, out var a);
        Write(output, type, e.At, e.Queue.Value == 0 ? null : e.Queue.Value, e.Agent.Value, null, w =>
        {
            w.WriteString("agent_name", a?.Config.Name);
            w.WriteString("agent_kind", a != null ? RecordJson.Snake(a.Config.Kind) : null);
            w.WriteString("agent_number", a?.Config.Number);
            data(w);
        });
    }

    /// <summary>An id property: <paramref name="value"/> when <paramref name="present"/>, else null.</summary>
    private static void Id(Utf8JsonWriter w, string name, bool present, long value)
    {
        if (present) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    private void Call(CallCenter engine, EngineEvent e, List<EventRecord> output, string type, Action<Utf8JsonWriter> data)
    {
        engine.TryGetCall(e.Call, out var c);
        var record = c?.Record ?? e.Record;
        Write(output, type, e.At, e.Queue.Value == 0 ? null : e.Queue.Value, e.Agent.Value == 0 ? null : e.Agent.Value, e.Call.Value, w =>
        {
            w.WriteString("caller_number", record?.CallerNumber);
            w.WriteString("caller_name", record?.CallerName);
            w.WriteString("external_id", record?.ExternalId);
            data(w);
        });
    }

    private void Write(List<EventRecord> output, string type, long at, long? queue, long? agent, long? call, Action<Utf8JsonWriter> data)
    {
        var seq = ++LastSeq;
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        var w = _writer;
        w.WriteStartObject();
        w.WriteString("id", $"{tenantId}-{seq}");
        w.WriteNumber("seq", seq);
        w.WriteString("type", type);
        w.WriteNumber("version", EventTypes.Version);
        w.WriteNumber("tenant_id", tenantId);
        w.WriteString("occurred_at", DateTimeOffset.FromUnixTimeMilliseconds(at));
        Id(w, "queue_id", queue);
        Id(w, "agent_id", agent);
        Id(w, "call_id", call);
        w.WriteStartObject("data");
        data(w);
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();
        var json = System.Text.Encoding.UTF8.GetString(_buffer.WrittenSpan);
        output.Add(new EventRecord(tenantId, seq, at, type, queue, agent, call, json));
    }

    private static void Id(Utf8JsonWriter w, string name, long? id)
    {
        if (id is { } v) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }
}
