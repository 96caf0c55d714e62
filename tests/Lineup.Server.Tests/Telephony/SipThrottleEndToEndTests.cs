using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// The REGISTER throttle on the real server over UDP: a phone failing authentication from one address is blocked,
/// another user's phone from the same address is not; the block shows in <c>GET /api/v1/sip/blocked</c> and
/// <c>DELETE</c> lifts it. The phones are plain UDP sockets speaking RFC 3261 and digest (RFC 2617 MD5, qop=auth).
/// </summary>
[Trait("Category", "SipE2E")]
public sealed partial class SipThrottleEndToEndTests(SipServerFixture server) : IClassFixture<SipServerFixture>
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

    /// <summary>A minimal phone: REGISTER, read the 401's nonce, REGISTER again with a digest response.</summary>
    private sealed partial class UdpPhone : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly IPEndPoint _server;
        private int _cseq;

        public UdpPhone(int sipPort)
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _server = new IPEndPoint(IPAddress.Loopback, sipPort);
        }

        private int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

        /// <summary>The final status of one registration attempt (401 challenge answered once).</summary>
        public async Task<int> RegisterAsync(string user, string password)
        {
            var callId = Guid.NewGuid().ToString("N");
            var first = await SendAsync(Register(user, callId, null));
            if (first.Status != 401) return first.Status;
            var nonce = Nonce().Match(first.Text).Groups[1].Value;
            var realm = Realm().Match(first.Text).Groups[1].Value;
            var uri = $"sip:127.0.0.1:{_server.Port}";
            var ha1 = Md5($"{user}:{realm}:{password}");
            var ha2 = Md5($"REGISTER:{uri}");
            var response = Md5($"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}");
            var authorization = $"Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm=MD5, cnonce=\"c0ffee\", qop=auth, nc=00000001";
            return (await SendAsync(Register(user, callId, authorization))).Status;
        }

        private string Register(string user, string callId, string? authorization) =>
            $"REGISTER sip:127.0.0.1:{_server.Port} SIP/2.0\r\n" +
            $"Via: SIP/2.0/UDP 127.0.0.1:{Port};branch=z9hG4bK{Guid.NewGuid():N};rport\r\n" +
            "Max-Forwards: 70\r\n" +
            $"From: <sip:{user}@127.0.0.1>;tag={Guid.NewGuid():N}\r\n" +
            $"To: <sip:{user}@127.0.0.1>\r\n" +
            $"Call-ID: {callId}\r\n" +
            $"CSeq: {++_cseq} REGISTER\r\n" +
            $"Contact: <sip:{user}@127.0.0.1:{Port}>\r\n" +
            "Expires: 300\r\n" +
            (authorization is null ? "" : $"Authorization: {authorization}\r\n") +
            "Content-Length: 0\r\n\r\n";

        private async Task<(int Status, string Text)> SendAsync(string request)
        {
            await _socket.SendToAsync(Encoding.ASCII.GetBytes(request), _server);
            var buffer = new byte[8192];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (true)
            {
                var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                var text = Encoding.UTF8.GetString(buffer, 0, n);
                var status = int.Parse(text.AsSpan(8, 3), CultureInfo.InvariantCulture);
                if (status >= 200) return (status, text); // skip any 100 Trying
            }
        }

        private static string Md5(string s) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(s)));

        [GeneratedRegex("nonce=\"([^\"]+)\"")]
        private static partial Regex Nonce();

        [GeneratedRegex("realm=\"([^\"]+)\"")]
        private static partial Regex Realm();

        public void Dispose() => _socket.Dispose();
    }
}
