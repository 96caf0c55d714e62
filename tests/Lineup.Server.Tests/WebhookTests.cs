using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Lineup.Server.Events;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Lineup.Server.Tests;

/// <summary>
/// A server whose webhooks may reach 127.0.0.1 and retry within tenths of a second. Each test makes its own tenant
/// (events, subscriptions and the subscription limit are per tenant), acted on by the system administrator through
/// X-Account-ID.
/// </summary>
public class WebhookServer : IAsyncLifetime
{
    private string _token = "";

    public WebhookServer() : this([])
    {
    }

    protected WebhookServer(Dictionary<string, string?> more)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Webhooks:AllowedNetworks"] = "127.0.0.1",
            ["Webhooks:RetryBaseSeconds"] = "0.05",
            ["Webhooks:RetryCapSeconds"] = "0.2",
        };
        foreach (var (k, v) in more) settings[k] = v;
        Factory = new LineupFactory { Settings = settings };
    }

    public LineupFactory Factory { get; }

    public async Task InitializeAsync()
    {
        using var admin = await Factory.SignInAsync();
        _token = admin.DefaultRequestHeaders.Authorization!.Parameter!;
    }

    public Task DisposeAsync()
    {
        Factory.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>The system administrator, acting on <paramref name="tenantId"/> when given.</summary>
    public HttpClient Admin(long? tenantId = null)
    {
        var client = Factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        if (tenantId is { } t) client.DefaultRequestHeaders.Add("X-Account-ID", t.ToString(CultureInfo.InvariantCulture));
        return client;
    }

    public async Task<HookTenant> TenantAsync()
    {
        var tenant = await Admin().CreatedAsync("/api/v1/tenants", new { name = ApiFixture.Unique("hooks-"), time_zone = "UTC" });
        return new HookTenant(tenant.Id(), Admin(tenant.Id()));
    }
}

/// <summary>Dead letters within about a second.</summary>
public sealed class ShortLivedWebhookServer() : WebhookServer(new() { ["Webhooks:MaxAgeSeconds"] = "1" });

/// <summary>At most two subscriptions per tenant.</summary>
public sealed class LimitedWebhookServer() : WebhookServer(new() { ["Webhooks:MaxPerTenant"] = "2" });

/// <summary>One tenant of a <see cref="WebhookServer"/>: queues, agents, status changes and subscriptions.</summary>
public sealed class HookTenant(long id, HttpClient admin)
{
    public long Id => id;
    public HttpClient Admin => admin;

    public async Task<long> QueueAsync() =>
        (await admin.CreatedAsync("/api/v1/queues", new { name = ApiFixture.Unique("queue-"), ring_timeout = 3600 })).Id();

    /// <summary>An agent that is a member of <paramref name="queue"/> (else of a new queue), logged in and ready.</summary>
    public async Task<long> ReadyAgentAsync(long? queue = null)
    {
        var agent = (await admin.CreatedAsync("/api/v1/agents", new { name = ApiFixture.Unique("agent-"), number = ApiFixture.Number() })).Id();
        await admin.CreatedAsync($"/api/v1/queues/{queue ?? await QueueAsync()}/members", new { agent_id = agent, level = 0 });
        Assert.Equal("ready", (await (await admin.PostAsync($"/api/v1/agents/{agent}/login", null)).JsonAsync(HttpStatusCode.OK)).Str("status"));
        return agent;
    }

    public Task<JsonElement> StatusAsync(long agent, string status, string? reason = null) =>
        admin.PutOkAsync($"/api/v1/agents/{agent}/status", new { status, reason });

    /// <summary>Creates a subscription (201) and returns it, with its secret.</summary>
    public Task<JsonElement> SubscribeAsync(object body) => admin.CreatedAsync("/api/v1/webhooks", body);

    /// <summary>The newest event sequence number the tenant has published.</summary>
    public async Task<long> LastSeqAsync() => (await admin.OkAsync("/api/v1/events?after=0&limit=1000")).Long("last_seq");

    /// <summary>Every event after <paramref name="after"/>, oldest first.</summary>
    public async Task<JsonElement[]> EventsAfterAsync(long after, string? types = null)
    {
        var page = await admin.OkAsync($"/api/v1/events?after={after}&limit=1000" + (types != null ? "&types=" + types : ""));
        return page.Items();
    }

    public Task<JsonElement> DeliveryAsync(long hook, long seq) => admin.OkAsync($"/api/v1/webhooks/{hook}/deliveries/{seq}");

    /// <summary>Polls a delivery until it is in <paramref name="state"/> (the relay stores results in batches).</summary>
    public async Task<JsonElement> WaitForDeliveryAsync(long hook, long seq, string state, TimeSpan? timeout = null)
    {
        var limit = timeout ?? WebhookReceiver.DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var delivery = await DeliveryAsync(hook, seq);
            if (delivery.Str("state") == state) return delivery;
            if (clock.Elapsed > limit) Assert.Fail($"Delivery {seq} of webhook {hook} is not {state} after {limit.TotalSeconds:0} s: {delivery}");
            await Task.Delay(20);
        }
    }

    /// <summary>The event ids of every delivery row of a subscription (any state).</summary>
    public async Task<string[]> DeliveryEventIdsAsync(long hook)
    {
        var page = await admin.OkAsync($"/api/v1/webhooks/{hook}/deliveries?limit=500");
        Assert.True(page.IsNull("next_cursor"), "more than one page of deliveries");
        return [.. page.Items().Select(d => d.Str("event_id")!).Order(StringComparer.Ordinal)];
    }
}

/// <summary>Webhook subscriptions and their delivery, against a receiver on 127.0.0.1.</summary>
public sealed class WebhookTests(WebhookServer server) : IClassFixture<WebhookServer>, IAsyncLifetime
{
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    private static string NewPath() => "/" + ApiFixture.Unique("hook-");

    [Fact]
    public async Task A_json_post_carries_the_envelope_signed_with_the_secret_given_at_create()
    {
        var t = await server.TenantAsync();
        var queue = await t.QueueAsync();
        var agent = (await t.Admin.CreatedAsync("/api/v1/agents", new { name = "Ada", number = ApiFixture.Number() })).Id();
        await t.Admin.CreatedAsync($"/api/v1/queues/{queue}/members", new { agent_id = agent, level = 0 });
        var path = NewPath();
        var hook = await t.SubscribeAsync(new { name = "logins", url = _receiver.Url(path), event_types = new[] { "agent.login", "agent.logout" } });
        var secret = hook.Str("secret");
        Assert.NotNull(secret);
        Assert.InRange(secret!.Length, 16, 256);
        Assert.Equal("post", hook.Str("method"));
        Assert.Equal("json", hook.Str("format"));
        Assert.True(hook.GetProperty("enabled").GetBoolean());
        // The secret is shown once.
        Assert.True((await t.Admin.OkAsync($"/api/v1/webhooks/{hook.Id()}")).IsNull("secret"));
        Assert.All((await t.Admin.OkAsync("/api/v1/webhooks")).Items(), h => Assert.True(h.IsNull("secret")));

        // Twice: the second login changes nothing and so is no event. The logout goes after both (same agent, in order).
        await (await t.Admin.PostAsync($"/api/v1/agents/{agent}/login", null)).JsonAsync(HttpStatusCode.OK);
        await (await t.Admin.PostAsync($"/api/v1/agents/{agent}/login", null)).JsonAsync(HttpStatusCode.OK);
        await (await t.Admin.PostAsync($"/api/v1/agents/{agent}/logout", null)).JsonAsync(HttpStatusCode.OK);
        var all = await _receiver.WaitForAsync(1, r => r.Path == path && r.Header("X-Lineup-Event-Type") == "agent.logout", what: "agent.logout");
        var requests = _receiver.Requests.Where(r => r.Path == path).ToList();
        var login = Assert.Single(requests, r => r.Header("X-Lineup-Event-Type") == "agent.login");
        Assert.Equal(2, requests.Count);
        Assert.True(login.Index < all[0].Index, "agent.login arrived after agent.logout");

        Assert.Equal("POST", login.Method);
        Assert.Equal("application/json", MediaType(login));
        var body = login.Json;
        var seq = body.Long("seq");
        Assert.Equal($"{t.Id}-{seq}", body.Str("id"));
        Assert.Equal("agent.login", body.Str("type"));
        Assert.Equal(1, body.Int("version"));
        Assert.Equal(t.Id, body.Long("tenant_id"));
        Assert.Equal(agent, body.Long("agent_id"));
        Assert.Equal(queue, body.Long("queue_id"));
        Assert.True(body.IsNull("call_id"));
        var occurred = DateTimeOffset.Parse(body.Str("occurred_at")!, CultureInfo.InvariantCulture);
        Assert.InRange(occurred, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1));
        var data = body.GetProperty("data");
        Assert.Equal("Ada", data.Str("agent_name"));
        Assert.Equal("ready", data.Str("status"));

        // Headers: the event id three times, the type, and a signature over "<t>.<body>" with the secret from create.
        Assert.Equal(body.Str("id"), login.Header("X-Lineup-Event-Id"));
        Assert.Equal(body.Str("id"), login.Header("Idempotency-Key"));
        Assert.Equal("agent.login", login.Header("X-Lineup-Event-Type"));
        var timestamp = long.Parse(login.Header("X-Lineup-Timestamp")!, CultureInfo.InvariantCulture);
        Assert.InRange(timestamp, DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds());
        Assert.StartsWith($"t={timestamp},v1=", login.Header("X-Lineup-Signature"), StringComparison.Ordinal);
        Assert.True(login.SignatureValid(secret), $"signature {login.Header("X-Lineup-Signature")} does not verify");
        Assert.False(login.SignatureValid(secret + "x"), "the signature verifies with another secret");

        // The same event as the events API has it.
        var stored = Assert.Single(await t.EventsAfterAsync(seq - 1, "agent.login"));
        Assert.Equal(seq, stored.Long("seq"));
        Assert.True(JsonElement.DeepEquals(stored, body), $"delivered {body}\nstored {stored}");

        var delivery = await t.WaitForDeliveryAsync(hook.Id(), seq, "delivered");
        Assert.Equal(body.Str("id"), delivery.Str("event_id"));
        Assert.Equal("agent.login", delivery.Str("event_type"));
        Assert.Equal(1, delivery.Long("attempts"));
        Assert.Equal(200, delivery.Long("last_status"));
    }

    [Fact]
    public async Task Form_posts_and_gets_carry_the_flattened_envelope_and_verify()
    {
        var t = await server.TenantAsync();
        var agent = await t.ReadyAgentAsync();
        string formPath = NewPath(), getPath = NewPath();
        var form = await t.SubscribeAsync(new { url = _receiver.Url(formPath), format = "form", event_types = new[] { "agent.status_changed" } });
        // A GET sends form fields in its query string; its URL may carry a query of its own.
        var get = await t.SubscribeAsync(new { url = _receiver.Url(getPath) + "?token=abc", method = "get", event_types = new[] { "agent.status_changed" } });
        Assert.Equal("form", form.Str("format"));
        Assert.Equal("get", get.Str("method"));
        Assert.Equal("form", get.Str("format"));

        const string Reason = "Lunch & a walk = 50% off?";
        await t.StatusAsync(agent, "not_ready", Reason);
        var posted = (await _receiver.WaitForPathAsync(formPath, 1))[0];
        var got = (await _receiver.WaitForPathAsync(getPath, 1))[0];
        var seq = long.Parse(posted.Fields["seq"], CultureInfo.InvariantCulture);
        var stored = Assert.Single(await t.EventsAfterAsync(seq - 1, "agent.status_changed"));
        Assert.Equal(seq, stored.Long("seq"));

        Assert.Equal("POST", posted.Method);
        Assert.Equal("application/x-www-form-urlencoded", MediaType(posted));
        Assert.Equal("", posted.Query);
        Assert.True(posted.SignatureValid(form.Str("secret")!), "form signature does not verify");
        Assert.Equal("GET", got.Method);
        Assert.Equal("", got.Body);
        Assert.True(got.SignatureValid(get.Str("secret")!), "GET signature (over the query string) does not verify");
        Assert.False(got.SignatureValid(form.Str("secret")!), "the GET verifies with another subscription's secret");

        foreach (var r in new[] { posted, got })
        {
            var f = r.Fields;
            Assert.Equal(stored.Str("id"), f["id"]);
            Assert.Equal(stored.Str("id"), r.Header("Idempotency-Key"));
            Assert.Equal("agent.status_changed", f["type"]);
            Assert.Equal("1", f["version"]);
            Assert.Equal(t.Id.ToString(CultureInfo.InvariantCulture), f["tenant_id"]);
            Assert.Equal(agent.ToString(CultureInfo.InvariantCulture), f["agent_id"]);
            Assert.Equal("", f["call_id"]);
            Assert.Equal(stored.Str("occurred_at"), f["occurred_at"]);
            // data's fields by their own names
            Assert.Equal("not_ready", f["status"]);
            Assert.Equal(Reason, f["reason"]);
            Assert.Equal(stored.GetProperty("data").Str("agent_number"), f["agent_number"]);
            Assert.False(f.ContainsKey("data"), "data should be flattened");
        }
        Assert.Equal("abc", got.Fields["token"]);
    }

    [Fact]
    public async Task A_calls_events_arrive_in_order_ending_with_its_cdr()
    {
        var t = await server.TenantAsync();
        var queue = await t.QueueAsync();
        var agent = await t.ReadyAgentAsync(queue);
        var path = NewPath();
        await t.SubscribeAsync(new
        {
            url = _receiver.Url(path),
            event_types = new[] { "call.queued", "call.offered", "call.answered", "call.completed" },
        });

        var call = (await t.Admin.CreatedAsync("/api/v1/calls", new { queue_id = queue, caller_number = "+14155550123", external_id = "pbx-77" })).Id();
        await (await t.Admin.PostAsJsonAsync($"/api/v1/calls/{call}/events", new { type = "agent_answered", agent_id = agent })).JsonAsync(HttpStatusCode.OK);
        await (await t.Admin.PostAsJsonAsync($"/api/v1/calls/{call}/events", new { type = "caller_hangup" })).JsonAsync(HttpStatusCode.OK);

        var requests = await _receiver.WaitForAsync(1, r => r.Path == path && r.Header("X-Lineup-Event-Type") == "call.completed", what: "call.completed");
        var received = _receiver.Requests.Where(r => r.Path == path).ToList();
        Assert.Equal(["call.queued", "call.offered", "call.answered", "call.completed"], received.Select(r => r.Json.Str("type")));
        var seqs = received.Select(r => r.Json.Long("seq")).ToList();
        Assert.Equal(seqs.Order(), seqs);
        Assert.All(received, r => Assert.Equal(call, r.Json.Long("call_id")));
        Assert.All(received.Take(3), r => Assert.Equal("pbx-77", r.Json.GetProperty("data").Str("external_id")));
        Assert.Equal(agent, received[1].Json.Long("agent_id"));
        Assert.Equal(agent, received[2].Json.Long("agent_id"));

        var completed = requests[0].Json;
        Assert.Equal(queue, completed.Long("queue_id"));
        Assert.Equal(agent, completed.Long("agent_id"));
        var cdr = completed.GetProperty("data").GetProperty("cdr");
        Assert.Equal(call, cdr.Long("call_id"));
        Assert.Equal("answered", cdr.Str("disposition"));
        Assert.Equal(agent, cdr.Long("agent_id"));
        Assert.Equal("+14155550123", cdr.Str("caller_number"));
        Assert.Equal("pbx-77", cdr.Str("external_id"));
        // The same CDR as the CDR API has.
        var stored = Assert.Single((await t.Admin.OkAsync("/api/v1/cdrs")).Items());
        Assert.Equal(call, stored.Long("call_id"));
        Assert.Equal(stored.Str("disposition"), cdr.Str("disposition"));
        Assert.Equal(stored.Str("ended_at"), cdr.Str("ended_at"));
    }

    [Fact]
    public async Task Each_agents_status_changes_arrive_in_order_while_the_receiver_answers_slowly()
    {
        var t = await server.TenantAsync();
        var agents = new[] { await t.ReadyAgentAsync(), await t.ReadyAgentAsync() };
        var path = NewPath();
        await t.SubscribeAsync(new { url = _receiver.Url(path), event_types = new[] { "agent.status_changed" }, agent_ids = agents });
#pragma warning disable CA5394 // test jitter, not security
        _receiver.DelayBy(_ => TimeSpan.FromMilliseconds(Random.Shared.Next(0, 25)));
#pragma warning restore CA5394

        const int Changes = 30;
        // Both agents at once, each one change after another: ready and not ready alternately.
        await Task.WhenAll(agents.Select(async a =>
        {
            for (var i = 0; i < Changes; i++)
            {
                var state = i % 2 == 0 ? await t.StatusAsync(a, "not_ready", $"R{i}") : await t.StatusAsync(a, "ready");
                Assert.Equal(i % 2 == 0 ? "not_ready" : "ready", state.Str("status"));
            }
        }));

        await _receiver.WaitForPathAsync(path, 2 * Changes);
        var received = _receiver.Requests.Where(r => r.Path == path).ToList();
        Assert.Equal(2 * Changes, received.Count); // every answer was 200: no retries, no duplicates
        foreach (var a in agents)
        {
            var mine = received.Where(r => r.Json.Long("agent_id") == a).Select(r => r.Json).ToList();
            var seqs = mine.Select(e => e.Long("seq")).ToList();
            Assert.Equal(seqs.Order(), seqs);
            Assert.Equal(Enumerable.Range(0, Changes).Select(i => i % 2 == 0 ? $"not_ready/R{i}" : "ready/"),
                mine.Select(e => $"{e.GetProperty("data").Str("status")}/{e.GetProperty("data").Str("reason")}"));
        }
    }

    [Fact]
    public async Task Failed_attempts_are_retried_until_delivered_and_logged()
    {
        var t = await server.TenantAsync();
        var agent = await t.ReadyAgentAsync();
        var path = NewPath();
        var hook = await t.SubscribeAsync(new { url = _receiver.Url(path), event_types = new[] { "agent.status_changed" } });
        var calls = 0;
        _receiver.Respond(r => r.Path == path && Interlocked.Increment(ref calls) <= 3 ? 503 : 200);

        await t.StatusAsync(agent, "not_ready", "retry-me");
        var attempts = await _receiver.WaitForPathAsync(path, 4);
        var seq = attempts[0].Seq;
        var delivery = await t.WaitForDeliveryAsync(hook.Id(), seq, "delivered");

        Assert.Equal(4, _receiver.Requests.Count(r => r.Path == path)); // no attempt after the 200
        Assert.All(attempts, r => Assert.Equal(attempts[0].Body, r.Body));
        Assert.All(attempts, r => Assert.Equal(attempts[0].EventId, r.Header("Idempotency-Key")));
        Assert.All(attempts, r => Assert.True(r.SignatureValid(hook.Str("secret")!)));
        Assert.Equal(4, delivery.Long("attempts"));
        Assert.Equal(200, delivery.Long("last_status"));
        Assert.True(delivery.IsNull("last_error"));
        Assert.False(delivery.IsNull("finished_at"));
        Assert.True(delivery.IsNull("next_attempt_at"));
        var log = delivery.GetProperty("attempt_log").EnumerateArray().ToList();
        Assert.Equal([1L, 2, 3, 4], log.Select(a => a.Long("attempt")));
        Assert.Equal([503L, 503, 503, 200], log.Select(a => a.Long("status_code")));
        var times = log.Select(a => DateTimeOffset.Parse(a.Str("at")!, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(times.Order(), times);

        var delivered = await t.Admin.OkAsync($"/api/v1/webhooks/{hook.Id()}/deliveries?state=delivered");
        Assert.Contains(seq, delivered.Ids());
        Assert.All(delivered.Items(), d => Assert.Equal("delivered", d.Str("state")));
        Assert.DoesNotContain(seq, (await t.Admin.OkAsync($"/api/v1/webhooks/{hook.Id()}/deliveries?state=pending")).Ids());
        Assert.DoesNotContain(seq, (await t.Admin.OkAsync($"/api/v1/webhooks/{hook.Id()}/deliveries?state=dead")).Ids());
        await t.Admin.GetAsync($"/api/v1/webhooks/{hook.Id()}/deliveries?state=lost").ProblemAsync(HttpStatusCode.BadRequest, "state");
    }

    [Fact]
    public async Task A_pending_delivery_cannot_be_redelivered_a_delivered_one_can()
    {
        var t = await server.TenantAsync();
        var agent = await t.ReadyAgentAsync();
        var path = NewPath();
        var hook = await t.SubscribeAsync(new { url = _receiver.Url(path), event_types = new[] { "agent.status_changed" } });
        _receiver.Status = HttpStatusCode.InternalServerError;

        await t.StatusAsync(agent, "not_ready", "again");
        var seq = (await _receiver.WaitForPathAsync(path, 2))[0].Seq;
        var pending = await t.DeliveryAsync(hook.Id(), seq);
        Assert.Equal("pending", pending.Str("state"));
        Assert.False(pending.IsNull("next_attempt_at"));
        await t.Admin.PostAsync($"/api/v1/webhooks/{hook.Id()}/deliveries/{seq}/redeliver", null).ProblemAsync(HttpStatusCode.Conflict);
        await t.Admin.PostAsync($"/api/v1/webhooks/{hook.Id()}/deliveries/{seq + 1000}/redeliver", null).ProblemAsync(HttpStatusCode.NotFound);
        await t.Admin.GetAsync($"/api/v1/webhooks/{hook.Id()}/deliveries/{seq + 1000}").ProblemAsync(HttpStatusCode.NotFound);

        _receiver.Status = HttpStatusCode.OK;
        var delivered = await t.WaitForDeliveryAsync(hook.Id(), seq, "delivered");
        var before = _receiver.Requests.Count(r => r.Path == path);

        var again = await t.Admin.PostAsync($"/api/v1/webhooks/{hook.Id()}/deliveries/{seq}/redeliver", null);
        var accepted = await again.JsonAsync(HttpStatusCode.Accepted);
        Assert.Equal(seq, accepted.Id());
        Assert.Equal($"/api/v1/webhooks/{hook.Id()}/deliveries/{seq}", again.Headers.Location?.OriginalString);
        var resent = (await _receiver.WaitForPathAsync(path, before + 1))[before];
        Assert.Equal($"{t.Id}-{seq}", resent.EventId);
        var after = await t.WaitForDeliveryAsync(hook.Id(), seq, "delivered");
        Assert.Equal(delivered.Long("attempts") + 1, after.Long("attempts"));
        Assert.Equal(200, after.GetProperty("attempt_log").EnumerateArray().Last().Long("status_code"));
    }

    [Fact]
    public async Task Queue_and_agent_filters_choose_the_events()
    {
        var t = await server.TenantAsync();
        long q1 = await t.QueueAsync(), q2 = await t.QueueAsync();
        long a1 = await t.ReadyAgentAsync(q1), a2 = await t.ReadyAgentAsync(q2);
        string byQueue = NewPath(), byAgent = NewPath();
        var queueHook = await t.SubscribeAsync(new { url = _receiver.Url(byQueue), event_types = new[] { "*" }, queue_ids = new[] { q1 } });
        var agentHook = await t.SubscribeAsync(new
        {
            url = _receiver.Url(byAgent),
            event_types = new[] { "agent.status_changed", "call.offered" },
            agent_ids = new[] { a2 },
        });
        var baseline = await t.LastSeqAsync();

        var c1 = (await t.Admin.CreatedAsync("/api/v1/calls", new { queue_id = q1, caller_number = "+14155550001" })).Id();
        var c2 = (await t.Admin.CreatedAsync("/api/v1/calls", new { queue_id = q2, caller_number = "+14155550002" })).Id();
        await (await t.Admin.PostAsJsonAsync($"/api/v1/calls/{c1}/events", new { type = "caller_hangup" })).JsonAsync(HttpStatusCode.OK);
        await (await t.Admin.PostAsJsonAsync($"/api/v1/calls/{c2}/events", new { type = "caller_hangup" })).JsonAsync(HttpStatusCode.OK);
        await t.StatusAsync(a1, "not_ready", "filter");
        await t.StatusAsync(a2, "not_ready", "filter");

        var events = await t.EventsAfterAsync(baseline);
        string[] Expected(Func<JsonElement, bool> wanted) => [.. events.Where(wanted).Select(e => e.Str("id")!).Order(StringComparer.Ordinal)];
        static long? Opt(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null ? null : e.Long(name);
        var forQueue = Expected(e => Opt(e, "queue_id") == q1);
        var forAgent = Expected(e => Opt(e, "agent_id") == a2 && e.Str("type") is "agent.status_changed" or "call.offered");
        // The filters are not vacuous: each takes some events and leaves others.
        Assert.Contains(events, e => e.Str("type") == "call.completed" && e.Long("call_id") == c1);
        Assert.Contains(events, e => e.Str("type") == "call.offered" && e.Long("agent_id") == a2);
        Assert.Contains(events, e => e.Str("type") == "agent.status_changed" && e.Long("agent_id") == a2);
        Assert.True(forQueue.Length < events.Length && forAgent.Length < events.Length);

        // The outbox rows were written with the events, so the delivery logs are complete now.
        Assert.Equal(forQueue, await t.DeliveryEventIdsAsync(queueHook.Id()));
        Assert.Equal(forAgent, await t.DeliveryEventIdsAsync(agentHook.Id()));
        var atQueue = await _receiver.WaitForPathAsync(byQueue, forQueue.Length);
        var atAgent = await _receiver.WaitForPathAsync(byAgent, forAgent.Length);
        Assert.Equal(forQueue, atQueue.Select(r => r.EventId!).Order(StringComparer.Ordinal));
        Assert.Equal(forAgent, atAgent.Select(r => r.EventId!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_subscription_to_127_0_0_1_or_localhost_is_accepted_when_allowed_and_delivered()
    {
        var t = await server.TenantAsync();
        var agent = await t.ReadyAgentAsync();
        var path = NewPath();
        // "localhost" also resolves to ::1 here and there, which is not allowed: the relay must pick 127.0.0.1.
        var port = new Uri(_receiver.BaseUrl).Port;
        await t.SubscribeAsync(new { url = $"http://localhost:{port}{path}", event_types = new[] { "agent.status_changed" } });
        await t.SubscribeAsync(new { url = $"http://127.0.0.1:{port}{path}", event_types = new[] { "agent.status_changed" } });
        await t.StatusAsync(agent, "not_ready", "local");
        var both = await _receiver.WaitForPathAsync(path, 2);
        Assert.Equal(both[0].EventId, both[1].EventId);
    }

    [Fact]
    public async Task Subscriptions_created_at_the_same_time_all_get_events()
    {
        var t = await server.TenantAsync();
        var agent = await t.ReadyAgentAsync();
        var paths = Enumerable.Range(0, 8).Select(_ => NewPath()).ToList();
        await Task.WhenAll(paths.Select(p => t.SubscribeAsync(new { url = _receiver.Url(p), event_types = new[] { "agent.status_changed" } })));
        Assert.Equal(8, (await t.Admin.OkAsync("/api/v1/webhooks")).Items().Length);

        await t.StatusAsync(agent, "not_ready", "everyone");
        foreach (var p in paths) await _receiver.WaitForPathAsync(p, 1);
    }

    [Fact]
    public async Task Invalid_subscriptions_are_400_naming_the_field()
    {
        var t = await server.TenantAsync();
        var url = _receiver.Url(NewPath());
        await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url, event_types = new[] { "agent.logged_in" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "event_types[0]");
        await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url, event_types = new[] { "agent.login", "nope" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "event_types[1]");
        await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url, event_types = Array.Empty<string>() })
            .ProblemAsync(HttpStatusCode.BadRequest, "event_types");
        await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url }).ProblemAsync(HttpStatusCode.BadRequest, "event_types");
        await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url, method = "get", format = "json", event_types = new[] { "*" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "format");
        await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url, secret = "too-short", event_types = new[] { "*" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "secret");
        await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url, secret = new string('s', 257), event_types = new[] { "*" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "secret");
        await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url, queue_ids = new[] { 987_654_321L }, event_types = new[] { "*" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "queue_ids[0]");
        await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url, agent_ids = new[] { 987_654_321L }, event_types = new[] { "*" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "agent_ids[0]");
        await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { event_types = new[] { "*" } }).ProblemAsync(HttpStatusCode.BadRequest, "url");
        await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url = "ftp://example.com/x", event_types = new[] { "*" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "url");
        await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url, method = "put", event_types = new[] { "*" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "method");
        Assert.Empty((await t.Admin.OkAsync("/api/v1/webhooks")).Items());

        // A secret of the caller's choosing is kept (and shown once); a PATCH is validated like a create.
        var secret = new string('k', 16);
        var hook = await t.SubscribeAsync(new { url, secret, event_types = new[] { "*" } });
        Assert.Equal(secret, hook.Str("secret"));
        Assert.Empty((await t.Admin.OkAsync($"/api/v1/webhooks/{hook.Id()}/deliveries")).Items());
        await t.Admin.PatchAsJsonAsync($"/api/v1/webhooks/{hook.Id()}", new { url = "http://10.0.0.1/" }).ProblemAsync(HttpStatusCode.BadRequest, "url");
        await t.Admin.PatchAsJsonAsync($"/api/v1/webhooks/{hook.Id()}", new { format = "json", method = "get" }).ProblemAsync(HttpStatusCode.BadRequest, "format");
        var patched = await t.Admin.PatchOkAsync($"/api/v1/webhooks/{hook.Id()}", new { enabled = false, name = "off" });
        Assert.False(patched.GetProperty("enabled").GetBoolean());
        Assert.Equal(url, patched.Str("url"));
        Assert.True(patched.IsNull("secret"));
    }

    [Fact]
    public async Task Another_tenants_subscription_is_invisible_and_gets_none_of_this_tenants_events()
    {
        var mine = await server.TenantAsync();
        var theirs = await server.TenantAsync();
        string myPath = NewPath(), theirPath = NewPath();
        var myHook = await mine.SubscribeAsync(new { url = _receiver.Url(myPath), event_types = new[] { "*" } });
        var theirHook = await theirs.SubscribeAsync(new { url = _receiver.Url(theirPath), event_types = new[] { "*" } });

        var other = theirHook.Id();
        await mine.Admin.GetAsync($"/api/v1/webhooks/{other}").ProblemAsync(HttpStatusCode.NotFound);
        await mine.Admin.PatchAsJsonAsync($"/api/v1/webhooks/{other}", new { enabled = false }).ProblemAsync(HttpStatusCode.NotFound);
        await mine.Admin.DeleteAsync($"/api/v1/webhooks/{other}").ProblemAsync(HttpStatusCode.NotFound);
        await mine.Admin.GetAsync($"/api/v1/webhooks/{other}/deliveries").ProblemAsync(HttpStatusCode.NotFound);
        Assert.DoesNotContain(other, (await mine.Admin.OkAsync("/api/v1/webhooks")).Ids());

        // Their agent logs in; then one of mine does: each subscription gets its own tenant's events only.
        await theirs.ReadyAgentAsync();
        var theirSeq = await theirs.LastSeqAsync();
        await mine.ReadyAgentAsync();
        await mine.Admin.GetAsync($"/api/v1/webhooks/{other}/deliveries/{theirSeq}").ProblemAsync(HttpStatusCode.NotFound);
        await mine.Admin.PostAsync($"/api/v1/webhooks/{other}/deliveries/{theirSeq}/redeliver", null).ProblemAsync(HttpStatusCode.NotFound);
        Assert.True((await theirs.Admin.OkAsync($"/api/v1/webhooks/{other}")).GetProperty("enabled").GetBoolean());

        var myEvents = (await mine.EventsAfterAsync(0)).Select(e => e.Str("id")!).Order(StringComparer.Ordinal).ToArray();
        var theirEvents = (await theirs.EventsAfterAsync(0)).Select(e => e.Str("id")!).Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(myEvents);
        Assert.Equal(myEvents, await mine.DeliveryEventIdsAsync(myHook.Id()));
        Assert.Equal(theirEvents, await theirs.DeliveryEventIdsAsync(other));
        var mineReceived = await _receiver.WaitForPathAsync(myPath, myEvents.Length);
        await _receiver.WaitForPathAsync(theirPath, theirEvents.Length);
        Assert.All(mineReceived, r => Assert.Equal(mine.Id, r.Json.Long("tenant_id")));
        Assert.All(mineReceived, r => Assert.StartsWith($"{mine.Id}-", r.EventId, StringComparison.Ordinal));
        Assert.All(_receiver.Requests.Where(r => r.Path == theirPath), r => Assert.Equal(theirs.Id, r.Json.Long("tenant_id")));
    }

    [Fact]
    public async Task A_deleted_subscription_gets_nothing_more()
    {
        var t = await server.TenantAsync();
        var agent = await t.ReadyAgentAsync();
        string doomed = NewPath(), witness = NewPath();
        var hook = await t.SubscribeAsync(new { url = _receiver.Url(doomed), event_types = new[] { "agent.status_changed" } });
        await t.SubscribeAsync(new { url = _receiver.Url(witness), event_types = new[] { "agent.status_changed" } });
        await t.StatusAsync(agent, "not_ready", "one");
        var first = (await _receiver.WaitForPathAsync(doomed, 1))[0];
        await _receiver.WaitForPathAsync(witness, 1);

        var deleted = await t.Admin.DeleteAsync($"/api/v1/webhooks/{hook.Id()}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await t.Admin.GetAsync($"/api/v1/webhooks/{hook.Id()}").ProblemAsync(HttpStatusCode.NotFound);
        await t.Admin.GetAsync($"/api/v1/webhooks/{hook.Id()}/deliveries").ProblemAsync(HttpStatusCode.NotFound);
        await t.Admin.GetAsync($"/api/v1/webhooks/{hook.Id()}/deliveries/{first.Seq}").ProblemAsync(HttpStatusCode.NotFound);
        await t.Admin.DeleteAsync($"/api/v1/webhooks/{hook.Id()}").ProblemAsync(HttpStatusCode.NotFound);

        await t.StatusAsync(agent, "ready");
        await t.StatusAsync(agent, "not_ready", "two");
        // The other subscription got both changes made after the delete; the deleted one none of them.
        await _receiver.WaitForPathAsync(witness, 3);
        Assert.Single(_receiver.Requests, r => r.Path == doomed);
    }

    private static string? MediaType(WebhookReceiver.Received r) =>
        r.Header("Content-Type") is { } v ? MediaTypeHeaderValue.Parse(v).MediaType : null;
}

/// <summary>Dead letters: a delivery that keeps failing past the maximum age (1 s here) stops being tried.</summary>
public sealed class WebhookDeadLetterTests(ShortLivedWebhookServer server) : IClassFixture<ShortLivedWebhookServer>, IAsyncLifetime
{
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    [Fact]
    public async Task A_delivery_failing_past_its_age_is_dead_and_a_redeliver_brings_it_home()
    {
        var t = await server.TenantAsync();
        var agent = await t.ReadyAgentAsync();
        var path = "/" + ApiFixture.Unique("dead-");
        var hook = await t.SubscribeAsync(new { url = _receiver.Url(path), event_types = new[] { "agent.status_changed" } });
        _receiver.Status = HttpStatusCode.InternalServerError;

        await t.StatusAsync(agent, "not_ready", "doomed");
        var seq = (await _receiver.WaitForPathAsync(path, 1))[0].Seq;
        var dead = await t.WaitForDeliveryAsync(hook.Id(), seq, "dead");
        Assert.Equal(500, dead.Long("last_status"));
        Assert.False(dead.IsNull("finished_at"));
        Assert.True(dead.IsNull("next_attempt_at"));
        var log = dead.GetProperty("attempt_log").EnumerateArray().ToList();
        Assert.True(log.Count >= 2, $"expected retries before the dead letter: {dead}");
        Assert.Equal(dead.Long("attempts"), log.Count);
        Assert.All(log, a => Assert.Equal(500, a.Long("status_code")));
        Assert.Contains(seq, (await t.Admin.OkAsync($"/api/v1/webhooks/{hook.Id()}/deliveries?state=dead")).Ids());
        // Dead means no more attempts: everything that arrived is in the log.
        var tried = _receiver.Requests.Count(r => r.Path == path);
        Assert.Equal(log.Count, tried);

        _receiver.Status = HttpStatusCode.OK;
        var accepted = await (await t.Admin.PostAsync($"/api/v1/webhooks/{hook.Id()}/deliveries/{seq}/redeliver", null)).JsonAsync(HttpStatusCode.Accepted);
        Assert.Equal(seq, accepted.Id());
        var delivered = await t.WaitForDeliveryAsync(hook.Id(), seq, "delivered");
        Assert.Equal(log.Count + 1, delivered.Long("attempts"));
        Assert.Equal(200, delivered.Long("last_status"));
        Assert.Equal(200, delivered.GetProperty("attempt_log").EnumerateArray().Last().Long("status_code"));
        Assert.Equal(tried + 1, _receiver.Requests.Count(r => r.Path == path));
        Assert.DoesNotContain(seq, (await t.Admin.OkAsync($"/api/v1/webhooks/{hook.Id()}/deliveries?state=dead")).Ids());
    }
}

/// <summary>The per-tenant subscription limit (2 here).</summary>
public sealed class WebhookLimitTests(LimitedWebhookServer server) : IClassFixture<LimitedWebhookServer>
{
    [Fact]
    public async Task The_third_subscription_is_409_and_the_limits_say_why()
    {
        var t = await server.TenantAsync();
        var limits = await t.Admin.OkAsync("/api/v1/webhooks/limits");
        Assert.Equal(2, limits.Int("max_subscriptions"));
        Assert.Equal(0, limits.Int("subscriptions"));
        var types = limits.GetProperty("event_types").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(EventTypes.All, types);

        var first = await t.SubscribeAsync(new { url = "https://hooks.example.com/1", event_types = new[] { "*" } });
        await t.SubscribeAsync(new { url = "https://hooks.example.com/2", event_types = new[] { "*" } });
        var third = await t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url = "https://hooks.example.com/3", event_types = new[] { "*" } });
        await third.ProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(2, (await t.Admin.OkAsync("/api/v1/webhooks/limits")).Int("subscriptions"));
        Assert.Equal(2, (await t.Admin.OkAsync("/api/v1/webhooks")).Items().Length);

        // The limit is per tenant, and a deleted subscription frees its place.
        var other = await server.TenantAsync();
        await other.SubscribeAsync(new { url = "https://hooks.example.com/4", event_types = new[] { "*" } });
        Assert.Equal(HttpStatusCode.NoContent, (await t.Admin.DeleteAsync($"/api/v1/webhooks/{first.Id()}")).StatusCode);
        await t.SubscribeAsync(new { url = "https://hooks.example.com/3", event_types = new[] { "*" } });
    }

    [Fact]
    public async Task Concurrent_creates_stop_at_the_limit()
    {
        var t = await server.TenantAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            t.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url = $"https://hooks.example.com/{i}", event_types = new[] { "*" } })));
        Assert.Equal(2, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(4, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        var created = responses.Where(r => r.StatusCode == HttpStatusCode.Created)
            .Select(r => JsonDocument.Parse(r.Content.ReadAsStringAsync().Result).RootElement.Id()).Order().ToArray();
        Assert.Equal(created, (await t.Admin.OkAsync("/api/v1/webhooks")).Ids().Order());
        Assert.Equal(2, (await t.Admin.OkAsync("/api/v1/webhooks/limits")).Int("subscriptions"));
    }
}

/// <summary>Without Webhooks:AllowedNetworks, no subscription may point into the server's own networks.</summary>
public sealed class WebhookNetworkTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    [Theory]
    [InlineData("http://10.1.2.3/x")]
    [InlineData("http://169.254.169.254/")]
    [InlineData("http://[::1]:80/")]
    [InlineData("http://localhost:1/")]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://[::ffff:127.0.0.1]/")]
    [InlineData("http://192.168.1.10/")]
    [InlineData("http://[fd00::1]/")]
    [InlineData("http://2130706433/")]
    public async Task An_internal_destination_is_400_naming_url(string url)
    {
        await fx.Tenant.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url, event_types = new[] { "*" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "url");
        await fx.Tenant.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url, method = "get", event_types = new[] { "agent.login" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "url");
    }

    [Fact]
    public async Task A_public_destination_is_accepted_and_cannot_be_moved_inside()
    {
        var hook = await fx.Tenant.Admin.CreatedAsync("/api/v1/webhooks", new { url = "https://hooks.example.com/lineup", event_types = new[] { "*" } });
        await fx.Tenant.Admin.PatchAsJsonAsync($"/api/v1/webhooks/{hook.Id()}", new { url = "http://169.254.169.254/latest" })
            .ProblemAsync(HttpStatusCode.BadRequest, "url");
        Assert.Equal("https://hooks.example.com/lineup", (await fx.Tenant.Admin.OkAsync($"/api/v1/webhooks/{hook.Id()}")).Str("url"));
        Assert.Equal(HttpStatusCode.NoContent, (await fx.Tenant.Admin.DeleteAsync($"/api/v1/webhooks/{hook.Id()}")).StatusCode);
    }

    [Fact]
    public async Task Only_admins_manage_webhooks()
    {
        var supervisor = await fx.Tenant.SupervisorAsync();
        await supervisor.GetAsync("/api/v1/webhooks").ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.PostAsJsonAsync("/api/v1/webhooks", new { url = "https://hooks.example.com/x", event_types = new[] { "*" } })
            .ProblemAsync(HttpStatusCode.Forbidden);
        await fx.Anonymous().GetAsync("/api/v1/webhooks").ProblemAsync(HttpStatusCode.Unauthorized);
    }
}

/// <summary>A server with <c>Webhooks:RequireHttps=true</c>.</summary>
public sealed class HttpsOnlyWebhookServer : ApiFixture
{
    public HttpsOnlyWebhookServer() => Factory = new LineupFactory { Settings = { ["Webhooks:RequireHttps"] = "true" } };
}

public sealed class WebhookRequireHttpsTests(HttpsOnlyWebhookServer fx) : IClassFixture<HttpsOnlyWebhookServer>
{
    [Fact]
    public async Task Plain_http_urls_are_400_naming_url_and_https_ones_are_accepted()
    {
        var refused = await fx.Tenant.Admin.PostAsJsonAsync("/api/v1/webhooks", new { url = "http://hooks.example.com/lineup", event_types = new[] { "*" } });
        var problem = await refused.ProblemAsync(HttpStatusCode.BadRequest, "url");
        Assert.Contains("https", problem.ToString(), StringComparison.Ordinal);
        var hook = await fx.Tenant.Admin.CreatedAsync("/api/v1/webhooks", new { url = "https://hooks.example.com/lineup", event_types = new[] { "*" } });
        await fx.Tenant.Admin.PatchAsJsonAsync($"/api/v1/webhooks/{hook.Id()}", new { url = "http://hooks.example.com/lineup" })
            .ProblemAsync(HttpStatusCode.BadRequest, "url");
        Assert.Equal("https://hooks.example.com/lineup", (await fx.Tenant.Admin.OkAsync($"/api/v1/webhooks/{hook.Id()}")).Str("url"));
    }
}

/// <summary><see cref="NetworkGuard"/> on its own: which addresses it lets through, and the connect callback.</summary>
public sealed class NetworkGuardTests
{
    [Theory]
    [InlineData("8.8.8.8", true)]
    [InlineData("1.1.1.1", true)]
    [InlineData("172.32.0.1", true)]
    [InlineData("2001:4860:4860::8888", true)]
    [InlineData("::ffff:8.8.8.8", true)]
    [InlineData("127.0.0.1", false)]
    [InlineData("127.8.9.10", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.16.5.4", false)]
    [InlineData("172.31.255.255", false)]
    [InlineData("192.168.0.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("::", false)]
    [InlineData("::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd12:3456::1", false)]
    [InlineData("ff02::1", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("::ffff:169.254.169.254", false)]
    [InlineData("64:ff9b::a9fe:a9fe", false)]
    public void Without_allowances_only_public_addresses_pass(string address, bool allowed) =>
        Assert.Equal(allowed, new NetworkGuard([]).IsAllowed(IPAddress.Parse(address)));

    [Fact]
    public void Allowed_networks_open_exactly_what_they_list()
    {
        var guard = new NetworkGuard(["127.0.0.1", "10.0.0.0/8", "fd00::/8"]);
        Assert.True(guard.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.True(guard.IsAllowed(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.True(guard.IsAllowed(IPAddress.Parse("10.200.1.1")));
        Assert.True(guard.IsAllowed(IPAddress.Parse("::ffff:10.200.1.1")));
        Assert.True(guard.IsAllowed(IPAddress.Parse("fd00::1")));
        Assert.False(guard.IsAllowed(IPAddress.Parse("127.0.0.2")));
        Assert.False(guard.IsAllowed(IPAddress.Parse("::1")));
        Assert.False(guard.IsAllowed(IPAddress.Parse("192.168.1.1")));
        Assert.False(guard.IsAllowed(IPAddress.Parse("fc00::1")));
        Assert.Throws<ArgumentException>(() => new NetworkGuard(["not-a-network"]));
    }

    /// <summary>The guard as the server gets it: from the bound and validated Webhooks options.</summary>
    private static NetworkGuard Guard(IConfiguration config) =>
        new ServiceCollection().AddSingleton(config).AddWebhookOptions().BuildServiceProvider().GetRequiredService<NetworkGuard>();

    [Theory]
    [InlineData("Webhooks:AllowedNetworks", "not-a-network")]
    [InlineData("Webhooks:AllowedNetworks:0", "10.0.0.0/33")]
    [InlineData("Webhooks:RequireHttps", "maybe")]
    public void A_bad_setting_stops_start_up_naming_the_key(string key, string value)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        var e = Assert.ThrowsAny<Exception>(() => Guard(config));
        Assert.True(e is InvalidOperationException or OptionsValidationException, e.ToString());
        Assert.Contains(key.Split(':')[0] + ":" + key.Split(':')[1], e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_configuration_takes_a_comma_separated_value_or_an_array()
    {
        var single = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Webhooks:AllowedNetworks"] = "127.0.0.1, 192.168.0.0/16",
        }).Build();
        var guard = Guard(single);
        Assert.True(guard.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.True(guard.IsAllowed(IPAddress.Parse("192.168.4.4")));
        Assert.False(guard.IsAllowed(IPAddress.Parse("10.0.0.1")));

        var array = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Webhooks:AllowedNetworks:0"] = "10.0.0.0/8",
            ["Webhooks:AllowedNetworks:1"] = "::1",
        }).Build();
        guard = Guard(array);
        Assert.True(guard.IsAllowed(IPAddress.Parse("10.9.9.9")));
        Assert.True(guard.IsAllowed(IPAddress.Parse("::1")));
        Assert.False(guard.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.False(Guard(new ConfigurationBuilder().Build()).IsAllowed(IPAddress.Loopback));
        var https = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Webhooks:RequireHttps"] = "true" }).Build();
        Assert.True(Guard(https).RequireHttps);
    }

    [Theory]
    [InlineData("https://hooks.example.com/x", true)]
    [InlineData("http://8.8.8.8:8080/x?y=1", true)]
    [InlineData("http://10.0.0.1/", false)]
    [InlineData("http://LOCALHOST/", false)]
    [InlineData("http://api.localhost/", false)]
    [InlineData("http://[::1]/", false)]
    [InlineData("http://0x7f.1/", false)]
    [InlineData("http://user:pw@hooks.example.com/", false)]
    [InlineData("https://hooks.example.com/#frag", false)]
    [InlineData("file:///etc/passwd", false)]
    [InlineData("hooks.example.com/x", false)]
    public void Urls_are_checked_when_saved(string url, bool ok) => Assert.Equal(ok, new NetworkGuard([]).Check(url) == null);

    [Fact]
    public async Task Connecting_to_a_name_that_resolves_inside_is_refused_unless_allowed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var port = new Uri(receiver.BaseUrl).Port;
        var target = new Uri($"http://localhost:{port}/guarded");

        using (var blocked = new HttpClient(new SocketsHttpHandler { ConnectCallback = new NetworkGuard([]).ConnectAsync }))
        {
            var ex = await Assert.ThrowsAsync<HttpRequestException>(() => blocked.GetAsync(target));
            Assert.IsType<BlockedDestinationException>(ex.InnerException);
        }
        using (var literal = new HttpClient(new SocketsHttpHandler { ConnectCallback = new NetworkGuard([]).ConnectAsync }))
        {
            var ex = await Assert.ThrowsAsync<HttpRequestException>(() => literal.GetAsync(new Uri($"http://127.0.0.1:{port}/guarded")));
            Assert.IsType<BlockedDestinationException>(ex.InnerException);
        }
        Assert.Empty(receiver.Requests);

        using var allowed = new HttpClient(new SocketsHttpHandler { ConnectCallback = new NetworkGuard(["127.0.0.1"]).ConnectAsync });
        Assert.Equal(HttpStatusCode.OK, (await allowed.GetAsync(target)).StatusCode);
        Assert.Single(receiver.Requests);

        // A subscription saved before Webhooks:RequireHttps was turned on is refused when the relay connects.
        using var httpsOnly = new HttpClient(new SocketsHttpHandler { ConnectCallback = new NetworkGuard(["127.0.0.1"], requireHttps: true).ConnectAsync });
        var plain = await Assert.ThrowsAsync<HttpRequestException>(() => httpsOnly.GetAsync(target));
        Assert.IsType<BlockedDestinationException>(plain.InnerException);
        Assert.Single(receiver.Requests);
        Assert.Contains("https", new NetworkGuard([], requireHttps: true).Check("http://hooks.example.com/x"), StringComparison.Ordinal);
        Assert.Null(new NetworkGuard([], requireHttps: true).Check("https://hooks.example.com/x"));
    }
}
