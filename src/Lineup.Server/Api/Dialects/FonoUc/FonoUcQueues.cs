using System.Text.Json;
using System.Text.Json.Nodes;
using Lineup.Engine;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api.Dialects.FonoUc;

/// <summary>
/// FonoUC's queue document and Lineup's queue, both ways. Fields with an engine meaning are read from and written
/// to <see cref="QueueConfig"/> and the queue's members; the others are kept in the queue's DialectData under
/// "fonouc" and returned as given (docs/dialects/fonouc.md lists which is which).
/// </summary>
internal static class FonoUcQueues
{
    public const string Key = "fonouc";

    /// <summary>Fields kept only in DialectData, with the value shown while nothing was stored.</summary>
    private static readonly (string Name, JsonValueKind Kind, Func<JsonNode?> Default)[] StoredFields =
    [
        ("outbound_calls", JsonValueKind.True, () => false),
        ("auto_answer", JsonValueKind.True, () => false),
        ("disable_call_rating", JsonValueKind.True, () => false),
        ("call_screen_recording", JsonValueKind.True, () => false),
        ("ai_assist", JsonValueKind.True, () => false),
        ("dids", JsonValueKind.Array, () => new JsonArray()),
        ("pre_connect", JsonValueKind.Array, () => new JsonArray()),
        ("crm", JsonValueKind.Object, () => new JsonObject { ["enabled"] = false, ["url"] = "" }),
        ("csat", JsonValueKind.Object, () => new JsonObject { ["callflow"] = "", ["direction"] = "", ["note"] = "" }),
        ("after_call_actions_list", JsonValueKind.Array, () => new JsonArray()),
    ];

    private static readonly string[] Units = ["seconds", "minutes", "hours"];

    private static int UnitSeconds(string unit) => unit switch { "hours" => 3600, "minutes" => 60, _ => 1 };

    /// <summary>FonoUC's names of the engine's queue settings.</summary>
    public static string? Field(string setting) => setting switch
    {
        nameof(QueueConfig.MaxWaitSeconds) => "max_time_caller_remains",
        nameof(QueueConfig.WrapUpSeconds) => "wrap_up_time",
        nameof(QueueConfig.RingTimeoutSeconds) => "timeout",
        _ => null,
    };

    /// <summary>FonoUC's names of the membership settings of agents[i] ("i.Setting").</summary>
    public static string? MemberField(string indexed)
    {
        var dot = indexed.IndexOf('.', StringComparison.Ordinal);
        var field = indexed[(dot + 1)..] switch
        {
            nameof(MemberConfig.RingDelaySeconds) => "delay",
            nameof(MemberConfig.RingTimeoutSeconds) => "timeout",
            _ => null,
        };
        return $"agents[{indexed[..dot]}]" + (field != null ? "." + field : "");
    }

    public static JsonObject Stored(QueueConfig c) =>
        c.DialectData.TryGetValue(Key, out var json) && JsonNode.Parse(json) is JsonObject o ? o : new JsonObject();

    /// <summary>The effective ring timeout of a member: its own, else the agent's, else the queue's.</summary>
    public static int Timeout(Member m) =>
        m.Config.RingTimeoutSeconds > 0 ? m.Config.RingTimeoutSeconds
        : m.Agent.Config.RingTimeoutSeconds > 0 ? m.Agent.Config.RingTimeoutSeconds
        : m.Queue.Config.RingTimeoutSeconds;

    /// <summary>FonoUC's strategy names; Lineup's own are taken and shown for the rest.</summary>
    public static readonly StrategySpelling Strategies = new([("simultaneous", Strategy.RingAll, false)]);

    public static string StrategyName(QueueConfig c) => Strategies.NameOrNative(c.Strategy);

    public static JsonObject Document(Queue q)
    {
        var c = q.Config;
        var stored = Stored(c);
        var unit = stored["max_time_caller_remains_unit"]?.GetValue<string>() is { } u && Units.Contains(u) ? u : "minutes";
        // A limit that is not a whole number of the stored unit is shown in seconds rather than rounded.
        if (c.MaxWaitSeconds % UnitSeconds(unit) != 0) unit = "seconds";
        var extensions = stored["extensions"] is JsonArray ext ? (JsonArray)ext.DeepClone() : new JsonArray();
        if (c.Extension == null)
        {
            if (extensions.Count > 0) extensions.RemoveAt(0);
        }
        else if (extensions.Count == 0) extensions.Add(new JsonObject { ["extension"] = c.Extension, ["prepend"] = "", ["emergency_mode"] = false });
        else extensions[0]!["extension"] = c.Extension;

        var doc = new JsonObject
        {
            ["id"] = FonoUcIds.Queue(c.Id.Value),
            ["name"] = c.Name,
            ["max_time_caller_remains"] = c.MaxWaitSeconds / UnitSeconds(unit),
            ["max_time_caller_remains_unit"] = unit,
            ["strategy"] = StrategyName(c),
            ["wrap_up_time"] = c.WrapUpSeconds,
            ["timeout"] = c.RingTimeoutSeconds,
            ["call_only_if_registered_agents"] = c.LeaveWhenNoAgents,
            ["skills_routing"] = c.SkillsRouting,
            ["extensions"] = extensions,
        };
        // Issue 15: moh is the queue's hold music (a media library id or name, or ringback).
        doc["moh"] = c.HoldMusic ?? "";
        foreach (var (name, _, fallback) in StoredFields) doc[name] = stored[name]?.DeepClone() ?? fallback();
        doc["is_disposition_mandatory"] = c.DispositionRequired;
        doc["agents"] = new JsonArray([.. q.Members.OrderBy(m => m.Config.Level).ThenBy(m => m.Config.Position).ThenBy(m => m.Agent.Id.Value)
            .Select(m => (JsonNode)new JsonObject
            {
                ["type"] = "user",
                ["id"] = FonoUcIds.User(m.Agent.Id.Value),
                ["delay"] = m.Config.RingDelaySeconds,
                ["timeout"] = Timeout(m),
            })]);
        // An agent with nothing to ring (a local agent without an extension) cannot take calls.
        doc["misconfigured_agents"] = q.Members.Count(m => string.IsNullOrEmpty(m.Agent.Config.Number));
        return doc;
    }

    /// <summary>A parsed, validated queue document: the engine config (other dialects' data kept) and the members.</summary>
    public sealed record Parsed(QueueConfig Config, IReadOnlyList<MemberEntry>? Members);

    private static readonly HashSet<string> Known =
    [
        "id", "name", "max_time_caller_remains", "max_time_caller_remains_unit", "strategy", "wrap_up_time", "timeout",
        "call_only_if_registered_agents", "skills_routing", "extensions", "agents", "misconfigured_agents", "is_disposition_mandatory", "moh",
        .. StoredFields.Select(f => f.Name),
    ];

    /// <summary>Reads a whole document (the current one merged with the request) over <paramref name="current"/>.</summary>
    public static Parsed? Parse(JsonObject body, QueueConfig current, Errors e)
    {
        foreach (var (key, _) in body)
            if (!Known.Contains(key)) e.Add(key, $"{key} is not a field of a FonoUC queue.");
        var r = new FieldReader(body, e);
        var name = r.String("name", 1, 128);
        if (name == null && !e.All.ContainsKey("name")) e.Add("name", "name is required.");
        var unit = r.String("max_time_caller_remains_unit", 1, 16) ?? "minutes";
        if (!Units.Contains(unit)) e.Add("max_time_caller_remains_unit", "max_time_caller_remains_unit must be seconds, minutes or hours.");
        var maxWait = r.Int("max_time_caller_remains", 0, 86400 / UnitSeconds(Units.Contains(unit) ? unit : "seconds")) ?? 0;
        var strategyName = r.String("strategy", 1, 64) ?? "simultaneous";
        if (!Strategies.TryParseOrNative(strategyName, out var strategy, out _))
            e.Add("strategy", "strategy must be simultaneous (or one of Lineup's strategy names).");
        var wrap = r.Int("wrap_up_time", 0, 86400) ?? 0;
        var timeout = r.Int("timeout", 1, 3600) ?? 20;
        var onlyRegistered = r.Bool("call_only_if_registered_agents") ?? false;
        var skills = r.Bool("skills_routing") ?? false;
        var dispositionRequired = r.Bool("is_disposition_mandatory") ?? false;
        var moh = r.String("moh", 0, 64);
        if (!string.IsNullOrEmpty(moh) && !Telephony.MediaLibrary.NamePattern().IsMatch(moh))
            e.Add("moh", "moh must be a media id or name (letters, digits, . _ -; at most 64), or ringback.");

        var stored = new JsonObject { ["max_time_caller_remains_unit"] = unit };
        foreach (var (field, kind, _) in StoredFields)
        {
            var value = kind == JsonValueKind.True ? (r.Bool(field) is { } b ? JsonValue.Create(b) : null) : r.Stored(field, kind);
            if (value != null) stored[field] = value;
        }

        // Issue 15: csat.callflow names the post-call survey's question (a media id or name); with call rating not
        // disabled it turns on a 1-5 survey when the agent hangs up first.
        var csatFlow = stored["csat"] is JsonObject csat && csat["callflow"] is JsonValue flow && flow.GetValueKind() == JsonValueKind.String
            ? flow.GetValue<string>() : "";
        if (csatFlow.Length > 0 && !Telephony.MediaLibrary.NamePattern().IsMatch(csatFlow))
            e.Add("csat.callflow", "csat.callflow must be a media id or name (letters, digits, . _ -; at most 64).");
        var rating = csatFlow.Length > 0 && stored["disable_call_rating"]?.GetValue<bool>() != true;

        string? extension = null;
        if (r.Stored("extensions", JsonValueKind.Array) is JsonArray extensions)
        {
            for (var i = 0; i < extensions.Count; i++)
            {
                var x = (JsonObject)extensions[i]!;
                var number = x["extension"]?.GetValueKind() == JsonValueKind.String ? x["extension"]!.GetValue<string>() : null;
                if (number == null || !Errors.Dialable().IsMatch(number)) e.Add($"extensions[{i}].extension", "extension must be 1 to 32 of 0-9 * # +.");
                if (i == 0) extension = number;
            }
            if (extensions.Count > 0) stored["extensions"] = extensions;
        }

        List<MemberEntry>? members = null;
        if (body.TryGetPropertyValue("agents", out var agentsNode) && agentsNode != null)
        {
            if (agentsNode is not JsonArray agents) e.Add("agents", "agents must be an array.");
            else
            {
                members = new List<MemberEntry>();
                for (var i = 0; i < agents.Count; i++)
                {
                    var field = $"agents[{i}]";
                    if (agents[i] is not JsonObject a)
                    {
                        e.Add(field, "each agent must be an object with type, id, delay and timeout.");
                        continue;
                    }
                    var type = a["type"]?.GetValueKind() == JsonValueKind.String ? a["type"]!.GetValue<string>() : "user";
                    if (type != "user") e.Add(field + ".type", "type must be user.");
                    var id = a["id"]?.GetValueKind() == JsonValueKind.String ? a["id"]!.GetValue<string>() : null;
                    if (!FonoUcIds.TryUser(id, out var agentId) || agentId > int.MaxValue)
                    {
                        e.Add(field + ".id", "id must be the id of a user who is an agent (32 hex digits).");
                        continue;
                    }
                    var delay = Sub(a, "delay", field, 0, 3600, e);
                    var ring = Sub(a, "timeout", field, 0, 3600, e);
                    if (members.Any(m => m.AgentId == agentId)) e.Add(field + ".id", "an agent may appear only once.");
                    members.Add(new MemberEntry((int)agentId, new MemberConfig { Position = i, RingDelaySeconds = delay, RingTimeoutSeconds = ring }));
                }
            }
        }
        if (e.Any) return null;

        var data = new Dictionary<string, string>(current.DialectData, StringComparer.Ordinal) { [Key] = stored.ToJsonString() };
        var config = current with
        {
            Name = name!,
            MaxWaitSeconds = maxWait * UnitSeconds(unit),
            Strategy = strategy,
            WrapUpSeconds = wrap,
            RingTimeoutSeconds = timeout,
            LeaveWhenNoAgents = onlyRegistered,
            SkillsRouting = skills,
            DispositionRequired = dispositionRequired,
            HoldMusic = string.IsNullOrEmpty(moh) ? null : moh,
            SurveyMaxRating = rating ? 5 : 0,
            SurveyPrompt = rating ? csatFlow : null,
            Extension = string.IsNullOrEmpty(extension) ? null : extension,
            DialectData = data,
        };
        return new Parsed(config, members);
    }

    private static int Sub(JsonObject a, string name, string prefix, int min, int max, Errors e)
    {
        var local = new Errors();
        var v = new FieldReader(a, local).Int(name, min, max);
        foreach (var (_, messages) in local.All) e.Add($"{prefix}.{name}", messages[0]);
        return v ?? 0;
    }
}
