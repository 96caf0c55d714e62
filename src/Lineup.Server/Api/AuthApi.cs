using Lineup.Server.Auth;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api;

public sealed record LoginBody(string? Username = null, string? Password = null, string? Tenant = null);
public sealed record RefreshBody(string? RefreshToken = null);
public sealed record LogoutBody(string? RefreshToken = null);
public sealed record UserDto(long Id, string Username, Role Role, long? TenantId, long? AgentId, DateTimeOffset CreatedAt);
public sealed record LoginResponse(string AccessToken, string RefreshToken, int ExpiresIn, string TokenType, UserDto User);
public sealed record ApiKeyBody(string? Name = null, Role? Role = null);
public sealed record ApiKeyDto(long Id, string Name, Role Role, string Prefix, DateTimeOffset CreatedAt, string? Key = null);

public static class AuthApi
{
    public static void MapAuthApi(this RouteGroupBuilder api)
    {
        var auth = api.MapGroup("/auth").WithTags("Auth");
        auth.MapPost("/login", LoginAsync).AllowAnonymous().WithSummary("Sign in")
            .AcceptsJson<LoginBody>().Produces<LoginResponse>().ProducesProblems(401, 429);
        auth.MapPost("/refresh", RefreshAsync).WithSummary("Renew the tokens of a session")
            .AcceptsJson<RefreshBody>().Produces<LoginResponse>().ProducesProblems(401);
        auth.MapPost("/logout", LogoutAsync).Require(Role.Agent, tenantScoped: false).WithSummary("Sign out")
            .AcceptsJson<LogoutBody>(optional: true).Produces(204).ProducesProblems(401);

        var keys = api.MapGroup("/api-keys").WithTags("Auth").Require(Role.Admin).ProducesProblems(401, 403);
        keys.MapPost("", CreateKeyAsync).WithSummary("Create an API key")
            .AcceptsJson<ApiKeyBody>().Produces<ApiKeyDto>(201);
        keys.MapGet("", ListKeysAsync).WithSummary("List API keys")
            .Produces<Page<ApiKeyDto>>().ProducesValidationProblem();
        keys.MapDelete("/{id:long}", DeleteKeyAsync).WithSummary("Delete an API key")
            .Produces(204).ProducesProblems(404);
    }

    public static UserDto User(UserRow u) => new(u.Id, u.Username, Enum.Parse<Role>(u.Role), u.TenantId, u.AgentId, Dto.Time(u.CreatedAt));

    private static async Task<IResult> LoginAsync(HttpContext http, Store store, AuthService auth, TenantRegistry tenants)
    {
        var (body, errors) = await Body.ReadAsync<LoginBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = new Errors();
        if (string.IsNullOrEmpty(body!.Username)) e.Add("username", "username is required.");
        if (string.IsNullOrEmpty(body.Password)) e.Add("password", "password is required.");
        e.Length("username", body.Username, 1, 128);
        e.Length("password", body.Password, 1, 1024);
        e.Length("tenant", body.Tenant, 0, 128);
        if (e.Any) return e.Problem();

        // A tenant user signs in with its tenant's name; the system administrator with no tenant (or any).
        UserRow? user = null;
        var tenant = string.IsNullOrEmpty(body.Tenant) ? null : tenants.Find(body.Tenant);
        if (tenant != null) user = await store.FindUserAsync(tenant.TenantId, body.Username!);
        user ??= await store.FindUserAsync(null, body.Username!);

        // Throttled per account actually tried (so that varying the tenant name does not reset the count for the
        // system administrator) and per client address.
        var ip = http.Connection.RemoteIpAddress?.ToString() ?? "?";
        var accountKey = user != null ? $"user:{user.Id}" : $"unknown:{body.Tenant}/{body.Username}";
        var ipKey = $"ip:{ip}";
        if (auth.Throttle.BlockedFor(accountKey, ipKey) is { } wait)
        {
            http.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return RequestContext.Problem(StatusCodes.Status429TooManyRequests, "Too many failed sign-ins; try again later.");
        }

        if (!Passwords.Verify(body.Password!, user?.PasswordHash ?? Passwords.Decoy) || user == null)
        {
            auth.Throttle.Fail(accountKey, ipKey);
            return RequestContext.Problem(StatusCodes.Status401Unauthorized, "Unknown user or wrong password.");
        }
        auth.Throttle.Succeed(accountKey);
        var (tokens, _) = await auth.IssueAsync(user);
        return TypedResults.Ok(new LoginResponse(tokens.AccessToken, tokens.RefreshToken, tokens.ExpiresIn, "Bearer", User(user)));
    }

    private static async Task<IResult> RefreshAsync(HttpContext http, AuthService auth)
    {
        var (body, errors) = await Body.ReadAsync<RefreshBody>(http.Request);
        if (errors != null) return errors.Problem();
        if (string.IsNullOrEmpty(body!.RefreshToken) || body.RefreshToken.Length > 200)
            return new Errors().Add("refresh_token", "refresh_token is required.").Problem();
        if (await auth.RefreshAsync(body.RefreshToken) is not { } issued)
            return RequestContext.Problem(StatusCodes.Status401Unauthorized, "Invalid or expired refresh token.");
        return TypedResults.Ok(new LoginResponse(issued.Tokens.AccessToken, issued.Tokens.RefreshToken, issued.Tokens.ExpiresIn, "Bearer", User(issued.User)));
    }

    private static async Task<IResult> LogoutAsync(HttpContext http, AuthService auth)
    {
        var token = http.Request.Headers.Authorization.ToString();
        if (!token.StartsWith("Bearer la_", StringComparison.Ordinal)) return RequestContext.Problem(400, "Sign out with the access token of a session.");
        string? refresh = null;
        // A body is optional; chunked bodies count too (no Content-Length).
        if (http.Request.ContentLength > 0 || (http.Request.ContentLength == null && http.Request.Headers.TransferEncoding.Count > 0))
        {
            var (body, errors) = await Body.ReadAsync<LogoutBody>(http.Request);
            if (errors != null) return errors.Problem();
            refresh = body!.RefreshToken;
        }
        await auth.LogoutAsync(token[7..], refresh);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> CreateKeyAsync(HttpContext http, Store store, TimeProvider time)
    {
        var (body, errors) = await Body.ReadAsync<ApiKeyBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = new Errors();
        if (string.IsNullOrWhiteSpace(body!.Name)) e.Add("name", "name is required.");
        e.Length("name", body.Name, 1, 128);
        var role = body.Role ?? Role.Supervisor;
        if (role == Role.SystemAdmin || role > http.RequiredCaller().Role) e.Add("role", "role must be agent, supervisor or admin, and not above your own.");
        if (e.Any) return e.Problem();
        var key = Tokens.New("lk_");
        var row = new ApiKeyRow(await store.NextIdAsync(), http.Tenant().TenantId, body.Name!, Tokens.Hash(key), key[..7], role.ToString(),
            time.GetUtcNow().ToUnixTimeMilliseconds());
        await store.InsertApiKeyAsync(row);
        return TypedResults.Created($"/api/v1/api-keys/{row.Id}", new ApiKeyDto(row.Id, row.Name, role, row.Prefix, Dto.Time(row.CreatedAt), key));
    }

    private static async Task<IResult> ListKeysAsync(HttpContext http, Store store)
    {
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        var rows = await store.ListApiKeysAsync(http.Tenant().TenantId, after, limit + 1);
        var page = RequestContext.PageOf(rows.Select(k => new ApiKeyDto(k.Id, k.Name, Enum.Parse<Role>(k.Role), k.Prefix, Dto.Time(k.CreatedAt))), k => k.Id, limit, after);
        return TypedResults.Ok(page);
    }

    private static async Task<IResult> DeleteKeyAsync(long id, HttpContext http, Store store, AuthService auth)
    {
        var tenant = http.Tenant().TenantId;
        var key = (await store.ListApiKeysAsync(tenant, id - 1, 1)).FirstOrDefault(k => k.Id == id);
        if (key == null || !await store.DeleteApiKeyAsync(tenant, id)) return RequestContext.Problem(404, "No such API key.");
        auth.ForgetApiKey(key.KeyHash);
        return TypedResults.NoContent();
    }
}
