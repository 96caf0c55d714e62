using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lineup.Engine.Snapshots;

/// <summary>
/// A <see cref="CallCenter"/>'s complete state between two commands: everything that affects its future events.
/// <see cref="CallCenter.Capture"/> takes it and <see cref="CallCenter.Restore"/> rebuilds an engine from it that
/// answers every later command exactly as the original would (same events, same state). It is the persisted
/// contract of a tenant's snapshot, so these records are written for storage, not for the API: explicit field
/// names, enums as names, collections in a canonical order (queues, agents and calls by id, timers by due time,
/// then scheduling order), so the same state always serializes to the same bytes. A change to the shape needs a
/// new <see cref="CurrentVersion"/>; <c>SnapshotFormatTests</c> pins the current one (tests/Lineup.Engine.Tests/Snapshots/v1.json).
/// <para>Queue, agent and member relations, waiting order, available-agent order, offers and timers refer to one
/// another by id. Derived indexes (level lists, back-pointers, positions in the available list) are rebuilt.</para>
/// </summary>
public sealed record EngineSnapshot
{
    /// <summary>The shape this build writes and the only one it reads.</summary>
    public const int CurrentVersion = 1;

    public int Version { get; init; }
    public OptionsSnapshot Options { get; init; } = new();

    /// <summary>The engine's clock (Unix ms): the time of the last command or timer.</summary>
    public long Now { get; init; }

    /// <summary>When today's statistics reset next (Unix ms).</summary>
    public long DayEnd { get; init; }

    /// <summary>The engine's generation counter behind offer, wrap-up and visit sequences.</summary>
    public long Seq { get; init; }

    /// <summary>Timers scheduled so far: the tie-break between timers due at the same time.</summary>
    public long TimerOrder { get; init; }

    /// <summary>Calls created so far; the next call id is <see cref="OptionsSnapshot.CallIdBase"/> + this + 1.</summary>
    public long CallSeq { get; init; }

    /// <summary>State of the random strategy's generator.</summary>
    public ulong Rng { get; init; }

    public IReadOnlyList<QueueSnapshot> Queues { get; init; } = [];
    public IReadOnlyList<AgentSnapshot> Agents { get; init; } = [];

    /// <summary>Calls that have not ended.</summary>
    public IReadOnlyList<CallSnapshot> Calls { get; init; } = [];

    public IReadOnlyList<TimerSnapshot> Timers { get; init; } = [];

    /// <summary>UTF-8 JSON; the same state always gives the same bytes.</summary>
    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, SnapshotJson.Default.EngineSnapshot);

    /// <summary>Reads a snapshot written by <see cref="ToUtf8Json"/>. Throws <see cref="JsonException"/> for bytes that
    /// are not one, <see cref="NotSupportedException"/> for another version: a host then rebuilds the tenant from its
    /// whole command log instead.</summary>
    public static EngineSnapshot FromUtf8Json(ReadOnlySpan<byte> json)
    {
        var snapshot = JsonSerializer.Deserialize(json, SnapshotJson.Default.EngineSnapshot)
            ?? throw new JsonException("the snapshot is null");
        if (snapshot.Version != CurrentVersion)
            throw new NotSupportedException($"snapshot version {snapshot.Version}; this engine reads version {CurrentVersion}");
        return snapshot;
    }
}

/// <summary>The <see cref="EngineOptions"/> in force when the snapshot was taken (the time zone by its id).</summary>
public sealed record OptionsSnapshot
{
    public string TimeZone { get; init; } = "";
    public ulong Seed { get; init; }
    public int DefaultSlaSeconds { get; init; }
    public int MaxQueueHops { get; init; }
    public double HandleTimeSmoothing { get; init; }
    public long CallIdBase { get; init; }
}

public sealed record QueueSnapshot
{
    public QueueSettings Config { get; init; } = new();
    public bool NightMode { get; init; }

    /// <summary>Null: the office hours decide (or, in a snapshot older than the field, night mode was set by hand).</summary>
    public bool? NightOverride { get; init; }
    public QueueStatsSnapshot Today { get; init; } = new();

    /// <summary>Memberships in the queue's own order.</summary>
    public IReadOnlyList<MemberSnapshot> Members { get; init; } = [];

    /// <summary>Agents that can ring now, in the queue's available-list order (the random strategy draws in it).</summary>
    public IReadOnlyList<int> Available { get; init; } = [];

    /// <summary>Members per live category: logged out, available, busy, not ready, wrap-up.</summary>
    public IReadOnlyList<int> CategoryCounts { get; init; } = [];

    public int WaitingCount { get; init; }
    public int RingingCount { get; init; }
    public int CallbackCount { get; init; }
    public int TalkingCount { get; init; }

    /// <summary>Queued calls by priority (highest first), each bucket in queue order; empty buckets included.</summary>
    public IReadOnlyList<BucketSnapshot> Buckets { get; init; } = [];

    /// <summary>Waiting calls in the order they entered this queue.</summary>
    public IReadOnlyList<long> Arrivals { get; init; } = [];

    public long RoundRobinKey { get; init; }
    public long NoAgentSince { get; init; }
    public long NoAgentTimerSeq { get; init; }
    public double RecentHandleSeconds { get; init; }
    public long LastServedWaitMs { get; init; }

    /// <summary>The agent that last answered each caller (sticky agent), by caller number in ordinal order.</summary>
    public IReadOnlyList<StickySnapshot> Sticky { get; init; } = [];
}

public sealed record BucketSnapshot
{
    public int Priority { get; init; }
    public IReadOnlyList<long> Calls { get; init; } = [];
}

public sealed record StickySnapshot
{
    public string Caller { get; init; } = "";
    public int Agent { get; init; }
    public long At { get; init; }
}

public sealed record MemberSnapshot
{
    public int Agent { get; init; }
    public MemberSettings Config { get; init; } = new();
    public bool LoggedIn { get; init; }
    public long LastOfferedAt { get; init; }
    public long LastAnsweredAt { get; init; }

    /// <summary>Where the membership counts in the queue's live figures: LoggedOut, Available, Busy, NotReady or WrapUp.</summary>
    public string Category { get; init; } = "";
}

public sealed record QueueStatsSnapshot
{
    public int Offered { get; init; }
    public int Answered { get; init; }
    public int Abandoned { get; init; }
    public int ShortAbandoned { get; init; }
    public int TimedOut { get; init; }
    public int Overflowed { get; init; }
    public int ExitedByKey { get; init; }
    public int CallbacksRequested { get; init; }
    public int Rejected { get; init; }
    public int AnsweredWithinSla { get; init; }
    public int SlaEligible { get; init; }
    public long SumWaitAnsweredMs { get; init; }
    public long SumWaitAllMs { get; init; }
    public int Left { get; init; }
    public long MaxWaitMs { get; init; }
    public long SumTalkMs { get; init; }
    public long SumHandleMs { get; init; }
    public int Handled { get; init; }
    public int Ratings { get; init; }
    public long SumRatings { get; init; }
}

public sealed record AgentSnapshot
{
    public AgentSettings Config { get; init; } = new();
    public AgentStatus Status { get; init; }
    public string? Reason { get; init; }
    public long StatusSince { get; init; }
    public long StatusAccountedAt { get; init; }
    public AgentActivity Activity { get; init; }
    public bool NonQueueBusy { get; init; }
    public bool InDelay { get; init; }
    public long DelayUntil { get; init; }
    public int ConsecutiveNoAnswers { get; init; }
    public long LastIdleSince { get; init; }
    public int LoggedInQueueCount { get; init; }

    /// <summary>The queues the agent is a member of, in the agent's own order (the multi-queue policy walks it).</summary>
    public IReadOnlyList<int> Queues { get; init; } = [];

    public long? OfferCall { get; init; }
    public int OfferAttempt { get; init; }
    public long OfferSeq { get; init; }
    public bool OfferRinging { get; init; }
    public int OfferTimeoutSeconds { get; init; }
    public long? TalkCall { get; init; }
    public long? WrapCall { get; init; }
    public long WrapSeq { get; init; }
    public AgentStatus StatusAfterWrap { get; init; }
    public string? ReasonAfterWrap { get; init; }
    public AgentStatsSnapshot Today { get; init; } = new();
}

public sealed record AgentStatsSnapshot
{
    public int Offered { get; init; }
    public int Answered { get; init; }
    public int Missed { get; init; }
    public int Rejected { get; init; }
    public long TalkMs { get; init; }

    /// <summary>Milliseconds today per <see cref="AgentStatus"/>, in the enum's order.</summary>
    public IReadOnlyList<long> StatusMs { get; init; } = [];
}

public sealed record CallSnapshot
{
    /// <summary>The monitoring supervisor, or null.</summary>
    public string? Supervisor { get; init; }
    public SupervisionMode SupervisionMode { get; init; }

    public CallRecordSnapshot Record { get; init; } = new();
    public CallState State { get; init; }
    public int? Queue { get; init; }
    public int Priority { get; init; }
    public long OrderTime { get; init; }
    public long QueueEnteredAt { get; init; }
    public int? ConnectedAgent { get; init; }

    /// <summary>Agents ringing (or reserved) for the call, in the order they were offered it.</summary>
    public IReadOnlyList<int> Offers { get; init; } = [];

    /// <summary>Agents tried in the current round, in order.</summary>
    public IReadOnlyList<int>? Tried { get; init; }

    public int UnansweredAttempts { get; init; }
    public int Hops { get; init; }
    public int CallbackAttempts { get; init; }
    public long NotBefore { get; init; }
    public long VisitSeq { get; init; }
    public bool StickyPending { get; init; }
    public bool StickyRinging { get; init; }
    /// <summary>The call was transferred to one agent whose offer is open; where it goes if that agent does not take
    /// it (null: it stays in its queue).</summary>
    public bool TransferRinging { get; init; }
    public DestinationSnapshot? TransferFallback { get; init; }
    public bool CallbackOffered { get; init; }
    public bool SurveyPending { get; init; }
}

public sealed record CallRecordSnapshot
{
    public long Id { get; init; }
    public string CallerNumber { get; init; } = "";
    public string? CallerName { get; init; }
    public string? ExternalId { get; init; }
    public int Priority { get; init; }
    public long EnteredAt { get; init; }
    public IReadOnlyList<VisitSnapshot> Visits { get; init; } = [];
    public IReadOnlyList<AttemptSnapshot> Attempts { get; init; } = [];
    public long? AnsweredAt { get; init; }
    public int? AnsweredBy { get; init; }
    public int? AnsweredIn { get; init; }
    public long? TalkEndedAt { get; init; }
    public long? EndedAt { get; init; }
    public Disposition Disposition { get; init; }
    public ExitReason ExitReason { get; init; }
    public string? DestinationTarget { get; init; }
    public bool WasCallback { get; init; }
    public string? CallbackNumber { get; init; }
    public string? RecordingId { get; init; }
    public string? DispositionCode { get; init; }
    public int? Rating { get; init; }
}

public sealed record VisitSnapshot
{
    public int Queue { get; init; }
    public long EnteredAt { get; init; }
    public long LeftAt { get; init; }
    public ExitReason ExitReason { get; init; }
}

public sealed record AttemptSnapshot
{
    public int Agent { get; init; }
    public int Queue { get; init; }
    public long OfferedAt { get; init; }
    public long EndedAt { get; init; }
    public AttemptOutcome Outcome { get; init; }
    public bool Pickup { get; init; }
}

/// <summary>
/// A scheduled timer that can still do something. Exactly one of <see cref="Agent"/>, <see cref="Queue"/> and
/// <see cref="Call"/> names its target. Snapshots written before spent timers were left out may hold a timer with
/// none (its target was gone): it is read and dropped unfired, as a spent timer is.
/// </summary>
public sealed record TimerSnapshot
{
    public string Kind { get; init; } = "";
    public long Due { get; init; }
    public long Order { get; init; }
    public long Seq { get; init; }
    public int? Agent { get; init; }
    public int? Queue { get; init; }
    public long? Call { get; init; }
}

public sealed record QueueSettings
{
    public int Id { get; init; }
    public string Name { get; init; } = "";
    public string? Extension { get; init; }

    /// <summary>Dialect documents by dialect name, in ordinal order of the name.</summary>
    public IReadOnlyDictionary<string, string>? DialectData { get; init; }

    public Strategy Strategy { get; init; }
    public bool SkillsRouting { get; init; }
    public int RingTimeoutSeconds { get; init; }
    public int RetrySeconds { get; init; }
    public int MaxCallers { get; init; }
    public int MaxWaitSeconds { get; init; }
    public int MaxWaitNoAgentSeconds { get; init; }
    public bool LeaveWhenNoAgents { get; init; }
    public int NoAnswerMaxAttempts { get; init; }
    public int WrapUpSeconds { get; init; }
    public bool AgentAutoReady { get; init; }
    public bool AgentAutoNotReadyAfterNonQueueCall { get; init; }
    public bool ForceNotReadyOnReject { get; init; }
    public bool SkipBusyAgents { get; init; }
    public int StickyAgentSeconds { get; init; }
    public bool TierRulesApply { get; init; }
    public int TierRuleWaitSeconds { get; init; }
    public bool TierRuleWaitMultiplyLevel { get; init; }
    public int SlaSeconds { get; init; }
    public int Weight { get; init; }

    /// <summary>In ordinal order.</summary>
    public IReadOnlyList<string> VipNumbers { get; init; } = [];

    public int VipPriority { get; init; }

    /// <summary>In ordinal order.</summary>
    public IReadOnlyList<string> Blacklist { get; init; } = [];

    public CallbackSettingsSnapshot Callback { get; init; } = new();
    public string? ExitKey { get; init; }
    public string? IntroPrompt { get; init; }
    public string? PeriodicPrompt { get; init; }
    public int PeriodicAnnounceSeconds { get; init; }
    public PositionAnnouncement PositionAnnouncement { get; init; }
    public int PositionAnnounceSeconds { get; init; }
    public bool RecordCalls { get; init; }
    public string? HoldMusic { get; init; }
    public string? Language { get; init; }
    public int SurveyMaxRating { get; init; }
    public string? SurveyPrompt { get; init; }
    public string? SurveyThanksPrompt { get; init; }
    public string? AgentHangupTransfer { get; init; }
    public bool VoicemailEnabled { get; init; }
    public string? VoicemailGreeting { get; init; }
    public string? VoicemailMailTo { get; init; }

    /// <summary>Stored inverted so that a snapshot written before voicemail reads as the default (attach).</summary>
    public bool VoicemailNoAttachment { get; init; }

    /// <summary>Null (left out): the default, also in a snapshot written before voicemail.</summary>
    public int? VoicemailMaxSeconds { get; init; }
    public int? VoicemailSilenceSeconds { get; init; }
    public string? AgentAnnouncePrompt { get; init; }
    public bool AgentAnnounceWaitTime { get; init; }
    public DestinationSnapshot TimeoutDestination { get; init; } = new();
    public DestinationSnapshot NoAgentsDestination { get; init; } = new();
    public DestinationSnapshot QueueFullDestination { get; init; } = new();
    public DestinationSnapshot NoAnswerDestination { get; init; } = new();
    public DestinationSnapshot ExitKeyDestination { get; init; } = new();
    public DestinationSnapshot NightModeDestination { get; init; } = new();
    public WaitEstimatorKind WaitEstimator { get; init; }
    public int ExpectedHandleSeconds { get; init; }

    /// <summary>Stored inverted so that a snapshot written before queues could be inactive reads as active.</summary>
    public bool Inactive { get; init; }
    /// <summary>Null: hang up (left out, as in snapshots older than the setting).</summary>
    public DestinationSnapshot? InactiveDestination { get; init; }

    /// <summary>Null: none (any code).</summary>
    public IReadOnlyList<string>? DispositionCodes { get; init; }
    public bool DispositionRequired { get; init; }
    public OfficeHours? OfficeHours { get; init; }
}

public sealed record CallbackSettingsSnapshot
{
    public bool Enabled { get; init; }
    public CallbackMode Mode { get; init; }
    public int OfferAfterSeconds { get; init; }
    public string Key { get; init; } = "";
    public int MaxAttempts { get; init; }
    public int RetrySeconds { get; init; }
    public string? OutboundPrefix { get; init; }
}

public sealed record DestinationSnapshot
{
    public DestinationKind Kind { get; init; }
    public int Queue { get; init; }
    public string? Target { get; init; }
}

public sealed record AgentSettings
{
    public int Id { get; init; }
    public string Name { get; init; } = "";
    public AgentKind Kind { get; init; }
    public string? Number { get; init; }
    public int RingTimeoutSeconds { get; init; }
    public int BusyDelaySeconds { get; init; }
    public int RejectDelaySeconds { get; init; }
    public int NoAnswerDelaySeconds { get; init; }
    public int? WrapUpSeconds { get; init; }
    public int MaxConsecutiveNoAnswers { get; init; }

    /// <summary>Dialect documents by dialect name, in ordinal order of the name.</summary>
    public IReadOnlyDictionary<string, string>? DialectData { get; init; }
}

public sealed record MemberSettings
{
    public int Level { get; init; }
    public int Position { get; init; }
    public int SkillLevel { get; init; }
    public int RingDelaySeconds { get; init; }
    public int RingTimeoutSeconds { get; init; }
}

/// <summary>Snapshot serialization: source-generated (no reflection), defaults left out to keep a big tenant small.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
    UseStringEnumConverter = true,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(EngineSnapshot))]
internal sealed partial class SnapshotJson : JsonSerializerContext;
