using Lineup.Engine;

namespace Lineup.Server.Api.Dialects;

/// <summary>A vendor's names for Lineup's strategies (with skills routing, which PortSIP folds into the name). The table
/// in docs/engine.md is checked against every dialect's spelling by a test.</summary>
public sealed class StrategySpelling(IReadOnlyList<(string Name, Strategy Strategy, bool Skills)> names)
{
    public IReadOnlyList<(string Name, Strategy Strategy, bool Skills)> Names => names;

    /// <summary>Parses a name exactly as the vendor spells it (case-sensitive, as the vendors are).</summary>
    public bool TryParse(string? name, out Strategy strategy, out bool skillsRouting)
    {
        foreach (var row in names)
        {
            if (string.Equals(row.Name, name, StringComparison.Ordinal))
            {
                (strategy, skillsRouting) = (row.Strategy, row.Skills);
                return true;
            }
        }
        (strategy, skillsRouting) = (default, false);
        return false;
    }

    /// <summary>The vendor's name for a strategy, or null when the vendor has no such strategy.</summary>
    public string? NameFor(Strategy strategy, bool skillsRouting = false)
    {
        foreach (var row in names)
            if (row.Strategy == strategy && row.Skills == skillsRouting) return row.Name;
        return null;
    }

    /// <summary>The vendor's name, else Lineup's own (for a strategy the vendor lacks).</summary>
    public string NameOrNative(Strategy strategy, bool skillsRouting = false) => NameFor(strategy, skillsRouting) ?? StrategyNames.NameOf(strategy);

    /// <summary>The vendor's name or, where the dialect also takes them, Lineup's own names.</summary>
    public bool TryParseOrNative(string? name, out Strategy strategy, out bool skillsRouting)
    {
        if (TryParse(name, out strategy, out skillsRouting)) return true;
        skillsRouting = false;
        return StrategyNames.TryParse(name, out strategy);
    }
}
