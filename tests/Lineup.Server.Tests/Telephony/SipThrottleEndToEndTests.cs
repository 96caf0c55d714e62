using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// The REGISTER throttle on the real server over UDP: a phone failing authentication from one address is blocked,
/// another user's phone from the same address is not; the block shows in <c>GET /api/v1/sip/blocked</c> and
/// <c>DELETE</c> lifts it. The phones are plain UDP sockets speaking RFC 3261 and digest (RFC 2617 MD5, qop=auth).
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class SipThrottleEndToEndTests(SipServerFixture server) : IClassFixture<SipServerFixture>
{
    [Fact]
    public async Task A_phone_failing_from_an_address_is_blocked_and_another_user_there_is_not_until_an_admin_lifts_it()
    {
        var q = await server.QueueAsync("throttle", new { strategy = "top_down" });
        var misconfigured = await server.AgentAsync(q, 1);
        var neighbour = await server.AgentAsync(q, 2);
        using var phoneA = new UdpPhone(server.SipPort);
        using var phoneB = new UdpPhone(server.SipPort); // the same address (127.0.0.1), another port, another user

        // Ten wrong passwords: the tenth failure blocks user A from 127.0.0.1.
        var codes = new List<int>();
        for (var i = 0; i < 10; i++) codes.Add(await phoneA.RegisterAsync(misconfigured.Number, "wrong-password"));
        Assert.Equal([.. Enumerable.Repeat(401, 9), 403], codes);
        Assert.Equal(403, await phoneA.RegisterAsync(misconfigured.Number, misconfigured.Password)); // even the right one, now

        // The neighbour on the same address registers normally.
        Assert.Equal(200, await phoneB.RegisterAsync(neighbour.Number, neighbour.Password));

        var blocked = await server.Api.GetFromJsonAsync<JsonElement>("/api/v1/sip/blocked");
        var entry = Assert.Single(blocked.EnumerateArray());
        Assert.Equal("127.0.0.1", entry.GetProperty("address").GetString());
        Assert.Equal(misconfigured.Number, entry.GetProperty("username").GetString());
        Assert.True(entry.GetProperty("until").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(4));

        using (var lifted = await server.Api.DeleteAsync(new Uri($"/api/v1/sip/blocked?address=127.0.0.1&username={misconfigured.Number}", UriKind.Relative)))
            Assert.Equal(HttpStatusCode.NoContent, lifted.StatusCode);
        Assert.Equal(0, (await server.Api.GetFromJsonAsync<JsonElement>("/api/v1/sip/blocked")).GetArrayLength());
        Assert.Equal(200, await phoneA.RegisterAsync(misconfigured.Number, misconfigured.Password));
    }
}
