using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Lineup.Server.Tests;

/// <summary>
/// One tenant can never see or change another's data. Tenant B owns a queue, agents, a user, an API key, a call
/// ringing an agent and a finished call; tenant A's admin tries every endpoint that takes an id with B's ids and
/// gets 404, and B's data (and A's own) is the same afterwards.
/// </summary>
public class IsolationTests(IsolationTests.TwoTenants fx) : IClassFixture<IsolationTests.TwoTenants>
{
    public sealed class TwoTenants : ApiFixture
    {
        public TenantSession B { get; private set; } = null!;
        public Dictionary<string, long> Ids { get; } = new(StringComparer.Ordinal);
        public string UserB { get; private set; } = "";
        public string OwnersBefore { get; private set; } = "";

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            B = await CreateTenantAsync();

            // Tenant A: a queue, an agent (not ready) and a call waiting in the queue.
            var qa = await Tenant.QueueAsync();
            var aa = await Tenant.ReadyAgentAsync(qa);
            await Tenant.Admin.PutOkAsync($"/api/v1/agents/{aa}/status", new { status = "not_ready" });
            Ids["QA"] = qa;
            Ids["AA"] = aa;
            Ids["CA"] = (await Tenant.CallAsync(qa, "+1000")).Id();

            // Tenant B: a queue whose offers ring for an hour, an agent ringing for a live call, a finished call.
            var qb = (await B.Admin.CreatedAsync("/api/v1/queues", new { name = Unique("b-"), extension = Number(), ring_timeout = 3600 })).Id();
            var ab = await B.ReadyAgentAsync(qb);
            Ids["QB"] = qb;
            Ids["AB"] = ab;
            Ids["CB2"] = await B.AnsweredCallAsync(qb, ab, "+2000");
            var live = await B.CallAsync(qb, "+2001");
            Assert.Equal(ab, live.GetProperty("offers")[0].Long("agent_id"));
            Ids["CB"] = live.Id();
            UserB = Unique("b-user-");
            Ids["UB"] = (await B.Admin.CreatedAsync("/api/v1/users", new { username = UserB, password = TenantSession.Password, role = "supervisor" })).Id();
            Ids["KB"] = (await B.Admin.CreatedAsync("/api/v1/api-keys", new { name = "b-key" })).Id();

            OwnersBefore = await OwnersStateAsync();
        }

        /// <summary>Everything both tenants own, as JSON, without the figures that move with the clock.</summary>
        public async Task<string> OwnersStateAsync()
        {
            string[] bPaths =
            [
                $"/api/v1/queues/{Ids["QB"]}", $"/api/v1/queues/{Ids["QB"]}/members", $"/api/v1/queues/{Ids["QB"]}/status",
                $"/api/v1/queues/{Ids["QB"]}/calls", $"/api/v1/queues/{Ids["QB"]}/stats", $"/api/v1/agents/{Ids["AB"]}",
                $"/api/v1/calls/{Ids["CB"]}", $"/api/v1/calls/{Ids["CB2"]}", $"/api/v1/users/{Ids["UB"]}", "/api/v1/users",
                "/api/v1/api-keys", "/api/v1/cdrs", "/api/v1/queues", "/api/v1/agents",
            ];
            string[] aPaths =
            [
                $"/api/v1/queues/{Ids["QA"]}", $"/api/v1/queues/{Ids["QA"]}/members", $"/api/v1/queues/{Ids["QA"]}/calls",
                $"/api/v1/agents/{Ids["AA"]}", "/api/v1/queues", "/api/v1/agents", "/api/v1/cdrs",
            ];
            var parts = new List<string>();
            foreach (var path in bPaths) parts.Add("B " + path + " " + Stable(await B.Admin.OkAsync(path)));
            foreach (var path in aPaths) parts.Add("A " + path + " " + Stable(await Tenant.Admin.OkAsync(path)));
            return string.Join("\n", parts);
        }

        private static string Stable(System.Text.Json.JsonElement e)
        {
            var node = JsonNode.Parse(e.GetRawText())!;
            Strip(node);
            return node.ToJsonString();
        }

        private static void Strip(JsonNode? node)
        {
            if (node is JsonObject o)
            {
                foreach (var key in new[] { "wait_seconds", "longest_wait_seconds", "estimated_wait_seconds" }) o.Remove(key);
                foreach (var (_, child) in o) Strip(child);
            }
            else if (node is JsonArray a)
            {
                foreach (var child in a) Strip(child);
            }
        }
    }

    public static TheoryData<string, string, string?> OtherTenantsIds => new()
    {
        { "GET", "/api/v1/queues/{QB}", null },
        { "PATCH", "/api/v1/queues/{QB}", """{"name":"hijacked"}""" },
        { "DELETE", "/api/v1/queues/{QB}", null },
        { "GET", "/api/v1/queues/{QB}/members", null },
        { "PUT", "/api/v1/queues/{QB}/members", """{"members":[]}""" },
        { "PUT", "/api/v1/queues/{QB}/members", """{"members":[{"agent_id":{AA}}]}""" },
        { "POST", "/api/v1/queues/{QB}/members", """{"agent_id":{AA}}""" },
        { "POST", "/api/v1/queues/{QA}/members", """{"agent_id":{AB}}""" },
        { "PUT", "/api/v1/queues/{QA}/members", """{"members":[{"agent_id":{AA}},{"agent_id":{AB}}]}""" },
        { "DELETE", "/api/v1/queues/{QB}/members/{AB}", null },
        { "DELETE", "/api/v1/queues/{QA}/members/{AB}", null },
        { "GET", "/api/v1/queues/{QB}/status", null },
        { "GET", "/api/v1/queues/{QB}/stats", null },
        { "GET", "/api/v1/queues/{QB}/stats?date=2001-01-01", null },
        { "GET", "/api/v1/queues/{QB}/calls", null },
        { "GET", "/api/v1/queues/{QB}/staffing", null },
        { "POST", "/api/v1/queues/{QB}/calls/{CB}/pickup", """{"agent_id":{AA}}""" },
        { "POST", "/api/v1/queues/{QA}/calls/{CB}/pickup", """{"agent_id":{AA}}""" },
        { "POST", "/api/v1/queues/{QA}/calls/{CA}/pickup", """{"agent_id":{AB}}""" },
        { "GET", "/api/v1/agents/{AB}", null },
        { "PATCH", "/api/v1/agents/{AB}", """{"name":"hijacked"}""" },
        { "DELETE", "/api/v1/agents/{AB}", null },
        { "GET", "/api/v1/agents/{AB}/status", null },
        { "PUT", "/api/v1/agents/{AB}/status", """{"status":"not_ready","reason":"hijacked"}""" },
        { "PUT", "/api/v1/agents/{AB}/status", """{"status":"logged_out"}""" },
        { "POST", "/api/v1/agents/{AB}/login", null },
        { "POST", "/api/v1/agents/{AB}/logout", null },
        { "POST", "/api/v1/agents/{AB}/logout", """{"queue_ids":[{QB}]}""" },
        { "POST", "/api/v1/agents/{AA}/login", """{"queue_ids":[{QB}]}""" },
        { "POST", "/api/v1/agents/{AA}/logout", """{"queue_ids":[{QA},{QB}]}""" },
        { "GET", "/api/v1/users/{UB}", null },
        { "PATCH", "/api/v1/users/{UB}", """{"password":"hijacked-password","role":"admin"}""" },
        { "DELETE", "/api/v1/users/{UB}", null },
        { "DELETE", "/api/v1/api-keys/{KB}", null },
        { "GET", "/api/v1/calls/{CB}", null },
        { "GET", "/api/v1/calls/{CB2}", null },
        { "POST", "/api/v1/calls/{CB}/events", """{"type":"agent_answered","agent_id":{AB}}""" },
        { "POST", "/api/v1/calls/{CB}/events", """{"type":"agent_rejected","agent_id":{AB}}""" },
        { "POST", "/api/v1/calls/{CB}/events", """{"type":"caller_hangup"}""" },
        { "POST", "/api/v1/calls/{CB}/events", """{"type":"dtmf","digits":"1"}""" },
        { "POST", "/api/v1/calls/{CB2}/events", """{"type":"agent_hangup"}""" },
        { "POST", "/api/v1/calls", """{"queue_id":{QB},"caller_number":"+3000"}""" },
    };

    [Theory]
    [MemberData(nameof(OtherTenantsIds))]
    public async Task Another_tenants_ids_are_404_and_change_nothing(string method, string path, string? body)
    {
        var response = await fx.Tenant.Admin.SendRawAsync(new HttpMethod(method), Fill(path), body == null ? null : Fill(body));
        await response.ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(fx.OwnersBefore, await fx.OwnersStateAsync());
    }

    [Fact]
    public async Task The_system_administrator_without_X_Account_ID_does_not_reach_another_tenant_either()
    {
        await fx.SystemAdmin.GetAsync(Fill("/api/v1/queues/{QB}")).ProblemAsync(HttpStatusCode.NotFound);
        await fx.SystemAdmin.GetAsync(Fill("/api/v1/calls/{CB}")).ProblemAsync(HttpStatusCode.NotFound);
        // With X-Account-ID it does.
        await fx.SystemAdminFor(fx.B.Id).OkAsync(Fill("/api/v1/queues/{QB}"));
    }

    [Fact]
    public async Task Another_tenants_ids_are_refused_inside_bodies()
    {
        await fx.Tenant.Admin.PostAsJsonAsync("/api/v1/users", new { username = ApiFixture.Unique("x-"), password = "password-1", agent_id = fx.Ids["AB"] })
            .ProblemAsync(HttpStatusCode.BadRequest, "agent_id");
        await fx.Tenant.Admin.PostAsJsonAsync("/api/v1/queues", new
        {
            name = ApiFixture.Unique("x-"),
            destinations = new { timeout = new { type = "queue", queue_id = fx.Ids["QB"] } },
        }).ProblemAsync(HttpStatusCode.BadRequest, "destinations.timeout.queue_id");
        await fx.Tenant.Admin.PatchAsJsonAsync($"/api/v1/queues/{fx.Ids["QA"]}", new
        {
            destinations = new { no_agents = new { type = "queue", queue_id = fx.Ids["QB"] } },
        }).ProblemAsync(HttpStatusCode.BadRequest, "destinations.no_agents.queue_id");
        Assert.Equal(fx.OwnersBefore, await fx.OwnersStateAsync());
    }

    [Fact]
    public async Task Cdrs_never_show_another_tenants_calls()
    {
        var mine = (await fx.Tenant.Admin.OkAsync("/api/v1/cdrs?limit=1000")).Items().Select(c => c.Long("call_id")).ToList();
        Assert.DoesNotContain(fx.Ids["CB2"], mine);
        Assert.All(mine, id => Assert.Equal(fx.Tenant.Id, id / 1_000_000_000));
        Assert.Empty((await fx.Tenant.Admin.OkAsync(Fill("/api/v1/cdrs?queue_id={QB}"))).Items());
        Assert.Empty((await fx.Tenant.Admin.OkAsync(Fill("/api/v1/cdrs?agent_id={AB}"))).Items());
        var csv = await fx.Tenant.Admin.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/v1/cdrs") { Headers = { { "Accept", "text/csv" } } });
        Assert.DoesNotContain(fx.Ids["CB2"].ToString(CultureInfo.InvariantCulture), await csv.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // The owner sees its own.
        Assert.Contains(fx.Ids["CB2"], (await fx.B.Admin.OkAsync("/api/v1/cdrs")).Items().Select(c => c.Long("call_id")));
    }

    [Fact]
    public async Task Lists_show_only_the_callers_tenant()
    {
        var a = fx.Tenant.Admin;
        Assert.DoesNotContain(fx.Ids["QB"], (await a.OkAsync("/api/v1/queues?limit=500")).Ids());
        Assert.DoesNotContain(fx.Ids["AB"], (await a.OkAsync("/api/v1/agents?limit=500")).Ids());
        Assert.DoesNotContain(fx.Ids["UB"], (await a.OkAsync("/api/v1/users?limit=500")).Ids());
        Assert.DoesNotContain(fx.Ids["KB"], (await a.OkAsync("/api/v1/api-keys?limit=500")).Ids());
        // A cursor taken from another tenant's ids reveals nothing either.
        Assert.DoesNotContain(fx.Ids["QB"], (await a.OkAsync($"/api/v1/queues?cursor={fx.Ids["QB"] - 1}")).Ids());
    }

    [Fact]
    public async Task Another_tenants_user_still_signs_in_with_its_own_password()
    {
        await fx.Tenant.Admin.PatchAsJsonAsync(Fill("/api/v1/users/{UB}"), new { password = "hijacked-password" }).ProblemAsync(HttpStatusCode.NotFound);
        var (client, _) = await fx.SignInAsync(fx.UserB, TenantSession.Password, fx.B.Name);
        await client.OkAsync(Fill("/api/v1/queues/{QB}"));
        // And it cannot use its credentials on tenant A.
        var sneaky = fx.WithBearer(client.DefaultRequestHeaders.Authorization!.Parameter!, fx.Tenant.Id);
        await sneaky.GetAsync(Fill("/api/v1/queues/{QA}")).ProblemAsync(HttpStatusCode.Forbidden);
        await client.GetAsync(Fill("/api/v1/queues/{QA}")).ProblemAsync(HttpStatusCode.NotFound);
    }

    private string Fill(string template)
    {
        foreach (var (key, value) in fx.Ids.OrderByDescending(kv => kv.Key.Length))
            template = template.Replace("{" + key + "}", value.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return template;
    }
}
