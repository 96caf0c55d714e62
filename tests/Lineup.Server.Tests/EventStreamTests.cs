using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Lineup.Server.Tests;

/// <summary>The live event stream (Server-Sent Events) and the recent-events API.</summary>
public sealed class EventStreamTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private TenantSession T => fx.Tenant;
    private HttpClient Admin => fx.Tenant.Admin;

    [Fact]
    public async Task A_status_change_is_streamed_as_agent_status_changed()
    {
        var agent = await T.ReadyAgentAsync(await T.QueueAsync());
        await using var stream = await SseStream.OpenAsync(Admin, "/api/v1/events/stream");
        Assert.Equal("text/event-stream", stream.ContentType);
        Assert.Contains("no-cache", stream.CacheControl, StringComparison.Ordinal);

        await Admin.PutOkAsync($"/api/v1/agents/{agent}/status", new { status = "not_ready", reason = "streamed" });
        var frames = await stream.UntilAsync(f => f.Event == "agent.status_changed" && f.Json.Long("agent_id") == agent);
        var frame = frames[^1];
        var e = frame.Json;
        Assert.Equal(e.Long("seq").ToString(CultureInfo.InvariantCulture), frame.Id);
        Assert.Equal($"{T.Id}-{e.Long("seq")}", e.Str("id"));
        Assert.Equal("agent.status_changed", e.Str("type"));
        Assert.Equal(T.Id, e.Long("tenant_id"));
        Assert.Equal("not_ready", e.GetProperty("data").Str("status"));
        Assert.Equal("streamed", e.GetProperty("data").Str("reason"));
        // Every frame is one event with its seq as the SSE id, in order.
        Assert.All(frames, f => Assert.Equal(f.Json.Long("seq").ToString(CultureInfo.InvariantCulture), f.Id));
        Assert.All(frames, f => Assert.Equal(f.Json.Str("type"), f.Event));
        var seqs = frames.Select(f => f.Json.Long("seq")).ToList();
        Assert.Equal(seqs.Order(), seqs);
    }

    [Fact]
    public async Task Resuming_with_Last_Event_ID_gets_exactly_the_events_after_it()
    {
        var agent = await T.ReadyAgentAsync(await T.QueueAsync());
        var baseline = await LastSeqAsync(Admin);
        await Admin.PutOkAsync($"/api/v1/agents/{agent}/status", new { status = "not_ready", reason = "one" });
        await Admin.PutOkAsync($"/api/v1/agents/{agent}/status", new { status = "ready" });
        await Admin.PutOkAsync($"/api/v1/agents/{agent}/status", new { status = "not_ready", reason = "three" });
        var expected = (await Admin.OkAsync($"/api/v1/events?after={baseline}&limit=1000")).Items().Select(e => e.Long("seq")).ToList();
        Assert.True(expected.Count >= 3, $"expected at least the three status changes after {baseline}");
        Assert.Equal(baseline + 1, expected[0]);

        var header = baseline.ToString(CultureInfo.InvariantCulture);
        await using (var resumed = await SseStream.OpenAsync(Admin, "/api/v1/events/stream", lastEventId: header))
            Assert.Equal(expected, (await resumed.TakeAsync(expected.Count)).Select(f => f.Json.Long("seq")));
        await using (var byQuery = await SseStream.OpenAsync(Admin, $"/api/v1/events/stream?last_event_id={header}"))
            Assert.Equal(expected, (await byQuery.TakeAsync(expected.Count)).Select(f => f.Json.Long("seq")));

        // From the middle: only what came after; and the next frame is the next new event, nothing in between.
        await using var fromMiddle = await SseStream.OpenAsync(Admin, "/api/v1/events/stream", lastEventId: expected[1].ToString(CultureInfo.InvariantCulture));
        Assert.Equal(expected.Skip(2), (await fromMiddle.TakeAsync(expected.Count - 2)).Select(f => f.Json.Long("seq")));
        await Admin.PutOkAsync($"/api/v1/agents/{agent}/status", new { status = "ready" });
        var next = (await fromMiddle.TakeAsync(1))[0];
        Assert.Equal(expected[^1] + 1, next.Json.Long("seq"));

        await Admin.SendAsync(WithLastEventId("/api/v1/events/stream", "not-a-number")).ProblemAsync(HttpStatusCode.BadRequest, "last-event-id");
    }

    [Fact]
    public async Task Types_agent_and_queue_filters_choose_what_is_streamed()
    {
        long q1 = await T.QueueAsync(), q2 = await T.QueueAsync();
        long a = await T.ReadyAgentAsync(q1), b = await T.ReadyAgentAsync(q2);
        var baseline = await LastSeqAsync(Admin);
        await using var byAgent = await SseStream.OpenAsync(Admin, $"/api/v1/events/stream?types=agent.status_changed,agent.logout&agent_id={a}");
        await using var byQueue = await SseStream.OpenAsync(Admin, $"/api/v1/events/stream?queue_id={q1}&types=call.queued&types=call.completed");

        var c2 = await T.CallAsync(q2); // rings b
        await T.EventAsync(c2.Id(), "caller_hangup");
        var c1 = await T.CallAsync(q1); // rings a
        await T.EventAsync(c1.Id(), "caller_hangup");
        await Admin.PutOkAsync($"/api/v1/agents/{b}/status", new { status = "not_ready", reason = "b" });
        await Admin.PutOkAsync($"/api/v1/agents/{a}/status", new { status = "not_ready", reason = "a" });
        await (await Admin.PostAsync($"/api/v1/agents/{b}/logout", null)).JsonAsync(HttpStatusCode.OK);
        await (await Admin.PostAsync($"/api/v1/agents/{a}/logout", null)).JsonAsync(HttpStatusCode.OK);

        var all = (await Admin.OkAsync($"/api/v1/events?after={baseline}&limit=1000")).Items();
        static long? Opt(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null ? null : e.Long(name);
        var forAgent = all.Where(e => Opt(e, "agent_id") == a && e.Str("type") is "agent.status_changed" or "agent.logout").Select(e => e.Str("id")).ToList();
        var forQueue = all.Where(e => Opt(e, "queue_id") == q1 && e.Str("type") is "call.queued" or "call.completed").Select(e => e.Str("id")).ToList();
        // Not vacuous: the other agent, the other queue and other types had events too.
        Assert.Contains(all, e => Opt(e, "agent_id") == b && e.Str("type") == "agent.status_changed");
        Assert.Contains(all, e => Opt(e, "queue_id") == q2 && e.Str("type") == "call.queued");
        Assert.Contains(all, e => Opt(e, "agent_id") == a && e.Str("type") == "agent.activity_changed");
        Assert.Equal(3, forAgent.Count); // not ready, logged out (a status change), logout
        Assert.Equal(2, forQueue.Count);

        // Each stream ends with its last wanted event; being in order, anything unwanted would have come before it.
        var agentFrames = await byAgent.UntilAsync(f => f.Json.Str("id") == forAgent[^1]);
        Assert.Equal(forAgent, agentFrames.Select(f => f.Json.Str("id")));
        var queueFrames = await byQueue.UntilAsync(f => f.Json.Str("id") == forQueue[^1]);
        Assert.Equal(forQueue, queueFrames.Select(f => f.Json.Str("id")));
        Assert.Equal(c1.Id(), queueFrames[0].Json.Long("call_id"));

        // The JSON API filters the same way.
        var page = await Admin.OkAsync($"/api/v1/events?after={baseline}&limit=1000&types=agent.status_changed,agent.logout&agent_id={a}");
        Assert.Equal(forAgent, page.Items().Select(e => e.Str("id")));
        await Admin.GetAsync("/api/v1/events/stream?types=agent.nope").ProblemAsync(HttpStatusCode.BadRequest, "types");
        await Admin.GetAsync("/api/v1/events/stream?agent_id=x").ProblemAsync(HttpStatusCode.BadRequest, "agent_id");
        await Admin.GetAsync("/api/v1/events/stream?queue_id=-1").ProblemAsync(HttpStatusCode.BadRequest, "queue_id");
    }

    [Fact]
    public async Task An_agent_user_sees_only_its_own_agents_events()
    {
        var queue = await T.QueueAsync();
        long mine = await T.ReadyAgentAsync(queue), other = await T.ReadyAgentAsync(queue);
        var me = await T.AgentUserAsync(mine);
        var baseline = await LastSeqAsync(Admin);
        await using var stream = await SseStream.OpenAsync(me, "/api/v1/events/stream");
        // Even when it asks for another agent's too.
        await using var asking = await SseStream.OpenAsync(me, $"/api/v1/events/stream?agent_id={other},{mine}");

        await Admin.PutOkAsync($"/api/v1/agents/{mine}/status", new { status = "not_ready", reason = "mine" });
        var call = await T.CallAsync(queue); // rings the one ready agent: the other
        Assert.Equal(other, Assert.Single(call.GetProperty("offers").EnumerateArray()).Long("agent_id"));
        await T.EventAsync(call.Id(), "caller_hangup");
        await Admin.PutOkAsync($"/api/v1/agents/{other}/status", new { status = "not_ready", reason = "other" });
        await Admin.PutOkAsync($"/api/v1/agents/{other}/status", new { status = "ready" });
        await Admin.PutOkAsync($"/api/v1/agents/{mine}/status", new { status = "ready" });

        var expected = (await Admin.OkAsync($"/api/v1/events?after={baseline}&limit=1000&agent_id={mine}")).Items().Select(e => e.Str("id")).ToList();
        Assert.Equal(2, expected.Count);
        Assert.True((await Admin.OkAsync($"/api/v1/events?after={baseline}&limit=1000&agent_id={other}")).Items().Length >= 4);
        var frames = await stream.UntilAsync(f => f.Json.Str("id") == expected[^1]);
        Assert.Equal(expected, frames.Select(f => f.Json.Str("id")));
        Assert.Equal(expected, (await asking.UntilAsync(f => f.Json.Str("id") == expected[^1])).Select(f => f.Json.Str("id")));

        var page = await me.OkAsync($"/api/v1/events?after={baseline}&limit=1000");
        Assert.Equal(expected, page.Items().Select(e => e.Str("id")));
        Assert.Empty((await me.OkAsync($"/api/v1/events?after={baseline}&limit=1000&agent_id={other}")).Items());
        // And resuming from the start of the test replays its own events only.
        await using var resumed = await SseStream.OpenAsync(me, "/api/v1/events/stream", lastEventId: baseline.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(expected, (await resumed.TakeAsync(expected.Count)).Select(f => f.Json.Str("id")));
    }

    [Fact]
    public async Task The_stream_takes_a_token_in_the_query_and_refuses_a_bad_one()
    {
        var agent = await T.ReadyAgentAsync(await T.QueueAsync());
        var token = Admin.DefaultRequestHeaders.Authorization!.Parameter!;
        var anonymous = fx.Anonymous();
        await using var stream = await SseStream.OpenAsync(anonymous, $"/api/v1/events/stream?access_token={Uri.EscapeDataString(token)}");
        await Admin.PutOkAsync($"/api/v1/agents/{agent}/status", new { status = "not_ready", reason = "token" });
        var frames = await stream.UntilAsync(f => f.Event == "agent.status_changed" && f.Json.Long("agent_id") == agent);
        Assert.All(frames, f => Assert.Equal(T.Id, f.Json.Long("tenant_id")));

        await anonymous.GetAsync("/api/v1/events/stream?access_token=not-a-token").ProblemAsync(HttpStatusCode.Unauthorized);
        await anonymous.GetAsync("/api/v1/events/stream").ProblemAsync(HttpStatusCode.Unauthorized);
        // Only the stream takes it from the query (an EventSource cannot send headers); elsewhere it stays out of URLs.
        await anonymous.GetAsync($"/api/v1/events?access_token={Uri.EscapeDataString(token)}").ProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Recent_events_page_with_after_and_limit()
    {
        var tenant = await fx.CreateTenantAsync();
        var admin = tenant.Admin;
        var agent = await tenant.ReadyAgentAsync(await tenant.QueueAsync());
        for (var i = 0; i < 7; i++)
            await admin.PutOkAsync($"/api/v1/agents/{agent}/status", new { status = i % 2 == 0 ? "not_ready" : "ready", reason = i % 2 == 0 ? $"p{i}" : null });

        var all = (await admin.OkAsync("/api/v1/events?after=0&limit=1000")).Items();
        var seqs = all.Select(e => e.Long("seq")).ToList();
        Assert.Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i), seqs); // a new tenant's events: 1, 2, 3, ...
        Assert.All(all, e => Assert.Equal($"{tenant.Id}-{e.Long("seq")}", e.Str("id")));

        Assert.Equal(all.Select(e => e.Str("id")), await PageAsync("", 3));
        var changes = all.Where(e => e.Str("type") == "agent.status_changed").Select(e => e.Str("id")).ToList();
        Assert.Equal(8, changes.Count); // ready at login, then the seven
        Assert.Equal(changes, await PageAsync("&types=agent.status_changed", 3));
        Assert.Equal(changes.Skip(5), (await admin.OkAsync($"/api/v1/events?after={Seq(changes[4])}&types=agent.status_changed")).Items().Select(e => e.Str("id")));

        var end = await admin.OkAsync($"/api/v1/events?after={seqs[^1]}");
        Assert.Empty(end.Items());
        Assert.Equal(seqs[^1], end.Long("last_seq"));

        await admin.GetAsync("/api/v1/events?after=abc").ProblemAsync(HttpStatusCode.BadRequest, "after");
        await admin.GetAsync("/api/v1/events?after=-1").ProblemAsync(HttpStatusCode.BadRequest, "after");
        await admin.GetAsync("/api/v1/events?limit=0").ProblemAsync(HttpStatusCode.BadRequest, "limit");
        await admin.GetAsync("/api/v1/events?limit=1001").ProblemAsync(HttpStatusCode.BadRequest, "limit");
        await admin.GetAsync("/api/v1/events?types=call.nope").ProblemAsync(HttpStatusCode.BadRequest, "types");
        await fx.Anonymous().GetAsync("/api/v1/events").ProblemAsync(HttpStatusCode.Unauthorized);

        // Following last_seq page by page until a page is empty gives every event once, in order.
        async Task<List<string?>> PageAsync(string filter, int limit)
        {
            var ids = new List<string?>();
            long after = 0;
            for (var pages = 0; pages < 100; pages++)
            {
                var page = await admin.OkAsync($"/api/v1/events?after={after}&limit={limit}{filter}");
                var items = page.Items();
                Assert.True(items.Length <= limit);
                if (items.Length == 0) return ids;
                ids.AddRange(items.Select(e => e.Str("id")));
                Assert.True(page.Long("last_seq") > after, $"last_seq {page.Long("last_seq")} does not move on from {after}");
                after = page.Long("last_seq");
            }
            Assert.Fail("more than 100 pages");
            return ids;
        }
        static long Seq(string? id) => long.Parse(id![(id!.IndexOf('-', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>The newest seq the tenant has published, by following last_seq.</summary>
    private static async Task<long> LastSeqAsync(HttpClient client)
    {
        long after = 0;
        while (true)
        {
            var page = await client.OkAsync($"/api/v1/events?after={after}&limit=1000");
            if (page.Items().Length == 0 || page.Long("last_seq") == after) return page.Long("last_seq");
            after = page.Long("last_seq");
        }
    }

    private static HttpRequestMessage WithLastEventId(string path, string id)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Last-Event-ID", id);
        return request;
    }

    /// <summary>One Server-Sent Event.</summary>
    private sealed record Frame(string? Id, string? Event, string Data)
    {
        public JsonElement Json => JsonDocument.Parse(Data).RootElement.Clone();

        public override string ToString() => $"id={Id} event={Event} data={(Data.Length > 160 ? Data[..160] + "…" : Data)}";
    }

    /// <summary>A client of the event stream: reads frames (skipping comments and retry-only frames) as they come.</summary>
    private sealed class SseStream : IAsyncDisposable
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
        private readonly HttpResponseMessage _response;
        private readonly StreamReader _reader;
        private readonly List<Frame> _seen = new();

        private SseStream(HttpResponseMessage response, Stream body)
        {
            _response = response;
            _reader = new StreamReader(body);
        }

        public string? ContentType => _response.Content.Headers.ContentType?.MediaType;
        public string CacheControl => _response.Headers.CacheControl?.ToString() ?? "";

        public static async Task<SseStream> OpenAsync(HttpClient client, string path, string? lastEventId = null)
        {
            var request = lastEventId != null ? WithLastEventId(path, lastEventId) : new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK)
                Assert.Fail($"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return new SseStream(response, await response.Content.ReadAsStreamAsync());
        }

        /// <summary>The next <paramref name="count"/> frames.</summary>
        public async Task<List<Frame>> TakeAsync(int count)
        {
            var frames = new List<Frame>();
            using var cts = new CancellationTokenSource(Timeout);
            while (frames.Count < count) frames.Add(await NextAsync(cts.Token, $"{count} frames"));
            return frames;
        }

        /// <summary>Frames up to and including the first that matches <paramref name="last"/>.</summary>
        public async Task<List<Frame>> UntilAsync(Func<Frame, bool> last)
        {
            var frames = new List<Frame>();
            using var cts = new CancellationTokenSource(Timeout);
            while (true)
            {
                var frame = await NextAsync(cts.Token, "the frame looked for");
                frames.Add(frame);
                if (last(frame)) return frames;
            }
        }

        private async Task<Frame> NextAsync(CancellationToken ct, string what)
        {
            string? id = null, type = null;
            var data = new List<string>();
            while (true)
            {
                string? line;
                try
                {
                    line = await _reader.ReadLineAsync(ct);
                }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"No {what} within {Timeout.TotalSeconds:0} s; frames so far:\n" + string.Join('\n', _seen.TakeLast(40)));
                    throw;
                }
                if (line == null) Assert.Fail($"The stream ended while waiting for {what}; frames so far:\n" + string.Join('\n', _seen.TakeLast(40)));
                if (line!.Length == 0)
                {
                    if (data.Count == 0) continue; // "retry:" alone, or a comment
                    var frame = new Frame(id, type, string.Join('\n', data));
                    _seen.Add(frame);
                    return frame;
                }
                if (line.StartsWith(':')) continue;
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var field = colon < 0 ? line : line[..colon];
                var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
                switch (field)
                {
                    case "id": id = value; break;
                    case "event": type = value; break;
                    case "data": data.Add(value); break;
                    default: break;
                }
            }
        }

        public ValueTask DisposeAsync()
        {
            _reader.Dispose();
            _response.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
