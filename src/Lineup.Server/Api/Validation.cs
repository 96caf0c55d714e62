using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Lineup.Engine;
using Lineup.Server.Application;
using Lineup.Server.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Lineup.Server.Api;

/// <summary>Field errors for a 400 problem response; each message names its field.</summary>
public sealed partial class Errors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    /// <summary>Every message by field, for a dialect that words its errors its own way.</summary>
    public IReadOnlyDictionary<string, List<string>> All => _errors;

    public Errors Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = new List<string>();
        list.Add(message);
        return this;
    }

    /// <summary>The field errors of a use case's failure, for an API that words them itself.</summary>
    public static Errors From(AppError error)
    {
        var e = new Errors();
        foreach (var (field, messages) in error.Fields ?? new Dictionary<string, string[]>())
            foreach (var m in messages) e.Add(field, m);
        if (!e.Any) e.Add("body", error.Message);
        return e;
    }

    /// <summary>Adds the errors the application layer found.</summary>
    public void Add(FieldErrors errors)
    {
        foreach (var (field, message) in errors.All) Add(field, message);
    }

    public ValidationProblem Problem() =>
        TypedResults.ValidationProblem(_errors.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), title: "Invalid request");

    public void Range(string field, int? value, int min, int max)
    {
        if (value is { } v && (v < min || v > max)) Add(field, $"{field} must be between {min} and {max}.");
    }

    public void Length(string field, string? value, int min, int max)
    {
        if (value == null) return;
        if (value.Length < min || value.Length > max) Add(field, $"{field} must be {min} to {max} characters long.");
    }

    public void Pattern(string field, string? value, Regex regex, string what)
    {
        if (!string.IsNullOrEmpty(value) && !regex.IsMatch(value)) Add(field, $"{field} must be {what}.");
    }

    [GeneratedRegex(@"^[0-9*#+]{1,32}$")]
    public static partial Regex Dialable();

    [GeneratedRegex(@"^[0-9*#]$")]
    public static partial Regex Key();
}

/// <summary>Reading request bodies strictly: malformed JSON, wrong types, unknown fields and enum values all give a
/// 400 naming the field, never a 500.</summary>
public static class Body
{
    public const int MaxBytes = 256 * 1024;

    public static async Task<(T? Value, Errors? Errors)> ReadAsync<T>(HttpRequest request) where T : class
    {
        var (node, errors) = await ReadNodeAsync(request);
        if (errors != null) return (null, errors);
        return Bind<T>(node);
    }

    public static async Task<(JsonNode? Node, Errors? Errors)> ReadNodeAsync(HttpRequest request)
    {
        if (request.ContentLength > MaxBytes) return (null, new Errors().Add("body", $"The body must be at most {MaxBytes} bytes."));
        try
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
            if (buffer.Length > MaxBytes) return (null, new Errors().Add("body", $"The body must be at most {MaxBytes} bytes."));
            if (buffer.Length == 0) return (null, new Errors().Add("body", "A JSON body is required."));
            var bytes = buffer.ToArray();
            // JSON text is UTF-8 (RFC 8259); the parser would store invalid bytes as U+FFFD rather than refuse them.
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) return (null, new Errors().Add("body", "The body is not valid UTF-8."));
            // Duplicate names are refused here: JsonNode would otherwise throw an ArgumentException (a 500) later.
            var node = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = 16, AllowDuplicateProperties = false });
            if (node is not JsonObject) return (null, new Errors().Add("body", "The body must be a JSON object."));
            // PostgreSQL text cannot hold U+0000, and no field of Lineup has a use for it: refuse it everywhere. JSON can
            // only carry it escaped (a raw control character is malformed), so a body without "\u0000" has none and
            // is not walked (walking materializes every property: most of a small body's parsing cost).
            if (bytes.AsSpan().IndexOf("\\u0000"u8) >= 0 && FindNul(node, "") is { } field) return (null, new Errors().Add(field, "Text must not contain the NUL character (U+0000)."));
            return (node, null);
        }
        catch (JsonException ex)
        {
            return (null, new Errors().Add("body", $"Malformed JSON: {ex.Message}"));
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException ex)
        {
            return (null, new Errors().Add("body", ex.Message));
        }
    }

    private static string? FindNul(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o)
                {
                    var name = path.Length == 0 ? key : $"{path}.{key}";
                    if (key.Contains('\0', StringComparison.Ordinal)) return name;
                    if (FindNul(value, name) is { } found) return found;
                }
                return null;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                    if (FindNul(a[i], $"{path}[{i}]") is { } found) return found;
                return null;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return v.GetValue<string>().Contains('\0', StringComparison.Ordinal) ? path : null;
            default:
                return null;
        }
    }

    public static (T? Value, Errors? Errors) Bind<T>(JsonNode? node) where T : class
    {
        try
        {
            var value = node.Deserialize<T>(Json.Options);
            return value == null ? (null, new Errors().Add("body", "A JSON object is required.")) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, new Errors().Add(FieldOf(ex), Describe(ex)));
        }
    }

    /// <summary>Deep-merges <paramref name="patch"/> over <paramref name="current"/> (RFC 7386 merge patch).</summary>
    public static JsonNode Merge(JsonNode current, JsonNode patch)
    {
        if (patch is not JsonObject p || current is not JsonObject c) return patch.DeepClone();
        var result = (JsonObject)c.DeepClone();
        foreach (var (key, value) in p)
        {
            if (value is JsonObject && result[key] is JsonObject existing) result[key] = Merge(existing, value);
            else result[key] = value?.DeepClone();
        }
        return result;
    }

    private static string FieldOf(JsonException ex)
    {
        var path = ex.Path ?? "";
        if (path.StartsWith("$.", StringComparison.Ordinal)) path = path[2..];
        else if (path == "$") path = "";
        // An unknown property is reported on its parent; name it from the message ("... 'name' ...").
        if (ex.Message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            var start = ex.Message.IndexOf('\'', StringComparison.Ordinal);
            var end = start < 0 ? -1 : ex.Message.IndexOf('\'', start + 1);
            if (end > start)
            {
                var name = ex.Message[(start + 1)..end];
                return path.EndsWith(name, StringComparison.Ordinal) ? path : (path.Length > 0 ? path + "." : "") + name;
            }
        }
        return path.Length == 0 ? "body" : path;
    }

    private static string Describe(JsonException ex) =>
        ex.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "Unknown field."
        : ex.Message.Contains("enum", StringComparison.OrdinalIgnoreCase) || ex.InnerException is InvalidOperationException
            ? "Invalid value (wrong type or unknown enum value)."
            : "Invalid value (wrong type).";
}

public static class Validate
{
    /// <summary>The queue body's own checks (required fields, formats, the strategy's name), and the engine's limits
    /// (<see cref="ConfigRules"/>) on the config it makes, named as this API names them.</summary>
    public static Errors Queue(QueueBody b, int id)
    {
        var e = new Errors();
        if (string.IsNullOrWhiteSpace(b.Name)) e.Add("name", "name is required.");
        e.Length("name", b.Name, 1, 128);
        e.Pattern("extension", b.Extension, Errors.Dialable(), "1 to 32 of 0-9 * # +");
        if (b.Strategy != null && !StrategyNames.TryParse(b.Strategy, out _))
            e.Add("strategy", "strategy must be one of: " + string.Join(", ", Enum.GetValues<Strategy>().Select(StrategyNames.NameOf)) + " (or a vendor's name for one: docs/engine.md).");
        Numbers(e, "vip_numbers", b.VipNumbers);
        Numbers(e, "blacklist", b.Blacklist);
        e.Pattern("exit_key", b.ExitKey, Errors.Key(), "one of 0-9 * #");
        e.Length("intro_prompt", b.IntroPrompt, 0, 256);
        e.Length("periodic_prompt", b.PeriodicPrompt, 0, 256);
        e.Pattern("hold_music", b.HoldMusic, Telephony.MediaLibrary.NamePattern(), "a media id or name (letters, digits, . _ -; at most 64), or ringback");
        if (b.SurveyMaxRating is < 0 or > 9) e.Add("survey_max_rating", "survey_max_rating must be 0 (no survey) to 9.");
        e.Pattern("survey_prompt", b.SurveyPrompt, Telephony.MediaLibrary.NamePattern(), "a media id or name");
        e.Pattern("survey_thanks_prompt", b.SurveyThanksPrompt, Telephony.MediaLibrary.NamePattern(), "a media id or name");
        TransferNumber(e, "agent_hangup_transfer", b.AgentHangupTransfer);
        e.Pattern("agent_announce_prompt", b.AgentAnnouncePrompt, Telephony.MediaLibrary.NamePattern(), "a media id or name");
        e.Pattern("language", b.Language, Telephony.MediaLibrary.LanguagePattern(), "a BCP 47 language tag such as de or en-US");
        if (b.Callback is { } cb)
        {
            e.Pattern("callback.key", cb.Key, Errors.Key(), "one of 0-9 * #");
            e.Pattern("callback.outbound_prefix", cb.OutboundPrefix, Errors.Dialable(), "1 to 32 of 0-9 * # +");
        }
        if (b.Voicemail is { } vm) Voicemail(e, vm);
        if (b.Destinations is { } d)
        {
            Destination(e, "destinations.timeout", d.Timeout);
            Destination(e, "destinations.no_agents", d.NoAgents);
            Destination(e, "destinations.queue_full", d.QueueFull);
            Destination(e, "destinations.no_answer", d.NoAnswer);
            Destination(e, "destinations.exit_key", d.ExitKey);
            Destination(e, "destinations.night_mode", d.NightMode);
            Destination(e, "destinations.inactive", d.Inactive);
        }
        if (b.DispositionCodes is { } codes)
        {
            if (codes.Count > 100) e.Add("disposition_codes", "disposition_codes may hold at most 100 codes.");
            if (codes.Any(c => c is null || c.Length is 0 or > 64)) e.Add("disposition_codes", "each of disposition_codes must be 1 to 64 characters long.");
            else if (codes.Distinct(StringComparer.Ordinal).Count() != codes.Count) e.Add("disposition_codes", "disposition_codes must not repeat a code.");
        }
        if (b.OfficeHours is { } hours) OfficeHoursText.Parse(hours, e);
        if (e.Any) return e;
        e.Add(Check(c => ConfigRules.Check(Dto.QueueConfig(id, b), QueueField, c)));
        return e;
    }

    /// <summary>A queue's voicemail box: its greeting names a media item, its address list parses, its lengths are in range.</summary>
    public static void Voicemail(Errors e, VoicemailBody vm)
    {
        e.Pattern("voicemail.greeting", vm.Greeting, Telephony.MediaLibrary.NamePattern(), "a media id or name");
        if (!string.IsNullOrWhiteSpace(vm.MailTo) && (vm.MailTo.Length > 512 || !Telephony.VoicemailMailer.TryParseAddresses(vm.MailTo, out _)))
            e.Add("voicemail.mail_to", "voicemail.mail_to must be one or more e-mail addresses, separated by commas (at most 512 characters).");
        if (vm.MaxSeconds is < 1 or > VoicemailSettings.MaxMaxSeconds)
            e.Add("voicemail.max_seconds", $"voicemail.max_seconds must be 1 to {VoicemailSettings.MaxMaxSeconds}.");
        if (vm.SilenceSeconds is < 0 or > 60) e.Add("voicemail.silence_seconds", "voicemail.silence_seconds must be 0 (off) to 60.");
    }

    private static FieldErrors Check(Action<FieldErrors> check)
    {
        var e = new FieldErrors();
        check(e);
        return e;
    }

    /// <summary>The native API's names of the engine's queue settings.</summary>
    public static string? QueueField(string setting) => setting switch
    {
        nameof(QueueConfig.RingTimeoutSeconds) => "ring_timeout",
        nameof(QueueConfig.RetrySeconds) => "retry_seconds",
        nameof(QueueConfig.MaxCallers) => "max_callers",
        nameof(QueueConfig.MaxWaitSeconds) => "max_wait",
        nameof(QueueConfig.MaxWaitNoAgentSeconds) => "max_wait_no_agent",
        nameof(QueueConfig.NoAnswerMaxAttempts) => "no_answer_max_attempts",
        nameof(QueueConfig.WrapUpSeconds) => "wrap_up_time",
        nameof(QueueConfig.StickyAgentSeconds) => "sticky_agent_seconds",
        nameof(QueueConfig.TierRuleWaitSeconds) => "tier_rule_wait_seconds",
        nameof(QueueConfig.SlaSeconds) => "sla_time",
        nameof(QueueConfig.Weight) => "weight",
        nameof(QueueConfig.VipPriority) => "vip_priority",
        nameof(QueueConfig.PeriodicAnnounceSeconds) => "periodic_announce_seconds",
        nameof(QueueConfig.PositionAnnounceSeconds) => "position_announce_seconds",
        nameof(QueueConfig.ExpectedHandleSeconds) => "expected_handle_seconds",
        "Callback.OfferAfterSeconds" => "callback.offer_after_seconds",
        "Callback.MaxAttempts" => "callback.max_attempts",
        "Callback.RetrySeconds" => "callback.retry_seconds",
        nameof(QueueConfig.TimeoutDestination) => "destinations.timeout.queue_id",
        nameof(QueueConfig.NoAgentsDestination) => "destinations.no_agents.queue_id",
        nameof(QueueConfig.QueueFullDestination) => "destinations.queue_full.queue_id",
        nameof(QueueConfig.NoAnswerDestination) => "destinations.no_answer.queue_id",
        nameof(QueueConfig.ExitKeyDestination) => "destinations.exit_key.queue_id",
        nameof(QueueConfig.NightModeDestination) => "destinations.night_mode.queue_id",
        nameof(QueueConfig.InactiveDestination) => "destinations.inactive.queue_id",
        _ => null,
    };

    /// <summary>The native API's names of the engine's agent settings.</summary>
    public static string? AgentField(string setting) => setting switch
    {
        nameof(AgentConfig.RingTimeoutSeconds) => "ring_timeout",
        nameof(AgentConfig.BusyDelaySeconds) => "busy_delay",
        nameof(AgentConfig.RejectDelaySeconds) => "reject_delay",
        nameof(AgentConfig.NoAnswerDelaySeconds) => "no_answer_delay",
        nameof(AgentConfig.WrapUpSeconds) => "wrap_up_time",
        nameof(AgentConfig.MaxConsecutiveNoAnswers) => "max_consecutive_no_answers",
        _ => null,
    };

    /// <summary>The native API's names of the engine's membership settings, after <paramref name="prefix"/>.</summary>
    public static ConfigRules.FieldNames MemberField(string prefix = "") => setting => prefix + setting switch
    {
        nameof(MemberConfig.Level) => "level",
        nameof(MemberConfig.Position) => "position",
        nameof(MemberConfig.SkillLevel) => "skill_level",
        nameof(MemberConfig.RingDelaySeconds) => "ring_delay",
        nameof(MemberConfig.RingTimeoutSeconds) => "ring_timeout",
        _ => setting,
    };

    /// <summary>A number a call may be transferred to: 1 to 32 of 0-9 * # +, or a sip: URI (at most 256 characters).</summary>
    internal static void TransferNumber(Errors e, string field, string? number)
    {
        if (string.IsNullOrEmpty(number)) return;
        if (number.StartsWith("sip:", StringComparison.OrdinalIgnoreCase)) e.Length(field, number, 5, 256);
        else if (!Errors.Dialable().IsMatch(number)) e.Add(field, $"{field} must be 1 to 32 of 0-9 * # +, or a sip: URI.");
    }

    /// <summary>A transfer to an agent's fallback: a queue, a number (as <see cref="TransferNumber"/>), voicemail or a
    /// hang-up; not a callback (the caller is on the line). Null when absent or invalid.</summary>
    internal static TransferFallback? TransferFallback(Errors e, string field, DestinationBody? d)
    {
        if (d == null) return null;
        Destination(e, field, d);
        if (d.Type == DestinationKind.Callback) e.Add(field + ".type", "A transfer's fallback is a queue, a number, voicemail or hangup.");
        if (d.Type == DestinationKind.Number) TransferNumber(e, field + ".target", d.Target);
        if (e.All.Keys.Any(k => k.StartsWith(field, StringComparison.Ordinal))) return null;
        return new TransferFallback(d.Type, d.Type == DestinationKind.Queue ? (int)d.QueueId!.Value : null,
            d.Type is DestinationKind.Number or DestinationKind.Voicemail ? d.Target : null);
    }

    private static void Destination(Errors e, string field, DestinationBody? d)
    {
        if (d == null) return;
        if (d.Type == DestinationKind.Queue && d.QueueId is not (> 0 and <= int.MaxValue)) e.Add(field + ".queue_id", "queue_id is required for a queue destination.");
        if (d.Type == DestinationKind.Number && string.IsNullOrEmpty(d.Target)) e.Add(field + ".target", "target is required for a number destination.");
        e.Length(field + ".target", d.Target, 0, 64);
    }

    private static void Numbers(Errors e, string field, IReadOnlyList<string>? numbers)
    {
        if (numbers == null) return;
        if (numbers.Count > 10_000) e.Add(field, $"{field} may hold at most 10000 numbers.");
        foreach (var n in numbers)
        {
            if (n == null || n.Length is 0 or > 32)
            {
                e.Add(field, $"each of {field} must be 1 to 32 characters long.");
                return;
            }
        }
    }

    public static Errors Agent(AgentBody b)
    {
        var e = new Errors();
        if (string.IsNullOrWhiteSpace(b.Name)) e.Add("name", "name is required.");
        e.Length("name", b.Name, 1, 128);
        e.Pattern("number", b.Number, Errors.Dialable(), "1 to 32 of 0-9 * # +");
        if (b.Kind == AgentKind.Remote && string.IsNullOrEmpty(b.Number)) e.Add("number", "number is required for a remote agent.");
        e.Add(Check(c => ConfigRules.Check(Dto.AgentConfig(1, b), AgentField, c)));
        return e;
    }

    public static Errors Member(MemberBody b, string prefix = "")
    {
        var e = new Errors();
        if (b.AgentId is not (> 0 and <= int.MaxValue)) e.Add(prefix + "agent_id", "agent_id is required.");
        e.Add(Check(c => ConfigRules.Check(Dto.MemberConfig(b), MemberField(prefix), c)));
        return e;
    }
}
