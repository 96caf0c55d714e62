using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Lineup.Server.Tests.Dialects;

/// <summary>The Kazoo Qubicle dialect (seed 002): every example request replayed and compared with Golden/kazoo;
/// bad input and foreign accounts in Kazoo's error shape; writes read back through the native API and vice versa.</summary>
/// <remarks>The document's examples are templates, not JSON: the golden files replace each unquoted placeholder with a
/// value of the type the parameter table gives ({RESULT_COUNT} and the counts: integers; {MEMBERS_LIST}: the map the
/// text describes; {SESSION1}: left empty, the document does not describe a session; {RECIP_1_ROLES}: a list), drop
/// the trailing comma after "id" in the queue information example, and quote {QUEUE_ROUTER}.</remarks>
public partial class KazooTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private const string Vendor = "kazoo";
    private TenantSession T => fx.Tenant;

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex KazooId();

    private static string Id(long id) => id.ToString("x32", CultureInfo.InvariantCulture);

    private string Account => $"/v2/accounts/{Id(T.Id)}";

    /// <summary>The tenant admin's token sent as Kazoo sends it.</summary>
    private HttpClient Kazoo()
    {
        var client = fx.Anonymous();
        client.DefaultRequestHeaders.Add("X-Auth-Token", T.Admin.DefaultRequestHeaders.Authorization!.Parameter);
        return client;
    }

    private static void Envelope(JsonElement body)
    {
        Assert.Equal("success", body.Str("status"));
        Assert.False(string.IsNullOrEmpty(body.Str("request_id")));
        Assert.StartsWith("la_", body.Str("auth_token"), StringComparison.Ordinal);
    }

    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string? field = null)
    {
        var body = await response.JsonAsync(status);
        Assert.Equal("error", body.Str("status"));
        Assert.Equal(((int)status).ToString(CultureInfo.InvariantCulture), body.Str("error"));
        Assert.False(string.IsNullOrEmpty(body.Str("message")));
        if (field != null) Assert.True(body.GetProperty("data").TryGetProperty(field, out _), $"data should name {field}: {body}");
        return body;
    }

    private async Task<(string Id, long Native)> CreateAsync(HttpClient k, string? name = null)
    {
        var created = await (await k.PutAsJsonAsync($"{Account}/qubicle_queues", new { data = new { name = name ?? ApiFixture.Unique("kq-") } }))
            .JsonAsync(HttpStatusCode.Created);
        var id = created.GetProperty("data").Str("id")!;
        return (id, long.Parse(id, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
    }

    /// <summary>The seed's queue examples each show some of its parameter table's fields; Lineup answers a queue with
    /// all of them (docs/dialects/kazoo.md, "queue fields"), so each of those may appear beyond an example.</summary>
    private static readonly ShapeRules QueueFields = new()
    {
        Extras = ["name", "queue_type", "queue_router", "timeout", "queue_timeout", "ring_timeout", "agent_connect_timeout",
            "agent_wrapup_time", "force_away_on_reject", "hold_treatment", "tick_time", "timeout_if_size_exceeds",
            "timeout_immediately_if_empty", "timeout_redirect", "members", "id"],
    };

    [Fact]
    public async Task Create_list_get_and_patch_answer_as_the_document_shows()
    {
        var k = Kazoo();
        var created = await (await k.PutAsJsonAsync($"{Account}/qubicle_queues", new { data = new { name = "sales" } })).JsonAsync(HttpStatusCode.Created);
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "create.json"), created, QueueFields);
        Envelope(created);
        var d = created.GetProperty("data");
        Assert.Equal("sales", d.Str("name"));
        Assert.Equal(15, d.Int("agent_connect_timeout"));
        Assert.Equal(2, d.Int("agent_wrapup_time"));
        Assert.Equal("route_round_robin", d.Str("queue_router"));
        Assert.Equal(3600, d.Int("queue_timeout"));
        Assert.Equal("queue_basic", d.Str("queue_type"));
        Assert.Equal(1000, d.Int("tick_time"));
        Assert.Matches(KazooId(), d.Str("id")!);
        var id = d.Str("id")!;

        var list = await k.OkAsync($"{Account}/qubicle_queues");
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "list.json"), list);
        Assert.Equal(list.GetProperty("data").GetArrayLength(), list.Int("page_size"));
        Assert.Contains(list.GetProperty("data").EnumerateArray(), q => q.Str("id") == id && q.Str("name") == "sales");

        // The document's queue has members: so does this one, for their shape to be compared.
        var member = await T.AgentAsync();
        await (await k.PostAsJsonAsync($"{Account}/qubicle_queues/{id}/recipients", new { data = new { action = "add", members = new[] { Id(member) } } }))
            .JsonAsync(HttpStatusCode.OK);
        var get = await k.OkAsync($"{Account}/qubicle_queues/{id}");
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "get.json"), get, QueueFields);
        Assert.Equal([Id(member)], get.GetProperty("data").GetProperty("members").EnumerateObject().Select(p => p.Name));

        // The seed's PATCH sends the number as a string, on the path spelled /qubicle/queues/.
        var patched = await (await k.SendRawAsync(HttpMethod.Patch, $"{Account}/qubicle/queues/{id}", """{"data":{"queue_timeout":"2000"}}""")).JsonAsync(HttpStatusCode.OK);
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "patch.json"), patched, QueueFields);
        Assert.Equal(2000, patched.GetProperty("data").Int("queue_timeout"));
        var patched2 = await (await k.SendRawAsync(HttpMethod.Patch, $"{Account}/qubicle_queues/{id}", """{"data":{"hold_treatment":"media-1","tick_time":500}}""")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(500, patched2.GetProperty("data").Int("tick_time"));

        var native = await T.Admin.OkAsync($"/api/v1/queues/{long.Parse(id, NumberStyles.HexNumber, CultureInfo.InvariantCulture)}");
        Assert.Equal("sales", native.Str("name"));
        Assert.Equal("round_robin", native.Str("strategy"));
        Assert.Equal(2000, native.Int("max_wait"));
        Assert.Equal(15, native.Int("ring_timeout"));
        Assert.Equal(2, native.Int("wrap_up_time"));

        // A native change reads back through Kazoo, and Kazoo's stored settings survive it.
        await T.Admin.PatchOkAsync($"/api/v1/queues/{native.Id()}", new { name = "sales-2", ring_timeout = 25 });
        get = await k.OkAsync($"{Account}/qubicle_queues/{id}");
        Assert.Equal("sales-2", get.GetProperty("data").Str("name"));
        Assert.Equal(25, get.GetProperty("data").Int("agent_connect_timeout"));
        Assert.Equal("media-1", get.GetProperty("data").Str("hold_treatment"));
        Assert.Equal(500, get.GetProperty("data").Int("tick_time"));
    }

    [Fact]
    public async Task Recipients_add_remove_set_and_clear()
    {
        var k = Kazoo();
        var (id, native) = await CreateAsync(k);
        var a1 = await T.AgentAsync();
        var a2 = await T.AgentAsync();
        var a3 = await T.AgentAsync();
        var add = await (await k.PostAsJsonAsync($"{Account}/qubicle_queues/{id}/recipients", new { data = new { action = "add", members = new[] { Id(a1), Id(a2) } } }))
            .JsonAsync(HttpStatusCode.OK);
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "set_members.json"), add, QueueFields);
        Assert.Equal([Id(a1), Id(a2)], add.GetProperty("data").GetProperty("members").EnumerateObject().Select(p => p.Name));
        Assert.All(add.GetProperty("data").GetProperty("members").EnumerateObject(), p => Assert.Equal("", p.Value.GetString()));
        Assert.Equal([a1, a2], (await T.Admin.OkAsync($"/api/v1/queues/{native}/members")).Ids("agent_id"));

        var recipients = await k.OkAsync($"{Account}/qubicle_queues/{id}/recipients");
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "recipients.json"), recipients);
        Assert.Equal([Id(a1), Id(a2)], recipients.GetProperty("data").EnumerateArray().Select(r => r.Str("id")));

        var removed = await (await k.PostAsJsonAsync($"{Account}/qubicle_queues/{id}/recipients", new { data = new { action = "remove", members = new[] { Id(a1) } } }))
            .JsonAsync(HttpStatusCode.OK);
        Assert.Equal([Id(a2)], removed.GetProperty("data").GetProperty("members").EnumerateObject().Select(p => p.Name));
        var set = await (await k.PostAsJsonAsync($"{Account}/qubicle_queues/{id}/recipients", new { data = new { action = "set", members = new[] { Id(a3), Id(a1) } } }))
            .JsonAsync(HttpStatusCode.OK);
        Assert.Equal([Id(a1), Id(a3)], set.GetProperty("data").GetProperty("members").EnumerateObject().Select(p => p.Name));

        // A native member shows through Kazoo.
        await T.MemberAsync(native, a2);
        Assert.Equal(3, (await k.OkAsync($"{Account}/qubicle_queues/{id}/recipients")).GetProperty("data").GetArrayLength());

        var cleared = await (await k.DeleteAsync($"{Account}/qubicle_queues/{id}/recipients")).JsonAsync(HttpStatusCode.OK);
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "clear_members.json"), cleared, QueueFields);
        Assert.Empty(cleared.GetProperty("data").GetProperty("members").EnumerateObject());
        Assert.Empty((await T.Admin.OkAsync($"/api/v1/queues/{native}/members")).Items());
    }

    [Fact]
    public async Task Status_daily_statistics_and_sessions_follow_real_calls()
    {
        var k = Kazoo();
        var (id, native) = await CreateAsync(k);
        var (other, _) = await CreateAsync(k);
        var agent = await T.AgentAsync();
        await (await k.PostAsJsonAsync($"{Account}/qubicle_queues/{id}/recipients", new { data = new { action = "add", members = new[] { Id(agent) } } })).JsonAsync(HttpStatusCode.OK);
        await T.Admin.PostAsync($"/api/v1/agents/{agent}/login", null);

        var answered = await T.CallAsync(native, "+100", "First");
        await T.EventAsync(answered.Id(), "agent_answered", agent);
        var waiting = await T.CallAsync(native, "+200", "Second");
        var abandoned = await T.CallAsync(native, "+300");
        await T.EventAsync(abandoned.Id(), "caller_hangup");

        var status = await k.OkAsync($"{Account}/qubicle_queues/{id}/status");
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "status.json"), status);
        var nativeStatus = await T.Admin.OkAsync($"/api/v1/queues/{native}/status");
        var nativeStats = (await T.Admin.OkAsync($"/api/v1/queues/{native}/stats")).GetProperty("stats");
        var d = status.GetProperty("data");
        var s = d.GetProperty("stats");
        Assert.Equal(nativeStatus.Int("logged_in_agents"), d.Int("active_recipient_count"));
        Assert.Equal(0, d.Int("available_recipient_count"));
        Assert.Equal(1, s.Int("recipient_count"));
        Assert.Equal(2, s.Int("active_session_count"));
        Assert.Equal(nativeStats.Int("offered"), s.Int("total_sessions"));
        Assert.Equal(3, s.Int("total_sessions"));
        Assert.Equal(1, s.Int("abandoned_sessions"));
        Assert.Equal(nativeStats.Int("timed_out"), s.Int("missed_sessions"));

        var sessions = await k.OkAsync($"{Account}/qubicle_queues/{id}/sessions");
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "sessions.json"), sessions);
        var list = Assert.Single(sessions.GetProperty("data").EnumerateArray());
        Assert.Equal(id, list.Str("queue_id"));
        var items = list.GetProperty("session_list").EnumerateArray().ToList();
        Assert.Equal([Id(answered.Id()), Id(waiting.Id())], items.Select(x => x.Str("session_id")));
        var nativeCall = await T.Admin.OkAsync($"/api/v1/calls/{waiting.Id()}");
        Assert.InRange(items[1].Double("wait_time"), nativeCall.Double("wait_seconds") - 1, nativeCall.Double("wait_seconds") + 1);
        Assert.Equal(Id(agent), items[0].Str("recipient_id"));

        var multi = await (await k.SendRawAsync(HttpMethod.Get, $"{Account}/qubicle_queues/status", $$$"""{"data":{"queue_ids":["{{{id}}}","{{{other}}}"]}}"""))
            .JsonAsync(HttpStatusCode.OK);
        GoldenShapes.AssertShape(GoldenShapes.Load(Vendor, "status_list.json"), multi);
        Assert.Equal([id, other], multi.GetProperty("data").EnumerateObject().Select(p => p.Name));
        Assert.Equal(3, multi.GetProperty("data").GetProperty(id).GetProperty("stats").Int("total_sessions"));
        var byQuery = await k.OkAsync($"{Account}/qubicle_queues/status?queue_ids={other}");
        Assert.Equal([other], byQuery.GetProperty("data").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Bad_input_gets_Kazoo_validation_errors_naming_the_field()
    {
        var k = Kazoo();
        var (id, native) = await CreateAsync(k);
        var before = await T.Admin.SnapshotAsync($"/api/v1/queues/{native}");
        async Task Bad(string body, string field, string path = "")
        {
            var response = await k.SendRawAsync(HttpMethod.Patch, $"{Account}/qubicle_queues/{id}{path}", body);
            var error = await ErrorAsync(response, HttpStatusCode.BadRequest, field);
            Assert.Equal("invalid data", error.Str("message"));
        }
        await Bad("""{"data":{"ring_timeout":0}}""", "ring_timeout");
        await Bad("""{"data":{"timeout":5}}""", "timeout");
        await Bad("""{"data":{"tick_time":100}}""", "tick_time");
        await Bad("""{"data":{"agent_wrapup_time":"soon"}}""", "agent_wrapup_time");
        await Bad("""{"data":{"force_away_on_reject":"yes"}}""", "force_away_on_reject");
        await Bad("""{"data":{"queue_router":"route_random"}}""", "queue_router");
        await Bad("""{"data":{"queue_type":"queue_fancy"}}""", "queue_type");
        await Bad("""{"data":{"name":""}}""", "name");
        await Bad("""{"data":{"timeout_redirect":"00000000000000000000000000000001"}}""", "timeout_redirect");
        await Bad($$$"""{"data":{"timeout_redirect":"{{{id}}}"}}""", "timeout_redirect");
        await Bad("""{"data":{"colour":"red"}}""", "colour");
        await Bad("""{"data":{"timeout":600,"queue_timeout":700}}""", "queue_timeout");
        await Bad("""{"name":"x"}""", "name");
        await Bad("""{"data":"x"}""", "data");
        await Bad("""{"data":{""", "body");
        Assert.Equal(before, await T.Admin.SnapshotAsync($"/api/v1/queues/{native}"));

        await ErrorAsync(await k.PutAsJsonAsync($"{Account}/qubicle_queues", new { data = new { } }), HttpStatusCode.BadRequest, "name");
        var agent = await T.AgentAsync();
        await ErrorAsync(await k.PostAsJsonAsync($"{Account}/qubicle_queues/{id}/recipients", new { data = new { action = "swap", members = new[] { Id(agent) } } }), HttpStatusCode.BadRequest, "action");
        await ErrorAsync(await k.PostAsJsonAsync($"{Account}/qubicle_queues/{id}/recipients", new { data = new { action = "add", members = new[] { "nope" } } }), HttpStatusCode.BadRequest, "members");
        await ErrorAsync(await k.PostAsJsonAsync($"{Account}/qubicle_queues/{id}/recipients", new { data = new { action = "add", members = Id(agent) } }), HttpStatusCode.BadRequest, "members");
        await ErrorAsync(await k.SendRawAsync(HttpMethod.Get, $"{Account}/qubicle_queues/status", """{"data":{"queue_ids":"x"}}"""), HttpStatusCode.BadRequest, "queue_ids");
        await ErrorAsync(await k.GetAsync($"{Account}/qubicle_queues/status?queue_ids=00000000000000000000000000000001"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Unknown_and_foreign_ids_and_accounts_get_Kazoo_errors()
    {
        var k = Kazoo();
        var (id, _) = await CreateAsync(k);
        var other = await fx.CreateTenantAsync();
        var foreignQueue = await other.QueueAsync();
        var foreignAgent = await other.AgentAsync();
        var unknown = "00000000000000000000000000ffffff";
        foreach (var path in new[] { "", "/status", "/sessions", "/recipients" })
        {
            await ErrorAsync(await k.GetAsync($"{Account}/qubicle_queues/{unknown}{path}"), HttpStatusCode.NotFound);
            await ErrorAsync(await k.GetAsync($"{Account}/qubicle_queues/{Id(foreignQueue)}{path}"), HttpStatusCode.NotFound);
            await ErrorAsync(await k.GetAsync($"{Account}/qubicle_queues/not-an-id{path}"), HttpStatusCode.NotFound);
            // Another tenant's account, and an account id not in Kazoo's format.
            await ErrorAsync(await k.GetAsync($"/v2/accounts/{Id(other.Id)}/qubicle_queues/{id}{path}"), HttpStatusCode.Forbidden);
            await ErrorAsync(await k.GetAsync($"/v2/accounts/{other.Id}/qubicle_queues/{id}{path}"), HttpStatusCode.NotFound);
        }
        await ErrorAsync(await k.PatchAsJsonAsync($"{Account}/qubicle_queues/{Id(foreignQueue)}", new { data = new { name = "x" } }), HttpStatusCode.NotFound);
        await ErrorAsync(await k.DeleteAsync($"{Account}/qubicle_queues/{Id(foreignQueue)}/recipients"), HttpStatusCode.NotFound);
        await ErrorAsync(await k.PostAsJsonAsync($"{Account}/qubicle_queues/{id}/recipients", new { data = new { action = "add", members = new[] { Id(foreignAgent) } } }), HttpStatusCode.BadRequest, "members");
        await ErrorAsync(await k.PutAsJsonAsync($"/v2/accounts/{Id(other.Id)}/qubicle_queues", new { data = new { name = "x" } }), HttpStatusCode.Forbidden);

        // The system administrator may use any account.
        var root = fx.Anonymous();
        root.DefaultRequestHeaders.Add("X-Auth-Token", fx.SystemAdmin.DefaultRequestHeaders.Authorization!.Parameter);
        var theirs = await root.OkAsync($"/v2/accounts/{Id(other.Id)}/qubicle_queues/{Id(foreignQueue)}");
        Assert.Equal(Id(foreignQueue), theirs.GetProperty("data").Str("id"));
        await ErrorAsync(await root.GetAsync($"/v2/accounts/{Id(999_999)}/qubicle_queues"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Missing_or_bad_credentials_get_Kazoo_401()
    {
        var path = $"{Account}/qubicle_queues";
        var body = await ErrorAsync(await fx.Anonymous().GetAsync(path), HttpStatusCode.Unauthorized);
        Assert.Equal("invalid_credentials", body.Str("message"));
        var bad = fx.Anonymous();
        bad.DefaultRequestHeaders.Add("X-Auth-Token", "la_wrong");
        await ErrorAsync(await bad.GetAsync(path), HttpStatusCode.Unauthorized);
        var agentUser = await T.AgentUserAsync(await T.AgentAsync());
        var agentKazoo = fx.Anonymous();
        agentKazoo.DefaultRequestHeaders.Add("X-Auth-Token", agentUser.DefaultRequestHeaders.Authorization!.Parameter);
        await ErrorAsync(await agentKazoo.GetAsync(path), HttpStatusCode.Forbidden);
    }
}
