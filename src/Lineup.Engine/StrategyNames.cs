namespace Lineup.Engine;

/// <summary>
/// Lineup's own snake_case names of its <see cref="Strategy"/> values (the native API's). Vendors' spellings are
/// not the engine's business: each dialect maps its own names onto these strategies.
/// </summary>
public static class StrategyNames
{
    /// <summary>(name, strategy), in documentation order.</summary>
    public static IReadOnlyList<(string Name, Strategy Strategy)> Table { get; } =
    [
        ("ring_all", Strategy.RingAll),
        ("longest_idle", Strategy.LongestIdle),
        ("round_robin", Strategy.RoundRobin),
        ("top_down", Strategy.TopDown),
        ("least_talk_time", Strategy.LeastTalkTime),
        ("fewest_calls", Strategy.FewestCalls),
        ("sequential_by_agent_order", Strategy.SequentialByAgentOrder),
        ("random", Strategy.Random),
        ("least_recently_offered", Strategy.LeastRecentlyOffered),
        ("least_recently_answered", Strategy.LeastRecentlyAnswered),
    ];

    /// <summary>Parses a name exactly as written (case-sensitive).</summary>
    public static bool TryParse(string? name, out Strategy strategy)
    {
        foreach (var row in Table)
        {
            if (string.Equals(row.Name, name, StringComparison.Ordinal))
            {
                strategy = row.Strategy;
                return true;
            }
        }
        strategy = default;
        return false;
    }

    /// <summary>The name of <paramref name="strategy"/>.</summary>
    public static string NameOf(Strategy strategy)
    {
        foreach (var row in Table)
            if (row.Strategy == strategy) return row.Name;
        throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "not a strategy");
    }
}
