using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Cluster;

/// <summary>
/// The cluster as an operator runs it (docs/cluster.md): three server processes on 127.0.0.1, .2 and .3 over one
/// PostgreSQL, a busy tenant driven through all three (call control, agent status, reads, a live stream, a webhook
/// receiver), and <c>kill -9</c> of the node that runs it. Afterwards: no acknowledged write is lost, every call ends,
/// every agent takes calls again, every event reaches the webhook receiver, and the stream resumed on another node
/// without a gap.
/// </summary>
public sealed class ClusterEndToEndTests(ITestOutputHelper output)
{
    private const int Agents = 8;
    private const string HookPath = "/cluster";
    private static readonly TimeSpan LoadBeforeKill = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan LoadAfterKill = TimeSpan.FromSeconds(10);
    private const int MaxWait = 5;

    private sealed class Node(int index, ServerProcess process)
    {
        public int Index => index;
        public ServerProcess Process => process;
        public string Url => process.BaseAddress.ToString().TrimEnd('/');
        public volatile bool Alive = true;
    }

    /// <summary>What the load was told had happened (only 2xx answers count).</summary>
    private sealed class Acknowledged
    {
        public readonly ConcurrentDictionary<long, string> Calls = new(); // call id -> created / answered / ended
        public readonly ConcurrentQueue<string> Unknown = new();
        public long Writes;
        public long Failures;
        public long Reads;
        public long FirstWriteAfterKillMs = -1;
    }

    [PostgresFact]
    public async Task Three_nodes_keep_a_busy_tenant_through_kill_9_of_the_node_that_runs_it()
    {
        var clock = Stopwatch.StartNew();
        void Phase(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  {what}");
        await using var db = await TestPostgres.CreateDatabaseAsync(output);
        await using var receiver = await WebhookReceiver.StartAsync();
        var nodes = new List<Node>();
        // The stream client runs until the end (the load stops before it), and stops whatever happens.
        using var stopStream = new CancellationTokenSource();
        try
        {
            // The three start together; each migrates in turn behind the database's advisory lock.
            var processes = await Task.WhenAll(Enumerable.Range(1, 3).Select(i => StartNodeAsync(i, db.ConnectionString)));
            nodes.AddRange(processes.Select((p, i) => new Node(i + 1, p)));
            Phase("three nodes ready");

            var token = await SignInAsync(nodes[0]);
            using var admin = Client(nodes[0], token, tenant: null);
            var tenant = (await CreatedAsync(admin, "/api/v1/tenants", new { name = "busy" })).GetProperty("id").GetInt64();
            // The tenant was created through node 1 and is used at once through node 3.
            using var setup = Client(nodes[2], token, tenant);
            await CreatedAsync(setup, "/api/v1/webhooks", new { url = receiver.Url(HookPath), event_types = new[] { "*" } });
            var queue = (await CreatedAsync(setup, "/api/v1/queues", new
            {
                name = "busy",
                strategy = "longest_idle",
                ring_timeout = 2,
                wrap_up_time = 0,
                agent_auto_ready = true,
                max_wait = 20,
            })).GetProperty("id").GetInt64();
            var agents = new List<long>();
            for (var i = 0; i < Agents; i++)
            {
                var agent = (await CreatedAsync(setup, "/api/v1/agents", new { name = $"agent {i}", number = $"70{i}" })).GetProperty("id").GetInt64();
                await CreatedAsync(setup, $"/api/v1/queues/{queue}/members", new { agent_id = agent });
                Ok(await setup.PostAsync(new Uri($"/api/v1/agents/{agent}/login", UriKind.Relative), null));
                agents.Add(agent);
            }
            // An agent of another queue whose status goes back and forth all along.
            var side = (await CreatedAsync(setup, "/api/v1/queues", new { name = "side" })).GetProperty("id").GetInt64();
            var toggled = (await CreatedAsync(setup, "/api/v1/agents", new { name = "toggled", number = "799" })).GetProperty("id").GetInt64();
            await CreatedAsync(setup, $"/api/v1/queues/{side}/members", new { agent_id = toggled });
            Ok(await setup.PostAsync(new Uri($"/api/v1/agents/{toggled}/login", UriKind.Relative), null));

            // A queue whose one agent is logged in but not ready: its caller waits until max_wait, a timer that falls
            // due while the tenant's node is dead.
            var waiting = (await CreatedAsync(setup, "/api/v1/queues", new { name = "waiting", max_wait = MaxWait })).GetProperty("id").GetInt64();
            var waiter = (await CreatedAsync(setup, "/api/v1/agents", new { name = "waiter", number = "798" })).GetProperty("id").GetInt64();
            await CreatedAsync(setup, $"/api/v1/queues/{waiting}/members", new { agent_id = waiter });
            Ok(await setup.PostAsync(new Uri($"/api/v1/agents/{waiter}/login", UriKind.Relative), null));
            Ok(await setup.PutAsJsonAsync(new Uri($"/api/v1/agents/{waiter}/status", UriKind.Relative), new { status = "not_ready" }));

            var owner = await OwnerAsync(nodes, token, tenant, queue);
            Phase($"tenant {tenant} runs on node {owner.Index}; queue {queue}, {Agents} agents");

            // The live stream, first through a node that does not run the tenant: its stream is forwarded, and breaks
            // when the owner dies; it reconnects with Last-Event-ID through another live node each time.
            var streamNode = nodes.First(n => n != owner);
            using var stop = new CancellationTokenSource();
            var stream = new StreamClient(last => last == null ? streamNode.Url : nodes.First(n => n.Alive && n.Url != last).Url, token, tenant);
            var streaming = stream.RunAsync(stopStream.Token);

            var acked = new Acknowledged();
            var killAt = Stopwatch.StartNew();
            var killed = false;
            var load = Task.WhenAll(
                Enumerable.Range(0, 3).Select(w => Task.Run(() => CallsAsync(nodes, token, tenant, queue, w, acked, () => killed ? killAt.ElapsedMilliseconds : -1, stop.Token)))
                .Append(Task.Run(() => StatusAsync(nodes, token, tenant, toggled, acked, stop.Token)))
                .Append(Task.Run(() => ReadsAsync(nodes, token, tenant, queue, acked, stop.Token))));

            var waitingCall = (await CreatedAsync(setup, "/api/v1/calls", new { queue_id = waiting, caller_number = "+15550000" })).GetProperty("id").GetInt64();
            var waitingSince = Stopwatch.StartNew();
            await Task.Delay(LoadBeforeKill);
            Phase($"under load: {acked.Writes} writes acknowledged, {acked.Reads} reads; SIGKILL to node {owner.Index}");
            owner.Alive = false;
            owner.Process.Kill();
            killAt.Restart();
            killed = true;
            // Nobody asks for the waiting call until it has ended: its timer fires on the survivor by itself.
            var waitingEnded = Task.Run(async () =>
            {
                while (true)
                {
                    await Task.Delay(100);
                    try
                    {
                        using var probe = Client(nodes.First(n => n.Alive), token, tenant);
                        var r = await probe.GetAsync(new Uri($"/api/v1/queues/{waiting}/calls", UriKind.Relative));
                        if (r.IsSuccessStatusCode && (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").GetArrayLength() == 0)
                            return waitingSince.Elapsed;
                    }
                    catch (HttpRequestException)
                    {
                        // a node between lives: ask again
                    }
                    if (waitingSince.Elapsed > TimeSpan.FromMinutes(2)) return waitingSince.Elapsed;
                }
            });
            await Task.Delay(LoadAfterKill);
            await stop.CancelAsync();
            await load;
            Phase($"load stopped: {acked.Writes} writes and {acked.Reads} reads acknowledged, {acked.Failures} refused or unanswered; "
                + $"first write acknowledged {acked.FirstWriteAfterKillMs} ms after the kill");
            Assert.True(acked.FirstWriteAfterKillMs >= 0, "no write was acknowledged after the kill");

            // The waiting caller's max_wait fell due while the tenant was moving; it fired on the survivor soon after.
            // (The issue's target is 5 s late at most; the bound here is twice that, for a loaded 2-core machine.)
            var ended = await waitingEnded;
            var late = ended - TimeSpan.FromSeconds(MaxWait);
            using var survivor = Client(nodes.First(n => n.Alive), token, tenant);
            var cdr = (await OkJsonAsync(survivor, $"/api/v1/cdrs?queue_id={waiting}")).GetProperty("items").EnumerateArray().Single();
            Assert.Equal(waitingCall, cdr.GetProperty("call_id").GetInt64());
            Assert.Equal("timeout", cdr.GetProperty("exit_reason").GetString());
            Phase($"the waiting call's max_wait ({MaxWait} s, due {MaxWait - LoadBeforeKill.TotalSeconds:F0} s after the kill) fired {late.TotalSeconds:F1} s late");
            Assert.True(late < TimeSpan.FromSeconds(10), $"max_wait fired {late.TotalSeconds:F1} s late");

            var survivors = nodes.Where(n => n.Alive).ToList();
            var newOwner = await OwnerAsync(survivors, token, tenant, queue);
            Assert.NotEqual(owner, newOwner);
            Phase($"tenant {tenant} now runs on node {newOwner.Index}");

            // Each survivor counts two active nodes; the new owner counts the tenant it took over.
            foreach (var n in survivors)
            {
                using var plain = new HttpClient { BaseAddress = new Uri(n.Url) };
                await WaitAsync(async () => Metric(await plain.GetStringAsync(new Uri("/metrics", UriKind.Relative)), "lineup_cluster_nodes") == 2,
                    $"node {n.Index} to count two active nodes");
                if (n == newOwner)
                    Assert.True(Metric(await plain.GetStringAsync(new Uri("/metrics", UriKind.Relative)), "lineup_cluster_failovers_total") >= 1);
            }
            using var api = Client(survivors[^1], token, tenant);

            // No acknowledged write is lost: every call is there, in at least the state it was acknowledged in.
            foreach (var (id, state) in acked.Calls)
            {
                var call = await OkJsonAsync(api, $"/api/v1/calls/{id}");
                var now = call.GetProperty("state").GetString();
                if (state == "ended") Assert.Equal("ended", now);
                if (state == "answered") Assert.True(now is "connected" or "ended" && call.GetProperty("agent_id").ValueKind == JsonValueKind.Number, $"call {id}: {call}");
            }
            Phase($"all {acked.Calls.Count} acknowledged calls are there as acknowledged ({acked.Unknown.Count} writes had no answer)");

            // No call is left without an end: hang up whatever is still live; then every call has ended.
            var live = await LiveCallsAsync(api, queue);
            foreach (var id in live)
            {
                var r = await api.PostAsJsonAsync(new Uri($"/api/v1/calls/{id}/events", UriKind.Relative), new { type = "caller_hangup" });
                Assert.True(r.IsSuccessStatusCode || r.StatusCode == HttpStatusCode.NotFound, $"hang-up of {id}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
            }
            Assert.Empty(await LiveCallsAsync(api, queue));
            foreach (var id in acked.Calls.Keys)
                Assert.Equal("ended", (await OkJsonAsync(api, $"/api/v1/calls/{id}")).GetProperty("state").GetString());
            Phase($"{live.Count} live calls hung up; every call has ended");

            // Every agent takes calls again: all available, and as many new calls are each offered to one of them.
            await WaitAsync(async () =>
            {
                var status = await OkJsonAsync(api, $"/api/v1/queues/{queue}/status");
                return status.GetProperty("available_agents").GetInt32() == Agents && status.GetProperty("logged_in_agents").GetInt32() == Agents;
            }, "every agent available again");
            var offered = new HashSet<long>();
            var probes = new List<long>();
            for (var i = 0; i < Agents; i++)
            {
                var call = await CreatedAsync(api, "/api/v1/calls", new { queue_id = queue, caller_number = $"+1999{i}" });
                probes.Add(call.GetProperty("id").GetInt64());
                offered.UnionWith(call.GetProperty("offers").EnumerateArray().Select(o => o.GetProperty("agent_id").GetInt64()));
            }
            Assert.Equal(agents.Order(), offered.Order());
            foreach (var id in probes) Ok(await api.PostAsJsonAsync(new Uri($"/api/v1/calls/{id}/events", UriKind.Relative), new { type = "caller_hangup" }));
            Phase($"each of the {Agents} agents was offered one of {Agents} new calls");

            // Every event reaches the webhook receiver (at least once), and the stream saw every one without a gap.
            var events = await StoredEventsAsync(api);
            var ids = events.Select(e => e.GetProperty("id").GetString()!).ToList();
            var seqs = events.Select(e => e.GetProperty("seq").GetInt64()).ToList();
            // The tenant's events are numbered without a hole across the failover.
            Assert.Equal(Enumerable.Range(0, seqs.Count).Select(i => seqs[0] + i), seqs);
            await receiver.WaitForEventsAsync(ids, TimeSpan.FromSeconds(90));
            Phase($"all {ids.Count} events reached the webhook receiver ({receiver.Requests.Count(r => r.Path == HookPath)} requests)");
            await WaitAsync(() => Task.FromResult(stream.LastSeq >= seqs[^1]), $"the stream client to reach event {seqs[^1]} (it has {stream.LastSeq})");
            var streamed = stream.Seen;
            Assert.Equal(0, stream.Gaps);
            Assert.True(stream.Connections >= 2, $"the stream did not reconnect ({stream.Connections} connection)");
            Assert.True(stream.ServedBy.Distinct().Count() >= 2, $"the stream resumed through the same node only ({string.Join(", ", stream.ServedBy)})");
            // The listing holds the newest events the node retains (EventHub.Retained): compare from where both start.
            var from = Math.Max(streamed[0], seqs[0]);
            Assert.Equal(seqs.Where(s => s >= from), streamed.Distinct().Order().Where(s => s >= from));
            Phase($"the stream client saw events {streamed[0]}..{streamed[^1]} over {stream.Connections} connections ({string.Join(", ", stream.ServedBy)}), no gap");
            await stopStream.CancelAsync();
            await streaming;
        }
        catch (Exception) when (Dump(nodes))
        {
            throw;
        }
        finally
        {
            await stopStream.CancelAsync();
            foreach (var n in nodes) await n.Process.DisposeAsync();
        }
    }

    /// <summary>The value of a metric without labels other than the exporter's, from Prometheus text (NaN: absent).</summary>
    private static double Metric(string text, string name)
    {
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "{", StringComparison.Ordinal));
        return line == null ? double.NaN : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    private bool Dump(List<Node> nodes)
    {
        foreach (var n in nodes) output.WriteLine($"---- node {n.Index} ({n.Url}) output:\n{n.Process.Output}");
        return false;
    }

    private static Task<ServerProcess> StartNodeAsync(int i, string database) =>
        ServerProcess.StartAsync(Path.Combine(Path.GetTempPath(), "lineup-cluster-" + Guid.NewGuid().ToString("N")), database,
        [
            "--Cluster:Enabled=true",
            $"--Cluster:AdvertisedAddress=127.0.0.{i}",
            $"--Cluster:SiloPort={ServerProcess.FreePort()}",
            "--Webhooks:AllowedNetworks=127.0.0.1",
            "--Webhooks:RetryBaseSeconds=0.05",
            "--Logging:LogLevel:Default=Warning",
        ], host: $"127.0.0.{i}");

    // ---- the load

    private static async Task CallsAsync(List<Node> nodes, string token, long tenant, long queue, int worker, Acknowledged acked, Func<long> sinceKill,
        CancellationToken stop)
    {
        var clients = nodes.Select(n => Client(n, token, tenant)).ToList();
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            // Each step through another node: most requests land on a node that does not run the tenant.
            HttpClient Via(int step) => clients[Pick(nodes, worker + n + step)];
            var created = await WriteAsync(Via(0), "/api/v1/calls", new { queue_id = queue, caller_number = $"+1555{worker}{n % 100:D2}" }, acked, sinceKill);
            if (created is not { } call) continue;
            var id = call.GetProperty("id").GetInt64();
            acked.Calls[id] = "created";
            if (call.GetProperty("offers").EnumerateArray().FirstOrDefault() is not { ValueKind: JsonValueKind.Object } offer) continue;
            var answered = await WriteAsync(Via(1), $"/api/v1/calls/{id}/events", new { type = "agent_answered", agent_id = offer.GetProperty("agent_id").GetInt64() }, acked, sinceKill);
            if (answered == null) continue;
            acked.Calls[id] = "answered";
            if (await WriteAsync(Via(2), $"/api/v1/calls/{id}/events", new { type = "caller_hangup" }, acked, sinceKill) != null) acked.Calls[id] = "ended";
        }
        foreach (var c in clients) c.Dispose();
    }

    private static async Task StatusAsync(List<Node> nodes, string token, long tenant, long agent, Acknowledged acked, CancellationToken stop)
    {
        var clients = nodes.Select(n => Client(n, token, tenant)).ToList();
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var body = n % 2 == 0 ? new { status = "not_ready", reason = (string?)$"r{n}" } : new { status = "ready", reason = (string?)null };
            try
            {
                var r = await clients[Pick(nodes, n)].PutAsJsonAsync(new Uri($"/api/v1/agents/{agent}/status", UriKind.Relative), body, CancellationToken.None);
                if (r.IsSuccessStatusCode) Interlocked.Increment(ref acked.Writes);
                else Interlocked.Increment(ref acked.Failures);
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref acked.Failures);
            }
            await Task.Delay(20, CancellationToken.None);
        }
        foreach (var c in clients) c.Dispose();
    }

    private static async Task ReadsAsync(List<Node> nodes, string token, long tenant, long queue, Acknowledged acked, CancellationToken stop)
    {
        var clients = nodes.Select(n => Client(n, token, tenant)).ToList();
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            try
            {
                var r = await clients[Pick(nodes, n)].GetAsync(new Uri($"/api/v1/queues/{queue}/status", UriKind.Relative), CancellationToken.None);
                if (r.IsSuccessStatusCode) Interlocked.Increment(ref acked.Reads);
                else Interlocked.Increment(ref acked.Failures);
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref acked.Failures);
            }
        }
        foreach (var c in clients) c.Dispose();
    }

    /// <summary>The <paramref name="n"/>-th live node, round robin.</summary>
    private static int Pick(List<Node> nodes, int n)
    {
        var live = nodes.Where(x => x.Alive).ToList();
        return nodes.IndexOf(live[n % live.Count]);
    }

    /// <summary>A write: its answer when acknowledged (2xx), else null and counted; the outcome of a write that got
    /// no answer (or a 502: its node died while handling it) is unknown.</summary>
    private static async Task<JsonElement?> WriteAsync(HttpClient client, string path, object body, Acknowledged acked, Func<long> sinceKill)
    {
        // Only a write sent after the kill shows the tenant answering again (one sent before may be answered late).
        var sentAfterKill = sinceKill() >= 0;
        try
        {
            var r = await client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body, CancellationToken.None);
            if (!r.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref acked.Failures);
                if (r.StatusCode != HttpStatusCode.ServiceUnavailable) acked.Unknown.Enqueue($"{path}: {(int)r.StatusCode}");
                return null;
            }
            Interlocked.Increment(ref acked.Writes);
            if (sentAfterKill && sinceKill() is var ms && Interlocked.Read(ref acked.FirstWriteAfterKillMs) < 0) Interlocked.Exchange(ref acked.FirstWriteAfterKillMs, ms);
            return await r.Content.ReadFromJsonAsync<JsonElement>();
        }
        catch (HttpRequestException ex)
        {
            Interlocked.Increment(ref acked.Failures);
            acked.Unknown.Enqueue($"{path}: {ex.Message}");
            return null;
        }
        catch (TaskCanceledException)
        {
            Interlocked.Increment(ref acked.Failures);
            acked.Unknown.Enqueue($"{path}: no answer");
            return null;
        }
    }

    // ---- helpers

    private static HttpClient Client(Node node, string token, long? tenant)
    {
        var client = new HttpClient { BaseAddress = new Uri(node.Url), Timeout = TimeSpan.FromSeconds(15) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (tenant is { } t) client.DefaultRequestHeaders.Add("X-Account-ID", t.ToString(CultureInfo.InvariantCulture));
        return client;
    }

    private static async Task<string> SignInAsync(Node node)
    {
        using var client = new HttpClient { BaseAddress = new Uri(node.Url) };
        var r = await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = ServerProcess.AdminPassword });
        return (await Ok(r).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
    }

    /// <summary>The node that runs the tenant, as the node that answers says (X-Lineup-Node), asked through each node.</summary>
    private static async Task<Node> OwnerAsync(List<Node> nodes, string token, long tenant, long queue)
    {
        string? url = null;
        await WaitAsync(async () =>
        {
            var answers = new List<string?>();
            foreach (var n in nodes)
            {
                using var client = Client(n, token, tenant);
                var r = await client.GetAsync(new Uri($"/api/v1/queues/{queue}/status", UriKind.Relative));
                answers.Add(r.IsSuccessStatusCode && r.Headers.TryGetValues("X-Lineup-Node", out var v) ? v.Single() : null);
            }
            url = answers[0];
            return url != null && answers.All(a => a == url);
        }, "every node to agree where the tenant runs");
        return nodes.Single(n => n.Url == url!.TrimEnd('/'));
    }

    private static async Task<List<long>> LiveCallsAsync(HttpClient api, long queue) =>
        [.. (await OkJsonAsync(api, $"/api/v1/queues/{queue}/calls?limit=500")).GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetInt64())];

    private static async Task<List<JsonElement>> StoredEventsAsync(HttpClient api)
    {
        var all = new List<JsonElement>();
        for (long after = 0; ;)
        {
            var page = await OkJsonAsync(api, $"/api/v1/events?after={after}&limit=1000");
            var items = page.GetProperty("items").EnumerateArray().ToList();
            all.AddRange(items);
            if (items.Count < 1000) return all;
            after = items[^1].GetProperty("seq").GetInt64();
        }
    }

    private static async Task<JsonElement> CreatedAsync(HttpClient client, string path, object body)
    {
        var r = await client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);
        Assert.True(r.StatusCode == HttpStatusCode.Created, $"POST {path}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        return await r.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<JsonElement> OkJsonAsync(HttpClient client, string path)
    {
        var r = await client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.True(r.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        return await r.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static HttpResponseMessage Ok(HttpResponseMessage r)
    {
        Assert.True(r.IsSuccessStatusCode, $"{r.RequestMessage?.Method} {r.RequestMessage?.RequestUri}: {(int)r.StatusCode} {r.Content.ReadAsStringAsync().Result}");
        return r;
    }

    /// <summary>Polls until <paramref name="condition"/> holds, for at most 60 s (the cluster runs on a loaded machine).</summary>
    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (Exception) when (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                // a node may still be settling: ask again
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(60)) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(250);
        }
    }

    /// <summary>An SSE client that keeps reading the tenant's stream through one node, reconnecting with Last-Event-ID.</summary>
    private sealed class StreamClient(Func<string?, string> next, string token, long tenant)
    {
        private readonly List<long> _seen = new();
        private readonly ConcurrentQueue<string> _servedBy = new();
        private long _last;
        private int _gaps;
        private int _connections;

        public long LastSeq => Interlocked.Read(ref _last);
        public int Gaps => Volatile.Read(ref _gaps);
        public int Connections => Volatile.Read(ref _connections);

        /// <summary>The node of each connection that got a stream, in order.</summary>
        public IReadOnlyList<string> ServedBy => [.. _servedBy];

        public List<long> Seen
        {
            get
            {
                lock (_seen) return [.. _seen];
            }
        }

        public async Task RunAsync(CancellationToken stop)
        {
            using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            // The next node is chosen from the last one that served the stream, not the last one tried: a 503 while the
            // tenant moves is retried on the same other node rather than bouncing back to the one that served before.
            string? served = null;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var url = next(served);
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(url), "/api/v1/events/stream"));
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                    request.Headers.Add("X-Account-ID", tenant.ToString(CultureInfo.InvariantCulture));
                    if (LastSeq > 0) request.Headers.Add("Last-Event-ID", LastSeq.ToString(CultureInfo.InvariantCulture));
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        await Task.Delay(200, stop);
                        continue;
                    }
                    Interlocked.Increment(ref _connections);
                    _servedBy.Enqueue(url);
                    served = url;
                    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop));
                    long id = 0;
                    string? type = null;
                    while (await reader.ReadLineAsync(stop) is { } line)
                    {
                        if (line.StartsWith("id: ", StringComparison.Ordinal)) id = long.Parse(line[4..], CultureInfo.InvariantCulture);
                        else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
                        else if (line.Length == 0)
                        {
                            if (type == "lineup.gap") Interlocked.Increment(ref _gaps);
                            else if (id > 0)
                            {
                                lock (_seen) _seen.Add(id);
                                Interlocked.Exchange(ref _last, Math.Max(id, LastSeq));
                            }
                            (id, type) = (0, null);
                        }
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException)
                {
                    // The node that ran the tenant died under the stream: reconnect and resume.
                }
                await Task.Delay(200, CancellationToken.None);
            }
        }
    }
}
