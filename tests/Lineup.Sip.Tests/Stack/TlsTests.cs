using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Lineup.Sip.Stack;
using Lineup.Sip.Tests.Support;
using Lineup.Sip.Transport;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Lineup.Sip.Tests.Stack;

/// <summary>SIP over TLS on 127.0.0.1 with certificates from a throwaway CA: calls over TLS and sips:, certificate
/// validation (expired, wrong host, pinned), plain text on the TLS port, handshakes abandoned by the thousand,
/// certificate files reloaded when they change.</summary>
public sealed class TlsTests(ITestOutputHelper output) : IDisposable
{
    private static readonly byte[] Sdp = Encoding.ASCII.GetBytes("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly TestCertificates _certificates = new();

    public void Dispose() => _certificates.Dispose();

    private static SslStreamCertificateContext Context(X509Certificate2 certificate) =>
        SslStreamCertificateContext.Create(X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null), null);

    private SipTlsOptions ClientTrust() => new() { TrustedAuthorities = [_certificates.Authority] };

    private static SipStackOptions Options(SipTlsOptions tls) => new()
    {
        Listen = new IPEndPoint(IPAddress.Loopback, 0),
        TlsListen = new IPEndPoint(IPAddress.Loopback, 0),
        Tls = tls,
    };

    /// <summary>A stack that answers INVITEs over TLS with <paramref name="certificate"/>; counts requests it saw.</summary>
    private static async Task<(SipStack Stack, int Port, Func<int> Requests)> Callee(X509Certificate2 certificate)
    {
        var seen = 0;
        var context = Context(certificate);
        var tls = new SipTcpTransport(new IPEndPoint(IPAddress.Loopback, 0), TimeProvider.System, tls: new SipTlsOptions { ServerCertificate = () => context });
        var stack = new SipStack(new SipStackOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0) }, [tls]);
        stack.OnRequest = r =>
        {
            Interlocked.Increment(ref seen);
            if (r.Request.RequestLine!.Method == "INVITE")
            {
                var session = r.AcceptInvite();
                session.Answer(Sdp);
            }
            else
            {
                r.Respond(200);
            }
            return ValueTask.CompletedTask;
        };
        await stack.StartAsync();
        return (stack, tls.LocalEndPoint.Port, () => Volatile.Read(ref seen));
    }

    private static async Task<int> Call(SipStack caller, string target, SipRemote? destination = null)
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var session = caller.Invite(new InviteRequest(target, "agent", null, Sdp, destination), s =>
        {
            s.Answered += _ => done.TrySetResult(200);
            s.Failed += (_, code) => done.TrySetResult(code);
        });
        var code = await done.Task.WaitAsync(Wait);
        if (code == 200)
        {
            session.Hangup();
        }
        return code;
    }

    [Fact]
    public async Task A_call_over_tls_by_transport_parameter_and_by_sips_uri_validates_the_ca_and_the_name()
    {
        var (callee, port, requests) = await Callee(_certificates.Server("localhost"));
        await using var _ = callee;
        await using var caller = new SipStack(Options(ClientTrust()));
        await caller.StartAsync();

        Assert.Equal(200, await Call(caller, $"sip:500@127.0.0.1:{port};transport=tls"));
        Assert.Equal(200, await Call(caller, $"sips:500@localhost:{port}"));
        // A sips: target never goes over anything but TLS, even when handed a TCP destination.
        Assert.NotEqual(200, await Call(caller, $"sips:500@localhost:{port}", new SipRemote(SipTransportKind.Tcp, new IPEndPoint(IPAddress.Loopback, port))));
        Assert.Equal(2, requests()); // the two INVITEs; nothing over the refused hop
    }

    [Theory]
    [InlineData("expired")]
    [InlineData("wrong-host")]
    [InlineData("untrusted")]
    public async Task Outbound_tls_refuses_a_certificate_that_does_not_validate(string problem)
    {
        var certificate = problem switch
        {
            "expired" => _certificates.Server("localhost", expired: true),
            "wrong-host" => _certificates.Server("other.example"),
            _ => _certificates.Server("localhost", selfSigned: true),
        };
        var (callee, port, requests) = await Callee(certificate);
        await using var _ = callee;
        await using var caller = new SipStack(Options(ClientTrust()));
        await caller.StartAsync();

        var code = await Call(caller, $"sip:500@127.0.0.1:{port};transport=tls");
        Assert.NotEqual(200, code);
        Assert.InRange(code, 400, 599);
        Assert.Equal(0, requests()); // nothing was sent in clear or to an unverified peer
    }

    [Theory]
    [InlineData("localhost", true)]
    [InlineData("proxy.example", false)]
    public async Task A_tls_outbound_proxy_is_validated_against_its_configured_host_name(string serverName, bool accepted)
    {
        var (callee, port, requests) = await Callee(_certificates.Server("localhost"));
        await using var _ = callee;
        await using var caller = new SipStack(Options(ClientTrust()) with
        {
            OutboundProxy = new SipRemote(SipTransportKind.Tls, new IPEndPoint(IPAddress.Loopback, port)),
            OutboundProxyServerName = serverName,
        });
        await caller.StartAsync();
        // No destination: the request goes to the proxy, over TLS, whose certificate must name serverName.
        var code = await Call(caller, "sip:+15550100@trunk.example");
        Assert.Equal(accepted, code == 200);
        Assert.Equal(accepted ? 1 : 0, requests());
    }

    [Fact]
    public async Task A_pinned_certificate_is_accepted_without_a_trusted_chain_and_others_are_not()
    {
        var selfSigned = _certificates.Server("localhost", selfSigned: true);
        var (callee, port, requests) = await Callee(selfSigned);
        await using var _ = callee;
        var pin = Convert.ToHexString(selfSigned.GetCertHash(HashAlgorithmName.SHA256));
        await using var pinned = new SipStack(Options(new SipTlsOptions { PinnedCertificates = [pin] }));
        await pinned.StartAsync();
        Assert.Equal(200, await Call(pinned, $"sip:500@127.0.0.1:{port};transport=tls"));

        await using var otherPin = new SipStack(Options(new SipTlsOptions { PinnedCertificates = [new string('A', 64)] }));
        await otherPin.StartAsync();
        Assert.NotEqual(200, await Call(otherPin, $"sip:500@127.0.0.1:{port};transport=tls"));
        Assert.Equal(1, requests());
    }

    [Fact]
    public async Task Plain_text_on_the_tls_port_gets_no_answer_and_the_port_keeps_working()
    {
        var context = Context(_certificates.Server());
        await using var transport = new SipTcpTransport(new IPEndPoint(IPAddress.Loopback, 0), TimeProvider.System,
            tls: new SipTlsOptions { ServerCertificate = () => context });
        var handler = new CountingHandler();
        await transport.StartAsync(handler, CancellationToken.None);

        using (var plain = new TcpClient())
        {
            await plain.ConnectAsync(transport.LocalEndPoint);
            var options = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKp\r\nMax-Forwards: 70\r\n"
                + "From: <sip:b@127.0.0.1>;tag=f\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: plain\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
            await plain.GetStream().WriteAsync(Encoding.ASCII.GetBytes(options));
            var buffer = new byte[256];
            int n;
            try
            {
                n = await plain.GetStream().ReadAsync(buffer).AsTask().WaitAsync(Wait);
            }
            catch (IOException)
            {
                n = 0;
            }
            Assert.False(Encoding.ASCII.GetString(buffer, 0, n).StartsWith("SIP/2.0", StringComparison.Ordinal));
        }
        await WaitUntil(() => transport.HandshakeFailures == 1 && transport.ConnectionCount == 0);
        Assert.Equal(0, handler.Messages);

        // A real TLS client is served afterwards.
        using var client = new TcpClient();
        await client.ConnectAsync(transport.LocalEndPoint);
        await using var ssl = new SslStream(client.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            CertificateChainPolicy = ClientTrust().ClientOptions("localhost").CertificateChainPolicy,
        });
        Assert.True(ssl.SslProtocol is System.Security.Authentication.SslProtocols.Tls12 or System.Security.Authentication.SslProtocols.Tls13);
        await ssl.WriteAsync(Encoding.ASCII.GetBytes("OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bKq\r\nMax-Forwards: 70\r\n"
            + "From: <sip:b@127.0.0.1>;tag=f\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: tls\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"));
        await WaitUntil(() => handler.Messages == 1);
    }

    [Fact]
    public async Task A_thousand_abandoned_handshakes_leave_no_connection_socket_or_thread_behind()
    {
        var context = Context(_certificates.Server());
        await using var transport = new SipTcpTransport(new IPEndPoint(IPAddress.Loopback, 0), TimeProvider.System,
            options: new SipTcpOptions(MaxConnections: 2048),
            tls: new SipTlsOptions { ServerCertificate = () => context, HandshakeTimeout = TimeSpan.FromSeconds(2) });
        await transport.StartAsync(new CountingHandler(), CancellationToken.None);
        GC.Collect();
        var fdsBefore = OpenFileDescriptors();
        var threadsBefore = Process.GetCurrentProcess().Threads.Count;

        // 1,000 clients: each connects, sends the first bytes of a TLS record (a ClientHello's header) and then
        // either resets the connection or goes silent (held open until the handshake timeout closes it).
        var silent = new List<Socket>();
        var helloStart = new byte[] { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03 };
        for (var i = 0; i < 1000; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(transport.LocalEndPoint);
            await socket.SendAsync(helloStart.AsMemory(0, 1 + (i % helloStart.Length)));
            if (i % 10 == 0)
            {
                silent.Add(socket);
            }
            else
            {
                socket.LingerState = new LingerOption(true, 0); // RST
                socket.Dispose();
            }
        }
        await WaitUntil(() => transport.ConnectionCount == 0, TimeSpan.FromSeconds(60));
        foreach (var s in silent) s.Dispose();
        Assert.Equal(1000, transport.HandshakeFailures);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        await Task.Delay(200);
        var fdsAfter = OpenFileDescriptors();
        var threadsAfter = Process.GetCurrentProcess().Threads.Count;
        output.WriteLine($"1000 abandoned handshakes: connections 0, fds {fdsBefore} -> {fdsAfter}, threads {threadsBefore} -> {threadsAfter}");
        // Other tests run in parallel in this process, so allow some slack, but far below one per attempt.
        Assert.InRange(fdsAfter - fdsBefore, int.MinValue, 50);
        Assert.InRange(threadsAfter - threadsBefore, int.MinValue, 20);
    }

    [Fact]
    public async Task Pem_files_are_reloaded_when_they_change()
    {
        var first = _certificates.Server("localhost");
        var (certPath, keyPath) = _certificates.WritePem(first, "server");
        var time = new FakeTimeProvider();
        var source = new PemCertificateSource(certPath, keyPath, time);
        Assert.Equal(first.Thumbprint, source.Certificate.Thumbprint);
        Assert.Equal(1, source.Loads);

        var second = _certificates.Server("localhost");
        _certificates.WritePem(second, "server");
        File.SetLastWriteTimeUtc(certPath, DateTime.UtcNow.AddMinutes(1));
        File.SetLastWriteTimeUtc(keyPath, DateTime.UtcNow.AddMinutes(1));
        Assert.Equal(first.Thumbprint, source.Certificate.Thumbprint); // looked at most once a second
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(second.Thumbprint, source.Certificate.Thumbprint);
        Assert.Equal(2, source.Loads);

        // A half-written file keeps the previous certificate.
        File.WriteAllText(certPath, "-----BEGIN CERTIFICATE-----\nAAAA");
        File.SetLastWriteTimeUtc(certPath, DateTime.UtcNow.AddMinutes(2));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(second.Thumbprint, source.Certificate.Thumbprint);

        Assert.Throws<InvalidOperationException>(() => new PemCertificateSource(Path.Combine(_certificates.Folder, "missing.crt"), keyPath));
    }

    [Fact]
    public void A_sips_request_uri_over_udp_is_refused_with_416()
    {
        var h = new Harness();
        h.Deliver(h.Request("OPTIONS", uri: "sips:500@192.0.2.1"));
        var response = Assert.Single(h.Responses(416));
        Assert.Contains("TLS", response.GetFirst("Warning"));
    }

    private static int OpenFileDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    private static async Task WaitUntil(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Wait);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }

    private sealed class CountingHandler : ISipTransportHandler
    {
        private int _messages;

        public int Messages => Volatile.Read(ref _messages);

        public void OnMessage(SipRemote remote, SipParseResult result) => Interlocked.Increment(ref _messages);

        public void OnSendFailed(SipRemote remote)
        {
        }
    }
}
