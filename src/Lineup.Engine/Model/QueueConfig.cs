namespace Lineup.Engine;

/// <summary>
/// Every routing-relevant setting of a queue, the union of the five seed documents. Durations are in seconds;
/// 0 means "off" unless stated otherwise. Media references (prompt ids) are opaque to the engine: it only says
/// when to play them.
/// </summary>
public sealed record QueueConfig
{
    public required QueueId Id { get; init; }
    public string Name { get; init; } = "";

    /// <summary>The number callers dial to reach the queue; unique in the tenant when set.</summary>
    public string? Extension { get; init; }

    /// <summary>Settings of the vendor dialects that the engine does not interpret, kept and returned as given: one
    /// JSON document per dialect name. The engine never reads them.</summary>
    public IReadOnlyDictionary<string, string> DialectData { get; init; } = NoDialectData;

    public static readonly IReadOnlyDictionary<string, string> NoDialectData = new Dictionary<string, string>(StringComparer.Ordinal);

    public Strategy Strategy { get; init; } = Strategy.RingAll;

    /// <summary>Route to the best (lowest) skill level first, widening to the next level when a level has no answer.</summary>
    public bool SkillsRouting { get; init; }

    /// <summary>Seconds each offer rings before it counts as no answer (membership and agent timeouts override).</summary>
    public int RingTimeoutSeconds { get; init; } = 20;

    /// <summary>Seconds to wait after every eligible agent was tried once before a new round starts (a PBX queue's "retry" setting).</summary>
    public int RetrySeconds { get; init; }

    /// <summary>Over this many calls already waiting, a new call goes to <see cref="QueueFullDestination"/>. 0: no limit.</summary>
    public int MaxCallers { get; init; }

    /// <summary>After this many seconds in the queue a call goes to <see cref="TimeoutDestination"/>. 0: no limit.</summary>
    public int MaxWaitSeconds { get; init; }

    /// <summary>A call that has had no agent logged in to the queue for this long goes to <see cref="NoAgentsDestination"/>. 0: off.</summary>
    public int MaxWaitNoAgentSeconds { get; init; }

    /// <summary>A call arriving when no agent is logged in leaves at once for <see cref="NoAgentsDestination"/>.</summary>
    public bool LeaveWhenNoAgents { get; init; }

    /// <summary>After this many unanswered offers a call goes to <see cref="NoAnswerDestination"/>. 0: off.</summary>
    public int NoAnswerMaxAttempts { get; init; }

    public int WrapUpSeconds { get; init; }

    /// <summary>Agents become Ready on login and after a call; otherwise Not Ready.</summary>
    public bool AgentAutoReady { get; init; } = true;

    /// <summary>Agents become Not Ready after a non-queue call (ignored when <see cref="AgentAutoReady"/>).</summary>
    public bool AgentAutoNotReadyAfterNonQueueCall { get; init; } = true;

    /// <summary>An agent who rejects a call becomes Not Ready.</summary>
    public bool ForceNotReadyOnReject { get; init; }

    /// <summary>Do not ring agents on a non-queue call.</summary>
    public bool SkipBusyAgents { get; init; } = true;

    /// <summary>Try the agent who last answered this caller in this queue within this many seconds first. 0: off.</summary>
    public int StickyAgentSeconds { get; init; }

    /// <summary>Higher tiers (levels) become eligible over time rather than only when lower tiers are unavailable.</summary>
    public bool TierRulesApply { get; init; }

    public int TierRuleWaitSeconds { get; init; }
    public bool TierRuleWaitMultiplyLevel { get; init; } = true;

    /// <summary>Answered within this many seconds counts as within service level. 0: the tenant default (20 s).</summary>
    public int SlaSeconds { get; init; }

    /// <summary>Weight in the multi-queue policy: an agent's next call is the one with the highest priority,
    /// then the largest wait × weight.</summary>
    public int Weight { get; init; } = 1;

    /// <summary>Calls from these numbers get at least <see cref="VipPriority"/>.</summary>
    public IReadOnlySet<string> VipNumbers { get; init; } = EmptySet;
    public int VipPriority { get; init; } = 10;

    /// <summary>Calls from these numbers are refused at entry.</summary>
    public IReadOnlySet<string> Blacklist { get; init; } = EmptySet;

    public CallbackSettings Callback { get; init; } = new();

    /// <summary>The key that takes a waiting caller out of the queue to <see cref="ExitKeyDestination"/>. Null: none.</summary>
    public string? ExitKey { get; init; }

    public string? IntroPrompt { get; init; }
    public string? PeriodicPrompt { get; init; }
    public int PeriodicAnnounceSeconds { get; init; }
    public PositionAnnouncement PositionAnnouncement { get; init; }
    public int PositionAnnounceSeconds { get; init; } = 10;

    public bool RecordCalls { get; init; }

    // Media (issue 15: hold music, prompts per language). Opaque to the engine like the prompt ids above: the
    // telephony layer resolves them against the tenant's media library.

    /// <summary>What waiting callers hear between announcements: a media reference (a library media id in digits, or
    /// a media name), or <c>ringback</c>; null: the built-in music.</summary>
    public string? HoldMusic { get; init; }

    /// <summary>The language of the queue's prompts (a BCP 47 tag such as <c>de</c> or <c>en-US</c>): library media of
    /// that language are preferred to media of the same name without one. Null: no preference.</summary>
    public string? Language { get; init; }

    // Post-call survey (issue 15).

    /// <summary>When the agent hangs up first, the caller is asked to rate the call from 1 to this (at most 9) by a
    /// key; 0: no survey.</summary>
    public int SurveyMaxRating { get; init; }

    /// <summary>The question (a media reference, opaque to the engine); null: the built-in one.</summary>
    public string? SurveyPrompt { get; init; }

    /// <summary>What the caller hears after rating (a media reference); null: the built-in thanks.</summary>
    public string? SurveyThanksPrompt { get; init; }

    /// <summary>When the agent hangs up first, the caller is transferred to this number (as
    /// <see cref="CallCenter.TransferCall"/> does) instead of being hung up; it takes precedence over the survey. Null: off.</summary>
    public string? AgentHangupTransfer { get; init; }

    // Voicemail (issue 15).

    /// <summary>The queue's voicemail box: where a destination of kind voicemail leaves the caller's message. Opaque to
    /// the engine, which only ends the call as voicemail; the telephony layer plays, records and stores.</summary>
    public VoicemailSettings Voicemail { get; init; } = VoicemailSettings.Off;
    // Agent whisper before the bridge (issue 15).

    /// <summary>What the answering agent alone hears before being connected to the caller (a media reference, opaque to
    /// the engine); null: nothing unless <see cref="AgentAnnounceWaitTime"/>.</summary>
    public string? AgentAnnouncePrompt { get; init; }

    /// <summary>The answering agent is told how long the caller waited (in seconds) before being connected.</summary>
    public bool AgentAnnounceWaitTime { get; init; }

    public Destination TimeoutDestination { get; init; } = Destination.Hangup;
    public Destination NoAgentsDestination { get; init; } = Destination.Hangup;
    public Destination QueueFullDestination { get; init; } = Destination.Hangup;
    public Destination NoAnswerDestination { get; init; } = Destination.Hangup;
    public Destination ExitKeyDestination { get; init; } = Destination.Hangup;
    public Destination NightModeDestination { get; init; } = Destination.Hangup;

    public WaitEstimatorKind WaitEstimator { get; init; } = WaitEstimatorKind.QueueLength;

    /// <summary>Handle time assumed before the queue has measured any.</summary>
    public int ExpectedHandleSeconds { get; init; } = 180;

    // ---- Active / inactive ----

    /// <summary>An inactive queue takes no new calls: each goes at entry to <see cref="InactiveDestination"/>. Calls
    /// already in the queue stay and are served.</summary>
    public bool Active { get; init; } = true;

    public Destination InactiveDestination { get; init; } = Destination.Hangup;

    // ---- Dispositions ----

    /// <summary>The codes an agent may give a call of this queue (<see cref="CallCenter.SetDisposition"/>); empty: any
    /// code of 1 to 64 characters.</summary>
    public IReadOnlyList<string> DispositionCodes { get; init; } = [];

    /// <summary>The agent's wrap-up does not end, by its timer or by a status change, until the call has a code.</summary>
    public bool DispositionRequired { get; init; }

    // ---- Office hours and holidays (night mode) ----

    /// <summary>Outside these hours the queue is in night mode by itself (<see cref="NightModeDestination"/>); null:
    /// only the manual switch.</summary>
    public OfficeHours? OfficeHours { get; init; }

    internal static readonly IReadOnlySet<string> EmptySet = new HashSet<string>();

    /// <summary>Every exit's destination (timeout, no agents, queue full, no answer, exit key, night mode, inactive).</summary>
    public IEnumerable<Destination> AllDestinations() =>
        [TimeoutDestination, NoAgentsDestination, QueueFullDestination, NoAnswerDestination, ExitKeyDestination, NightModeDestination,
            InactiveDestination];

    /// <summary>This config with every destination that names <paramref name="queue"/> turned into "hang up".</summary>
    public QueueConfig WithoutDestination(QueueId queue)
    {
        Destination Clear(Destination d) => d.Kind == DestinationKind.Queue && d.Queue == queue ? Destination.Hangup : d;
        return this with
        {
            TimeoutDestination = Clear(TimeoutDestination),
            NoAgentsDestination = Clear(NoAgentsDestination),
            QueueFullDestination = Clear(QueueFullDestination),
            NoAnswerDestination = Clear(NoAnswerDestination),
            ExitKeyDestination = Clear(ExitKeyDestination),
            NightModeDestination = Clear(NightModeDestination),
            InactiveDestination = Clear(InactiveDestination),
        };
    }
}

/// <summary>Callback: the caller hangs up and keeps its place; at its turn an agent is reserved, then the customer dialled.</summary>
public sealed record CallbackSettings
{
    public bool Enabled { get; init; }
    public CallbackMode Mode { get; init; } = CallbackMode.Active;

    /// <summary>In <see cref="CallbackMode.Timeout"/>, seconds of waiting before the callback is offered.</summary>
    public int OfferAfterSeconds { get; init; } = 600;

    /// <summary>The DTMF key that asks for a callback (e.g. "press 3").</summary>
    public string Key { get; init; } = "3";

    /// <summary>Dial attempts to the customer before the callback fails.</summary>
    public int MaxAttempts { get; init; } = 1;
    public int RetrySeconds { get; init; } = 60;

    /// <summary>Prefix the host adds when dialling out.</summary>
    public string? OutboundPrefix { get; init; }
}

/// <summary>A queue's voicemail box (issue 15). The engine never reads it: a destination of kind voicemail ends the call
/// as <see cref="Disposition.Voicemail"/>, and the telephony layer records the message in the box of the queue the call
/// left (or of the queue the destination's target names).</summary>
public sealed record VoicemailSettings
{
    /// <summary>Lineup records messages itself; off: a voicemail destination goes to the configured external voicemail
    /// server, or hangs up.</summary>
    public bool Enabled { get; init; }

    /// <summary>What the caller hears before the tone (a media reference); null: the built-in greeting.</summary>
    public string? Greeting { get; init; }

    /// <summary>Where each message is e-mailed (one or more addresses, comma-separated); null: no e-mail.</summary>
    public string? MailTo { get; init; }

    /// <summary>The e-mail carries the message's WAV file.</summary>
    public bool AttachAudio { get; init; } = true;

    /// <summary>A message ends after this many seconds.</summary>
    public int MaxSeconds { get; init; } = DefaultMaxSeconds;

    /// <summary>A message ends after this many seconds of silence (0: only by length or hang-up).</summary>
    public int SilenceSeconds { get; init; } = DefaultSilenceSeconds;

    public const int DefaultMaxSeconds = 120;
    public const int DefaultSilenceSeconds = 5;
    public const int MaxMaxSeconds = 600;

    public static readonly VoicemailSettings Off = new();
}

/// <summary>An agent's own settings; 0 means "use the queue's" for timeouts and "none" for delays.</summary>
public sealed record AgentConfig
{
    public required AgentId Id { get; init; }
    public string Name { get; init; } = "";
    public AgentKind Kind { get; init; } = AgentKind.Local;

    /// <summary>Extension (local) or external number (remote).</summary>
    public string? Number { get; init; }

    public int RingTimeoutSeconds { get; init; }
    public int BusyDelaySeconds { get; init; }
    public int RejectDelaySeconds { get; init; }
    public int NoAnswerDelaySeconds { get; init; }

    /// <summary>Overrides the queue's wrap-up when set.</summary>
    public int? WrapUpSeconds { get; init; }

    /// <summary>After this many consecutive unanswered offers the agent is set Not Ready. 0: off.</summary>
    public int MaxConsecutiveNoAnswers { get; init; }

    /// <summary>As <see cref="QueueConfig.DialectData"/>: vendor settings kept for the dialects, never read here.</summary>
    public IReadOnlyDictionary<string, string> DialectData { get; init; } = QueueConfig.NoDialectData;
}

/// <summary>An agent's place in one queue.</summary>
public sealed record MemberConfig
{
    /// <summary>Tier: lower levels are offered first.</summary>
    public int Level { get; init; }
    public int Position { get; init; }

    /// <summary>1 is the most skilled.</summary>
    public int SkillLevel { get; init; } = 1;

    /// <summary>Seconds after the call is offered before this agent's phone starts ringing.</summary>
    public int RingDelaySeconds { get; init; }

    /// <summary>Overrides the agent's and the queue's ring timeout when greater than 0.</summary>
    public int RingTimeoutSeconds { get; init; }

    public static readonly MemberConfig Default = new();
}

/// <summary>Who is calling.</summary>
public readonly record struct CallerInfo(string Number, string? Name = null, int Priority = 0, string? ExternalId = null);

/// <summary>Tenant-wide engine options.</summary>
public sealed record EngineOptions
{
    /// <summary>Statistics reset at midnight in this zone.</summary>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Utc;

    /// <summary>Seeds the generator behind the random strategy, so a replay gives the same events.</summary>
    public ulong Seed { get; init; } = 0x9E3779B97F4A7C15UL;

    public int DefaultSlaSeconds { get; init; } = 20;

    /// <summary>A call moved between queues more often than this is hung up (breaks destination loops).</summary>
    public int MaxQueueHops { get; init; } = 8;

    /// <summary>Weight of the newest handle time in the queue-length estimator's moving average.</summary>
    public double HandleTimeSmoothing { get; init; } = 0.05;

    /// <summary>Call ids are this plus 1, 2, 3…: a host serving many tenants gives each its own range so that
    /// ids never collide across tenants.</summary>
    public long CallIdBase { get; init; }

    public static readonly EngineOptions Default = new();
}
