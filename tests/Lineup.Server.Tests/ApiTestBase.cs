using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lineup.Server.Tests;

/// <summary>
/// One in-memory server per test class (use it with <c>IClassFixture</c>). Signing in is deliberately slow (PBKDF2),
/// so each role signs in once per fixture and the clients are reused; tests create their own queues and agents with
/// unique names and numbers so that they do not disturb one another.
/// </summary>
public class ApiFixture : IAsyncLifetime
{
    private static int s_sequence;
    private TenantSession? _tenant;

    public LineupFactory Factory { get; protected init; } = new();

    /// <summary>The system administrator (no X-Account-ID: acts on the tenant "default").</summary>
    public HttpClient SystemAdmin { get; private set; } = null!;

    /// <summary>A tenant of this fixture's own, with an admin signed in.</summary>
    public TenantSession Tenant => _tenant ?? throw new InvalidOperationException("The fixture is not initialized.");

    public virtual async Task InitializeAsync()
    {
        SystemAdmin = await Factory.SignInAsync();
        _tenant = await CreateTenantAsync();
    }

    public virtual Task DisposeAsync()
    {
        Factory.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A name or number no other test uses.</summary>
    public static string Unique(string prefix = "") =>
        prefix + Interlocked.Increment(ref s_sequence).ToString(CultureInfo.InvariantCulture);

    /// <summary>A dialable number (queue extension, agent number) no other test uses.</summary>
    public static string Number() => (100_000 + Interlocked.Increment(ref s_sequence)).ToString(CultureInfo.InvariantCulture);

    /// <summary>A client that sends no credentials.</summary>
    public HttpClient Anonymous() => Factory.CreateClient();

    /// <summary>A client with the given Authorization or X-API-Key header (and optionally X-Account-ID).</summary>
    public HttpClient WithBearer(string token, long? account = null)
    {
        var client = Factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (account is { } a) client.DefaultRequestHeaders.Add("X-Account-ID", a.ToString(CultureInfo.InvariantCulture));
        return client;
    }

    /// <summary>The system administrator acting on one tenant through X-Account-ID.</summary>
    public HttpClient SystemAdminFor(long tenantId) =>
        WithBearer(SystemAdmin.DefaultRequestHeaders.Authorization!.Parameter!, tenantId);

    /// <summary>Signs in and returns the client and the whole login response.</summary>
    public async Task<(HttpClient Client, JsonElement Login)> SignInAsync(string username, string password, string? tenant)
    {
        var client = Factory.CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { username, password, tenant });
        var body = await response.JsonAsync(HttpStatusCode.OK);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.Str("access_token"));
        return (client, body);
    }

    /// <summary>Creates a tenant and a signed-in admin user in it.</summary>
    public async Task<TenantSession> CreateTenantAsync(string? name = null)
    {
        name ??= Unique("tenant-");
        var tenant = await SystemAdmin.CreatedAsync("/api/v1/tenants", new { name, time_zone = "UTC" });
        var session = new TenantSession(this, tenant.Id(), name);
        await session.InitializeAsync();
        return session;
    }
}

/// <summary>One tenant as its users see it: an admin client, lazily signed-in clients for the other roles, and
/// quick ways to build queues, agents and calls.</summary>
public sealed class TenantSession(ApiFixture fixture, long id, string name)
{
    public const string Password = "user-password-1";
    private readonly ConcurrentDictionary<string, Task<HttpClient>> _clients = new(StringComparer.Ordinal);

    public ApiFixture Fixture => fixture;
    public long Id => id;
    public string Name => name;
    public HttpClient Admin { get; private set; } = null!;
    public long AdminUserId { get; private set; }

    internal async Task InitializeAsync()
    {
        var root = fixture.SystemAdminFor(id);
        var admin = await root.CreatedAsync("/api/v1/users", new { username = "boss", password = Password, role = "admin" });
        AdminUserId = admin.Id();
        Admin = (await fixture.SignInAsync("boss", Password, name)).Client;
    }

    /// <summary>A supervisor of this tenant (created and signed in once).</summary>
    public Task<HttpClient> SupervisorAsync() => _clients.GetOrAdd("supervisor", _ => NewUserClientAsync("supervisor", null));

    /// <summary>An agent user bound to <paramref name="agentId"/> (created and signed in once per agent).</summary>
    public Task<HttpClient> AgentUserAsync(long agentId) =>
        _clients.GetOrAdd("agent:" + agentId.ToString(CultureInfo.InvariantCulture), _ => NewUserClientAsync("agent", agentId));

    private async Task<HttpClient> NewUserClientAsync(string role, long? agentId)
    {
        var username = ApiFixture.Unique(role + "-");
        await Admin.CreatedAsync("/api/v1/users", new { username, password = Password, role, agent_id = agentId });
        return (await fixture.SignInAsync(username, Password, name)).Client;
    }

    /// <summary>A queue whose offers ring for an hour, so that no offer times out in the middle of a slow test.</summary>
    public async Task<long> QueueAsync(string strategy = "longest_idle", string? extension = null) =>
        (await Admin.CreatedAsync("/api/v1/queues", new { name = ApiFixture.Unique("queue-"), strategy, extension, ring_timeout = 3600 })).Id();

    /// <summary>An agent; delays are long so that a failed offer never comes straight back during a test.</summary>
    public async Task<long> AgentAsync(string? number = null, int delays = 0) =>
        (await Admin.CreatedAsync("/api/v1/agents", new
        {
            name = ApiFixture.Unique("agent-"),
            number = number ?? ApiFixture.Number(),
            busy_delay = delays,
            reject_delay = delays,
            no_answer_delay = delays,
        })).Id();

    public Task MemberAsync(long queue, long agent, int position = 0) =>
        Admin.CreatedAsync($"/api/v1/queues/{queue}/members", new { agent_id = agent, level = 0, position });

    /// <summary>An agent that is a member of <paramref name="queue"/>, logged in and ready.</summary>
    public async Task<long> ReadyAgentAsync(long queue, int position = 0, int delays = 0)
    {
        var agent = await AgentAsync(delays: delays);
        await MemberAsync(queue, agent, position);
        var status = await (await Admin.PostAsync($"/api/v1/agents/{agent}/login", null)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("ready", status.Str("status"));
        return agent;
    }

    public Task<JsonElement> CallAsync(long queue, string number = "+14155550100", string? callerName = null, int priority = 0, string? externalId = null) =>
        Admin.CreatedAsync("/api/v1/calls", new { queue_id = queue, caller_number = number, caller_name = callerName, priority, external_id = externalId });

    public async Task<JsonElement> EventAsync(long call, string type, long? agent = null, string? digits = null) =>
        await (await Admin.PostAsJsonAsync($"/api/v1/calls/{call}/events", new { type, agent_id = agent, digits })).JsonAsync(HttpStatusCode.OK);

    /// <summary>A call answered by <paramref name="agent"/> and hung up by the caller (the agent then wraps up).</summary>
    public async Task<long> AnsweredCallAsync(long queue, long agent, string number = "+14155550100", string? callerName = null)
    {
        var call = await CallAsync(queue, number, callerName);
        Assert.Equal(agent, call.GetProperty("offers")[0].Long("agent_id"));
        await EventAsync(call.Id(), "agent_answered", agent);
        var ended = await EventAsync(call.Id(), "caller_hangup");
        Assert.Equal("ended", ended.Str("state"));
        // Ready again at once (the queue has no wrap-up time, but make it explicit).
        await Admin.PutAsJsonAsync($"/api/v1/agents/{agent}/status", new { status = "ready" });
        return call.Id();
    }
}

/// <summary>Small HTTP and JSON helpers that keep the tests to the point.</summary>
public static class ApiExtensions
{
    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected,
            $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<JsonElement> CreatedAsync(this HttpClient client, string path, object body) =>
        await (await client.PostAsJsonAsync(path, body)).JsonAsync(HttpStatusCode.Created);

    public static async Task<JsonElement> OkAsync(this HttpClient client, string path) =>
        await (await client.GetAsync(path)).JsonAsync(HttpStatusCode.OK);

    public static async Task<JsonElement> PatchOkAsync(this HttpClient client, string path, object body) =>
        await (await client.PatchAsJsonAsync(path, body)).JsonAsync(HttpStatusCode.OK);

    public static async Task<JsonElement> PutOkAsync(this HttpClient client, string path, object body) =>
        await (await client.PutAsJsonAsync(path, body)).JsonAsync(HttpStatusCode.OK);

    /// <summary>Sends <paramref name="content"/> byte for byte (with a Content-Length), as curl would.</summary>
    public static Task<HttpResponseMessage> SendRawAsync(this HttpClient client, HttpMethod method, string path, string? content,
        string contentType = "application/json")
    {
        var request = new HttpRequestMessage(method, path);
        if (content != null) request.Content = new StringContent(content, Encoding.UTF8, contentType);
        return client.SendAsync(request);
    }

    /// <summary>Sends a JSON body with a Content-Length.</summary>
    public static Task<HttpResponseMessage> SendJsonAsync(this HttpClient client, HttpMethod method, string path, object body) =>
        client.SendRawAsync(method, path, JsonSerializer.Serialize(body));

    public static long Id(this JsonElement e) => e.GetProperty("id").GetInt64();
    public static long Long(this JsonElement e, string name) => e.GetProperty(name).GetInt64();
    public static int Int(this JsonElement e, string name) => e.GetProperty(name).GetInt32();
    public static double Double(this JsonElement e, string name) => e.GetProperty(name).GetDouble();
    public static string? Str(this JsonElement e, string name) => e.GetProperty(name).GetString();
    public static bool IsNull(this JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null;

    public static JsonElement[] Items(this JsonElement page) => page.GetProperty("items").EnumerateArray().ToArray();

    public static long[] Ids(this JsonElement page, string name = "id") => page.Items().Select(i => i.Long(name)).ToArray();

    /// <summary>The JSON text of a stored object, for "nothing changed" checks.</summary>
    public static async Task<string> SnapshotAsync(this HttpClient client, string path) =>
        JsonNode.Parse((await client.OkAsync(path)).GetRawText())!.ToJsonString();

    /// <summary>Asserts an RFC 7807 problem response with <paramref name="status"/> whose <c>errors</c> names each of
    /// <paramref name="fields"/> (for a 400), and returns its body.</summary>
    public static async Task<JsonElement> ProblemAsync(this HttpResponseMessage response, HttpStatusCode status, params string[] fields)
    {
        var body = await response.JsonAsync(status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((int)status, body.Int("status"));
        if (fields.Length > 0)
        {
            Assert.True(body.TryGetProperty("errors", out var errors), $"no 'errors' in {body}");
            var named = errors.EnumerateObject().Select(p => p.Name).ToList();
            foreach (var field in fields)
            {
                Assert.True(named.Contains(field), $"errors should name '{field}' but name [{string.Join(", ", named)}]: {body}");
                Assert.Contains(errors.GetProperty(field).EnumerateArray(), m => !string.IsNullOrEmpty(m.GetString()));
            }
        }
        return body;
    }

    public static async Task ProblemAsync(this Task<HttpResponseMessage> response, HttpStatusCode status, params string[] fields) =>
        await (await response).ProblemAsync(status, fields);
}
