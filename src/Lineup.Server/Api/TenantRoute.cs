using System.Globalization;
using Lineup.Server.Auth;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api;

/// <summary>
/// Endpoint metadata: the request works on one tenant's engine, and this finds which before the handler runs. In a
/// cluster, a request for a tenant that runs on another node is forwarded there whole (<see cref="TenantForwarding"/>);
/// a single node ignores it. <see cref="RequestContext.Require"/> puts <see cref="Caller"/> on every tenant-scoped
/// endpoint; a dialect whose URLs name the tenant puts its own.
/// </summary>
public sealed class TenantRoute(Func<HttpContext, ITenantGateway, ValueTask<long?>> resolve)
{
    /// <summary>The tenant the request acts on as <see cref="RequestContext.Require"/> chooses it: the caller's own, or
    /// for the system administrator the one named by X-Account-ID (else "default").</summary>
    public static readonly TenantRoute Caller = new(CallerTenantAsync);

    /// <summary>Null when the request names no tenant this way (the handler then answers, usually 404 or 403).</summary>
    public ValueTask<long?> ResolveAsync(HttpContext http, ITenantGateway tenants) => resolve(http, tenants);

    /// <summary>The tenant in route value <paramref name="name"/>, read by <paramref name="parse"/> (null: it names
    /// none); the caller's (<see cref="Caller"/>) when the route has no such value or it is <paramref name="self"/>.</summary>
    public static TenantRoute FromRouteValue(string name, Func<string, long?> parse, string? self = null) => new((http, tenants) =>
        http.GetRouteValue(name) is string value && value != self ? ValueTask.FromResult(parse(value)) : CallerTenantAsync(http, tenants));

    public static async ValueTask<long?> CallerTenantAsync(HttpContext http, ITenantGateway tenants)
    {
        if (http.Caller() is not { } caller) return null;
        if (caller.Role != Role.SystemAdmin) return caller.HomeTenantId;
        var header = http.Request.Headers[RequestContext.AccountHeader].ToString();
        if (header.Length > 0) return long.TryParse(header, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
        return (await tenants.FindAsync(TenantRegistry.DefaultTenant))?.TenantId;
    }
}
