using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Lineup.EventsBench;

// Event delivery benchmarks (issue 4), against the real server process (Release build, SQLite by default):
//   webhooks  call cycles through call control drive events; one subscription to every event type delivers to a
//             receiver in this process; deliveries per second and the lag from event to receipt (p50/p99)
//   stream    N Server-Sent-Events clients; agent status changes at a steady rate; every client must see every
//             event; lag from event to receipt at each client (p50/p99)
// dotnet run -c Release --project bench/Lineup.EventsBench -- [--runs 3] [--seconds 15] [--clients 1000] [--rate 200]
//   [--connections 32] [--cycles N (call cycles per second; default: as fast as the connections go)]
//   [--db "Host=..."] [--only webhooks|stream]
var options = Options.Parse(args);
var root = Repo.Root();
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}; runs={options.Runs} seconds={options.Seconds} clients={options.Clients} rate={options.Rate}/s connections={options.Connections}");

var webhookRuns = new List<WebhookResult>();
var streamRuns = new List<StreamResult>();
for (var run = 1; run <= options.Runs; run++)
{
    if (options.Only is null or "webhooks")
    {
        await using var server = await ServerHost.StartAsync(root, options.Database);
        var r = await WebhookBench.RunAsync(server, options);
        Console.WriteLine($"run {run} webhooks: {r}");
        webhookRuns.Add(r);
    }
    if (options.Only is null or "stream")
    {
        await using var server = await ServerHost.StartAsync(root, options.Database);
        var r = await StreamBench.RunAsync(server, options);
        Console.WriteLine($"run {run} stream: {r}");
        streamRuns.Add(r);
    }
}

static double Median(IEnumerable<double> values)
{
    var v = values.Order().ToArray();
    return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
}

Console.WriteLine();
Console.WriteLine($"Medians of {options.Runs} runs:");
Console.WriteLine();
Console.WriteLine("| benchmark | figure | median | runs |");
Console.WriteLine("|---|---|---:|---|");
static void Row<T>(string benchmark, List<T> runs, string name, Func<T, double> f, string format) =>
    Console.WriteLine($"| {benchmark} | {name} | {Median(runs.Select(f)).ToString(format, CultureInfo.InvariantCulture)} | {string.Join(" / ", runs.Select(r => f(r).ToString(format, CultureInfo.InvariantCulture)))} |");

if (webhookRuns.Count > 0)
{
    Row("webhooks", webhookRuns, "events produced / s", r => r.EventsPerSecond, "0");
    Row("webhooks", webhookRuns, "deliveries / s (2xx at the receiver)", r => r.DeliveriesPerSecond, "0");
    Row("webhooks", webhookRuns, "lag event → receipt p50 ms", r => r.LagP50, "0.0");
    Row("webhooks", webhookRuns, "lag event → receipt p99 ms", r => r.LagP99, "0.0");
    Row("webhooks", webhookRuns, "events not delivered after the drain", r => r.Missing, "0");
}
if (streamRuns.Count > 0)
{
    Row("stream", streamRuns, "clients connected", r => r.Clients, "0");
    Row("stream", streamRuns, "events published", r => r.Events, "0");
    Row("stream", streamRuns, "clients that saw every event", r => r.CompleteClients, "0");
    Row("stream", streamRuns, "frames received / s (all clients)", r => r.FramesPerSecond, "0");
    Row("stream", streamRuns, "lag event → receipt p50 ms", r => r.LagP50, "0.0");
    Row("stream", streamRuns, "lag event → receipt p99 ms", r => r.LagP99, "0.0");
}

namespace Lineup.EventsBench
{
    internal sealed record Options(int Runs, int Seconds, int Clients, int Rate, int Connections, string? Database, string? Only, int Cycles)
    {
        public static Options Parse(string[] args)
        {
            string? Value(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
            int Int(string name, int d) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : d;
            return new Options(Int("--runs", 3), Int("--seconds", 15), Int("--clients", 1000), Int("--rate", 200), Int("--connections", 32),
                Value("--db"), Value("--only"), Int("--cycles", 0));
        }
    }

    internal static class Repo
    {
        public static string Root()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Lineup.slnx"))) return dir.FullName;
            throw new InvalidOperationException("Lineup.slnx not found above " + AppContext.BaseDirectory);
        }
    }

    internal static class Lag
    {
        /// <summary>Milliseconds from the event's occurred_at to now (same machine, same clock).</summary>
        public static double Since(string json)
        {
            var i = json.IndexOf("\"occurred_at\":\"", StringComparison.Ordinal);
            if (i < 0) return double.NaN;
            var start = i + 15;
            var end = json.IndexOf('"', start);
            var at = DateTimeOffset.Parse(json.AsSpan(start, end - start), CultureInfo.InvariantCulture);
            return (DateTimeOffset.UtcNow - at).TotalMilliseconds;
        }

        public static double Percentile(List<double> sorted, double p) =>
            sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    /// <summary>The server as a user runs it (Release build), on a free port of 127.0.0.1 and a fresh data folder.</summary>
    internal sealed class ServerHost : IAsyncDisposable
    {
        public const string Password = "bench-password-1";
        private readonly Process _process;
        private readonly string _dataDir;

        private ServerHost(Process process, string dataDir, Uri baseAddress, HttpClient api)
        {
            _process = process;
            _dataDir = dataDir;
            BaseAddress = baseAddress;
            Api = api;
        }

        public Uri BaseAddress { get; }
        public HttpClient Api { get; }

        public static async Task<ServerHost> StartAsync(string root, string? database)
        {
            var dll = Path.Combine(root, "src/Lineup.Server/bin/Release/net10.0/Lineup.Server.dll");
            if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} not found: run `dotnet build -c Release` first.");
            var port = FreePort();
            var dataDir = Path.Combine(Path.GetTempPath(), "lineup-eventsbench-" + Guid.NewGuid().ToString("N"));
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
            foreach (var a in new[] { dll, "--urls", $"http://127.0.0.1:{port}", "--data-dir", dataDir, "--Webhooks:AllowedNetworks=127.0.0.1" })
                start.ArgumentList.Add(a);
            if (database != null)
            {
                start.ArgumentList.Add("--db");
                start.ArgumentList.Add(database);
            }
            start.Environment["LINEUP_ADMIN_PASSWORD"] = Password;
            var process = Process.Start(start)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, e) => { if (e.Data != null) Console.Error.WriteLine("server: " + e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var baseAddress = new Uri($"http://127.0.0.1:{port}");
            var api = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512 }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
            for (var i = 0; ; i++)
            {
                try
                {
                    if ((await api.GetAsync("/readyz")).IsSuccessStatusCode) break;
                }
                catch (HttpRequestException)
                {
                }
                if (process.HasExited || i > 300) throw new InvalidOperationException("the server did not start");
                await Task.Delay(100);
            }
            var login = await api.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = Password });
            var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString();
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return new ServerHost(process, dataDir, baseAddress, api);
        }

        public string Token => Api.DefaultRequestHeaders.Authorization!.Parameter!;

        public async Task<long> CreateAsync(string path, object body)
        {
            var r = await Api.PostAsJsonAsync(path, body);
            var json = await r.Content.ReadFromJsonAsync<JsonElement>();
            if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"POST {path}: {(int)r.StatusCode} {json}");
            return json.GetProperty("id").GetInt64();
        }

        /// <summary>A queue (no wrap-up, auto-ready) with <paramref name="agents"/> logged-in agents; returns (queue, agent ids).</summary>
        public async Task<(long Queue, List<long> Agents)> QueueWithAgentsAsync(int agents)
        {
            var queue = await CreateAsync("/api/v1/queues", new { name = "bench", strategy = "longest_idle", wrap_up_time = 0, agent_auto_ready = true, ring_timeout = 3600 });
            var ids = new List<long>();
            for (var i = 0; i < agents; i++)
            {
                var agent = await CreateAsync("/api/v1/agents", new { name = $"agent {i}", number = (5000 + i).ToString(CultureInfo.InvariantCulture) });
                (await Api.PostAsJsonAsync($"/api/v1/queues/{queue}/members", new { agent_id = agent })).EnsureSuccessStatusCode();
                (await Api.PostAsync($"/api/v1/agents/{agent}/login", null)).EnsureSuccessStatusCode();
                ids.Add(agent);
            }
            return (queue, ids);
        }

        /// <summary>Every event the server has published after <paramref name="after"/>, filtered by type.</summary>
        public async Task<List<long>> EventSeqsAsync(long after, string? types = null)
        {
            var seqs = new List<long>();
            while (true)
            {
                var page = await Api.GetFromJsonAsync<JsonElement>($"/api/v1/events?after={after}&limit=1000" + (types != null ? "&types=" + types : ""));
                foreach (var e in page.GetProperty("items").EnumerateArray()) seqs.Add(e.GetProperty("seq").GetInt64());
                var last = page.GetProperty("last_seq").GetInt64();
                if (last == after) return seqs;
                after = last;
            }
        }

        private static int FreePort()
        {
            var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }

        public async ValueTask DisposeAsync()
        {
            Api.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            try
            {
                Directory.Delete(_dataDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    internal sealed record WebhookResult(double EventsPerSecond, double DeliveriesPerSecond, double LagP50, double LagP99, double Missing)
    {
        public override string ToString() =>
            FormattableString.Invariant($"events {EventsPerSecond:0}/s, deliveries {DeliveriesPerSecond:0}/s, lag p50 {LagP50:0.0} ms p99 {LagP99:0.0} ms, missing {Missing}");
    }

    internal static class WebhookBench
    {
        public static async Task<WebhookResult> RunAsync(ServerHost server, Options options)
        {
            var received = new ConcurrentDictionary<long, double>();
            var window = new ConcurrentBag<(long Ticks, double Lag)>();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            await using var app = builder.Build();
            app.MapPost("/hook", async (HttpContext http) =>
            {
                using var reader = new StreamReader(http.Request.Body);
                var body = await reader.ReadToEndAsync();
                var lag = Lag.Since(body);
                var id = http.Request.Headers["X-Lineup-Event-Id"].ToString();
                var seq = long.Parse(id.AsSpan(id.IndexOf('-') + 1), CultureInfo.InvariantCulture);
                if (received.TryAdd(seq, lag)) window.Add((Stopwatch.GetTimestamp(), lag));
                return Results.Ok();
            });
            await app.StartAsync();
            var receiver = app.Urls.First();

            var (queue, _) = await server.QueueWithAgentsAsync(Math.Max(options.Connections + 10, 50));
            await server.CreateAsync("/api/v1/webhooks", new { url = receiver + "/hook", event_types = new[] { "*" } });
            var firstSeq = (await server.EventSeqsAsync(0)).DefaultIfEmpty(0).Max();

            // Call cycles from `connections` loops until the time is up.
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(options.Seconds + 2));
            var measureFrom = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 2;
            var measureTo = measureFrom + Stopwatch.Frequency * options.Seconds;
            // --cycles N paces the call cycles (N per second in all) so the lag is read below saturation.
            var pacer = options.Cycles > 0 ? new Pacer(options.Cycles) : null;
            var loops = Enumerable.Range(0, options.Connections).Select(_ => CycleLoopAsync(server.Api, queue, pacer, stop.Token)).ToArray();
            await Task.WhenAll(loops);
            // Every event matches the subscription, so every seq after firstSeq up to the newest must arrive. The
            // server keeps only its last 10,000 events in the list, so ask from just before the newest received.
            var newestReceived = received.Keys.DefaultIfEmpty(firstSeq).Max();
            var newest = Math.Max(newestReceived, (await server.EventSeqsAsync(Math.Max(firstSeq, newestReceived - 1))).DefaultIfEmpty(0).Max());
            var expected = newest - firstSeq;
            int Arrived() => received.Keys.Count(k => k > firstSeq && k <= newest);
            // Drain: wait until every event published is delivered (or 60 s).
            var drainUntil = DateTime.UtcNow.AddSeconds(60);
            while (Arrived() < expected && DateTime.UtcNow < drainUntil) await Task.Delay(200);

            var inWindow = window.Where(w => w.Ticks >= measureFrom && w.Ticks < measureTo).ToList();
            var lags = inWindow.Select(w => w.Lag).Order().ToList();
            var seconds = (double)(measureTo - measureFrom) / Stopwatch.Frequency;
            var produced = expected / (options.Seconds + 2.0);
            await app.StopAsync();
            return new WebhookResult(produced, inWindow.Count / seconds, Lag.Percentile(lags, 50), Lag.Percentile(lags, 99), expected - Arrived());
        }

        private sealed class Pacer(int perSecond)
        {
            private readonly long _start = Stopwatch.GetTimestamp();
            private long _next;

            public async Task WaitAsync(CancellationToken ct)
            {
                var n = Interlocked.Increment(ref _next) - 1;
                var due = _start + (long)(n * (double)Stopwatch.Frequency / perSecond);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
            }
        }

        private static async Task CycleLoopAsync(HttpClient api, long queue, Pacer? pacer, CancellationToken ct)
        {
            while (!ct.IsCancellationRequested)
            {
                if (pacer != null)
                {
                    try
                    {
                        await pacer.WaitAsync(ct);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
                var created = await api.PostAsJsonAsync("/api/v1/calls", new { queue_id = queue, caller_number = "+14155550100" }, CancellationToken.None);
                var call = await created.Content.ReadFromJsonAsync<JsonElement>();
                var id = call.GetProperty("id").GetInt64();
                var offers = call.GetProperty("offers");
                if (offers.GetArrayLength() > 0)
                {
                    var agent = offers[0].GetProperty("agent_id").GetInt64();
                    (await api.PostAsJsonAsync($"/api/v1/calls/{id}/events", new { type = "agent_answered", agent_id = agent })).EnsureSuccessStatusCode();
                }
                (await api.PostAsJsonAsync($"/api/v1/calls/{id}/events", new { type = "caller_hangup" })).EnsureSuccessStatusCode();
            }
        }
    }

    internal sealed record StreamResult(double Clients, double Events, double CompleteClients, double FramesPerSecond, double LagP50, double LagP99)
    {
        public override string ToString() =>
            FormattableString.Invariant($"{Clients} clients, {Events} events, {CompleteClients} clients saw all, {FramesPerSecond:0} frames/s, lag p50 {LagP50:0.0} ms p99 {LagP99:0.0} ms");
    }

    internal static class StreamBench
    {
        public static async Task<StreamResult> RunAsync(ServerHost server, Options options)
        {
            var (_, agents) = await server.QueueWithAgentsAsync(20);
            var startSeq = (await server.EventSeqsAsync(0)).DefaultIfEmpty(0).Max();
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Clients + 10 })
            {
                BaseAddress = server.BaseAddress,
                Timeout = Timeout.InfiniteTimeSpan,
            };
            using var stop = new CancellationTokenSource();
            var clients = new List<Client>();
            var connected = new CountdownEvent(options.Clients);
            var tasks = new List<Task>();
            for (var i = 0; i < options.Clients; i++)
            {
                var c = new Client();
                clients.Add(c);
                tasks.Add(c.RunAsync(http, $"/api/v1/events/stream?types=agent.status_changed&access_token={server.Token}", connected, stop.Token));
            }
            if (!connected.Wait(TimeSpan.FromSeconds(120))) throw new InvalidOperationException($"only {options.Clients - connected.CurrentCount} clients connected");

            // Status changes at a steady rate: each is exactly one agent.status_changed event.
            var total = options.Rate * options.Seconds;
            var started = Stopwatch.GetTimestamp();
            for (var n = 0; n < total; n++)
            {
                var due = started + (long)(n * (double)Stopwatch.Frequency / options.Rate);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero) await Task.Delay(wait);
                var agent = agents[n % agents.Count];
                var body = (n / agents.Count) % 2 == 0 ? (object)new { status = "not_ready", reason = "break" } : new { status = "ready" };
                (await server.Api.PutAsJsonAsync($"/api/v1/agents/{agent}/status", body)).EnsureSuccessStatusCode();
            }
            var events = await server.EventSeqsAsync(startSeq, "agent.status_changed");
            var until = DateTime.UtcNow.AddSeconds(60);
            while (clients.Any(c => c.Count < events.Count) && DateTime.UtcNow < until) await Task.Delay(100);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
            stop.Cancel();
            await Task.WhenAll(tasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
            var expected = events.ToHashSet();
            var complete = clients.Count(c => expected.IsSubsetOf(c.Seqs));
            var lags = clients.SelectMany(c => c.Lags).Order().ToList();
            return new StreamResult(options.Clients, events.Count, complete, clients.Sum(c => c.Count) / elapsed, Lag.Percentile(lags, 50), Lag.Percentile(lags, 99));
        }

        private sealed class Client
        {
            public HashSet<long> Seqs { get; } = new();
            public List<double> Lags { get; } = new();
            public int Count => Volatile.Read(ref _count);
            private int _count;

            public async Task RunAsync(HttpClient http, string path, CountdownEvent connected, CancellationToken ct)
            {
                using var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, ct);
                response.EnsureSuccessStatusCode();
                connected.Signal();
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
                long seq = -1;
                while (!ct.IsCancellationRequested && await reader.ReadLineAsync(ct) is { } line)
                {
                    if (line.StartsWith("id: ", StringComparison.Ordinal)) seq = long.Parse(line.AsSpan(4), CultureInfo.InvariantCulture);
                    else if (line.StartsWith("data: ", StringComparison.Ordinal) && seq >= 0)
                    {
                        Lags.Add(Lag.Since(line));
                        Seqs.Add(seq);
                        Interlocked.Increment(ref _count);
                        seq = -1;
                    }
                }
            }
        }
    }
}
