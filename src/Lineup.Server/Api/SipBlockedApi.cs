using System.Net;
using Lineup.Server.Auth;
using Lineup.Server.Telephony;

namespace Lineup.Server.Api;

/// <summary>A SIP user refused from an address after repeated failed authentications, or a whole address
/// (<see cref="Username"/> null) refused as a last resort; refused until <see cref="Until"/>.</summary>
public sealed record SipBlockDto(string Address, string? Username, DateTimeOffset Until);

/// <summary>The REGISTER throttle's blocklist (docs/sip.md "Security"): administrators see their tenant's blocked phones
/// and whole-address blocks, and lift them. A whole-address block can hit several tenants, so only a system
/// administrator lifts one.</summary>
public static class SipBlockedApi
{
    public static void MapSipBlockedApi(this RouteGroupBuilder api)
    {
        var blocked = api.MapGroup("/sip/blocked").WithTags("Telephony").Require(Role.Admin).ProducesProblems(401, 403);
        blocked.MapGet("", List).WithSummary("Phones and addresses refused after failed SIP authentications")
            .Produces<List<SipBlockDto>>();
        blocked.MapDelete("", Unblock).WithSummary("Lift a block: ?address=…&username=… (without username: the whole address)")
            .Produces(204).ProducesProblems(400, 404);
    }

    private static IResult List(HttpContext http, SipFrontEnd sip)
    {
        var realm = http.Tenant().Name;
        var blocks = sip.Throttle?.Blocked() ?? [];
        return TypedResults.Ok(blocks.Where(b => b.Realm is null || string.Equals(b.Realm, realm, StringComparison.Ordinal))
            .Select(b => new SipBlockDto(b.Address.ToString(), b.Username, b.Until)).ToList());
    }

    private static IResult Unblock(HttpContext http, SipFrontEnd sip, string? address, string? username)
    {
        var e = new Errors();
        if (string.IsNullOrWhiteSpace(address)) e.Add("address", "address is required (the blocked IP address).");
        else if (!IPAddress.TryParse(address, out _)) e.Add("address", "address must be an IPv4 or IPv6 address.");
        if (username is { Length: 0 or > 128 }) e.Add("username", "username must be 1 to 128 characters long.");
        if (e.Any) return e.Problem();
        if (username is null && http.RequiredCaller().Role < Role.SystemAdmin)
        {
            return RequestContext.Problem(403, "A whole-address block may affect other tenants: only a system administrator lifts it.");
        }
        var realm = http.Tenant().Name;
        return sip.Throttle is { } throttle && throttle.Unblock(IPAddress.Parse(address!), realm, username)
            ? TypedResults.NoContent()
            : RequestContext.Problem(404, "Nothing is blocked for that address and user.", "Not found");
    }
}
