using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

// bench/sip/run.sh's helper for many phones (issue 17). Two commands:
//   provision --api URL --token TOKEN --queue ID --agents N --first NUMBER --password SIP_PASSWORD
//       creates N agents numbered FIRST.., sets their SIP password, makes them the queue's only members (positions
//       1..N) and logs them in; prints "provisioned N agents" (exit 1 on any refused request).
//   register --sip HOST:PORT --first NUMBER --count N --password SIP_PASSWORD --contacts PORT[,PORT...] [--expires S]
//       registers users FIRST..FIRST+N-1 (REGISTER, 401, REGISTER with MD5 digest, 200) from one UDP socket; user i's
//       Contact is 127.0.0.1 at the (i mod k)-th contact port, so k sipp UAS processes answer for the agents.
//       64 registrations in flight; prints "registered N phones" (exit 1 when any failed after 3 tries).
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Lineup.SipPhones provision|register --option value ...");
    return 2;
}
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2) options[args[i]] = args[i + 1];
string Opt(string name) => options.TryGetValue(name, out var v) ? v : throw new ArgumentException($"{name} is required");
int IntOpt(string name, int? fallback = null) =>
    options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback ?? throw new ArgumentException($"{name} is required");

return args[0] switch
{
    "provision" => await Provision.RunAsync(Opt("--api"), Opt("--token"), IntOpt("--queue"), IntOpt("--agents"), IntOpt("--first"), Opt("--password")),
    "register" => await Phones.RegisterAsync(IPEndPoint.Parse(Opt("--sip")), IntOpt("--first"), IntOpt("--count"), Opt("--password"),
        [.. Opt("--contacts").Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture))], IntOpt("--expires", 3600)),
    _ => 2,
};

internal static class Provision
{
    public static async Task<int> RunAsync(string api, string token, int queue, int agents, int first, string password)
    {
        using var http = new HttpClient { BaseAddress = new Uri(api.TrimEnd('/') + "/api/v1/"), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var ids = new long[agents];
        // Agents in parallel (each: create, SIP password); then one membership request; then logins in parallel.
        await Parallel.ForAsync(0, agents, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var number = (first + i).ToString(CultureInfo.InvariantCulture);
            var created = await Send(http, HttpMethod.Post, "agents", new { name = $"sip bench {i + 1}", number }, ct);
            ids[i] = created.GetProperty("id").GetInt64();
            await Send(http, HttpMethod.Put, $"agents/{ids[i]}/sip", new { password }, ct);
        });
        await Send(http, HttpMethod.Put, $"queues/{queue}/members",
            new { members = ids.Select((id, i) => new { agent_id = id, position = i + 1 }).ToArray() }, CancellationToken.None);
        await Parallel.ForAsync(0, agents, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await Send(http, HttpMethod.Post, $"agents/{ids[i]}/login", null, ct));
        Console.WriteLine($"provisioned {agents} agents");
        return 0;
    }

    private static async Task<JsonElement> Send(HttpClient http, HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }
}

internal static partial class Phones
{
    public static async Task<int> RegisterAsync(IPEndPoint registrar, int first, int count, string password, int[] contactPorts, int expires)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var local = (IPEndPoint)socket.LocalEndPoint!;
        var pending = new System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource<string>>();
        using var stop = new CancellationTokenSource();
        var receiver = Task.Run(async () =>
        {
            var buffer = new byte[65536];
            while (!stop.IsCancellationRequested)
            {
                SocketReceiveFromResult r;
                try
                {
                    r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                var text = Encoding.ASCII.GetString(buffer, 0, r.ReceivedBytes);
                if (text.StartsWith("SIP/2.0 1", StringComparison.Ordinal)) continue; // provisional
                var callId = CallId().Match(text);
                if (callId.Success && pending.TryRemove(callId.Groups[1].Value.Trim(), out var waiter)) waiter.TrySetResult(text);
            }
        });

        async Task<string?> Transact(string callId, string request)
        {
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                pending[callId] = tcs;
                await socket.SendToAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, registrar);
                if (await Task.WhenAny(tcs.Task, Task.Delay(2000)) == tcs.Task) return tcs.Task.Result;
                pending.TryRemove(callId, out _);
            }
            return null;
        }

        var failed = 0;
        var clock = Stopwatch.StartNew();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            var user = (first + i).ToString(CultureInfo.InvariantCulture);
            var contact = $"<sip:{user}@127.0.0.1:{contactPorts[i % contactPorts.Length]}>";
            var callId = $"reg-{user}-{Guid.NewGuid():N}@bench";
            var uri = $"sip:{registrar.Address}:{registrar.Port}";
            string Register(int cseq, string? authorization) =>
                $"REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local.Address}:{local.Port};rport;branch=z9hG4bK{Guid.NewGuid():N}\r\n" +
                $"Max-Forwards: 70\r\nFrom: <sip:{user}@{registrar.Address}>;tag=r{user}\r\nTo: <sip:{user}@{registrar.Address}>\r\n" +
                $"Call-ID: {callId}\r\nCSeq: {cseq} REGISTER\r\nContact: {contact}\r\nExpires: {expires}\r\n" +
                (authorization is null ? "" : $"Authorization: {authorization}\r\n") + "Content-Length: 0\r\n\r\n";
            var challenge = await Transact(callId, Register(1, null));
            var header = challenge is null ? null : Challenge().Match(challenge);
            if (header is not { Success: true })
            {
                Interlocked.Increment(ref failed);
                return;
            }
            var realm = Param(header.Value, "realm");
            var nonce = Param(header.Value, "nonce");
            var cnonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
            var ha1 = Md5($"{user}:{realm}:{password}");
            var ha2 = Md5($"REGISTER:{uri}");
            var response = Md5($"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}");
            var authorization = $"Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", " +
                $"response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"{cnonce}\"";
            var final = await Transact(callId, Register(2, authorization));
            if (final is null || !final.StartsWith("SIP/2.0 200", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref failed);
                if (final is not null) Console.Error.WriteLine($"{user}: {final.Split('\r')[0]}");
            }
        });
        await stop.CancelAsync();
        try
        {
            await receiver;
        }
        catch (OperationCanceledException)
        {
        }
        Console.WriteLine($"registered {count - failed} phones in {clock.Elapsed.TotalSeconds:F1} s" + (failed > 0 ? $", {failed} failed" : ""));
        return failed == 0 ? 0 : 1;
    }

    private static string Md5(string s) => Convert.ToHexString(MD5.HashData(Encoding.UTF8.GetBytes(s))).ToLowerInvariant();

    private static string Param(string header, string name) =>
        Regex.Match(header, name + "=\"([^\"]*)\"", RegexOptions.IgnoreCase).Groups[1].Value;

    [GeneratedRegex(@"^(?:Call-ID|i)\s*:\s*(.+?)\r$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex CallId();

    [GeneratedRegex(@"^WWW-Authenticate\s*:\s*Digest (.*MD5.*)\r$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex Challenge();
}
