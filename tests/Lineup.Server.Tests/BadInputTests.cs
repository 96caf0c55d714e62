using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Lineup.Server.Tests;

/// <summary>
/// Whatever a client sends, the answer is a 400 (or 404/413) problem naming the field, never a 500, and nothing
/// stored changes. One queue, agent, user and waiting call are made once; every case checks they are unchanged.
/// </summary>
public class BadInputTests(BadInputTests.Objects fx) : IClassFixture<BadInputTests.Objects>
{
    public sealed class Objects : ApiFixture
    {
        public Dictionary<string, long> Ids { get; } = new(StringComparer.Ordinal);
        public string Before { get; private set; } = "";

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            var queue = (await Tenant.Admin.CreatedAsync("/api/v1/queues", new
            {
                name = "stable",
                extension = Number(),
                strategy = "longest_idle",
                ring_timeout = 3600,
                vip_numbers = new[] { "+1" },
                callback = new { enabled = true },
            })).Id();
            Ids["Q"] = queue;
            var agent = await Tenant.AgentAsync();
            await Tenant.MemberAsync(queue, agent);
            Ids["A"] = agent;
            Ids["U"] = (await Tenant.Admin.CreatedAsync("/api/v1/users", new { username = Unique("u-"), password = TenantSession.Password, role = "supervisor" })).Id();
            Ids["C"] = (await Tenant.CallAsync(queue)).Id();
            Ids["T"] = Tenant.Id;
            Before = await StateAsync();
        }

        public async Task<string> StateAsync()
        {
            var a = Tenant.Admin;
            var parts = new List<string>
            {
                await a.SnapshotAsync($"/api/v1/queues/{Ids["Q"]}"),
                await a.SnapshotAsync($"/api/v1/queues/{Ids["Q"]}/members"),
                await a.SnapshotAsync($"/api/v1/agents/{Ids["A"]}"),
                await a.SnapshotAsync($"/api/v1/users/{Ids["U"]}"),
                await a.SnapshotAsync("/api/v1/queues?limit=500"),
                await a.SnapshotAsync("/api/v1/agents?limit=500"),
                await a.SnapshotAsync("/api/v1/users?limit=500"),
                await a.SnapshotAsync("/api/v1/api-keys"),
                await SystemAdmin.SnapshotAsync("/api/v1/tenants?limit=500"),
            };
            var call = JsonNode.Parse((await a.OkAsync($"/api/v1/calls/{Ids["C"]}")).GetRawText())!.AsObject();
            call.Remove("wait_seconds");
            parts.Add(call.ToJsonString());
            return string.Join("\n", parts);
        }
    }

    /// <summary>Every endpoint that reads a JSON body (sign-out aside: an empty body there is a valid sign-out).</summary>
    public static readonly (string Method, string Path, bool System)[] BodyEndpoints =
    [
        ("POST", "/api/v1/auth/login", false),
        ("POST", "/api/v1/auth/refresh", false),
        ("POST", "/api/v1/api-keys", false),
        ("POST", "/api/v1/tenants", true),
        ("PATCH", "/api/v1/tenants/{T}", true),
        ("POST", "/api/v1/users", false),
        ("PATCH", "/api/v1/users/{U}", false),
        ("POST", "/api/v1/agents", false),
        ("PATCH", "/api/v1/agents/{A}", false),
        ("PUT", "/api/v1/agents/{A}/status", false),
        ("POST", "/api/v1/agents/{A}/login", false),
        ("POST", "/api/v1/agents/{A}/logout", false),
        ("POST", "/api/v1/queues", false),
        ("PATCH", "/api/v1/queues/{Q}", false),
        ("PUT", "/api/v1/queues/{Q}/members", false),
        ("POST", "/api/v1/queues/{Q}/members", false),
        ("POST", "/api/v1/queues/{Q}/calls/{C}/pickup", false),
        ("POST", "/api/v1/calls", false),
        ("POST", "/api/v1/calls/{C}/events", false),
    ];

    /// <summary>Bodies no endpoint accepts, and the field each must be reported on.</summary>
    public static readonly (string Name, string Body, string Field)[] BadBodies =
    [
        ("malformed", """{"name": """, "body"),
        ("trailing comma", """{"name": "x",}""", "body"),
        ("single quotes", "{'name': 'x'}", "body"),
        ("array", """[{"name": "x"}]""", "body"),
        ("null", "null", "body"),
        ("string", "\"hello\"", "body"),
        ("number", "42", "body"),
        ("two documents", "{} {}", "body"),
        ("too deep", string.Concat(Enumerable.Repeat("{\"a\":", 40)) + "1" + new string('}', 40), "body"),
        ("unknown field", """{"definitely_not_a_field": 1}""", "definitely_not_a_field"),
    ];

    public static TheoryData<string, string, bool, string> EveryBodyEndpointWithEveryBadBody()
    {
        var data = new TheoryData<string, string, bool, string>();
        foreach (var (method, path, system) in BodyEndpoints)
            foreach (var (name, _, _) in BadBodies)
                data.Add(method, path, system, name);
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryBodyEndpointWithEveryBadBody))]
    public async Task Bad_bodies_are_400_naming_the_field_everywhere(string method, string path, bool system, string bodyName)
    {
        var (_, body, field) = BadBodies.Single(b => b.Name == bodyName);
        var client = system ? fx.SystemAdmin : fx.Tenant.Admin;
        await client.SendRawAsync(new HttpMethod(method), Fill(path), body).ProblemAsync(HttpStatusCode.BadRequest, field);
        Assert.Equal(fx.Before, await fx.StateAsync());
    }

    public static TheoryData<string, string, bool> EveryBodyEndpointThatNeedsABody()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var (method, path, system) in BodyEndpoints)
            if (!path.EndsWith("/login", StringComparison.Ordinal) && !path.EndsWith("/logout", StringComparison.Ordinal))
                data.Add(method, path, system);
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryBodyEndpointThatNeedsABody))]
    public async Task Empty_body_is_400(string method, string path, bool system)
    {
        var client = system ? fx.SystemAdmin : fx.Tenant.Admin;
        await client.SendRawAsync(new HttpMethod(method), Fill(path), "").ProblemAsync(HttpStatusCode.BadRequest, "body");
        await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), Fill(path))).ProblemAsync(HttpStatusCode.BadRequest, "body");
        Assert.Equal(fx.Before, await fx.StateAsync());
    }

    public static TheoryData<string, string> QueuePatches => new()
    {
        // Wrong types.
        { """{"ring_timeout": "soon"}""", "ring_timeout" },
        { """{"ring_timeout": 1.5}""", "ring_timeout" },
        { """{"ring_timeout": "20"}""", "ring_timeout" },
        { """{"ring_timeout": true}""", "ring_timeout" },
        { """{"name": 5}""", "name" },
        { """{"name": ["a"]}""", "name" },
        { """{"skip_busy_agents": "yes"}""", "skip_busy_agents" },
        { """{"vip_numbers": "+1"}""", "vip_numbers" },
        { """{"vip_numbers": [1, 2]}""", "vip_numbers[0]" },
        { """{"callback": {"enabled": "yes"}}""", "callback.enabled" },
        { """{"callback": 7}""", "callback" },
        { """{"destinations": {"timeout": {"type": "queue", "queue_id": "x"}}}""", "destinations.timeout.queue_id" },
        // Unknown fields, also nested.
        { """{"colour": "red"}""", "colour" },
        { """{"callback": {"colour": "red"}}""", "callback.colour" },
        { """{"destinations": {"elsewhere": {"type": "hangup"}}}""", "destinations.elsewhere" },
        // Unknown enum values (and enums given as numbers).
        { """{"strategy": "psychic"}""", "strategy" },
        { """{"strategy": 3}""", "strategy" },
        { """{"position_announcement": "sometimes"}""", "position_announcement" },
        { """{"wait_estimator": 1}""", "wait_estimator" },
        { """{"callback": {"mode": "telepathy"}}""", "callback.mode" },
        { """{"destinations": {"timeout": {"type": "teleport"}}}""", "destinations.timeout.type" },
        // Out of range.
        { """{"ring_timeout": 0}""", "ring_timeout" },
        { """{"ring_timeout": 3601}""", "ring_timeout" },
        { """{"ring_timeout": 99999999999}""", "ring_timeout" },
        { """{"ring_timeout": 1e400}""", "ring_timeout" },
        { """{"max_callers": -1}""", "max_callers" },
        { """{"weight": 101}""", "weight" },
        { """{"sla_time": -5}""", "sla_time" },
        { """{"callback": {"max_attempts": 0}}""", "callback.max_attempts" },
        { """{"exit_key": "12"}""", "exit_key" },
        { """{"extension": "12a"}""", "extension" },
        // Oversized strings.
        { "{\"name\": \"" + new string('n', 129) + "\"}", "name" },
        { "{\"extension\": \"" + new string('1', 33) + "\"}", "extension" },
        { "{\"intro_prompt\": \"" + new string('p', 257) + "\"}", "intro_prompt" },
        { "{\"vip_numbers\": [\"" + new string('1', 33) + "\"]}", "vip_numbers" },
        { "{\"destinations\": {\"exit_key\": {\"type\": \"number\", \"target\": \"" + new string('1', 65) + "\"}}}", "destinations.exit_key.target" },
        // Required fields cannot be removed.
        { """{"name": null}""", "name" },
        { """{"name": "   "}""", "name" },
    };

    [Theory]
    [MemberData(nameof(QueuePatches))]
    public async Task Bad_queue_patch_is_400_naming_the_field_and_changes_nothing(string body, string field)
    {
        await fx.Tenant.Admin.SendRawAsync(HttpMethod.Patch, Fill("/api/v1/queues/{Q}"), body).ProblemAsync(HttpStatusCode.BadRequest, field);
        await fx.Tenant.Admin.SendRawAsync(HttpMethod.Post, "/api/v1/queues", MergeName(body)).ProblemAsync(HttpStatusCode.BadRequest, field);
        Assert.Equal(fx.Before, await fx.StateAsync());
    }

    public static TheoryData<string, string, string, string> OtherBadFields => new()
    {
        { "POST", "/api/v1/agents", """{"name": "x", "kind": "alien"}""", "kind" },
        { "POST", "/api/v1/agents", """{"name": "x", "kind": 0}""", "kind" },
        { "POST", "/api/v1/agents", """{"name": "x", "ring_timeout": -1}""", "ring_timeout" },
        { "POST", "/api/v1/agents", """{"name": "x", "number": "not a number"}""", "number" },
        { "POST", "/api/v1/agents", """{"name": "x", "kind": "remote"}""", "number" },
        { "PATCH", "/api/v1/agents/{A}", """{"wrap_up_time": 86401}""", "wrap_up_time" },
        { "PATCH", "/api/v1/agents/{A}", """{"busy_delay": "long"}""", "busy_delay" },
        { "PATCH", "/api/v1/agents/{A}", """{"name": ""}""", "name" },
        { "PATCH", "/api/v1/agents/{A}", """{"favourite_colour": "blue"}""", "favourite_colour" },
        { "PUT", "/api/v1/agents/{A}/status", """{"status": "asleep"}""", "status" },
        { "PUT", "/api/v1/agents/{A}/status", """{"status": "ready", "reason": 5}""", "reason" },
        { "POST", "/api/v1/agents/{A}/login", """{"queue_ids": "all"}""", "queue_ids" },
        { "POST", "/api/v1/agents/{A}/login", """{"queue_ids": ["x"]}""", "queue_ids[0]" },
        { "POST", "/api/v1/queues/{Q}/members", """{"agent_id": "{A}"}""", "agent_id" },
        { "POST", "/api/v1/queues/{Q}/members", """{"agent_id": {A}, "level": -1}""", "level" },
        { "POST", "/api/v1/queues/{Q}/members", """{"agent_id": {A}, "skill_level": 101}""", "skill_level" },
        { "POST", "/api/v1/queues/{Q}/members", """{"level": 1}""", "agent_id" },
        { "PUT", "/api/v1/queues/{Q}/members", """{"members": [{"agent_id": {A}, "position": "first"}]}""", "members[0].position" },
        { "PUT", "/api/v1/queues/{Q}/members", """{"members": {"agent_id": {A}}}""", "members" },
        { "PUT", "/api/v1/queues/{Q}/members", """{"members": [{"agent_id": {A}}, null]}""", "members[1]" },
        { "POST", "/api/v1/queues/{Q}/calls/{C}/pickup", """{"agent_id": "me"}""", "agent_id" },
        { "POST", "/api/v1/calls", """{"queue_id": {Q}, "caller_number": 14155550100}""", "caller_number" },
        { "POST", "/api/v1/calls", """{"queue_id": {Q}, "caller_number": "1", "priority": -1}""", "priority" },
        { "POST", "/api/v1/calls", """{"queue_id": {Q}, "caller_number": "1", "external_id": "{LONG}"}""", "external_id" },
        { "POST", "/api/v1/calls/{C}/events", """{"type": "agent_answered", "agent_id": "x"}""", "agent_id" },
        { "POST", "/api/v1/calls/{C}/events", """{"type": "agent-answered", "agent_id": {A}}""", "type" },
        { "POST", "/api/v1/users", """{"username": "x", "password": "password-1", "role": "root"}""", "role" },
        { "POST", "/api/v1/users", """{"username": "{LONG}", "password": "password-1", "role": "supervisor"}""", "username" },
        { "PATCH", "/api/v1/users/{U}", """{"password": 12345678}""", "password" },
        { "POST", "/api/v1/api-keys", """{"name": "{LONG}"}""", "name" },
        { "POST", "/api/v1/api-keys", """{"name": "k", "role": "god"}""", "role" },
        { "POST", "/api/v1/auth/login", """{"username": "{LONG}", "password": "x"}""", "username" },
        { "POST", "/api/v1/auth/login", """{"username": "x", "password": 1}""", "password" },
    };

    [Theory]
    [MemberData(nameof(OtherBadFields))]
    public async Task Bad_fields_elsewhere_are_400_naming_the_field_and_change_nothing(string method, string path, string body, string field)
    {
        await fx.Tenant.Admin.SendRawAsync(new HttpMethod(method), Fill(path), Fill(body)).ProblemAsync(HttpStatusCode.BadRequest, field);
        Assert.Equal(fx.Before, await fx.StateAsync());
    }

    [Fact]
    public async Task Tenant_fields_are_checked()
    {
        await fx.SystemAdmin.SendRawAsync(HttpMethod.Post, "/api/v1/tenants", """{"name": "x", "time_zone": 3}""").ProblemAsync(HttpStatusCode.BadRequest, "time_zone");
        await fx.SystemAdmin.SendRawAsync(HttpMethod.Patch, Fill("/api/v1/tenants/{T}"), """{"time_zone": "Not/AZone"}""").ProblemAsync(HttpStatusCode.BadRequest, "time_zone");
        await fx.SystemAdmin.SendRawAsync(HttpMethod.Patch, Fill("/api/v1/tenants/{T}"), """{"seed": 1}""").ProblemAsync(HttpStatusCode.BadRequest, "seed");
        Assert.Equal(fx.Before, await fx.StateAsync());
    }

    [Theory]
    [InlineData(256 * 1024 + 1)]
    [InlineData(2 * 1024 * 1024)]
    public async Task Oversized_body_is_refused_without_a_500(int size)
    {
        var body = "{\"name\": \"" + new string('x', size) + "\"}";
        var response = await fx.Tenant.Admin.SendRawAsync(HttpMethod.Patch, Fill("/api/v1/queues/{Q}"), body);
        // The server reads at most 256 KiB; beyond Kestrel's own limit (1 MiB) the answer may be 413.
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge, response.StatusCode.ToString());
        if (response.StatusCode == HttpStatusCode.BadRequest) await response.ProblemAsync(HttpStatusCode.BadRequest, "body");
        Assert.Equal(fx.Before, await fx.StateAsync());
    }

    [Fact]
    public async Task Oversized_body_without_a_content_length_is_refused_too()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"name\": \"" + new string('x', 300 * 1024) + "\"}");
        var request = new HttpRequestMessage(HttpMethod.Patch, Fill("/api/v1/queues/{Q}"))
        {
            Content = new StreamContent(new UnknownLengthStream(bytes)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await fx.Tenant.Admin.SendAsync(request);
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge, response.StatusCode.ToString());
        Assert.Equal(fx.Before, await fx.StateAsync());
    }

    [Fact]
    public async Task Body_just_under_the_limit_is_read()
    {
        // 256 KiB of valid JSON whose only problem is a name too long: the field is named, so the body was read.
        var body = "{\"name\": \"" + new string('x', 256 * 1024 - 20) + "\"}";
        Assert.True(Encoding.UTF8.GetByteCount(body) <= 256 * 1024);
        await fx.Tenant.Admin.SendRawAsync(HttpMethod.Patch, Fill("/api/v1/queues/{Q}"), body).ProblemAsync(HttpStatusCode.BadRequest, "name");
    }

    [Fact]
    public async Task A_NUL_character_anywhere_is_400_naming_the_field()
    {
        await fx.Tenant.Admin.SendRawAsync(HttpMethod.Patch, Fill("/api/v1/queues/{Q}"), """{"name": "a\u0000b"}""")
            .ProblemAsync(HttpStatusCode.BadRequest, "name");
        await fx.Tenant.Admin.SendRawAsync(HttpMethod.Patch, Fill("/api/v1/queues/{Q}"), """{"vip_numbers": ["+1", "\u0000"]}""")
            .ProblemAsync(HttpStatusCode.BadRequest, "vip_numbers[1]");
        await fx.Tenant.Admin.SendRawAsync(HttpMethod.Patch, Fill("/api/v1/queues/{Q}"), """{"callback": {"caller_id": "\u0000"}}""")
            .ProblemAsync(HttpStatusCode.BadRequest, "callback.caller_id");
        await fx.Anonymous().SendRawAsync(HttpMethod.Post, "/api/v1/auth/login", """{"username": "boss\u0000", "password": "x"}""")
            .ProblemAsync(HttpStatusCode.BadRequest, "username");
        Assert.Equal(fx.Before, await fx.StateAsync());
    }

    [Fact]
    public async Task Invalid_utf8_and_duplicate_keys_are_400()
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, Fill("/api/v1/queues/{Q}"))
        {
            Content = new ByteArrayContent([(byte)'{', (byte)'"', (byte)'n', (byte)'a', (byte)'m', (byte)'e', (byte)'"', (byte)':', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)'}']),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        await fx.Tenant.Admin.SendAsync(request).ProblemAsync(HttpStatusCode.BadRequest, "body");

        var duplicate = await fx.Tenant.Admin.SendRawAsync(HttpMethod.Patch, Fill("/api/v1/queues/{Q}"), """{"ring_timeout": 30, "ring_timeout": 40}""");
        Assert.Equal(HttpStatusCode.BadRequest, duplicate.StatusCode);
        await duplicate.ProblemAsync(HttpStatusCode.BadRequest, "body");
        await fx.Tenant.Admin.SendRawAsync(HttpMethod.Patch, Fill("/api/v1/queues/{Q}"), """{"callback": {"key": "1", "key": "2"}}""")
            .ProblemAsync(HttpStatusCode.BadRequest, "body");
        await fx.Tenant.Admin.SendRawAsync(HttpMethod.Put, Fill("/api/v1/agents/{A}/status"), """{"status": "ready", "status": "not_ready"}""")
            .ProblemAsync(HttpStatusCode.BadRequest, "body");
        Assert.Equal(fx.Before, await fx.StateAsync());
    }

    [Fact]
    public async Task Names_differing_only_in_case_are_not_a_500()
    {
        // Names match case-insensitively (the last one wins), like ASP.NET Core's own binding.
        var response = await fx.Tenant.Admin.SendRawAsync(HttpMethod.Post, "/api/v1/agents", """{"name": "a", "NAME": "b"}""");
        var agent = await response.JsonAsync(HttpStatusCode.Created);
        Assert.Equal("b", agent.Str("name"));
        Assert.Equal(HttpStatusCode.NoContent, (await fx.Tenant.Admin.DeleteAsync($"/api/v1/agents/{agent.Id()}")).StatusCode);
        Assert.Equal(fx.Before, await fx.StateAsync());
    }

    [Theory]
    [InlineData("/api/v1/queues/0")]
    [InlineData("/api/v1/queues/-1")]
    [InlineData("/api/v1/queues/2147483648")]
    [InlineData("/api/v1/agents/9223372036854775807")]
    [InlineData("/api/v1/calls/-1")]
    [InlineData("/api/v1/users/0")]
    public async Task Ids_that_cannot_exist_are_404(string path) =>
        await fx.Tenant.Admin.GetAsync(path).ProblemAsync(HttpStatusCode.NotFound);

    [Theory]
    [InlineData("/api/v1/queues/abc")]
    [InlineData("/api/v1/queues/99999999999999999999")]
    [InlineData("/api/v1/agents/1.5/status")]
    public async Task Paths_that_match_no_route_are_404_not_500(string path)
    {
        var response = await fx.Tenant.Admin.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Content_type_other_than_json_is_still_read_strictly()
    {
        await fx.Tenant.Admin.SendRawAsync(HttpMethod.Patch, Fill("/api/v1/queues/{Q}"), "name=x", "application/x-www-form-urlencoded")
            .ProblemAsync(HttpStatusCode.BadRequest, "body");
        Assert.Equal(fx.Before, await fx.StateAsync());
    }

    private string Fill(string template)
    {
        foreach (var (key, value) in fx.Ids)
            template = template.Replace("{" + key + "}", value.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return template.Replace("{LONG}", new string('x', 300), StringComparison.Ordinal);
    }

    /// <summary>The same body for POST /queues, with a name added when the case is not about the name.</summary>
    private static string MergeName(string body)
    {
        var node = JsonNode.Parse(body)!.AsObject();
        if (!node.ContainsKey("name")) node["name"] = "new";
        return node.ToJsonString();
    }

    /// <summary>A readable stream that does not know its length, so the request goes without Content-Length.</summary>
    private sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}

/// <summary>
/// Every field of every body, with values of every JSON kind and at every edge: whatever the answer, it is never a
/// 500. (Valid values do change things, so this runs on a server of its own.)
/// </summary>
public class FieldFuzzTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private static readonly string[] Values =
    [
        "null", "true", "0", "-1", "2147483647", "2147483648", "9223372036854775808", "1.5", "-1e308", "\"\"", "\"x\"",
        "\"" + new string('x', 300) + "\"", "\"\\u0000\"", "\"ready\"", "\"queue\"", "\"1\"", "[]", "[null]", "[\"x\"]", "{}",
        "{\"type\":\"queue\"}",
    ];

    private static readonly string[] QueueFields =
    [
        "id", "name", "extension", "strategy", "skills_routing", "ring_timeout", "retry_seconds", "max_callers", "max_wait",
        "max_wait_no_agent", "leave_when_no_agents", "no_answer_max_attempts", "wrap_up_time", "agent_auto_ready",
        "agent_auto_not_ready_after_non_queue_call", "force_not_ready_on_reject", "skip_busy_agents", "sticky_agent_seconds",
        "tier_rules_apply", "tier_rule_wait_seconds", "tier_rule_wait_multiply_level", "sla_time", "weight", "vip_numbers",
        "vip_priority", "blacklist", "callback", "exit_key", "intro_prompt", "periodic_prompt", "periodic_announce_seconds",
        "position_announcement", "position_announce_seconds", "record_calls", "destinations", "wait_estimator", "expected_handle_seconds",
    ];

    [Fact]
    public async Task No_value_in_any_field_is_a_500()
    {
        var t = fx.Tenant;
        var queue = await t.QueueAsync();
        var agent = await t.AgentAsync();
        await t.MemberAsync(queue, agent);
        var user = (await t.Admin.CreatedAsync("/api/v1/users", new { username = ApiFixture.Unique("f-"), password = "password-1", role = "supervisor" })).Id();
        var call = (await t.CallAsync(queue)).Id();
        var otherTenant = (await fx.SystemAdmin.CreatedAsync("/api/v1/tenants", new { name = ApiFixture.Unique("fuzz-") })).Id();

        var cases = new List<(HttpClient Client, HttpMethod Method, string Path, string Prefix, string[] Fields)>
        {
            (t.Admin, HttpMethod.Patch, $"/api/v1/queues/{queue}", "", QueueFields),
            (t.Admin, HttpMethod.Patch, $"/api/v1/queues/{queue}", "\"callback\":", ["enabled", "mode", "offer_after_seconds", "key", "max_attempts", "retry_seconds", "outbound_prefix"]),
            (t.Admin, HttpMethod.Patch, $"/api/v1/queues/{queue}", "\"destinations\":", ["timeout", "no_agents", "queue_full", "no_answer", "exit_key", "night_mode"]),
            (t.Admin, HttpMethod.Patch, $"/api/v1/queues/{queue}", "\"destinations\":{\"timeout\":", ["type", "queue_id", "target"]),
            (t.Admin, HttpMethod.Post, "/api/v1/queues", "\"name\":\"fuzz\",", QueueFields),
            (t.Admin, HttpMethod.Patch, $"/api/v1/agents/{agent}", "", ["id", "name", "kind", "number", "ring_timeout", "busy_delay", "reject_delay", "no_answer_delay", "wrap_up_time", "max_consecutive_no_answers"]),
            (t.Admin, HttpMethod.Post, "/api/v1/agents", "\"name\":\"fuzz\",", ["kind", "number", "ring_timeout", "wrap_up_time"]),
            (t.Admin, HttpMethod.Put, $"/api/v1/agents/{agent}/status", "", ["status", "reason"]),
            (t.Admin, HttpMethod.Post, $"/api/v1/agents/{agent}/login", "", ["queue_ids"]),
            (t.Admin, HttpMethod.Post, $"/api/v1/agents/{agent}/logout", "", ["queue_ids"]),
            (t.Admin, HttpMethod.Post, $"/api/v1/queues/{queue}/members", $"\"agent_id\":{agent},", ["level", "position", "skill_level", "ring_delay", "ring_timeout"]),
            (t.Admin, HttpMethod.Post, $"/api/v1/queues/{queue}/members", "", ["agent_id"]),
            (t.Admin, HttpMethod.Put, $"/api/v1/queues/{queue}/members", "", ["members"]),
            (t.Admin, HttpMethod.Put, $"/api/v1/queues/{queue}/members", "\"members\":[{", ["agent_id", "level", "skill_level"]),
            (t.Admin, HttpMethod.Post, $"/api/v1/queues/{queue}/calls/{call}/pickup", "", ["agent_id"]),
            (t.Admin, HttpMethod.Post, "/api/v1/calls", $"\"queue_id\":{queue},\"caller_number\":\"1\",", ["caller_name", "priority", "external_id"]),
            (t.Admin, HttpMethod.Post, "/api/v1/calls", "", ["queue_id", "caller_number"]),
            (t.Admin, HttpMethod.Post, $"/api/v1/calls/{call}/events", "\"type\":\"dtmf\",", ["digits", "agent_id"]),
            (t.Admin, HttpMethod.Post, $"/api/v1/calls/{call}/events", "", ["type"]),
            (t.Admin, HttpMethod.Post, "/api/v1/users", "\"username\":\"fz\",\"password\":\"password-1\",", ["role", "agent_id"]),
            (t.Admin, HttpMethod.Patch, $"/api/v1/users/{user}", "", ["username", "role", "agent_id"]),
            (t.Admin, HttpMethod.Post, "/api/v1/api-keys", "\"name\":\"fz\",", ["role"]),
            (t.Admin, HttpMethod.Post, "/api/v1/api-keys", "", ["name"]),
            (fx.SystemAdmin, HttpMethod.Patch, $"/api/v1/tenants/{otherTenant}", "", ["name", "time_zone"]),
            (t.Admin, HttpMethod.Post, "/api/v1/auth/refresh", "", ["refresh_token"]),
        };

        var failures = new List<string>();
        var requests = 0;
        foreach (var (client, method, path, prefix, fields) in cases)
        {
            var close = prefix.EndsWith("[{", StringComparison.Ordinal) ? "}]" : new string('}', prefix.Count(c => c == '{'));
            foreach (var field in fields)
            {
                foreach (var value in Values)
                {
                    var body = "{" + prefix + "\"" + field + "\":" + value + close + "}";
                    var response = await client.SendRawAsync(method, path, body);
                    requests++;
                    if ((int)response.StatusCode >= 500)
                        failures.Add($"{method} {path} {body} -> {(int)response.StatusCode}");
                    else if ((int)response.StatusCode >= 400 && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                        failures.Add($"{method} {path} {body} -> {(int)response.StatusCode} without problem details");
                }
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {requests}:\n" + string.Join("\n", failures.Take(40)));
    }
}
