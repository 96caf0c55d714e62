using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Lineup.Server.Tests.Telephony;
using Npgsql;
using Xunit.Abstractions;
using static Lineup.Server.Tests.Cluster.ClusterTelephonyFixture;

namespace Lineup.Server.Tests.Cluster;

/// <summary>
/// Telephony across the cluster as docs/cluster.md ("Telephony") sets it up: three nodes on 127.0.0.1-3 with SIP and
/// media, one PostgreSQL, and Kamailio in front running the shipped <c>deploy/kamailio/kamailio.cfg</c>. Agents'
/// phones (sipp) register through Kamailio; callers (sipp) call through Kamailio or straight at one node. A call
/// whose media node is not the tenant's node is answered with media both ways; then the node carrying a talking
/// call and a waiting caller is killed with SIGKILL: both calls end as lost_on_node_failure, the talking agent is
/// available again, the caller waiting on a surviving node keeps its place and is answered, and new calls through
/// Kamailio succeed (within 5 s in bench/sip/cluster.sh; the test allows twice that on a loaded machine).
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class ClusterTelephonyEndToEndTests(ITestOutputHelper output)
{
    private const string Support = "7001";
    private const string Sales = "7002";
    private const string Nobody = "7003";

    private sealed record Node(int Index, ServerProcess Process, int SipPort)
    {
        public string Url => Process.BaseAddress.ToString().TrimEnd('/');
        public string Sip => string.Create(CultureInfo.InvariantCulture, $"127.0.0.{Index}:{SipPort}");
        public string Ip => string.Create(CultureInfo.InvariantCulture, $"127.0.0.{Index}");
    }

    private sealed record Agent(long Id, string Number, string Password);

    [PostgresFact]
    public async Task Calls_cross_nodes_through_Kamailio_and_a_dead_media_node_leaves_nothing_stuck()
    {
        _ = Sipp.Executable;
        var clock = Stopwatch.StartNew();
        void Phase(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  {what}");
        await using var db = await TestPostgres.CreateDatabaseAsync(output);
        var nodes = new List<Node>();
        var sipps = new List<Sipp>();
        var probes = new List<RtpProbe>();
        Kamailio? kamailio = null;
        var rtp = RtpBlocks(3);
        try
        {
            nodes.AddRange(await Task.WhenAll(Enumerable.Range(1, 3).Select(i => StartNodeAsync(i, db.ConnectionString, rtp[i - 1]))));
            kamailio = await Kamailio.StartAsync(nodes.Select(n => n.Sip));
            Phase($"three nodes and Kamailio on {kamailio.Address} ready");

            using var signedIn = await SignInAsync(nodes[0]);
            var queue = await QueueAsync(signedIn, "support", Support);
            var sales = await QueueAsync(signedIn, "sales", Sales);
            await QueueAsync(signedIn, "nobody", Nobody);
            var owner = await OwnerAsync(nodes, signedIn, queue);
            var others = nodes.Where(n => n != owner).ToList();
            // The API through the tenant's node, which the test never kills.
            using var api = new HttpClient { BaseAddress = new Uri(owner.Url), Timeout = TimeSpan.FromSeconds(15) };
            api.DefaultRequestHeaders.Authorization = signedIn.DefaultRequestHeaders.Authorization;
            var first = await AgentAsync(api, queue, "2001", 1);
            var second = await AgentAsync(api, sales, "2002", 1);
            Phase($"the tenant runs on node {owner.Index}");

            // 1. A call whose media is on a node that does not run the tenant, to a phone registered through Kamailio:
            //    answered, and each side hears the other.
            var agentMedia = Track(probes, new RtpProbe(Tone.FirstAgent));
            var phone = Track(sipps, await PhoneAsync(kamailio, first, "agent-answer.xml", agentMedia, new() { ["ring_ms"] = "300" }));
            var callerMedia = Track(probes, new RtpProbe(Tone.Caller));
            var caller = Track(sipps, await CallAsync(others[0].Sip, Support, "caller.xml", callerMedia, new() { ["talk_ms"] = "10000" }));
            (await caller.WaitAsync()).AssertSucceeded();
            (await phone.WaitAsync()).AssertSucceeded();
            var answered = await CdrsAsync(api, queue, 1);
            Assert.Equal("answered", answered[0].GetProperty("disposition").GetString());
            Assert.Equal(first.Id, answered[0].GetProperty("agent_id").GetInt64());
            Hearing.Bridged(callerMedia, "the caller", agentMedia, "the agent");
            Phase($"a call with media on node {others[0].Index} and the tenant on node {owner.Index} was answered, media both ways");

            // 2. On the node to be killed: a talking call (the second agent, in another queue) and a caller waiting
            //    (nobody ready); on a surviving node, a caller waiting behind it.
            var victim = others[1];
            var survivor = others[0];
            await StatusAsync(api, first, "not_ready");
            var talkingMedia = Track(probes, new RtpProbe(Tone.SecondAgent));
            Track(sipps, await PhoneAsync(kamailio, second, "agent-answer.xml", talkingMedia, new() { ["ring_ms"] = "200" }));
            var talkerMedia = Track(probes, new RtpProbe(Tone.Caller));
            Track(sipps, await CallAsync(victim.Sip, Sales, "caller.xml", talkerMedia, new() { ["talk_ms"] = "60000" }));
            var talking = await WaitForCallAsync(api, sales, "connected");
            var lostWaiting = Track(sipps, await CallAsync(victim.Sip, Support, "caller-abandons.xml", null, new() { ["wait_ms"] = "60000" }));
            var waitingThere = await WaitForCallAsync(api, queue, "waiting");
            var keptMedia = Track(probes, new RtpProbe(Tone.Caller));
            var kept = Track(sipps, await CallAsync(survivor.Sip, Support, "caller.xml", keptMedia, new() { ["talk_ms"] = "20000" }));
            var keptCall = await WaitForCallAsync(api, queue, "waiting", except: waitingThere);
            Assert.Equal(victim.Ip, await MediaNodeAsync(db.ConnectionString, talking));
            Assert.Equal(victim.Ip, await MediaNodeAsync(db.ConnectionString, waitingThere));
            Assert.Equal(survivor.Ip, await MediaNodeAsync(db.ConnectionString, keptCall));
            Phase($"node {victim.Index}: call {talking} talking, call {waitingThere} waiting; node {survivor.Index}: call {keptCall} waiting; SIGKILL to node {victim.Index}");

            victim.Process.Kill();
            var killed = Stopwatch.StartNew();
            // New calls through Kamailio, at once: each is answered (Lineup answers a queue call with music) soon (see the bound below).
            // Six at once: Kamailio hashes each Call-ID to a node, so some go to the dead node first and are moved on.
            var fresh = Enumerable.Range(0, 6).Select(_ => FreshCallAsync(kamailio, sipps)).ToList();

            // Both calls of the dead node end as lost; the talking agent is available again.
            var lostTalk = (await CdrsAsync(api, sales, 1)).Single();
            Assert.Equal(talking, lostTalk.GetProperty("call_id").GetInt64());
            Assert.Equal("lost_on_node_failure", lostTalk.GetProperty("disposition").GetString());
            Assert.Equal(second.Id, lostTalk.GetProperty("agent_id").GetInt64());
            var lostWait = (await CdrsAsync(api, queue, 2)).Single(c => c.GetProperty("call_id").GetInt64() == waitingThere);
            Assert.Equal("lost_on_node_failure", lostWait.GetProperty("disposition").GetString());
            Phase($"both calls of node {victim.Index} ended as lost_on_node_failure {killed.Elapsed.TotalSeconds:F1} s after the kill");
            await WaitAsync(async () =>
            {
                var state = (await OkJsonAsync(api, $"/api/v1/agents/{second.Id}")).GetProperty("state");
                return state.GetProperty("status").GetString() == "ready" && state.GetProperty("activity").GetString() == "idle";
            }, "the talking agent to be ready and idle again");
            Phase("the agent of the lost talk is ready again");

            // The caller waiting on the surviving node kept its place: the first agent, ready again, answers it.
            var againMedia = Track(probes, new RtpProbe(Tone.FirstAgent));
            var again = Track(sipps, await PhoneAsync(kamailio, first, "agent-answer.xml", againMedia, new() { ["ring_ms"] = "200" }));
            await StatusAsync(api, first, "ready");
            (await kept.WaitAsync()).AssertSucceeded();
            (await again.WaitAsync()).AssertSucceeded();
            var keptCdr = (await CdrsAsync(api, queue, 3)).Single(c => c.GetProperty("call_id").GetInt64() == keptCall);
            Assert.Equal("answered", keptCdr.GetProperty("disposition").GetString());
            Assert.Equal(first.Id, keptCdr.GetProperty("agent_id").GetInt64());
            Hearing.HeardMusicBefore(keptMedia, "the caller waiting on the surviving node", Tone.FirstAgent);
            Hearing.Bridged(keptMedia, "the caller waiting on the surviving node", againMedia, "the agent");
            Phase($"the caller waiting on node {survivor.Index} was answered afterwards");

            foreach (var setup in await Task.WhenAll(fresh))
            {
                Phase($"a new call through Kamailio answered {setup.TotalSeconds:F1} s after it was placed");
                // The target is 5 s (bench/sip/cluster.sh measures it: about 2 s); the bound here is twice that,
                // for a saturated 2-core machine (the time includes starting sipp), as the cluster test does for timers.
                Assert.True(setup <= TimeSpan.FromSeconds(10), $"a new call after the kill took {setup.TotalSeconds:F1} s");
            }
            _ = lostWaiting;
        }
        catch
        {
            foreach (var n in nodes) output.WriteLine($"--- node {n.Index}\n{n.Process.Output}");
            if (kamailio != null) output.WriteLine($"--- kamailio\n{kamailio.Output}");
            throw;
        }
        finally
        {
            foreach (var s in sipps) await s.DisposeAsync();
            foreach (var p in probes) await p.DisposeAsync();
            if (kamailio != null) await kamailio.DisposeAsync();
            foreach (var n in nodes) await n.Process.DisposeAsync();
        }
    }

    private static T Track<T>(List<T> list, T item)
    {
        list.Add(item);
        return item;
    }

    private static async Task<Node> StartNodeAsync(int i, string database, int rtpMin)
    {
        var node = await StartSipNodeAsync(i, database, rtpMin, []);
        return new Node(node.Index, node.Process, node.SipPort);
    }

    /// <summary>A phone answering one call (a UAS scenario), registered through Kamailio.</summary>
    private static async Task<Sipp> PhoneAsync(Kamailio kamailio, Agent agent, string scenario, RtpProbe? media, Dictionary<string, string> keys)
    {
        var mediaPort = Sipp.FreeMediaPorts();
        keys["rtp_port"] = (media?.Port ?? mediaPort).ToString(CultureInfo.InvariantCulture);
        keys["report_media"] = media != null ? "1" : "0";
        keys.TryAdd("play", "0");
        var phone = await Sipp.StartAsync(new SippOptions(scenario) { MediaPort = mediaPort, Keys = keys, RtpEcho = media == null, Timeout = TimeSpan.FromSeconds(90) });
        media?.StartSending(phone.RemoteMediaAsync);
        await using var register = await Sipp.StartAsync(new SippOptions("agent-register.xml")
        {
            Remote = kamailio.Address,
            CsvLines = [$"{agent.Number};{agent.Password}"],
            AuthUser = agent.Number,
            AuthPassword = agent.Password,
            Keys = new Dictionary<string, string> { ["contact_port"] = phone.Port.ToString(CultureInfo.InvariantCulture), ["expires"] = "3600" },
            Extra = ["-default_behaviors", "all,-bye"],
            Timeout = TimeSpan.FromSeconds(15),
        });
        (await register.WaitAsync()).AssertSucceeded();
        return phone;
    }

    /// <summary>A caller to the queue's extension at <paramref name="remote"/> (Kamailio or a node).</summary>
    private static async Task<Sipp> CallAsync(string remote, string extension, string scenario, RtpProbe? probe, Dictionary<string, string> keys)
    {
        var options = new SippOptions(scenario) { Remote = remote, Service = extension, Timeout = TimeSpan.FromSeconds(90), MediaPort = Sipp.FreeMediaPorts() };
        keys["play"] = "0";
        keys["rtp_port"] = (probe?.Port ?? options.MediaPort).ToString(CultureInfo.InvariantCulture);
        var caller = await Sipp.StartAsync(options with { Keys = keys, RtpEcho = probe == null });
        probe?.StartSending();
        return caller;
    }

    /// <summary>A caller through Kamailio who waits a second with the music and hangs up; the time from placing it to
    /// Lineup's answer (its run minus the second it waited).</summary>
    private static async Task<TimeSpan> FreshCallAsync(Kamailio kamailio, List<Sipp> sipps)
    {
        var placed = Stopwatch.StartNew();
        var caller = await CallAsync(kamailio.Address, Nobody, "caller-abandons.xml", null, new() { ["wait_ms"] = "1000" });
        lock (sipps) sipps.Add(caller);
        (await caller.WaitAsync()).AssertSucceeded();
        return placed.Elapsed - TimeSpan.FromSeconds(1);
    }

    /// <summary>A queue with the extension; wrap-up 0, callers wait however long.</summary>
    private static async Task<long> QueueAsync(HttpClient api, string name, string extension) =>
        (await CreatedAsync(api, "/api/v1/queues", new
        {
            name,
            extension,
            strategy = "top_down",
            ring_timeout = 20,
            wrap_up_time = 0,
            agent_auto_ready = true,
            max_wait = 0,
            max_wait_no_agent = 0,
            leave_when_no_agents = false,
        })).GetProperty("id").GetInt64();

    private static async Task<Agent> AgentAsync(HttpClient api, long queue, string number, int position)
    {
        var password = "sip-" + Guid.NewGuid().ToString("N")[..12];
        var id = (await CreatedAsync(api, "/api/v1/agents", new { name = "agent " + number, number })).GetProperty("id").GetInt64();
        Ok(await api.PutAsJsonAsync(new Uri($"/api/v1/agents/{id}/sip", UriKind.Relative), new { password }));
        await CreatedAsync(api, $"/api/v1/queues/{queue}/members", new { agent_id = id, level = 0, position });
        Ok(await api.PostAsync(new Uri($"/api/v1/agents/{id}/login", UriKind.Relative), null));
        return new Agent(id, number, password);
    }

    private static async Task StatusAsync(HttpClient api, Agent agent, string status) =>
        Ok(await api.PutAsJsonAsync(new Uri($"/api/v1/agents/{agent.Id}/status", UriKind.Relative), new { status }));

    /// <summary>The id of the queue's one call in <paramref name="state"/> (other than <paramref name="except"/>).</summary>
    private static async Task<long> WaitForCallAsync(HttpClient api, long queue, string state, long except = 0)
    {
        long found = 0;
        await WaitAsync(async () =>
        {
            var items = (await OkJsonAsync(api, $"/api/v1/queues/{queue}/calls")).GetProperty("items").EnumerateArray()
                .Where(c => c.GetProperty("state").GetString() == state && c.GetProperty("id").GetInt64() != except).ToList();
            found = items.Count == 1 ? items[0].GetProperty("id").GetInt64() : 0;
            return found != 0;
        }, $"a call {state} in queue {queue}");
        return found;
    }

    /// <summary>The IP address of the node that carries the call's media, as the cluster stored it.</summary>
    private static async Task<string> MediaNodeAsync(string database, long call)
    {
        await using var c = new NpgsqlConnection(database);
        var node = await c.QuerySingleAsync<string>("SELECT node FROM sip_media_calls WHERE call_id = @call", new { call });
        return node[..node.IndexOf(':', StringComparison.Ordinal)];
    }

    private static async Task<List<JsonElement>> CdrsAsync(HttpClient api, long queue, int count)
    {
        var items = new List<JsonElement>();
        await WaitAsync(async () =>
        {
            items = [.. (await OkJsonAsync(api, $"/api/v1/cdrs?queue_id={queue}")).GetProperty("items").EnumerateArray().Select(e => e.Clone())];
            return items.Count >= count;
        }, $"{count} CDRs of queue {queue}");
        return items;
    }

    private static async Task<HttpClient> SignInAsync(Node node)
    {
        var client = new HttpClient { BaseAddress = new Uri(node.Url), Timeout = TimeSpan.FromSeconds(15) };
        var r = Ok(await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = ServerProcess.AdminPassword, tenant = "default" }));
        var token = (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>The node that runs the tenant (X-Lineup-Node names its URL).</summary>
    private static async Task<Node> OwnerAsync(List<Node> nodes, HttpClient api, long queue)
    {
        Node? owner = null;
        await WaitAsync(async () =>
        {
            var r = await api.GetAsync(new Uri($"/api/v1/queues/{queue}/status", UriKind.Relative));
            var url = r.IsSuccessStatusCode && r.Headers.TryGetValues("X-Lineup-Node", out var v) ? v.Single().TrimEnd('/') : null;
            owner = nodes.FirstOrDefault(n => n.Url == url);
            return owner != null;
        }, "the tenant's node");
        return owner!;
    }

    private static async Task<JsonElement> CreatedAsync(HttpClient client, string path, object body)
    {
        var r = await client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);
        Assert.True(r.StatusCode == HttpStatusCode.Created, $"POST {path}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        return await r.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<JsonElement> OkJsonAsync(HttpClient client, string path) =>
        await Ok(await client.GetAsync(new Uri(path, UriKind.Relative))).Content.ReadFromJsonAsync<JsonElement>();
}
