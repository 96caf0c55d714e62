using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Lineup.Server.Api.Dialects;

namespace Lineup.Server.Tests.Dialects;

/// <summary>
/// Issue 5's cross-dialect consistency: the four vendor dialects and the native API are views of one engine, so what
/// one of them writes reads with the same meaning through all the others. Ids are converted here from each dialect's
/// documentation (docs/dialects/*.md), not with the dialects' own helpers, so that a change in a mapping shows.
/// </summary>
public sealed class CrossDialectTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private const string Telphin = "/api/ver1.0";
    private TenantSession T => fx.Tenant;

    /// <summary>Native, PortSIP and Telphin all take the native token as <c>Authorization: Bearer</c>.</summary>
    private HttpClient Admin => T.Admin;

    private string Token => T.Admin.DefaultRequestHeaders.Authorization!.Parameter!;

    /// <summary>FonoUC: bearer token plus the tenant in X-Account-ID.</summary>
    private HttpClient Fono() => fx.WithBearer(Token, T.Id);

    /// <summary>Kazoo: the token in X-Auth-Token.</summary>
    private HttpClient Kazoo()
    {
        var client = fx.Anonymous();
        client.DefaultRequestHeaders.Add("X-Auth-Token", Token);
        return client;
    }

    private string Account => $"/v2/accounts/{Hex(T.Id)}";

    // ---- ids as each dialect's document defines them

    /// <summary>Kazoo ids and FonoUC user ids: 32 lowercase hex digits.</summary>
    private static string Hex(long id) => id.ToString("x32", CultureInfo.InvariantCulture);

    /// <summary>FonoUC queue id: 00000001-0000-0000-XXXX-XXXXXXXXXXXX, the last 16 hex digits being the id.</summary>
    private static string FonoQueue(long id) => "00000001-0000-0000-" + id.ToString("x16", CultureInfo.InvariantCulture).Insert(4, "-");

    private static long FromFonoQueue(string id) => long.Parse(id[^17..].Replace("-", "", StringComparison.Ordinal), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>PortSIP id: base64 of the id's decimal digits.</summary>
    private static string PortSip(long id) => Convert.ToBase64String(Encoding.ASCII.GetBytes(id.ToString(CultureInfo.InvariantCulture)));

    private static long FromPortSip(string id) => long.Parse(Encoding.ASCII.GetString(Convert.FromBase64String(id)), CultureInfo.InvariantCulture);

    private static async Task<JsonElement> TelphinAsync(HttpClient client, HttpMethod method, string path, object? body, HttpStatusCode expected) =>
        await (body == null ? await client.SendAsync(new HttpRequestMessage(method, Telphin + path)) : await client.SendJsonAsync(method, Telphin + path, body)).JsonAsync(expected);

    // ---- 1. a queue created through each dialect, read through every other and natively

    /// <summary>What a queue means, with each vendor's spelling of its strategy. A null ring timeout: the creating
    /// dialect cannot set it (Telphin), so every view must agree with the native value.</summary>
    private sealed record Meaning(string Name, string Native, bool Skills, string FonoUc, string PortSip, string Kazoo, string Telphin, int MaxWait, int? RingTimeout);

    private static int UnitSeconds(string? unit) => unit switch
    {
        "seconds" => 1,
        "minutes" => 60,
        "hours" => 3600,
        _ => throw new Xunit.Sdk.XunitException($"unknown max_time_caller_remains_unit '{unit}'"),
    };

    private async Task SeenAlikeEverywhere(long id, Meaning m)
    {
        var native = await Admin.OkAsync($"/api/v1/queues/{id}");
        Assert.Equal((m.Name, m.Native, m.Skills, m.MaxWait), (native.Str("name"), native.Str("strategy"), native.GetProperty("skills_routing").GetBoolean(), native.Int("max_wait")));
        var ring = native.Int("ring_timeout");
        if (m.RingTimeout is { } expectedRing) Assert.Equal(expectedRing, ring);
        var extension = native.GetProperty("extension").ValueKind == JsonValueKind.String ? native.Str("extension") : null;
        // Set by the creating dialect's defaults: every view must agree with the native value.
        var leaveWhenEmpty = native.GetProperty("leave_when_no_agents").GetBoolean();
        var wrapUp = native.Int("wrap_up_time");

        // FonoUC: the queue document and the live status.
        var fono = Fono();
        var doc = (await fono.OkAsync("/api/v2/config/queues")).EnumerateArray().Single(q => q.Str("id") == FonoQueue(id));
        Assert.Equal((m.Name, m.FonoUc, m.Skills, ring), (doc.Str("name"), doc.Str("strategy"), doc.GetProperty("skills_routing").GetBoolean(), doc.Int("timeout")));
        Assert.Equal(m.MaxWait, doc.Int("max_time_caller_remains") * UnitSeconds(doc.Str("max_time_caller_remains_unit")));
        Assert.Equal((leaveWhenEmpty, wrapUp), (doc.GetProperty("call_only_if_registered_agents").GetBoolean(), doc.Int("wrap_up_time")));
        var extensions = doc.GetProperty("extensions").EnumerateArray().ToList();
        if (extension == null) Assert.Empty(extensions);
        else Assert.Equal(extension, extensions[0].Str("extension"));
        var fonoStatus = await fono.OkAsync($"/api/v2/callcenter/queues/status?queueID={FonoQueue(id)}");
        Assert.Equal((m.Name, m.FonoUc), (fonoStatus.Str("name"), fonoStatus.Str("strategy")));

        // PortSIP.
        var ps = await Admin.OkAsync($"/api/call_queues/{PortSip(id)}");
        Assert.Equal((m.Name, m.PortSip, ring, m.MaxWait), (ps.Str("name"), ps.Str("polling_strategy"), ps.Int("ring_time"), ps.Int("max_waiting_time")));
        Assert.Equal(extension, ps.GetProperty("extension_number").ValueKind == JsonValueKind.Null ? null : ps.Str("extension_number"));
        Assert.Equal(!leaveWhenEmpty, ps.GetProperty("wait_when_no_agents_online").GetBoolean());
        Assert.Contains((await Admin.OkAsync("/api/call_queues?top=100")).Items(), q => q.Str("id") == PortSip(id) && q.Str("name") == m.Name);

        // Kazoo: both names the seed gives each setting.
        var kazoo = Kazoo();
        var k = (await kazoo.OkAsync($"{Account}/qubicle_queues/{Hex(id)}")).GetProperty("data");
        Assert.Equal((Hex(id), m.Name, m.Kazoo), (k.Str("id"), k.Str("name"), k.Str("queue_router")));
        Assert.Equal((ring, ring), (k.Int("ring_timeout"), k.Int("agent_connect_timeout")));
        Assert.Equal((m.MaxWait, m.MaxWait), (k.Int("timeout"), k.Int("queue_timeout")));
        Assert.Equal((leaveWhenEmpty, wrapUp), (k.GetProperty("timeout_immediately_if_empty").GetBoolean(), k.Int("agent_wrapup_time")));
        Assert.Contains((await kazoo.OkAsync($"{Account}/qubicle_queues")).GetProperty("data").EnumerateArray(), q => q.Str("id") == Hex(id) && q.Str("name") == m.Name);

        // Telphin: its queue parameters (Telphin keeps the ring timeout on the agent, not the queue).
        var t = await TelphinAsync(Admin, HttpMethod.Get, $"/extension/{id}/queue/", null, HttpStatusCode.OK);
        Assert.Equal((m.Telphin, m.MaxWait), (t.Str("strategy"), t.Int("max_wait_time")));
        Assert.Equal(leaveWhenEmpty, t.GetProperty("exit_with_no_av_agents").GetBoolean());
    }

    [Fact]
    public void Every_dialect_class_is_listed_in_Dialect_All()
    {
        var classes = typeof(Dialect).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(Dialect)) && !t.IsAbstract).ToHashSet();
        Assert.Equal(classes, Dialect.All.Select(d => d.GetType()).ToHashSet());
        Assert.Equal(Dialect.All.Count, Dialect.All.Select(d => d.Name).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task A_queue_created_through_FonoUC_means_the_same_everywhere()
    {
        var name = ApiFixture.Unique("fono-q-");
        var created = await (await Fono().PostAsJsonAsync("/api/v2/config/queues", new
        {
            name,
            strategy = "simultaneous",
            timeout = 17,
            max_time_caller_remains = 7,
            max_time_caller_remains_unit = "minutes",
            extensions = new[] { new { extension = ApiFixture.Number() } },
        })).JsonAsync(HttpStatusCode.Created);
        await SeenAlikeEverywhere(FromFonoQueue(created.Str("id")!),
            new Meaning(name, "ring_all", false, "simultaneous", "RING_SIMULTANEOUSLY", "ring_all", "ring-all", MaxWait: 7 * 60, RingTimeout: 17));
    }

    [Fact]
    public async Task A_queue_created_through_PortSIP_means_the_same_everywhere()
    {
        var name = ApiFixture.Unique("portsip-q-");
        var created = await (await Admin.PostAsJsonAsync("/api/call_queues", new
        {
            name,
            extension_number = ApiFixture.Number(),
            polling_strategy = "SKILL_BASED_ROUTING_CYCLIC_HUNT",
            ring_time = 19,
            max_waiting_time = 610,
        })).JsonAsync(HttpStatusCode.OK);
        // Vendors without a name for the strategy read Lineup's (docs/dialects/fonouc.md, kazoo.md, telphin.md).
        await SeenAlikeEverywhere(FromPortSip(created.Str("id")!),
            new Meaning(name, "least_recently_offered", true, "least_recently_offered", "SKILL_BASED_ROUTING_CYCLIC_HUNT", "least_recently_offered", "least_recently_offered",
                MaxWait: 610, RingTimeout: 19));
    }

    [Fact]
    public async Task A_queue_created_through_Kazoo_means_the_same_everywhere()
    {
        var name = ApiFixture.Unique("kazoo-q-");
        var created = await (await Kazoo().PutAsJsonAsync($"{Account}/qubicle_queues", new
        {
            data = new { name, queue_router = "route_round_robin", ring_timeout = 23, queue_timeout = 930 },
        })).JsonAsync(HttpStatusCode.Created);
        var id = long.Parse(created.GetProperty("data").Str("id")!, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        // PortSIP has no round robin: it reads as the nearest hunt, PRIORITIZED_HUNT (docs/dialects/portsip.md).
        await SeenAlikeEverywhere(id, new Meaning(name, "round_robin", false, "round_robin", "PRIORITIZED_HUNT", "route_round_robin", "round-robin", MaxWait: 930, RingTimeout: 23));
    }

    [Fact]
    public async Task A_queue_created_through_Telphin_means_the_same_everywhere()
    {
        var label = ApiFixture.Unique("telphin-q-");
        var ext = await TelphinAsync(Admin, HttpMethod.Post, "/client/@me/extension/", new { name = ApiFixture.Number()[2..], label, type = "queue" }, HttpStatusCode.Created);
        var id = ext.Id();
        await TelphinAsync(Admin, HttpMethod.Put, $"/extension/{id}/queue/", new { strategy = "longest-idle-agent", max_wait_time = 1250 }, HttpStatusCode.OK);
        Assert.Equal(ext.Str("name"), (await Admin.OkAsync($"/api/v1/queues/{id}")).Str("extension"));
        // Telphin's label is the queue's name; longest idle has no PortSIP name and reads as CYCLIC_HUNT.
        await SeenAlikeEverywhere(id, new Meaning(label, "longest_idle", false, "longest_idle", "CYCLIC_HUNT", "longest_idle", "longest-idle-agent", MaxWait: 1250, RingTimeout: null));
    }

    // ---- 2. agent states set through PortSIP

    [Fact]
    public async Task Agent_states_set_through_PortSIP_read_alike_in_Telphin_FonoUC_Kazoo_and_natively()
    {
        // A queue that does not make agents ready on login, so that READY is a change of its own.
        var q = await (await Admin.PostAsJsonAsync("/api/call_queues", new
        {
            name = ApiFixture.Unique("states-"),
            extension_number = ApiFixture.Number(),
            polling_strategy = "RING_SIMULTANEOUSLY",
            agent_auto_ready = false,
        })).JsonAsync(HttpStatusCode.OK);
        var ps = q.Str("id")!;
        var qid = FromPortSip(ps);
        var number = ApiFixture.Number();
        var agent = (await TelphinAsync(Admin, HttpMethod.Post, "/client/@me/agent/local/", new { extension_id = long.Parse(number, CultureInfo.InvariantCulture), name = "Ana", status = "logged_out" },
            HttpStatusCode.Created)).Id();
        Assert.Equal(HttpStatusCode.OK, (await Admin.PostAsJsonAsync($"/api/call_queues/{ps}/agents", new { items = new[] { new { extension_number = number } } })).StatusCode);

        async Task Expect(string portsip, string native, string telphin, bool fonoLoggedIn, string fonoStatus, int kazooActive, int kazooAvailable)
        {
            var because = $"after PortSIP {portsip}";
            Assert.Equal(portsip, (await Admin.OkAsync($"/api/call_queues/{ps}/agents/{number}")).Str("status"));
            var n = await Admin.OkAsync($"/api/v1/agents/{agent}/status");
            Assert.True(native == n.Str("status"), $"{because}: native {n}");
            Assert.Equal(fonoLoggedIn, n.GetProperty("logged_in_queues").EnumerateArray().Select(x => x.GetInt64()).Contains(qid));
            var t = await TelphinAsync(Admin, HttpMethod.Get, $"/client/@me/agent/local/{agent}", null, HttpStatusCode.OK);
            Assert.True(telphin == t.Str("status"), $"{because}: Telphin {t}");
            var f = await Fono().OkAsync($"/api/v2/callcenter/queues/status?queueID={FonoQueue(qid)}");
            var fa = f.GetProperty("agents").EnumerateArray().Single(a => a.Str("id") == Hex(agent));
            Assert.True((fonoLoggedIn, fonoStatus) == (fa.GetProperty("logged_in").GetBoolean(), fa.Str("status")), $"{because}: FonoUC {fa}");
            Assert.Equal(fonoLoggedIn ? 1 : 0, f.Int("logged_in_agents"));
            var k = (await Kazoo().OkAsync($"{Account}/qubicle_queues/{Hex(qid)}/status")).GetProperty("data");
            Assert.True((kazooActive, kazooAvailable) == (k.Int("active_recipient_count"), k.Int("available_recipient_count")), $"{because}: Kazoo {k}");
        }

        async Task Set(string status) =>
            Assert.Equal(HttpStatusCode.OK, (await Admin.PostAsJsonAsync($"/api/call_queues/{ps}/agents/{number}", new { status })).StatusCode);

        await Expect("LOGGED_OUT", "logged_out", "logged_out", false, "logged_out", 0, 0);
        await Set("LOGGED_IN");
        await Expect("NOT_READY", "not_ready", "available", true, "not_ready", 1, 0);
        await Set("READY");
        await Expect("READY", "ready", "available", true, "idle", 1, 1);
        await Set("NOT_READY");
        await Expect("NOT_READY", "not_ready", "available", true, "not_ready", 1, 0);
        await Set("READY");
        await Expect("READY", "ready", "available", true, "idle", 1, 1);
        await Set("LOGGED_OUT");
        await Expect("LOGGED_OUT", "logged_out", "logged_out", false, "logged_out", 0, 0);
    }

    // ---- 3. a native call seen by every dialect

    [Fact]
    public async Task A_waiting_native_call_shows_everywhere_with_the_same_caller_and_wait_time()
    {
        var q = await T.QueueAsync("ring_all");
        var queueName = (await Admin.OkAsync($"/api/v1/queues/{q}")).Str("name");
        // One agent logged in but not ready: the call waits and nobody is offered it.
        var agent = await T.AgentAsync();
        await T.MemberAsync(q, agent);
        await (await Admin.PostAsync($"/api/v1/agents/{agent}/login", null)).JsonAsync(HttpStatusCode.OK);
        await (await Admin.PutAsJsonAsync($"/api/v1/agents/{agent}/status", new { status = "not_ready" })).JsonAsync(HttpStatusCode.OK);
        var caller = "+1415" + ApiFixture.Number();
        var call = await T.CallAsync(q, caller, "Grace Caller");
        Assert.Equal("waiting", call.Str("state"));
        Assert.Empty(call.GetProperty("offers").EnumerateArray());

        var kazoo = Kazoo();
        var fono = Fono();
        // Each read once first, so that the timed reads below are not slowed by a first request's start-up.
        await kazoo.OkAsync($"{Account}/qubicle_queues/{Hex(q)}/sessions");
        await Admin.OkAsync($"/api/call_queues/{PortSip(q)}/waiting");
        await TelphinAsync(Admin, HttpMethod.Get, $"/extension/{q}/queue/status/members/", null, HttpStatusCode.OK);
        await fono.OkAsync("/api/v2/callcenter/queues/calls");
        await fono.OkAsync($"/api/v2/callcenter/queues/status?queueID={FonoQueue(q)}");

        // Long enough for a whole-second wait time to be at least 2 everywhere.
        await Task.Delay(TimeSpan.FromSeconds(2.2));

        // Read back to back, bracketed by two native reads.
        var before = (await Admin.OkAsync($"/api/v1/calls/{call.Id()}")).Double("wait_seconds");
        var sessions = (await kazoo.OkAsync($"{Account}/qubicle_queues/{Hex(q)}/sessions")).GetProperty("data");
        var waiting = await Admin.OkAsync($"/api/call_queues/{PortSip(q)}/waiting");
        var members = await TelphinAsync(Admin, HttpMethod.Get, $"/extension/{q}/queue/status/members/", null, HttpStatusCode.OK);
        var fonoCalls = await fono.OkAsync("/api/v2/callcenter/queues/calls");
        var fonoStatus = await fono.OkAsync($"/api/v2/callcenter/queues/status?queueID={FonoQueue(q)}");
        var after = (await Admin.OkAsync($"/api/v1/calls/{call.Id()}")).Double("wait_seconds");

        var session = Assert.Single(Assert.Single(sessions.EnumerateArray()).GetProperty("session_list").EnumerateArray());
        Assert.Equal((Hex(call.Id()), caller, "waiting"), (session.Str("session_id"), session.Str("caller_id_number"), session.Str("state")));
        Assert.True(session.IsNull("recipient_id"));

        var portsip = Assert.Single(waiting.Items());
        Assert.Equal((PortSip(call.Id()), caller, "Grace Caller"), (portsip.Str("session_id"), portsip.Str("extension_number"), portsip.Str("display_name")));

        var telphin = Assert.Single(members.EnumerateArray());
        Assert.Equal((call.Id().ToString(CultureInfo.InvariantCulture), caller, "waiting"), (telphin.Str("call_api_id"), telphin.Str("number"), telphin.Str("state")));
        Assert.True(telphin.IsNull("serving_agent"));
        var telphinStatus = await TelphinAsync(Admin, HttpMethod.Get, $"/extension/{q}/queue/status/", null, HttpStatusCode.OK);
        Assert.Equal((1, 0, 0), (telphinStatus.Int("waiting_members"), telphinStatus.Int("trying_members"), telphinStatus.Int("answered_members")));

        var fonoCall = Assert.Single(fonoCalls.EnumerateArray(), c => c.GetProperty("caller").Str("number") == caller);
        Assert.Equal((queueName, "Grace Caller", false), (fonoCall.Str("name"), fonoCall.GetProperty("caller").Str("name"), fonoCall.GetProperty("answered").GetBoolean()));
        Assert.Equal(JsonValueKind.Null, fonoCall.GetProperty("agent").ValueKind);

        // Each dialect's wait (whole seconds, Kazoo's as the native number) lies between the native reads around them:
        // all agree with the native wait_seconds, and so within a second of one another.
        var waits = new (string Where, double Value)[]
        {
            ("Kazoo sessions wait_time", session.Double("wait_time")),
            ("PortSIP waiting_time", portsip.Int("waiting_time")),
            ("Telphin members wait_time", telphin.Int("wait_time")),
            ("FonoUC calls duration", fonoCall.Int("duration")),
            ("FonoUC calls caller.duration", fonoCall.GetProperty("caller").Int("duration")),
            ("FonoUC status max_time_caller_in_queue", fonoStatus.Int("max_time_caller_in_queue")),
        };
        Assert.True(before >= 2.2, $"native wait_seconds {before}");
        foreach (var (where, value) in waits)
            Assert.True(value >= Math.Floor(before) && value <= Math.Ceiling(after), $"{where} = {value}, native wait_seconds {before:F3} before and {after:F3} after");
        Assert.InRange(waits.Max(w => w.Value) - waits.Min(w => w.Value), 0, 1 + (after - before));

        await T.EventAsync(call.Id(), "caller_hangup");
        Assert.Empty((await Admin.OkAsync($"/api/call_queues/{PortSip(q)}/waiting")).Items());
        Assert.Empty((await TelphinAsync(Admin, HttpMethod.Get, $"/extension/{q}/queue/status/members/", null, HttpStatusCode.OK)).EnumerateArray());
        Assert.Empty(Assert.Single((await kazoo.OkAsync($"{Account}/qubicle_queues/{Hex(q)}/sessions")).GetProperty("data").EnumerateArray()).GetProperty("session_list").EnumerateArray());
    }

    // ---- 4. memberships set through Telphin

    [Fact]
    public async Task Memberships_set_through_Telphin_show_in_Kazoo_PortSIP_FonoUC_and_natively()
    {
        var q = (await TelphinAsync(Admin, HttpMethod.Post, "/client/@me/extension/", new { name = ApiFixture.Number()[2..], label = ApiFixture.Unique("tiers-"), type = "queue" },
            HttpStatusCode.Created)).Id();
        async Task<(long Id, string Number)> Local()
        {
            var number = ApiFixture.Number();
            var a = await TelphinAsync(Admin, HttpMethod.Post, "/client/@me/agent/local/", new { extension_id = long.Parse(number, CultureInfo.InvariantCulture), name = ApiFixture.Unique("op-") },
                HttpStatusCode.Created);
            return (a.Id(), number);
        }
        var a = await Local();
        var b = await Local();
        var remoteNumber = "8" + ApiFixture.Number();
        var r = (await TelphinAsync(Admin, HttpMethod.Post, "/client/@me/agent/remote/", new { number = remoteNumber }, HttpStatusCode.Created)).Id();

        await TelphinAsync(Admin, HttpMethod.Post, $"/extension/{q}/queue/agents/local/", new { agent_id = a.Id, level = 2, position = 5 }, HttpStatusCode.Created);
        await TelphinAsync(Admin, HttpMethod.Post, $"/extension/{q}/queue/agents/local/", new { agent_id = b.Id, level = 2, position = 3 }, HttpStatusCode.Created);
        await TelphinAsync(Admin, HttpMethod.Post, $"/extension/{q}/queue/agents/remote/", new { agent_id = r, level = 1, position = 9 }, HttpStatusCode.Created);

        // Hunt order is level, then position: r (1/9), b (2/3), a (2/5).
        await SameMembers(q, [(r, remoteNumber, 1, 9), (b.Id, b.Number, 2, 3), (a.Id, a.Number, 2, 5)]);

        // A Telphin change of level and position moves a to the front; removing b removes it everywhere.
        var changed = await TelphinAsync(Admin, HttpMethod.Put, $"/extension/{q}/queue/agents/local/{a.Id}", new { level = 1, position = 1 }, HttpStatusCode.OK);
        Assert.Equal((a.Id, 1, 1), (changed.Long("agent_id"), changed.Int("level"), changed.Int("position")));
        await SameMembers(q, [(a.Id, a.Number, 1, 1), (r, remoteNumber, 1, 9), (b.Id, b.Number, 2, 3)]);
        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"{Telphin}/extension/{q}/queue/agents/local/{b.Id}")).StatusCode);
        await SameMembers(q, [(a.Id, a.Number, 1, 1), (r, remoteNumber, 1, 9)]);
    }

    /// <summary>The queue's members, in hunt order, read through every API.</summary>
    private async Task SameMembers(long q, (long Agent, string Number, int Level, int Position)[] expected)
    {
        var native = (await Admin.OkAsync($"/api/v1/queues/{q}/members")).Items();
        Assert.Equal(expected.Select(e => (e.Agent, e.Level, e.Position)).Order(),
            native.Select(m => (m.Long("agent_id"), m.Int("level"), m.Int("position"))).Order());

        // Telphin reads back what it wrote.
        var telphin = (await TelphinAsync(Admin, HttpMethod.Get, $"/extension/{q}/queue/agents/local/", null, HttpStatusCode.OK)).EnumerateArray()
            .Concat((await TelphinAsync(Admin, HttpMethod.Get, $"/extension/{q}/queue/agents/remote/", null, HttpStatusCode.OK)).EnumerateArray());
        Assert.Equal(expected.Select(e => (e.Agent, e.Level, e.Position)).Order(), telphin.Select(m => (m.Long("agent_id"), m.Int("level"), m.Int("position"))).Order());

        // Kazoo has no order or level: the set of recipients, in its list and in the queue's members map.
        var kazoo = Kazoo();
        var ids = expected.Select(e => Hex(e.Agent)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(ids, (await kazoo.OkAsync($"{Account}/qubicle_queues/{Hex(q)}/recipients")).GetProperty("data").EnumerateArray().Select(x => x.Str("id")).Order(StringComparer.Ordinal));
        Assert.Equal(ids, (await kazoo.OkAsync($"{Account}/qubicle_queues/{Hex(q)}")).GetProperty("data").GetProperty("members").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(expected.Length, (await kazoo.OkAsync($"{Account}/qubicle_queues/{Hex(q)}/status")).GetProperty("data").GetProperty("stats").Int("recipient_count"));

        // PortSIP lists agents by extension number in hunt order; FonoUC's document lists them in order too.
        Assert.Equal(expected.Select(e => e.Number), (await Admin.OkAsync($"/api/call_queues/{PortSip(q)}/agents")).Items().Select(i => i.Str("extension_number")));
        var doc = (await Fono().OkAsync("/api/v2/config/queues")).EnumerateArray().Single(x => x.Str("id") == FonoQueue(q));
        Assert.Equal(expected.Select(e => Hex(e.Agent)), doc.GetProperty("agents").EnumerateArray().Select(x => x.Str("id")));
    }
}
