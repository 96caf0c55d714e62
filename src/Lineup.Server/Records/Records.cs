using System.Text.Json;
using System.Text.Json.Serialization;
using Lineup.Engine;

namespace Lineup.Server.Records;

/// <summary>
/// The JSON of what Lineup stores and publishes (CDR rows, daily statistics rows, event payloads): snake_case names
/// and enum strings. A contract of its own, separate from the API's DTOs, so renaming an API field never changes a
/// stored row or a webhook body (tests/Lineup.Server.Tests/RecordsGoldenTests.cs pins it).
/// </summary>
public static class RecordJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
        // Rows written by a later version may carry more: an older reader skips what it does not know.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        MaxDepth = 16,
    };

    /// <summary>An enum value's spelling in records and events ("not_ready").</summary>
    public static string Snake<T>(T value) where T : struct, Enum => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

    public static DateTimeOffset Time(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs);
}

public sealed record CdrVisitRecord(long QueueId, DateTimeOffset EnteredAt, DateTimeOffset? LeftAt, ExitReason ExitReason);

public sealed record CdrAttemptRecord(long AgentId, long QueueId, DateTimeOffset OfferedAt, DateTimeOffset? EndedAt, AttemptOutcome Outcome, bool Pickup);

/// <summary>The media quality of one leg of a call (RFC 3550 §6.4, §A.8): what Lineup received from the party's phone,
/// and, from the phone's RTCP reports, what it received of Lineup's stream and the round trip.</summary>
/// <param name="PacketsReceived">RTP packets received from the phone.</param>
/// <param name="PacketsLost">Packets the phone's sequence numbers say were lost.</param>
/// <param name="LossPercent">Lost over expected, in percent.</param>
/// <param name="JitterMeanMs">Mean interarrival jitter, ms.</param>
/// <param name="JitterMaxMs">Highest interarrival jitter, ms.</param>
/// <param name="RttMs">Mean round trip from the phone's reports (LSR/DLSR), ms; null when it sent none that allow it.</param>
/// <param name="RemotePacketsLost">Lineup's packets the phone reported lost, or null without reports.</param>
/// <param name="RemoteJitterMs">Jitter of Lineup's packets as the phone reported it, ms, or null without reports.</param>
/// <param name="RtcpReceived">RTCP reports received from the phone.</param>
public sealed record CdrLegQualityRecord(long PacketsReceived, long PacketsLost, double LossPercent, double JitterMeanMs,
    double JitterMaxMs, double? RttMs, long? RemotePacketsLost, double? RemoteJitterMs, long RtcpReceived)
{
    public static CdrLegQualityRecord From(in Lineup.Sip.Media.RtpLegQuality q) => new(
        q.PacketsReceived, q.PacketsLost, Math.Round(q.LossPercent, 2), Math.Round(q.JitterMeanMs, 2), Math.Round(q.JitterMaxMs, 2),
        q.RoundTripMs is { } rtt ? Math.Round(rtt, 2) : null, q.RemotePacketsLost, q.RemoteJitterMs is { } j ? Math.Round(j, 2) : null,
        q.RtcpReceived);
}

/// <summary>A call's media quality: the caller's leg and the agent leg it talked to (null: no such leg, e.g. an
/// abandoned call has no agent).</summary>
public sealed record CdrMediaQualityRecord(CdrLegQualityRecord? Caller, CdrLegQualityRecord? Agent);

/// <summary>A call detail record as stored in <c>cdrs.body</c> and carried by <c>call.completed</c>.
/// <see cref="MediaQuality"/> is null for calls without SIP media on this node (API calls, a cluster's other node).</summary>
public sealed record CdrRecord(
    long CallId, string CallerNumber, string? CallerName, string? ExternalId, int Priority, DateTimeOffset EnteredAt,
    DateTimeOffset? AnsweredAt, DateTimeOffset? TalkEndedAt, DateTimeOffset EndedAt, string Disposition, ExitReason ExitReason,
    long? AgentId, long? AnsweredQueueId, double WaitSeconds, double TalkSeconds, double WrapUpSeconds,
    string? DestinationTarget, bool Callback, string? CallbackNumber, IReadOnlyList<CdrVisitRecord> Queues,
    IReadOnlyList<CdrAttemptRecord> Attempts, string? RecordingId = null, string? DispositionCode = null, int? Rating = null,
    CdrMediaQualityRecord? MediaQuality = null)
{
    public static CdrRecord From(CallRecord r, CdrMediaQualityRecord? mediaQuality = null) => new(
        r.Id.Value, r.CallerNumber, r.CallerName, r.ExternalId, r.Priority, RecordJson.Time(r.EnteredAt),
        r.AnsweredAt is { } a ? RecordJson.Time(a) : null, r.TalkEndedAt is { } t ? RecordJson.Time(t) : null, RecordJson.Time(r.EndedAt ?? r.EnteredAt),
        RecordJson.Snake(r.Disposition), r.ExitReason, r.AnsweredBy?.Value, r.AnsweredIn?.Value, r.WaitSeconds, r.TalkSeconds,
        r.WrapUpSeconds, r.DestinationTarget, r.WasCallback, r.CallbackNumber,
        [.. r.Queues.Select(v => new CdrVisitRecord(v.Queue.Value, RecordJson.Time(v.EnteredAt), v.LeftAt == 0 ? null : RecordJson.Time(v.LeftAt), v.ExitReason))],
        [.. r.Attempts.Select(x => new CdrAttemptRecord(x.Agent.Value, x.Queue.Value, RecordJson.Time(x.OfferedAt), x.EndedAt == 0 ? null : RecordJson.Time(x.EndedAt), x.Outcome, x.Pickup))],
        r.RecordingId, r.DispositionCode, r.Rating, mediaQuality);

    public string Json() => JsonSerializer.Serialize(this, RecordJson.Options);

    public static CdrRecord Parse(string json) => JsonSerializer.Deserialize<CdrRecord>(json, RecordJson.Options)!;

    /// <summary>The queue the call was last in (0: none).</summary>
    public long LastQueue() => Queues.Count > 0 ? Queues[^1].QueueId : 0;
}

/// <summary>A queue's statistics for one day, as stored in <c>queue_daily_stats.body</c> and carried by
/// <c>queue.stats_changed</c> as <c>today</c>.</summary>
public sealed record DailyStatsRecord(
    int Offered, int Answered, int Abandoned, int ShortAbandoned, int TimedOut, int Overflowed, int ExitedByKey,
    int CallbacksRequested, int Rejected, double AverageWaitSeconds, double AverageWaitAnsweredSeconds,
    double MaxWaitSeconds, double AverageTalkSeconds, double AverageHandleSeconds, double ServiceLevel,
    int AnsweredWithinSla, int SlaEligible, int Ratings = 0, double AverageRating = 0)
{
    /// <summary>A day with no stored figures.</summary>
    public static readonly DailyStatsRecord Empty = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.0, 0, 0);

    public static DailyStatsRecord From(Queue q)
    {
        var s = q.Today;
        return new DailyStatsRecord(s.Offered, s.Answered, s.Abandoned, s.ShortAbandoned, s.TimedOut, s.Overflowed, s.ExitedByKey,
            s.CallbacksRequested, s.Rejected, Math.Round(s.AverageWaitSeconds, 3), Math.Round(s.AverageWaitAnsweredSeconds, 3),
            s.MaxWaitMs / 1000.0, Math.Round(s.AverageTalkSeconds, 3), Math.Round(s.AverageHandleSeconds, 3),
            Math.Round(s.ServiceLevel, 4), s.AnsweredWithinSla, s.SlaEligible, s.Ratings, Math.Round(s.AverageRating, 3));
    }

    public string Json() => JsonSerializer.Serialize(this, RecordJson.Options);

    public static DailyStatsRecord Parse(string json) => JsonSerializer.Deserialize<DailyStatsRecord>(json, RecordJson.Options)!;
}

/// <summary>A queue's live figures, as carried by <c>queue.stats_changed</c> as <c>status</c>. A struct: every status read
/// makes one on its way to the API's DTO.</summary>
public readonly record struct QueueStatusRecord(
    long QueueId, string Name, int Waiting, int Ringing, int Callbacks, int Talking, double LongestWaitSeconds,
    int LoggedInAgents, int AvailableAgents, int BusyAgents, int NotReadyAgents, int WrapUpAgents,
    double EstimatedWaitSeconds, bool NightMode)
{
    public static QueueStatusRecord From(CallCenter engine, Queue q) => new(
        q.Id.Value, q.Config.Name, q.WaitingCount, q.RingingCount, q.CallbackCount, q.TalkingCount,
        q.OldestEntry is { } oldest ? Math.Max(0, engine.Now - oldest) / 1000.0 : 0,
        q.LoggedInAgents, q.AvailableAgents, q.BusyAgents, q.NotReadyAgents, q.WrapUpAgents,
        Math.Round(engine.EstimateWaitSeconds(q.Id), 1), q.NightMode);
}

/// <summary>
/// A voicemail as stored beside its audio (<c>&lt;id&gt;.json</c> next to <c>&lt;id&gt;.wav</c>, see
/// <see cref="Telephony.VoicemailBox"/>). <see cref="Complete"/> is false while the message is being recorded (a crash
/// then leaves it incomplete, and the box completes it from its audio at the next start). <see cref="MailState"/>:
/// <c>none</c> (no address, or no SMTP server configured), <c>pending</c>, <c>sent</c>, or <c>failed</c> after the
/// last attempt.
/// </summary>
public sealed record VoicemailRecord(
    long Id, long QueueId, long CallId, string CallerNumber, string? CallerName, DateTimeOffset CreatedAt, double DurationSeconds,
    bool Complete, string? MailTo, bool AttachAudio, string MailState, int MailAttempts, string? MailError, DateTimeOffset? MailedAt)
{
    public const string MailNone = "none";
    public const string MailPending = "pending";
    public const string MailSent = "sent";
    public const string MailFailed = "failed";

    public string Json() => JsonSerializer.Serialize(this, RecordJson.Options);

    public static VoicemailRecord? Parse(string json) => JsonSerializer.Deserialize<VoicemailRecord>(json, RecordJson.Options);
}

/// <summary>The data of <c>voicemail.left</c>: the stored message's id, who left it, its length, where its audio is.</summary>
public sealed record VoicemailLeftRecord(long VoicemailId, string? CallerNumber, double DurationSeconds, string AudioUrl)
{
    public static VoicemailLeftRecord From(EngineEvent e) =>
        new(e.Value, e.Text, e.Value2 / 1000.0, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"/api/v1/voicemails/{e.Value}/audio"));
}
