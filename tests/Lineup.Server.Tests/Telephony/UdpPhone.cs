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

    /// <summary>A call the phone made and the server answered: what an in-dialog request needs (RFC 3261 §12.2.1.1).</summary>
    public sealed record Dialog(string User, string CallId, string From, string To, int CSeq);

    /// <summary>An INVITE to <paramref name="user"/>@127.0.0.1 that ACKs whatever final response comes: the status, the
    /// response's text and, for a 2xx, the dialog (<see cref="ByeAsync"/> ends it).</summary>
    public async Task<(int Status, string Text, Dialog? Dialog)> CallAsync(string user, string sdp)
    {
        var callId = Guid.NewGuid().ToString("N");
        var from = $"<sip:caller@127.0.0.1>;tag={Guid.NewGuid():N}";
        var invite = InDialog("INVITE", user, callId, from, $"<sip:{user}@127.0.0.1>", 1, "z9hG4bK" + Guid.NewGuid().ToString("N"),
            $"Contact: <sip:caller@127.0.0.1:{Port}>\r\nContent-Type: application/sdp\r\n", sdp);
        var result = await SendAsync(invite, "INVITE");
        var to = ToHeader().Match(result.Text).Groups[1].Value.Trim();
        // ACK: for a non-2xx within the INVITE's transaction (same branch), for a 2xx a new one (§13.2.2.4, §17.1.1.3).
        var branch = result.Status >= 300 ? Branch().Match(invite).Groups[1].Value : "z9hG4bK" + Guid.NewGuid().ToString("N");
        await _socket.SendToAsync(Encoding.ASCII.GetBytes(InDialog("ACK", user, callId, from, to, 1, branch, "", "")), _server);
        return (result.Status, result.Text, result.Status is >= 200 and < 300 ? new Dialog(user, callId, from, to, 1) : null);
    }

    /// <summary>BYE in <paramref name="dialog"/>: the final status.</summary>
    public async Task<int> ByeAsync(Dialog dialog) =>
        (await SendAsync(InDialog("BYE", dialog.User, dialog.CallId, dialog.From, dialog.To, dialog.CSeq + 1, "z9hG4bK" + Guid.NewGuid().ToString("N"), "", ""), "BYE")).Status;

    /// <summary>OPTIONS outside any dialog: the final status.</summary>
    public async Task<int> OptionsAsync() =>
        (await SendAsync(InDialog("OPTIONS", "options", Guid.NewGuid().ToString("N"), $"<sip:caller@127.0.0.1>;tag={Guid.NewGuid():N}",
            "<sip:options@127.0.0.1>", 1, "z9hG4bK" + Guid.NewGuid().ToString("N"), "", ""), "OPTIONS")).Status;

    private string InDialog(string method, string user, string callId, string from, string to, int cseq, string branch, string headers, string body) =>
        $"{method} sip:{user}@127.0.0.1:{_server.Port} SIP/2.0\r\n" +
        $"Via: SIP/2.0/UDP 127.0.0.1:{Port};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\n" +
        $"Call-ID: {callId}\r\nCSeq: {cseq} {method}\r\n{headers}Content-Length: {body.Length}\r\n\r\n{body}";

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

    /// <summary>Sends <paramref name="request"/> and waits for its final response; with <paramref name="method"/>, only a
    /// response whose CSeq names it counts (a retransmitted 2xx of an earlier INVITE is skipped), and requests from the
    /// server are skipped.</summary>
    private async Task<(int Status, string Text)> SendAsync(string request, string? method = null)
    {
        await _socket.SendToAsync(Encoding.ASCII.GetBytes(request), _server);
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            var text = Encoding.UTF8.GetString(buffer, 0, n);
            if (!text.StartsWith("SIP/2.0 ", StringComparison.Ordinal)) continue;
            if (method != null && CSeqMethod().Match(text).Groups[1].Value != method) continue;
            var status = int.Parse(text.AsSpan(8, 3), CultureInfo.InvariantCulture);
            if (status >= 200) return (status, text); // skip any 100 Trying
        }
    }

    [GeneratedRegex(@"^CSeq: *\d+ +(\S+)", RegexOptions.Multiline)]
    private static partial Regex CSeqMethod();

    [GeneratedRegex(@"branch=([^;\r\n]+)")]
    private static partial Regex Branch();

    private static string Md5(string s) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(s)));

    [GeneratedRegex("nonce=\"([^\"]+)\"")]
    private static partial Regex Nonce();

    [GeneratedRegex("realm=\"([^\"]+)\"")]
    private static partial Regex Realm();

    [GeneratedRegex("^To: (.+)$", RegexOptions.Multiline)]
    private static partial Regex ToHeader();

    public void Dispose() => _socket.Dispose();
}
