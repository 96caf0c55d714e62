using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Lineup.Server.Tests;

/// <summary>Sign-in, tokens, API keys, roles and tenant choice. Failed sign-ins here stay below the throttle's
/// limit; the throttle itself is tested on servers of its own.</summary>
public class AuthTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private TenantSession T => fx.Tenant;

    [Fact]
    public async Task Login_returns_an_access_token_a_refresh_token_and_the_user()
    {
        var (client, login) = await fx.SignInAsync("boss", TenantSession.Password, T.Name);

        Assert.StartsWith("la_", login.Str("access_token"), StringComparison.Ordinal);
        Assert.StartsWith("lr_", login.Str("refresh_token"), StringComparison.Ordinal);
        Assert.Equal(3600, login.Int("expires_in"));
        Assert.Equal("Bearer", login.Str("token_type"));
        var user = login.GetProperty("user");
        Assert.Equal(T.AdminUserId, user.Id());
        Assert.Equal("boss", user.Str("username"));
        Assert.Equal("admin", user.Str("role"));
        Assert.Equal(T.Id, user.Long("tenant_id"));
        Assert.True(user.IsNull("agent_id"));
        Assert.False(user.TryGetProperty("password_hash", out _));
        await client.OkAsync("/api/v1/queues");
    }

    /// <summary>GET /auth/me says whose a token is (the agent panel opened with #token= asks it).</summary>
    [Fact]
    public async Task Me_names_the_user_or_the_api_key_behind_a_token()
    {
        var agent = await T.AgentAsync();
        var me = await (await T.AgentUserAsync(agent)).OkAsync("/api/v1/auth/me");
        Assert.Equal(("user", "agent", T.Id, agent), (me.Str("kind"), me.Str("role"), me.Long("tenant_id"), me.Long("agent_id")));

        var key = await T.Admin.CreatedAsync("/api/v1/api-keys", new { name = ApiFixture.Unique("me-"), role = "supervisor" });
        var byKey = await fx.WithBearer(key.Str("key")!).OkAsync("/api/v1/auth/me");
        Assert.Equal(("api_key", key.Id(), key.Str("name"), "supervisor", T.Id), (byKey.Str("kind"), byKey.Id(), byKey.Str("name"), byKey.Str("role"), byKey.Long("tenant_id")));
        Assert.True(byKey.IsNull("agent_id"));

        await fx.Anonymous().GetAsync("/api/v1/auth/me").ProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Wrong_password_is_401_and_a_tenant_that_does_not_exist_is_400_naming_it_for_everyone()
    {
        var anonymous = fx.Anonymous();
        await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username = "boss", password = "wrong-password", tenant = T.Name })
            .ProblemAsync(HttpStatusCode.Unauthorized);
        // A tenant that does not exist is a mistake whoever signs in, the system administrator included (whose
        // password is right here: before, it signed in under any name).
        var body = await (await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username = "boss", password = TenantSession.Password, tenant = "no-such-tenant" }))
            .ProblemAsync(HttpStatusCode.BadRequest, "tenant");
        Assert.Contains("no-such-tenant", body.GetProperty("errors").GetProperty("tenant")[0].GetString(), StringComparison.Ordinal);
        await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = LineupFactory.AdminPassword, tenant = "no-such-tenant" })
            .ProblemAsync(HttpStatusCode.BadRequest, "tenant");
    }

    [Fact]
    public async Task Without_a_tenant_a_user_signs_in_to_the_tenant_default_and_is_told_so_when_not_found()
    {
        var admin = fx.SystemAdmin; // works on "default" without X-Account-ID
        var agent = (await admin.CreatedAsync("/api/v1/agents", new { name = "Dana", number = "7301" })).Id();
        await admin.CreatedAsync("/api/v1/users", new { username = "dana", password = TenantSession.Password, role = "agent", agent_id = agent });
        var anonymous = fx.Anonymous();

        var login = await (await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username = "dana", password = TenantSession.Password }))
            .JsonAsync(HttpStatusCode.OK);
        Assert.Equal(agent, login.GetProperty("user").Long("agent_id"));
        // The system administrator too, with no tenant or with any tenant that exists.
        await (await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = LineupFactory.AdminPassword })).JsonAsync(HttpStatusCode.OK);
        await (await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = LineupFactory.AdminPassword, tenant = T.Name })).JsonAsync(HttpStatusCode.OK);
        // A user of another tenant who forgets the tenant learns which one was tried.
        var missed = await (await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username = "boss", password = TenantSession.Password }))
            .ProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("'default'", missed.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_without_username_or_password_is_400_naming_them()
    {
        await fx.Anonymous().PostAsJsonAsync("/api/v1/auth/login", new { tenant = T.Name })
            .ProblemAsync(HttpStatusCode.BadRequest, "username", "password");
    }

    [Fact]
    public async Task Refresh_rotates_the_refresh_token()
    {
        var (_, login) = await fx.SignInAsync("boss", TenantSession.Password, T.Name);
        var anonymous = fx.Anonymous();

        var refreshed = await (await anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = login.Str("refresh_token") }))
            .JsonAsync(HttpStatusCode.OK);
        Assert.NotEqual(login.Str("access_token"), refreshed.Str("access_token"));
        Assert.NotEqual(login.Str("refresh_token"), refreshed.Str("refresh_token"));
        Assert.Equal("boss", refreshed.GetProperty("user").Str("username"));
        await fx.WithBearer(refreshed.Str("access_token")!).OkAsync("/api/v1/queues");

        // The old refresh token was used up; the new one works once.
        await anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = login.Str("refresh_token") })
            .ProblemAsync(HttpStatusCode.Unauthorized);
        await (await anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = refreshed.Str("refresh_token") }))
            .JsonAsync(HttpStatusCode.OK);
        await anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = refreshed.Str("refresh_token") })
            .ProblemAsync(HttpStatusCode.Unauthorized);
        // An access token is not a refresh token.
        await anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = login.Str("access_token") })
            .ProblemAsync(HttpStatusCode.Unauthorized);
        await anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { })
            .ProblemAsync(HttpStatusCode.BadRequest, "refresh_token");
    }

    [Fact]
    public async Task Logout_invalidates_the_access_token_and_the_refresh_token_given()
    {
        var (client, login) = await fx.SignInAsync("boss", TenantSession.Password, T.Name);
        await client.OkAsync("/api/v1/queues");

        var logout = await client.SendJsonAsync(HttpMethod.Post, "/api/v1/auth/logout", new { refresh_token = login.Str("refresh_token") });
        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);

        await client.GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Unauthorized);
        await fx.Anonymous().PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = login.Str("refresh_token") })
            .ProblemAsync(HttpStatusCode.Unauthorized);
        // Other sessions of the same user are not affected.
        await T.Admin.OkAsync("/api/v1/queues");
    }

    [Fact]
    public async Task A_new_password_ends_every_session_of_the_user()
    {
        var username = ApiFixture.Unique("changer-");
        var user = await T.Admin.CreatedAsync("/api/v1/users", new { username, password = TenantSession.Password, role = "supervisor" });
        var (first, firstLogin) = await fx.SignInAsync(username, TenantSession.Password, T.Name);
        var (second, _) = await fx.SignInAsync(username, TenantSession.Password, T.Name);
        await first.OkAsync("/api/v1/queues");
        await second.OkAsync("/api/v1/queues");

        await T.Admin.PatchOkAsync($"/api/v1/users/{user.Id()}", new { password = "a-brand-new-password" });

        await first.GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Unauthorized);
        await second.GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Unauthorized);
        await fx.Anonymous().PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = firstLogin.Str("refresh_token") })
            .ProblemAsync(HttpStatusCode.Unauthorized);
        var (again, _) = await fx.SignInAsync(username, "a-brand-new-password", T.Name);
        await again.OkAsync("/api/v1/queues");
    }

    [Fact]
    public async Task Logout_reads_a_chunked_body_too()
    {
        var (client, login) = await fx.SignInAsync("boss", TenantSession.Password, T.Name);
        var content = new StringContent($"{{\"refresh_token\":\"{login.Str("refresh_token")}\"}}", System.Text.Encoding.UTF8, "application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/auth/logout") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        Assert.Equal(HttpStatusCode.NoContent, (await client.SendAsync(request)).StatusCode);
        await fx.Anonymous().PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = login.Str("refresh_token") })
            .ProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Api_key_is_shown_once_works_as_X_API_Key_and_as_Bearer_and_stops_working_when_deleted()
    {
        var name = ApiFixture.Unique("pbx-");
        var created = await T.Admin.CreatedAsync("/api/v1/api-keys", new { name, role = "supervisor" });
        var key = created.Str("key")!;
        Assert.StartsWith("lk_", key, StringComparison.Ordinal);
        Assert.Equal(key[..7], created.Str("prefix"));
        Assert.Equal(name, created.Str("name"));
        Assert.Equal("supervisor", created.Str("role"));
        var id = created.Id();

        var list = await T.Admin.OkAsync("/api/v1/api-keys");
        var listed = Assert.Single(list.Items(), k => k.Id() == id);
        Assert.Equal(key[..7], listed.Str("prefix"));
        Assert.True(!listed.TryGetProperty("key", out var k) || k.ValueKind == JsonValueKind.Null, listed.ToString());
        Assert.DoesNotContain(key, list.GetRawText(), StringComparison.Ordinal);

        var viaHeader = fx.Anonymous();
        viaHeader.DefaultRequestHeaders.Add("X-API-Key", key);
        var viaBearer = fx.WithBearer(key);
        await viaHeader.OkAsync("/api/v1/queues");
        await viaBearer.OkAsync("/api/v1/queues");
        // A supervisor key cannot change configuration.
        await viaHeader.PostAsJsonAsync("/api/v1/queues", new { name = "nope" }).ProblemAsync(HttpStatusCode.Forbidden);

        Assert.Equal(HttpStatusCode.NoContent, (await T.Admin.DeleteAsync($"/api/v1/api-keys/{id}")).StatusCode);
        await viaHeader.GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Unauthorized);
        await viaBearer.GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Unauthorized);
        await T.Admin.DeleteAsync($"/api/v1/api-keys/{id}").ProblemAsync(HttpStatusCode.NotFound);
        Assert.DoesNotContain((await T.Admin.OkAsync("/api/v1/api-keys")).Items(), x => x.Id() == id);
    }

    [Fact]
    public async Task Api_key_role_defaults_to_supervisor_and_cannot_exceed_admin()
    {
        var plain = await T.Admin.CreatedAsync("/api/v1/api-keys", new { name = ApiFixture.Unique("key-") });
        Assert.Equal("supervisor", plain.Str("role"));
        await T.Admin.PostAsJsonAsync("/api/v1/api-keys", new { name = "root", role = "system_admin" })
            .ProblemAsync(HttpStatusCode.BadRequest, "role");
        await T.Admin.PostAsJsonAsync("/api/v1/api-keys", new { role = "agent" })
            .ProblemAsync(HttpStatusCode.BadRequest, "name");
        var supervisor = await T.SupervisorAsync();
        await supervisor.PostAsJsonAsync("/api/v1/api-keys", new { name = "mine" }).ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.GetAsync("/api/v1/api-keys").ProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task An_admin_api_key_acts_as_an_admin_of_its_tenant()
    {
        var key = (await T.Admin.CreatedAsync("/api/v1/api-keys", new { name = ApiFixture.Unique("crm-"), role = "admin" })).Str("key")!;
        var client = fx.WithBearer(key);
        var queue = await client.CreatedAsync("/api/v1/queues", new { name = ApiFixture.Unique("by-key-") });
        await T.Admin.OkAsync($"/api/v1/queues/{queue.Id()}");
        // Logging out is for sessions, not keys.
        await client.PostAsync("/api/v1/auth/logout", null).ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Agent_user_is_refused_admin_and_supervisor_endpoints()
    {
        var queue = await T.QueueAsync();
        var agent = await T.AgentAsync();
        await T.MemberAsync(queue, agent);
        var me = await T.AgentUserAsync(agent);

        await me.PostAsJsonAsync("/api/v1/queues", new { name = "x" }).ProblemAsync(HttpStatusCode.Forbidden);
        await me.GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Forbidden);
        await me.GetAsync($"/api/v1/queues/{queue}").ProblemAsync(HttpStatusCode.Forbidden);
        await me.PatchAsJsonAsync($"/api/v1/queues/{queue}", new { name = "x" }).ProblemAsync(HttpStatusCode.Forbidden);
        await me.GetAsync($"/api/v1/queues/{queue}/status").ProblemAsync(HttpStatusCode.Forbidden);
        await me.PutAsJsonAsync($"/api/v1/queues/{queue}/members", new { members = Array.Empty<object>() }).ProblemAsync(HttpStatusCode.Forbidden);
        await me.GetAsync("/api/v1/agents").ProblemAsync(HttpStatusCode.Forbidden);
        await me.PatchAsJsonAsync($"/api/v1/agents/{agent}", new { name = "me" }).ProblemAsync(HttpStatusCode.Forbidden);
        await me.DeleteAsync($"/api/v1/agents/{agent}").ProblemAsync(HttpStatusCode.Forbidden);
        await me.GetAsync("/api/v1/users").ProblemAsync(HttpStatusCode.Forbidden);
        await me.PostAsJsonAsync("/api/v1/users", new { username = "x", password = "long-enough", role = "admin" }).ProblemAsync(HttpStatusCode.Forbidden);
        await me.GetAsync("/api/v1/api-keys").ProblemAsync(HttpStatusCode.Forbidden);
        await me.GetAsync("/api/v1/tenants").ProblemAsync(HttpStatusCode.Forbidden);
        await me.PostAsJsonAsync("/api/v1/calls", new { queue_id = queue, caller_number = "1" }).ProblemAsync(HttpStatusCode.Forbidden);
        await me.GetAsync("/api/v1/cdrs").ProblemAsync(HttpStatusCode.Forbidden);

        // Nothing changed.
        Assert.Empty((await T.Admin.OkAsync($"/api/v1/queues/{queue}/calls")).Items());
        Assert.Single((await T.Admin.OkAsync($"/api/v1/queues/{queue}/members")).Items());
    }

    [Fact]
    public async Task Agent_user_reads_and_sets_only_its_own_status_and_login()
    {
        var queue = await T.QueueAsync();
        var agent = await T.AgentAsync();
        var other = await T.AgentAsync();
        await T.MemberAsync(queue, agent);
        await T.MemberAsync(queue, other);
        var me = await T.AgentUserAsync(agent);

        var self = await me.OkAsync($"/api/v1/agents/{agent}");
        Assert.Equal(agent, self.Id());
        Assert.Equal("logged_out", (await me.OkAsync($"/api/v1/agents/{agent}/status")).Str("status"));
        var loggedIn = await (await me.PostAsync($"/api/v1/agents/{agent}/login", null)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("ready", loggedIn.Str("status"));
        var notReady = await me.PutOkAsync($"/api/v1/agents/{agent}/status", new { status = "not_ready", reason = "lunch" });
        Assert.Equal("not_ready", notReady.Str("status"));
        Assert.Equal("lunch", notReady.Str("reason"));
        var loggedOut = await (await me.PostAsync($"/api/v1/agents/{agent}/logout", null)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("logged_out", loggedOut.Str("status"));

        await me.GetAsync($"/api/v1/agents/{other}").ProblemAsync(HttpStatusCode.Forbidden);
        await me.GetAsync($"/api/v1/agents/{other}/status").ProblemAsync(HttpStatusCode.Forbidden);
        await me.PutAsJsonAsync($"/api/v1/agents/{other}/status", new { status = "ready" }).ProblemAsync(HttpStatusCode.Forbidden);
        await me.PostAsync($"/api/v1/agents/{other}/login", null).ProblemAsync(HttpStatusCode.Forbidden);
        await me.PostAsync($"/api/v1/agents/{other}/logout", null).ProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("logged_out", (await T.Admin.OkAsync($"/api/v1/agents/{other}/status")).Str("status"));
    }

    [Fact]
    public async Task Supervisor_reads_everything_but_changes_no_configuration()
    {
        var queue = await T.QueueAsync();
        var agent = await T.AgentAsync();
        await T.MemberAsync(queue, agent);
        var supervisor = await T.SupervisorAsync();
        var before = await T.Admin.SnapshotAsync($"/api/v1/queues/{queue}");

        await supervisor.OkAsync("/api/v1/queues");
        await supervisor.OkAsync($"/api/v1/queues/{queue}");
        await supervisor.OkAsync($"/api/v1/queues/{queue}/members");
        await supervisor.OkAsync($"/api/v1/queues/{queue}/status");
        await supervisor.OkAsync($"/api/v1/queues/{queue}/stats");
        await supervisor.OkAsync($"/api/v1/queues/{queue}/calls");
        await supervisor.OkAsync($"/api/v1/queues/{queue}/staffing");
        await supervisor.OkAsync("/api/v1/agents");
        await supervisor.OkAsync($"/api/v1/agents/{agent}");
        await supervisor.OkAsync("/api/v1/cdrs");

        await supervisor.PostAsJsonAsync("/api/v1/queues", new { name = "x" }).ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.PatchAsJsonAsync($"/api/v1/queues/{queue}", new { name = "x" }).ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.DeleteAsync($"/api/v1/queues/{queue}").ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.PutAsJsonAsync($"/api/v1/queues/{queue}/members", new { members = Array.Empty<object>() }).ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.PostAsJsonAsync($"/api/v1/queues/{queue}/members", new { agent_id = agent }).ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.DeleteAsync($"/api/v1/queues/{queue}/members/{agent}").ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.PostAsJsonAsync("/api/v1/agents", new { name = "x" }).ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.PatchAsJsonAsync($"/api/v1/agents/{agent}", new { name = "x" }).ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.DeleteAsync($"/api/v1/agents/{agent}").ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.GetAsync("/api/v1/users").ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.PostAsJsonAsync("/api/v1/users", new { username = "x", password = "long-enough", role = "agent", agent_id = agent })
            .ProblemAsync(HttpStatusCode.Forbidden);
        await supervisor.GetAsync("/api/v1/tenants").ProblemAsync(HttpStatusCode.Forbidden);

        Assert.Equal(before, await T.Admin.SnapshotAsync($"/api/v1/queues/{queue}"));
        Assert.Single((await T.Admin.OkAsync($"/api/v1/queues/{queue}/members")).Items());
        // Supervisors do act on agents' status (a wallboard operator sets an agent not ready).
        var status = await (await supervisor.PostAsync($"/api/v1/agents/{agent}/login", null)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("ready", status.Str("status"));
    }

    [Fact]
    public async Task System_admin_chooses_the_tenant_with_X_Account_ID()
    {
        var root = fx.SystemAdminFor(T.Id);
        var name = ApiFixture.Unique("chosen-");
        var queue = await root.CreatedAsync("/api/v1/queues", new { name });
        Assert.Equal(name, (await T.Admin.OkAsync($"/api/v1/queues/{queue.Id()}")).Str("name"));
        // Without the header the system administrator works on the tenant "default", which does not have it.
        await fx.SystemAdmin.GetAsync($"/api/v1/queues/{queue.Id()}").ProblemAsync(HttpStatusCode.NotFound);

        await fx.SystemAdminFor(999_999_999).GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.NotFound);
        var garbage = fx.WithBearer(fx.SystemAdmin.DefaultRequestHeaders.Authorization!.Parameter!);
        garbage.DefaultRequestHeaders.Add("X-Account-ID", "not-a-number");
        await garbage.GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Tenant_user_sending_another_tenants_X_Account_ID_is_403_and_its_own_is_fine()
    {
        var other = await T.Admin.SnapshotAsync("/api/v1/queues");
        var sneaky = fx.WithBearer(T.Admin.DefaultRequestHeaders.Authorization!.Parameter!, account: T.Id + 1_000);
        await sneaky.GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Forbidden);
        var defaultTenant = (await fx.SystemAdmin.OkAsync("/api/v1/tenants")).Items().Single(t => t.Str("name") == "default").Id();
        var toDefault = fx.WithBearer(T.Admin.DefaultRequestHeaders.Authorization!.Parameter!, account: defaultTenant);
        await toDefault.GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Forbidden);
        await toDefault.PostAsJsonAsync("/api/v1/queues", new { name = "sneaky" }).ProblemAsync(HttpStatusCode.Forbidden);
        Assert.DoesNotContain((await fx.SystemAdmin.OkAsync("/api/v1/queues")).Items(), q => q.Str("name") == "sneaky");

        var own = fx.WithBearer(T.Admin.DefaultRequestHeaders.Authorization!.Parameter!, account: T.Id);
        Assert.Equal(other, await own.SnapshotAsync("/api/v1/queues"));
    }

    [Fact]
    public async Task Garbage_credentials_are_401()
    {
        await fx.WithBearer("la_not-a-token").GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Unauthorized);
        await fx.WithBearer("lk_not-a-key").GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Unauthorized);
        await fx.WithBearer(new string('x', 5000)).GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Unauthorized);
        var key = fx.Anonymous();
        key.DefaultRequestHeaders.Add("X-API-Key", "nonsense");
        await key.GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Unauthorized);
    }

    public static TheoryData<string, string> ProtectedEndpoints => new()
    {
        { "POST", "/api/v1/auth/logout" },
        { "GET", "/api/v1/api-keys" },
        { "POST", "/api/v1/api-keys" },
        { "DELETE", "/api/v1/api-keys/1" },
        { "GET", "/api/v1/tenants" },
        { "POST", "/api/v1/tenants" },
        { "GET", "/api/v1/tenants/1" },
        { "PATCH", "/api/v1/tenants/1" },
        { "DELETE", "/api/v1/tenants/1" },
        { "GET", "/api/v1/users" },
        { "POST", "/api/v1/users" },
        { "GET", "/api/v1/users/1" },
        { "PATCH", "/api/v1/users/1" },
        { "DELETE", "/api/v1/users/1" },
        { "GET", "/api/v1/agents" },
        { "POST", "/api/v1/agents" },
        { "GET", "/api/v1/agents/1" },
        { "PATCH", "/api/v1/agents/1" },
        { "DELETE", "/api/v1/agents/1" },
        { "GET", "/api/v1/agents/1/status" },
        { "PUT", "/api/v1/agents/1/status" },
        { "POST", "/api/v1/agents/1/login" },
        { "POST", "/api/v1/agents/1/logout" },
        { "GET", "/api/v1/queues" },
        { "POST", "/api/v1/queues" },
        { "GET", "/api/v1/queues/1" },
        { "PATCH", "/api/v1/queues/1" },
        { "DELETE", "/api/v1/queues/1" },
        { "GET", "/api/v1/queues/1/members" },
        { "PUT", "/api/v1/queues/1/members" },
        { "POST", "/api/v1/queues/1/members" },
        { "DELETE", "/api/v1/queues/1/members/1" },
        { "GET", "/api/v1/queues/1/status" },
        { "GET", "/api/v1/queues/1/stats" },
        { "GET", "/api/v1/queues/1/calls" },
        { "POST", "/api/v1/queues/1/calls/1/pickup" },
        { "GET", "/api/v1/queues/1/staffing" },
        { "POST", "/api/v1/calls" },
        { "GET", "/api/v1/calls/1" },
        { "POST", "/api/v1/calls/1/events" },
        { "GET", "/api/v1/cdrs" },
    };

    [Theory]
    [MemberData(nameof(ProtectedEndpoints))]
    public async Task No_credentials_is_401(string method, string path)
    {
        var response = await fx.Anonymous().SendRawAsync(new HttpMethod(method), path, method is "GET" or "DELETE" ? null : "{}");
        var problem = await response.ProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("auth/login", problem.Str("detail"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    [InlineData("/metrics")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/docs")]
    [InlineData("/docs/index.html")]
    public async Task Operations_and_documentation_need_no_credentials(string path)
    {
        var response = await fx.Anonymous().GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Sixth_failed_sign_in_is_429_with_Retry_After_even_with_the_right_password()
    {
        using var factory = new LineupFactory();
        var client = factory.CreateClient();
        for (var i = 0; i < 5; i++)
            await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = "wrong-" + i })
                .ProblemAsync(HttpStatusCode.Unauthorized);

        var blocked = await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = LineupFactory.AdminPassword });
        await blocked.ProblemAsync(HttpStatusCode.TooManyRequests);
        var retryAfter = Assert.Single(blocked.Headers.GetValues("Retry-After"));
        var seconds = int.Parse(retryAfter, CultureInfo.InvariantCulture);
        Assert.InRange(seconds, 1, 15 * 60);
    }

    [Fact]
    public async Task Varying_the_tenant_name_does_not_escape_the_throttle()
    {
        using var factory = new LineupFactory();
        var admin = await factory.SignInAsync();
        foreach (var name in new[] { "t1", "t2" }) await admin.CreatedAsync("/api/v1/tenants", new { name });
        var client = factory.CreateClient();
        string?[] tenants = ["default", "t1", "t2", null, "t1"];
        foreach (var tenant in tenants)
            await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = "wrong", tenant })
                .ProblemAsync(HttpStatusCode.Unauthorized);

        await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = LineupFactory.AdminPassword, tenant = "t2" })
            .ProblemAsync(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task Probing_tenant_names_is_throttled_per_address()
    {
        using var factory = new LineupFactory();
        var client = factory.CreateClient();
        for (var i = 0; i < 50; i++)
            await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = LineupFactory.AdminPassword, tenant = "guess" + i })
                .ProblemAsync(HttpStatusCode.BadRequest, "tenant");

        await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = LineupFactory.AdminPassword, tenant = "guess-more" })
            .ProblemAsync(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task One_users_typos_do_not_lock_out_other_users_from_the_same_address()
    {
        using var factory = new LineupFactory();
        var admin = await factory.SignInAsync();
        await admin.CreatedAsync("/api/v1/users", new { username = "clumsy", password = TenantSession.Password, role = "supervisor" });
        await admin.CreatedAsync("/api/v1/users", new { username = "careful", password = TenantSession.Password, role = "supervisor" });
        var client = factory.CreateClient();
        for (var i = 0; i < 6; i++)
            await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "clumsy", password = "wrong", tenant = "default" })
                .ProblemAsync(i < 5 ? HttpStatusCode.Unauthorized : HttpStatusCode.TooManyRequests);

        var ok = await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "careful", password = TenantSession.Password, tenant = "default" });
        var body = await ok.JsonAsync(HttpStatusCode.OK);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.Str("access_token"));
        await client.OkAsync("/api/v1/queues");
    }
}
