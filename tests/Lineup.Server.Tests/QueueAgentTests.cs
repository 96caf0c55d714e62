using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Lineup.Server.Tests;

/// <summary>Queues, agents, memberships and agent status through the native API.</summary>
public class QueueAgentTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private TenantSession T => fx.Tenant;
    private HttpClient Admin => fx.Tenant.Admin;

    [Fact]
    public async Task Queue_create_read_update_delete()
    {
        var name = ApiFixture.Unique("sales-");
        var extension = ApiFixture.Number();
        var response = await Admin.PostAsJsonAsync("/api/v1/queues", new { name, extension, strategy = "round_robin", ring_timeout = 15 });
        var created = await response.JsonAsync(HttpStatusCode.Created);
        var id = created.Id();
        Assert.Equal($"/api/v1/queues/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal(name, created.Str("name"));
        Assert.Equal(extension, created.Str("extension"));
        Assert.Equal("round_robin", created.Str("strategy"));
        Assert.Equal(15, created.Int("ring_timeout"));
        // Unnamed settings take the engine's defaults.
        Assert.Equal(0, created.Int("max_wait"));
        Assert.Equal(1, created.Int("weight"));
        Assert.Equal("hangup", created.GetProperty("destinations").GetProperty("timeout").Str("type"));

        Assert.Equal(created.GetRawText(), (await Admin.OkAsync($"/api/v1/queues/{id}")).GetRawText());

        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"/api/v1/queues/{id}")).StatusCode);
        await Admin.GetAsync($"/api/v1/queues/{id}").ProblemAsync(HttpStatusCode.NotFound);
        await Admin.DeleteAsync($"/api/v1/queues/{id}").ProblemAsync(HttpStatusCode.NotFound);
        await Admin.PatchAsJsonAsync($"/api/v1/queues/{id}", new { name = "back" }).ProblemAsync(HttpStatusCode.NotFound);
        Assert.DoesNotContain(id, (await Admin.OkAsync("/api/v1/queues?limit=500")).Ids());
    }

    [Fact]
    public async Task Queue_patch_merges_and_keeps_every_other_field()
    {
        var target = await T.QueueAsync();
        var id = (await Admin.CreatedAsync("/api/v1/queues", new
        {
            name = ApiFixture.Unique("merge-"),
            extension = ApiFixture.Number(),
            strategy = "top_down",
            ring_timeout = 25,
            max_wait = 300,
            wrap_up_time = 5,
            vip_numbers = new[] { "+111", "+222" },
            callback = new { enabled = true, key = "5" },
            destinations = new { timeout = new { type = "queue", queue_id = target }, queue_full = new { type = "number", target = "+3900" } },
        })).Id();
        var before = await Admin.OkAsync($"/api/v1/queues/{id}");

        var patched = await Admin.PatchOkAsync($"/api/v1/queues/{id}", new { ring_timeout = 30, callback = new { key = "7" } });

        Assert.Equal(30, patched.Int("ring_timeout"));
        Assert.Equal("7", patched.GetProperty("callback").Str("key"));
        Assert.True(patched.GetProperty("callback").GetProperty("enabled").GetBoolean());
        // Everything else is as it was.
        foreach (var p in before.EnumerateObject())
        {
            if (p.Name is "ring_timeout" or "callback") continue;
            Assert.Equal(p.Value.GetRawText(), patched.GetProperty(p.Name).GetRawText());
        }
        Assert.Equal(target, patched.GetProperty("destinations").GetProperty("timeout").Long("queue_id"));
        Assert.Equal(patched.GetRawText(), (await Admin.OkAsync($"/api/v1/queues/{id}")).GetRawText());
    }

    [Fact]
    public async Task Queue_list_pages_with_limit_and_cursor()
    {
        for (var i = 0; i < 5; i++) await T.QueueAsync();
        var all = (await Admin.OkAsync("/api/v1/queues?limit=500")).Ids();
        Assert.True(all.Length >= 5);
        Assert.Equal(all.Order(), all);

        var seen = new List<long>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Admin.OkAsync("/api/v1/queues?limit=2" + (cursor != null ? "&cursor=" + cursor : ""));
            Assert.InRange(page.Items().Length, 1, 2);
            seen.AddRange(page.Ids());
            cursor = page.Str("next_cursor");
            pages++;
        }
        while (cursor != null);
        Assert.Equal(all, seen);
        Assert.Equal((all.Length + 1) / 2, pages);
        Assert.True((await Admin.OkAsync("/api/v1/queues?limit=500")).IsNull("next_cursor"));

        await Admin.GetAsync("/api/v1/queues?limit=501").ProblemAsync(HttpStatusCode.BadRequest, "limit");
        await Admin.GetAsync("/api/v1/queues?limit=x").ProblemAsync(HttpStatusCode.BadRequest, "limit");
        await Admin.GetAsync("/api/v1/queues?cursor=-5").ProblemAsync(HttpStatusCode.BadRequest, "cursor");
    }

    [Fact]
    public async Task Duplicate_queue_extension_is_409()
    {
        var extension = ApiFixture.Number();
        await Admin.CreatedAsync("/api/v1/queues", new { name = ApiFixture.Unique("q-"), extension });
        await Admin.PostAsJsonAsync("/api/v1/queues", new { name = ApiFixture.Unique("q-"), extension }).ProblemAsync(HttpStatusCode.Conflict);

        var other = (await Admin.CreatedAsync("/api/v1/queues", new { name = ApiFixture.Unique("q-"), extension = ApiFixture.Number() })).Id();
        var before = await Admin.SnapshotAsync($"/api/v1/queues/{other}");
        await Admin.PatchAsJsonAsync($"/api/v1/queues/{other}", new { extension }).ProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(before, await Admin.SnapshotAsync($"/api/v1/queues/{other}"));
    }

    [Fact]
    public async Task Destination_to_an_unknown_queue_or_to_itself_is_400_naming_the_field()
    {
        await Admin.PostAsJsonAsync("/api/v1/queues", new
        {
            name = ApiFixture.Unique("d-"),
            destinations = new { timeout = new { type = "queue", queue_id = 999_999_999 } },
        }).ProblemAsync(HttpStatusCode.BadRequest, "destinations.timeout.queue_id");
        await Admin.PostAsJsonAsync("/api/v1/queues", new
        {
            name = ApiFixture.Unique("d-"),
            destinations = new { no_agents = new { type = "queue" } },
        }).ProblemAsync(HttpStatusCode.BadRequest, "destinations.no_agents.queue_id");
        await Admin.PostAsJsonAsync("/api/v1/queues", new
        {
            name = ApiFixture.Unique("d-"),
            destinations = new { exit_key = new { type = "number" } },
        }).ProblemAsync(HttpStatusCode.BadRequest, "destinations.exit_key.target");

        var id = await T.QueueAsync();
        await Admin.PatchAsJsonAsync($"/api/v1/queues/{id}", new { destinations = new { timeout = new { type = "queue", queue_id = id } } })
            .ProblemAsync(HttpStatusCode.BadRequest, "destinations.timeout.queue_id");
    }

    [Fact]
    public async Task Deleting_a_queue_with_calls_is_409()
    {
        var queue = await T.QueueAsync();
        await T.ReadyAgentAsync(queue);
        var call = await T.CallAsync(queue);
        await Admin.DeleteAsync($"/api/v1/queues/{queue}").ProblemAsync(HttpStatusCode.Conflict);
        await Admin.OkAsync($"/api/v1/queues/{queue}");

        await T.EventAsync(call.Id(), "caller_hangup");
        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"/api/v1/queues/{queue}")).StatusCode);
    }

    [Fact]
    public async Task Agent_create_read_update_delete()
    {
        var name = ApiFixture.Unique("Ana-");
        var number = ApiFixture.Number();
        var response = await Admin.PostAsJsonAsync("/api/v1/agents", new { name, number, ring_timeout = 12, wrap_up_time = 30 });
        var created = await response.JsonAsync(HttpStatusCode.Created);
        var id = created.Id();
        Assert.Equal($"/api/v1/agents/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal(name, created.Str("name"));
        Assert.Equal("local", created.Str("kind"));
        Assert.Equal(number, created.Str("number"));
        Assert.Equal(12, created.Int("ring_timeout"));
        Assert.Equal(30, created.Int("wrap_up_time"));
        Assert.Equal("logged_out", created.GetProperty("state").Str("status"));

        Assert.Equal(name, (await Admin.OkAsync($"/api/v1/agents/{id}")).Str("name"));
        Assert.Contains(id, (await Admin.OkAsync("/api/v1/agents?limit=500")).Ids());

        var patched = await Admin.PatchOkAsync($"/api/v1/agents/{id}", new { busy_delay = 7 });
        Assert.Equal(7, patched.Int("busy_delay"));
        Assert.Equal(name, patched.Str("name"));
        Assert.Equal(number, patched.Str("number"));
        Assert.Equal(12, patched.Int("ring_timeout"));
        Assert.Equal(30, patched.Int("wrap_up_time"));

        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"/api/v1/agents/{id}")).StatusCode);
        await Admin.GetAsync($"/api/v1/agents/{id}").ProblemAsync(HttpStatusCode.NotFound);
        await Admin.DeleteAsync($"/api/v1/agents/{id}").ProblemAsync(HttpStatusCode.NotFound);
        await Admin.PatchAsJsonAsync($"/api/v1/agents/{id}", new { name = "x" }).ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Agent_list_pages_with_limit_and_cursor()
    {
        for (var i = 0; i < 3; i++) await T.AgentAsync();
        var all = (await Admin.OkAsync("/api/v1/agents?limit=500")).Ids();
        var first = await Admin.OkAsync("/api/v1/agents?limit=2");
        Assert.Equal(all.Take(2), first.Ids());
        var second = await Admin.OkAsync("/api/v1/agents?limit=2&cursor=" + first.Str("next_cursor"));
        Assert.Equal(all.Skip(2).Take(2), second.Ids());
    }

    [Fact]
    public async Task Duplicate_local_agent_number_is_409()
    {
        var number = ApiFixture.Number();
        await Admin.CreatedAsync("/api/v1/agents", new { name = "first", number });
        await Admin.PostAsJsonAsync("/api/v1/agents", new { name = "second", number }).ProblemAsync(HttpStatusCode.Conflict);

        var other = await T.AgentAsync();
        var before = await Admin.SnapshotAsync($"/api/v1/agents/{other}");
        await Admin.PatchAsJsonAsync($"/api/v1/agents/{other}", new { number }).ProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(before, await Admin.SnapshotAsync($"/api/v1/agents/{other}"));
    }

    [Fact]
    public async Task Members_list_set_exactly_add_and_remove()
    {
        var queue = await T.QueueAsync();
        var a = await T.AgentAsync();
        var b = await T.AgentAsync();
        var c = await T.AgentAsync();

        var added = await Admin.CreatedAsync($"/api/v1/queues/{queue}/members", new { agent_id = a, level = 1, position = 2, skill_level = 3 });
        Assert.Equal(a, added.Long("agent_id"));
        Assert.Equal(1, added.Int("level"));
        Assert.Equal(2, added.Int("position"));
        Assert.Equal(3, added.Int("skill_level"));
        Assert.False(added.GetProperty("logged_in").GetBoolean());
        await T.MemberAsync(queue, b);
        Assert.Equal(new[] { a, b }.Order(), (await Admin.OkAsync($"/api/v1/queues/{queue}/members")).Ids("agent_id"));

        // PUT sets exactly this list: b is updated, c added, a removed.
        var set = await Admin.PutOkAsync($"/api/v1/queues/{queue}/members", new
        {
            members = new object[] { new { agent_id = b, level = 2 }, new { agent_id = c, position = 5 } },
        });
        Assert.Equal(new[] { b, c }.Order(), set.Ids("agent_id"));
        var listed = (await Admin.OkAsync($"/api/v1/queues/{queue}/members")).Items();
        Assert.Equal(new[] { b, c }.Order(), listed.Select(m => m.Long("agent_id")));
        Assert.Equal(2, listed.Single(m => m.Long("agent_id") == b).Int("level"));
        Assert.Equal(5, listed.Single(m => m.Long("agent_id") == c).Int("position"));

        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"/api/v1/queues/{queue}/members/{b}")).StatusCode);
        Assert.Equal(new[] { c }, (await Admin.OkAsync($"/api/v1/queues/{queue}/members")).Ids("agent_id"));
        await Admin.DeleteAsync($"/api/v1/queues/{queue}/members/{b}").ProblemAsync(HttpStatusCode.NotFound);

        Assert.Empty((await Admin.PutOkAsync($"/api/v1/queues/{queue}/members", new { members = Array.Empty<object>() })).Items());
        Assert.Empty((await Admin.OkAsync($"/api/v1/queues/{queue}/members")).Items());
    }

    [Fact]
    public async Task Members_with_an_unknown_agent_or_queue_are_404_and_change_nothing()
    {
        var queue = await T.QueueAsync();
        var agent = await T.AgentAsync();
        await T.MemberAsync(queue, agent);

        await Admin.PostAsJsonAsync($"/api/v1/queues/{queue}/members", new { agent_id = 999_999_999 }).ProblemAsync(HttpStatusCode.NotFound);
        await Admin.PutAsJsonAsync($"/api/v1/queues/{queue}/members", new { members = new[] { new { agent_id = 999_999_999 } } })
            .ProblemAsync(HttpStatusCode.NotFound);
        await Admin.DeleteAsync($"/api/v1/queues/{queue}/members/999999999").ProblemAsync(HttpStatusCode.NotFound);
        await Admin.GetAsync("/api/v1/queues/999999999/members").ProblemAsync(HttpStatusCode.NotFound);
        await Admin.PostAsJsonAsync("/api/v1/queues/999999999/members", new { agent_id = agent }).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(new[] { agent }, (await Admin.OkAsync($"/api/v1/queues/{queue}/members")).Ids("agent_id"));

        await Admin.PutAsJsonAsync($"/api/v1/queues/{queue}/members", new { members = new[] { new { agent_id = agent }, new { agent_id = agent } } })
            .ProblemAsync(HttpStatusCode.BadRequest, "members");
        await Admin.PutAsJsonAsync($"/api/v1/queues/{queue}/members", new { })
            .ProblemAsync(HttpStatusCode.BadRequest, "members");
        await Admin.PutAsJsonAsync($"/api/v1/queues/{queue}/members", new { members = new[] { new { agent_id = agent, skill_level = 0 } } })
            .ProblemAsync(HttpStatusCode.BadRequest, "members[0].skill_level");
        Assert.Equal(new[] { agent }, (await Admin.OkAsync($"/api/v1/queues/{queue}/members")).Ids("agent_id"));
    }

    [Fact]
    public async Task Agent_status_ready_not_ready_wrap_up_and_logged_out()
    {
        var queue = await T.QueueAsync();
        var agent = await T.AgentAsync();
        await T.MemberAsync(queue, agent);
        var path = $"/api/v1/agents/{agent}/status";

        var initial = await Admin.OkAsync(path);
        Assert.Equal(agent, initial.Long("agent_id"));
        Assert.Equal("logged_out", initial.Str("status"));
        Assert.Equal("idle", initial.Str("activity"));
        Assert.Empty(initial.GetProperty("logged_in_queues").EnumerateArray());
        // Not logged in: neither ready nor not ready.
        await Admin.PutAsJsonAsync(path, new { status = "ready" }).ProblemAsync(HttpStatusCode.Conflict);

        await (await Admin.PostAsync($"/api/v1/agents/{agent}/login", null)).JsonAsync(HttpStatusCode.OK);
        var notReady = await Admin.PutOkAsync(path, new { status = "not_ready", reason = "break" });
        Assert.Equal("not_ready", notReady.Str("status"));
        Assert.Equal("break", notReady.Str("reason"));
        Assert.Equal("break", (await Admin.OkAsync(path)).Str("reason"));

        var ready = await Admin.PutOkAsync(path, new { status = "ready", reason = "ignored" });
        Assert.Equal("ready", ready.Str("status"));
        Assert.True(ready.IsNull("reason"));
        // Setting the same status again is fine and changes nothing.
        Assert.Equal("ready", (await Admin.PutOkAsync(path, new { status = "ready" })).Str("status"));

        Assert.Equal("wrap_up", (await Admin.PutOkAsync(path, new { status = "wrap_up" })).Str("status"));
        Assert.Equal("ready", (await Admin.PutOkAsync(path, new { status = "ready" })).Str("status"));

        var loggedOut = await Admin.PutOkAsync(path, new { status = "logged_out" });
        Assert.Equal("logged_out", loggedOut.Str("status"));
        Assert.Empty(loggedOut.GetProperty("logged_in_queues").EnumerateArray());

        await Admin.PutAsJsonAsync(path, new { reason = "x" }).ProblemAsync(HttpStatusCode.BadRequest, "status");
        await Admin.PutAsJsonAsync(path, new { status = "on_the_moon" }).ProblemAsync(HttpStatusCode.BadRequest, "status");
        await Admin.PutAsJsonAsync(path, new { status = "not_ready", reason = new string('r', 65) }).ProblemAsync(HttpStatusCode.BadRequest, "reason");
        await Admin.GetAsync("/api/v1/agents/999999999/status").ProblemAsync(HttpStatusCode.NotFound);
        await Admin.PutAsJsonAsync("/api/v1/agents/999999999/status", new { status = "ready" }).ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Login_and_logout_per_queue()
    {
        var q1 = await T.QueueAsync();
        var q2 = await T.QueueAsync();
        var elsewhere = await T.QueueAsync();
        var agent = await T.AgentAsync();
        await T.MemberAsync(q1, agent);
        await T.MemberAsync(q2, agent);

        var one = await Admin.PostAsJsonAsync($"/api/v1/agents/{agent}/login", new { queue_ids = new[] { q1 } });
        var status = await one.JsonAsync(HttpStatusCode.OK);
        Assert.Equal("ready", status.Str("status"));
        Assert.Equal(new[] { q1 }, status.GetProperty("logged_in_queues").EnumerateArray().Select(e => e.GetInt64()));

        status = await (await Admin.SendJsonAsync(HttpMethod.Post, $"/api/v1/agents/{agent}/login", new { queue_ids = new[] { q2 } }))
            .JsonAsync(HttpStatusCode.OK);
        Assert.Equal(new[] { q1, q2 }.Order(), status.GetProperty("logged_in_queues").EnumerateArray().Select(e => e.GetInt64()));

        await Admin.PostAsJsonAsync($"/api/v1/agents/{agent}/login", new { queue_ids = new[] { elsewhere } }).ProblemAsync(HttpStatusCode.NotFound);
        await Admin.PostAsJsonAsync($"/api/v1/agents/{agent}/login", new { queue_ids = new[] { 999_999_999 } }).ProblemAsync(HttpStatusCode.NotFound);
        await Admin.PostAsJsonAsync($"/api/v1/agents/{agent}/logout", new { queue_ids = new[] { elsewhere } }).ProblemAsync(HttpStatusCode.NotFound);

        status = await (await Admin.PostAsJsonAsync($"/api/v1/agents/{agent}/logout", new { queue_ids = new[] { q1 } })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("ready", status.Str("status"));
        Assert.Equal(new[] { q2 }, status.GetProperty("logged_in_queues").EnumerateArray().Select(e => e.GetInt64()));

        status = await (await Admin.PostAsync($"/api/v1/agents/{agent}/logout", null)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("logged_out", status.Str("status"));
        Assert.Empty(status.GetProperty("logged_in_queues").EnumerateArray());

        // Login with no body: every queue it is a member of.
        status = await (await Admin.PostAsync($"/api/v1/agents/{agent}/login", null)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(new[] { q1, q2 }.Order(), status.GetProperty("logged_in_queues").EnumerateArray().Select(e => e.GetInt64()));

        var loner = await T.AgentAsync();
        await Admin.PostAsync($"/api/v1/agents/{loner}/login", null).ProblemAsync(HttpStatusCode.NotFound);
        await Admin.PostAsync("/api/v1/agents/999999999/login", null).ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Status_changes_show_in_the_queue_status_counts()
    {
        var queue = await T.QueueAsync();
        var a = await T.AgentAsync();
        var b = await T.AgentAsync();
        var c = await T.AgentAsync();
        foreach (var agent in new[] { a, b, c }) await T.MemberAsync(queue, agent);

        var status = await QueueStatusAsync(queue);
        Assert.Equal(queue, status.Long("queue_id"));
        Assert.Equal((0, 0, 0, 0), Counts(status));

        foreach (var agent in new[] { a, b, c }) await (await Admin.PostAsync($"/api/v1/agents/{agent}/login", null)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal((3, 3, 0, 0), Counts(await QueueStatusAsync(queue)));

        await Admin.PutOkAsync($"/api/v1/agents/{b}/status", new { status = "not_ready", reason = "lunch" });
        Assert.Equal((3, 2, 1, 0), Counts(await QueueStatusAsync(queue)));

        await Admin.PutOkAsync($"/api/v1/agents/{c}/status", new { status = "wrap_up" });
        Assert.Equal((3, 1, 1, 1), Counts(await QueueStatusAsync(queue)));

        await Admin.PutOkAsync($"/api/v1/agents/{a}/status", new { status = "logged_out" });
        Assert.Equal((2, 0, 1, 1), Counts(await QueueStatusAsync(queue)));

        await Admin.PutOkAsync($"/api/v1/agents/{b}/status", new { status = "ready" });
        await Admin.PutOkAsync($"/api/v1/agents/{c}/status", new { status = "ready" });
        Assert.Equal((2, 2, 0, 0), Counts(await QueueStatusAsync(queue)));
        await Admin.GetAsync("/api/v1/queues/999999999/status").ProblemAsync(HttpStatusCode.NotFound);
    }

    private Task<JsonElement> QueueStatusAsync(long queue) => Admin.OkAsync($"/api/v1/queues/{queue}/status");

    private static (int LoggedIn, int Available, int NotReady, int WrapUp) Counts(JsonElement s) =>
        (s.Int("logged_in_agents"), s.Int("available_agents"), s.Int("not_ready_agents"), s.Int("wrap_up_agents"));
}
