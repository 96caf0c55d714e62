using System.Globalization;
using Lineup.Sip.Tests.Support;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// Interop over SIP over TLS and SRTP with baresip: the server listens for TLS with a certificate from a CA this
/// test makes (and baresip trusts only that CA); baresip registers over TLS (<c>;transport=tls</c>) and takes SRTP
/// calls only (<c>mediaenc=srtp-mand</c>). A sipp caller calls the queue in clear-text RTP; Lineup rings baresip over
/// its TLS connection with an RTP/SAVP offer carrying SDES keys and bridges the SRTP leg to the caller's RTP leg:
/// each side hears the other's tone, decrypted one way and encrypted the other.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class BaresipTlsInteropTests(BaresipTlsServerFixture server, ITestOutputHelper output) : IClassFixture<BaresipTlsServerFixture>
{
    [Fact]
    public async Task Baresip_registers_over_tls_answers_with_srtp_and_hears_and_is_heard_by_the_clear_text_caller()
    {
        var q = await server.QueueAsync("baresip-tls", new { strategy = "top_down", ring_timeout = 20 });
        var agent = await server.AgentAsync(q, 1, BaresipTlsServerFixture.AgentNumber);
        await using var phone = await Baresip.StartAsync(agent, server.TlsAddress, server.CaFile, srtpMandatory: true);
        await phone.AnswerQueueCallAsync(server, q, agent, output, c => c.GetProperty("transport").GetString() == "tls");
        // What went over the TLS connection (baresip's SIP trace): our INVITE offered RTP/SAVP with SDES keys, and
        // baresip turned SRTP on for the call.
        var trace = phone.Output;
        Assert.Contains("SIP/2.0/TLS", trace, StringComparison.Ordinal);
        Assert.Contains("RTP/SAVP", trace, StringComparison.Ordinal);
        Assert.Contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:", trace, StringComparison.Ordinal);
        Assert.Contains("SRTP is Enabled", trace, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_clear_text_call_to_a_queue_that_requires_srtp_gets_488_saying_why()
    {
        await server.QueueAsync("srtp-only", new { extension = BaresipTlsServerFixture.SrtpOnlyExtension });
        using var caller = new UdpPhone(server.SipPort);
        var clear = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
        var (status, text) = await caller.InviteAsync(BaresipTlsServerFixture.SrtpOnlyExtension, clear);
        Assert.Equal(488, status);
        Assert.Contains("SRTP is required", text, StringComparison.Ordinal);
    }
}

/// <summary>The server with SIP over TLS on a free port (certificate and key as PEM files from a throwaway CA),
/// SRTP optional for everyone, required for the baresip agent's phone and for callers of queue 799, MD5 digest
/// (baresip's libre).</summary>
public sealed class BaresipTlsServerFixture : SipServerFixture
{
    public const string AgentNumber = "2901";
    public const string SrtpOnlyExtension = "799";
    private readonly TestCertificates _certificates = new("Lineup interop test CA");
    private readonly (string Certificate, string Key) _pem;

    public BaresipTlsServerFixture()
    {
        _pem = _certificates.WritePem(_certificates.Server("localhost"), "sip");
        CaFile = _certificates.WriteAuthorityPem();
    }

    public int TlsPort { get; } = ServerProcess.FreePort();

    public string TlsAddress => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{TlsPort}");

    public string CaFile { get; }

    protected override IEnumerable<string> ExtraServerArguments =>
    [
        "--Sip:DigestAlgorithms=MD5",
        $"--Sip:Tls:Listen={TlsAddress}",
        $"--Sip:Tls:Certificate={_pem.Certificate}",
        $"--Sip:Tls:Key={_pem.Key}",
        "--Sip:Srtp=optional",
        $"--Sip:SrtpAgents:{AgentNumber}=required",
        $"--Sip:SrtpQueues:{SrtpOnlyExtension}=required",
    ];

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _certificates.Dispose();
    }
}
