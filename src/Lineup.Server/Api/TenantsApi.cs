using Lineup.Server.Auth;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api;

public sealed record TenantBody(string? Name = null, string? TimeZone = null);
public sealed record TenantDto(long Id, string Name, string TimeZone, DateTimeOffset CreatedAt);
public sealed record UserBody(string? Username = null, string? Password = null, Role? Role = null, long? AgentId = null);

public static class TenantsApi
{
    public static void MapTenantsApi(this RouteGroupBuilder api)
    {
        var tenants = api.MapGroup("/tenants").WithTags("Tenants").Require(Role.SystemAdmin, tenantScoped: false).ProducesProblems(401, 403);
        tenants.MapGet("", List).WithSummary("List tenants")
            .Produces<Page<TenantDto>>().ProducesValidationProblem();
        tenants.MapPost("", CreateAsync).WithSummary("Create a tenant")
            .AcceptsJson<TenantBody>().Produces<TenantDto>(201).ProducesProblems(409);
        tenants.MapGet("/{id:long}", Get).WithSummary("Get a tenant")
            .Produces<TenantDto>().ProducesProblems(404);
        tenants.MapPatch("/{id:long}", UpdateAsync).WithSummary("Update a tenant")
            .AcceptsJson<TenantBody>().Produces<TenantDto>().ProducesProblems(404, 409);
        tenants.MapDelete("/{id:long}", DeleteAsync).WithSummary("Delete a tenant")
            .Produces(204).ProducesProblems(404);

        var users = api.MapGroup("/users").WithTags("Users").Require(Role.Admin).ProducesProblems(401, 403);
        users.MapGet("", ListUsersAsync).WithSummary("List users")
            .Produces<Page<UserDto>>().ProducesValidationProblem();
        users.MapPost("", CreateUserAsync).WithSummary("Create a user")
            .AcceptsJson<UserBody>().Produces<UserDto>(201).ProducesProblems(409);
        users.MapGet("/{id:long}", GetUserAsync).WithSummary("Get a user")
            .Produces<UserDto>().ProducesProblems(404);
        users.MapPatch("/{id:long}", UpdateUserAsync).WithSummary("Update a user")
            .AcceptsJson<UserBody>().Produces<UserDto>().ProducesProblems(404);
        users.MapDelete("/{id:long}", DeleteUserAsync).WithSummary("Delete a user")
            .Produces(204).ProducesProblems(404);
    }

    private static TenantDto Dto(TenantRow t) => new(t.Id, t.Name, t.TimeZone, Api.Dto.Time(t.CreatedAt));

    private static IResult List(HttpRequest request, TenantRegistry registry)
    {
        if (!RequestContext.Paging(request, out var limit, out var after, out var error)) return error!;
        return TypedResults.Ok(RequestContext.PageOf(registry.Hosts.Select(h => Dto(h.Tenant)).OrderBy(t => t.Id), t => t.Id, limit, after));
    }

    private static IResult Get(long id, TenantRegistry registry) =>
        registry.Get(id) is { } h ? TypedResults.Ok(Dto(h.Tenant)) : RequestContext.Problem(404, "No such tenant.");

    private static Errors Check(TenantBody b, bool create)
    {
        var e = new Errors();
        if (create && string.IsNullOrWhiteSpace(b.Name)) e.Add("name", "name is required.");
        e.Length("name", b.Name, 1, 64);
        if (b.TimeZone != null && !TimeZoneInfo.TryFindSystemTimeZoneById(b.TimeZone, out _)) e.Add("time_zone", "time_zone must be an IANA time zone id, e.g. Europe/Berlin.");
        return e;
    }

    private static async Task<IResult> CreateAsync(HttpContext http, TenantRegistry registry)
    {
        var (body, errors) = await Body.ReadAsync<TenantBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = Check(body!, create: true);
        if (e.Any) return e.Problem();
        if (registry.Find(body!.Name!) != null) return RequestContext.Problem(409, "A tenant with that name exists.");
        var host = await registry.CreateAsync(body.Name!, body.TimeZone ?? "UTC", http.RequestAborted);
        return TypedResults.Created($"/api/v1/tenants/{host.TenantId}", Dto(host.Tenant));
    }

    private static async Task<IResult> UpdateAsync(long id, HttpContext http, TenantRegistry registry, Store store)
    {
        if (registry.Get(id) is not { } host) return RequestContext.Problem(404, "No such tenant.");
        var (body, errors) = await Body.ReadAsync<TenantBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = Check(body!, create: false);
        if (e.Any) return e.Problem();
        if (body!.Name != null && body.Name != host.Tenant.Name && registry.Find(body.Name) != null)
            return RequestContext.Problem(409, "A tenant with that name exists.");
        var updated = host.Tenant with { Name = body.Name ?? host.Tenant.Name, TimeZone = body.TimeZone ?? host.Tenant.TimeZone };
        await store.UpdateTenantAsync(id, updated.Name, updated.TimeZone);
        host.UpdateTenant(updated);
        return TypedResults.Ok(Dto(updated));
    }

    private static async Task<IResult> DeleteAsync(long id, TenantRegistry registry)
    {
        if (registry.Get(id) is null) return RequestContext.Problem(404, "No such tenant.");
        await registry.RemoveAsync(id);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> ListUsersAsync(HttpContext http, Store store)
    {
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        var rows = await store.ListUsersAsync(http.Tenant().TenantId, after, limit + 1);
        return TypedResults.Ok(RequestContext.PageOf(rows.Select(AuthApi.User), u => u.Id, limit, after));
    }

    private static async Task<UserRow?> FindAsync(HttpContext http, Store store, long id) =>
        await store.GetUserAsync(id) is { } u && u.TenantId == http.Tenant().TenantId ? u : null;

    private static async Task<IResult> GetUserAsync(long id, HttpContext http, Store store) =>
        await FindAsync(http, store, id) is { } u ? TypedResults.Ok(AuthApi.User(u)) : RequestContext.Problem(404, "No such user.");

    private static async Task<Errors> CheckUserAsync(HttpContext http, UserBody b, bool create)
    {
        var e = new Errors();
        if (create && string.IsNullOrWhiteSpace(b.Username)) e.Add("username", "username is required.");
        if (create && string.IsNullOrEmpty(b.Password)) e.Add("password", "password is required.");
        e.Length("username", b.Username, 1, 128);
        e.Length("password", b.Password, 8, 1024);
        if (b.Role == Role.SystemAdmin || (b.Role is { } r && r > http.RequiredCaller().Role)) e.Add("role", "role must be agent, supervisor or admin, and not above your own.");
        if (b.AgentId is { } agent)
        {
            var exists = RequestContext.TryEngineId(agent, out var id)
                && await http.Tenant().QueryAsync(engine => engine.TryGetAgent(new Lineup.Engine.AgentId(id), out _));
            if (!exists) e.Add("agent_id", "agent_id must name an agent of this tenant.");
        }
        if ((b.Role ?? Role.Agent) == Role.Agent && create && b.AgentId == null) e.Add("agent_id", "an agent user needs agent_id.");
        return e;
    }

    private static async Task<IResult> CreateUserAsync(HttpContext http, Store store, TimeProvider time)
    {
        var (body, errors) = await Body.ReadAsync<UserBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = await CheckUserAsync(http, body!, create: true);
        if (e.Any) return e.Problem();
        var tenant = http.Tenant().TenantId;
        if (await store.FindUserAsync(tenant, body!.Username!) != null) return RequestContext.Problem(409, "A user with that username exists.");
        var row = new UserRow(await store.NextIdAsync(), tenant, body.Username!, Passwords.Hash(body.Password!), (body.Role ?? Role.Agent).ToString(),
            body.AgentId, time.GetUtcNow().ToUnixTimeMilliseconds());
        await store.InsertUserAsync(row);
        return TypedResults.Created($"/api/v1/users/{row.Id}", AuthApi.User(row));
    }

    private static async Task<IResult> UpdateUserAsync(long id, HttpContext http, Store store, AuthService auth)
    {
        if (await FindAsync(http, store, id) is not { } user) return RequestContext.Problem(404, "No such user.");
        var (body, errors) = await Body.ReadAsync<UserBody>(http.Request);
        if (errors != null) return errors.Problem();
        if (body!.Username != null && body.Username != user.Username) return new Errors().Add("username", "username cannot be changed.").Problem();
        var e = await CheckUserAsync(http, body, create: false);
        if (body.Role == Role.Agent && body.AgentId == null && user.AgentId == null) e.Add("agent_id", "an agent user needs agent_id.");
        if (e.Any) return e.Problem();
        var updated = user with
        {
            PasswordHash = body.Password != null ? Passwords.Hash(body.Password) : user.PasswordHash,
            Role = (body.Role?.ToString()) ?? user.Role,
            AgentId = body.AgentId ?? user.AgentId,
        };
        await store.UpdateUserAsync(updated, revokeSessions: body.Password != null);
        auth.Forget(user.Id);
        return TypedResults.Ok(AuthApi.User(updated));
    }

    private static async Task<IResult> DeleteUserAsync(long id, HttpContext http, Store store, AuthService auth)
    {
        if (await FindAsync(http, store, id) is null) return RequestContext.Problem(404, "No such user.");
        await store.DeleteUserAsync(id);
        auth.Forget(id);
        return TypedResults.NoContent();
    }
}
