using System.Runtime.CompilerServices;
using System.Security.Claims;
using Lineup.Server.Api.Dialects;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Tenancy;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Options;

namespace Lineup.Server.Api;

/// <summary>Who is calling and for which tenant: authentication (bearer tokens and API keys, through the framework's
/// authentication), role policies, tenant scoping, and problem answers in the shape of the API a request is for.</summary>
public static class RequestContext
{
    private const string StateKey = "lineup.request";
    public const string AccountHeader = "X-Account-ID";

    public static Caller? Caller(this HttpContext http) => http.Items.TryGetValue(StateKey, out var state) ? ((RequestState)state!).Caller : null;
    public static Caller RequiredCaller(this HttpContext http) => http.Caller() ?? throw new InvalidOperationException("No caller: the endpoint lacks Require.");
    public static ITenant Tenant(this HttpContext http) => ((RequestState)http.Items[StateKey]!).Tenant!;

    /// <summary>True when the request sent credentials that are invalid or expired.</summary>
    internal static bool CredentialsRefused(this HttpContext http) =>
        http.Items.TryGetValue(StateKey, out var state) && ((RequestState)state!).InvalidCredentials;

    /// <summary>What Lineup learned about the request (the caller, the tenant), made on first use.</summary>
    internal static RequestState State(this HttpContext http)
    {
        if (http.Items.TryGetValue(StateKey, out var found)) return (RequestState)found!;
        var state = new RequestState();
        http.Items[StateKey] = state;
        return state;
    }

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
            http.State().Tenant = tenant;
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

/// <summary>What Lineup learns about a request on its way in, kept as one item of the request: three items (caller,
/// tenant, refused credentials) made the framework's item dictionary grow on every request (docs/benchmarks.md, issue 11).</summary>
internal sealed class RequestState
{
    public Caller? Caller { get; set; }
    public ITenant? Tenant { get; set; }

    /// <summary>Credentials were sent but are invalid or expired (401 with that reason).</summary>
    public bool InvalidCredentials { get; set; }
}

/// <summary>How an endpoint answers a refused request (status, message): a dialect's own error shape.</summary>
public sealed record ProblemShape(Func<int, string, IResult> Answer);

/// <summary>
/// Lineup's authentication scheme: a bearer token (a session's access token or an API key), <c>X-API-Key</c>, a
/// dialect's own token header, or for the event stream alone the <c>access_token</c> query parameter (a browser's
/// EventSource cannot send headers). Role policies build on it, and a fallback policy closes every endpoint that
/// does not opt out with <c>AllowAnonymous</c>.
/// </summary>
/// <remarks>
/// Every request passes here, so it is lean (docs/benchmarks.md, issue 11): a plain <see cref="IAuthenticationHandler"/>
/// rather than <see cref="AuthenticationHandler{TOptions}"/> (which makes a logger and reads options per request), and
/// the result of a validated credential — principal, ticket and the task that carries it — is made once per cached
/// <see cref="Caller"/> and shared by its requests (nothing here or in the framework changes a principal after
/// authentication). <see cref="Evaluator"/> decides Lineup's own policies without the general authorization service.
/// </remarks>
public sealed class LineupAuthentication(AuthService auth) : IAuthenticationHandler
{
    public const string SchemeName = "Lineup";

    public static string Policy(Role role) => "role:" + role;

    private static readonly string[] s_tokenHeaders = [.. Dialect.All.SelectMany(d => d.TokenHeaders).Distinct(StringComparer.OrdinalIgnoreCase)];
    private static readonly Task<AuthenticateResult> s_none = Task.FromResult(AuthenticateResult.NoResult());
    private static readonly Task<AuthenticateResult> s_invalid = Task.FromResult(AuthenticateResult.Fail("Invalid or expired credentials."));
    private static readonly ConditionalWeakTable<Caller, Task<AuthenticateResult>> s_results = new();
    private HttpContext _http = null!;

    public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context)
    {
        _http = context;
        return Task.CompletedTask;
    }

    public Task<AuthenticateResult> AuthenticateAsync() => Authenticate(_http, auth);

    /// <summary>Finds the request's credentials and the caller they stand for (kept in the request's items).</summary>
    internal static Task<AuthenticateResult> Authenticate(HttpContext http, AuthService auth)
    {
        if (http.Caller() is { } done) return Result(done);
        var token = Token(http.Request);
        if (string.IsNullOrEmpty(token)) return s_none;
        if (token.Length > 200) return Invalid(http);
        var validating = auth.ValidateAsync(token);
        return validating.IsCompletedSuccessfully ? Authenticated(http, validating.Result) : AuthenticateSlowAsync(http, validating);
    }

    private static async Task<AuthenticateResult> AuthenticateSlowAsync(HttpContext http, ValueTask<Caller?> validating) =>
        await Authenticated(http, await validating);

    private static Task<AuthenticateResult> Authenticated(HttpContext http, Caller? caller)
    {
        if (caller is null) return Invalid(http);
        http.State().Caller = caller;
        var result = Result(caller);
        http.User = result.Result.Principal!;
        return result;
    }

    private static Task<AuthenticateResult> Invalid(HttpContext http)
    {
        http.State().InvalidCredentials = true;
        return s_invalid;
    }

    /// <summary>The one result of <paramref name="caller"/>, made on its first request.</summary>
    internal static Task<AuthenticateResult> Result(Caller caller) => s_results.GetValue(caller, static c =>
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, c.Name), new Claim(ClaimTypes.Role, c.Role.ToString())], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    });

    /// <summary>No credentials where some are needed: 401 (the <see cref="Answer"/> handler words it).</summary>
    public Task ChallengeAsync(AuthenticationProperties? properties)
    {
        _http.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Task.CompletedTask;
    }

    public Task ForbidAsync(AuthenticationProperties? properties)
    {
        _http.Response.StatusCode = StatusCodes.Status403Forbidden;
        return Task.CompletedTask;
    }

    private static string? Token(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization[7..].Trim();
        if (request.Headers.TryGetValue(OpenApiSecurity.ApiKeyHeader, out var key)) return key.ToString().Trim();
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
            o.AddPolicy(Policy(role), p => p.RequireAuthenticatedUser().AddRequirements(new RoleRequirement(role)));
        o.FallbackPolicy = new AuthorizationPolicyBuilder(SchemeName).RequireAuthenticatedUser().Build();
    }

    /// <summary>At least <see cref="Role"/>: met by a caller of that role or a higher one.</summary>
    public sealed class RoleRequirement(Role role) : IAuthorizationRequirement, IAuthorizationHandler
    {
        public Role Role => role;

        public bool IsMetBy(HttpContext http) => http.Caller() is { } c && c.Role >= role;

        public Task HandleAsync(AuthorizationHandlerContext context)
        {
            if (context.Resource is HttpContext http && IsMetBy(http)) context.Succeed(this);
            return Task.CompletedTask;
        }
    }

    /// <summary>
    /// Decides the policies made of Lineup's own requirements (a signed-in caller, a role) from the caller the
    /// scheme already found, with results made once; any other policy goes to the framework's evaluator. The
    /// answer is the same; only the general machinery (a handler context, requirement sets, tasks) is skipped.
    /// </summary>
    public sealed class Evaluator(AuthService auth) : IPolicyEvaluator
    {
        private static readonly Task<PolicyAuthorizationResult> s_success = Task.FromResult(PolicyAuthorizationResult.Success());
        private static readonly Task<PolicyAuthorizationResult> s_challenge = Task.FromResult(PolicyAuthorizationResult.Challenge());
        private static readonly Task<PolicyAuthorizationResult> s_forbid = Task.FromResult(PolicyAuthorizationResult.Forbid());

        /// <summary>The framework's evaluator, over the request's authorization service.</summary>
        private static PolicyEvaluator General(HttpContext context) => new(context.RequestServices.GetRequiredService<IAuthorizationService>());

        /// <summary>Lineup's policies authenticate with Lineup's scheme, here (no authentication middleware runs: an
        /// anonymous endpoint does not look at credentials at all).</summary>
        public Task<AuthenticateResult> AuthenticateAsync(AuthorizationPolicy policy, HttpContext context) =>
            IsOurs(policy) ? Authenticate(context, auth) : General(context).AuthenticateAsync(policy, context);

        public Task<PolicyAuthorizationResult> AuthorizeAsync(AuthorizationPolicy policy, AuthenticateResult authenticationResult, HttpContext context, object? resource)
        {
            if (!IsOurs(policy)) return General(context).AuthorizeAsync(policy, authenticationResult, context, resource);
            var requirements = policy.Requirements;
            for (var i = 0; i < requirements.Count; i++)
            {
                var met = requirements[i] switch
                {
                    DenyAnonymousAuthorizationRequirement => context.Caller() is not null,
                    RoleRequirement role => role.IsMetBy(context),
                    _ => false,
                };
                if (!met) return authenticationResult.Succeeded ? s_forbid : s_challenge;
            }
            return s_success;
        }

        private static bool IsOurs(AuthorizationPolicy policy)
        {
            var schemes = policy.AuthenticationSchemes;
            for (var i = 0; i < schemes.Count; i++)
                if (schemes[i] != SchemeName) return false;
            var requirements = policy.Requirements;
            for (var i = 0; i < requirements.Count; i++)
                if (requirements[i] is not (DenyAnonymousAuthorizationRequirement or RoleRequirement)) return false;
            return true;
        }
    }

    /// <summary>
    /// The scheme provider, with no default scheme to authenticate with: Lineup's scheme runs only where a policy
    /// names it (<see cref="Evaluator"/>), once. The framework's authentication middleware is not in the pipeline
    /// (LineupComposition.MapLineup); should the host ever add it again, it leaves every request alone, and the
    /// answers it asks for on every request are made once.
    /// </summary>
    public sealed class Schemes(IOptions<AuthenticationOptions> options) : AuthenticationSchemeProvider(options)
    {
        private static readonly Task<AuthenticationScheme?> s_noDefault = Task.FromResult<AuthenticationScheme?>(null);
        private Task<IEnumerable<AuthenticationScheme>>? _requestHandlers;

        public override Task<IEnumerable<AuthenticationScheme>> GetRequestHandlerSchemesAsync() =>
            _requestHandlers ??= base.GetRequestHandlerSchemesAsync();

        public override Task<AuthenticationScheme?> GetDefaultAuthenticateSchemeAsync() => s_noDefault;

        public override void AddScheme(AuthenticationScheme scheme)
        {
            base.AddScheme(scheme);
            Forget();
        }

        public override bool TryAddScheme(AuthenticationScheme scheme)
        {
            var added = base.TryAddScheme(scheme);
            Forget();
            return added;
        }

        public override void RemoveScheme(string name)
        {
            base.RemoveScheme(name);
            Forget();
        }

        private void Forget() => _requestHandlers = null;
    }

    /// <summary>Answers a refused request in the shape of the API it is for: 401 (no or bad credentials) or 403 (a role
    /// too low). A request that matched no endpoint goes on to its 404.</summary>
    public sealed class Answer : IAuthorizationMiddlewareResultHandler
    {
        public Task HandleAsync(RequestDelegate next, HttpContext http, AuthorizationPolicy policy, PolicyAuthorizationResult result)
        {
            var endpoint = http.GetEndpoint();
            return endpoint == null || result.Succeeded ? next(http) : RefuseAsync(http, endpoint);
        }

        private static Task RefuseAsync(HttpContext http, Endpoint endpoint)
        {
            var shape = endpoint.Metadata.GetMetadata<ProblemShape>()?.Answer ?? ((status, detail) => RequestContext.Problem(status, detail));
            IResult answer;
            if (http.CredentialsRefused()) answer = shape(StatusCodes.Status401Unauthorized, "Invalid or expired credentials.");
            else if (http.Caller() is null)
                answer = shape(StatusCodes.Status401Unauthorized, "Sign in (POST /api/v1/auth/login) and send 'Authorization: Bearer <access_token>', or send an API key.");
            else
            {
                var needed = Enum.GetValues<Role>().FirstOrDefault(r => endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Any(a => a.Policy == Policy(r)));
                answer = shape(StatusCodes.Status403Forbidden, $"This needs the {Dto.Snake(needed.ToString())} role.");
            }
            return answer.ExecuteAsync(http);
        }
    }
}
