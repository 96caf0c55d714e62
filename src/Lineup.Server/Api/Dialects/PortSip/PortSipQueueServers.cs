using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Lineup.Server.Auth;

namespace Lineup.Server.Api.Dialects.PortSip;

/// <summary>
/// /api/call_queue_servers: PortSIP's queue server hosts. Lineup's engine needs none (this process serves every
/// queue), so they are stored per tenant as given, and a server's status reports this process and machine.
/// </summary>
internal static class PortSipQueueServers
{
    private static readonly string[] ListFields = ["id", "name", "enabled", "type", "ipv4", "ipv6"];

    public static void Map(RouteGroupBuilder api, ProcessUsage usage)
    {
        var s = api.MapGroup("/call_queue_servers");
        s.MapGet("", (Delegate)ListAsync).Require(Role.Supervisor);
        s.MapPost("", (Delegate)CreateAsync).Require(Role.Admin);
        s.MapGet("/{id}", (Delegate)GetAsync).Require(Role.Supervisor);
        s.MapPost("/{id}", (Delegate)UpdateAsync).Require(Role.Admin);
        s.MapGet("/{id}/status", (string id, HttpContext http, PortSipServers store) => StatusAsync(id, http, store, usage)).Require(Role.Supervisor);
        s.MapPost("/{id}/destroy", (Delegate)DestroyAsync).Require(Role.Admin);
    }

    private static IResult NoServer => PortSipErrors.NotFound("Call queue server");

    /// <summary>Every server is Lineup's own kind: it runs inside this deployment.</summary>
    private static JsonObject Item(PortSipServerRow r) => new()
    {
        ["id"] = PortSipIds.Encode(r.Id),
        ["name"] = r.Name,
        ["enabled"] = r.Enabled != 0,
        ["type"] = "INTERNAL",
        ["ipv4"] = r.Ipv4,
        ["ipv6"] = r.Ipv6,
    };

    private static async Task<IResult> ListAsync(HttpContext http, PortSipServers store)
    {
        var rows = await store.ListAsync(http.Tenant().TenantId);
        if (!PortSipQuery.TryApply(http.Request, [.. rows.Select(Item)], ListFields, out var page, out var error)) return error!;
        return TypedResults.Json(new JsonObject { ["count"] = page.Count, ["items"] = new JsonArray([.. page.Items]) });
    }

    private static async Task<IResult> CreateAsync(HttpContext http, PortSipServers store, TimeProvider time)
    {
        var (node, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return PortSipErrors.FromErrors(errors);
        var f = new PortSipFields((JsonObject)node!);
        f.OnlyKnown(["name", "enabled", "ipv4", "ipv6"]);
        if (!f.Has("name")) f.Fail("name", "name is required.");
        var name = f.String("name", 1, 64);
        if (name != null && string.IsNullOrWhiteSpace(name)) f.Fail("name", "name must not be blank.");
        var enabled = f.Bool("enabled") ?? true;
        var ipv4 = f.String("ipv4", 7, 15);
        var ipv6 = f.String("ipv6", 2, 45);
        if (ipv4 != null && !(IPAddress.TryParse(ipv4, out var a4) && a4.AddressFamily == AddressFamily.InterNetwork && a4.ToString() == ipv4))
            f.Fail("ipv4", "ipv4 must be an IPv4 address such as 192.0.2.10.");
        if (ipv6 != null && !(IPAddress.TryParse(ipv6, out var a6) && a6.AddressFamily == AddressFamily.InterNetworkV6))
            f.Fail("ipv6", "ipv6 must be an IPv6 address such as 2001:db8::10.");
        if (!f.Failed && ipv4 == null && ipv6 == null) f.Fail("ipv4", "At least one of ipv4 or ipv6 must be specified.");
        if (f.Failed) return f.Problem();
        var id = await store.NewIdAsync();
        await store.InsertAsync(new PortSipServerRow(id, http.Tenant().TenantId, name!, enabled ? 1 : 0, ipv4, ipv6,
            time.GetUtcNow().ToUnixTimeMilliseconds()));
        return TypedResults.Json(new JsonObject { ["id"] = PortSipIds.Encode(id) }, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> GetAsync(string id, HttpContext http, PortSipServers store)
    {
        if (!PortSipIds.TryDecode(id, out var sid)) return NoServer;
        var row = await store.GetAsync(http.Tenant().TenantId, sid);
        return row != null ? TypedResults.Json(Item(row)) : NoServer;
    }

    private static async Task<IResult> UpdateAsync(string id, HttpContext http, PortSipServers store)
    {
        if (!PortSipIds.TryDecode(id, out var sid)) return NoServer;
        var (node, errors) = await Body.ReadNodeAsync(http.Request);
        if (errors != null) return PortSipErrors.FromErrors(errors);
        var f = new PortSipFields((JsonObject)node!);
        f.OnlyKnown(["enabled"]);
        var enabled = f.Bool("enabled");
        if (f.Failed) return f.Problem();
        var tenant = http.Tenant().TenantId;
        if (enabled is not { } e) return await store.GetAsync(tenant, sid) != null ? TypedResults.Ok() : NoServer;
        return await store.UpdateAsync(tenant, sid, e) ? TypedResults.Ok() : NoServer;
    }

    private static async Task<IResult> StatusAsync(string id, HttpContext http, PortSipServers store, ProcessUsage usage)
    {
        if (!PortSipIds.TryDecode(id, out var sid)) return NoServer;
        var row = await store.GetAsync(http.Tenant().TenantId, sid);
        if (row == null) return NoServer;
        var (cpu, memory) = usage.Read();
        return TypedResults.Json(new JsonObject
        {
            ["cpu_usage"] = cpu,
            ["memory_usage"] = memory,
            // A disabled server takes no calls.
            ["status"] = row.Enabled != 0 ? "ONLINE" : "OFFLINE",
        });
    }

    private static async Task<IResult> DestroyAsync(string id, HttpContext http, PortSipServers store)
    {
        if (!PortSipIds.TryDecode(id, out var sid)) return NoServer;
        return await store.DeleteAsync(http.Tenant().TenantId, sid) ? TypedResults.NoContent() : NoServer;
    }
}
