using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace Lineup.Server.Tests;

/// <summary>
/// The outbox promise, end to end: the real server delivers a webhook for every agent status change to a slow
/// receiver, is killed with SIGKILL while deliveries are still going on, and is started again on the same data. Every
/// event the restarted server reports must reach the receiver at least once (duplicates allowed, recognised by event
/// id), and every acknowledged status change must have its event.
/// </summary>
public sealed class WebhookKillTests(ITestOutputHelper output)
{
    private const int Agents = 3;
    private const int Changes = 300;
    private const string HookPath = "/kill-9";
    private static readonly string[] Arguments = ["--Webhooks:AllowedNetworks=127.0.0.1", "--Webhooks:RetryBaseSeconds=0.05"];

    [Fact]
    public async Task Every_status_change_reaches_the_receiver_across_kill_9_and_restart()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "lineup-hooks-" + Guid.NewGuid().ToString("N"));
        ServerProcess? first = null;
        ServerProcess? second = null;
        var clock = Stopwatch.StartNew();
        void Phase(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  {what}");
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.DelayBy(_ => TimeSpan.FromMilliseconds(20));
        try
        {
            first = await ServerProcess.StartAsync(dataDir, extraArguments: Arguments);
            Phase($"server ready (dotnet run pid {first.Pid}, server pid {string.Join(',', first.ChildPids)})");
            Assert.NotEmpty(first.ChildPids);
            using var admin = first.CreateClient();
            var token = await SignInAsync(admin);
            // Subscribed before any agent exists: every agent.status_changed of the tenant is for the receiver.
            var hook = await CreatedAsync(admin, "/api/v1/webhooks", new { url = receiver.Url(HookPath), event_types = new[] { "agent.status_changed" } });
            var secret = hook.GetProperty("secret").GetString()!;
            var queue = (await CreatedAsync(admin, "/api/v1/queues", new { name = "kill-queue", ring_timeout = 3600 })).GetProperty("id").GetInt64();
            var agents = new List<long>();
            var acknowledged = new ConcurrentDictionary<long, List<string>>();
            for (var i = 0; i < Agents; i++)
            {
                var agent = (await CreatedAsync(admin, "/api/v1/agents", new { name = $"kill-agent-{i}", number = $"9{i:D2}" })).GetProperty("id").GetInt64();
                await CreatedAsync(admin, $"/api/v1/queues/{queue}/members", new { agent_id = agent, level = 0 });
                var login = await admin.PostAsync(new Uri($"/api/v1/agents/{agent}/login", UriKind.Relative), null);
                Assert.Equal(HttpStatusCode.OK, login.StatusCode);
                agents.Add(agent);
                acknowledged[agent] = ["ready/"]; // the login made it ready
            }
            Phase("agents logged in");

            // The agents at once, each one change after another: two not-ready reasons of its own, then ready.
            var total = 0;
            await Task.WhenAll(agents.Select(agent => Task.Run(async () =>
            {
                using var api = first.CreateClient();
                api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
                for (var n = 0; Volatile.Read(ref total) < Changes; n++)
                {
                    var (status, reason) = n % 3 == 2 ? ("ready", (string?)null) : ("not_ready", $"k{agent}-{n}");
                    var response = await api.PutAsJsonAsync(new Uri($"/api/v1/agents/{agent}/status", UriKind.Relative), new { status, reason });
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT status: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    acknowledged[agent].Add($"{status}/{reason}");
                    Interlocked.Increment(ref total);
                }
            })));
            var expectedEvents = acknowledged.Values.Sum(l => l.Count);
            Phase($"{total} status changes acknowledged; {Distinct(receiver)} of {expectedEvents} events at the receiver");

            first.Kill();
            var atKill = Distinct(receiver);
            Phase($"SIGKILL sent and every process gone; the receiver had {atKill} distinct events in {receiver.Requests.Count} requests");
            Assert.True(atKill < expectedEvents, $"all {expectedEvents} events were delivered before the kill: nothing was left to recover");

            second = await ServerProcess.StartAsync(dataDir, extraArguments: Arguments);
            Phase("restarted server ready");
            using var after = second.CreateClient();
            after.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var page = await OkAsync(after, "/api/v1/events?after=0&types=agent.status_changed&limit=1000");
            var events = page.GetProperty("items").EnumerateArray().ToList();

            // Every acknowledged change has its event, in the order it was made, and there is no other.
            foreach (var agent in agents)
            {
                var stored = events.Where(e => e.GetProperty("agent_id").GetInt64() == agent)
                    .Select(e => $"{e.GetProperty("data").GetProperty("status").GetString()}/{e.GetProperty("data").GetProperty("reason").GetString()}")
                    .ToList();
                Assert.Equal(acknowledged[agent], stored);
            }
            Assert.Equal(expectedEvents, events.Count);

            var ids = events.Select(e => e.GetProperty("id").GetString()!).ToList();
            await receiver.WaitForEventsAsync(ids, TimeSpan.FromSeconds(120));
            var received = receiver.Requests.Where(r => r.Path == HookPath).ToList();
            Phase($"all {ids.Count} events arrived ({received.Count} requests, {received.Count - ids.Count} duplicates)");

            // What arrived is the event itself, signed; a duplicate is the same event byte for byte.
            var byId = events.ToDictionary(e => e.GetProperty("id").GetString()!, StringComparer.Ordinal);
            foreach (var group in received.GroupBy(r => r.EventId!))
            {
                Assert.True(byId.TryGetValue(group.Key, out var e), $"the receiver got {group.Key}, which the server does not report");
                Assert.All(group, r => Assert.Equal(group.First().Body, r.Body));
                Assert.All(group, r => Assert.True(r.SignatureValid(secret), $"bad signature on {r}"));
                var body = group.First().Json;
                Assert.Equal(e.GetProperty("seq").GetInt64(), body.GetProperty("seq").GetInt64());
                Assert.Equal(e.GetProperty("agent_id").GetInt64(), body.GetProperty("agent_id").GetInt64());
                Assert.Equal(e.GetProperty("data").GetProperty("reason").GetString(), body.GetProperty("data").GetProperty("reason").GetString());
            }

            // And the delivery log settles: nothing pending, nothing dead.
            var hookId = hook.GetProperty("id").GetInt64();
            var settle = Stopwatch.StartNew();
            while (true)
            {
                var pending = (await OkAsync(after, $"/api/v1/webhooks/{hookId}/deliveries?state=pending")).GetProperty("items").GetArrayLength();
                if (pending == 0) break;
                Assert.True(settle.Elapsed < TimeSpan.FromSeconds(60), $"{pending} deliveries still pending a minute after every event arrived");
                await Task.Delay(50);
            }
            Assert.Equal(0, (await OkAsync(after, $"/api/v1/webhooks/{hookId}/deliveries?state=dead")).GetProperty("items").GetArrayLength());
        }
        catch (Exception) when (Dump(first, second))
        {
            throw;
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

    private static int Distinct(WebhookReceiver receiver) => receiver.Requests.Select(r => r.EventId).Distinct(StringComparer.Ordinal).Count();

    /// <summary>Writes the servers' last output to the test log (an exception filter: it does not catch).</summary>
    private bool Dump(ServerProcess? first, ServerProcess? second)
    {
        if (first != null) output.WriteLine("---- first server\n" + first.Output);
        if (second != null) output.WriteLine("---- restarted server\n" + second.Output);
        return false;
    }

    private static async Task<string> SignInAsync(HttpClient client)
    {
        var body = await (await client.PostAsJsonAsync(new Uri("/api/v1/auth/login", UriKind.Relative),
            new { username = "admin", password = ServerProcess.AdminPassword })).JsonAsync(HttpStatusCode.OK);
        var token = body.GetProperty("access_token").GetString()!;
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return token;
    }

    private static async Task<JsonElement> CreatedAsync(HttpClient client, string path, object body) =>
        await (await client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body)).JsonAsync(HttpStatusCode.Created);

    private static async Task<JsonElement> OkAsync(HttpClient client, string path) =>
        await (await client.GetAsync(new Uri(path, UriKind.Relative))).JsonAsync(HttpStatusCode.OK);
}
