using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Lineup.Server.Tests.Dialects;

/// <summary>The FonoUC-style dialect (seed 000): every example of the document replayed and compared with the golden
/// files in Golden/fonouc; bad input in its error shape; what it writes read through the native API and back.</summary>
/// <remarks>Golden files whose example in the document is not valid JSON, fixed in syntax only: queues.json (the
/// document splits one queue over two blocks, closing the array early and ending with "0]"), cdrs.json (the
/// document elides the middle with "....." and leaves a trailing comma), login.json ("user": { ... }).</remarks>
public partial class FonoUcTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private const string Vendor = "fonouc";
    private TenantSession T => fx.Tenant;

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex UserId();

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    private static partial Regex Uuid();

    /// <summary>A client that signed in through FonoUC's own login, sending X-Account-ID as FonoUC does.</summary>
    private async Task<HttpClient> FonoAsync()
    {
        var client = fx.Anonymous();
        var login = await (await client.PostAsJsonAsync("/api/v2/login", new { username = "boss", password = TenantSession.Password, domain = T.Name }))
            .JsonAsync(HttpStatusCode.OK);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.Str("access_token"));
        client.DefaultRequestHeaders.Add("X-Account-ID", T.Id.ToString(CultureInfo.InvariantCulture));
        return client;
    }

    /// <summary>Issue 15's additions (FonoUcTests.ContactCenter.cs): the survey's rating in the report and the status, and a
    /// monitoring supervisor as a third party with who hears it.</summary>
    private static readonly ShapeRules s_issue15 = new() { Extras = ["csat_rating", "csat_ratings", "csat_average", "supervisor", "hears_supervisor"] };

    private static string Hex(long id) => id.ToString("x32", CultureInfo.InvariantCulture);

    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string? field = null)
    {
        var body = await response.JsonAsync(status);
        Assert.Equal((int)status, body.Int("status"));
        Assert.False(string.IsNullOrEmpty(body.Str("message")));
        if (field != null) Assert.Equal(field, body.Str("field"));
        return body;
    }

    /// <summary>The seed's queue example with its agent replaced by one of this tenant and a unique extension.</summary>
    private static JsonObject SeedQueue(long agent, string extension)
    {
        var doc = JsonNode.Parse(GoldenShapes.Load(Vendor, "queues.json")[0].GetRawText())!.AsObject();
        doc.Remove("id");
        doc.Remove("misconfigured_agents");
        doc["name"] = ApiFixture.Unique("test_queue_");
        doc["extensions"]![0]!["extension"] = extension;
        doc["agents"]![0]!["id"] = Hex(agent);
        return doc;
    }

    private async Task<(string Id, long Native, JsonElement Doc)> CreateQueueAsync(HttpClient fono, long agent)
    {
        var created = await (await fono.PostAsJsonAsync("/api/v2/config/queues", SeedQueue(agent, ApiFixture.Number()))).JsonAsync(HttpStatusCode.Created);
        var id = created.Str("id")!;
        Assert.Matches(Uuid(), id);
        return (id, long.Parse(id[^12..], NumberStyles.HexNumber, CultureInfo.InvariantCulture), created);
    }

    [Fact]
    public async Task Login_answers_the_documented_shape_and_its_token_works()
    {
        var anonymous = fx.Anonymous();
        var login = await (await anonymous.PostAsJsonAsync("/api/v2/login", new { username = "boss", password = TenantSession.Password, domain = T.Name }))
            .JsonAsync(HttpStatusCode.OK);
        // The seed shows the user as "{ ... }": its fields are not documented (the users list is, and is compared below).
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "login.json"), login, new ShapeRules { Opaque = ["user"] });
        Assert.StartsWith("la_", login.Str("access_token"), StringComparison.Ordinal);
        var user = login.GetProperty("user");
        Assert.Equal(T.Id.ToString(CultureInfo.InvariantCulture), user.Str("account_id"));
        Assert.Equal("admin", user.Str("level"));
        Assert.Matches(UserId(), user.Str("id")!);
        var fono = await FonoAsync();
        Assert.Equal(JsonValueKind.Array, (await fono.OkAsync("/api/v2/config/users")).ValueKind);
    }

    [Fact]
    public async Task Login_refuses_bad_input_with_400_naming_the_field()
    {
        var c = fx.Anonymous();
        await ErrorAsync(await c.PostAsJsonAsync("/api/v2/login", new { username = "boss", password = "wrong-password", domain = T.Name }), HttpStatusCode.BadRequest, "password");
        await ErrorAsync(await c.PostAsJsonAsync("/api/v2/login", new { password = "x", domain = T.Name }), HttpStatusCode.BadRequest, "username");
        await ErrorAsync(await c.PostAsJsonAsync("/api/v2/login", new { username = "boss", password = TenantSession.Password, domain = "no-such-domain" }), HttpStatusCode.BadRequest, "domain");
        await ErrorAsync(await c.PostAsJsonAsync("/api/v2/login", new { username = 5, password = "x" }), HttpStatusCode.BadRequest, "username");
        await ErrorAsync(await c.PostAsJsonAsync("/api/v2/login", new { username = "boss", password = "x", tenant = "t" }), HttpStatusCode.BadRequest, "tenant");
        await ErrorAsync(await c.SendRawAsync(HttpMethod.Post, "/api/v2/login", "{not json"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Users_list_agents_and_accounts_in_the_documented_shape()
    {
        var agent = await T.AgentAsync();
        var fono = await FonoAsync();
        var users = await fono.OkAsync("/api/v2/config/users");
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "users.json"), users);
        var native = await T.Admin.OkAsync($"/api/v1/agents/{agent}");
        var mine = users.EnumerateArray().Single(u => u.Str("id") == Hex(agent));
        Assert.True(mine.GetProperty("isAgent").GetBoolean());
        Assert.Equal(native.Str("number"), mine.Str("presence_id"));
        Assert.Equal(native.Str("name"), mine.Str("first_name"));
        var boss = users.EnumerateArray().Single(u => u.Str("id") == Hex(T.AdminUserId));
        Assert.False(boss.GetProperty("isAgent").GetBoolean());
        Assert.Equal("admin", boss.Str("level"));
        Assert.All(users.EnumerateArray(), u => Assert.Matches(UserId(), u.Str("id")!));
    }

    [Fact]
    public async Task A_queue_document_is_stored_whole_and_reads_the_same_natively()
    {
        var agent = await T.AgentAsync();
        var fono = await FonoAsync();
        var sent = SeedQueue(agent, ApiFixture.Number());
        var (id, native, created) = await CreateQueueAsync(fono, agent);
        var list = await fono.OkAsync("/api/v2/config/queues");
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "queues.json"), list);
        var doc = list.EnumerateArray().Single(q => q.Str("id") == id);
        Assert.Equal(created.GetRawText(), doc.GetRawText());
        // Every field of the seed's example comes back as sent (name and extension are this test's own).
        var golden = GoldenShapes.Load(Vendor, "queues.json")[0];
        foreach (var p in golden.EnumerateObject().Where(p => p.Name is not ("id" or "name" or "extensions" or "agents")))
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(p.Value.GetRawText()), JsonNode.Parse(doc.GetProperty(p.Name).GetRawText())), $"{p.Name}: {doc.GetProperty(p.Name)}");
        Assert.Equal("simultaneous", doc.Str("strategy"));
        Assert.Equal(Hex(agent), doc.GetProperty("agents")[0].Str("id"));
        Assert.Equal(0, doc.Int("misconfigured_agents"));

        var q = await T.Admin.OkAsync($"/api/v1/queues/{native}");
        Assert.Equal("ring_all", q.Str("strategy"));
        Assert.Equal(180, q.Int("max_wait"));
        Assert.Equal(1, q.Int("wrap_up_time"));
        Assert.Equal(20, q.Int("ring_timeout"));
        Assert.Equal(doc.GetProperty("extensions")[0].Str("extension"), q.Str("extension"));
        var member = Assert.Single((await T.Admin.OkAsync($"/api/v1/queues/{native}/members")).Items());
        Assert.Equal(agent, member.Long("agent_id"));
        Assert.Equal(20, member.Int("ring_timeout"));

        // A native change is seen by FonoUC, and FonoUC's stored fields survive it.
        await T.Admin.PatchOkAsync($"/api/v1/queues/{native}", new { name = "renamed-" + native, max_wait = 90, strategy = "longest_idle" });
        doc = (await fono.OkAsync("/api/v2/config/queues")).EnumerateArray().Single(x => x.Str("id") == id);
        Assert.Equal("renamed-" + native, doc.Str("name"));
        Assert.Equal("seconds", doc.Str("max_time_caller_remains_unit"));
        Assert.Equal(90, doc.Int("max_time_caller_remains"));
        Assert.Equal("longest_idle", doc.Str("strategy"));
        Assert.Equal(sent["moh"]!.GetValue<string>(), doc.Str("moh"));
        Assert.True(doc.GetProperty("ai_assist").ValueKind == JsonValueKind.False);

        // A FonoUC update of a few fields keeps the rest.
        var updated = await (await fono.PutAsJsonAsync($"/api/v2/config/queues/{id}", new { ai_assist = true, timeout = 30, agents = Array.Empty<object>() }))
            .JsonAsync(HttpStatusCode.OK);
        Assert.True(updated.GetProperty("ai_assist").GetBoolean());
        Assert.Equal(0, updated.GetProperty("agents").GetArrayLength());
        Assert.Equal(doc.GetProperty("crm").GetRawText(), updated.GetProperty("crm").GetRawText());
        Assert.Equal(30, (await T.Admin.OkAsync($"/api/v1/queues/{native}")).Int("ring_timeout"));
        Assert.Empty((await T.Admin.OkAsync($"/api/v1/queues/{native}/members")).Items());
    }

    [Fact]
    public async Task Queue_writes_refuse_bad_input_naming_the_field()
    {
        var agent = await T.AgentAsync();
        var fono = await FonoAsync();
        var (id, _, _) = await CreateQueueAsync(fono, agent);
        var before = await fono.OkAsync("/api/v2/config/queues");
        async Task Bad(object body, string field) =>
            await ErrorAsync(await fono.PutAsJsonAsync($"/api/v2/config/queues/{id}", body), HttpStatusCode.BadRequest, field);
        await Bad(new { timeout = "20" }, "timeout");
        await Bad(new { timeout = 0 }, "timeout");
        await Bad(new { ai_assist = "yes" }, "ai_assist");
        await Bad(new { strategy = "ringall" }, "strategy");
        await Bad(new { max_time_caller_remains_unit = "days" }, "max_time_caller_remains_unit");
        await Bad(new { crm = "x" }, "crm");
        await Bad(new { dids = new[] { 1 } }, "dids");
        await Bad(new { name = "" }, "name");
        await Bad(new { unknown_field = 1 }, "unknown_field");
        await Bad(new { agents = new[] { new { type = "user", id = "nothex", delay = 0, timeout = 20 } } }, "agents[0].id");
        await Bad(new { agents = new[] { new { type = "user", id = Hex(999_999_999), delay = 0, timeout = 20 } } }, "agents[0].id");
        await Bad(new { agents = new[] { new { type = "user", id = Hex(agent), delay = -1, timeout = 20 } } }, "agents[0].delay");
        await Bad(new { extensions = new[] { new { extension = "12a" } } }, "extensions[0].extension");
        await ErrorAsync(await fono.PutAsJsonAsync("/api/v2/config/queues/00000001-0000-0000-0000-00000000ffff", new { timeout = 20 }), HttpStatusCode.NotFound);
        await ErrorAsync(await fono.PutAsJsonAsync("/api/v2/config/queues/not-a-uuid", new { timeout = 20 }), HttpStatusCode.NotFound);
        Assert.Equal(before.GetRawText(), (await fono.OkAsync("/api/v2/config/queues")).GetRawText());
    }

    [Fact]
    public async Task Agent_login_and_logout_per_queue_answer_204_and_show_natively()
    {
        var agent = await T.AgentAsync();
        var fono = await FonoAsync();
        var (id, native, _) = await CreateQueueAsync(fono, agent);
        var login = await fono.PutAsync($"/api/v2/callcenter/admin/agent/{Hex(agent)}/login?queueID={id}", null);
        Assert.Equal(HttpStatusCode.NoContent, login.StatusCode);
        var status = await T.Admin.OkAsync($"/api/v1/agents/{agent}/status");
        Assert.Contains(native, status.GetProperty("logged_in_queues").EnumerateArray().Select(x => x.GetInt64()));
        var fonoStatus = await fono.OkAsync($"/api/v2/callcenter/queues/status?queueID={id}");
        Assert.True(fonoStatus.GetProperty("agents")[0].GetProperty("logged_in").GetBoolean());
        Assert.Equal("idle", fonoStatus.GetProperty("agents")[0].Str("status"));
        Assert.Equal(1, fonoStatus.Int("logged_in_agents"));

        var logout = await fono.PutAsync($"/api/v2/callcenter/admin/agent/{Hex(agent)}/logout?queueID={id}", null);
        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        status = await T.Admin.OkAsync($"/api/v1/agents/{agent}/status");
        Assert.DoesNotContain(native, status.GetProperty("logged_in_queues").EnumerateArray().Select(x => x.GetInt64()));

        // Native login reads as logged in through FonoUC.
        await T.Admin.PostAsync($"/api/v1/agents/{agent}/login", null);
        fonoStatus = await fono.OkAsync($"/api/v2/callcenter/queues/status?queueID={id}");
        Assert.Equal(1, fonoStatus.Int("logged_in_agents"));
    }

    [Fact]
    public async Task Agent_login_refuses_unknown_and_foreign_ids()
    {
        var agent = await T.AgentAsync();
        var outsider = await T.AgentAsync();
        var fono = await FonoAsync();
        var (id, _, _) = await CreateQueueAsync(fono, agent);
        var other = await fx.CreateTenantAsync();
        var foreignAgent = await other.AgentAsync();
        var foreignQueue = await other.QueueAsync();
        var foreignQueueId = "00000001-0000-0000-" + foreignQueue.ToString("x16", CultureInfo.InvariantCulture).Insert(4, "-");
        await ErrorAsync(await fono.PutAsync($"/api/v2/callcenter/admin/agent/{Hex(foreignAgent)}/login?queueID={id}", null), HttpStatusCode.NotFound, "user_id");
        await ErrorAsync(await fono.PutAsync($"/api/v2/callcenter/admin/agent/xyz/login?queueID={id}", null), HttpStatusCode.NotFound, "user_id");
        await ErrorAsync(await fono.PutAsync($"/api/v2/callcenter/admin/agent/{Hex(agent)}/login?queueID={foreignQueueId}", null), HttpStatusCode.NotFound, "queueID");
        await ErrorAsync(await fono.PutAsync($"/api/v2/callcenter/admin/agent/{Hex(agent)}/login?queueID=bad", null), HttpStatusCode.NotFound, "queueID");
        await ErrorAsync(await fono.PutAsync($"/api/v2/callcenter/admin/agent/{Hex(outsider)}/login?queueID={id}", null), HttpStatusCode.BadRequest, "queueID");
        await ErrorAsync(await fono.PutAsync($"/api/v2/callcenter/admin/agent/{Hex(agent)}/dance?queueID={id}", null), HttpStatusCode.NotFound);
        // The other tenant's account through X-Account-ID is refused for a tenant user.
        var snoop = fx.WithBearer(fono.DefaultRequestHeaders.Authorization!.Parameter!, other.Id);
        await ErrorAsync(await snoop.GetAsync("/api/v2/config/queues"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Missing_or_bad_credentials_get_FonoUC_errors()
    {
        foreach (var path in new[] { "/api/v2/config/users", "/api/v2/config/queues", "/api/v2/callcenter/queues/status", "/api/v2/callcenter/queues/calls", "/api/v2/reports/callcenter/queues" })
        {
            await ErrorAsync(await fx.Anonymous().GetAsync(path), HttpStatusCode.Unauthorized);
            await ErrorAsync(await fx.WithBearer("la_not-a-token").GetAsync(path), HttpStatusCode.Unauthorized);
        }
        await ErrorAsync(await fx.Anonymous().PutAsync($"/api/v2/callcenter/admin/agent/{Hex(1)}/login", null), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Status_calls_and_CDRs_follow_a_real_call()
    {
        var agent = await T.AgentAsync();
        var fono = await FonoAsync();
        var (id, native, _) = await CreateQueueAsync(fono, agent);
        Assert.Equal(HttpStatusCode.NoContent, (await fono.PutAsync($"/api/v2/callcenter/admin/agent/{Hex(agent)}/login?queueID={id}", null)).StatusCode);
        // No wrap-up, so that the call ends (and its CDR is written) when the caller hangs up.
        await (await fono.PutAsJsonAsync($"/api/v2/config/queues/{id}", new { wrap_up_time = 0 })).JsonAsync(HttpStatusCode.OK);
        var from = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
        var call = await T.CallAsync(native, "9411234567", "Caller Name", externalId: "interaction-1");

        var ringing = await fono.OkAsync($"/api/v2/callcenter/queues/status?queueID={id}");
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "status.json"), ringing, s_issue15);
        var a = ringing.GetProperty("agents")[0];
        Assert.Equal("ringing", a.Str("status"));
        Assert.False(a.GetProperty("conference").GetProperty("answered").GetBoolean());
        Assert.Equal("9411234567", a.GetProperty("conference").GetProperty("caller").Str("number"));
        var all = await fono.OkAsync("/api/v2/callcenter/queues/status");
        Assert.Contains(all.EnumerateArray(), q => q.Str("id") == id);

        await T.EventAsync(call.Id(), "agent_answered", agent);
        var talking = (await fono.OkAsync($"/api/v2/callcenter/queues/status?queueID={id}")).GetProperty("agents")[0];
        Assert.Equal("in_call", talking.Str("status"));
        Assert.True(talking.GetProperty("conference").GetProperty("answered").GetBoolean());
        Assert.Equal(2, talking.GetProperty("conference").Int("participants"));

        var calls = await fono.OkAsync("/api/v2/callcenter/queues/calls");
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "calls.json"), calls, s_issue15 with { Nullable = ["agent"] });
        var live = calls.EnumerateArray().Single(c => c.GetProperty("caller").Str("name") == "Caller Name");
        Assert.True(live.GetProperty("answered").GetBoolean());
        Assert.Equal(Hex(agent), live.GetProperty("agent").Str("id"));
        var number = (await T.Admin.OkAsync($"/api/v1/agents/{agent}")).Str("number");
        Assert.Equal(long.Parse(number!, CultureInfo.InvariantCulture), live.GetProperty("agent").GetProperty("ext").GetInt64());

        await T.EventAsync(call.Id(), "caller_hangup");
        // The seed's queue makes the disposition mandatory (is_disposition_mandatory): the wrap-up, and with it the
        // call, ends once the agent gives a code, which the report shows as agent_disposition.
        await (await T.Admin.PostAsJsonAsync($"/api/v1/calls/{call.Id()}/disposition", new { agent_id = agent, code = "sale" })).JsonAsync(HttpStatusCode.OK);
        Assert.DoesNotContain((await fono.OkAsync("/api/v2/callcenter/queues/calls")).EnumerateArray(), c => c.GetProperty("caller").Str("name") == "Caller Name");
        var to = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1000;
        // The seed's own example: "starDate" in seconds and endDate in milliseconds.
        var report = await fono.OkAsync($"/api/v2/reports/callcenter/queues?starDate={from}&endDate={to}");
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "cdrs.json"), report, s_issue15);
        var cdr = report.GetProperty("data").EnumerateArray().Single(c => c.Str("interaction_id") == "interaction-1");
        Assert.Matches(Uuid(), cdr.Str("callid")!);
        Assert.Equal("ANSWER", cdr.Str("disposition"));
        Assert.Equal("sale", cdr.Str("agent_disposition"));
        Assert.Equal("\"Caller Name\"", cdr.Str("caller_id_name"));
        Assert.Equal(1, cdr.Int("state"));
        var attempt = Assert.Single(cdr.GetProperty("agent_history").EnumerateArray());
        Assert.Equal(Hex(agent), attempt.Str("endpoint"));
        Assert.Equal("dial", attempt.Str("event"));
        Assert.True(attempt.GetProperty("connected").GetBoolean());
        Assert.Equal(number, attempt.Str("ext"));
        Assert.Equal(20, attempt.Int("timeout"));
        Assert.Equal(cdr.Str("queue_name"), Assert.Single(cdr.GetProperty("queue_history").EnumerateArray()).Str("queue_name"));
        Assert.True(cdr.GetProperty("hangup_time").GetDouble() >= cdr.GetProperty("called_time").GetDouble());
        Assert.Equal(number, cdr.Str("agent_answered_ext"));
        var nativeCdr = (await T.Admin.OkAsync("/api/v1/cdrs")).Items().Single(c => c.Long("call_id") == call.Id());
        Assert.Equal(nativeCdr.Str("caller_number"), cdr.Str("caller_id_number"));

        // The same report with the documented spelling, and paged one record at a time.
        var second = await T.CallAsync(native, "100", externalId: "interaction-2");
        await T.EventAsync(second.Id(), "caller_hangup");
        var page1 = await fono.OkAsync($"/api/v2/reports/callcenter/queues?startDate={from}&page_size=1");
        Assert.Equal(1, page1.Int("page_size"));
        Assert.NotEqual("", page1.Str("next_start_key"));
        var page2 = await fono.OkAsync($"/api/v2/reports/callcenter/queues?startDate={from}&page_size=1&start_key={page1.Str("next_start_key")}");
        Assert.NotEqual(page1.GetProperty("data")[0].Str("callid"), page2.GetProperty("data")[0].Str("callid"));
        var abandoned = (await fono.OkAsync($"/api/v2/reports/callcenter/queues?startDate={from}")).GetProperty("data").EnumerateArray()
            .Single(c => c.Str("interaction_id") == "interaction-2");
        Assert.NotEqual("ANSWER", abandoned.Str("disposition"));
    }

    [Fact]
    public async Task Reports_refuse_bad_parameters_naming_them()
    {
        var fono = await FonoAsync();
        await ErrorAsync(await fono.GetAsync("/api/v2/reports/callcenter/queues?startDate=yesterday"), HttpStatusCode.BadRequest, "startDate");
        await ErrorAsync(await fono.GetAsync("/api/v2/reports/callcenter/queues?starDate=-5"), HttpStatusCode.BadRequest, "starDate");
        await ErrorAsync(await fono.GetAsync("/api/v2/reports/callcenter/queues?endDate=x"), HttpStatusCode.BadRequest, "endDate");
        await ErrorAsync(await fono.GetAsync("/api/v2/reports/callcenter/queues?startDate=200&endDate=100"), HttpStatusCode.BadRequest, "endDate");
        await ErrorAsync(await fono.GetAsync("/api/v2/reports/callcenter/queues?page_size=0"), HttpStatusCode.BadRequest, "page_size");
        await ErrorAsync(await fono.GetAsync("/api/v2/reports/callcenter/queues?start_key=abc"), HttpStatusCode.BadRequest, "start_key");
        await ErrorAsync(await fono.GetAsync("/api/v2/callcenter/queues/status?queueID=nope"), HttpStatusCode.NotFound, "queueID");
    }
}
