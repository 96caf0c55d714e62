using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Lineup.Server.Api.Dialects.PortSip;

/// <summary>
/// Reads one JSON object strictly, field by field, keeping the first error (PortSIP's error names one field).
/// A JSON null counts as "not given", as the vendor's optional fields allow.
/// </summary>
public sealed partial class PortSipFields(JsonObject body)
{
    public string? Field { get; private set; }
    public string? Message { get; private set; }
    public bool Failed => Field != null;
    public JsonObject Body => body;

    public IResult Problem() => PortSipErrors.BadField(Field!, Message!);

    public void Fail(string field, string message)
    {
        if (Field != null) return;
        Field = field;
        Message = message;
    }

    /// <summary>Every field of the body must be one of <paramref name="known"/>.</summary>
    public void OnlyKnown(IReadOnlyCollection<string> known, string prefix = "")
    {
        foreach (var (key, _) in body)
            if (!known.Contains(key)) Fail(prefix + key, $"Unknown field '{key}'.");
    }

    public bool Has(string name) => body[name] is not null;

    public string? String(string name, int min, int max, Regex? pattern = null, string? what = null, string prefix = "")
    {
        if (body[name] is not { } node) return null;
        if (node.GetValueKind() != JsonValueKind.String)
        {
            Fail(prefix + name, $"{name} must be a string.");
            return null;
        }
        var s = node.GetValue<string>();
        if (s.Length < min || s.Length > max) Fail(prefix + name, $"{name} must be {min} to {max} characters long.");
        else if (pattern != null && !pattern.IsMatch(s)) Fail(prefix + name, $"{name} must be {what}.");
        return s;
    }

    public int? Int(string name, int min, int max, string prefix = "")
    {
        if (body[name] is not { } node) return null;
        if (node.GetValueKind() != JsonValueKind.Number || !node.AsValue().TryGetValue<int>(out var v))
        {
            Fail(prefix + name, $"{name} must be a 32-bit integer.");
            return null;
        }
        if (v < min || v > max)
        {
            Fail(prefix + name, $"{name} must be between {min} and {max}.");
            return null;
        }
        return v;
    }

    public bool? Bool(string name)
    {
        if (body[name] is not { } node) return null;
        if (node.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            Fail(name, $"{name} must be true or false.");
            return null;
        }
        return node.GetValue<bool>();
    }

    public string? Enum(string name, IReadOnlyList<string> values, string prefix = "")
    {
        var s = String(name, 1, 64, prefix: prefix);
        if (s != null && !values.Contains(s))
        {
            Fail(prefix + name, $"{name} must be one of: {string.Join(", ", values)}.");
            return null;
        }
        return s;
    }

    public JsonObject? Object(string name)
    {
        if (body[name] is not { } node) return null;
        if (node is JsonObject o) return o;
        Fail(name, $"{name} must be an object.");
        return null;
    }

    public JsonArray? Array(string name)
    {
        if (body[name] is not { } node) return null;
        if (node is JsonArray a) return a;
        Fail(name, $"{name} must be an array.");
        return null;
    }

    /// <summary>PortSIP's extension numbers: 3 to 64 digits.</summary>
    [GeneratedRegex("^[0-9]{3,64}$")]
    public static partial Regex Extension();

    /// <summary>Dialable numbers (forward targets, prefixes).</summary>
    [GeneratedRegex(@"^[0-9*#+]{1,64}$")]
    public static partial Regex Dialable();

    /// <summary>BCP 47 language tags, loosely (en-US, zh-Hans-CN).</summary>
    [GeneratedRegex("^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")]
    public static partial Regex Language();
}
