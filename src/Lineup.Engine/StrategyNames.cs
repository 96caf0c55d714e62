namespace Lineup.Engine;

public enum Vendor
{
    /// <summary>Lineup's own snake_case names (the native API).</summary>
    Native,
    FonoUC,
    PortSip,
    Kazoo,
    Telphin,
}

/// <summary>
/// Every vendor's strategy names mapped onto Lineup's <see cref="Strategy"/> (plus skills routing, which PortSIP
/// folds into the name). The table in docs/engine.md is generated from the same data by a test.
/// </summary>
public static class StrategyNames
{
    /// <summary>(vendor, vendor name, strategy, skills routing), in documentation order.</summary>
    public static IReadOnlyList<(Vendor Vendor, string Name, Strategy Strategy, bool Skills)> Table { get; } =
    [
        (Vendor.Native, "ring_all", Strategy.RingAll, false),
        (Vendor.Native, "longest_idle", Strategy.LongestIdle, false),
        (Vendor.Native, "round_robin", Strategy.RoundRobin, false),
        (Vendor.Native, "top_down", Strategy.TopDown, false),
        (Vendor.Native, "least_talk_time", Strategy.LeastTalkTime, false),
        (Vendor.Native, "fewest_calls", Strategy.FewestCalls, false),
        (Vendor.Native, "sequential_by_agent_order", Strategy.SequentialByAgentOrder, false),
        (Vendor.Native, "random", Strategy.Random, false),
        (Vendor.Native, "least_recently_offered", Strategy.LeastRecentlyOffered, false),
        (Vendor.Native, "least_recently_answered", Strategy.LeastRecentlyAnswered, false),

        (Vendor.FonoUC, "simultaneous", Strategy.RingAll, false),

        (Vendor.PortSip, "RING_SIMULTANEOUSLY", Strategy.RingAll, false),
        (Vendor.PortSip, "PRIORITIZED_HUNT", Strategy.SequentialByAgentOrder, false),
        (Vendor.PortSip, "CYCLIC_HUNT", Strategy.LeastRecentlyOffered, false),
        (Vendor.PortSip, "LEAST_WORKED_HUNT", Strategy.LeastRecentlyAnswered, false),
        (Vendor.PortSip, "SKILL_BASED_ROUTING_PRIORITIZED_HUNT", Strategy.SequentialByAgentOrder, true),
        (Vendor.PortSip, "SKILL_BASED_ROUTING_CYCLIC_HUNT", Strategy.LeastRecentlyOffered, true),
        (Vendor.PortSip, "SKILL_BASED_ROUTING_LEAST_WORKED_HUNT", Strategy.LeastRecentlyAnswered, true),

        (Vendor.Kazoo, "route_round_robin", Strategy.RoundRobin, false),

        (Vendor.Telphin, "ring-all", Strategy.RingAll, false),
        (Vendor.Telphin, "longest-idle-agent", Strategy.LongestIdle, false),
        (Vendor.Telphin, "round-robin", Strategy.RoundRobin, false),
        (Vendor.Telphin, "top-down", Strategy.TopDown, false),
        (Vendor.Telphin, "agent-with-least-talk-time", Strategy.LeastTalkTime, false),
        (Vendor.Telphin, "agent-with-fewest-calls", Strategy.FewestCalls, false),
        (Vendor.Telphin, "sequentially-by-agent-order", Strategy.SequentialByAgentOrder, false),
        (Vendor.Telphin, "random", Strategy.Random, false),
    ];

    /// <summary>Parses a vendor's strategy name, exactly as that vendor spells it (case-sensitive, as the vendors are).</summary>
    public static bool TryParse(Vendor vendor, string? name, out Strategy strategy, out bool skillsRouting)
    {
        foreach (var row in Table)
        {
            if (row.Vendor == vendor && string.Equals(row.Name, name, StringComparison.Ordinal))
            {
                strategy = row.Strategy;
                skillsRouting = row.Skills;
                return true;
            }
        }
        strategy = default;
        skillsRouting = false;
        return false;
    }

    /// <summary>The vendor's name for a strategy, or null when that vendor has no such strategy.</summary>
    public static string? NameFor(Vendor vendor, Strategy strategy, bool skillsRouting = false)
    {
        foreach (var row in Table)
            if (row.Vendor == vendor && row.Strategy == strategy && row.Skills == skillsRouting) return row.Name;
        return null;
    }
}
