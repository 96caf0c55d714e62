using System.Net;
using System.Net.Http.Json;

namespace Lineup.Server.Tests;

/// <summary>Tenants (system administrator only) and a tenant's users.</summary>
public class TenantUserTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private TenantSession T => fx.Tenant;
    private HttpClient Root => fx.SystemAdmin;

    [Fact]
    public async Task Tenant_create_read_list_update_delete()
    {
        var name = ApiFixture.Unique("acme-");
        var response = await Root.PostAsJsonAsync("/api/v1/tenants", new { name, time_zone = "Europe/Berlin" });
        var created = await response.JsonAsync(HttpStatusCode.Created);
        var id = created.Id();
        Assert.Equal($"/api/v1/tenants/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal(name, created.Str("name"));
        Assert.Equal("Europe/Berlin", created.Str("time_zone"));
        Assert.True(created.TryGetProperty("created_at", out _));

        Assert.Equal(name, (await Root.OkAsync($"/api/v1/tenants/{id}")).Str("name"));
        Assert.Contains(await AllTenantIdsAsync(), t => t == id);

        // PATCH changes only what it names.
        var renamed = await Root.PatchOkAsync($"/api/v1/tenants/{id}", new { name = name + "-renamed" });
        Assert.Equal(name + "-renamed", renamed.Str("name"));
        Assert.Equal("Europe/Berlin", renamed.Str("time_zone"));
        var moved = await Root.PatchOkAsync($"/api/v1/tenants/{id}", new { time_zone = "America/New_York" });
        Assert.Equal(name + "-renamed", moved.Str("name"));
        Assert.Equal("America/New_York", moved.Str("time_zone"));
        Assert.Equal("America/New_York", (await Root.OkAsync($"/api/v1/tenants/{id}")).Str("time_zone"));

        Assert.Equal(HttpStatusCode.NoContent, (await Root.DeleteAsync($"/api/v1/tenants/{id}")).StatusCode);
        await Root.GetAsync($"/api/v1/tenants/{id}").ProblemAsync(HttpStatusCode.NotFound);
        await Root.PatchAsJsonAsync($"/api/v1/tenants/{id}", new { name = "again" }).ProblemAsync(HttpStatusCode.NotFound);
        await Root.DeleteAsync($"/api/v1/tenants/{id}").ProblemAsync(HttpStatusCode.NotFound);
        Assert.DoesNotContain(await AllTenantIdsAsync(), t => t == id);
        await fx.SystemAdminFor(id).GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Deleting_a_tenant_signs_its_users_out()
    {
        var tenant = await fx.CreateTenantAsync();
        await tenant.Admin.OkAsync("/api/v1/queues");
        Assert.Equal(HttpStatusCode.NoContent, (await Root.DeleteAsync($"/api/v1/tenants/{tenant.Id}")).StatusCode);
        await tenant.Admin.GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Unauthorized);
        // The tenant is gone: signing in to it names the tenant as the mistake.
        await fx.Anonymous().PostAsJsonAsync("/api/v1/auth/login", new { username = "boss", password = TenantSession.Password, tenant = tenant.Name })
            .ProblemAsync(HttpStatusCode.BadRequest, "tenant");
    }

    [Fact]
    public async Task Duplicate_tenant_name_is_409()
    {
        var name = ApiFixture.Unique("dup-");
        var first = await Root.CreatedAsync("/api/v1/tenants", new { name });
        await Root.PostAsJsonAsync("/api/v1/tenants", new { name }).ProblemAsync(HttpStatusCode.Conflict);
        var second = await Root.CreatedAsync("/api/v1/tenants", new { name = name + "b" });
        await Root.PatchAsJsonAsync($"/api/v1/tenants/{second.Id()}", new { name }).ProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(name + "b", (await Root.OkAsync($"/api/v1/tenants/{second.Id()}")).Str("name"));
        // Renaming to its own name is not a conflict.
        await Root.PatchOkAsync($"/api/v1/tenants/{first.Id()}", new { name });
    }

    [Fact]
    public async Task Bad_time_zone_and_missing_name_are_400_naming_the_field()
    {
        await Root.PostAsJsonAsync("/api/v1/tenants", new { name = ApiFixture.Unique("tz-"), time_zone = "Mars/Olympus_Mons" })
            .ProblemAsync(HttpStatusCode.BadRequest, "time_zone");
        await Root.PostAsJsonAsync("/api/v1/tenants", new { time_zone = "UTC" }).ProblemAsync(HttpStatusCode.BadRequest, "name");
        await Root.PostAsJsonAsync("/api/v1/tenants", new { name = new string('n', 65) }).ProblemAsync(HttpStatusCode.BadRequest, "name");
        var before = await Root.SnapshotAsync($"/api/v1/tenants/{T.Id}");
        await Root.PatchAsJsonAsync($"/api/v1/tenants/{T.Id}", new { time_zone = "Nowhere" }).ProblemAsync(HttpStatusCode.BadRequest, "time_zone");
        Assert.Equal(before, await Root.SnapshotAsync($"/api/v1/tenants/{T.Id}"));
    }

    [Fact]
    public async Task Tenant_admin_cannot_manage_tenants()
    {
        await T.Admin.GetAsync("/api/v1/tenants").ProblemAsync(HttpStatusCode.Forbidden);
        await T.Admin.GetAsync($"/api/v1/tenants/{T.Id}").ProblemAsync(HttpStatusCode.Forbidden);
        await T.Admin.PostAsJsonAsync("/api/v1/tenants", new { name = "mine" }).ProblemAsync(HttpStatusCode.Forbidden);
        await T.Admin.PatchAsJsonAsync($"/api/v1/tenants/{T.Id}", new { name = "mine" }).ProblemAsync(HttpStatusCode.Forbidden);
        await T.Admin.DeleteAsync($"/api/v1/tenants/{T.Id}").ProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(T.Name, (await Root.OkAsync($"/api/v1/tenants/{T.Id}")).Str("name"));
    }

    [Fact]
    public async Task Tenant_list_pages()
    {
        for (var i = 0; i < 3; i++) await Root.CreatedAsync("/api/v1/tenants", new { name = ApiFixture.Unique("page-") });
        var first = await Root.OkAsync("/api/v1/tenants?limit=2");
        Assert.Equal(2, first.Items().Length);
        var cursor = first.Str("next_cursor");
        Assert.NotNull(cursor);
        var second = await Root.OkAsync($"/api/v1/tenants?limit=2&cursor={cursor}");
        Assert.True(second.Ids().Min() > first.Ids().Max());
        await Root.GetAsync("/api/v1/tenants?limit=0").ProblemAsync(HttpStatusCode.BadRequest, "limit");
        await Root.GetAsync("/api/v1/tenants?cursor=abc").ProblemAsync(HttpStatusCode.BadRequest, "cursor");
    }

    [Fact]
    public async Task User_create_read_list_update_delete()
    {
        var username = ApiFixture.Unique("sup-");
        var response = await T.Admin.PostAsJsonAsync("/api/v1/users", new { username, password = "first-password", role = "supervisor" });
        var created = await response.JsonAsync(HttpStatusCode.Created);
        var id = created.Id();
        Assert.Equal($"/api/v1/users/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal(username, created.Str("username"));
        Assert.Equal("supervisor", created.Str("role"));
        Assert.Equal(T.Id, created.Long("tenant_id"));
        Assert.False(created.TryGetProperty("password", out _));
        Assert.False(created.TryGetProperty("password_hash", out _));

        Assert.Equal(username, (await T.Admin.OkAsync($"/api/v1/users/{id}")).Str("username"));
        Assert.Contains(id, (await T.Admin.OkAsync("/api/v1/users?limit=500")).Ids());

        var (client, _) = await fx.SignInAsync(username, "first-password", T.Name);
        await client.OkAsync("/api/v1/queues");

        // Promote to admin: the role takes effect for the signed-in session at once.
        var updated = await T.Admin.PatchOkAsync($"/api/v1/users/{id}", new { role = "admin" });
        Assert.Equal("admin", updated.Str("role"));
        Assert.Equal(username, updated.Str("username"));
        await client.OkAsync("/api/v1/users");
        // A new password ends the user's sessions; the old password no longer signs in, the new one does.
        await T.Admin.PatchOkAsync($"/api/v1/users/{id}", new { password = "second-password" });
        await client.GetAsync("/api/v1/users").ProblemAsync(HttpStatusCode.Unauthorized);
        await fx.Anonymous().PostAsJsonAsync("/api/v1/auth/login", new { username, password = "first-password", tenant = T.Name })
            .ProblemAsync(HttpStatusCode.Unauthorized);
        await (await fx.SignInAsync(username, "second-password", T.Name)).Client.OkAsync("/api/v1/users");

        await T.Admin.PatchAsJsonAsync($"/api/v1/users/{id}", new { username = "renamed" }).ProblemAsync(HttpStatusCode.BadRequest, "username");

        Assert.Equal(HttpStatusCode.NoContent, (await T.Admin.DeleteAsync($"/api/v1/users/{id}")).StatusCode);
        await T.Admin.GetAsync($"/api/v1/users/{id}").ProblemAsync(HttpStatusCode.NotFound);
        await T.Admin.DeleteAsync($"/api/v1/users/{id}").ProblemAsync(HttpStatusCode.NotFound);
        await client.GetAsync("/api/v1/queues").ProblemAsync(HttpStatusCode.Unauthorized);
        Assert.DoesNotContain(id, (await T.Admin.OkAsync("/api/v1/users?limit=500")).Ids());
    }

    [Fact]
    public async Task Duplicate_username_is_409()
    {
        var username = ApiFixture.Unique("twin-");
        await T.Admin.CreatedAsync("/api/v1/users", new { username, password = "password-1", role = "supervisor" });
        await T.Admin.PostAsJsonAsync("/api/v1/users", new { username, password = "password-2", role = "admin" })
            .ProblemAsync(HttpStatusCode.Conflict);
        // The same username in another tenant is fine.
        var other = await fx.CreateTenantAsync();
        await other.Admin.CreatedAsync("/api/v1/users", new { username, password = "password-3", role = "supervisor" });
    }

    [Fact]
    public async Task Agent_user_needs_an_agent_of_the_tenant()
    {
        await T.Admin.PostAsJsonAsync("/api/v1/users", new { username = ApiFixture.Unique("a-"), password = "password-1", role = "agent" })
            .ProblemAsync(HttpStatusCode.BadRequest, "agent_id");
        // Role defaults to agent.
        await T.Admin.PostAsJsonAsync("/api/v1/users", new { username = ApiFixture.Unique("a-"), password = "password-1" })
            .ProblemAsync(HttpStatusCode.BadRequest, "agent_id");
        await T.Admin.PostAsJsonAsync("/api/v1/users", new { username = ApiFixture.Unique("a-"), password = "password-1", role = "agent", agent_id = 999_999_999 })
            .ProblemAsync(HttpStatusCode.BadRequest, "agent_id");
        var agent = await T.AgentAsync();
        var user = await T.Admin.CreatedAsync("/api/v1/users", new { username = ApiFixture.Unique("a-"), password = "password-1", agent_id = agent });
        Assert.Equal("agent", user.Str("role"));
        Assert.Equal(agent, user.Long("agent_id"));

        // A supervisor turned into an agent user needs an agent too.
        var supervisor = await T.Admin.CreatedAsync("/api/v1/users", new { username = ApiFixture.Unique("s-"), password = "password-1", role = "supervisor" });
        await T.Admin.PatchAsJsonAsync($"/api/v1/users/{supervisor.Id()}", new { role = "agent" }).ProblemAsync(HttpStatusCode.BadRequest, "agent_id");
        Assert.Equal("supervisor", (await T.Admin.OkAsync($"/api/v1/users/{supervisor.Id()}")).Str("role"));
        var demoted = await T.Admin.PatchOkAsync($"/api/v1/users/{supervisor.Id()}", new { role = "agent", agent_id = agent });
        Assert.Equal("agent", demoted.Str("role"));
        Assert.Equal(agent, demoted.Long("agent_id"));
    }

    [Fact]
    public async Task Password_needs_eight_characters_and_role_cannot_exceed_admin()
    {
        await T.Admin.PostAsJsonAsync("/api/v1/users", new { username = ApiFixture.Unique("p-"), password = "short", role = "supervisor" })
            .ProblemAsync(HttpStatusCode.BadRequest, "password");
        await T.Admin.PostAsJsonAsync("/api/v1/users", new { username = ApiFixture.Unique("p-"), role = "supervisor" })
            .ProblemAsync(HttpStatusCode.BadRequest, "password");
        await T.Admin.PostAsJsonAsync("/api/v1/users", new { password = "long-enough", role = "supervisor" })
            .ProblemAsync(HttpStatusCode.BadRequest, "username");
        await T.Admin.PostAsJsonAsync("/api/v1/users", new { username = ApiFixture.Unique("p-"), password = "long-enough", role = "system_admin" })
            .ProblemAsync(HttpStatusCode.BadRequest, "role");
        await T.Admin.PostAsJsonAsync("/api/v1/users", new { username = ApiFixture.Unique("p-"), password = "long-enough", role = "owner" })
            .ProblemAsync(HttpStatusCode.BadRequest, "role");
        var ok = await T.Admin.CreatedAsync("/api/v1/users", new { username = ApiFixture.Unique("p-"), password = "12345678", role = "supervisor" });
        await T.Admin.PatchAsJsonAsync($"/api/v1/users/{ok.Id()}", new { password = "1234567" }).ProblemAsync(HttpStatusCode.BadRequest, "password");
    }

    [Fact]
    public async Task User_list_pages_with_limit_and_cursor()
    {
        for (var i = 0; i < 3; i++)
            await T.Admin.CreatedAsync("/api/v1/users", new { username = ApiFixture.Unique("pager-"), password = "password-1", role = "supervisor" });
        var all = (await T.Admin.OkAsync("/api/v1/users?limit=500")).Ids();
        var seen = new List<long>();
        string? cursor = null;
        do
        {
            var page = await T.Admin.OkAsync("/api/v1/users?limit=2" + (cursor != null ? "&cursor=" + cursor : ""));
            Assert.InRange(page.Items().Length, 1, 2);
            seen.AddRange(page.Ids());
            cursor = page.Str("next_cursor");
        }
        while (cursor != null);
        Assert.Equal(all, seen);
    }

    private async Task<long[]> AllTenantIdsAsync() => (await Root.OkAsync("/api/v1/tenants?limit=500")).Ids();
}
