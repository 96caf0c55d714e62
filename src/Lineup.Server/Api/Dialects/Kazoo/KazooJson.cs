using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lineup.Server.Api.Dialects.Kazoo;

/// <summary>Lineup's ids as Kazoo writes ids (32 lowercase hex digits, the id zero-padded) and back.</summary>
public static class KazooIds
{
    public static string Format(long id) => id.ToString("x32", CultureInfo.InvariantCulture);

    /// <summary>Parses an id; anything that is not 32 lowercase hex digits of a positive number cannot exist.</summary>
    public static bool TryParse(string? text, out long id)
    {
        id = 0;
        if (text is not { Length: 32 } || text.AsSpan(0, 16).ContainsAnyExcept('0')) return false;
        foreach (var c in text)
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f'))) return false;
        return long.TryParse(text.AsSpan(16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out id) && id > 0;
    }

    /// <summary>An engine id (queue or agent): 1..int.MaxValue.</summary>
    public static bool TryEngine(string? text, out int id)
    {
        id = TryParse(text, out var v) && v <= int.MaxValue ? (int)v : 0;
        return id > 0;
    }
}

/// <summary>Kazoo's envelope <c>{data, request_id, status, auth_token}</c> and its error bodies.</summary>
internal static class KazooJson
{
    private static string RequestId(HttpContext http)
    {
        var given = http.Request.Headers["X-Request-ID"].ToString();
        return given.Length is > 0 and <= 64 ? given : Guid.NewGuid().ToString("N");
    }

    private static string AuthToken(HttpContext http)
    {
        var token = http.Request.Headers["X-Auth-Token"].ToString();
        if (token.Length == 0 && http.Request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) token = auth[7..].Trim();
        return token.Length <= 200 ? token : "";
    }

    public static IResult Ok(HttpContext http, JsonNode data, int status = 200, int? pageSize = null)
    {
        var o = new JsonObject();
        if (pageSize is { } p) o["page_size"] = p;
        o["data"] = data;
        o["request_id"] = RequestId(http);
        o["status"] = "success";
        o["auth_token"] = AuthToken(http);
        return Send(o, status);
    }

    private static IResult Send(JsonObject o, int status) =>
        TypedResults.Content(o.ToJsonString(), "application/json", Encoding.UTF8, status);

    /// <summary>A Kazoo error: <c>{"data": {"message"}, "error": "404", "message": "bad_identifier", "status": "error"}</c>.</summary>
    public static IResult Error(HttpContext http, int status, string message, string? detail = null)
    {
        var o = new JsonObject
        {
            ["data"] = new JsonObject { ["message"] = detail ?? message },
            ["error"] = status.ToString(CultureInfo.InvariantCulture),
            ["message"] = message,
            ["status"] = "error",
            ["request_id"] = RequestId(http),
            ["auth_token"] = AuthToken(http),
        };
        return Send(o, status);
    }

    /// <summary>Kazoo's validation error: <c>data</c> maps each field to its failed rule and message.</summary>
    public static IResult Invalid(HttpContext http, KazooErrors errors)
    {
        var data = new JsonObject();
        foreach (var (field, rule, message, value) in errors.List)
        {
            if (data[field] is not JsonObject f) data[field] = f = new JsonObject();
            var entry = new JsonObject { ["message"] = message };
            if (value != null) entry["value"] = value.DeepClone();
            f[rule] = entry;
        }
        var o = new JsonObject
        {
            ["data"] = data,
            ["error"] = "400",
            ["message"] = "invalid data",
            ["status"] = "error",
            ["request_id"] = RequestId(http),
            ["auth_token"] = AuthToken(http),
        };
        return Send(o, 400);
    }

    public static IResult NotFound(HttpContext http, string what) => Error(http, 404, "bad identifier", $"{what} not found");
}

/// <summary>Field errors with Kazoo's rule names (required, type, minimum, maximum, enum, ...).</summary>
internal sealed class KazooErrors
{
    public List<(string Field, string Rule, string Message, JsonNode? Value)> List { get; } = new();

    public bool Any => List.Count > 0;

    public void Add(string field, string rule, string message, JsonNode? value = null) => List.Add((field, rule, message, value));

    /// <summary>The errors of a strict body read (malformed JSON and the like) on the field they name.</summary>
    public static KazooErrors From(Errors e)
    {
        var k = new KazooErrors();
        foreach (var (field, messages) in e.All) k.Add(field, "invalid", messages[0]);
        return k;
    }

    /// <summary>An integer; Kazoo also takes one written as a string ("2000").</summary>
    public int? Int(JsonObject o, string name, int min, int max)
    {
        if (!o.TryGetPropertyValue(name, out var n) || n == null) return null;
        int v;
        if (n.GetValueKind() == JsonValueKind.Number && n.AsValue().TryGetValue<int>(out var number)) v = number;
        else if (n.GetValueKind() == JsonValueKind.String && int.TryParse(n.GetValue<string>(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed)) v = parsed;
        else
        {
            Add(name, "type", "Value did not match type(s): integer", n);
            return null;
        }
        if (v < min) Add(name, "minimum", $"Value must be at least {min}", n);
        else if (v > max) Add(name, "maximum", $"Value must be at most {max}", n);
        else return v;
        return null;
    }

    public bool? Bool(JsonObject o, string name)
    {
        if (!o.TryGetPropertyValue(name, out var n) || n == null) return null;
        if (n.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return n.GetValue<bool>();
        Add(name, "type", "Value did not match type(s): boolean", n);
        return null;
    }

    public string? String(JsonObject o, string name, int min, int max)
    {
        if (!o.TryGetPropertyValue(name, out var n) || n == null) return null;
        if (n.GetValueKind() != JsonValueKind.String)
        {
            Add(name, "type", "Value did not match type(s): string", n);
            return null;
        }
        var s = n.GetValue<string>();
        if (s.Length < min) Add(name, "minLength", $"Value must be at least {min} characters", n);
        else if (s.Length > max) Add(name, "maxLength", $"Value must be at most {max} characters", n);
        else return s;
        return null;
    }
}
