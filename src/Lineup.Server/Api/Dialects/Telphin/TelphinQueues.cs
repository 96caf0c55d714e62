using System.Globalization;
using System.Text.Json.Nodes;
using Lineup.Engine;
using Lineup.Server.Application;
using Lineup.Server.Auth;

namespace Lineup.Server.Api.Dialects.Telphin;

/// <summary>Queue extensions, queue parameters, queue status and the callers in a queue.</summary>
internal static class TelphinQueues
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/client/{client_id}/extension/", CreateExtensionAsync).Require(Role.Admin);
        api.MapGet("/extension/{extension_id}/queue/", GetAsync).Require(Role.Supervisor);
        api.MapPut("/extension/{extension_id}/queue/", UpdateAsync).Require(Role.Admin);
        api.MapGet("/extension/{extension_id}/queue/status/", StatusAsync).Require(Role.Supervisor);
        api.MapGet("/extension/{extension_id}/queue/status/members/", MembersAsync).Require(Role.Supervisor);
    }

    private static readonly string[] s_extensionFields =
    [
        "status", "name", "label", "type", "caller_id_name", "extra_params", "dial_rule_id", "dial_rule_limit",
        "extension_group_id", "message_did", "ani_rfc3325", "did_as_transfer_caller_id",
    ];

    /// <summary>The queue parameters in the order of the seed's example response, then the three the parameter
    /// table adds.</summary>
    private static readonly (string Name, char Type)[] s_params =
    [
        ("announce_sound", 'l'), ("start_sound", 'l'), ("agent_hangup_transfer_dst", 's'), ("append_to_cid_name_on_transfer", 's'),
        ("agent_announce_sound", 'l'), ("position_announce_frequency", 'l'), ("agent_hangup_action", 's'),
        ("tier_rule_wait_multiply_level", 'b'), ("vm_mailto", 's'), ("no_agent_timeout_transfer_dst", 's'),
        ("agent_report_wait_time", 'b'), ("vm_enabled", 'b'), ("quality_rate_sound", 'l'), ("strategy", 's'),
        ("try_same_agent_time", 'l'), ("record_enabled", 'b'), ("vm_attach_file", 'b'), ("skip_busy_agents", 'b'),
        ("sound_type", 's'), ("tier_rules_apply", 'b'), ("vm_greeting", 'l'), ("quality_rate_finish_sound", 'l'),
        ("announce_frequency", 'l'), ("exit_transfer_dst", 's'), ("tier_rule_wait_second", 'l'), ("sound", 'l'),
        ("exit_with_no_av_agents", 'b'), ("quality_rate_max", 'l'), ("timeout_transfer_dst", 's'), ("max_wait_time", 'l'),
        ("exit_key", 's'), ("max_wait_time_with_no_agent", 'l'),
        ("disable_answer", 'b'), ("hide_in_caller_id_number", 's'), ("hide_in_caller_id_name", 's'),
    ];

    private static readonly HashSet<string> s_paramNames = [.. s_params.Select(p => p.Name)];

    /// <summary>Telphin's eight queue strategies.</summary>
    internal static readonly StrategySpelling Strategies = new(
    [
        ("ring-all", Strategy.RingAll, false),
        ("longest-idle-agent", Strategy.LongestIdle, false),
        ("round-robin", Strategy.RoundRobin, false),
        ("top-down", Strategy.TopDown, false),
        ("agent-with-least-talk-time", Strategy.LeastTalkTime, false),
        ("agent-with-fewest-calls", Strategy.FewestCalls, false),
        ("sequentially-by-agent-order", Strategy.SequentialByAgentOrder, false),
        ("random", Strategy.Random, false),
    ]);

    /// <summary>The parameter table's defaults, for a queue extension created through this dialect.</summary>
    private static JsonObject DefaultParams() => new()
    {
        ["agent_report_wait_time"] = true,
        ["exit_with_no_av_agents"] = true,
        ["record_enabled"] = true,
        ["skip_busy_agents"] = true,
        ["sound_type"] = "music",
        ["strategy"] = "round-robin",
        ["tier_rule_wait_multiply_level"] = true,
        ["tier_rules_apply"] = true,
        ["vm_attach_file"] = true,
        ["vm_enabled"] = true,
        ["disable_answer"] = false,
    };

    /// <summary>Telphin names an extension "&lt;client prefix&gt;*&lt;short name&gt;"; a client's prefix is its
    /// tenant id in three digits or more.</summary>
    internal static string FullName(long tenantId, string name) =>
        name.Contains('*', StringComparison.Ordinal) ? name : $"{tenantId.ToString("D3", CultureInfo.InvariantCulture)}*{name}";

    private static async Task<IResult> CreateExtensionAsync(string client_id, HttpContext http, QueueService queues, TimeProvider time)
    {
        if (TelphinIds.Client(http, client_id) is not { } host) return TelphinErrors.NotFound("Client");
        var (body, error) = await TelphinBody.ReadAsync(http.Request, s_extensionFields);
        if (error != null) return error;
        var b = body!;
        var type = b.Str("type");
        if (!b.Has("type")) b.Errors.Add("type", "type is required.");
        else if (type != null && type != "queue") b.Errors.Add("type", "Lineup serves extensions of type 'queue' only.");
        var name = b.Str("name", 32);
        if (string.IsNullOrEmpty(name)) b.Errors.Add("name", "name is required.");
        else if (!Errors.Dialable().IsMatch(FullName(host.TenantId, name))) b.Errors.Add("name", "name must be 1 to 28 of 0-9 * #.");
        var status = b.OneOf("status", "active", "inactive");
        var label = b.Str("label", 128);
        b.Str("caller_id_name", 128);
        b.Str("extra_params", 1024);
        b.Long("dial_rule_id", 0, long.MaxValue);
        b.Long("dial_rule_limit", 0, long.MaxValue);
        b.Long("extension_group_id", 0, long.MaxValue);
        b.Str("message_did", 64);
        b.Bool("ani_rfc3325");
        b.Str("did_as_transfer_caller_id", 64);
        if (b.Errors.Any) return TelphinErrors.Invalid(b.Errors);

        var id = await queues.NewIdAsync();
        var fullName = FullName(host.TenantId, name!);
        var extension = new JsonObject
        {
            ["status"] = status ?? "active",
            ["domain"] = http.Request.Host.Host,
            ["create_date"] = TelphinIds.Time(time.GetUtcNow().ToUnixTimeMilliseconds()),
            ["name"] = fullName,
        };
        foreach (var f in s_extensionFields.Where(f => f is not ("status" or "name" or "type")))
            extension[f] = b.Node[f]?.DeepClone() ?? (f == "ani_rfc3325" ? false : null);
        var data = new JsonObject { ["extension"] = extension, ["queue"] = DefaultParams() };
        var config = new QueueConfig
        {
            Id = new QueueId(id),
            Name = label ?? fullName,
            Extension = fullName,
            Strategy = Strategy.RoundRobin,
            LeaveWhenNoAgents = true,
            RecordCalls = true,
            SkipBusyAgents = true,
            TierRulesApply = true,
            TierRuleWaitMultiplyLevel = true,
            AgentAnnounceWaitTime = true,
            Active = status != "inactive",
            // vm_enabled and vm_attach_file are on by default: an exit with no transfer number leaves a voicemail.
            Voicemail = new VoicemailSettings { Enabled = true, AttachAudio = true },
            TimeoutDestination = Destination.ToVoicemail(),
            NoAgentsDestination = Destination.ToVoicemail(),
            ExitKeyDestination = Destination.ToVoicemail(),
            DialectData = TelphinJson.WithData(QueueConfig.NoDialectData, data),
        };
        var saved = await queues.SaveAsync(host, config, keepDialectData: false, Field, (_, q) => Extension(host.TenantId, q));
        return saved.Ok ? TelphinJson.Result(saved.Value!, 201) : TelphinErrors.Fail(saved.Error!, "extension");
    }

    /// <summary>The extension object, in the order of the seed's example.</summary>
    private static JsonObject Extension(long tenantId, Queue q)
    {
        var ext = TelphinJson.Data(q.Config.DialectData)["extension"] as JsonObject ?? new JsonObject();
        JsonNode? F(string name) => ext[name]?.DeepClone();
        return new JsonObject
        {
            ["status"] = q.Config.Active ? "active" : "inactive",
            ["domain"] = F("domain"),
            ["create_date"] = F("create_date"),
            ["name"] = q.Config.Extension,
            ["dial_rule_limit"] = F("dial_rule_limit"),
            ["extension_group_id"] = F("extension_group_id"),
            ["label"] = F("label") ?? q.Config.Name,
            ["caller_id_name"] = F("caller_id_name"),
            ["client_id"] = tenantId,
            ["extra_params"] = F("extra_params"),
            ["message_did"] = F("message_did"),
            ["dial_rule_id"] = F("dial_rule_id"),
            ["ani_rfc3325"] = F("ani_rfc3325") ?? false,
            ["type"] = "queue",
            ["id"] = TelphinIds.ToTelphin(q.Id.Value),
            ["did_as_transfer_caller_id"] = F("did_as_transfer_caller_id"),
        };
    }

    private static async Task<IResult> GetAsync(string extension_id, HttpContext http)
    {
        if (!TelphinIds.TryEngineId(extension_id, out var id)) return TelphinErrors.NotFound("Extension");
        var dto = await http.Tenant().QueryAsync(engine => engine.TryGetQueue(new QueueId(id), out var q) ? Params(engine, q) : null);
        return dto != null ? TelphinJson.Result(dto) : TelphinErrors.NotFound("Extension");
    }

    /// <summary>Telphin's names of the engine's queue settings.</summary>
    private static string? Field(string setting) => setting switch
    {
        nameof(QueueConfig.MaxWaitSeconds) => "max_wait_time",
        nameof(QueueConfig.MaxWaitNoAgentSeconds) => "max_wait_time_with_no_agent",
        nameof(QueueConfig.StickyAgentSeconds) => "try_same_agent_time",
        nameof(QueueConfig.TierRuleWaitSeconds) => "tier_rule_wait_second",
        nameof(QueueConfig.PeriodicAnnounceSeconds) => "announce_frequency",
        nameof(QueueConfig.PositionAnnounceSeconds) => "position_announce_frequency",
        _ => null,
    };

    private static async Task<IResult> UpdateAsync(string extension_id, HttpContext http, QueueService queues)
    {
        if (!TelphinIds.TryEngineId(extension_id, out var id)) return TelphinErrors.NotFound("Extension");
        var (body, error) = await TelphinBody.ReadAsync(http.Request, s_paramNames);
        if (error != null) return error;
        var b = body!;
        foreach (var (name, type) in s_params)
        {
            switch (type)
            {
                case 'l': b.Long(name, 0, name == "try_same_agent_time" ? 2_592_000 : name.EndsWith("_time", StringComparison.Ordinal) ? 7 * 86400 : int.MaxValue); break;
                case 'b': b.Bool(name); break;
                default: b.Str(name, name == "vm_mailto" ? 256 : 64); break;
            }
        }
        var strategy = b.Str("strategy");
        if (strategy != null && !Strategies.TryParse(strategy, out _, out _))
            b.Errors.Add("strategy", "strategy must be one of: " + string.Join(", ", Strategies.Names.Select(r => r.Name)) + ".");
        if (b.Str("exit_key") is { } exitKey && !Errors.Key().IsMatch(exitKey)) b.Errors.Add("exit_key", "exit_key must be one of 0-9 * #.");
        b.OneOf("sound_type", "music", "ring");
        b.OneOf("agent_hangup_action", "transfer", "quality_rate");
        if (b.Long("quality_rate_max", 0, long.MaxValue) is < 1 or > 9) b.Errors.Add("quality_rate_max", "quality_rate_max must be 1 to 9 (the caller presses one key).");
        foreach (var dst in new[] { "timeout_transfer_dst", "no_agent_timeout_transfer_dst", "exit_transfer_dst", "agent_hangup_transfer_dst" })
            if (b.Str(dst) is { Length: > 0 } d && !Errors.Dialable().IsMatch(d)) b.Errors.Add(dst, $"{dst} must be 1 to 32 of 0-9 * # +.");
        if (b.Str("vm_mailto") is { Length: > 0 } mailTo && !Telephony.VoicemailMailer.TryParseAddresses(mailTo, out _))
            b.Errors.Add("vm_mailto", "vm_mailto must be one or more e-mail addresses, separated by commas.");
        if (b.Errors.Any) return TelphinErrors.Invalid(b.Errors);

        var host = http.Tenant();
        var current = await host.QueryAsync(engine => engine.TryGetQueue(new QueueId(id), out var q) ? q.Config : null);
        if (current == null) return TelphinErrors.NotFound("Extension");
        var data = TelphinJson.Data(current.DialectData);
        var stored = data["queue"] as JsonObject ?? new JsonObject();
        foreach (var (key, value) in b.Node) stored[key] = value?.DeepClone();
        if (b.Str("sound_type") == "ring") stored["sound"] = null;
        data["queue"] = stored;
        var config = Apply(current, b) with { DialectData = TelphinJson.WithData(current.DialectData, data) };
        // agent_hangup_action transfer: when the agent hangs up first, the caller goes on to agent_hangup_transfer_dst
        // (the engine's AgentHangupTransfer); either field may come alone, the other is the stored one.
        if (b.Has("agent_hangup_action") || b.Has("agent_hangup_transfer_dst"))
        {
            var transfer = stored["agent_hangup_action"]?.GetValue<string>() == "transfer" ? stored["agent_hangup_transfer_dst"]?.GetValue<string>() : null;
            config = config with { AgentHangupTransfer = string.IsNullOrEmpty(transfer) ? null : transfer };
        }
        var saved = await queues.SaveAsync(host, config, keepDialectData: false, Field, Params);
        return saved.Ok ? TelphinJson.Result(saved.Value!) : TelphinErrors.Fail(saved.Error!, "extension");
    }

    /// <summary>The engine settings the body changes; the rest of the queue (also what only the native API sets)
    /// stays as it is.</summary>
    private static QueueConfig Apply(QueueConfig c, TelphinBody b)
    {
        if (b.Has("strategy") && Strategies.TryParse(b.Str("strategy"), out var s, out var skills))
            c = c with { Strategy = s, SkillsRouting = skills };
        if (b.Has("max_wait_time")) c = c with { MaxWaitSeconds = (int)(b.Long("max_wait_time", 0, long.MaxValue) ?? 0) };
        if (b.Has("timeout_transfer_dst")) c = c with { TimeoutDestination = Dst(b.Str("timeout_transfer_dst")) };
        if (b.Has("max_wait_time_with_no_agent")) c = c with { MaxWaitNoAgentSeconds = (int)(b.Long("max_wait_time_with_no_agent", 0, long.MaxValue) ?? 0) };
        if (b.Has("no_agent_timeout_transfer_dst")) c = c with { NoAgentsDestination = Dst(b.Str("no_agent_timeout_transfer_dst")) };
        if (b.Bool("exit_with_no_av_agents") is { } leave) c = c with { LeaveWhenNoAgents = leave };
        if (b.Has("exit_key")) c = c with { ExitKey = b.Str("exit_key") is { Length: > 0 } k ? k : null };
        if (b.Has("exit_transfer_dst")) c = c with { ExitKeyDestination = Dst(b.Str("exit_transfer_dst")) };
        if (b.Bool("skip_busy_agents") is { } skip) c = c with { SkipBusyAgents = skip };
        if (b.Has("try_same_agent_time")) c = c with { StickyAgentSeconds = (int)(b.Long("try_same_agent_time", 0, long.MaxValue) ?? 0) };
        if (b.Bool("tier_rules_apply") is { } tiers) c = c with { TierRulesApply = tiers };
        if (b.Has("tier_rule_wait_second")) c = c with { TierRuleWaitSeconds = (int)(b.Long("tier_rule_wait_second", 0, long.MaxValue) ?? 0) };
        if (b.Bool("tier_rule_wait_multiply_level") is { } multiply) c = c with { TierRuleWaitMultiplyLevel = multiply };
        if (b.Bool("record_enabled") is { } record) c = c with { RecordCalls = record };
        if (b.Has("announce_frequency")) c = c with { PeriodicAnnounceSeconds = (int)(b.Long("announce_frequency", 0, long.MaxValue) ?? 0) };
        if (b.Has("announce_sound")) c = c with { PeriodicPrompt = b.Long("announce_sound", 0, long.MaxValue)?.ToString(CultureInfo.InvariantCulture) };
        if (b.Has("start_sound")) c = c with { IntroPrompt = b.Long("start_sound", 0, long.MaxValue)?.ToString(CultureInfo.InvariantCulture) };
        // Issue 15: sound is the hold music (a media id of the library); sound_type ring plays ringback instead.
        if (b.Has("sound")) c = c with { HoldMusic = b.Long("sound", 0, long.MaxValue)?.ToString(CultureInfo.InvariantCulture) };
        if (b.Str("sound_type") == "ring") c = c with { HoldMusic = Telephony.MediaLibrary.Ringback };
        // Post-call survey: agent_hangup_action quality_rate asks the caller for 1..quality_rate_max (5 unless given).
        if (b.Has("agent_hangup_action") || b.Has("quality_rate_max"))
        {
            var action = b.Has("agent_hangup_action") ? b.Str("agent_hangup_action") : c.SurveyMaxRating > 0 ? "quality_rate" : null;
            var max = (int)Math.Clamp(b.Long("quality_rate_max", 0, long.MaxValue) ?? (c.SurveyMaxRating > 0 ? c.SurveyMaxRating : 5), 1, 9);
            c = c with { SurveyMaxRating = action == "quality_rate" ? max : 0 };
        }
        if (b.Has("quality_rate_sound")) c = c with { SurveyPrompt = b.Long("quality_rate_sound", 0, long.MaxValue)?.ToString(CultureInfo.InvariantCulture) };
        if (b.Has("quality_rate_finish_sound")) c = c with { SurveyThanksPrompt = b.Long("quality_rate_finish_sound", 0, long.MaxValue)?.ToString(CultureInfo.InvariantCulture) };
        else if (b.Str("sound_type") == "music" && c.HoldMusic == Telephony.MediaLibrary.Ringback) c = c with { HoldMusic = null };
        // Voicemail: vm_enabled turns on the queue's own box (vm_greeting, vm_mailto, vm_attach_file); with it on, an
        // exit whose *_transfer_dst is empty leaves a message there instead of hanging up.
        var vm = c.Voicemail;
        if (b.Bool("vm_enabled") is { } vmOn) vm = vm with { Enabled = vmOn };
        if (b.Has("vm_greeting")) vm = vm with { Greeting = b.Long("vm_greeting", 0, long.MaxValue)?.ToString(CultureInfo.InvariantCulture) };
        if (b.Has("vm_mailto")) vm = vm with { MailTo = b.Str("vm_mailto") is { Length: > 0 } to ? to : null };
        if (b.Bool("vm_attach_file") is { } attach) vm = vm with { AttachAudio = attach };
        Destination Empty(Destination d) =>
            d.Kind == DestinationKind.Hangup || (d.Kind == DestinationKind.Voicemail && d.Target == null) ? vm.Enabled ? Destination.ToVoicemail() : Destination.Hangup : d;
        c = c with
        {
            Voicemail = vm,
            TimeoutDestination = Empty(c.TimeoutDestination),
            NoAgentsDestination = Empty(c.NoAgentsDestination),
            ExitKeyDestination = Empty(c.ExitKeyDestination),
        };
        // Agent whisper: the answering agent hears agent_announce_sound (a media id; 0 or null: none) and, with
        // agent_report_wait_time, the caller's wait in seconds, before being connected.
        if (b.Has("agent_announce_sound"))
            c = c with { AgentAnnouncePrompt = b.Long("agent_announce_sound", 0, long.MaxValue) is > 0 and var sound ? sound.ToString(CultureInfo.InvariantCulture) : null };
        if (b.Bool("agent_report_wait_time") is { } report) c = c with { AgentAnnounceWaitTime = report };
        if (b.Has("position_announce_frequency"))
        {
            var every = (int)(b.Long("position_announce_frequency", 0, long.MaxValue) ?? 0);
            c = every > 0
                ? c with { PositionAnnouncement = PositionAnnouncement.Periodically, PositionAnnounceSeconds = every }
                : c with { PositionAnnouncement = PositionAnnouncement.Disabled };
        }
        return c;
    }

    private static Destination Dst(string? number) => string.IsNullOrEmpty(number) ? Destination.Hangup : Destination.ToNumber(number);

    private static JsonNode? DstText(CallCenter engine, Destination d) => d.Kind switch
    {
        DestinationKind.Number => d.Target,
        DestinationKind.Queue => engine.TryGetQueue(d.Queue, out var q) ? q.Config.Extension : null,
        _ => null,
    };

    /// <summary>The queue parameters: what the engine routes by is read from the engine (so native changes show),
    /// the rest as stored. A number the engine keeps as 0 that was never set reads null, as in the seed.</summary>
    internal static JsonObject Params(CallCenter engine, Queue q)
    {
        var c = q.Config;
        var stored = TelphinJson.Data(c.DialectData)["queue"] as JsonObject ?? new JsonObject();
        JsonNode? N(string name, int value) => value == 0 && stored[name] == null ? null : JsonValue.Create((long)value);
        JsonNode? Prompt(string? p) => long.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? JsonValue.Create(v) : null;
        var engineValues = new Dictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["strategy"] = Strategies.NameFor(c.Strategy, c.SkillsRouting) ?? StrategyNames.NameOf(c.Strategy),
            ["max_wait_time"] = N("max_wait_time", c.MaxWaitSeconds),
            ["timeout_transfer_dst"] = DstText(engine, c.TimeoutDestination),
            ["max_wait_time_with_no_agent"] = N("max_wait_time_with_no_agent", c.MaxWaitNoAgentSeconds),
            ["no_agent_timeout_transfer_dst"] = DstText(engine, c.NoAgentsDestination),
            ["exit_with_no_av_agents"] = c.LeaveWhenNoAgents,
            ["exit_key"] = c.ExitKey,
            ["exit_transfer_dst"] = DstText(engine, c.ExitKeyDestination),
            ["skip_busy_agents"] = c.SkipBusyAgents,
            ["try_same_agent_time"] = N("try_same_agent_time", c.StickyAgentSeconds),
            ["tier_rules_apply"] = c.TierRulesApply,
            ["tier_rule_wait_second"] = N("tier_rule_wait_second", c.TierRuleWaitSeconds),
            ["tier_rule_wait_multiply_level"] = c.TierRuleWaitMultiplyLevel,
            ["record_enabled"] = c.RecordCalls,
            ["announce_frequency"] = N("announce_frequency", c.PeriodicAnnounceSeconds),
            ["announce_sound"] = Prompt(c.PeriodicPrompt),
            ["start_sound"] = Prompt(c.IntroPrompt),
            ["sound"] = Prompt(c.HoldMusic),
            ["agent_hangup_action"] = c.AgentHangupTransfer != null ? "transfer" : c.SurveyMaxRating > 0 ? "quality_rate"
                // Stored but not in effect: turned off through the native API meanwhile (a transfer without a number stays).
                : stored["agent_hangup_action"]?.GetValue<string>() is "quality_rate" || (stored["agent_hangup_action"]?.GetValue<string>() == "transfer"
                    && stored["agent_hangup_transfer_dst"]?.GetValue<string>() is { Length: > 0 }) ? null : stored["agent_hangup_action"]?.DeepClone(),
            ["agent_hangup_transfer_dst"] = c.AgentHangupTransfer ?? stored["agent_hangup_transfer_dst"]?.DeepClone(),
            ["quality_rate_max"] = c.SurveyMaxRating > 0 ? c.SurveyMaxRating : null,
            ["quality_rate_sound"] = Prompt(c.SurveyPrompt),
            ["quality_rate_finish_sound"] = Prompt(c.SurveyThanksPrompt),
            ["agent_announce_sound"] = Prompt(c.AgentAnnouncePrompt),
            ["agent_report_wait_time"] = c.AgentAnnounceWaitTime,
            ["sound_type"] = c.HoldMusic == Telephony.MediaLibrary.Ringback ? "ring" : "music",
            ["vm_enabled"] = c.Voicemail.Enabled,
            ["vm_attach_file"] = c.Voicemail.AttachAudio,
            ["vm_greeting"] = Prompt(c.Voicemail.Greeting),
            ["vm_mailto"] = c.Voicemail.MailTo,
            ["position_announce_frequency"] = c.PositionAnnouncement == PositionAnnouncement.Disabled
                ? N("position_announce_frequency", 0) : JsonValue.Create((long)c.PositionAnnounceSeconds),
        };
        var o = new JsonObject();
        foreach (var (name, type) in s_params)
            o[name] = engineValues.TryGetValue(name, out var v) ? v : stored[name]?.DeepClone() ?? (type == 'b' ? false : null);
        return o;
    }

    private static async Task<IResult> StatusAsync(string extension_id, HttpContext http)
    {
        if (!TelphinIds.TryEngineId(extension_id, out var id)) return TelphinErrors.NotFound("Extension");
        var dto = await http.Tenant().QueryAsync(engine => engine.TryGetQueue(new QueueId(id), out var q)
            ? new JsonObject
            {
                ["answered_members"] = q.TalkingCount,
                ["trying_members"] = q.RingingCount,
                ["waiting_members"] = q.WaitingCount - q.RingingCount,
            }
            : null);
        return dto != null ? TelphinJson.Result(dto) : TelphinErrors.NotFound("Extension");
    }

    /// <summary>The callers on the line in the queue: waiting, being offered to agents (trying), or talking (answered).</summary>
    private static async Task<IResult> MembersAsync(string extension_id, HttpContext http)
    {
        if (!TelphinIds.TryEngineId(extension_id, out var id)) return TelphinErrors.NotFound("Extension");
        var dto = await http.Tenant().QueryAsync(engine =>
        {
            if (!engine.TryGetQueue(new QueueId(id), out var q)) return null;
            var list = new JsonArray();
            foreach (var c in engine.ActiveCalls.Where(c => c.Queue == q && c.State is CallState.Waiting or CallState.Connected)
                         .OrderBy(c => c.QueueEnteredAt).ThenBy(c => c.Id.Value))
            {
                var state = c.State == CallState.Connected ? "answered" : c.ActiveOffers > 0 ? "trying" : "waiting";
                list.Add(new JsonObject
                {
                    ["call_api_id"] = c.Id.Value.ToString(CultureInfo.InvariantCulture),
                    ["joined_datetime"] = TelphinIds.Time(c.QueueEnteredAt),
                    ["number"] = c.Record.CallerNumber,
                    ["serving_agent"] = c.Agent is { } a ? TelphinIds.ToTelphin(a.Value).ToString(CultureInfo.InvariantCulture) : null,
                    ["state"] = state,
                    ["wait_time"] = Math.Max(0, ((c.Record.AnsweredAt ?? engine.Now) - c.Record.EnteredAt) / 1000),
                });
            }
            return list;
        });
        return dto != null ? TelphinJson.Result(dto) : TelphinErrors.NotFound("Extension");
    }
}
