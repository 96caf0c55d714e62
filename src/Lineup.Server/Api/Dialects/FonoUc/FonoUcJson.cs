using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lineup.Server.Api.Dialects.FonoUc;

/// <summary>FonoUC's answers and its error body. The seed documents no error shape ("400: the information sent is
/// invalid"), so Lineup answers <c>{"status", "error", "message", "field"}</c> with the documented status codes.</summary>
internal static class FonoUcJson
{
    public static IResult Ok(JsonNode node, int status = 200) =>
        TypedResults.Content(node.ToJsonString(), "application/json", Encoding.UTF8, status);

    public static IResult Error(int status, string message, string? field = null) => Ok(new JsonObject
    {
        ["status"] = status,
        ["error"] = status switch
        {
            400 => "invalid_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            409 => "conflict",
            429 => "too_many_requests",
            _ => "error",
        },
        ["message"] = message,
        ["field"] = field,
    }, status);

    /// <summary>The first field error of a strict body read, in FonoUC's error body.</summary>
    public static IResult Invalid(Errors errors)
    {
        var (field, messages) = errors.All.First();
        return Error(400, messages[0], field == "body" ? null : field);
    }

    public static double Seconds(long unixMs) => Math.Round(unixMs / 1000.0, 3);
}

/// <summary>Reads typed fields from a JSON object, collecting one error per bad field (named as FonoUC names it).</summary>
internal sealed class FieldReader(JsonObject body, Errors errors)
{
    public bool Has(string name) => body.ContainsKey(name);

    public string? String(string name, int min, int max)
    {
        if (!body.TryGetPropertyValue(name, out var n) || n == null) return null;
        if (n.GetValueKind() != JsonValueKind.String) return Fail<string>(name, $"{name} must be a string.");
        var s = n.GetValue<string>();
        if (s.Length < min || s.Length > max) return Fail<string>(name, $"{name} must be {min} to {max} characters long.");
        return s;
    }

    public int? Int(string name, int min, int max)
    {
        if (!body.TryGetPropertyValue(name, out var n) || n == null) return null;
        if (n.GetValueKind() != JsonValueKind.Number || !n.AsValue().TryGetValue<int>(out var v))
        {
            errors.Add(name, $"{name} must be an integer.");
            return null;
        }
        if (v < min || v > max)
        {
            errors.Add(name, $"{name} must be between {min} and {max}.");
            return null;
        }
        return v;
    }

    public bool? Bool(string name)
    {
        if (!body.TryGetPropertyValue(name, out var n) || n == null) return null;
        if (n.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return n.GetValue<bool>();
        errors.Add(name, $"{name} must be true or false.");
        return null;
    }

    /// <summary>A field kept as given: it must be of <paramref name="kind"/> (an array's items must be objects).</summary>
    public JsonNode? Stored(string name, JsonValueKind kind)
    {
        if (!body.TryGetPropertyValue(name, out var n) || n == null) return null;
        if (n.GetValueKind() != kind) return Fail<JsonNode>(name, $"{name} must be {(kind == JsonValueKind.Array ? "an array" : kind == JsonValueKind.Object ? "an object" : "a " + kind.ToString().ToLowerInvariant())}.");
        if (n is JsonArray a && a.Any(i => i is not JsonObject)) return Fail<JsonNode>(name, $"each item of {name} must be an object.");
        return n.DeepClone();
    }

    private T? Fail<T>(string name, string message) where T : class
    {
        errors.Add(name, message);
        return null;
    }
}
