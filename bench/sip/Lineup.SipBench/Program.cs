using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Lineup.Sip.Media;
using Lineup.Sip.Stack;
using Lineup.Sip.Transport;

// bench/sip/security.sh runs this. Every figure is measured in this one process on 127.0.0.1; the ratios (TLS/UDP,
// SRTP/RTP) come from phases that alternate within one run, so machine load moves both sides alike.
//   Lineup.SipBench [--seconds S] [--rounds R] [--concurrency C] [--streams N]
var seconds = 10;
var rounds = 3;
var concurrency = 50;
var streams = 200;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    var v = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--seconds": seconds = v; break;
        case "--rounds": rounds = v; break;
        case "--concurrency": concurrency = v; break;
        case "--streams": streams = v; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

Console.WriteLine($"# machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Trim()}");
Console.WriteLine($"# {rounds} rounds of {seconds} s per phase; {concurrency} calls in flight; {streams} media streams");

using var certificate = SelfSigned();
var context = SslStreamCertificateContext.Create(certificate, null);
var pin = Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256));

var setups = new Dictionary<string, List<(double Rate, double CpuMsPerCall)>> { ["udp"] = [], ["tcp"] = [], ["tls"] = [] };
// Warm-up (JIT tiers, thread pool growth) for every path, outside the measurement.
foreach (var kind in new[] { SipTransportKind.Udp, SipTransportKind.Tcp, SipTransportKind.Tls })
{
    await CallSetupsAsync(kind, context, pin, concurrency, TimeSpan.FromSeconds(2));
}
await MediaCpuAsync(true, 20, TimeSpan.FromSeconds(1));
var handshakes = new List<double>();
var media = new Dictionary<string, List<double>> { ["rtp"] = [], ["srtp"] = [] };
for (var r = 1; r <= rounds; r++)
{
    foreach (var kind in new[] { SipTransportKind.Udp, SipTransportKind.Tcp, SipTransportKind.Tls })
    {
        var result = await CallSetupsAsync(kind, context, pin, concurrency, TimeSpan.FromSeconds(seconds));
        setups[SipTransports.Name(kind).ToLowerInvariant()].Add(result);
        Console.WriteLine($"round {r} setup {kind}: {result.Rate:F0} calls/s, {result.CpuMsPerCall:F3} ms CPU per call");
    }
    var hs = await HandshakesAsync(context, pin, TimeSpan.FromSeconds(seconds));
    handshakes.Add(hs);
    Console.WriteLine($"round {r} new TLS connections: {hs:F0} handshakes/s");
    foreach (var srtp in new[] { false, true })
    {
        var perStream = await MediaCpuAsync(srtp, streams, TimeSpan.FromSeconds(seconds));
        media[srtp ? "srtp" : "rtp"].Add(perStream);
        Console.WriteLine($"round {r} media {(srtp ? "SRTP" : "RTP")}: {perStream:F4} % of a core per stream");
    }
}

static double Median(IEnumerable<double> values)
{
    var v = values.Order().ToArray();
    return v.Length % 2 == 1 ? v[v.Length / 2] : (v[(v.Length / 2) - 1] + v[v.Length / 2]) / 2;
}

var udp = Median(setups["udp"].Select(x => x.Rate));
var tls = Median(setups["tls"].Select(x => x.Rate));
var rtp = Median(media["rtp"]);
var srtpCpu = Median(media["srtp"]);
Console.WriteLine();
Console.WriteLine("| measure | median | per round |");
Console.WriteLine("|---|---|---|");
Console.WriteLine($"| call setups/s, UDP | {udp:F0} | {string.Join(", ", setups["udp"].Select(x => x.Rate.ToString("F0", CultureInfo.InvariantCulture)))} |");
Console.WriteLine($"| call setups/s, TCP | {Median(setups["tcp"].Select(x => x.Rate)):F0} | {string.Join(", ", setups["tcp"].Select(x => x.Rate.ToString("F0", CultureInfo.InvariantCulture)))} |");
Console.WriteLine($"| call setups/s, TLS (one connection, reused) | {tls:F0} | {string.Join(", ", setups["tls"].Select(x => x.Rate.ToString("F0", CultureInfo.InvariantCulture)))} |");
Console.WriteLine($"| TLS / UDP setup rate | {tls / udp:P0} | target >= 50 % |");
Console.WriteLine($"| CPU per call, UDP / TCP / TLS (ms) | {Median(setups["udp"].Select(x => x.CpuMsPerCall)):F3} / {Median(setups["tcp"].Select(x => x.CpuMsPerCall)):F3} / {Median(setups["tls"].Select(x => x.CpuMsPerCall)):F3} | both ends of the call in this process |");
Console.WriteLine($"| new TLS connections/s (full handshake, ECDSA P-256) | {Median(handshakes):F0} | {string.Join(", ", handshakes.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))} |");
Console.WriteLine($"| CPU per RTP stream (% of a core) | {rtp:F4} | {string.Join(", ", media["rtp"].Select(x => x.ToString("F4", CultureInfo.InvariantCulture)))} |");
Console.WriteLine($"| CPU per SRTP stream (% of a core) | {srtpCpu:F4} | {string.Join(", ", media["srtp"].Select(x => x.ToString("F4", CultureInfo.InvariantCulture)))} |");
Console.WriteLine($"| SRTP / RTP CPU per stream | {srtpCpu / rtp:F2}x | target <= 1.5x |");
Console.WriteLine($"# load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
return 0;

// Call setups: a caller stack and an answering stack in this process. Each call is INVITE -> 200 -> ACK -> BYE -> 200;
// `concurrency` calls are kept in flight for `duration`. TLS runs over one connection reused by every call (what a
// registered phone or a trunk does); the handshake cost is measured apart.
static async Task<(double Rate, double CpuMsPerCall)> CallSetupsAsync(SipTransportKind kind, SslStreamCertificateContext context, string pin,
    int concurrency, TimeSpan duration)
{
    var sdp = Encoding.ASCII.GetBytes("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n");
    var any = new IPEndPoint(IPAddress.Loopback, 0);
    // Finished transactions stay for their RFC timers (up to 32 s: Timer D, J, L), so at thousands of calls per
    // second the default limits (20,000 transactions) would turn calls away with 503 mid-run: lifted here.
    const int MaxTransactions = 2_000_000;
    await using var callee = new SipStack(new SipStackOptions
    {
        Listen = any,
        TlsListen = any,
        Tcp = kind == SipTransportKind.Tcp,
        Tls = new SipTlsOptions { ServerCertificate = () => context },
        MaxTransactions = MaxTransactions,
        MaxSessions = MaxTransactions,
    });
    callee.OnRequest = r =>
    {
        if (r.Request.RequestLine!.Method == "INVITE") r.AcceptInvite().Answer(sdp);
        else r.Respond(200);
        return ValueTask.CompletedTask;
    };
    await callee.StartAsync();
    await using var caller = new SipStack(new SipStackOptions
    {
        Listen = any,
        TlsListen = any,
        Tcp = kind == SipTransportKind.Tcp,
        Tls = new SipTlsOptions { PinnedCertificates = [pin] },
        MaxTransactions = MaxTransactions,
        MaxSessions = MaxTransactions,
    });
    await caller.StartAsync();
    var target = kind == SipTransportKind.Tls ? callee.TlsEndPoint! : callee.LocalEndPoint;
    var destination = new SipRemote(kind, target);
    var uri = $"sip:500@127.0.0.1:{target.Port}" + (kind == SipTransportKind.Udp ? "" : ";transport=" + SipTransports.Name(kind).ToLowerInvariant());

    // One call: true when it ended normally (answered, then our BYE); false when it failed or had no outcome within
    // 5 s (counted apart: a call lost at these rates would otherwise hold its worker for minutes).
    var stalled = 0L;
    async Task<bool> OneCall()
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        caller.Invite(new InviteRequest(uri, "bench", null, sdp, destination), s =>
        {
            s.Answered += x => x.Hangup();
            s.Failed += (_, _) => done.TrySetResult(false);
            s.Ended += (_, _) => done.TrySetResult(true);
        });
        if (await Task.WhenAny(done.Task, Task.Delay(5000)) == done.Task) return done.Task.Result;
        Interlocked.Increment(ref stalled);
        return false;
    }

    await OneCall(); // connect (TLS handshake) and warm up outside the measurement
    var ok = 0L;
    var failed = 0L;
    var stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    var workers = Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (Stopwatch.GetTimestamp() < stopAt)
        {
            if (await OneCall()) Interlocked.Increment(ref ok);
            else Interlocked.Increment(ref failed);
        }
    }).ToArray();
    await Task.WhenAll(workers);
    var elapsed = clock.Elapsed.TotalSeconds;
    var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
    if (failed > 0) Console.WriteLine($"  ({failed} calls failed, of which {stalled} had no outcome within 5 s)");
    return (ok / elapsed, cpu / Math.Max(1, ok));
}

// New TLS connections per second to the TLS transport: connect, full handshake (no resumption), close.
static async Task<double> HandshakesAsync(SslStreamCertificateContext context, string pin, TimeSpan duration)
{
    await using var server = new SipTcpTransport(new IPEndPoint(IPAddress.Loopback, 0), TimeProvider.System,
        options: new SipTcpOptions(MaxConnections: 4096), tls: new SipTlsOptions { ServerCertificate = () => context });
    await server.StartAsync(new NullHandler(), CancellationToken.None);
    var count = 0L;
    var stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
    var clock = Stopwatch.StartNew();
    var workers = Enumerable.Range(0, 8).Select(async _ =>
    {
        while (Stopwatch.GetTimestamp() < stopAt)
        {
            using var client = new TcpClient();
            await client.ConnectAsync(server.LocalEndPoint);
            await using var ssl = new SslStream(client.GetStream());
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                RemoteCertificateValidationCallback = (_, c, _, _) => c is X509Certificate2 x && Convert.ToHexString(x.GetCertHash(HashAlgorithmName.SHA256)) == pin,
            });
            Interlocked.Increment(ref count);
        }
    }).ToArray();
    await Task.WhenAll(workers);
    return count / clock.Elapsed.TotalSeconds;
}

// CPU per media stream: `streams` legs in pairs that call each other (one offers, the other answers), each playing
// hold music to its peer: every leg sends 50 packets/s and receives 50 packets/s (with SRTP: protects and
// authenticates + decrypts each). CPU of the whole process over the window, divided by the legs.
static async Task<double> MediaCpuAsync(bool srtp, int streams, TimeSpan duration)
{
    var policy = srtp ? SrtpPolicy.Required : SrtpPolicy.Off;
    var min = 40000 + (Random.Shared.Next(0, 50) * 200);
    using var engine = new MediaEngine(new MediaOptions { Bind = IPAddress.Loopback, PortMin = min, PortMax = min + (2 * streams) + 20, Srtp = policy });
    var legs = new List<RtpLeg>();
    for (var i = 0; i < streams / 2; i++)
    {
        var a = engine.CreateLeg();
        var b = engine.CreateLeg();
        var answer = b.Answer(a.CreateOffer(), out var reason) ?? throw new InvalidOperationException(reason);
        if (!a.AcceptAnswer(answer, out reason)) throw new InvalidOperationException(reason);
        if (a.IsSecure != srtp || b.IsSecure != srtp) throw new InvalidOperationException("SRTP not as asked");
        a.Play([], AudioClip.HoldMusic());
        b.Play([], AudioClip.HoldMusic());
        legs.Add(a);
        legs.Add(b);
    }
    await Task.Delay(2000); // latch and settle
    var received0 = engine.Statistics.PacketsReceived;
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    await Task.Delay(duration);
    var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
    var wall = clock.Elapsed.TotalSeconds;
    var received = engine.Statistics.PacketsReceived - received0;
    var expected = legs.Count * 50.0 * wall;
    if (received < expected * 0.9) Console.WriteLine($"  (only {received} of ~{expected:F0} packets received)");
    if (engine.Statistics.SrtpAuthenticationFailures > 0) Console.WriteLine($"  ({engine.Statistics.SrtpAuthenticationFailures} SRTP authentication failures)");
    foreach (var leg in legs) await leg.DisposeAsync();
    return cpu / wall / legs.Count * 100;
}

static X509Certificate2 SelfSigned()
{
    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
    var san = new SubjectAlternativeNameBuilder();
    san.AddDnsName("localhost");
    san.AddIpAddress(IPAddress.Loopback);
    request.CertificateExtensions.Add(san.Build());
    using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
    return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
}

internal sealed class NullHandler : ISipTransportHandler
{
    public void OnMessage(SipRemote remote, Lineup.Sip.SipParseResult result)
    {
    }

    public void OnSendFailed(SipRemote remote)
    {
    }
}

