using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Lineup.Server.Events;

public enum WebhookMethod
{
    Post,
    Get,
}

public enum WebhookFormat
{
    /// <summary>The event envelope as JSON (POST only).</summary>
    Json,
    /// <summary>The envelope flattened to name=value pairs: a form body for POST, the query string for GET.</summary>
    Form,
}

/// <summary>A webhook subscription as stored (JSON in <c>webhooks.body</c>) and as the relay uses it.</summary>
public sealed record Webhook
{
    public long Id { get; init; }
    public long TenantId { get; init; }
    public string Name { get; init; } = "";
    public string Url { get; init; } = "";
    public WebhookMethod Method { get; init; } = WebhookMethod.Post;
    public WebhookFormat Format { get; init; } = WebhookFormat.Json;
    public IReadOnlyList<string> EventTypes { get; init; } = [];
    public IReadOnlyList<long> QueueIds { get; init; } = [];
    public IReadOnlyList<long> AgentIds { get; init; } = [];
    public string Secret { get; init; } = "";
    public bool Enabled { get; init; } = true;
    public long CreatedAt { get; init; }

    /// <summary>Who made it: <see cref="NativeSource"/> for the native API, or a dialect's name; a dialect may shape the payload.</summary>
    public string Source { get; init; } = NativeSource;

    public const string NativeSource = "api";
}

/// <summary>A subscription with its filters as sets, as the tenant host matches events against it.</summary>
public sealed class WebhookMatcher(Webhook hook)
{
    private readonly HashSet<string> _types = new(hook.EventTypes, StringComparer.Ordinal);
    private readonly HashSet<long> _queues = [.. hook.QueueIds];
    private readonly HashSet<long> _agents = [.. hook.AgentIds];

    public Webhook Hook => hook;

    public bool Matches(EventRecord e)
    {
        if (!hook.Enabled) return false;
        if (!_types.Contains(e.Type) && !_types.Contains("*")) return false;
        if (_queues.Count > 0 && (e.QueueId is not { } q || !_queues.Contains(q))) return false;
        if (_agents.Count > 0 && (e.AgentId is not { } a || !_agents.Contains(a))) return false;
        return true;
    }
}

/// <summary>A dialect's shape for the events of its subscriptions: URL-encoded form pairs instead of the envelope.</summary>
public delegate string WebhookPayload(EventRecord e);

/// <summary>The payload shapes of the subscriptions' sources (<see cref="Webhook.Source"/>): a source with none gets
/// Lineup's envelope. Filled by the dialects at start-up.</summary>
public sealed class WebhookPayloads(IReadOnlyDictionary<string, WebhookPayload> bySource)
{
    public WebhookPayload? For(string source) => bySource.GetValueOrDefault(source);
}

/// <summary>How an event becomes an HTTP request for a subscription, and how it is signed.</summary>
public static class WebhookRequests
{
    public const string SignatureHeader = "X-Lineup-Signature";
    public const string TimestampHeader = "X-Lineup-Timestamp";
    public const string EventIdHeader = "X-Lineup-Event-Id";
    public const string EventTypeHeader = "X-Lineup-Event-Type";
    public const string IdempotencyHeader = "Idempotency-Key";

    /// <summary>The request for <paramref name="e"/>; <paramref name="unixSeconds"/> goes into the signature. A source's
    /// own <paramref name="payload"/> (a dialect's) replaces the envelope.</summary>
    public static HttpRequestMessage Build(Webhook hook, EventRecord e, long unixSeconds, WebhookPayload? payload = null)
    {
        HttpRequestMessage request;
        string signed;
        var form = payload?.Invoke(e);
        if (hook.Method == WebhookMethod.Get)
        {
            var separator = hook.Url.Contains('?', StringComparison.Ordinal) ? "&" : "?";
            request = new HttpRequestMessage(HttpMethod.Get, hook.Url + separator + (form ?? Form(e.Json)));
            // The whole query string as the receiver gets it (the URL's own parameters too), without the '?'.
            signed = request.RequestUri!.Query.TrimStart('?');
        }
        else if (hook.Format == WebhookFormat.Form || form != null)
        {
            signed = form ?? Form(e.Json);
            request = new HttpRequestMessage(HttpMethod.Post, hook.Url)
            {
                Content = new StringContent(signed, Encoding.UTF8, "application/x-www-form-urlencoded"),
            };
        }
        else
        {
            signed = e.Json;
            request = new HttpRequestMessage(HttpMethod.Post, hook.Url) { Content = new StringContent(signed, Encoding.UTF8, "application/json") };
        }
        var t = unixSeconds.ToString(CultureInfo.InvariantCulture);
        request.Headers.TryAddWithoutValidation(TimestampHeader, t);
        request.Headers.TryAddWithoutValidation(SignatureHeader, $"t={t},v1={Sign(hook.Secret, t, signed)}");
        request.Headers.TryAddWithoutValidation(EventIdHeader, e.Id);
        request.Headers.TryAddWithoutValidation(EventTypeHeader, e.Type);
        request.Headers.TryAddWithoutValidation(IdempotencyHeader, e.Id);
        request.Headers.UserAgent.ParseAdd("Lineup-Webhooks/1");
        return request;
    }

    /// <summary>Lowercase hex HMAC-SHA256 of "<paramref name="timestamp"/>.<paramref name="payload"/>".</summary>
    public static string Sign(string secret, string timestamp, string payload) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + payload)));

    /// <summary>The envelope as form/query pairs: top-level fields by name, <c>data</c>'s fields by their own name
    /// (nested objects joined with dots, arrays indexed), in document order, URL-encoded.</summary>
    public static string Form(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.NameEquals("data")) Flatten(p.Value, "", pairs);
            else Flatten(p.Value, p.Name, pairs);
        }
        var sb = new StringBuilder();
        foreach (var (k, v) in pairs)
        {
            if (sb.Length > 0) sb.Append('&');
            sb.Append(Uri.EscapeDataString(k)).Append('=').Append(Uri.EscapeDataString(v));
        }
        return sb.ToString();
    }

    private static void Flatten(JsonElement value, string name, List<KeyValuePair<string, string>> pairs)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in value.EnumerateObject()) Flatten(p.Value, name.Length == 0 ? p.Name : $"{name}.{p.Name}", pairs);
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in value.EnumerateArray()) Flatten(item, $"{name}[{i++}]", pairs);
                break;
            case JsonValueKind.Null:
                pairs.Add(new(name, ""));
                break;
            case JsonValueKind.String:
                pairs.Add(new(name, value.GetString()!));
                break;
            default:
                pairs.Add(new(name, value.GetRawText()));
                break;
        }
    }
}
