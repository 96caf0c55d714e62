using Lineup.Server.Application;
using Lineup.Server.Auth;
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
        tenants.MapGet("", ListAsync).WithSummary("List tenants")
            .Produces<Page<TenantDto>>().ProducesValidationProblem();
        tenants.MapPost("", CreateAsync).WithSummary("Create a tenant")
            .AcceptsJson<TenantBody>().Produces<TenantDto>(201).ProducesProblems(409);
        tenants.MapGet("/{id:long}", GetAsync).WithSummary("Get a tenant")
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

    private static TenantDto Dto(ITenant t) => new(t.TenantId, t.Name, t.TimeZone, Api.Dto.Time(t.CreatedAt));

    private static async Task<IResult> ListAsync(HttpRequest request, ITenantGateway tenants)
    {
        if (!RequestContext.Paging(request, out var limit, out var after, out var error)) return error!;
        return TypedResults.Ok(RequestContext.PageOf((await tenants.AllAsync()).Select(Dto).OrderBy(t => t.Id), t => t.Id, limit, after));
    }

    private static async Task<IResult> GetAsync(long id, ITenantGateway tenants) =>
        await tenants.GetAsync(id) is { } t ? TypedResults.Ok(Dto(t)) : RequestContext.Problem(404, "No such tenant.");

    private static Errors Check(TenantBody b, bool create)
    {
        var e = new Errors();
        if (create && string.IsNullOrWhiteSpace(b.Name)) e.Add("name", "name is required.");
        e.Length("name", b.Name, 1, 64);
        if (b.TimeZone != null && !TimeZoneInfo.TryFindSystemTimeZoneById(b.TimeZone, out _)) e.Add("time_zone", "time_zone must be an IANA time zone id, e.g. Europe/Berlin.");
        return e;
    }

    private static IResult Fail(AppError error) => RequestContext.Problem(error.Kind == Failure.NotFound ? 404 : 409, error.Message);

    private static async Task<IResult> CreateAsync(HttpContext http, AccountService accounts)
    {
        var (body, errors) = await Body.ReadAsync<TenantBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = Check(body!, create: true);
        if (e.Any) return e.Problem();
        var r = await accounts.CreateTenantAsync(body!.Name!, body.TimeZone ?? "UTC", http.RequestAborted);
        return r.Ok ? TypedResults.Created($"/api/v1/tenants/{r.Value!.TenantId}", Dto(r.Value)) : Fail(r.Error!);
    }

    private static async Task<IResult> UpdateAsync(long id, HttpContext http, ITenantGateway tenants, AccountService accounts)
    {
        if (await tenants.GetAsync(id) is null) return RequestContext.Problem(404, "No such tenant.");
        var (body, errors) = await Body.ReadAsync<TenantBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = Check(body!, create: false);
        if (e.Any) return e.Problem();
        var r = await accounts.UpdateTenantAsync(id, body!.Name, body.TimeZone);
        return r.Ok ? TypedResults.Ok(Dto(r.Value!)) : Fail(r.Error!);
    }

    private static async Task<IResult> DeleteAsync(long id, AccountService accounts)
    {
        var r = await accounts.DeleteTenantAsync(id);
        return r.Ok ? TypedResults.NoContent() : Fail(r.Error!);
    }

    private static async Task<IResult> ListUsersAsync(HttpContext http, AccountService accounts)
    {
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        var users = await accounts.ListUsersAsync(http.Tenant().TenantId, after, limit + 1);
        return TypedResults.Ok(RequestContext.PageOf(users.Select(AuthApi.User), u => u.Id, limit, after));
    }

    private static async Task<IResult> GetUserAsync(long id, HttpContext http, AccountService accounts) =>
        await accounts.GetUserAsync(http.Tenant().TenantId, id) is { } u ? TypedResults.Ok(AuthApi.User(u)) : RequestContext.Problem(404, "No such user.");

    private static async Task<Errors> CheckUserAsync(HttpContext http, UserBody b, bool create, AgentService agents)
    {
        var e = new Errors();
        if (create && string.IsNullOrWhiteSpace(b.Username)) e.Add("username", "username is required.");
        if (create && string.IsNullOrEmpty(b.Password)) e.Add("password", "password is required.");
        e.Length("username", b.Username, 1, 128);
        e.Length("password", b.Password, 8, 1024);
        if (b.Role == Role.SystemAdmin || (b.Role is { } r && r > http.RequiredCaller().Role)) e.Add("role", "role must be agent, supervisor or admin, and not above your own.");
        if (b.AgentId is { } agent && !(await agents.ReadAsync(http.Tenant(), agent, (_, _) => true)).Ok)
            e.Add("agent_id", "agent_id must name an agent of this tenant.");
        if ((b.Role ?? Role.Agent) == Role.Agent && create && b.AgentId == null) e.Add("agent_id", "an agent user needs agent_id.");
        return e;
    }

    private static async Task<IResult> CreateUserAsync(HttpContext http, AccountService accounts, AgentService agents)
    {
        var (body, errors) = await Body.ReadAsync<UserBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = await CheckUserAsync(http, body!, create: true, agents);
        if (e.Any) return e.Problem();
        var r = await accounts.CreateUserAsync(http.Tenant(), body!.Username!, body.Password!, body.Role ?? Role.Agent, body.AgentId);
        return r.Ok ? TypedResults.Created($"/api/v1/users/{r.Value!.Id}", AuthApi.User(r.Value)) : RequestContext.Problem(409, r.Error!.Message);
    }

    private static async Task<IResult> UpdateUserAsync(long id, HttpContext http, AccountService accounts, AgentService agents)
    {
        var tenant = http.Tenant().TenantId;
        if (await accounts.GetUserAsync(tenant, id) is not { } user) return RequestContext.Problem(404, "No such user.");
        var (body, errors) = await Body.ReadAsync<UserBody>(http.Request);
        if (errors != null) return errors.Problem();
        if (body!.Username != null && body.Username != user.Username) return new Errors().Add("username", "username cannot be changed.").Problem();
        var e = await CheckUserAsync(http, body, create: false, agents);
        if (body.Role == Role.Agent && body.AgentId == null && user.AgentId == null) e.Add("agent_id", "an agent user needs agent_id.");
        if (e.Any) return e.Problem();
        var r = await accounts.UpdateUserAsync(tenant, id, body.Password, body.Role, body.AgentId);
        return r.Ok ? TypedResults.Ok(AuthApi.User(r.Value!)) : RequestContext.Problem(404, r.Error!.Message);
    }

    private static async Task<IResult> DeleteUserAsync(long id, HttpContext http, AccountService accounts)
    {
        var r = await accounts.DeleteUserAsync(http.Tenant().TenantId, id);
        return r.Ok ? TypedResults.NoContent() : RequestContext.Problem(404, r.Error!.Message);
    }
}
