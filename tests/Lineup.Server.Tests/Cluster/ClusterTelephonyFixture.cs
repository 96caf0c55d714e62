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

namespace Lineup.Server.Tests.Cluster;

/// <summary>One node of a test cluster with SIP: its process, its SIP port on 127.0.0.N.</summary>
public sealed record SipNode(int Index, ServerProcess Process, int SipPort)
{
    public string Url => Process.BaseAddress.ToString().TrimEnd('/');
    public string Sip => string.Create(CultureInfo.InvariantCulture, $"127.0.0.{Index}:{SipPort}");
    public string Ip => string.Create(CultureInfo.InvariantCulture, $"127.0.0.{Index}");
}

/// <summary>An agent made for a cluster test: its number is its SIP user.</summary>
public sealed record ClusterAgent(long Id, string Number, string Password);

/// <summary>
/// A telephony cluster as docs/cluster.md ("Telephony") deploys it, shared by a test class: three nodes on 127.0.0.1-3
/// with SIP and media, one PostgreSQL, Kamailio in front running the shipped <c>deploy/kamailio/kamailio.cfg</c>
/// unchanged. The nodes share one folder for recordings and media (<c>Sip:RecordingsPath</c>, <c>Sip:MediaPath</c>: the
/// shared storage the docs ask for) and one outbound proxy (a sipp "outside" number a test starts on
/// <see cref="OutsidePort"/>: transfers, callbacks). They keep registrations cached for ten minutes
/// (<c>Cluster:SipCacheSeconds=600</c>), so that only the invalidation can make a node see a change in a test's time.
/// Helpers build queues, agents, phones (registered through Kamailio or at one node) and callers (sent straight to one
/// node, which so becomes the call's media node).
/// </summary>
public sealed class ClusterTelephonyFixture : IAsyncLifetime
{
    private readonly string _shared = Path.Combine(Path.GetTempPath(), "lineup-cluster-shared-" + Guid.NewGuid().ToString("N"));
    private readonly List<SipNode> _nodes = [];
    private TestDatabase? _db;
    private HttpClient? _api;
    private int _next;

    public IReadOnlyList<SipNode> Nodes => _nodes;

    public Kamailio? Kamailio { get; private set; }

    /// <summary>The node that runs the tenant (the test classes that use this fixture never kill a node).</summary>
    public SipNode Owner { get; private set; } = null!;

    /// <summary>The two nodes that do not run the tenant: calls sent to them have their media away from the tenant.</summary>
    public IReadOnlyList<SipNode> Others => [.. _nodes.Where(n => n != Owner)];

    /// <summary>The admin API through the tenant's node.</summary>
    public HttpClient Api => _api ?? throw new InvalidOperationException("not started");

    public string Database => _db?.ConnectionString ?? throw new InvalidOperationException("not started");

    /// <summary>Every node's <c>Sip:OutboundProxy</c>: a test's outside number (transfer-target.xml) listens here.</summary>
    public int OutsidePort { get; } = Sipp.FreeUdpPort();

    public async Task InitializeAsync()
    {
        if (TestPostgres.SkipReason != null) return; // the [PostgresFact]s are skipped, and say why
        _ = Sipp.Executable;
        _db = await TestPostgres.CreateDatabaseAsync(new Quiet());
        Directory.CreateDirectory(_shared);
        var rtp = RtpBlocks(3);
        _nodes.AddRange(await Task.WhenAll(Enumerable.Range(1, 3).Select(i => StartNodeAsync(i, rtp[i - 1]))));
        Kamailio = await Kamailio.StartAsync(_nodes.Select(n => n.Sip));
        _api = new HttpClient { BaseAddress = new Uri(_nodes[0].Url), Timeout = TimeSpan.FromSeconds(30) };
        var login = await _api.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = ServerProcess.AdminPassword, tenant = "default" });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString();
        _api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        string? url = null;
        await WaitAsync(async () =>
        {
            using var r = await _api.GetAsync(new Uri("/api/v1/queues", UriKind.Relative));
            url = r.IsSuccessStatusCode && r.Headers.TryGetValues("X-Lineup-Node", out var v) ? v.Single().TrimEnd('/') : null;
            return url != null;
        }, "the tenant's node");
        Owner = _nodes.Single(n => n.Url == url);
        _api.Dispose();
        _api = new HttpClient { BaseAddress = new Uri(Owner.Url), Timeout = TimeSpan.FromSeconds(30) };
        _api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public async Task DisposeAsync()
    {
        _api?.Dispose();
        if (Kamailio != null) await Kamailio.DisposeAsync();
        foreach (var n in _nodes) await n.Process.DisposeAsync();
        if (_db != null) await _db.DisposeAsync();
        try
        {
            if (Directory.Exists(_shared)) Directory.Delete(_shared, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Every node's output and Kamailio's, for a failing test's log.</summary>
    public string Output() =>
        string.Join("\n", _nodes.Select(n => $"--- node {n.Index}\n{n.Process.Output}")) + $"\n--- kamailio\n{Kamailio?.Output}";

    private Task<SipNode> StartNodeAsync(int i, int rtpMin) => StartSipNodeAsync(i, _db!.ConnectionString, rtpMin,
    [
        "--Cluster:SipCacheSeconds=600",
        $"--Sip:OutboundProxy=127.0.0.1:{OutsidePort}",
        $"--Sip:RecordingsPath={Path.Combine(_shared, "recordings")}",
        $"--Sip:MediaPath={Path.Combine(_shared, "media")}",
    ]);

    /// <summary>Starts node <paramref name="i"/> of a cluster with SIP and media on 127.0.0.<paramref name="i"/>, its RTP
    /// ports from <paramref name="rtpMin"/> (<see cref="RtpBlocks"/>), and <paramref name="extra"/> arguments.</summary>
    public static async Task<SipNode> StartSipNodeAsync(int i, string database, int rtpMin, IEnumerable<string> extra)
    {
        var sip = Sipp.FreeUdpPort();
        var process = await ServerProcess.StartAsync(Path.Combine(Path.GetTempPath(), "lineup-cluster-sip-" + Guid.NewGuid().ToString("N")), database,
        [
            "--Cluster:Enabled=true",
            $"--Cluster:AdvertisedAddress=127.0.0.{i}",
            $"--Cluster:SiloPort={ServerProcess.FreePort()}",
            "--Sip:Enabled=true",
            $"--Sip:Listen=127.0.0.{i}:{sip}",
            $"--Sip:PublicAddress=127.0.0.{i}",
            "--Sip:Overload:MaxReceiveDelayMs=0", // as in SipServerFixture: a late-scheduled receive loop must not refuse test calls
            $"--Sip:RtpPortMin={rtpMin}",
            $"--Sip:RtpPortMax={rtpMin + RtpBlock - 1}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Lineup.Server.Telephony=Information",
            .. extra,
        ], host: $"127.0.0.{i}");
        return new SipNode(i, process, sip);
    }

    /// <summary>RTP ports per node: wide, since the machine is shared (other servers, sipp and probes take ports in the
    /// same 20000-31999 area, below the ephemeral range): a node runs out only when every one of them is taken.</summary>
    private const int RtpBlock = 500;

    /// <summary><paramref name="count"/> distinct random blocks of <see cref="RtpBlock"/> ports in 20000-31999.</summary>
    public static int[] RtpBlocks(int count) =>
        [.. Enumerable.Range(0, 12_000 / RtpBlock).OrderBy(_ => Random.Shared.Next()).Take(count).Select(b => 20_000 + (b * RtpBlock))];

    /// <summary>A queue with a fresh extension, wrap-up 0, callers waiting however long unless <paramref name="settings"/>
    /// say otherwise (merged over these); returns its id and extension.</summary>
    public async Task<(long Id, string Extension)> QueueAsync(string name, object settings)
    {
        var extension = string.Create(CultureInfo.InvariantCulture, $"7{Interlocked.Increment(ref _next):D2}");
        return ((await CreatedAsync("/api/v1/queues", SipServerFixture.QueueBody(name, extension, settings))).GetProperty("id").GetInt64(), extension);
    }

    /// <summary>An agent with a SIP password, logged in; a member of <paramref name="queue"/> when given.</summary>
    public async Task<ClusterAgent> AgentAsync(long? queue, int position = 1)
    {
        var number = string.Create(CultureInfo.InvariantCulture, $"2{Interlocked.Increment(ref _next):D3}");
        var password = "sip-" + Guid.NewGuid().ToString("N")[..12];
        var id = (await CreatedAsync("/api/v1/agents", new { name = "agent " + number, number })).GetProperty("id").GetInt64();
        Ok(await Api.PutAsJsonAsync(new Uri($"/api/v1/agents/{id}/sip", UriKind.Relative), new { password }));
        if (queue is { } q)
        {
            await CreatedAsync($"/api/v1/queues/{q}/members", new { agent_id = id, level = 0, position });
            Ok(await Api.PostAsync(new Uri($"/api/v1/agents/{id}/login", UriKind.Relative), null));
        }
        return new ClusterAgent(id, number, password);
    }

    public async Task StatusAsync(ClusterAgent agent, string status) =>
        Ok(await Api.PutAsJsonAsync(new Uri($"/api/v1/agents/{agent.Id}/status", UriKind.Relative), new { status }));

    /// <summary>The agent's phone answering one call (a UAS scenario), registered through <paramref name="registrar"/>
    /// (Kamailio when null). With <paramref name="media"/>, the probe is its media end.</summary>
    public async Task<Sipp> PhoneAsync(ClusterAgent agent, string scenario, RtpProbe? media, Dictionary<string, string> keys, string? registrar = null)
    {
        var mediaPort = Sipp.FreeMediaPorts();
        keys["rtp_port"] = Num(media?.Port ?? mediaPort);
        keys["report_media"] = media != null ? "1" : "0";
        keys.TryAdd("play", "0");
        var phone = await Sipp.StartAsync(new SippOptions(scenario) { MediaPort = mediaPort, Keys = keys, RtpEcho = media == null, Timeout = TimeSpan.FromSeconds(90) });
        media?.StartSending(phone.RemoteMediaAsync);
        await RegisterAsync(agent, phone.Port, registrar ?? Kamailio!.Address, unregister: false);
        return phone;
    }

    /// <summary>REGISTER (or unREGISTER) the agent's contact 127.0.0.1:<paramref name="contactPort"/> at
    /// <paramref name="registrar"/> (Kamailio or one node's SIP address).</summary>
    public async Task RegisterAsync(ClusterAgent agent, int contactPort, string registrar, bool unregister)
    {
        await using var register = await Sipp.StartAsync(new SippOptions(unregister ? "agent-unregister.xml" : "agent-register.xml")
        {
            Remote = registrar,
            CsvLines = [$"{agent.Number};{agent.Password}"],
            AuthUser = agent.Number,
            AuthPassword = agent.Password,
            Keys = new Dictionary<string, string> { ["contact_port"] = Num(contactPort), ["expires"] = "3600" },
            Extra = ["-default_behaviors", "all,-bye"],
            Timeout = TimeSpan.FromSeconds(15),
        });
        (await register.WaitAsync()).AssertSucceeded();
    }

    /// <summary>A caller to <paramref name="extension"/> sent straight to <paramref name="node"/> (its media node). With a
    /// probe, the probe is its media end and sends the caller's tone.</summary>
    public static async Task<Sipp> CallAsync(SipNode node, string extension, string scenario, RtpProbe? probe, Dictionary<string, string> keys)
    {
        var options = new SippOptions(scenario) { Remote = node.Sip, Service = extension, Timeout = TimeSpan.FromSeconds(90), MediaPort = Sipp.FreeMediaPorts() };
        keys["play"] = "0";
        keys["rtp_port"] = Num(probe?.Port ?? options.MediaPort);
        var caller = await Sipp.StartAsync(options with { Keys = keys, RtpEcho = probe == null });
        probe?.StartSending();
        return caller;
    }

    /// <summary>A caller to <paramref name="extension"/> at <paramref name="node"/> pressing <paramref name="key"/> (an RFC
    /// 2833 event from sip-tester's pcaps) after 1.5 s, then waiting for Lineup's BYE (caller-dtmf.xml).</summary>
    public static Task<Sipp> CallPressingAsync(SipNode node, string extension, char key) =>
        Sipp.StartAsync(new SippOptions("caller-dtmf.xml")
        {
            Remote = node.Sip,
            Service = extension,
            Links = new Dictionary<string, string> { ["dtmf.pcap"] = Path.Combine(Sipp.PcapDirectory, $"dtmf_2833_{key}.pcap") },
            Timeout = TimeSpan.FromSeconds(60),
            MediaPort = Sipp.FreeMediaPorts(),
        }.WithRtpPortFromMediaPort(new() { ["dtmf_after_ms"] = "1500" }));

    /// <summary>The outside number <paramref name="number"/> behind the nodes' outbound proxy, answering the call Lineup
    /// places to it (a transfer, a callback, a supervisor) and waiting for Lineup's BYE.</summary>
    public async Task<Sipp> OutsideAsync(string number, RtpProbe media)
    {
        var mediaPort = Sipp.FreeMediaPorts();
        var outside = await Sipp.StartAsync(new SippOptions("transfer-target.xml")
        {
            Port = OutsidePort,
            MediaPort = mediaPort,
            Keys = new Dictionary<string, string> { ["target"] = number, ["rtp_port"] = Num(media.Port), ["report_media"] = "1", ["play"] = "0" },
            Timeout = TimeSpan.FromSeconds(90),
        });
        media.StartSending(outside.RemoteMediaAsync);
        return outside;
    }

    /// <summary>The id of the queue's one live call in <paramref name="state"/> (any state when null; waits for it).</summary>
    public async Task<long> CallInStateAsync(long queue, string? state)
    {
        long found = 0;
        await WaitAsync(async () =>
        {
            var items = (await GetJsonAsync($"/api/v1/queues/{queue}/calls")).GetProperty("items").EnumerateArray()
                .Where(c => state == null || c.GetProperty("state").GetString() == state).ToList();
            found = items.Count == 1 ? items[0].GetProperty("id").GetInt64() : 0;
            return found != 0;
        }, $"a call {state ?? "live"} in queue {queue}");
        return found;
    }

    /// <summary>The IP address of the node that carries the live call's media, as the cluster stored it (the tenant's
    /// node stores it just after the call is enqueued: waits for it).</summary>
    public async Task<string> MediaNodeAsync(long call)
    {
        string? node = null;
        await WaitAsync(async () =>
        {
            await using var c = new NpgsqlConnection(Database);
            node = await c.QuerySingleOrDefaultAsync<string>("SELECT node FROM sip_media_calls WHERE call_id = @call", new { call });
            return node != null;
        }, $"the media node of call {call} in sip_media_calls");
        return node![..node!.IndexOf(':', StringComparison.Ordinal)];
    }

    /// <summary>The precondition of every test here: the call's media is on <paramref name="node"/>, not on the tenant's node.</summary>
    public async Task AssertMediaAwayFromTenantAsync(long call, SipNode node)
    {
        var media = await MediaNodeAsync(call);
        Assert.Equal(node.Ip, media);
        Assert.NotEqual(Owner.Ip, media);
    }

    /// <summary>The queue's CDRs once there are <paramref name="count"/>.</summary>
    public async Task<List<JsonElement>> CdrsAsync(long queue, int count = 1)
    {
        var items = new List<JsonElement>();
        await WaitAsync(async () =>
        {
            items = [.. (await GetJsonAsync($"/api/v1/cdrs?queue_id={queue}")).GetProperty("items").EnumerateArray().Select(e => e.Clone())];
            return items.Count >= count;
        }, $"{count} CDR(s) of queue {queue}");
        return items;
    }

    public async Task<JsonElement> GetJsonAsync(string path) =>
        await Ok(await Api.GetAsync(new Uri(path, UriKind.Relative))).Content.ReadFromJsonAsync<JsonElement>();

    public async Task<JsonElement> CreatedAsync(string path, object body)
    {
        var r = await Api.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);
        Assert.True(r.StatusCode == HttpStatusCode.Created, $"POST {path}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        return await r.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static HttpResponseMessage Ok(HttpResponseMessage r)
    {
        Assert.True(r.IsSuccessStatusCode, $"{r.RequestMessage?.Method} {r.RequestMessage?.RequestUri}: {(int)r.StatusCode} {r.Content.ReadAsStringAsync().Result}");
        return r;
    }

    /// <summary>Polls until <paramref name="condition"/> holds, for at most 60 s (a loaded 2-core machine).</summary>
    public static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                if (await condition()) return;
            }
            catch (HttpRequestException)
            {
                // ask again
            }
            await Task.Delay(200);
        }
        Assert.Fail($"waited 60 s for {what}");
    }

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The fixture has no test's output to write to.</summary>
    private sealed class Quiet : ITestOutputHelper
    {
        public void WriteLine(string message)
        {
        }

        public void WriteLine(string format, params object[] args)
        {
        }
    }
}
