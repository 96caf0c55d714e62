using System.Security.Claims;
using System.Text.Encodings.Web;
using Lineup.Server.Api.Dialects;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Tenancy;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Options;

namespace Lineup.Server.Api;

/// <summary>Who is calling and for which tenant: authentication (bearer tokens and API keys, through the framework's
/// authentication), role policies, tenant scoping, and problem answers in the shape of the API a request is for.</summary>
public static class RequestContext
{
    private const string TenantKey = "lineup.tenant";
    public const string AccountHeader = "X-Account-ID";

    public static Caller? Caller(this HttpContext http) => http.Items[LineupAuthentication.CallerKey] as Caller;
    public static Caller RequiredCaller(this HttpContext http) => (Caller)http.Items[LineupAuthentication.CallerKey]!;
    public static ITenant Tenant(this HttpContext http) => (ITenant)http.Items[TenantKey]!;

    public static IResult Problem(int status, string detail, string? title = null) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);

    /// <summary>The native answer for a use case's failure: problem details, a validation problem naming the fields.</summary>
    public static IResult Fail(AppError error, HttpContext? http = null) => error.Kind switch
    {
        Failure.Invalid when error.Fields != null => TypedResults.ValidationProblem(error.Fields, title: "Invalid request"),
        Failure.Invalid => Problem(400, error.Message, "Invalid request"),
        Failure.NotFound => Problem(404, error.Message, "Not found"),
        Failure.Forbidden => Problem(403, error.Message),
        Failure.Unauthorized => Problem(401, error.Message),
        Failure.Throttled => Throttled(error, http),
        _ => Problem(409, error.Message, "Conflict"),
    };

    private static IResult Throttled(AppError error, HttpContext? http)
    {
        if (http != null && error.RetryAfter is { } wait)
            http.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Problem(StatusCodes.Status429TooManyRequests, error.Message);
    }

    /// <summary>Requires a caller with at least <paramref name="role"/> (an authorization policy) and, unless it is a
    /// system route, resolves the tenant: the caller's own, or for a system administrator the one named by
    /// X-Account-ID (else "default").</summary>
    /// <remarks>A failure is answered with problem details, or by <c>problem</c> (status, message) when given: a
    /// vendor dialect passes its own error shape.</remarks>
    public static TBuilder Require<TBuilder>(this TBuilder builder, Role role, bool tenantScoped = true, Func<int, string, IResult>? problem = null)
        where TBuilder : IEndpointConventionBuilder
    {
        var fail = problem ?? ((status, detail) => Problem(status, detail));
        builder.RequireAuthorization(LineupAuthentication.Policy(role)).WithMetadata(new ProblemShape(fail));
        if (!tenantScoped) return builder;
        builder.WithMetadata(TenantRoute.Caller);
        builder.AddEndpointFilter(async (ctx, next) =>
        {
            var http = ctx.HttpContext;
            var caller = http.RequiredCaller();
            var tenants = http.RequestServices.GetRequiredService<ITenantGateway>();
            var header = http.Request.Headers[AccountHeader].ToString();
            ITenant? tenant;
            if (caller.Role == Role.SystemAdmin)
            {
                if (header.Length > 0)
                {
                    if (!long.TryParse(header, out var id) || await tenants.GetAsync(id) is not { } chosen)
                        return fail(StatusCodes.Status404NotFound, $"No tenant with id '{header}' ({AccountHeader}).");
                    tenant = chosen;
                }
                else
                {
                    tenant = await tenants.FindAsync(TenantRegistry.DefaultTenant);
                    if (tenant == null) return fail(StatusCodes.Status400BadRequest, $"Choose a tenant with the {AccountHeader} header.");
                }
            }
            else
            {
                var own = caller.HomeTenantId ?? 0;
                tenant = await tenants.GetAsync(own);
                if (tenant == null) return fail(StatusCodes.Status401Unauthorized, "The caller's tenant no longer exists.");
                if (header.Length > 0 && header != own.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    return fail(StatusCodes.Status403Forbidden, $"{AccountHeader} names another tenant.");
            }
            http.Items[TenantKey] = tenant;
            return await next(ctx);
        });
        return builder;
    }

    /// <summary>Reads limit (1..500, default 100) and an opaque cursor (the last id seen).</summary>
    public static bool Paging(HttpRequest request, out int limit, out long after, out IResult? error)
    {
        limit = 100;
        after = 0;
        error = null;
        var l = request.Query["limit"].ToString();
        var c = request.Query["cursor"].ToString();
        if (l.Length > 0 && (!int.TryParse(l, out limit) || limit < 1 || limit > 500))
        {
            error = new Errors().Add("limit", "limit must be between 1 and 500.").Problem();
            return false;
        }
        if (c.Length > 0 && (!long.TryParse(c, out after) || after < 0))
        {
            error = new Errors().Add("cursor", "cursor is not one this API returned.").Problem();
            return false;
        }
        return true;
    }

    public static Page<T> PageOf<T>(IEnumerable<T> sortedById, Func<T, long> id, int limit, long after)
    {
        var items = sortedById.Where(x => id(x) > after).Take(limit + 1).ToList();
        string? next = null;
        if (items.Count > limit)
        {
            items.RemoveAt(items.Count - 1);
            next = Dto.Cursor(id(items[^1]));
        }
        return new Page<T>(items, next);
    }
}

/// <summary>How an endpoint answers a refused request (status, message): a dialect's own error shape.</summary>
public sealed record ProblemShape(Func<int, string, IResult> Answer);

/// <summary>
/// Lineup's authentication scheme: a bearer token (a session's access token or an API key), <c>X-API-Key</c>, a
/// dialect's own token header, or for the event stream alone the <c>access_token</c> query parameter (a browser's
/// EventSource cannot send headers). Role policies build on it, and a fallback policy closes every endpoint that
/// does not opt out with <c>AllowAnonymous</c>.
/// </summary>
public sealed class LineupAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AuthService auth)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Lineup";
    internal const string CallerKey = "lineup.caller";
    private const string InvalidKey = "lineup.invalid_credentials";

    public static string Policy(Role role) => "role:" + role;

    private static readonly string[] s_tokenHeaders = [.. Dialect.All.SelectMany(d => d.TokenHeaders).Distinct(StringComparer.OrdinalIgnoreCase)];

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = Token(Context.Request);
        if (string.IsNullOrEmpty(token)) return AuthenticateResult.NoResult();
        if (token.Length > 200 || await auth.ValidateAsync(token) is not { } caller)
        {
            Context.Items[InvalidKey] = true;
            return AuthenticateResult.Fail("Invalid or expired credentials.");
        }
        Context.Items[CallerKey] = caller;
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, caller.Name), new Claim(ClaimTypes.Role, caller.Role.ToString())], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    private static string? Token(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization[7..].Trim();
        if (request.Headers.TryGetValue("X-API-Key", out var key)) return key.ToString().Trim();
        foreach (var header in s_tokenHeaders)
            if (request.Headers.TryGetValue(header, out var value)) return value.ToString().Trim();
        if (HttpMethods.IsGet(request.Method) && request.Path.StartsWithSegments("/api/v1/events/stream")
            && request.Query["access_token"].ToString() is { Length: > 0 } queryToken) return queryToken;
        return null;
    }

    /// <summary>The role policies, and the fallback that requires a signed-in caller on every other endpoint.</summary>
    public static void AddPolicies(AuthorizationOptions o)
    {
        foreach (var role in Enum.GetValues<Role>())
            o.AddPolicy(Policy(role), p => p.RequireAuthenticatedUser().RequireAssertion(ctx =>
                ctx.Resource is HttpContext http && http.Caller() is { } c && c.Role >= role));
        o.FallbackPolicy = new AuthorizationPolicyBuilder(SchemeName).RequireAuthenticatedUser().Build();
    }

    /// <summary>Answers a refused request in the shape of the API it is for: 401 (no or bad credentials) or 403 (a role
    /// too low). A request that matched no endpoint goes on to its 404.</summary>
    public sealed class Answer : IAuthorizationMiddlewareResultHandler
    {
        private readonly AuthorizationMiddlewareResultHandler _default = new();

        public async Task HandleAsync(RequestDelegate next, HttpContext http, AuthorizationPolicy policy, PolicyAuthorizationResult result)
        {
            var endpoint = http.GetEndpoint();
            if (endpoint == null)
            {
                await next(http);
                return;
            }
            if (result.Succeeded)
            {
                await _default.HandleAsync(next, http, policy, result);
                return;
            }
            var shape = endpoint.Metadata.GetMetadata<ProblemShape>()?.Answer ?? ((status, detail) => RequestContext.Problem(status, detail));
            IResult answer;
            if (http.Items.ContainsKey(InvalidKey)) answer = shape(StatusCodes.Status401Unauthorized, "Invalid or expired credentials.");
            else if (http.Caller() is null)
                answer = shape(StatusCodes.Status401Unauthorized, "Sign in (POST /api/v1/auth/login) and send 'Authorization: Bearer <access_token>', or send an API key.");
            else
            {
                var needed = Enum.GetValues<Role>().FirstOrDefault(r => endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Any(a => a.Policy == Policy(r)));
                answer = shape(StatusCodes.Status403Forbidden, $"This needs the {Dto.Snake(needed.ToString())} role.");
            }
            await answer.ExecuteAsync(http);
        }
    }
}
