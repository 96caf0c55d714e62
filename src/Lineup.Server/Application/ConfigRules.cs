using Lineup.Engine;

namespace Lineup.Server.Application;

/// <summary>
/// The limits of the engine's settings, checked once for every API: a value one API refuses, every API that accepts
/// the setting refuses. A dialect parses its own fields (types, its vendor's enums and spellings) into the engine's
/// config; these rules then check the config, naming each setting as the calling API calls it.
/// </summary>
public static class ConfigRules
{
    /// <summary>How one API names the engine's settings: the setting's property name (<c>nameof(QueueConfig.RingTimeoutSeconds)</c>)
    /// to the API's field, or null for a setting the API does not show (its value then comes from the current config
    /// or the defaults, which are valid).</summary>
    public delegate string? FieldNames(string setting);

    public static void Check(QueueConfig c, FieldNames names, FieldErrors e)
    {
        Range(e, names, nameof(QueueConfig.RingTimeoutSeconds), c.RingTimeoutSeconds, 1, 3600);
        Range(e, names, nameof(QueueConfig.RetrySeconds), c.RetrySeconds, 0, 3600);
        Range(e, names, nameof(QueueConfig.MaxCallers), c.MaxCallers, 0, 100_000);
        Range(e, names, nameof(QueueConfig.MaxWaitSeconds), c.MaxWaitSeconds, 0, 7 * 86400);
        Range(e, names, nameof(QueueConfig.MaxWaitNoAgentSeconds), c.MaxWaitNoAgentSeconds, 0, 7 * 86400);
        Range(e, names, nameof(QueueConfig.NoAnswerMaxAttempts), c.NoAnswerMaxAttempts, 0, 1000);
        Range(e, names, nameof(QueueConfig.WrapUpSeconds), c.WrapUpSeconds, 0, 86400);
        Range(e, names, nameof(QueueConfig.StickyAgentSeconds), c.StickyAgentSeconds, 0, 366 * 86400);
        Range(e, names, nameof(QueueConfig.TierRuleWaitSeconds), c.TierRuleWaitSeconds, 0, 86400);
        Range(e, names, nameof(QueueConfig.SlaSeconds), c.SlaSeconds, 0, 86400);
        Range(e, names, nameof(QueueConfig.Weight), c.Weight, 1, 100);
        Range(e, names, nameof(QueueConfig.VipPriority), c.VipPriority, 0, 100);
        Range(e, names, nameof(QueueConfig.PeriodicAnnounceSeconds), c.PeriodicAnnounceSeconds, 0, 3600);
        Range(e, names, nameof(QueueConfig.PositionAnnounceSeconds), c.PositionAnnounceSeconds, 0, 3600);
        Range(e, names, nameof(QueueConfig.ExpectedHandleSeconds), c.ExpectedHandleSeconds, 1, 86400);
        Range(e, names, "Callback.OfferAfterSeconds", c.Callback.OfferAfterSeconds, 0, 86400);
        Range(e, names, "Callback.MaxAttempts", c.Callback.MaxAttempts, 1, 20);
        Range(e, names, "Callback.RetrySeconds", c.Callback.RetrySeconds, 0, 86400);
    }

    public static void Check(AgentConfig c, FieldNames names, FieldErrors e)
    {
        Range(e, names, nameof(AgentConfig.RingTimeoutSeconds), c.RingTimeoutSeconds, 0, 3600);
        Range(e, names, nameof(AgentConfig.BusyDelaySeconds), c.BusyDelaySeconds, 0, 86400);
        Range(e, names, nameof(AgentConfig.RejectDelaySeconds), c.RejectDelaySeconds, 0, 86400);
        Range(e, names, nameof(AgentConfig.NoAnswerDelaySeconds), c.NoAnswerDelaySeconds, 0, 86400);
        if (c.WrapUpSeconds is { } wrap) Range(e, names, nameof(AgentConfig.WrapUpSeconds), wrap, 0, 86400);
        Range(e, names, nameof(AgentConfig.MaxConsecutiveNoAnswers), c.MaxConsecutiveNoAnswers, 0, 1000);
    }

    public static void Check(MemberConfig c, FieldNames names, FieldErrors e)
    {
        Range(e, names, nameof(MemberConfig.Level), c.Level, 0, 1000);
        Range(e, names, nameof(MemberConfig.Position), c.Position, 0, 100_000);
        Range(e, names, nameof(MemberConfig.SkillLevel), c.SkillLevel, 1, 100);
        Range(e, names, nameof(MemberConfig.RingDelaySeconds), c.RingDelaySeconds, 0, 3600);
        Range(e, names, nameof(MemberConfig.RingTimeoutSeconds), c.RingTimeoutSeconds, 0, 3600);
    }

    private static void Range(FieldErrors e, FieldNames names, string setting, int value, int min, int max)
    {
        if (value >= min && value <= max) return;
        var field = names(setting) ?? setting;
        e.Add(field, $"{field} must be between {min} and {max}.");
    }
}
