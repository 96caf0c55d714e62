using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Lineup.Server.Tests.Telephony;

/// <summary>A minimal phone: REGISTER, read the 401's nonce, REGISTER again with a digest response.</summary>
internal sealed partial class UdpPhone : IDisposable
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

    /// <summary>An INVITE with <paramref name="sdp"/> to <paramref name="user"/>@127.0.0.1: the final status and the
    /// response's text (ACKed when it is not a 2xx, RFC 3261 §17.1.1.3).</summary>
    public async Task<(int Status, string Text)> InviteAsync(string user, string sdp)
    {
        var branch = "z9hG4bK" + Guid.NewGuid().ToString("N");
        var callId = Guid.NewGuid().ToString("N");
        var from = $"<sip:caller@127.0.0.1>;tag={Guid.NewGuid():N}";
        string Head(string method) =>
            $"{method} sip:{user}@127.0.0.1:{_server.Port} SIP/2.0\r\n" +
            $"Via: SIP/2.0/UDP 127.0.0.1:{Port};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: {from}\r\n";
        var result = await SendAsync(Head("INVITE") + $"To: <sip:{user}@127.0.0.1>\r\nCall-ID: {callId}\r\nCSeq: 1 INVITE\r\n" +
            $"Contact: <sip:caller@127.0.0.1:{Port}>\r\nContent-Type: application/sdp\r\nContent-Length: {sdp.Length}\r\n\r\n{sdp}");
        if (result.Status >= 300)
        {
            var to = ToHeader().Match(result.Text).Groups[1].Value.Trim();
            await _socket.SendToAsync(Encoding.ASCII.GetBytes(Head("ACK") + $"To: {to}\r\nCall-ID: {callId}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"), _server);
        }
        return result;
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

    [GeneratedRegex("^To: (.+)$", RegexOptions.Multiline)]
    private static partial Regex ToHeader();

    public void Dispose() => _socket.Dispose();
}
