using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// An agent's phone with two lines, written from RFC 3261 by hand for the attended transfer test (sipp plays one dialog
/// per scenario): it answers the call Lineup rings it with, holds it (re-INVITE, RFC 3264 §8.4), places a consultation
/// call, and REFERs the first call with Replaces naming the second (RFC 5589 §7). It answers Lineup's NOTIFYs and BYEs
/// with 200 and keeps them for the test. UDP on 127.0.0.1 only; a request is sent again every second until a final
/// response arrives.
/// </summary>
internal sealed partial class ConsultingPhone : IAsyncDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly IPEndPoint _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<SipText> _invites = Channel.CreateUnbounded<SipText>();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<SipText>> _waiting = new();
    private readonly Task _receiving;

    public ConsultingPhone(int sipPort)
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _server = new IPEndPoint(IPAddress.Loopback, sipPort);
        _receiving = ReceiveAsync(_stop.Token);
    }

    public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    /// <summary>The NOTIFYs Lineup sent (each answered 200), in order.</summary>
    public ConcurrentQueue<SipText> Notifies { get; } = new();

    /// <summary>The Call-IDs Lineup sent a BYE in (each answered 200).</summary>
    public ConcurrentQueue<string> Byes { get; } = new();

    /// <summary>One side of a dialog: what the next in-dialog request needs (§12.2.1.1).</summary>
    public sealed class Dialog(string callId, string local, string remote, string target)
    {
        public string CallId { get; } = callId;

        /// <summary>Our From header value (with our tag).</summary>
        public string Local { get; } = local;

        /// <summary>The other side's address with its tag (our To).</summary>
        public string Remote { get; } = remote;

        /// <summary>The other side's Contact URI (the Request-URI of our requests).</summary>
        public string Target { get; } = target;

        public int CSeq { get; set; }

        public string LocalTag => TagOf(Local);

        public string RemoteTag => TagOf(Remote);
    }

    /// <summary>A SIP message as text, with the few accessors the test needs.</summary>
    public sealed record SipText(string Text)
    {
        public string FirstLine => Text[..Text.IndexOf("\r\n", StringComparison.Ordinal)];

        public int Status => FirstLine.StartsWith("SIP/2.0 ", StringComparison.Ordinal) ? int.Parse(FirstLine.AsSpan(8, 3), CultureInfo.InvariantCulture) : 0;

        public string Body => Text[(Text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];

        public string? Header(string name) =>
            Text.Split("\r\n").TakeWhile(l => l.Length > 0).Skip(1)
                .Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase)).Select(l => l[(name.Length + 1)..].Trim()).FirstOrDefault();

        /// <summary>Where the SDP body asks for media (its c= address and m=audio port).</summary>
        public IPEndPoint Media()
        {
            var address = SdpAddress().Match(Body).Groups[1].Value;
            var port = SdpPort().Match(Body).Groups[1].Value;
            return new IPEndPoint(IPAddress.Parse(address), int.Parse(port, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>An SDP offer or answer for media on <paramref name="port"/> (PCMU), in <paramref name="direction"/>.</summary>
    public static string Sdp(int port, string direction = "sendrecv") =>
        $"v=0\r\no=phone 1 {Environment.TickCount64 & 0xffff} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
        $"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na={direction}\r\n";

    /// <summary>Waits for the INVITE Lineup rings the phone with, answers 180 then 200 with <paramref name="sdp"/>: the
    /// dialog (the phone is its UAS) and the INVITE (its SDP says where Lineup wants media).</summary>
    public async Task<(Dialog Dialog, SipText Invite)> AnswerAsync(string sdp, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var invite = await _invites.Reader.ReadAsync(timeout.Token);
        var tag = Guid.NewGuid().ToString("N")[..12];
        var to = invite.Header("To")! + ";tag=" + tag;
        await SendAsync(Response(invite, 180, "Ringing", to, "", ""));
        await SendAsync(Response(invite, 200, "OK", to, $"Contact: <sip:agent@127.0.0.1:{Port}>\r\nContent-Type: application/sdp\r\n", sdp));
        var target = ContactUri().Match(invite.Header("Contact") ?? "").Groups[1].Value;
        return (new Dialog(invite.Header("Call-ID")!, to, invite.Header("From")!, target), invite);
    }

    /// <summary>An INVITE to <paramref name="user"/> at Lineup (a new call), ACKed: the dialog (the phone is its UAC) and
    /// the 200, or the failure's final response.</summary>
    public async Task<(Dialog? Dialog, SipText Final)> CallAsync(string user, string sdp)
    {
        var from = $"<sip:agent@127.0.0.1>;tag={Guid.NewGuid().ToString("N")[..12]}";
        var callId = Guid.NewGuid().ToString("N") + "@127.0.0.1";
        var dialog = new Dialog(callId, from, $"<sip:{user}@127.0.0.1>", $"sip:{user}@127.0.0.1:{_server.Port}") { CSeq = 1 };
        var final = await RequestAsync("INVITE", dialog, $"Contact: <sip:agent@127.0.0.1:{Port}>\r\nContent-Type: application/sdp\r\n", sdp);
        if (final.Status is < 200 or >= 300) return (null, final);
        var answered = new Dialog(callId, from, final.Header("To")!, ContactUri().Match(final.Header("Contact") ?? "").Groups[1].Value) { CSeq = 1 };
        await AckAsync(answered);
        return (answered, final);
    }

    /// <summary>A re-INVITE in <paramref name="dialog"/> with <paramref name="sdp"/> (a hold when it says sendonly),
    /// ACKed when answered 2xx: the final response.</summary>
    public async Task<SipText> ReInviteAsync(Dialog dialog, string sdp)
    {
        dialog.CSeq++;
        var final = await RequestAsync("INVITE", dialog, $"Contact: <sip:agent@127.0.0.1:{Port}>\r\nContent-Type: application/sdp\r\n", sdp);
        if (final.Status is >= 200 and < 300) await AckAsync(dialog);
        return final;
    }

    /// <summary>A REFER in <paramref name="dialog"/> (RFC 3515): the final response.</summary>
    public Task<SipText> ReferAsync(Dialog dialog, string referTo)
    {
        dialog.CSeq++;
        return RequestAsync("REFER", dialog, $"Refer-To: {referTo}\r\nReferred-By: <sip:agent@127.0.0.1>\r\nContact: <sip:agent@127.0.0.1:{Port}>\r\n", "");
    }

    /// <summary>A BYE in <paramref name="dialog"/>: the final response.</summary>
    public Task<SipText> ByeAsync(Dialog dialog)
    {
        dialog.CSeq++;
        return RequestAsync("BYE", dialog, "", "");
    }

    /// <summary>Waits until <paramref name="done"/> holds, up to <paramref name="within"/>.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> done, TimeSpan within)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed > within) return false;
            await Task.Delay(50);
        }
        return true;
    }

    private async Task<SipText> RequestAsync(string method, Dialog dialog, string headers, string body)
    {
        var branch = "z9hG4bK" + Guid.NewGuid().ToString("N");
        var request = InDialog(method, dialog, branch, dialog.CSeq, headers, body);
        var final = new TaskCompletionSource<SipText>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[branch] = final;
        try
        {
            for (var attempt = 0; attempt < 10; attempt++)
            {
                await SendAsync(request);
                if (await Task.WhenAny(final.Task, Task.Delay(TimeSpan.FromSeconds(1))) == final.Task) return await final.Task;
            }
            throw new TimeoutException($"no final response to the phone's {method} within 10 s");
        }
        finally
        {
            _waiting.TryRemove(branch, out _);
        }
    }

    private Task AckAsync(Dialog dialog) =>
        SendAsync(InDialog("ACK", dialog, "z9hG4bK" + Guid.NewGuid().ToString("N"), dialog.CSeq, "", "", cseqMethod: "ACK"));

    private string InDialog(string method, Dialog dialog, string branch, int cseq, string headers, string body, string? cseqMethod = null) =>
        $"{method} {dialog.Target} SIP/2.0\r\n" +
        $"Via: SIP/2.0/UDP 127.0.0.1:{Port};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: {dialog.Local}\r\nTo: {dialog.Remote}\r\n" +
        $"Call-ID: {dialog.CallId}\r\nCSeq: {cseq} {cseqMethod ?? method}\r\n{headers}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";

    private static string Response(SipText request, int status, string reason, string? to, string headers, string body)
    {
        var sb = new StringBuilder($"SIP/2.0 {status} {reason}\r\n");
        foreach (var line in request.Text.Split("\r\n").TakeWhile(l => l.Length > 0).Skip(1))
        {
            if (line.StartsWith("Via:", StringComparison.OrdinalIgnoreCase) || line.StartsWith("From:", StringComparison.OrdinalIgnoreCase)
                || line.StartsWith("Call-ID:", StringComparison.OrdinalIgnoreCase) || line.StartsWith("CSeq:", StringComparison.OrdinalIgnoreCase))
                sb.Append(line).Append("\r\n");
        }
        sb.Append("To: ").Append(to ?? request.Header("To")).Append("\r\n").Append(headers);
        sb.Append(CultureInfo.InvariantCulture, $"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n").Append(body);
        return sb.ToString();
    }

    private async Task SendAsync(string text) => await _socket.SendToAsync(Encoding.UTF8.GetBytes(text), _server);

    private async Task ReceiveAsync(CancellationToken token)
    {
        var buffer = new byte[16384];
        while (!token.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(buffer, SocketFlags.None, token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            var message = new SipText(Encoding.UTF8.GetString(buffer, 0, n));
            if (message.Status > 0)
            {
                // A final response completes the request with its branch (provisional ones and strays are skipped).
                var branch = BranchOf().Match(message.Header("Via") ?? "").Groups[1].Value;
                if (message.Status >= 200 && _waiting.TryGetValue(branch, out var waiting)) waiting.TrySetResult(message);
                continue;
            }
            var method = message.FirstLine.Split(' ')[0];
            switch (method)
            {
                case "INVITE" when message.Header("To")?.Contains("tag=", StringComparison.Ordinal) != true:
                    await _invites.Writer.WriteAsync(message, token);
                    break;
                case "NOTIFY":
                    Notifies.Enqueue(message);
                    await SendAsync(Response(message, 200, "OK", null, "", ""));
                    break;
                case "BYE":
                    Byes.Enqueue(message.Header("Call-ID")!);
                    await SendAsync(Response(message, 200, "OK", null, "", ""));
                    break;
                case "ACK":
                    break;
                default:
                    await SendAsync(Response(message, 200, "OK", null, "", ""));
                    break;
            }
        }
    }

    private static string TagOf(string nameAddress) => TagParameter().Match(nameAddress).Groups[1].Value;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _receiving;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    [GeneratedRegex(@"branch=([^;\s,]+)")]
    private static partial Regex BranchOf();

    [GeneratedRegex(@";tag=([^;>\s]+)")]
    private static partial Regex TagParameter();

    [GeneratedRegex(@"<([^>]+)>")]
    private static partial Regex ContactUri();

    [GeneratedRegex(@"^c=IN IP4 (\S+)", RegexOptions.Multiline)]
    private static partial Regex SdpAddress();

    [GeneratedRegex(@"^m=audio (\d+)", RegexOptions.Multiline)]
    private static partial Regex SdpPort();
}
