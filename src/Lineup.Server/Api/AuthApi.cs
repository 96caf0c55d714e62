using Lineup.Server.Application;
using Lineup.Server.Auth;

namespace Lineup.Server.Api;

public sealed record LoginBody(string? Username = null, string? Password = null, string? Tenant = null);
public sealed record RefreshBody(string? RefreshToken = null);
public sealed record LogoutBody(string? RefreshToken = null);
public sealed record UserDto(long Id, string Username, Role Role, long? TenantId, long? AgentId, DateTimeOffset CreatedAt);
public sealed record LoginResponse(string AccessToken, string RefreshToken, int ExpiresIn, string TokenType, UserDto User);
/// <summary>Who a token belongs to: a signed-in user (<c>kind</c> "user", its id and name) or an API key ("api_key", the
/// key's id and name; an API key is bound to no agent).</summary>
public sealed record WhoAmIDto(string Kind, long Id, string Name, Role Role, long? TenantId, long? AgentId);
public sealed record ApiKeyBody(string? Name = null, Role? Role = null);
public sealed record ApiKeyDto(long Id, string Name, Role Role, string Prefix, DateTimeOffset CreatedAt, string? Key = null);

public static class AuthApi
{
    public static void MapAuthApi(this RouteGroupBuilder api)
    {
        var auth = api.MapGroup("/auth").WithTags("Auth");
        auth.MapPost("/login", LoginAsync).AllowAnonymous().WithSummary("Sign in")
            .AcceptsJson<LoginBody>().Produces<LoginResponse>().ProducesProblems(401, 429);
        auth.MapPost("/refresh", RefreshAsync).AllowAnonymous().WithSummary("Renew the tokens of a session")
            .AcceptsJson<RefreshBody>().Produces<LoginResponse>().ProducesProblems(401);
        auth.MapPost("/logout", LogoutAsync).Require(Role.Agent, tenantScoped: false).WithSummary("Sign out")
            .AcceptsJson<LogoutBody>(optional: true).Produces(204).ProducesProblems(401);
        auth.MapGet("/me", WhoAmI).Require(Role.Agent, tenantScoped: false).WithSummary("Who the token belongs to")
            .Produces<WhoAmIDto>().ProducesProblems(401);

        var keys = api.MapGroup("/api-keys").WithTags("Auth").Require(Role.Admin).ProducesProblems(401, 403);
        keys.MapPost("", CreateKeyAsync).WithSummary("Create an API key")
            .AcceptsJson<ApiKeyBody>().Produces<ApiKeyDto>(201);
        keys.MapGet("", ListKeysAsync).WithSummary("List API keys")
            .Produces<Page<ApiKeyDto>>().ProducesValidationProblem();
        keys.MapDelete("/{id:long}", DeleteKeyAsync).WithSummary("Delete an API key")
            .Produces(204).ProducesProblems(404);
    }

    public static UserDto User(UserAccount u) => new(u.Id, u.Username, u.Role, u.TenantId, u.AgentId, Dto.Time(u.CreatedAt));

    private static LoginResponse Login(SignedIn s) => new(s.Tokens.AccessToken, s.Tokens.RefreshToken, s.Tokens.ExpiresIn, "Bearer", User(s.User));

    private static async Task<IResult> LoginAsync(HttpContext http, SignInService signIn)
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
        var r = await signIn.SignInAsync(body.Username!, body.Password!, body.Tenant, ClientAddress(http));
        return r.Ok ? TypedResults.Ok(Login(r.Value!)) : RequestContext.Fail(r.Error!, http);
    }

    /// <summary>The client's address, for sign-in throttling.</summary>
    public static string ClientAddress(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "?";

    private static async Task<IResult> RefreshAsync(HttpContext http, SignInService signIn)
    {
        var (body, errors) = await Body.ReadAsync<RefreshBody>(http.Request);
        if (errors != null) return errors.Problem();
        if (string.IsNullOrEmpty(body!.RefreshToken) || body.RefreshToken.Length > 200)
            return new Errors().Add("refresh_token", "refresh_token is required.").Problem();
        var r = await signIn.RefreshAsync(body.RefreshToken);
        return r.Ok ? TypedResults.Ok(Login(r.Value!)) : RequestContext.Fail(r.Error!);
    }

    private static async Task<IResult> LogoutAsync(HttpContext http, SignInService signIn)
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
        await signIn.LogoutAsync(token[7..], refresh);
        return TypedResults.NoContent();
    }

    private static WhoAmIDto WhoAmI(HttpContext http)
    {
        var c = http.RequiredCaller();
        return c.IsApiKey ? new WhoAmIDto("api_key", -c.UserId, c.Name, c.Role, c.HomeTenantId, null)
            : new WhoAmIDto("user", c.UserId, c.Name, c.Role, c.HomeTenantId, c.AgentId);
    }

    private static ApiKeyDto Key(ApiKey k) => new(k.Id, k.Name, k.Role, k.Prefix, Dto.Time(k.CreatedAt), k.Key);

    private static async Task<IResult> CreateKeyAsync(HttpContext http, AccountService accounts)
    {
        var (body, errors) = await Body.ReadAsync<ApiKeyBody>(http.Request);
        if (errors != null) return errors.Problem();
        var e = new Errors();
        if (string.IsNullOrWhiteSpace(body!.Name)) e.Add("name", "name is required.");
        e.Length("name", body.Name, 1, 128);
        var role = body.Role ?? Role.Supervisor;
        if (role == Role.SystemAdmin || role > http.RequiredCaller().Role) e.Add("role", "role must be agent, supervisor or admin, and not above your own.");
        if (e.Any) return e.Problem();
        var key = await accounts.CreateApiKeyAsync(http.Tenant().TenantId, body.Name!, role);
        return TypedResults.Created($"/api/v1/api-keys/{key.Id}", Key(key));
    }

    private static async Task<IResult> ListKeysAsync(HttpContext http, AccountService accounts)
    {
        if (!RequestContext.Paging(http.Request, out var limit, out var after, out var error)) return error!;
        var keys = await accounts.ListApiKeysAsync(http.Tenant().TenantId, after, limit + 1);
        return TypedResults.Ok(RequestContext.PageOf(keys.Select(Key), k => k.Id, limit, after));
    }

    private static async Task<IResult> DeleteKeyAsync(long id, HttpContext http, AccountService accounts)
    {
        var r = await accounts.DeleteApiKeyAsync(http.Tenant().TenantId, id);
        return r.Ok ? TypedResults.NoContent() : RequestContext.Problem(404, r.Error!.Message);
    }
}
