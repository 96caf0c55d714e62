using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Lineup.Server.Api.Dialects.PortSip;

/// <summary>
/// PortSIP's collection query options over a list's summary items: <c>filter</c> (clauses <c>field eq value</c> or
/// <c>field ne value</c>, strings in single quotes, joined by <c>and</c>), <c>search</c> (case-insensitive text in any
/// string field), <c>orderby</c> (<c>field [asc|desc]</c>, comma-separated), <c>skip</c>, <c>top</c> (1..100, default
/// 100). <c>count</c> is the number of matching items before skip and top.
/// </summary>
public static partial class PortSipQuery
{
    public sealed record Result(int Count, IReadOnlyList<JsonObject> Items);

    public static bool TryApply(HttpRequest request, IReadOnlyList<JsonObject> items, IReadOnlyCollection<string> fields,
        out Result result, out IResult? error)
    {
        result = new Result(0, []);
        error = null;
        var q = request.Query;
        IEnumerable<JsonObject> list = items;

        var filter = q["filter"].ToString();
        if (filter.Length > 0)
        {
            if (filter.Length > 1000) return Fail("filter", "filter must be at most 1000 characters.", out error);
            foreach (var clause in AndSplit().Split(filter.Trim()))
            {
                var m = Clause().Match(clause);
                if (!m.Success) return Fail("filter", $"filter clause '{clause}' must read: field eq value (or ne).", out error);
                var field = m.Groups["field"].Value;
                if (!fields.Contains(field)) return Fail("filter", $"filter cannot use '{field}'; fields: {string.Join(", ", fields)}.", out error);
                var value = m.Groups["str"].Success ? m.Groups["str"].Value.Replace("''", "'", StringComparison.Ordinal) : m.Groups["lit"].Value;
                var negate = m.Groups["op"].Value.Equals("ne", StringComparison.OrdinalIgnoreCase);
                list = list.Where(i => string.Equals(Text(i[field]), value, StringComparison.Ordinal) != negate).ToList();
            }
        }

        var search = q["search"].ToString();
        if (search.Length > 0)
        {
            if (search.Length > 256) return Fail("search", "search must be at most 256 characters.", out error);
            list = list.Where(i => fields.Any(f => i[f] is JsonValue v && v.GetValueKind() == JsonValueKind.String
                && v.GetValue<string>().Contains(search, StringComparison.OrdinalIgnoreCase))).ToList();
        }

        var orderby = q["orderby"].ToString();
        if (orderby.Length > 0)
        {
            IOrderedEnumerable<JsonObject>? ordered = null;
            foreach (var part in orderby.Split(',', StringSplitOptions.TrimEntries))
            {
                var words = part.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length is 0 or > 2 || !fields.Contains(words[0])
                    || (words.Length == 2 && !words[1].Equals("asc", StringComparison.OrdinalIgnoreCase) && !words[1].Equals("desc", StringComparison.OrdinalIgnoreCase)))
                    return Fail("orderby", $"orderby must read: field [asc|desc], with fields: {string.Join(", ", fields)}.", out error);
                var field = words[0];
                var desc = words.Length == 2 && words[1].Equals("desc", StringComparison.OrdinalIgnoreCase);
                Func<JsonObject, JsonNode?> key = i => i[field];
                ordered = ordered == null
                    ? (desc ? list.OrderByDescending(key, NodeComparer.Instance) : list.OrderBy(key, NodeComparer.Instance))
                    : (desc ? ordered.ThenByDescending(key, NodeComparer.Instance) : ordered.ThenBy(key, NodeComparer.Instance));
            }
            list = ordered!;
        }

        var skip = 0;
        var top = 100;
        var skipText = q["skip"].ToString();
        var topText = q["top"].ToString();
        if (skipText.Length > 0 && (!int.TryParse(skipText, NumberStyles.None, CultureInfo.InvariantCulture, out skip)))
            return Fail("skip", "skip must be an integer of 0 or more.", out error);
        if (topText.Length > 0 && (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top is < 1 or > 100))
            return Fail("top", "top must be an integer between 1 and 100.", out error);

        var all = list.ToList();
        result = new Result(all.Count, all.Skip(skip).Take(top).ToList());
        return true;
    }

    private static bool Fail(string field, string message, out IResult? error)
    {
        error = PortSipErrors.BadField(field, message);
        return false;
    }

    private static string? Text(JsonNode? n) => n switch
    {
        null => "null",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => n.ToJsonString(),
    };

    [GeneratedRegex(@"\s+and\s+", RegexOptions.IgnoreCase)]
    private static partial Regex AndSplit();

    [GeneratedRegex(@"^\s*(?<field>[a-z_]+)\s+(?<op>eq|ne)\s+(?:'(?<str>(?:[^']|'')*)'|(?<lit>[A-Za-z0-9_.+-]+))\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex Clause();

    /// <summary>Numbers by value, strings ordinally, nulls first.</summary>
    private sealed class NodeComparer : IComparer<JsonNode?>
    {
        public static readonly NodeComparer Instance = new();

        public int Compare(JsonNode? x, JsonNode? y)
        {
            if (x == null || y == null) return (x == null ? 0 : 1) - (y == null ? 0 : 1);
            if (x.GetValueKind() == JsonValueKind.Number && y.GetValueKind() == JsonValueKind.Number)
                return double.Parse(x.ToJsonString(), CultureInfo.InvariantCulture).CompareTo(double.Parse(y.ToJsonString(), CultureInfo.InvariantCulture));
            return string.CompareOrdinal(Text(x), Text(y));
        }
    }
}
