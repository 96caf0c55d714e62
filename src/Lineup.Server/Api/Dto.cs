using System.Globalization;
using Lineup.Engine;
using Lineup.Server.Records;

namespace Lineup.Server.Api;

public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

public sealed record CallbackBody(
    bool? Enabled = null, CallbackMode? Mode = null, int? OfferAfterSeconds = null, string? Key = null,
    int? MaxAttempts = null, int? RetrySeconds = null, string? OutboundPrefix = null);

/// <summary>A queue's voicemail box (<c>voicemail</c>): with <c>enabled</c>, a destination of type voicemail leaves the
/// caller's message here (docs/sip.md, "Voicemail").</summary>
public sealed record VoicemailBody(
    bool? Enabled = null, string? Greeting = null, string? MailTo = null, bool? AttachAudio = null, int? MaxSeconds = null,
    int? SilenceSeconds = null);

public sealed record DestinationBody(DestinationKind Type = DestinationKind.Hangup, long? QueueId = null, string? Target = null);

public sealed record DestinationsBody(
    DestinationBody? Timeout = null, DestinationBody? NoAgents = null, DestinationBody? QueueFull = null,
    DestinationBody? NoAnswer = null, DestinationBody? ExitKey = null, DestinationBody? NightMode = null,
    DestinationBody? Inactive = null);

/// <summary>A queue as the API reads and writes it. Every field is optional on input; PATCH merges.</summary>
public sealed record QueueBody
{
    public long? Id { get; init; }
    public string? Name { get; init; }
    public string? Extension { get; init; }
    public string? Strategy { get; init; }
    public bool? SkillsRouting { get; init; }
    public int? RingTimeout { get; init; }
    public int? RetrySeconds { get; init; }
    public int? MaxCallers { get; init; }
    public int? MaxWait { get; init; }
    public int? MaxWaitNoAgent { get; init; }
    public bool? LeaveWhenNoAgents { get; init; }
    public int? NoAnswerMaxAttempts { get; init; }
    public int? WrapUpTime { get; init; }
    public bool? AgentAutoReady { get; init; }
    public bool? AgentAutoNotReadyAfterNonQueueCall { get; init; }
    public bool? ForceNotReadyOnReject { get; init; }
    public bool? SkipBusyAgents { get; init; }
    public int? StickyAgentSeconds { get; init; }
    public bool? TierRulesApply { get; init; }
    public int? TierRuleWaitSeconds { get; init; }
    public bool? TierRuleWaitMultiplyLevel { get; init; }
    public int? SlaTime { get; init; }
    public int? Weight { get; init; }
    public IReadOnlyList<string>? VipNumbers { get; init; }
    public int? VipPriority { get; init; }
    public IReadOnlyList<string>? Blacklist { get; init; }
    public CallbackBody? Callback { get; init; }
    public string? ExitKey { get; init; }
    public string? IntroPrompt { get; init; }
    public string? PeriodicPrompt { get; init; }
    public int? PeriodicAnnounceSeconds { get; init; }
    public PositionAnnouncement? PositionAnnouncement { get; init; }
    public int? PositionAnnounceSeconds { get; init; }
    public bool? RecordCalls { get; init; }

    /// <summary>Media reference (a media id in digits or a media name, see /media), or "ringback"; null: the built-in music.</summary>
    public string? HoldMusic { get; init; }

    /// <summary>Prompt language (BCP 47): media of this language are preferred.</summary>
    public string? Language { get; init; }

    /// <summary>Post-call survey: when the agent hangs up first the caller rates the call 1 to this by a key (0: off).</summary>
    public int? SurveyMaxRating { get; init; }

    /// <summary>The survey's question and thanks (media references); null: the built-in prompts.</summary>
    public string? SurveyPrompt { get; init; }
    public string? SurveyThanksPrompt { get; init; }

    /// <summary>When the agent hangs up first, the caller is transferred to this number (digits, or a sip: URI) instead
    /// of being hung up; null: off.</summary>
    public string? AgentHangupTransfer { get; init; }

    /// <summary>The queue's voicemail box.</summary>
    public VoicemailBody? Voicemail { get; init; }
    /// <summary>Agent whisper: what the answering agent alone hears before the bridge (a media reference; null: none),
    /// and whether it is told how long the caller waited.</summary>
    public string? AgentAnnouncePrompt { get; init; }
    public bool? AgentAnnounceWaitTime { get; init; }
    public DestinationsBody? Destinations { get; init; }
    public WaitEstimatorKind? WaitEstimator { get; init; }
    public int? ExpectedHandleSeconds { get; init; }

    /// <summary>False: the queue takes no new calls (they go to <c>destinations.inactive</c>).</summary>
    public bool? Active { get; init; }

    /// <summary>Codes an agent may give a call of this queue; empty: any code.</summary>
    public IReadOnlyList<string>? DispositionCodes { get; init; }

    /// <summary>The agent's wrap-up lasts until it gives the call a code.</summary>
    public bool? DispositionRequired { get; init; }

    /// <summary>Opening hours and holidays in the tenant's time zone; outside them the queue is in night mode. Null: none.</summary>
    public OfficeHoursBody? OfficeHours { get; init; }
}

/// <summary>Weekly opening intervals (<c>{"day": "monday", "open": "09:00", "close": "17:30"}</c>) and holidays
/// (<c>"2026-12-25"</c>).</summary>
public sealed record OfficeHoursBody(IReadOnlyList<OpeningBody>? Weekly = null, IReadOnlyList<string>? Holidays = null);

public sealed record OpeningBody(string? Day = null, string? Open = null, string? Close = null);

public sealed record DispositionBody(string? Code = null, long? AgentId = null);

public sealed record NightModeBody(bool? NightMode = null);

public sealed record MonitorBody(string? Supervisor = null, SupervisionMode? Mode = null);

/// <summary>A supervisor on a call: <c>ringing</c> until its phone answers, then <c>joined</c>.</summary>
public sealed record MonitorDto(long CallId, string Supervisor, SupervisionMode Mode, string State);

public sealed record AgentBody
{
    public long? Id { get; init; }
    public string? Name { get; init; }
    public AgentKind? Kind { get; init; }
    public string? Number { get; init; }
    public int? RingTimeout { get; init; }
    public int? BusyDelay { get; init; }
    public int? RejectDelay { get; init; }
    public int? NoAnswerDelay { get; init; }
    public int? WrapUpTime { get; init; }
    public int? MaxConsecutiveNoAnswers { get; init; }
}

public sealed record AgentDto(
    long Id, string Name, AgentKind Kind, string? Number, int RingTimeout, int BusyDelay, int RejectDelay,
    int NoAnswerDelay, int? WrapUpTime, int MaxConsecutiveNoAnswers, AgentStatusDto State);

public sealed record AgentStatusDto(
    long AgentId, AgentStatus Status, string? Reason, AgentActivity Activity, DateTimeOffset Since,
    IReadOnlyList<long> LoggedInQueues, long? CurrentCallId, IReadOnlyList<AgentQueueDto> Queues, AgentOfferDto? Offer);

/// <summary>The call ringing the agent now (as its <c>call.offered</c> event told), so that a screen opened while it
/// rings shows it; null when nothing rings.</summary>
public sealed record AgentOfferDto(long CallId, long? QueueId, string CallerNumber, string? CallerName, int RingTimeout);

/// <summary>A queue the agent is a member of, as the agent sees it (an agent may not list queues itself).</summary>
public sealed record AgentQueueDto(long QueueId, string Name, bool LoggedIn, IReadOnlyList<string>? DispositionCodes = null);

public sealed record StatusBody(AgentStatus? Status = null, string? Reason = null);

public sealed record QueueSelectionBody(IReadOnlyList<long>? QueueIds = null);

public sealed record MemberBody(long? AgentId = null, int? Level = null, int? Position = null, int? SkillLevel = null,
    int? RingDelay = null, int? RingTimeout = null);

public sealed record MemberDto(long AgentId, int Level, int Position, int SkillLevel, int RingDelay, int RingTimeout, bool LoggedIn);

public sealed record QueueStatusDto(
    long QueueId, string Name, int Waiting, int Ringing, int Callbacks, int Talking, double LongestWaitSeconds,
    int LoggedInAgents, int AvailableAgents, int BusyAgents, int NotReadyAgents, int WrapUpAgents,
    double EstimatedWaitSeconds, bool NightMode);

public sealed record QueueStatsDto(
    int Offered, int Answered, int Abandoned, int ShortAbandoned, int TimedOut, int Overflowed, int ExitedByKey,
    int CallbacksRequested, int Rejected, double AverageWaitSeconds, double AverageWaitAnsweredSeconds,
    double MaxWaitSeconds, double AverageTalkSeconds, double AverageHandleSeconds, double ServiceLevel,
    int AnsweredWithinSla, int SlaEligible, int Ratings = 0, double AverageRating = 0);

public sealed record OfferDto(long AgentId, bool Ringing);

public sealed record CallDto(
    long Id, long? QueueId, CallState State, string CallerNumber, string? CallerName, int Priority, string? ExternalId,
    DateTimeOffset EnteredAt, int Position, double WaitSeconds, IReadOnlyList<OfferDto> Offers, long? AgentId,
    Disposition? Disposition);

public sealed record CreateCallBody(long? QueueId = null, string? CallerNumber = null, string? CallerName = null,
    int? Priority = null, string? ExternalId = null);

public sealed record CallEventBody(Tenancy.CallEventType? Type = null, long? AgentId = null, string? Digits = null);

public sealed record PickupBody(long? AgentId = null);

/// <summary>A transfer's target: exactly one of another queue, a number, one agent (with <see cref="Fallback"/>: where the
/// caller goes when that agent does not answer; none: back to its place in the queue it came from), or the agent of
/// another connected call (<see cref="CallId"/>: an attended transfer's end, that call being the consultation).</summary>
public sealed record TransferBody(long? QueueId = null, string? Number = null, long? AgentId = null, DestinationBody? Fallback = null,
    long? CallId = null);

public sealed record CdrVisitDto(long QueueId, DateTimeOffset EnteredAt, DateTimeOffset? LeftAt, ExitReason ExitReason);

public sealed record CdrAttemptDto(long AgentId, long QueueId, DateTimeOffset OfferedAt, DateTimeOffset? EndedAt, AttemptOutcome Outcome, bool Pickup);

/// <summary>One leg's media quality: what Lineup received from the phone (RFC 3550 loss and interarrival jitter), and
/// from the phone's RTCP reports what it received of Lineup's stream and the round trip (null without such reports).</summary>
public sealed record CdrLegQualityDto(long PacketsReceived, long PacketsLost, double LossPercent, double JitterMeanMs,
    double JitterMaxMs, double? RttMs, long? RemotePacketsLost, double? RemoteJitterMs, long RtcpReceived);

/// <summary>The media quality of the caller's leg and of the agent leg it talked to.</summary>
public sealed record CdrMediaQualityDto(CdrLegQualityDto? Caller, CdrLegQualityDto? Agent);

public sealed record CdrDto(
    long CallId, string CallerNumber, string? CallerName, string? ExternalId, int Priority, DateTimeOffset EnteredAt,
    DateTimeOffset? AnsweredAt, DateTimeOffset? TalkEndedAt, DateTimeOffset EndedAt, string Disposition, ExitReason ExitReason,
    long? AgentId, long? AnsweredQueueId, double WaitSeconds, double TalkSeconds, double WrapUpSeconds,
    string? DestinationTarget, bool Callback, string? CallbackNumber, IReadOnlyList<CdrVisitDto> Queues,
    IReadOnlyList<CdrAttemptDto> Attempts, string? RecordingId = null, string? DispositionCode = null, int? Rating = null,
    CdrMediaQualityDto? MediaQuality = null);

public sealed record StaffingDto(
    int Agents, double CallsPerHour, double AverageHandleSeconds, double TrafficErlangs, double TargetSeconds,
    double ProbabilityOfWaiting, double ServiceLevel, double AverageSpeedOfAnswerSeconds, double Occupancy,
    double TargetServiceLevel, int AgentsNeeded);

public static class Dto
{
    public static DateTimeOffset Time(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs);

    /// <summary>A time as the JSON answers write it (ISO 8601, milliseconds at most, trailing zeros dropped), for the
    /// other formats (CSV), so one CDR reads the same in both.</summary>
    public static string Text(DateTimeOffset time) => time.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFzzz", CultureInfo.InvariantCulture);

    public static QueueBody Queue(QueueConfig c) => new()
    {
        Id = c.Id.Value,
        Name = c.Name,
        Extension = c.Extension,
        Strategy = StrategyNames.NameOf(c.Strategy),
        SkillsRouting = c.SkillsRouting,
        RingTimeout = c.RingTimeoutSeconds,
        RetrySeconds = c.RetrySeconds,
        MaxCallers = c.MaxCallers,
        MaxWait = c.MaxWaitSeconds,
        MaxWaitNoAgent = c.MaxWaitNoAgentSeconds,
        LeaveWhenNoAgents = c.LeaveWhenNoAgents,
        NoAnswerMaxAttempts = c.NoAnswerMaxAttempts,
        WrapUpTime = c.WrapUpSeconds,
        AgentAutoReady = c.AgentAutoReady,
        AgentAutoNotReadyAfterNonQueueCall = c.AgentAutoNotReadyAfterNonQueueCall,
        ForceNotReadyOnReject = c.ForceNotReadyOnReject,
        SkipBusyAgents = c.SkipBusyAgents,
        StickyAgentSeconds = c.StickyAgentSeconds,
        TierRulesApply = c.TierRulesApply,
        TierRuleWaitSeconds = c.TierRuleWaitSeconds,
        TierRuleWaitMultiplyLevel = c.TierRuleWaitMultiplyLevel,
        SlaTime = c.SlaSeconds,
        Weight = c.Weight,
        VipNumbers = c.VipNumbers.Order(StringComparer.Ordinal).ToList(),
        VipPriority = c.VipPriority,
        Blacklist = c.Blacklist.Order(StringComparer.Ordinal).ToList(),
        Callback = new CallbackBody(c.Callback.Enabled, c.Callback.Mode, c.Callback.OfferAfterSeconds, c.Callback.Key,
            c.Callback.MaxAttempts, c.Callback.RetrySeconds, c.Callback.OutboundPrefix),
        ExitKey = c.ExitKey,
        IntroPrompt = c.IntroPrompt,
        PeriodicPrompt = c.PeriodicPrompt,
        PeriodicAnnounceSeconds = c.PeriodicAnnounceSeconds,
        PositionAnnouncement = c.PositionAnnouncement,
        PositionAnnounceSeconds = c.PositionAnnounceSeconds,
        RecordCalls = c.RecordCalls,
        HoldMusic = c.HoldMusic,
        Language = c.Language,
        SurveyMaxRating = c.SurveyMaxRating,
        SurveyPrompt = c.SurveyPrompt,
        SurveyThanksPrompt = c.SurveyThanksPrompt,
        AgentHangupTransfer = c.AgentHangupTransfer,
        Voicemail = new VoicemailBody(c.Voicemail.Enabled, c.Voicemail.Greeting, c.Voicemail.MailTo, c.Voicemail.AttachAudio,
            c.Voicemail.MaxSeconds, c.Voicemail.SilenceSeconds),
        AgentAnnouncePrompt = c.AgentAnnouncePrompt,
        AgentAnnounceWaitTime = c.AgentAnnounceWaitTime,
        Destinations = new DestinationsBody(Dest(c.TimeoutDestination), Dest(c.NoAgentsDestination), Dest(c.QueueFullDestination),
            Dest(c.NoAnswerDestination), Dest(c.ExitKeyDestination), Dest(c.NightModeDestination), Dest(c.InactiveDestination)),
        WaitEstimator = c.WaitEstimator,
        ExpectedHandleSeconds = c.ExpectedHandleSeconds,
        Active = c.Active,
        DispositionCodes = c.DispositionCodes,
        DispositionRequired = c.DispositionRequired,
        OfficeHours = c.OfficeHours is { } h ? OfficeHoursText.Body(h) : null,
    };

    private static DestinationBody Dest(Destination d) =>
        new(d.Kind, d.Kind == DestinationKind.Queue ? d.Queue.Value : null, d.Target);

    private static Destination Dest(DestinationBody? b, Destination fallback) => b == null ? fallback : b.Type switch
    {
        DestinationKind.Queue => Destination.ToQueue(new QueueId((int)(b.QueueId ?? 0))),
        DestinationKind.Number => Destination.ToNumber(b.Target ?? ""),
        DestinationKind.Voicemail => Destination.ToVoicemail(b.Target),
        DestinationKind.Callback => Destination.Callback,
        _ => Destination.Hangup,
    };

    /// <summary>Builds the engine's config from a validated, complete body (defaults merged in first).</summary>
    public static QueueConfig QueueConfig(int id, QueueBody b)
    {
        var d = new QueueConfig { Id = new QueueId(id) };
        StrategyNames.TryParse(b.Strategy ?? "ring_all", out var strategy);
        var cb = b.Callback;
        var dest = b.Destinations;
        return d with
        {
            Name = b.Name ?? d.Name,
            Extension = string.IsNullOrEmpty(b.Extension) ? null : b.Extension,
            Strategy = strategy,
            SkillsRouting = b.SkillsRouting ?? d.SkillsRouting,
            RingTimeoutSeconds = b.RingTimeout ?? d.RingTimeoutSeconds,
            RetrySeconds = b.RetrySeconds ?? d.RetrySeconds,
            MaxCallers = b.MaxCallers ?? d.MaxCallers,
            MaxWaitSeconds = b.MaxWait ?? d.MaxWaitSeconds,
            MaxWaitNoAgentSeconds = b.MaxWaitNoAgent ?? d.MaxWaitNoAgentSeconds,
            LeaveWhenNoAgents = b.LeaveWhenNoAgents ?? d.LeaveWhenNoAgents,
            NoAnswerMaxAttempts = b.NoAnswerMaxAttempts ?? d.NoAnswerMaxAttempts,
            WrapUpSeconds = b.WrapUpTime ?? d.WrapUpSeconds,
            AgentAutoReady = b.AgentAutoReady ?? d.AgentAutoReady,
            AgentAutoNotReadyAfterNonQueueCall = b.AgentAutoNotReadyAfterNonQueueCall ?? d.AgentAutoNotReadyAfterNonQueueCall,
            ForceNotReadyOnReject = b.ForceNotReadyOnReject ?? d.ForceNotReadyOnReject,
            SkipBusyAgents = b.SkipBusyAgents ?? d.SkipBusyAgents,
            StickyAgentSeconds = b.StickyAgentSeconds ?? d.StickyAgentSeconds,
            TierRulesApply = b.TierRulesApply ?? d.TierRulesApply,
            TierRuleWaitSeconds = b.TierRuleWaitSeconds ?? d.TierRuleWaitSeconds,
            TierRuleWaitMultiplyLevel = b.TierRuleWaitMultiplyLevel ?? d.TierRuleWaitMultiplyLevel,
            SlaSeconds = b.SlaTime ?? d.SlaSeconds,
            Weight = b.Weight ?? d.Weight,
            VipNumbers = b.VipNumbers?.ToHashSet(StringComparer.Ordinal) ?? d.VipNumbers,
            VipPriority = b.VipPriority ?? d.VipPriority,
            Blacklist = b.Blacklist?.ToHashSet(StringComparer.Ordinal) ?? d.Blacklist,
            Callback = cb == null ? d.Callback : new CallbackSettings
            {
                Enabled = cb.Enabled ?? false,
                Mode = cb.Mode ?? CallbackMode.Active,
                OfferAfterSeconds = cb.OfferAfterSeconds ?? 600,
                Key = cb.Key ?? "3",
                MaxAttempts = cb.MaxAttempts ?? 1,
                RetrySeconds = cb.RetrySeconds ?? 60,
                OutboundPrefix = cb.OutboundPrefix,
            },
            ExitKey = string.IsNullOrEmpty(b.ExitKey) ? null : b.ExitKey,
            IntroPrompt = b.IntroPrompt,
            PeriodicPrompt = b.PeriodicPrompt,
            PeriodicAnnounceSeconds = b.PeriodicAnnounceSeconds ?? d.PeriodicAnnounceSeconds,
            PositionAnnouncement = b.PositionAnnouncement ?? d.PositionAnnouncement,
            PositionAnnounceSeconds = b.PositionAnnounceSeconds ?? d.PositionAnnounceSeconds,
            RecordCalls = b.RecordCalls ?? d.RecordCalls,
            HoldMusic = string.IsNullOrEmpty(b.HoldMusic) ? null : b.HoldMusic,
            Language = string.IsNullOrEmpty(b.Language) ? null : b.Language,
            SurveyMaxRating = b.SurveyMaxRating ?? d.SurveyMaxRating,
            SurveyPrompt = string.IsNullOrEmpty(b.SurveyPrompt) ? null : b.SurveyPrompt,
            SurveyThanksPrompt = string.IsNullOrEmpty(b.SurveyThanksPrompt) ? null : b.SurveyThanksPrompt,
            AgentHangupTransfer = string.IsNullOrEmpty(b.AgentHangupTransfer) ? null : b.AgentHangupTransfer,
            Voicemail = b.Voicemail is not { } vm ? d.Voicemail : new VoicemailSettings
            {
                Enabled = vm.Enabled ?? false,
                Greeting = string.IsNullOrEmpty(vm.Greeting) ? null : vm.Greeting,
                MailTo = string.IsNullOrWhiteSpace(vm.MailTo) ? null : vm.MailTo.Trim(),
                AttachAudio = vm.AttachAudio ?? true,
                MaxSeconds = vm.MaxSeconds ?? VoicemailSettings.DefaultMaxSeconds,
                SilenceSeconds = vm.SilenceSeconds ?? VoicemailSettings.DefaultSilenceSeconds,
            },
            AgentAnnouncePrompt = string.IsNullOrEmpty(b.AgentAnnouncePrompt) ? null : b.AgentAnnouncePrompt,
            AgentAnnounceWaitTime = b.AgentAnnounceWaitTime ?? d.AgentAnnounceWaitTime,
            TimeoutDestination = Dest(dest?.Timeout, d.TimeoutDestination),
            NoAgentsDestination = Dest(dest?.NoAgents, d.NoAgentsDestination),
            QueueFullDestination = Dest(dest?.QueueFull, d.QueueFullDestination),
            NoAnswerDestination = Dest(dest?.NoAnswer, d.NoAnswerDestination),
            ExitKeyDestination = Dest(dest?.ExitKey, d.ExitKeyDestination),
            NightModeDestination = Dest(dest?.NightMode, d.NightModeDestination),
            WaitEstimator = b.WaitEstimator ?? d.WaitEstimator,
            ExpectedHandleSeconds = b.ExpectedHandleSeconds ?? d.ExpectedHandleSeconds,
            Active = b.Active ?? d.Active,
            InactiveDestination = Dest(dest?.Inactive, d.InactiveDestination),
            DispositionCodes = b.DispositionCodes ?? d.DispositionCodes,
            DispositionRequired = b.DispositionRequired ?? d.DispositionRequired,
            OfficeHours = b.OfficeHours is { } h ? OfficeHoursText.Parse(h, null) : null,
        };
    }

    public static AgentBody AgentBody(AgentConfig c) => new()
    {
        Id = c.Id.Value,
        Name = c.Name,
        Kind = c.Kind,
        Number = c.Number,
        RingTimeout = c.RingTimeoutSeconds,
        BusyDelay = c.BusyDelaySeconds,
        RejectDelay = c.RejectDelaySeconds,
        NoAnswerDelay = c.NoAnswerDelaySeconds,
        WrapUpTime = c.WrapUpSeconds,
        MaxConsecutiveNoAnswers = c.MaxConsecutiveNoAnswers,
    };

    public static AgentConfig AgentConfig(int id, AgentBody b) => new()
    {
        Id = new AgentId(id),
        Name = b.Name ?? "",
        Kind = b.Kind ?? AgentKind.Local,
        Number = string.IsNullOrEmpty(b.Number) ? null : b.Number,
        RingTimeoutSeconds = b.RingTimeout ?? 0,
        BusyDelaySeconds = b.BusyDelay ?? 0,
        RejectDelaySeconds = b.RejectDelay ?? 0,
        NoAnswerDelaySeconds = b.NoAnswerDelay ?? 0,
        WrapUpSeconds = b.WrapUpTime,
        MaxConsecutiveNoAnswers = b.MaxConsecutiveNoAnswers ?? 0,
    };

    public static AgentDto Agent(Agent a)
    {
        var c = a.Config;
        return new AgentDto(c.Id.Value, c.Name, c.Kind, c.Number, c.RingTimeoutSeconds, c.BusyDelaySeconds, c.RejectDelaySeconds,
            c.NoAnswerDelaySeconds, c.WrapUpSeconds, c.MaxConsecutiveNoAnswers, Status(a));
    }

    public static AgentStatusDto Status(Agent a) => new(
        a.Id.Value, a.Status, a.Reason, a.Activity, Time(a.StatusSince),
        a.Memberships.Where(m => m.LoggedIn).Select(m => (long)m.Queue.Id.Value).Order().ToList(),
        a.CurrentCall?.Value,
        a.Memberships.OrderBy(m => m.Queue.Id.Value).Select(m => new AgentQueueDto(m.Queue.Id.Value, m.Queue.Config.Name, m.LoggedIn, m.Queue.Config.DispositionCodes)).ToList(),
        a.RingingCall is { } c ? new AgentOfferDto(c.Id.Value, c.Queue?.Id.Value, c.Record.CallerNumber, c.Record.CallerName, a.RingingTimeoutSeconds) : null);

    public static MemberDto Member(Member m) => new(m.Agent.Id.Value, m.Config.Level, m.Config.Position, m.Config.SkillLevel,
        m.Config.RingDelaySeconds, m.Config.RingTimeoutSeconds, m.LoggedIn);

    public static MemberConfig MemberConfig(MemberBody b) => new()
    {
        Level = b.Level ?? 0,
        Position = b.Position ?? 0,
        SkillLevel = b.SkillLevel ?? 1,
        RingDelaySeconds = b.RingDelay ?? 0,
        RingTimeoutSeconds = b.RingTimeout ?? 0,
    };

    public static QueueStatusDto QueueStatus(CallCenter engine, Queue q)
    {
        var r = QueueStatusRecord.From(engine, q);
        return new(r.QueueId, r.Name, r.Waiting, r.Ringing, r.Callbacks, r.Talking, r.LongestWaitSeconds, r.LoggedInAgents, r.AvailableAgents,
            r.BusyAgents, r.NotReadyAgents, r.WrapUpAgents, r.EstimatedWaitSeconds, r.NightMode);
    }

    public static QueueStatsDto Stats(DailyStatsRecord s) => new(s.Offered, s.Answered, s.Abandoned, s.ShortAbandoned, s.TimedOut, s.Overflowed,
        s.ExitedByKey, s.CallbacksRequested, s.Rejected, s.AverageWaitSeconds, s.AverageWaitAnsweredSeconds, s.MaxWaitSeconds,
        s.AverageTalkSeconds, s.AverageHandleSeconds, s.ServiceLevel, s.AnsweredWithinSla, s.SlaEligible, s.Ratings, s.AverageRating);

    public static CallDto Call(CallCenter engine, Call c) => new(
        c.Id.Value, c.Queue?.Id.Value, c.State, c.Record.CallerNumber, c.Record.CallerName, c.Priority, c.Record.ExternalId,
        Time(c.Record.EnteredAt), c.IsQueued ? engine.PositionOf(c) : 0,
        Math.Max(0, (c.Record.AnsweredAt ?? engine.Now) - c.Record.EnteredAt) / 1000.0,
        engine.Agents.Where(a => a.CurrentCall == c.Id && a.Activity == AgentActivity.Ringing)
            .Select(a => new OfferDto(a.Id.Value, true)).OrderBy(o => o.AgentId).ToList(),
        c.Agent?.Value, null);

    public static CallDto Ended(CallRecord r) => new(
        r.Id.Value, r.Queues.Count > 0 ? r.Queues[^1].Queue.Value : null, CallState.Ended, r.CallerNumber, r.CallerName,
        r.Priority, r.ExternalId, Time(r.EnteredAt), 0, r.WaitSeconds, [], r.AnsweredBy?.Value, r.Disposition);

    public static CdrDto Cdr(CdrRecord r) => new(
        r.CallId, r.CallerNumber, r.CallerName, r.ExternalId, r.Priority, r.EnteredAt, r.AnsweredAt, r.TalkEndedAt, r.EndedAt,
        r.Disposition, r.ExitReason, r.AgentId, r.AnsweredQueueId, r.WaitSeconds, r.TalkSeconds, r.WrapUpSeconds, r.DestinationTarget,
        r.Callback, r.CallbackNumber,
        [.. r.Queues.Select(v => new CdrVisitDto(v.QueueId, v.EnteredAt, v.LeftAt, v.ExitReason))],
        [.. r.Attempts.Select(x => new CdrAttemptDto(x.AgentId, x.QueueId, x.OfferedAt, x.EndedAt, x.Outcome, x.Pickup))],
        r.RecordingId, r.DispositionCode, r.Rating,
        r.MediaQuality is { } m ? new CdrMediaQualityDto(LegQuality(m.Caller), LegQuality(m.Agent)) : null);

    private static CdrLegQualityDto? LegQuality(CdrLegQualityRecord? q) => q is null ? null
        : new(q.PacketsReceived, q.PacketsLost, q.LossPercent, q.JitterMeanMs, q.JitterMaxMs, q.RttMs, q.RemotePacketsLost, q.RemoteJitterMs, q.RtcpReceived);

    /// <summary>An ended call, from its CDR.</summary>
    public static CallDto Ended(CdrRecord cdr) => new(cdr.CallId, cdr.Queues.Count > 0 ? cdr.Queues[^1].QueueId : null, CallState.Ended, cdr.CallerNumber,
        cdr.CallerName, cdr.Priority, cdr.ExternalId, cdr.EnteredAt, 0, cdr.WaitSeconds, [], cdr.AgentId,
        Enum.Parse<Disposition>(cdr.Disposition.Replace("_", "", StringComparison.Ordinal), ignoreCase: true));

    public static string Snake(string pascal) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(pascal);

    public static string Cursor(long id) => id.ToString(CultureInfo.InvariantCulture);
}
