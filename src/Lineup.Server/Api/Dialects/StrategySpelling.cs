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

/// <summary>
/// Every strategy spelling Lineup knows: its own names and every dialect's (<see cref="Dialect.Strategies"/>), compared
/// without case and without separators, so <c>ringall</c>, <c>ring-all</c>, <c>RING_SIMULTANEOUSLY</c> and
/// <c>simultaneous</c> all read as ring_all. The native API takes any of them and answers with Lineup's name.
/// </summary>
public static class AnyStrategySpelling
{
    private static readonly Dictionary<string, (Strategy Strategy, bool Skills, string Spelling)> s_names = Build();

    /// <summary>Every spelling, by the dialect that spells it ("lineup" for Lineup's own).</summary>
    public static IEnumerable<(string Source, string Name, Strategy Strategy, bool Skills)> All =>
        StrategyNames.Table.Select(r => ("lineup", r.Name, r.Strategy, false))
            .Concat(Dialect.All.Where(d => d.Strategies != null).SelectMany(d => d.Strategies!.Names.Select(n => (d.Name, n.Name, n.Strategy, n.Skills))));

    /// <summary>Reads <paramref name="name"/> in any spelling; <paramref name="skillsRouting"/> is true when the spelling
    /// includes skills-based routing.</summary>
    public static bool TryParse(string? name, out Strategy strategy, out bool skillsRouting)
    {
        if (name != null && s_names.TryGetValue(Key(name), out var found))
        {
            (strategy, skillsRouting) = (found.Strategy, found.Skills);
            return true;
        }
        (strategy, skillsRouting) = (default, false);
        return false;
    }

    /// <summary>The letters and digits of <paramref name="name"/>, lower case.</summary>
    public static string Key(string name) =>
        string.Concat(name.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant));

    private static Dictionary<string, (Strategy, bool, string)> Build()
    {
        var names = new Dictionary<string, (Strategy, bool, string)>(StringComparer.Ordinal);
        foreach (var (source, name, strategy, skills) in All)
        {
            var key = Key(name);
            // Two spellings that read alike must mean the same, or the lenient reading would be a guess.
            if (names.TryGetValue(key, out var other) && (other.Item1 != strategy || other.Item2 != skills))
                throw new InvalidOperationException($"The strategy spelling '{name}' ({source}) reads like '{other.Item3}' but means another strategy.");
            names.TryAdd(key, (strategy, skills, name));
        }
        return names;
    }
}
