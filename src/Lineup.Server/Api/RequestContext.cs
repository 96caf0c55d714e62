using Lineup.Engine;
using Lineup.Server.Auth;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api;

/// <summary>Authentication, role checks and tenant scoping, as middleware and endpoint filters.</summary>
public static class RequestContext
{
    private const string CallerKey = "lineup.caller";
    private const string TenantKey = "lineup.tenant";
    private const string InvalidKey = "lineup.invalid_credentials";
    public const string AccountHeader = "X-Account-ID";

    public static Caller? Caller(this HttpContext http) => http.Items[CallerKey] as Caller;
    public static Caller RequiredCaller(this HttpContext http) => (Caller)http.Items[CallerKey]!;
    public static TenantHost Tenant(this HttpContext http) => (TenantHost)http.Items[TenantKey]!;

    /// <summary>Resolves the bearer token or API key, if any; a credential that does not validate is a 401 at once.</summary>
    public static async Task AuthenticateAsync(HttpContext http, Func<Task> next)
    {
        string? token = null;
        var auth = http.Request.Headers.Authorization.ToString();
        if (auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) token = auth[7..].Trim();
        else if (http.Request.Headers.TryGetValue("X-API-Key", out var key)) token = key.ToString().Trim();
        // Kazoo's header for the same tokens.
        else if (http.Request.Headers.TryGetValue("X-Auth-Token", out var kazoo)) token = kazoo.ToString().Trim();
        // A browser's EventSource cannot send headers: the event stream alone also takes the token in the query.
        else if (HttpMethods.IsGet(http.Request.Method) && http.Request.Path.StartsWithSegments("/api/v1/events/stream")
            && http.Request.Query["access_token"].ToString() is { Length: > 0 } queryToken) token = queryToken;
        if (!string.IsNullOrEmpty(token))
        {
            // A credential that does not validate is refused by the endpoint's Require filter, in the shape of the
            // API (native or vendor dialect) the request is for.
            if (token.Length > 200 || await http.RequestServices.GetRequiredService<AuthService>().ValidateAsync(token) is not { } caller)
                http.Items[InvalidKey] = true;
            else
                http.Items[CallerKey] = caller;
        }
        await next();
    }

    public static IResult Problem(int status, string detail, string? title = null) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);

    /// <summary>Requires a caller with at least <paramref name="role"/> and, unless it is a system route, resolves the
    /// tenant: the caller's own, or for a system administrator the one named by X-Account-ID (else "default").</summary>
    /// <remarks>A failure is answered with problem details, or by <c>problem</c> (status, message) when given: a
    /// vendor dialect passes its own error shape.</remarks>
    public static TBuilder Require<TBuilder>(this TBuilder builder, Role role, bool tenantScoped = true, Func<int, string, IResult>? problem = null)
        where TBuilder : IEndpointConventionBuilder
    {
        var Problem = problem ?? ((status, detail) => RequestContext.Problem(status, detail));
        builder.AddEndpointFilter(async (ctx, next) =>
        {
            var http = ctx.HttpContext;
            if (http.Items.ContainsKey(InvalidKey)) return Problem(StatusCodes.Status401Unauthorized, "Invalid or expired credentials.");
            if (http.Caller() is not { } caller)
                return Problem(StatusCodes.Status401Unauthorized, "Sign in (POST /api/v1/auth/login) and send 'Authorization: Bearer <access_token>', or send an API key.");
            if (caller.Role < role) return Problem(StatusCodes.Status403Forbidden, $"This needs the {Dto.Snake(role.ToString())} role.");
            if (!tenantScoped) return await next(ctx);
            var registry = http.RequestServices.GetRequiredService<TenantRegistry>();
            var header = http.Request.Headers[AccountHeader].ToString();
            TenantHost? host;
            if (caller.Role == Role.SystemAdmin)
            {
                if (header.Length > 0)
                {
                    if (!long.TryParse(header, out var id) || registry.Get(id) is not { } chosen)
                        return Problem(StatusCodes.Status404NotFound, $"No tenant with id '{header}' ({AccountHeader}).");
                    host = chosen;
                }
                else
                {
                    host = registry.Find(TenantRegistry.DefaultTenant);
                    if (host == null) return Problem(StatusCodes.Status400BadRequest, $"Choose a tenant with the {AccountHeader} header.");
                }
            }
            else
            {
                var own = caller.HomeTenantId ?? 0;
                host = registry.Get(own);
                if (host == null) return Problem(StatusCodes.Status401Unauthorized, "The caller's tenant no longer exists.");
                if (header.Length > 0 && header != own.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    return Problem(StatusCodes.Status403Forbidden, $"{AccountHeader} names another tenant.");
            }
            http.Items[TenantKey] = host;
            return await next(ctx);
        });
        return builder;
    }

    /// <summary>The HTTP answer for an engine result that is not a success.</summary>
    public static IResult Fail(CommandResult result, string what) => result switch
    {
        CommandResult.UnknownQueue => Problem(404, "No such queue.", "Not found"),
        CommandResult.UnknownAgent => Problem(404, "No such agent.", "Not found"),
        CommandResult.UnknownCall => Problem(404, "No such call (or it has ended).", "Not found"),
        CommandResult.NotMember => Problem(404, "The agent is not a member of that queue.", "Not found"),
        CommandResult.NoSuchOffer => Problem(409, "That agent has no offer for this call (it timed out, was cancelled or went to another agent).", "Conflict"),
        CommandResult.AgentBusy => Problem(409, "The agent is on, or ringing for, another call.", "Conflict"),
        CommandResult.NotLoggedIn => Problem(409, "The agent must be logged in first.", "Conflict"),
        CommandResult.QueueHasCalls => Problem(409, "The queue still has calls.", "Conflict"),
        CommandResult.CallbackUnavailable => Problem(409, "This queue does not offer callbacks, or there is no number to call.", "Conflict"),
        CommandResult.Conflict => Problem(409, $"Another {what} already uses that number.", "Conflict"),
        CommandResult.InvalidArgument => Problem(400, "Invalid argument.", "Invalid request"),
        _ => Problem(409, $"The {what} is not in a state where this applies.", "Conflict"),
    };

    public static bool IsSuccess(this CommandResult r) => r is CommandResult.Ok or CommandResult.Ignored;

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

    /// <summary>Parses a route id that must name an engine object (1..int.MaxValue); anything else cannot exist.</summary>
    public static bool TryEngineId(long id, out int value)
    {
        value = id is > 0 and <= int.MaxValue ? (int)id : 0;
        return value > 0;
    }
}
