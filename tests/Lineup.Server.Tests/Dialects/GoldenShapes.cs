using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Lineup.Server.Tests.Dialects;

/// <summary>
/// The seeds' example responses, kept as golden files under Dialects/Golden/&lt;vendor&gt;/ (read from the source tree,
/// so no project file lists them), and a field-by-field comparison of Lineup's answers with them: every field the
/// document shows is present with the same JSON type; values that depend on state are checked by the tests.
/// </summary>
public static class GoldenShapes
{
    public static JsonElement Load(string vendor, string name, [CallerFilePath] string source = "")
    {
        var path = Path.Combine(Path.GetDirectoryName(source)!, "Golden", vendor, name);
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();
    }

    /// <summary>Asserts that <paramref name="actual"/> has every field of <paramref name="golden"/>, recursively, with
    /// the same JSON type (true and false are one type; a golden null accepts anything, an actual null is accepted
    /// only where <paramref name="nullable"/> names the field). Array items are compared with the golden's first item;
    /// a field named like a placeholder ("{QUEUE_ID}") matches every key of the actual object.</summary>
    public static void AssertShape(JsonElement golden, JsonElement actual, string path = "$", params string[] nullable)
    {
        if (golden.ValueKind == JsonValueKind.Null) return;
        if (actual.ValueKind == JsonValueKind.Null && nullable.Contains(path.Split('.')[^1].Split('[')[0])) return;
        Assert.True(Kind(golden) == Kind(actual), $"{path}: expected {Kind(golden)} as in the document, got {actual.ValueKind}: {actual}");
        switch (golden.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in golden.EnumerateObject())
                {
                    // A placeholder name ("{QUEUE_ID}") stands for keys that are ids: every actual value has its shape.
                    if (p.Name.StartsWith('{') && p.Name.EndsWith('}'))
                    {
                        foreach (var q in actual.EnumerateObject()) AssertShape(p.Value, q.Value, $"{path}.{q.Name}", nullable);
                        continue;
                    }
                    Assert.True(actual.TryGetProperty(p.Name, out var value), $"{path}: missing field '{p.Name}' in {actual}");
                    AssertShape(p.Value, value, $"{path}.{p.Name}", nullable);
                }
                break;
            case JsonValueKind.Array:
                if (golden.GetArrayLength() == 0) break;
                var i = 0;
                foreach (var item in actual.EnumerateArray()) AssertShape(golden[0], item, $"{path}[{i++}]", nullable);
                break;
        }
    }

    private static string Kind(JsonElement e) => e.ValueKind is JsonValueKind.True or JsonValueKind.False ? "Boolean" : e.ValueKind.ToString();
}
