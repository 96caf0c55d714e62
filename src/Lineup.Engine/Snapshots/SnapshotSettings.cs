namespace Lineup.Engine.Snapshots;

/// <summary>Settings records to and from their snapshot form; sets and dialect maps in ordinal order.</summary>
internal static class SnapshotSettings
{
    public static QueueSettings Of(QueueConfig c) => new()
    {
        Id = c.Id.Value,
        Name = c.Name,
        Extension = c.Extension,
        DialectData = Of(c.DialectData),
        Strategy = c.Strategy,
        SkillsRouting = c.SkillsRouting,
        RingTimeoutSeconds = c.RingTimeoutSeconds,
        RetrySeconds = c.RetrySeconds,
        MaxCallers = c.MaxCallers,
        MaxWaitSeconds = c.MaxWaitSeconds,
        MaxWaitNoAgentSeconds = c.MaxWaitNoAgentSeconds,
        LeaveWhenNoAgents = c.LeaveWhenNoAgents,
        NoAnswerMaxAttempts = c.NoAnswerMaxAttempts,
        WrapUpSeconds = c.WrapUpSeconds,
        AgentAutoReady = c.AgentAutoReady,
        AgentAutoNotReadyAfterNonQueueCall = c.AgentAutoNotReadyAfterNonQueueCall,
        ForceNotReadyOnReject = c.ForceNotReadyOnReject,
        SkipBusyAgents = c.SkipBusyAgents,
        StickyAgentSeconds = c.StickyAgentSeconds,
        TierRulesApply = c.TierRulesApply,
        TierRuleWaitSeconds = c.TierRuleWaitSeconds,
        TierRuleWaitMultiplyLevel = c.TierRuleWaitMultiplyLevel,
        SlaSeconds = c.SlaSeconds,
        Weight = c.Weight,
        VipNumbers = [.. c.VipNumbers.Order(StringComparer.Ordinal)],
        VipPriority = c.VipPriority,
        Blacklist = [.. c.Blacklist.Order(StringComparer.Ordinal)],
        Callback = new CallbackSettingsSnapshot
        {
            Enabled = c.Callback.Enabled,
            Mode = c.Callback.Mode,
            OfferAfterSeconds = c.Callback.OfferAfterSeconds,
            Key = c.Callback.Key,
            MaxAttempts = c.Callback.MaxAttempts,
            RetrySeconds = c.Callback.RetrySeconds,
            OutboundPrefix = c.Callback.OutboundPrefix,
        },
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
        VoicemailEnabled = c.Voicemail.Enabled,
        VoicemailGreeting = c.Voicemail.Greeting,
        VoicemailMailTo = c.Voicemail.MailTo,
        VoicemailNoAttachment = !c.Voicemail.AttachAudio,
        VoicemailMaxSeconds = c.Voicemail.MaxSeconds == VoicemailSettings.DefaultMaxSeconds ? null : c.Voicemail.MaxSeconds,
        VoicemailSilenceSeconds = c.Voicemail.SilenceSeconds == VoicemailSettings.DefaultSilenceSeconds ? null : c.Voicemail.SilenceSeconds,
        AgentAnnouncePrompt = c.AgentAnnouncePrompt,
        AgentAnnounceWaitTime = c.AgentAnnounceWaitTime,
        TimeoutDestination = Of(c.TimeoutDestination),
        NoAgentsDestination = Of(c.NoAgentsDestination),
        QueueFullDestination = Of(c.QueueFullDestination),
        NoAnswerDestination = Of(c.NoAnswerDestination),
        ExitKeyDestination = Of(c.ExitKeyDestination),
        NightModeDestination = Of(c.NightModeDestination),
        WaitEstimator = c.WaitEstimator,
        ExpectedHandleSeconds = c.ExpectedHandleSeconds,
        Inactive = !c.Active,
        InactiveDestination = c.InactiveDestination == Destination.Hangup ? null : Of(c.InactiveDestination),
        DispositionCodes = c.DispositionCodes.Count == 0 ? null : [.. c.DispositionCodes],
        DispositionRequired = c.DispositionRequired,
        OfficeHours = c.OfficeHours,
    };

    public static QueueConfig ToConfig(QueueSettings s) => new()
    {
        Id = new QueueId(s.Id),
        Name = s.Name,
        Extension = s.Extension,
        DialectData = ToDialectData(s.DialectData),
        Strategy = s.Strategy,
        SkillsRouting = s.SkillsRouting,
        RingTimeoutSeconds = s.RingTimeoutSeconds,
        RetrySeconds = s.RetrySeconds,
        MaxCallers = s.MaxCallers,
        MaxWaitSeconds = s.MaxWaitSeconds,
        MaxWaitNoAgentSeconds = s.MaxWaitNoAgentSeconds,
        LeaveWhenNoAgents = s.LeaveWhenNoAgents,
        NoAnswerMaxAttempts = s.NoAnswerMaxAttempts,
        WrapUpSeconds = s.WrapUpSeconds,
        AgentAutoReady = s.AgentAutoReady,
        AgentAutoNotReadyAfterNonQueueCall = s.AgentAutoNotReadyAfterNonQueueCall,
        ForceNotReadyOnReject = s.ForceNotReadyOnReject,
        SkipBusyAgents = s.SkipBusyAgents,
        StickyAgentSeconds = s.StickyAgentSeconds,
        TierRulesApply = s.TierRulesApply,
        TierRuleWaitSeconds = s.TierRuleWaitSeconds,
        TierRuleWaitMultiplyLevel = s.TierRuleWaitMultiplyLevel,
        SlaSeconds = s.SlaSeconds,
        Weight = s.Weight,
        VipNumbers = ToSet(s.VipNumbers),
        VipPriority = s.VipPriority,
        Blacklist = ToSet(s.Blacklist),
        Callback = new CallbackSettings
        {
            Enabled = s.Callback.Enabled,
            Mode = s.Callback.Mode,
            OfferAfterSeconds = s.Callback.OfferAfterSeconds,
            Key = s.Callback.Key,
            MaxAttempts = s.Callback.MaxAttempts,
            RetrySeconds = s.Callback.RetrySeconds,
            OutboundPrefix = s.Callback.OutboundPrefix,
        },
        ExitKey = s.ExitKey,
        IntroPrompt = s.IntroPrompt,
        PeriodicPrompt = s.PeriodicPrompt,
        PeriodicAnnounceSeconds = s.PeriodicAnnounceSeconds,
        PositionAnnouncement = s.PositionAnnouncement,
        PositionAnnounceSeconds = s.PositionAnnounceSeconds,
        RecordCalls = s.RecordCalls,
        HoldMusic = s.HoldMusic,
        Language = s.Language,
        SurveyMaxRating = s.SurveyMaxRating,
        SurveyPrompt = s.SurveyPrompt,
        SurveyThanksPrompt = s.SurveyThanksPrompt,
        AgentHangupTransfer = s.AgentHangupTransfer,
        Voicemail = new VoicemailSettings
        {
            Enabled = s.VoicemailEnabled,
            Greeting = s.VoicemailGreeting,
            MailTo = s.VoicemailMailTo,
            AttachAudio = !s.VoicemailNoAttachment,
            MaxSeconds = s.VoicemailMaxSeconds ?? VoicemailSettings.DefaultMaxSeconds,
            SilenceSeconds = s.VoicemailSilenceSeconds ?? VoicemailSettings.DefaultSilenceSeconds,
        },
        AgentAnnouncePrompt = s.AgentAnnouncePrompt,
        AgentAnnounceWaitTime = s.AgentAnnounceWaitTime,
        TimeoutDestination = ToDestination(s.TimeoutDestination),
        NoAgentsDestination = ToDestination(s.NoAgentsDestination),
        QueueFullDestination = ToDestination(s.QueueFullDestination),
        NoAnswerDestination = ToDestination(s.NoAnswerDestination),
        ExitKeyDestination = ToDestination(s.ExitKeyDestination),
        NightModeDestination = ToDestination(s.NightModeDestination),
        WaitEstimator = s.WaitEstimator,
        ExpectedHandleSeconds = s.ExpectedHandleSeconds,
        Active = !s.Inactive,
        InactiveDestination = s.InactiveDestination == null ? Destination.Hangup : ToDestination(s.InactiveDestination),
        DispositionCodes = s.DispositionCodes ?? [],
        DispositionRequired = s.DispositionRequired,
        OfficeHours = s.OfficeHours,
    };

    public static AgentSettings Of(AgentConfig c) => new()
    {
        Id = c.Id.Value,
        Name = c.Name,
        Kind = c.Kind,
        Number = c.Number,
        RingTimeoutSeconds = c.RingTimeoutSeconds,
        BusyDelaySeconds = c.BusyDelaySeconds,
        RejectDelaySeconds = c.RejectDelaySeconds,
        NoAnswerDelaySeconds = c.NoAnswerDelaySeconds,
        WrapUpSeconds = c.WrapUpSeconds,
        MaxConsecutiveNoAnswers = c.MaxConsecutiveNoAnswers,
        DialectData = Of(c.DialectData),
    };

    public static AgentConfig ToConfig(AgentSettings s) => new()
    {
        Id = new AgentId(s.Id),
        Name = s.Name,
        Kind = s.Kind,
        Number = s.Number,
        RingTimeoutSeconds = s.RingTimeoutSeconds,
        BusyDelaySeconds = s.BusyDelaySeconds,
        RejectDelaySeconds = s.RejectDelaySeconds,
        NoAnswerDelaySeconds = s.NoAnswerDelaySeconds,
        WrapUpSeconds = s.WrapUpSeconds,
        MaxConsecutiveNoAnswers = s.MaxConsecutiveNoAnswers,
        DialectData = ToDialectData(s.DialectData),
    };

    public static MemberSettings Of(MemberConfig c) => new()
    {
        Level = c.Level,
        Position = c.Position,
        SkillLevel = c.SkillLevel,
        RingDelaySeconds = c.RingDelaySeconds,
        RingTimeoutSeconds = c.RingTimeoutSeconds,
    };

    public static MemberConfig ToConfig(MemberSettings s) => new()
    {
        Level = s.Level,
        Position = s.Position,
        SkillLevel = s.SkillLevel,
        RingDelaySeconds = s.RingDelaySeconds,
        RingTimeoutSeconds = s.RingTimeoutSeconds,
    };

    internal static DestinationSnapshot Of(Destination d) => new() { Kind = d.Kind, Queue = d.Queue.Value, Target = d.Target };

    internal static Destination ToDestination(DestinationSnapshot s) => new(s.Kind, new QueueId(s.Queue), s.Target);

    private static SortedDictionary<string, string>? Of(IReadOnlyDictionary<string, string> data) =>
        data.Count == 0 ? null : new SortedDictionary<string, string>(data.ToDictionary(), StringComparer.Ordinal);

    private static IReadOnlyDictionary<string, string> ToDialectData(IReadOnlyDictionary<string, string>? data) =>
        data is not { Count: > 0 } ? QueueConfig.NoDialectData : new Dictionary<string, string>(data, StringComparer.Ordinal);

    private static IReadOnlySet<string> ToSet(IReadOnlyList<string> items) =>
        items.Count == 0 ? QueueConfig.EmptySet : new HashSet<string>(items, StringComparer.Ordinal);
}
