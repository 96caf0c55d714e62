using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace Lineup.Server.Tests;

/// <summary>
/// The durability promise, end to end: the real server (started with the README's command) takes concurrent call
/// control and agent traffic, is killed with SIGKILL in the middle of it, and is started again on the same data. Every
/// write that was answered with a 2xx must be there afterwards: configuration, agent statuses and logins, calls made
/// through call control (still live, or ended with a CDR), and the CDRs of calls that ended. A write whose answer never
/// came (in flight at the kill) may or may not have been applied, so its target may show either outcome.
/// </summary>
public sealed class EndToEndTests(ITestOutputHelper output)
{
    private const int Clients = 4;
    private const int AgentsPerClient = 3;
    private const int KillAfterAcknowledgedWrites = 300;
    private const int MaxStepsPerClient = 5000;
    private const int MaxWaitingPerClient = 12;
    private const string SupervisorName = "e2e-supervisor";
    private const string SupervisorPassword = "e2e-supervisor-password";
    private static readonly string[] Strategies = ["longest_idle", "ring_all", "round_robin", "fewest_calls"];
    private static readonly string[] Reasons = ["BREAK", "LUNCH", "TRAINING"];

    [Fact]
    public Task Acknowledged_writes_survive_kill_9_and_restart_on_sqlite() => KillAndRestartAsync(database: null, output);

    /// <summary>The whole scenario against SQLite in a temporary data directory (<paramref name="database"/> null) or
    /// against the PostgreSQL database it names.</summary>
    internal static async Task KillAndRestartAsync(string? database, ITestOutputHelper output)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "lineup-e2e-" + Guid.NewGuid().ToString("N"));
        ServerProcess? first = null;
        ServerProcess? second = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Phase(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  {what}");
        try
        {
            first = await ServerProcess.StartAsync(dataDir, database);
            Phase($"server ready (dotnet run pid {first.Pid}, server pid {string.Join(',', first.ChildPids)})");
            Assert.NotEmpty(first.ChildPids); // dotnet run started the server as a child process
            using var admin = first.CreateClient();
            var token = await SignInAsync(admin, "admin", ServerProcess.AdminPassword);
            var world = await SetUpAsync(admin);
            Phase("queues, agents, members and logins set up");

            var control = new LoadControl(KillAfterAcknowledgedWrites);
            var drivers = world.Clients.Select(c => Task.Run(() => DriveAsync(c, first, token, control))).ToArray();
            var load = Task.WhenAll(drivers);
            if (await Task.WhenAny(control.ThresholdReached, load) == load)
            {
                await load;
                Assert.Fail($"The load stopped after {control.Acknowledged} acknowledged writes, before the kill.");
            }
            control.KillRequested = true;
            first.Kill();
            Phase("SIGKILL sent and every process gone");
            await load;

            var inFlight = world.Clients.Count(c => c.InFlight != null);
            output.WriteLine($"killed after {control.Acknowledged} acknowledged writes; {inFlight} write(s) in flight: " +
                string.Join("; ", world.Clients.Where(c => c.InFlight != null).Select(c => $"client {c.Index}: {c.InFlight!.What}")));
            foreach (var c in world.Clients)
                output.WriteLine($"client {c.Index}: {c.Acknowledged} acknowledged, calls {c.Calls.Count} " +
                    $"(waiting {c.CallsIn("waiting").Count}, connected {c.CallsIn("connected").Count}, ended " +
                    string.Join(' ', c.Calls.Values.Where(v => v.State == "ended").GroupBy(v => v.Disposition).Select(g => $"{g.Key}x{g.Count()}")) + "), " +
                    $"refused {string.Join(' ', c.Refused.Select(kv => $"{kv.Key}x{kv.Value}"))}");
            var serverErrors = world.Clients.SelectMany(c => c.ServerErrors).ToList();
            Assert.True(serverErrors.Count == 0, "5xx answers under load:\n" + string.Join('\n', serverErrors));

            second = await ServerProcess.StartAsync(dataDir, database);
            Phase("restarted server ready");
            using var after = second.CreateClient();
            // The session is an acknowledged write too: the token issued before the kill still works.
            after.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var failures = await VerifyAsync(after, world);
            Phase("every acknowledged write checked");
            Assert.True(failures.Count == 0, $"{failures.Count} acknowledged write(s) lost or changed after kill -9:\n" + string.Join('\n', failures.Take(50)));

            // And the restarted server carries on: a new call gets an id never used before the kill.
            var c0 = world.Clients[0];
            var created = await after.PostAsJsonAsync("/api/v1/calls", new { queue_id = c0.QueueId, caller_number = "+15550000001" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var newId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
            Assert.DoesNotContain(newId, world.Clients.SelectMany(c => c.Calls.Keys));
            Assert.True(newId > world.Clients.SelectMany(c => c.Calls.Keys).Max(), $"call id {newId} reuses the range before the kill");
        }
        finally
        {
            if (first != null) await first.DisposeAsync();
            if (second != null) await second.DisposeAsync();
            try
            {
                if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    // ---- set-up: a common queue, and per client a queue with its own agents (members of both queues), all logged in

    private static async Task<World> SetUpAsync(HttpClient admin)
    {
        var queueSettings = new { ring_timeout = 3600, wrap_up_time = 0, max_wait = 0, max_wait_no_agent = 0, leave_when_no_agents = false };
        var common = await CreatedAsync(admin, "/api/v1/queues", new
        {
            name = "common",
            strategy = "ring_all",
            queueSettings.ring_timeout,
            queueSettings.wrap_up_time,
            queueSettings.max_wait,
            queueSettings.max_wait_no_agent,
            queueSettings.leave_when_no_agents,
        });
        var commonId = common.GetProperty("id").GetInt64();
        var world = new World(commonId);
        for (var i = 0; i < Clients; i++)
        {
            var queue = await CreatedAsync(admin, "/api/v1/queues", new
            {
                name = $"q{i}",
                strategy = Strategies[i % Strategies.Length],
                queueSettings.ring_timeout,
                queueSettings.wrap_up_time,
                queueSettings.max_wait,
                queueSettings.max_wait_no_agent,
                queueSettings.leave_when_no_agents,
                sla_time = 20,
            });
            var client = new Client(i, queue.GetProperty("id").GetInt64(), commonId, Strategies[i % Strategies.Length]) { SlaTime = 20 };
            for (var j = 0; j < AgentsPerClient; j++)
            {
                var agent = await CreatedAsync(admin, "/api/v1/agents", new { name = $"c{i}-agent{j}", number = $"2{i}{j:D2}" });
                var id = agent.GetProperty("id").GetInt64();
                await CreatedAsync(admin, $"/api/v1/queues/{client.QueueId}/members", new { agent_id = id, level = 0, position = j + 1 });
                await CreatedAsync(admin, $"/api/v1/queues/{commonId}/members", new { agent_id = id, level = 0, position = i * AgentsPerClient + j + 1 });
                var login = await admin.PostAsync(new Uri($"/api/v1/agents/{id}/login", UriKind.Relative), null);
                Assert.Equal(HttpStatusCode.OK, login.StatusCode);
                client.Agents[id] = AgentExpect.Of(await login.Content.ReadFromJsonAsync<JsonElement>());
                client.AgentIds.Add(id);
            }
            world.Clients.Add(client);
        }
        await CreatedAsync(admin, "/api/v1/users", new { username = SupervisorName, password = SupervisorPassword, role = "supervisor" });
        return world;
    }

    // ---- the load: each client owns its queue, agents and calls, and keeps what the server acknowledged

    private static async Task DriveAsync(Client c, ServerProcess server, string token, LoadControl control)
    {
        using var api = server.CreateClient();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
#pragma warning disable CA5394 // a seeded, reproducible workload, not security
        var random = new Random(7919 * (c.Index + 1));
        for (var step = 0; step < MaxStepsPerClient && !control.KillRequested; step++)
        {
            try
            {
                var waiting = c.CallsIn("waiting");
                var connected = c.CallsIn("connected");
                var roll = random.Next(100);
                if (roll < 22 && waiting.Count > 0) await AnswerAsync(c, api, random, control);
                else if (roll < 34 && connected.Count > 0) await HangUpAsync(c, api, connected[random.Next(connected.Count)], random, control);
                else if (roll < 38 && waiting.Count > 0) await AbandonAsync(c, api, waiting[random.Next(waiting.Count)], control);
                else if (roll < 62) await AgentStepAsync(c, api, random, control);
                else if (roll < 66) await ConfigStepAsync(c, api, random, control);
                else if (waiting.Count < MaxWaitingPerClient) await CreateCallAsync(c, api, control);
                else await AgentStepAsync(c, api, random, control);
            }
            catch (Exception ex) when (control.KillRequested && ex is HttpRequestException or TaskCanceledException or IOException)
            {
                return; // the server is gone; whatever was in flight stays recorded as unanswered
            }
        }
#pragma warning restore CA5394
    }

    private static async Task CreateCallAsync(Client c, HttpClient api, LoadControl control)
    {
        var n = ++c.CallsMade;
        var body = new
        {
            queue_id = c.QueueId,
            caller_number = string.Create(CultureInfo.InvariantCulture, $"+1555{c.Index}{n:D5}"),
            external_id = $"e2e-{c.Index}-{n}",
        };
        var created = await WriteAsync(c, api, HttpMethod.Post, "/api/v1/calls", body, new Unanswered("create a call", Target.None, 0, _ => true), control);
        if (created is { } call) c.Calls[call.GetProperty("id").GetInt64()] = CallExpect.Of(call);
    }

    private static async Task AnswerAsync(Client c, HttpClient api, Random random, LoadControl control)
    {
        // What rings right now, as a PBX would know it: the queue's live calls with their offers.
        var ringing = (await ReadAsync(api, $"/api/v1/queues/{c.QueueId}/calls?limit=500")).GetProperty("items").EnumerateArray()
            .Where(x => State(x) == "waiting" && x.GetProperty("offers").GetArrayLength() > 0).ToList();
        if (ringing.Count == 0) return;
#pragma warning disable CA5394
        var call = ringing[random.Next(ringing.Count)];
        var offers = call.GetProperty("offers");
        var agent = offers[random.Next(offers.GetArrayLength())].GetProperty("agent_id").GetInt64();
#pragma warning restore CA5394
        var callId = call.GetProperty("id").GetInt64();
        var answered = await WriteAsync(c, api, HttpMethod.Post, $"/api/v1/calls/{callId}/events", new { type = "agent_answered", agent_id = agent },
            new Unanswered($"answer call {callId} by agent {agent}", Target.Call, callId, a => State(a) == "connected" && AgentOf(a) == agent), control);
        if (answered is { } a) c.Calls[callId] = CallExpect.Of(a);
    }

    private static async Task HangUpAsync(Client c, HttpClient api, long callId, Random random, LoadControl control)
    {
#pragma warning disable CA5394
        var type = random.Next(2) == 0 ? "caller_hangup" : "agent_hangup";
#pragma warning restore CA5394
        var ended = await WriteAsync(c, api, HttpMethod.Post, $"/api/v1/calls/{callId}/events", new { type },
            new Unanswered($"{type} on call {callId}", Target.Call, callId, a => State(a) == "ended" && Disposition(a) == "answered"), control);
        if (ended is { } e) c.Calls[callId] = CallExpect.Of(e);
    }

    private static async Task AbandonAsync(Client c, HttpClient api, long callId, LoadControl control)
    {
        var ended = await WriteAsync(c, api, HttpMethod.Post, $"/api/v1/calls/{callId}/events", new { type = "caller_hangup" },
            new Unanswered($"caller hangs up waiting call {callId}", Target.Call, callId, a => State(a) == "ended"), control);
        if (ended is { } e) c.Calls[callId] = CallExpect.Of(e);
    }

    private static async Task AgentStepAsync(Client c, HttpClient api, Random random, LoadControl control)
    {
#pragma warning disable CA5394
        var agent = c.AgentIds[random.Next(c.AgentIds.Count)];
        var choice = random.Next(20);
        var reason = Reasons[random.Next(Reasons.Length)];
#pragma warning restore CA5394
        var status = $"/api/v1/agents/{agent}/status";
        var login = $"/api/v1/agents/{agent}/login";
        var logout = $"/api/v1/agents/{agent}/logout";
        var own = c.QueueId;
        var common = c.CommonQueueId;
        // Mostly towards available agents, so that calls get answered; now and then out of a queue or out altogether.
        var (method, path, body, unanswered) = choice switch
        {
            <= 6 => (HttpMethod.Put, status, (object?)new { status = "ready" },
                new Unanswered($"agent {agent} ready", Target.Agent, agent, s => Str(s, "status") == "ready")),
            <= 9 => (HttpMethod.Put, status, new { status = "not_ready", reason },
                new Unanswered($"agent {agent} not ready ({reason})", Target.Agent, agent, s => Str(s, "status") == "not_ready" && Str(s, "reason") == reason)),
            <= 11 or >= 18 => (HttpMethod.Post, login, null,
                new Unanswered($"agent {agent} logs in", Target.Agent, agent, s => Str(s, "status") != "logged_out")),
            12 => (HttpMethod.Post, login, new { queue_ids = new[] { own } },
                new Unanswered($"agent {agent} logs in to {own}", Target.Agent, agent, s => Queues(s).Contains(own))),
            13 => (HttpMethod.Post, login, new { queue_ids = new[] { common } },
                new Unanswered($"agent {agent} logs in to {common}", Target.Agent, agent, s => Queues(s).Contains(common))),
            14 or 15 => (HttpMethod.Post, logout, new { queue_ids = new[] { common } },
                new Unanswered($"agent {agent} logs out of {common}", Target.Agent, agent, s => !Queues(s).Contains(common))),
            16 => (HttpMethod.Post, logout, new { queue_ids = new[] { own } },
                new Unanswered($"agent {agent} logs out of {own}", Target.Agent, agent, s => !Queues(s).Contains(own))),
            _ => (HttpMethod.Post, logout, null,
                new Unanswered($"agent {agent} logs out", Target.Agent, agent, s => Str(s, "status") == "logged_out")),
        };
        var answer = await WriteAsync(c, api, method, path, body, unanswered, control);
        if (answer is { } s) c.Agents[agent] = AgentExpect.Of(s);
    }

    private static async Task ConfigStepAsync(Client c, HttpClient api, Random random, LoadControl control)
    {
#pragma warning disable CA5394
        if (random.Next(2) == 0)
        {
            var sla = random.Next(5, 120);
#pragma warning restore CA5394
            var patched = await WriteAsync(c, api, HttpMethod.Patch, $"/api/v1/queues/{c.QueueId}", new { sla_time = sla },
                new Unanswered($"queue {c.QueueId} sla_time {sla}", Target.Queue, c.QueueId, q => q.GetProperty("sla_time").GetInt32() == sla), control);
            if (patched is { } q) c.SlaTime = q.GetProperty("sla_time").GetInt32();
            return;
        }
        var name = $"c{c.Index}-extra{c.ExtraAgents.Count + 1}";
        var created = await WriteAsync(c, api, HttpMethod.Post, "/api/v1/agents", new { name, ring_timeout = 30 },
            new Unanswered($"create agent {name}", Target.None, 0, _ => true), control);
        if (created is { } a) c.ExtraAgents[a.GetProperty("id").GetInt64()] = name;
    }

    /// <summary>Sends a write. Returns the body of a 2xx answer (the write is then acknowledged), or null for a refusal;
    /// until the answer is read, the write stays recorded as the client's unanswered one.</summary>
    private static async Task<JsonElement?> WriteAsync(Client c, HttpClient api, HttpMethod method, string path, object? body, Unanswered unanswered, LoadControl control)
    {
        c.InFlight = unanswered;
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body != null) request.Content = JsonContent.Create(body);
        using var response = await api.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        c.InFlight = null;
        var code = (int)response.StatusCode;
        if (code >= 500) c.ServerErrors.Add($"{method} {path} -> {code} {text}");
        if (!response.IsSuccessStatusCode)
        {
            var key = $"{method.Method[0]}{code}";
            c.Refused[key] = c.Refused.GetValueOrDefault(key) + 1;
            return null;
        }
        c.Acknowledged++;
        control.Acknowledge();
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    // ---- after the restart

    private static async Task<List<string>> VerifyAsync(HttpClient api, World world)
    {
        var failures = new List<string>();
        var cdrs = await AllCdrsAsync(api);
        foreach (var c in world.Clients)
        {
            var unanswered = c.InFlight;
            bool MayBeUnanswered(Target target, long id, JsonElement actual) =>
                unanswered != null && unanswered.Target == target && unanswered.Id == id && unanswered.Applied(actual);

            var queue = await ReadAsync(api, $"/api/v1/queues/{c.QueueId}");
            if (Str(queue, "name") != $"q{c.Index}" || Str(queue, "strategy") != c.Strategy)
                failures.Add($"queue {c.QueueId}: {queue}");
            if (queue.GetProperty("sla_time").GetInt32() != c.SlaTime && !MayBeUnanswered(Target.Queue, c.QueueId, queue))
                failures.Add($"queue {c.QueueId}: sla_time {queue.GetProperty("sla_time")}, acknowledged {c.SlaTime}");
            foreach (var queueId in new[] { c.QueueId, world.CommonQueueId })
            {
                var members = (await ReadAsync(api, $"/api/v1/queues/{queueId}/members?limit=500")).GetProperty("items")
                    .EnumerateArray().Select(m => m.GetProperty("agent_id").GetInt64()).ToHashSet();
                foreach (var agent in c.AgentIds.Where(a => !members.Contains(a))) failures.Add($"agent {agent} is no longer a member of queue {queueId}");
            }

            foreach (var (agent, expected) in c.Agents)
            {
                var status = await ReadAsync(api, $"/api/v1/agents/{agent}/status");
                var actual = AgentExpect.Of(status);
                if (actual != expected && !MayBeUnanswered(Target.Agent, agent, status))
                    failures.Add($"agent {agent}: acknowledged {expected}, now {actual}");
            }
            foreach (var (agent, name) in c.ExtraAgents)
            {
                var response = await api.GetAsync(new Uri($"/api/v1/agents/{agent}", UriKind.Relative));
                if (response.StatusCode != HttpStatusCode.OK) failures.Add($"agent {agent} ({name}) created before the kill: {(int)response.StatusCode}");
                else if (Str(await response.Content.ReadFromJsonAsync<JsonElement>(), "name") != name) failures.Add($"agent {agent} lost its name {name}");
            }

            foreach (var (id, expected) in c.Calls)
            {
                var response = await api.GetAsync(new Uri($"/api/v1/calls/{id}", UriKind.Relative));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"call {id} ({expected}): GET answered {(int)response.StatusCode}");
                    continue;
                }
                var call = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (!expected.Matches(call) && !MayBeUnanswered(Target.Call, id, call))
                    failures.Add($"call {id}: acknowledged {expected}, now {CallExpect.Of(call)}");
                if (expected.State == "ended")
                {
                    if (!cdrs.TryGetValue(id, out var cdr)) failures.Add($"call {id} ended ({expected.Disposition}) but has no CDR");
                    else if (Str(cdr, "disposition") != expected.Disposition || AgentOf(cdr) != expected.AgentId)
                        failures.Add($"call {id}: CDR {Str(cdr, "disposition")} by {AgentOf(cdr)}, acknowledged {expected}");
                }
            }
        }

        var supervisor = await api.PostAsJsonAsync("/api/v1/auth/login", new { username = SupervisorName, password = SupervisorPassword, tenant = "default" });
        if (supervisor.StatusCode != HttpStatusCode.OK) failures.Add($"the supervisor created before the load cannot sign in: {(int)supervisor.StatusCode}");
        return failures;
    }

    private static async Task<Dictionary<long, JsonElement>> AllCdrsAsync(HttpClient api)
    {
        var all = new Dictionary<long, JsonElement>();
        string? cursor = null;
        do
        {
            var page = await ReadAsync(api, "/api/v1/cdrs?limit=1000" + (cursor == null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            foreach (var cdr in page.GetProperty("items").EnumerateArray()) all[cdr.GetProperty("call_id").GetInt64()] = cdr;
            cursor = page.GetProperty("next_cursor").ValueKind == JsonValueKind.String ? page.GetProperty("next_cursor").GetString() : null;
        }
        while (cursor != null);
        return all;
    }

    // ---- helpers

    private static async Task<string> SignInAsync(HttpClient http, string username, string password)
    {
        var response = await http.PostAsJsonAsync("/api/v1/auth/login", new { username, password });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return token;
    }

    private static async Task<JsonElement> CreatedAsync(HttpClient api, string path, object body)
    {
        var response = await api.PostAsJsonAsync(path, body);
        if (response.StatusCode != HttpStatusCode.Created)
            Assert.Fail($"POST {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<JsonElement> ReadAsync(HttpClient api, string path)
    {
        using var response = await api.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK) Assert.Fail($"GET {path} answered {(int)response.StatusCode}: {text}");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string? State(JsonElement call) => Str(call, "state");

    private static string? Disposition(JsonElement call) => Str(call, "disposition");

    private static long? AgentOf(JsonElement e) =>
        e.TryGetProperty("agent_id", out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    private static long[] Queues(JsonElement status) =>
        status.GetProperty("logged_in_queues").EnumerateArray().Select(q => q.GetInt64()).Order().ToArray();

    private enum Target
    {
        None,
        Call,
        Agent,
        Queue,
    }

    /// <summary>A write sent but not answered: <see cref="Applied"/> tells whether its target shows it applied.</summary>
    private sealed record Unanswered(string What, Target Target, long Id, Func<JsonElement, bool> Applied);

    /// <summary>An agent's status as the last acknowledged write left it.</summary>
    private sealed record AgentExpect(string? Status, string? Reason, string Queues, string? Since)
    {
        public static AgentExpect Of(JsonElement s) =>
            new(Str(s, "status"), Str(s, "reason"), string.Join(',', EndToEndTests.Queues(s)), Str(s, "since"));
    }

    /// <summary>A call as the last acknowledged write left it. A waiting call may ring other agents meanwhile (others'
    /// status changes move offers), so only its state is compared; a connected or ended call also by agent and outcome.</summary>
    private sealed record CallExpect(string? State, string? Disposition, long? AgentId)
    {
        public static CallExpect Of(JsonElement call) => new(EndToEndTests.State(call), EndToEndTests.Disposition(call), AgentOf(call));

        public bool Matches(JsonElement call)
        {
            var actual = Of(call);
            return State == "waiting" ? actual.State == "waiting" : actual == this;
        }
    }

    private sealed class World(long commonQueueId)
    {
        public long CommonQueueId { get; } = commonQueueId;
        public List<Client> Clients { get; } = new();
    }

    /// <summary>One concurrent API client and what the server acknowledged to it. Touched by its own driver only.</summary>
    private sealed class Client(int index, long queueId, long commonQueueId, string strategy)
    {
        public int Index { get; } = index;
        public long QueueId { get; } = queueId;
        public long CommonQueueId { get; } = commonQueueId;
        public string Strategy { get; } = strategy;
        public List<long> AgentIds { get; } = new();
        public Dictionary<long, AgentExpect> Agents { get; } = new();
        public Dictionary<long, CallExpect> Calls { get; } = new();
        public Dictionary<long, string> ExtraAgents { get; } = new();
        public Dictionary<string, int> Refused { get; } = new(StringComparer.Ordinal);
        public List<string> ServerErrors { get; } = new();
        public int SlaTime { get; set; }
        public int CallsMade { get; set; }
        public int Acknowledged { get; set; }
        public Unanswered? InFlight { get; set; }

        public List<long> CallsIn(string state) => Calls.Where(kv => kv.Value.State == state).Select(kv => kv.Key).ToList();
    }

    private sealed class LoadControl(int threshold)
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _acknowledged;
        private volatile bool _killRequested;

        public Task ThresholdReached => _reached.Task;
        public int Acknowledged => Volatile.Read(ref _acknowledged);

        public bool KillRequested
        {
            get => _killRequested;
            set => _killRequested = value;
        }

        public void Acknowledge()
        {
            if (Interlocked.Increment(ref _acknowledged) >= threshold) _reached.TrySetResult();
        }
    }
}
