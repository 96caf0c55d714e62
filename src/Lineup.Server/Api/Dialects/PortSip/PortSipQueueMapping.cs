using System.Globalization;
using System.Text.Json.Nodes;
using Lineup.Engine;
using Lineup.Server.Telephony;

namespace Lineup.Server.Api.Dialects.PortSip;

/// <summary>
/// A PortSIP call queue document and Lineup's <see cref="QueueConfig"/>, both ways. Fields the engine reads are
/// mapped onto it (so the native API and the other dialects see them); the others are kept in the queue's
/// DialectData under "portsip" and returned as given. Pure functions: the endpoints do the I/O.
/// </summary>
public static class PortSipQueueMapping
{
    public const string Key = "portsip";

    public static readonly string[] IntroTypes = ["DISABLE", "NORMAL", "FULL"];
    public static readonly string[] InformPositions = ["DISABLE", "PERIODICALLY", "ON_CONNECTED"];
    public static readonly string[] CallbackModes = ["ACTIVE", "TIMEOUT"];
    public static readonly string[] ForwardActions = ["FORWARD_TO_NUMBER"];

    /// <summary>PortSIP's polling strategies (skills routing is part of the name).</summary>
    public static readonly StrategySpelling Spelling = new(
    [
        ("RING_SIMULTANEOUSLY", Strategy.RingAll, false),
        ("PRIORITIZED_HUNT", Strategy.SequentialByAgentOrder, false),
        ("CYCLIC_HUNT", Strategy.LeastRecentlyOffered, false),
        ("LEAST_WORKED_HUNT", Strategy.LeastRecentlyAnswered, false),
        ("SKILL_BASED_ROUTING_PRIORITIZED_HUNT", Strategy.SequentialByAgentOrder, true),
        ("SKILL_BASED_ROUTING_CYCLIC_HUNT", Strategy.LeastRecentlyOffered, true),
        ("SKILL_BASED_ROUTING_LEAST_WORKED_HUNT", Strategy.LeastRecentlyAnswered, true),
    ]);

    public static readonly string[] Strategies = [.. Spelling.Names.Select(r => r.Name)];

    /// <summary>The fields of the update body (the create body adds extension_number).</summary>
    private static readonly string[] UpdateFields =
    [
        "name", "polling_strategy", "ring_time", "max_callers", "moh_prompt_file_id", "intro_type", "intro_prompt_file_id",
        "max_waiting_time", "wait_when_no_agents_online", "inform_position", "inform_position_interval", "agent_auto_ready",
        "agent_auto_not_ready_after_non_acd_call", "sla_time", "language", "no_answer_forward_rule", "night_mode_forward_rule",
        "enable_callback", "callback_mode", "callback_timeout", "callback_outbound_prefix", "outbound_caller_ids",
        "enable_sticky_routing", "sticky_routing_duration", "enable_paid", "enable_prid", "extension_number_as_to_header",
    ];

    private static readonly string[] CreateFields = [.. UpdateFields, "extension_number"];

    /// <summary>Settings kept only for this dialect (no engine meaning).</summary>
    private static readonly string[] StoredFields =
    [
        "intro_prompt_file_id", "intro_type", "outbound_caller_ids", "enable_paid", "enable_prid",
        "extension_number_as_to_header", "sticky_routing_duration",
    ];

    /// <summary>PortSIP's names of the engine's queue settings.</summary>
    public static string? Field(string setting) => setting switch
    {
        nameof(QueueConfig.RingTimeoutSeconds) => "ring_time",
        nameof(QueueConfig.MaxCallers) => "max_callers",
        nameof(QueueConfig.MaxWaitSeconds) => "max_waiting_time",
        nameof(QueueConfig.PositionAnnounceSeconds) => "inform_position_interval",
        nameof(QueueConfig.SlaSeconds) => "sla_time",
        nameof(QueueConfig.StickyAgentSeconds) => "sticky_routing_duration",
        "Callback.OfferAfterSeconds" => "callback_timeout",
        _ => null,
    };

    /// <summary>PortSIP's names of the membership settings of items[i] ("i.Setting").</summary>
    public static string? MemberField(string indexed)
    {
        var dot = indexed.IndexOf('.', StringComparison.Ordinal);
        return $"items[{indexed[..dot]}]" + (indexed[(dot + 1)..] == nameof(MemberConfig.SkillLevel) ? ".skill_level" : "");
    }

    /// <summary>A new queue as PortSIP creates it: its documented defaults.</summary>
    public static QueueConfig Defaults(int id) => new()
    {
        Id = new QueueId(id),
        Strategy = Strategy.RingAll,
        RingTimeoutSeconds = 20,
        MaxWaitSeconds = 300,
        LeaveWhenNoAgents = true,
        PositionAnnouncement = PositionAnnouncement.Disabled,
        PositionAnnounceSeconds = 10,
        AgentAutoReady = true,
        AgentAutoNotReadyAfterNonQueueCall = true,
        StickyAgentSeconds = 30 * 86400,
        Callback = new CallbackSettings { Enabled = false, Mode = CallbackMode.Active, OfferAfterSeconds = 600 },
    };

    /// <summary>Applies a create (<paramref name="create"/>) or update body over <paramref name="current"/>; only the
    /// fields present change. The first bad field is reported through <paramref name="f"/>.</summary>
    public static QueueConfig Apply(PortSipFields f, QueueConfig current, bool create)
    {
        f.OnlyKnown(create ? CreateFields : UpdateFields);
        var c = current;
        if (create)
        {
            if (!f.Has("name")) f.Fail("name", "name is required.");
            if (!f.Has("extension_number")) f.Fail("extension_number", "extension_number is required.");
            if (!f.Has("polling_strategy")) f.Fail("polling_strategy", "polling_strategy is required.");
        }
        if (f.String("name", 1, 64) is { } name)
        {
            if (string.IsNullOrWhiteSpace(name)) f.Fail("name", "name must not be blank.");
            c = c with { Name = name };
        }
        if (f.String("extension_number", 3, 64, PortSipFields.Extension(), "3 to 64 digits") is { } ext) c = c with { Extension = ext };
        if (f.Enum("polling_strategy", Strategies) is { } ps && Spelling.TryParse(ps, out var strategy, out var skills))
            c = c with { Strategy = strategy, SkillsRouting = skills };
        if (f.Int("ring_time", 1, 65535) is { } ring) c = c with { RingTimeoutSeconds = ring };
        if (f.Int("max_callers", 0, int.MaxValue) is { } max) c = c with { MaxCallers = max };
        // Issue 15: prompt files are media of the tenant's library (/api/v1/media), named by their id encoded as
        // PortSIP encodes ids; the engine keeps the id in digits. intro_type DISABLE keeps the file but plays no intro.
        var introFile = Stored(current)["intro_prompt_file_id"]?.GetValue<string>();
        if (introFile == null && current.IntroPrompt is { } p && MediaId(p) is { } pid) introFile = PortSipIds.Encode(pid);
        if (f.String("intro_prompt_file_id", 1, 64) is { } intro)
        {
            if (!PortSipIds.TryDecode(intro, out _)) f.Fail("intro_prompt_file_id", "intro_prompt_file_id must be a resource id.");
            introFile = intro;
        }
        if (f.String("moh_prompt_file_id", 1, 64) is { } moh)
        {
            if (!PortSipIds.TryDecode(moh, out var mohId)) f.Fail("moh_prompt_file_id", "moh_prompt_file_id must be a resource id.");
            else c = c with { HoldMusic = mohId.ToString(CultureInfo.InvariantCulture) };
        }
        var introType = f.Enum("intro_type", IntroTypes) ?? Stored(current)["intro_type"]?.GetValue<string>() ?? "DISABLE";
        c = c with
        {
            IntroPrompt = introType != "DISABLE" && PortSipIds.TryDecode(introFile, out var introId) ? introId.ToString(CultureInfo.InvariantCulture) : null,
        };
        if (f.Int("max_waiting_time", 15, 65535) is { } wait) c = c with { MaxWaitSeconds = wait };
        if (f.Bool("wait_when_no_agents_online") is { } stay) c = c with { LeaveWhenNoAgents = !stay };
        if (f.Enum("inform_position", InformPositions) is { } ip)
            c = c with
            {
                PositionAnnouncement = ip switch
                {
                    "PERIODICALLY" => PositionAnnouncement.Periodically,
                    "ON_CONNECTED" => PositionAnnouncement.OnEntryThenPeriodically,
                    _ => PositionAnnouncement.Disabled,
                },
            };
        if (f.Int("inform_position_interval", 10, 1800) is { } ipi) c = c with { PositionAnnounceSeconds = ipi };
        if (f.Bool("agent_auto_ready") is { } autoReady) c = c with { AgentAutoReady = autoReady };
        if (f.Bool("agent_auto_not_ready_after_non_acd_call") is { } autoNotReady) c = c with { AgentAutoNotReadyAfterNonQueueCall = autoNotReady };
        if (f.Int("sla_time", 0, 65536) is { } sla) c = c with { SlaSeconds = sla };
        if (f.String("language", 2, 35, PortSipFields.Language(), "a BCP 47 language tag such as en-US") is { } language) c = c with { Language = language };
        if (Rule(f, "no_answer_forward_rule") is { } noAnswer) c = c with { TimeoutDestination = noAnswer };
        if (Rule(f, "night_mode_forward_rule") is { } night) c = c with { NightModeDestination = night };
        var cb = c.Callback;
        if (f.Bool("enable_callback") is { } cbOn) cb = cb with { Enabled = cbOn };
        if (f.Enum("callback_mode", CallbackModes) is { } mode) cb = cb with { Mode = mode == "TIMEOUT" ? CallbackMode.Timeout : CallbackMode.Active };
        if (f.Int("callback_timeout", 0, 86400) is { } cbt) cb = cb with { OfferAfterSeconds = cbt };
        if (f.String("callback_outbound_prefix", 0, 64) is { } prefix)
        {
            if (prefix.Length > 0 && !PortSipFields.Dialable().IsMatch(prefix)) f.Fail("callback_outbound_prefix", "callback_outbound_prefix must be dialable digits (0-9 * # +).");
            cb = cb with { OutboundPrefix = prefix.Length == 0 ? null : prefix };
        }
        c = c with { Callback = cb };
        CallerIds(f);
        var stickyOn = f.Bool("enable_sticky_routing");
        var stickyDays = f.Int("sticky_routing_duration", 1, 365);
        if (stickyOn != null || stickyDays != null)
        {
            var on = stickyOn ?? c.StickyAgentSeconds > 0;
            var days = stickyDays ?? StickyDays(current);
            c = c with { StickyAgentSeconds = on ? days * 86400 : 0 };
        }
        f.Bool("enable_paid");
        f.Bool("enable_prid");
        f.Bool("extension_number_as_to_header");
        if (f.Failed) return current;
        return c with { DialectData = Store(current, f.Body, c) };
    }

    private static Destination? Rule(PortSipFields f, string name)
    {
        if (f.Object(name) is not { } o) return null;
        var rule = new PortSipFields(o);
        rule.OnlyKnown(["action", "number"], name + ".");
        var action = rule.Enum("action", ForwardActions, name + ".");
        var number = rule.String("number", 1, 64, PortSipFields.Dialable(), "dialable digits (0-9 * # +)", name + ".");
        if (!rule.Failed && action == null) rule.Fail(name + ".action", "action is required.");
        if (!rule.Failed && number == null) rule.Fail(name + ".number", "number is required for FORWARD_TO_NUMBER.");
        if (rule.Failed)
        {
            f.Fail(rule.Field!, rule.Message!);
            return null;
        }
        return Destination.ToNumber(number!);
    }

    private static void CallerIds(PortSipFields f)
    {
        if (f.Array("outbound_caller_ids") is not { } list) return;
        if (list.Count > 100) f.Fail("outbound_caller_ids", "outbound_caller_ids may hold at most 100 entries.");
        for (var i = 0; i < list.Count; i++)
        {
            var prefix = $"outbound_caller_ids[{i}].";
            if (list[i] is not JsonObject o)
            {
                f.Fail($"outbound_caller_ids[{i}]", "each outbound caller id must be an object.");
                return;
            }
            var e = new PortSipFields(o);
            e.OnlyKnown(["provider_id", "caller_id", "description"], prefix);
            if (e.String("provider_id", 1, 64, prefix: prefix) is { } provider && !PortSipIds.TryDecode(provider, out _))
                e.Fail(prefix + "provider_id", "provider_id must be a resource id.");
            e.String("caller_id", 0, 64, prefix: prefix);
            e.String("description", 0, 256, prefix: prefix);
            if (e.Failed)
            {
                f.Fail(e.Field!, e.Message!);
                return;
            }
        }
    }

    private static int StickyDays(QueueConfig q) =>
        q.StickyAgentSeconds > 0 ? Math.Clamp((q.StickyAgentSeconds + 86399) / 86400, 1, 365)
        : Stored(q)["sticky_routing_duration"]?.GetValue<int>() ?? 30;

    /// <summary>The dialect-only settings after this body: the stored ones, overwritten by those given.</summary>
    private static Dictionary<string, string> Store(QueueConfig current, JsonObject body, QueueConfig next)
    {
        var stored = Stored(current);
        foreach (var name in StoredFields)
            if (body[name] is { } value) stored[name] = value.DeepClone();
        // Sticky routing off keeps its duration here, so that turning it on again restores it.
        if (next.StickyAgentSeconds > 0) stored.Remove("sticky_routing_duration");
        else if (current.StickyAgentSeconds > 0 && stored["sticky_routing_duration"] == null)
            stored["sticky_routing_duration"] = StickyDays(current);
        var data = new Dictionary<string, string>(current.DialectData, StringComparer.Ordinal) { [Key] = stored.ToJsonString() };
        return data;
    }

    private static JsonObject Stored(QueueConfig q) =>
        q.DialectData.TryGetValue(Key, out var json) && JsonNode.Parse(json) is JsonObject o ? o : new JsonObject();

    public static string StrategyName(QueueConfig q) =>
        Spelling.NameFor(q.Strategy, q.SkillsRouting)
        ?? Spelling.NameFor(q.Strategy)
        // Strategies PortSIP has no name for (set through another API) show as the nearest hunt.
        ?? (q.Strategy switch
        {
            Strategy.TopDown or Strategy.RoundRobin => q.SkillsRouting ? "SKILL_BASED_ROUTING_PRIORITIZED_HUNT" : "PRIORITIZED_HUNT",
            Strategy.LeastTalkTime or Strategy.FewestCalls => q.SkillsRouting ? "SKILL_BASED_ROUTING_LEAST_WORKED_HUNT" : "LEAST_WORKED_HUNT",
            _ => q.SkillsRouting ? "SKILL_BASED_ROUTING_CYCLIC_HUNT" : "CYCLIC_HUNT",
        });

    /// <summary>The list's summary representation.</summary>
    public static JsonObject Summary(QueueConfig q) => new()
    {
        ["id"] = PortSipIds.Encode(q.Id.Value),
        ["name"] = q.Name,
        ["extension_number"] = q.Extension,
        ["ring_time"] = q.RingTimeoutSeconds,
        ["polling_strategy"] = StrategyName(q),
    };

    /// <summary>A media id kept in digits, or null.</summary>
    private static long? MediaId(string? reference) =>
        reference is { Length: > 0 } && reference.All(char.IsAsciiDigit) && long.TryParse(reference, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;

    /// <summary>The detailed representation (GET /api/call_queues/{id}); <paramref name="media"/> finds the prompt files
    /// in the tenant's media library (their names, sizes and URLs).</summary>
    public static JsonObject Detail(QueueConfig q, Func<long, MediaItem?> media)
    {
        var s = Stored(q);
        var moh = MediaId(q.HoldMusic);
        var mohItem = moh is { } m ? media(m) : null;
        var intro = MediaId(q.IntroPrompt);
        var introFile = intro is { } i ? PortSipIds.Encode(i) : s["intro_prompt_file_id"]?.GetValue<string>();
        var introItem = PortSipIds.TryDecode(introFile, out var introId) ? media(introId) : null;
        return new JsonObject
        {
            ["id"] = PortSipIds.Encode(q.Id.Value),
            ["name"] = q.Name,
            ["extension_number"] = q.Extension,
            ["polling_strategy"] = StrategyName(q),
            ["ring_time"] = q.RingTimeoutSeconds,
            ["max_callers"] = q.MaxCallers,
            ["moh_prompt_file_id"] = moh is { } mid ? PortSipIds.Encode(mid) : null,
            // The files are media of the library: a file id that names none (deleted, or never uploaded) shows no name.
            ["moh_prompt_file_name"] = mohItem?.Name,
            ["moh_prompt_file_size"] = mohItem?.SourceBytes ?? 0,
            ["moh_prompt_file_url"] = mohItem != null ? $"/api/v1/media/{mohItem.Id}/audio" : null,
            ["intro_type"] = s["intro_type"]?.DeepClone() ?? "DISABLE",
            ["intro_prompt_file_id"] = introFile,
            ["intro_prompt_file_name"] = introItem?.Name,
            ["intro_prompt_file_size"] = introItem?.SourceBytes ?? 0,
            ["intro_prompt_file_url"] = introItem != null ? $"/api/v1/media/{introItem.Id}/audio" : null,
            ["max_waiting_time"] = q.MaxWaitSeconds,
            ["wait_when_no_agents_online"] = !q.LeaveWhenNoAgents,
            ["inform_position"] = q.PositionAnnouncement switch
            {
                PositionAnnouncement.Periodically => "PERIODICALLY",
                PositionAnnouncement.OnEntryThenPeriodically => "ON_CONNECTED",
                _ => "DISABLE",
            },
            ["inform_position_interval"] = q.PositionAnnounceSeconds,
            ["agent_auto_ready"] = q.AgentAutoReady,
            ["agent_auto_not_ready_after_non_acd_call"] = q.AgentAutoNotReadyAfterNonQueueCall,
            ["sla_time"] = q.SlaSeconds,
            ["language"] = q.Language,
            ["no_answer_forward_rule"] = RuleOf(q.TimeoutDestination),
            ["night_mode_forward_rule"] = RuleOf(q.NightModeDestination),
            ["enable_callback"] = q.Callback.Enabled,
            ["callback_mode"] = q.Callback.Mode == CallbackMode.Timeout ? "TIMEOUT" : "ACTIVE",
            ["callback_timeout"] = q.Callback.OfferAfterSeconds,
            ["callback_outbound_prefix"] = q.Callback.OutboundPrefix,
            ["outbound_caller_ids"] = s["outbound_caller_ids"]?.DeepClone() ?? new JsonArray(),
            ["enable_sticky_routing"] = q.StickyAgentSeconds > 0,
            ["sticky_routing_duration"] = StickyDays(q),
            ["enable_paid"] = s["enable_paid"]?.DeepClone() ?? false,
            ["enable_prid"] = s["enable_prid"]?.DeepClone() ?? false,
            ["extension_number_as_to_header"] = s["extension_number_as_to_header"]?.DeepClone() ?? false,
        };
    }

    /// <summary>A forward rule from the engine's destination; destinations PortSIP cannot express read as null.</summary>
    private static JsonObject? RuleOf(Destination d) =>
        d.Kind == DestinationKind.Number ? new JsonObject { ["action"] = "FORWARD_TO_NUMBER", ["number"] = d.Target } : null;
}
