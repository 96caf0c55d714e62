using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Lineup.Server.Tests;

/// <summary>
/// Every API that offers a use case behaves alike, since each goes through the application layer: deleting an agent
/// leaves the same state whichever API deletes it; a value out of Lineup's limits is refused by every API that sets
/// the field, each in its own error shape, and nothing is stored; sign-in failures count across the native and the
/// FonoUC login; a queue deleted while another points a destination at it never leaves a dangling destination.
/// </summary>
public sealed class ConsistencyTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private TenantSession T => fx.Tenant;

    /// <summary>An agent with everything that can hang on it: a queue membership, a SIP credential, a Telphin agent
    /// event, a native subscription filtered to it and one to it and another agent, and a bound agent user.</summary>
    private async Task<(long Agent, long Queue, long Other, long User)> AgentWithEverythingAsync()
    {
        var admin = T.Admin;
        var queue = await T.QueueAsync();
        var agent = await T.AgentAsync();
        var other = await T.AgentAsync();
        await admin.CreatedAsync($"/api/v1/queues/{queue}/members", new { agent_id = agent });
        await admin.PutOkAsync($"/api/v1/agents/{agent}/sip", new { password = "sip-password-1" });
        (await admin.PostAsJsonAsync($"/api/ver1.0/client/@me/agent/local/{agent}/event/",
            new { event_type = "agent-login", method = "POST", url = "http://example.com/telphin" })).EnsureSuccessStatusCode();
        await admin.CreatedAsync("/api/v1/webhooks", new { url = "http://example.com/only", event_types = new[] { "agent.login" }, agent_ids = new[] { agent } });
        await admin.CreatedAsync("/api/v1/webhooks", new { url = "http://example.com/both", event_types = new[] { "agent.login" }, agent_ids = new[] { agent, other } });
        var user = await admin.CreatedAsync("/api/v1/users", new { username = ApiFixture.Unique("bound-"), password = TenantSession.Password, role = "agent", agent_id = agent });
        return (agent, queue, other, user.Id());
    }

    /// <summary>What is left of the agent: its record, membership, credential, subscriptions and user.</summary>
    private async Task<string> LeftOfAsync(long agent, long queue, long other, long user)
    {
        var admin = T.Admin;
        var hooks = (await admin.OkAsync("/api/v1/webhooks?limit=500")).Items();
        var mine = hooks.Where(h => h.GetProperty("agent_ids").EnumerateArray().Any(a => a.GetInt64() == agent || a.GetInt64() == other)).ToList();
        return string.Join(" ",
            $"agent:{(int)(await admin.GetAsync($"/api/v1/agents/{agent}")).StatusCode}",
            $"members:{(await admin.OkAsync($"/api/v1/queues/{queue}/members")).Items().Length}",
            $"sip:{(int)(await admin.GetAsync($"/api/v1/agents/{agent}/sip")).StatusCode}",
            $"telphin_events:{(int)(await admin.GetAsync($"/api/ver1.0/client/@me/agent/local/{agent}/event/")).StatusCode}",
            $"native_hooks:[{string.Join(";", mine.Select(h => string.Join(",", h.GetProperty("agent_ids").EnumerateArray().Select(a => a.GetInt64() == other ? "other" : "deleted"))))}]",
            $"subscriptions:{(await admin.OkAsync("/api/v1/webhooks/limits")).Int("subscriptions")}",
            $"user:{(int)(await admin.GetAsync($"/api/v1/users/{user}")).StatusCode}");
    }

    [Fact]
    public async Task Deleting_an_agent_leaves_the_same_state_through_every_api()
    {
        var before = (await T.Admin.OkAsync("/api/v1/webhooks/limits")).Int("subscriptions");
        var native = await AgentWithEverythingAsync();
        (await T.Admin.DeleteAsync($"/api/v1/agents/{native.Agent}")).EnsureSuccessStatusCode();
        var afterNative = await LeftOfAsync(native.Agent, native.Queue, native.Other, native.User);

        var telphin = await AgentWithEverythingAsync();
        (await T.Admin.DeleteAsync($"/api/ver1.0/client/@me/agent/local/{telphin.Agent}?remove_from_queues=true")).EnsureSuccessStatusCode();
        var afterTelphin = await LeftOfAsync(telphin.Agent, telphin.Queue, telphin.Other, telphin.User);

        // Each run left the subscription that also names the other agent, with that agent only.
        Assert.Equal($"agent:404 members:0 sip:404 telphin_events:404 native_hooks:[other] subscriptions:{before + 1} user:404", afterNative);
        Assert.Equal(afterNative.Replace($"subscriptions:{before + 1}", $"subscriptions:{before + 2}", StringComparison.Ordinal), afterTelphin);
    }

    [Fact]
    public async Task A_supervisor_bound_to_a_deleted_agent_keeps_the_account_unbound()
    {
        var agent = await T.AgentAsync();
        var user = await T.Admin.CreatedAsync("/api/v1/users", new { username = ApiFixture.Unique("lead-"), password = TenantSession.Password, role = "supervisor", agent_id = agent });
        (await T.Admin.DeleteAsync($"/api/v1/agents/{agent}")).EnsureSuccessStatusCode();
        var after = await T.Admin.OkAsync($"/api/v1/users/{user.Id()}");
        Assert.True(after.IsNull("agent_id"));
    }

    [Fact]
    public async Task A_ring_timeout_out_of_range_is_refused_by_every_api_in_its_own_shape()
    {
        var admin = T.Admin;
        var queuesBefore = (await admin.OkAsync("/api/v1/queues?limit=500")).Items().Length;

        var native = await admin.PostAsJsonAsync("/api/v1/queues", new { name = "native", ring_timeout = 4000 });
        await native.ProblemAsync(HttpStatusCode.BadRequest, "ring_timeout");

        var portsip = await admin.PostAsJsonAsync("/api/call_queues",
            new { name = "portsip", extension_number = ApiFixture.Number(), polling_strategy = "RING_SIMULTANEOUSLY", ring_time = 4000 });
        Assert.Equal(HttpStatusCode.BadRequest, portsip.StatusCode);
        Assert.Equal("ring_time", (await portsip.Content.ReadFromJsonAsync<JsonElement>()).Str("field"));

        var fonouc = await admin.PostAsJsonAsync("/api/v2/config/queues", new { name = "fonouc", timeout = 4000 });
        Assert.Equal(HttpStatusCode.BadRequest, fonouc.StatusCode);
        Assert.Contains("timeout", await fonouc.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var kazoo = await admin.SendJsonAsync(HttpMethod.Put, $"/v2/accounts/{T.Id:x32}/qubicle_queues", new { data = new { name = "kazoo", ring_timeout = 4000 } });
        Assert.Equal(HttpStatusCode.BadRequest, kazoo.StatusCode);
        Assert.True((await kazoo.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").TryGetProperty("ring_timeout", out _));

        Assert.Equal(queuesBefore, (await admin.OkAsync("/api/v1/queues?limit=500")).Items().Length);
    }

    [Fact]
    public async Task A_skill_level_out_of_range_is_refused_by_the_native_api_and_portsip_alike()
    {
        var admin = T.Admin;
        var queue = await T.QueueAsync();
        var number = ApiFixture.Number();
        var agent = await T.AgentAsync(number);
        await admin.PostAsJsonAsync($"/api/v1/queues/{queue}/members", new { agent_id = agent, skill_level = 500 })
            .ProblemAsync(HttpStatusCode.BadRequest, "skill_level");
        var portsip = await admin.PostAsJsonAsync($"/api/call_queues/{Lineup.Server.Api.Dialects.PortSip.PortSipIds.Encode(queue)}/agents",
            new { items = new[] { new { extension_number = number, skill_level = 500 } } });
        Assert.Equal(HttpStatusCode.BadRequest, portsip.StatusCode);
        Assert.Equal("items[0].skill_level", (await portsip.Content.ReadFromJsonAsync<JsonElement>()).Str("field"));
        Assert.Empty((await admin.OkAsync($"/api/v1/queues/{queue}/members")).Items());
    }

    [Fact]
    public async Task Sign_in_failures_count_across_the_native_and_the_fonouc_login()
    {
        var username = ApiFixture.Unique("throttled-");
        await T.Admin.CreatedAsync("/api/v1/users", new { username, password = TenantSession.Password, role = "supervisor" });
        var client = fx.Anonymous();
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/api/v1/auth/login", new { username, password = "wrong-password", tenant = T.Name })).StatusCode);
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/api/v2/login", new { username, password = "wrong-password", domain = T.Name })).StatusCode);
        // Five failures in all: the right password is refused through either door.
        Assert.Equal((HttpStatusCode)429, (await client.PostAsJsonAsync("/api/v1/auth/login", new { username, password = TenantSession.Password, tenant = T.Name })).StatusCode);
        Assert.Equal((HttpStatusCode)429, (await client.PostAsJsonAsync("/api/v2/login", new { username, password = TenantSession.Password, domain = T.Name })).StatusCode);
    }

    [Fact]
    public async Task Deleting_a_queue_while_another_points_a_destination_at_it_never_leaves_it_dangling()
    {
        var admin = T.Admin;
        var source = await T.QueueAsync();
        var outcomes = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 25; i++)
        {
            var target = await T.QueueAsync();
            var delete = Task.Run(() => admin.DeleteAsync($"/api/v1/queues/{target}"));
            var point = Task.Run(() => admin.PatchAsJsonAsync($"/api/v1/queues/{source}",
                new { destinations = new { timeout = new { type = "queue", queue_id = target } } }));
            var (deleted, pointed) = (await delete, await point);
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
            Assert.True(pointed.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"PATCH answered {pointed.StatusCode}");
            var timeout = (await admin.OkAsync($"/api/v1/queues/{source}")).GetProperty("destinations").GetProperty("timeout");
            // Whichever came first, the source never names the deleted queue.
            Assert.Equal("hangup", timeout.Str("type"));
            outcomes.Add(pointed.StatusCode.ToString());
        }
        Assert.NotEmpty(outcomes);
    }
}
