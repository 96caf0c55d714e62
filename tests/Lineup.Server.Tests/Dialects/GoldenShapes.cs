using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Lineup.Server.Tests.Dialects;

/// <summary>What a golden comparison allows beyond the document: each entry names a field (its last path segment).</summary>
public sealed record ShapeRules
{
    /// <summary>Fields Lineup may answer null where the document shows a value.</summary>
    public IReadOnlyCollection<string> Nullable { get; init; } = [];

    /// <summary>Fields Lineup adds that the document's example does not show (a test says why beside each).</summary>
    public IReadOnlyCollection<string> Extras { get; init; } = [];

    /// <summary>Fields whose content the document elides (<c>"user": { ... }</c>): only their JSON type is compared.</summary>
    public IReadOnlyCollection<string> Opaque { get; init; } = [];

    /// <summary>Fields the document shows as null: the JSON type the seed's own tables give each, which Lineup may
    /// answer instead of null. A golden null not named here admits only null.</summary>
    public IReadOnlyDictionary<string, JsonValueKind> NullTypes { get; init; } = new Dictionary<string, JsonValueKind>();
}

/// <summary>
/// The seeds' example responses, kept as golden files under Dialects/Golden/&lt;vendor&gt;/ (read from the source tree,
/// so no project file lists them), and a field-by-field comparison of Lineup's answers with them: every field the
/// document shows is present with the same JSON type, and no other; values that depend on state are checked by the
/// tests.
/// </summary>
public static class GoldenShapes
{
    public static JsonElement Load(string vendor, string name, [CallerFilePath] string source = "")
    {
        var path = Path.Combine(Path.GetDirectoryName(source)!, "Golden", vendor, name);
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();
    }

    /// <summary>Asserts that <paramref name="actual"/> has the shape of <paramref name="golden"/>, recursively: the same
    /// fields (no missing one, no extra one unless <see cref="ShapeRules.Extras"/> names it), each with the same JSON type
    /// (true and false are one type; an integer in the document must be an integer). A golden null admits null, or the type <see cref="ShapeRules.NullTypes"/> gives it;
    /// an actual null elsewhere is accepted only where <see cref="ShapeRules.Nullable"/> names the field. Every item of
    /// an actual array is compared with the golden's first item, and an actual array must not be empty where the
    /// golden's is not (there would be nothing to compare). A field named like a placeholder ("{QUEUE_ID}") matches
    /// every key of the actual object, which must have at least one.</summary>
    public static void AssertShape(JsonElement golden, JsonElement actual, ShapeRules? rules = null) =>
        Compare(golden, actual, "$", rules ?? new ShapeRules());

    private static void Compare(JsonElement golden, JsonElement actual, string path, ShapeRules rules)
    {
        var field = path.Split('.')[^1].Split('[')[0];
        if (golden.ValueKind == JsonValueKind.Null)
        {
            if (actual.ValueKind == JsonValueKind.Null) return;
            Assert.True(rules.NullTypes.TryGetValue(field, out var type),
                $"{path}: the document shows null, Lineup answered {actual.ValueKind} ({actual}): name the type the seed's tables give '{field}'");
            Assert.True(Kind(type) == Kind(actual.ValueKind), $"{path}: the seed's tables give {type}, got {actual.ValueKind}: {actual}");
            return;
        }
        if (actual.ValueKind == JsonValueKind.Null && rules.Nullable.Contains(field)) return;
        Assert.True(Kind(golden.ValueKind) == Kind(actual.ValueKind), $"{path}: expected {Kind(golden.ValueKind)} as in the document, got {actual.ValueKind}: {actual}");
        if (rules.Opaque.Contains(field)) return;
        switch (golden.ValueKind)
        {
            case JsonValueKind.Number:
                // An integer in the document is an integer in Lineup's answer (a count or an id, never 12.5).
                if (golden.TryGetInt64(out _)) Assert.True(actual.TryGetInt64(out _), $"{path}: the document shows an integer, got {actual}");
                break;
            case JsonValueKind.Object:
                var placeholder = golden.EnumerateObject().FirstOrDefault(p => p.Name.StartsWith('{') && p.Name.EndsWith('}'));
                if (placeholder.Value.ValueKind != JsonValueKind.Undefined)
                {
                    // A placeholder name ("{QUEUE_ID}") stands for keys that are ids: every actual value has its shape.
                    Assert.True(actual.EnumerateObject().Any(), $"{path}: an empty object where the document shows {placeholder.Name} entries: nothing to compare (give the test data)");
                    foreach (var q in actual.EnumerateObject()) Compare(placeholder.Value, q.Value, $"{path}.{q.Name}", rules);
                    break;
                }
                foreach (var p in golden.EnumerateObject())
                {
                    Assert.True(actual.TryGetProperty(p.Name, out var value), $"{path}: missing field '{p.Name}' in {actual}");
                    Compare(p.Value, value, $"{path}.{p.Name}", rules);
                }
                var extra = actual.EnumerateObject().Select(p => p.Name)
                    .Where(n => !golden.TryGetProperty(n, out _) && !rules.Extras.Contains(n)).ToList();
                Assert.True(extra.Count == 0, $"{path}: field(s) the document does not show: {string.Join(", ", extra)} in {actual}");
                break;
            case JsonValueKind.Array:
                if (golden.GetArrayLength() == 0) break;
                Assert.True(actual.GetArrayLength() > 0, $"{path}: an empty array where the document shows items: nothing to compare (give the test data)");
                var i = 0;
                foreach (var item in actual.EnumerateArray()) Compare(golden[0], item, $"{path}[{i++}]", rules);
                break;
        }
    }

    private static string Kind(JsonValueKind kind) => kind is JsonValueKind.True or JsonValueKind.False ? "Boolean" : kind.ToString();
}
