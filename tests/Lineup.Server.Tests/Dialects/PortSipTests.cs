using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lineup.Server.Api.Dialects;
using Lineup.Server.Api.Dialects.PortSip;
using Microsoft.Extensions.Configuration;

namespace Lineup.Server.Tests.Dialects;

/// <summary>
/// The PortSIP dialect (seeds 001 and 004): every example request of the seed replayed, its answer compared with
/// the seed's example response (Golden/portsip), bad input in PortSIP's error shape, tenant isolation, and the same
/// state through the native API.
/// </summary>
public sealed class PortSipTests(PortSipTests.Fixture fx) : IClassFixture<PortSipTests.Fixture>
{
    /// <summary>The server is started with the vendor's port configured, as a PortSIP integration would run it.</summary>
    public sealed class Fixture : ApiFixture
    {
        public Fixture() => Factory.Settings["Dialects:PortSip:Url"] = "http://127.0.0.1:8887";
    }

    private TenantSession T => fx.Tenant;
    private HttpClient Admin => T.Admin;

    // ---- helpers

    private static JsonElement Golden(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "tests", "Lineup.Server.Tests", "Dialects", "Golden", "portsip", name);
            if (File.Exists(path)) return JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();
        }
        throw new FileNotFoundException(name);
    }

    private static JsonNode GoldenNode(string name) => JsonNode.Parse(Golden(name).GetRawText())!;

    /// <summary>Lineup's answer has the shape of the seed's example (<see cref="GoldenShapes.AssertShape"/>).</summary>
    private static void SameShape(JsonElement golden, JsonElement actual, ShapeRules? rules = null) =>
        GoldenShapes.AssertShape(golden, actual, rules);

    private static void IsPortSipId(string? id)
    {
        Assert.NotNull(id);
        Assert.True(PortSipIds.TryDecode(id, out _), $"'{id}' is not a PortSIP id");
    }

    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string? field = null)
    {
        var body = await response.JsonAsync(status);
        Assert.Equal((int)status, body.Int("code"));
        Assert.False(string.IsNullOrEmpty(body.Str("message")));
        if (field != null) Assert.Equal(field, body.Str("field"));
        return body;
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient c, string path, object? body = null) =>
        body == null ? c.PostAsync(path, null) : c.SendJsonAsync(HttpMethod.Post, path, body);

    /// <summary>The seed's create body with its "text" placeholders made valid where the field's schema forbids
    /// them (extension_number and forward numbers are digits).</summary>
    private static JsonObject CreateBody(string extension)
    {
        var body = GoldenNode("call_queue_create_request.json").AsObject();
        body["name"] = ApiFixture.Unique("portsip-queue-");
        body["extension_number"] = extension;
        body["no_answer_forward_rule"]!["number"] = "5551000";
        body["night_mode_forward_rule"]!["number"] = "5552000";
        body["callback_outbound_prefix"] = "9";
        return body;
    }

    private async Task<string> CreateQueueAsync(HttpClient? client = null, string strategy = "RING_SIMULTANEOUSLY")
    {
        var r = await (client ?? Admin).PostAsJsonAsync("/api/call_queues",
            new { name = ApiFixture.Unique("q-"), extension_number = ApiFixture.Number(), polling_strategy = strategy, ring_time = 3600 });
        return (await r.JsonAsync(HttpStatusCode.OK)).Str("id")!;
    }

    private static long Native(string portsipId) => PortSipIds.TryDecode(portsipId, out var id) ? id : throw new ArgumentException(portsipId);

    // ---- ids and configuration

    [Theory]
    [InlineData(700551909773148160L, "NzAwNTUxOTA5NzczMTQ4MTYw")]
    [InlineData(1L, "MQ==")]
    [InlineData(long.MaxValue, "OTIyMzM3MjAzNjg1NDc3NTgwNw==")]
    public void Ids_are_base64_of_the_decimal_number_both_ways(long id, string text)
    {
        Assert.Equal(text, PortSipIds.Encode(id));
        Assert.True(PortSipIds.TryDecode(text, out var back));
        Assert.Equal(id, back);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("MA==")] // "0"
    [InlineData("LTE=")] // "-1"
    [InlineData("YWJj")] // "abc"
    [InlineData("MDE=")] // "01": not the canonical spelling of 1
    [InlineData("OTIyMzM3MjAzNjg1NDc3NTgwOA==")] // long.MaxValue + 1
    public void Ids_that_name_no_number_do_not_decode(string text) => Assert.False(PortSipIds.TryDecode(text, out _));

    [Fact]
    public void The_vendor_port_comes_from_Dialects_PortSip_Url()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Dialects:PortSip:Url"] = "http://127.0.0.1:8887" }).Build();
        Assert.Contains("http://127.0.0.1:8887", Dialect.ExtraUrls(config));
        Assert.Contains(Dialect.All, d => d is PortSipDialect && d.Name == "portsip");
    }

    // ---- call queues: the seed's examples

    [Fact]
    public async Task Create_retrieve_list_status_update_destroy_replay_the_seed()
    {
        var ext = ApiFixture.Number();
        var create = await PostAsync(Admin, "/api/call_queues", CreateBody(ext));
        var created = await create.JsonAsync(HttpStatusCode.OK);
        SameShape(Golden("call_queue_create.json"), created);
        var id = created.Str("id")!;
        IsPortSipId(id);

        var got = await Admin.OkAsync($"/api/call_queues/{id}");
        // The body's file ids name no media of the tenant's library: their names and URLs are null (MediaDialectTests shows
        // them filled); the detailed representation also returns the two file ids the create body sets (docs/dialects/portsip.md).
        SameShape(Golden("call_queue_get.json"), got, new ShapeRules
        {
            Nullable = ["moh_prompt_file_name", "moh_prompt_file_url", "intro_prompt_file_name", "intro_prompt_file_url"],
            Extras = ["moh_prompt_file_id", "intro_prompt_file_id"],
        });
        var sent = CreateBody(ext);
        foreach (var field in new[] { "extension_number", "polling_strategy", "ring_time", "max_callers", "intro_type", "max_waiting_time",
            "wait_when_no_agents_online", "inform_position", "inform_position_interval", "agent_auto_ready", "agent_auto_not_ready_after_non_acd_call",
            "sla_time", "language", "no_answer_forward_rule", "night_mode_forward_rule", "enable_callback", "callback_mode", "callback_timeout",
            "callback_outbound_prefix", "outbound_caller_ids", "enable_sticky_routing", "sticky_routing_duration", "enable_paid", "enable_prid",
            "extension_number_as_to_header", "moh_prompt_file_id", "intro_prompt_file_id" })
            Assert.True(JsonNode.DeepEquals(sent[field], JsonNode.Parse(got.GetProperty(field).GetRawText())), $"{field}: sent {sent[field]?.ToJsonString()}, read {got.GetProperty(field)}");
        Assert.Equal(id, got.Str("id"));

        var list = await Admin.OkAsync("/api/call_queues?top=100");
        SameShape(Golden("call_queues_list.json"), list);
        Assert.Contains(list.Items(), i => i.Str("id") == id && i.Str("extension_number") == ext && i.Int("ring_time") == 20 && i.Str("polling_strategy") == "RING_SIMULTANEOUSLY");
        Assert.Equal(list.Items().Length, list.Int("count"));

        var status = await Admin.OkAsync($"/api/call_queues/{id}/status");
        SameShape(Golden("call_queue_status.json"), status);
        Assert.Equal("ONLINE", status.Str("status"));

        // The update example (its placeholders made valid as for create).
        var update = GoldenNode("call_queue_update_request.json").AsObject();
        update["name"] = "renamed";
        update["polling_strategy"] = "SKILL_BASED_ROUTING_CYCLIC_HUNT";
        update["ring_time"] = 25;
        update["no_answer_forward_rule"]!["number"] = "5553000";
        update["night_mode_forward_rule"]!["number"] = "5554000";
        update["callback_outbound_prefix"] = "8";
        var updated = await PostAsync(Admin, $"/api/call_queues/{id}", update);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal("", await updated.Content.ReadAsStringAsync());
        got = await Admin.OkAsync($"/api/call_queues/{id}");
        Assert.Equal("renamed", got.Str("name"));
        Assert.Equal("SKILL_BASED_ROUTING_CYCLIC_HUNT", got.Str("polling_strategy"));
        Assert.Equal(25, got.Int("ring_time"));
        Assert.Equal("5553000", got.GetProperty("no_answer_forward_rule").Str("number"));
        Assert.Equal(ext, got.Str("extension_number"));

        var destroy = await PostAsync(Admin, $"/api/call_queues/{id}/destroy");
        Assert.Equal(HttpStatusCode.NoContent, destroy.StatusCode);
        await ErrorAsync(await Admin.GetAsync($"/api/call_queues/{id}"), HttpStatusCode.NotFound);
        await ErrorAsync(await PostAsync(Admin, $"/api/call_queues/{id}/destroy"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Defaults_are_PortSIP_defaults_and_a_partial_update_changes_only_what_it_names()
    {
        var r = await PostAsync(Admin, "/api/call_queues", new { name = "minimal", extension_number = ApiFixture.Number(), polling_strategy = "PRIORITIZED_HUNT" });
        var id = (await r.JsonAsync(HttpStatusCode.OK)).Str("id")!;
        var got = await Admin.OkAsync($"/api/call_queues/{id}");
        Assert.Equal(20, got.Int("ring_time"));
        Assert.Equal(300, got.Int("max_waiting_time"));
        Assert.False(got.GetProperty("wait_when_no_agents_online").GetBoolean());
        Assert.Equal("DISABLE", got.Str("inform_position"));
        Assert.Equal("DISABLE", got.Str("intro_type"));
        Assert.Equal(10, got.Int("inform_position_interval"));
        Assert.True(got.GetProperty("enable_sticky_routing").GetBoolean());
        Assert.Equal(30, got.Int("sticky_routing_duration"));
        Assert.Equal("ACTIVE", got.Str("callback_mode"));
        Assert.Equal(600, got.Int("callback_timeout"));

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Admin, $"/api/call_queues/{id}", new { enable_sticky_routing = false, enable_paid = true })).StatusCode);
        got = await Admin.OkAsync($"/api/call_queues/{id}");
        Assert.False(got.GetProperty("enable_sticky_routing").GetBoolean());
        Assert.Equal(30, got.Int("sticky_routing_duration"));
        Assert.True(got.GetProperty("enable_paid").GetBoolean());
        Assert.Equal("minimal", got.Str("name"));
        Assert.Equal("PRIORITIZED_HUNT", got.Str("polling_strategy"));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Admin, $"/api/call_queues/{id}", new { sticky_routing_duration = 7, enable_sticky_routing = true })).StatusCode);
        got = await Admin.OkAsync($"/api/call_queues/{id}");
        Assert.Equal(7, got.Int("sticky_routing_duration"));
        var native = await Admin.OkAsync($"/api/v1/queues/{Native(id)}");
        Assert.Equal(7 * 86400, native.Int("sticky_agent_seconds"));
    }

    [Fact]
    public async Task List_query_options_filter_search_orderby_skip_top_and_count()
    {
        var tenant = await fx.CreateTenantAsync();
        foreach (var (name, ring) in new[] { ("alpha", 30), ("beta", 10), ("gamma", 20) })
            (await PostAsync(tenant.Admin, "/api/call_queues", new { name, extension_number = ApiFixture.Number(), polling_strategy = "CYCLIC_HUNT", ring_time = ring }))
                .EnsureSuccessStatusCode();
        var all = await tenant.Admin.OkAsync("/api/call_queues");
        Assert.Equal(3, all.Int("count"));
        var byRing = await tenant.Admin.OkAsync("/api/call_queues?orderby=ring_time%20desc");
        Assert.Equal(["alpha", "gamma", "beta"], byRing.Items().Select(i => i.Str("name")));
        var page = await tenant.Admin.OkAsync("/api/call_queues?orderby=name&skip=1&top=1");
        Assert.Equal(3, page.Int("count"));
        Assert.Equal(["beta"], page.Items().Select(i => i.Str("name")));
        var filtered = await tenant.Admin.OkAsync("/api/call_queues?filter=name%20eq%20'gamma'");
        Assert.Equal(1, filtered.Int("count"));
        Assert.Equal("gamma", filtered.Items()[0].Str("name"));
        var numeric = await tenant.Admin.OkAsync("/api/call_queues?filter=ring_time%20ne%2020%20and%20polling_strategy%20eq%20'CYCLIC_HUNT'");
        Assert.Equal(2, numeric.Int("count"));
        var searched = await tenant.Admin.OkAsync("/api/call_queues?search=ALP");
        Assert.Equal(["alpha"], searched.Items().Select(i => i.Str("name")));

        await ErrorAsync(await tenant.Admin.GetAsync("/api/call_queues?top=101"), HttpStatusCode.BadRequest, "top");
        await ErrorAsync(await tenant.Admin.GetAsync("/api/call_queues?top=0"), HttpStatusCode.BadRequest, "top");
        await ErrorAsync(await tenant.Admin.GetAsync("/api/call_queues?skip=-1"), HttpStatusCode.BadRequest, "skip");
        await ErrorAsync(await tenant.Admin.GetAsync("/api/call_queues?orderby=secret"), HttpStatusCode.BadRequest, "orderby");
        await ErrorAsync(await tenant.Admin.GetAsync("/api/call_queues?filter=name%20like%20x"), HttpStatusCode.BadRequest, "filter");
    }

    // ---- waiting callers and pickup

    [Fact]
    public async Task Waiting_lists_callers_and_pickup_connects_the_signed_in_agent()
    {
        var id = await CreateQueueAsync();
        var qid = Native(id);
        var agent = await T.AgentAsync();
        await T.MemberAsync(qid, agent);
        await Admin.PostAsync($"/api/v1/agents/{agent}/login", null);
        await Admin.PutAsJsonAsync($"/api/v1/agents/{agent}/status", new { status = "not_ready" });
        var call = await T.CallAsync(qid, "+14155550111", "Ada Caller");

        var waiting = await Admin.OkAsync($"/api/call_queues/{id}/waiting");
        SameShape(Golden("call_queue_waiting.json"), waiting);
        var item = Assert.Single(waiting.Items());
        Assert.Equal(PortSipIds.Encode(call.Id()), item.Str("session_id"));
        Assert.Equal("+14155550111", item.Str("extension_number"));
        Assert.Equal("Ada Caller", item.Str("display_name"));
        var native = await Admin.OkAsync($"/api/v1/calls/{call.Id()}");
        Assert.Equal((int)native.Double("wait_seconds"), item.Int("waiting_time"), tolerance: 1);

        // Only a user with an agent can answer; another tenant cannot see the session.
        await ErrorAsync(await PostAsync(Admin, $"/api/call_queues/{id}/waiting/{item.Str("session_id")}/pickup"), HttpStatusCode.Forbidden);
        var other = await fx.CreateTenantAsync();
        await ErrorAsync(await PostAsync(other.Admin, $"/api/call_queues/{id}/waiting/{item.Str("session_id")}/pickup"), HttpStatusCode.NotFound);
        var agentClient = await T.AgentUserAsync(agent);
        await ErrorAsync(await PostAsync(agentClient, $"/api/call_queues/{id}/waiting/{PortSipIds.Encode(999_999_999)}/pickup"), HttpStatusCode.NotFound);
        await ErrorAsync(await PostAsync(agentClient, $"/api/call_queues/{id}/waiting/not-an-id/pickup"), HttpStatusCode.NotFound);

        var pickup = await PostAsync(agentClient, $"/api/call_queues/{id}/waiting/{item.Str("session_id")}/pickup");
        Assert.Equal(HttpStatusCode.OK, pickup.StatusCode);
        Assert.Equal("", await pickup.Content.ReadAsStringAsync());
        native = await Admin.OkAsync($"/api/v1/calls/{call.Id()}");
        Assert.Equal("connected", native.Str("state"));
        Assert.Equal(agent, native.Long("agent_id"));
        Assert.Empty((await Admin.OkAsync($"/api/call_queues/{id}/waiting")).Items());
    }

    // ---- agents (seed 004)

    [Fact]
    public async Task Agents_list_update_retrieve_and_every_status_replay_the_seed()
    {
        var id = await CreateQueueAsync(strategy: "SKILL_BASED_ROUTING_PRIORITIZED_HUNT");
        var qid = Native(id);
        var a1 = await T.AgentAsync();
        var a2 = await T.AgentAsync();
        var n1 = (await Admin.OkAsync($"/api/v1/agents/{a1}")).Str("number")!;
        var n2 = (await Admin.OkAsync($"/api/v1/agents/{a2}")).Str("number")!;

        var set = await PostAsync(Admin, $"/api/call_queues/{id}/agents", new { items = new[] { new { extension_number = n2, skill_level = 2 }, new { extension_number = n1, skill_level = 1 } } });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var list = await Admin.OkAsync($"/api/call_queues/{id}/agents");
        SameShape(Golden("call_queue_agents_list.json"), list);
        Assert.Equal([n2, n1], list.Items().Select(i => i.Str("extension_number")));
        Assert.Equal([2, 1], list.Items().Select(i => i.Int("skill_level")));
        var members = await Admin.OkAsync($"/api/v1/queues/{qid}/members");
        Assert.Equal(2, members.Items().Single(m => m.Long("agent_id") == a2).Int("skill_level"));
        Assert.Equal(0, members.Items().Single(m => m.Long("agent_id") == a2).Int("position"));

        var agent = await Admin.OkAsync($"/api/call_queues/{id}/agents/{n1}");
        SameShape(Golden("call_queue_agent_get.json"), agent);
        Assert.Equal("LOGGED_OUT", agent.Str("status"));

        var agentClient = await T.AgentUserAsync(a1);
        foreach (var (status, native) in new[]
        {
            ("LOGGED_IN", "ready"), ("NOT_READY", "not_ready"), ("BREAK", "not_ready"), ("LUNCH", "not_ready"),
            ("WRAP_UP", "wrap_up"), ("READY", "ready"), ("LOGGED_OUT", "logged_out"),
        })
        {
            var r = await PostAsync(agentClient, $"/api/call_queues/{id}/agents/{n1}", new { status });
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var read = await agentClient.OkAsync($"/api/call_queues/{id}/agents/{n1}");
            Assert.Equal(status == "LOGGED_IN" ? "READY" : status, read.Str("status"));
            var nativeStatus = await Admin.OkAsync($"/api/v1/agents/{a1}/status");
            Assert.Equal(native, nativeStatus.Str("status"));
            if (status is "BREAK" or "LUNCH") Assert.Equal(status, nativeStatus.Str("reason"));
        }

        // An agent user may act only on itself; READY before logging in is refused in PortSIP's shape.
        await ErrorAsync(await agentClient.GetAsync($"/api/call_queues/{id}/agents/{n2}"), HttpStatusCode.Forbidden);
        await ErrorAsync(await PostAsync(agentClient, $"/api/call_queues/{id}/agents/{n2}", new { status = "READY" }), HttpStatusCode.Forbidden);
        await ErrorAsync(await PostAsync(Admin, $"/api/call_queues/{id}/agents/{n2}", new { status = "READY" }), HttpStatusCode.Conflict);

        // Native writes read back through PortSIP.
        await Admin.PostAsync($"/api/v1/agents/{a2}/login", null);
        await Admin.PutAsJsonAsync($"/api/v1/agents/{a2}/status", new { status = "not_ready", reason = "LUNCH" });
        Assert.Equal("LUNCH", (await Admin.OkAsync($"/api/call_queues/{id}/agents/{n2}")).Str("status"));

        // An empty list removes every agent.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Admin, $"/api/call_queues/{id}/agents", new { items = Array.Empty<object>() })).StatusCode);
        Assert.Empty((await Admin.OkAsync($"/api/call_queues/{id}/agents")).Items());
    }

    // ---- call queue servers

    [Fact]
    public async Task Call_queue_servers_replay_the_seed()
    {
        var tenant = await fx.CreateTenantAsync();
        var create = await PostAsync(tenant.Admin, "/api/call_queue_servers", new { name = "qs-1", enabled = true, ipv4 = "192.0.2.10", ipv6 = "2001:db8::10" });
        var created = await create.JsonAsync(HttpStatusCode.Created);
        SameShape(Golden("call_queue_server_create.json"), created);
        var id = created.Str("id")!;
        IsPortSipId(id);

        var got = await tenant.Admin.OkAsync($"/api/call_queue_servers/{id}");
        SameShape(Golden("call_queue_server_get.json"), got);
        Assert.Equal("qs-1", got.Str("name"));
        Assert.Equal("192.0.2.10", got.Str("ipv4"));
        Assert.Equal("2001:db8::10", got.Str("ipv6"));
        Assert.Equal("INTERNAL", got.Str("type"));

        var list = await tenant.Admin.OkAsync("/api/call_queue_servers");
        SameShape(Golden("call_queue_servers_list.json"), list);
        Assert.Equal(1, list.Int("count"));

        var status = await tenant.Admin.OkAsync($"/api/call_queue_servers/{id}/status");
        SameShape(Golden("call_queue_server_status.json"), status);
        Assert.InRange(status.Int("cpu_usage"), 0, 100);
        Assert.InRange(status.Int("memory_usage"), 1, 100);
        Assert.Equal("ONLINE", status.Str("status"));

        var update = await PostAsync(tenant.Admin, $"/api/call_queue_servers/{id}", new { enabled = false });
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        Assert.False((await tenant.Admin.OkAsync($"/api/call_queue_servers/{id}")).GetProperty("enabled").GetBoolean());
        Assert.Equal("OFFLINE", (await tenant.Admin.OkAsync($"/api/call_queue_servers/{id}/status")).Str("status"));

        // Another tenant cannot see, change or delete it.
        await ErrorAsync(await Admin.GetAsync($"/api/call_queue_servers/{id}"), HttpStatusCode.NotFound);
        await ErrorAsync(await PostAsync(Admin, $"/api/call_queue_servers/{id}", new { enabled = true }), HttpStatusCode.NotFound);
        await ErrorAsync(await PostAsync(Admin, $"/api/call_queue_servers/{id}/destroy"), HttpStatusCode.NotFound);

        var filtered = await tenant.Admin.OkAsync("/api/call_queue_servers?filter=enabled%20eq%20false");
        Assert.Equal(1, filtered.Int("count"));
        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync(tenant.Admin, $"/api/call_queue_servers/{id}/destroy")).StatusCode);
        await ErrorAsync(await tenant.Admin.GetAsync($"/api/call_queue_servers/{id}"), HttpStatusCode.NotFound);
        await ErrorAsync(await tenant.Admin.GetAsync($"/api/call_queue_servers/{id}/status"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{"enabled":true,"ipv4":"192.0.2.1"}""", "name")]
    [InlineData("""{"name":"x"}""", "ipv4")]
    [InlineData("""{"name":"x","ipv4":"999.1.1.1"}""", "ipv4")]
    [InlineData("""{"name":"x","ipv6":"nope"}""", "ipv6")]
    [InlineData("""{"name":"x","ipv4":"192.0.2.1","enabled":"yes"}""", "enabled")]
    [InlineData("""{"name":7,"ipv4":"192.0.2.1"}""", "name")]
    [InlineData("""{"name":"x","ipv4":"192.0.2.1","type":"INTERNAL"}""", "type")]
    [InlineData("""{"name":"x",""", "body")]
    public async Task Bad_server_bodies_name_the_field(string body, string field) =>
        await ErrorAsync(await Admin.SendRawAsync(HttpMethod.Post, "/api/call_queue_servers", body), HttpStatusCode.BadRequest, field);

    // ---- bad input, auth and isolation

    [Theory]
    [InlineData("""{"extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY"}""", "name")]
    [InlineData("""{"name":"x","polling_strategy":"RING_SIMULTANEOUSLY"}""", "extension_number")]
    [InlineData("""{"name":"x","extension_number":"5000"}""", "polling_strategy")]
    [InlineData("""{"name":"x","extension_number":"12","polling_strategy":"RING_SIMULTANEOUSLY"}""", "extension_number")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"ring_all"}""", "polling_strategy")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","ring_time":0}""", "ring_time")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","ring_time":"20"}""", "ring_time")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","max_waiting_time":14}""", "max_waiting_time")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","inform_position":"SOMETIMES"}""", "inform_position")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","inform_position_interval":5}""", "inform_position_interval")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","sla_time":65537}""", "sla_time")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","callback_mode":"LATER"}""", "callback_mode")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","sticky_routing_duration":366}""", "sticky_routing_duration")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","no_answer_forward_rule":{"action":"FORWARD_TO_NUMBER"}}""", "no_answer_forward_rule.number")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","night_mode_forward_rule":{"action":"PLAY","number":"1"}}""", "night_mode_forward_rule.action")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","outbound_caller_ids":[{"provider_id":"zzz"}]}""", "outbound_caller_ids[0].provider_id")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","outbound_caller_ids":{}}""", "outbound_caller_ids")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","enable_paid":1}""", "enable_paid")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","language":"english please"}""", "language")]
    [InlineData("""{"name":"x","extension_number":"5000","polling_strategy":"RING_SIMULTANEOUSLY","ai_assist":true}""", "ai_assist")]
    [InlineData("""[1]""", "body")]
    public async Task Bad_queue_bodies_name_the_field_and_store_nothing(string body, string field)
    {
        var before = (await Admin.OkAsync("/api/call_queues")).Int("count");
        await ErrorAsync(await Admin.SendRawAsync(HttpMethod.Post, "/api/call_queues", body), HttpStatusCode.BadRequest, field);
        Assert.Equal(before, (await Admin.OkAsync("/api/call_queues")).Int("count"));
    }

    [Fact]
    public async Task Bad_updates_change_nothing_and_duplicate_extensions_conflict()
    {
        var id = await CreateQueueAsync();
        var before = await Admin.SnapshotAsync($"/api/call_queues/{id}");
        await ErrorAsync(await PostAsync(Admin, $"/api/call_queues/{id}", new { name = "ok", ring_time = -1 }), HttpStatusCode.BadRequest, "ring_time");
        await ErrorAsync(await PostAsync(Admin, $"/api/call_queues/{id}", new { extension_number = "5555" }), HttpStatusCode.BadRequest, "extension_number");
        Assert.Equal(before, await Admin.SnapshotAsync($"/api/call_queues/{id}"));

        var ext = (await Admin.OkAsync($"/api/call_queues/{id}")).Str("extension_number");
        await ErrorAsync(await PostAsync(Admin, "/api/call_queues", new { name = "dup", extension_number = ext, polling_strategy = "CYCLIC_HUNT" }), HttpStatusCode.Conflict, "extension_number");

        await ErrorAsync(await PostAsync(Admin, $"/api/call_queues/{id}/agents", new { items = new[] { new { extension_number = "99999999" } } }), HttpStatusCode.NotFound, "items[0].extension_number");
        await ErrorAsync(await PostAsync(Admin, $"/api/call_queues/{id}/agents", new { items = new[] { new { extension_number = "123", skill_level = 0 } } }), HttpStatusCode.BadRequest, "items[0].skill_level");
        await ErrorAsync(await PostAsync(Admin, $"/api/call_queues/{id}/agents", new { members = Array.Empty<object>() }), HttpStatusCode.BadRequest, "members");
        await ErrorAsync(await PostAsync(Admin, $"/api/call_queues/{id}/agents/123", new { status = "AWAY" }), HttpStatusCode.BadRequest, "status");
        await ErrorAsync(await PostAsync(Admin, $"/api/call_queues/{id}/agents/123", new { status = "READY" }), HttpStatusCode.NotFound);
        await ErrorAsync(await Admin.GetAsync($"/api/call_queues/{id}/agents/123"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Unknown_malformed_and_other_tenants_ids_are_404_and_missing_auth_is_401_in_PortSIP_shape()
    {
        var id = await CreateQueueAsync();
        var other = await fx.CreateTenantAsync();
        foreach (var path in new[] { "", "/status", "/waiting", "/agents" })
        {
            await ErrorAsync(await other.Admin.GetAsync($"/api/call_queues/{id}{path}"), HttpStatusCode.NotFound);
            await ErrorAsync(await Admin.GetAsync($"/api/call_queues/NzAwNTUxOTA5NzczMTQ4MTYw{path}"), HttpStatusCode.NotFound);
            await ErrorAsync(await Admin.GetAsync($"/api/call_queues/12{path}"), HttpStatusCode.NotFound);
        }
        await ErrorAsync(await PostAsync(other.Admin, $"/api/call_queues/{id}", new { name = "stolen" }), HttpStatusCode.NotFound);
        await ErrorAsync(await PostAsync(other.Admin, $"/api/call_queues/{id}/destroy"), HttpStatusCode.NotFound);
        await ErrorAsync(await PostAsync(other.Admin, $"/api/call_queues/{id}/agents", new { items = Array.Empty<object>() }), HttpStatusCode.NotFound);
        Assert.DoesNotContain((await other.Admin.OkAsync("/api/call_queues")).Items(), i => i.Str("id") == id);

        var anonymous = fx.Anonymous();
        await ErrorAsync(await anonymous.GetAsync("/api/call_queues"), HttpStatusCode.Unauthorized);
        await ErrorAsync(await anonymous.GetAsync("/api/call_queue_servers"), HttpStatusCode.Unauthorized);
        await ErrorAsync(await PostAsync(anonymous, "/api/call_queues", new { name = "x" }), HttpStatusCode.Unauthorized);
        await ErrorAsync(await fx.WithBearer("not-a-token").GetAsync($"/api/call_queues/{id}"), HttpStatusCode.Unauthorized);
        var supervisor = await T.SupervisorAsync();
        await ErrorAsync(await PostAsync(supervisor, $"/api/call_queues/{id}/destroy"), HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, (await supervisor.GetAsync($"/api/call_queues/{id}")).StatusCode);
    }

    // ---- cross-check with the native API

    [Fact]
    public async Task What_PortSIP_writes_reads_the_same_natively_and_back()
    {
        var body = CreateBody(ApiFixture.Number());
        body["polling_strategy"] = "LEAST_WORKED_HUNT";
        body["ring_time"] = 33;
        body["max_callers"] = 7;
        body["max_waiting_time"] = 120;
        body["wait_when_no_agents_online"] = true;
        body["inform_position"] = "PERIODICALLY";
        body["inform_position_interval"] = 45;
        body["sla_time"] = 25;
        body["enable_callback"] = true;
        body["callback_mode"] = "TIMEOUT";
        body["callback_timeout"] = 90;
        var id = (await (await PostAsync(Admin, "/api/call_queues", body)).JsonAsync(HttpStatusCode.OK)).Str("id")!;
        var native = await Admin.OkAsync($"/api/v1/queues/{Native(id)}");
        Assert.Equal(body["name"]!.GetValue<string>(), native.Str("name"));
        Assert.Equal(body["extension_number"]!.GetValue<string>(), native.Str("extension"));
        Assert.Equal("least_recently_answered", native.Str("strategy"));
        Assert.Equal(33, native.Int("ring_timeout"));
        Assert.Equal(7, native.Int("max_callers"));
        Assert.Equal(120, native.Int("max_wait"));
        Assert.False(native.GetProperty("leave_when_no_agents").GetBoolean());
        Assert.Equal(45, native.Int("position_announce_seconds"));
        Assert.Equal(25, native.Int("sla_time"));
        Assert.True(native.GetProperty("callback").GetProperty("enabled").GetBoolean());
        Assert.Equal(90, native.GetProperty("callback").Int("offer_after_seconds"));
        Assert.Equal("9", native.GetProperty("callback").Str("outbound_prefix"));
        Assert.Equal("5551000", native.GetProperty("destinations").GetProperty("timeout").Str("target"));

        // A native change shows through PortSIP, and the PortSIP-only settings survive it.
        await Admin.PatchOkAsync($"/api/v1/queues/{Native(id)}", new { ring_timeout = 44, strategy = "top_down" });
        var got = await Admin.OkAsync($"/api/call_queues/{id}");
        Assert.Equal(44, got.Int("ring_time"));
        Assert.Equal("PRIORITIZED_HUNT", got.Str("polling_strategy"));
        Assert.Equal("en-US", got.Str("language"));
        Assert.Equal("NzAwNTUxOTA5NzczMTQ4MTYw", got.Str("moh_prompt_file_id"));
        Assert.Equal(body["outbound_caller_ids"]!.ToJsonString(), JsonNode.Parse(got.GetProperty("outbound_caller_ids").GetRawText())!.ToJsonString());

        // A PortSIP update that leaves polling_strategy out keeps the native strategy.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Admin, $"/api/call_queues/{id}", new { ring_time = 50 })).StatusCode);
        Assert.Equal("top_down", (await Admin.OkAsync($"/api/v1/queues/{Native(id)}")).Str("strategy"));

        // A queue made natively is listed and read through PortSIP.
        var nativeQueue = await T.QueueAsync("ring_all", ApiFixture.Number());
        var asPortSip = await Admin.OkAsync($"/api/call_queues/{PortSipIds.Encode(nativeQueue)}");
        Assert.Equal("RING_SIMULTANEOUSLY", asPortSip.Str("polling_strategy"));
        Assert.Equal(3600, asPortSip.Int("ring_time"));
    }
}
