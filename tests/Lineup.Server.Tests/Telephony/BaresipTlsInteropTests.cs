using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Lineup.Sip.Tests.Support;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// Interop over SIP over TLS and SRTP with baresip: the server listens for TLS with a certificate from a CA this
/// test makes (and baresip trusts only that CA); baresip registers over TLS (<c>;transport=tls</c>) and takes SRTP
/// calls only (<c>mediaenc=srtp-mand</c>). A sipp caller calls the queue in clear-text RTP; Lineup rings baresip over
/// its TLS connection with an RTP/SAVP offer carrying SDES keys, bridges the SRTP leg to the caller's RTP leg, and
/// baresip's audio reaches the caller decrypted.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class BaresipTlsInteropTests(BaresipTlsServerFixture server, ITestOutputHelper output) : IClassFixture<BaresipTlsServerFixture>
{
    [Fact]
    public async Task Baresip_registers_over_tls_answers_with_srtp_and_its_audio_reaches_the_clear_text_caller()
    {
        var q = await server.QueueAsync("baresip-tls", new { strategy = "top_down", ring_timeout = 20 });
        var agent = await server.AgentAsync(q, 1, BaresipTlsServerFixture.AgentNumber);
        await using var phone = await Baresip.StartAsync(agent, server.TlsAddress, server.CaFile, srtpMandatory: true);
        try
        {
            await WaitForTlsRegistrationAsync(agent, phone);

            await using var probe = new RtpProbe();
            await using var caller = await server.CallAsync(q, "caller.xml", probe, new() { ["talk_ms"] = "8000" });
            (await caller.WaitAsync()).AssertSucceeded();

            var cdr = await server.CdrAsync(q);
            Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
            Assert.Equal(agent.Id, cdr.GetProperty("agent_id").GetInt64());
            Assert.True(probe.SignaturesReceived >= 50,
                $"the caller got {probe.SignaturesReceived} packets of baresip's audio (and {probe.OthersReceived} others)\n{phone.Output}");
            // What went over the TLS connection (baresip's SIP trace): an SRTP offer with SDES keys, answered in kind.
            var trace = phone.Output;
            Assert.Contains("RTP/SAVP", trace, StringComparison.Ordinal);
            Assert.Contains("a=crypto:", trace, StringComparison.Ordinal);
            Assert.Contains("SIP/2.0/TLS", trace, StringComparison.Ordinal);
            await phone.WaitForOutputAsync("terminated", TimeSpan.FromSeconds(60));
            output.WriteLine($"probe: agent audio {probe.SignaturesReceived}, other {probe.OthersReceived}");
            output.WriteLine(trace);
        }
        catch
        {
            output.WriteLine($"--- baresip (pid {phone.Pid}) ---\n{phone.Output}");
            throw;
        }
    }

    /// <summary>Until the agent has a contact registered over TLS.</summary>
    private async Task WaitForTlsRegistrationAsync(SipAgent agent, Baresip phone)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(phone.HasExited, $"baresip exited before registering.\n{phone.Output}");
            using var response = await server.Api.GetAsync(new Uri("/api/v1/sip/registrations", UriKind.Relative));
            last = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(last);
            if (doc.RootElement.EnumerateArray().Where(r => r.GetProperty("agent_id").GetInt64() == agent.Id)
                .SelectMany(r => r.GetProperty("contacts").EnumerateArray()).Any(c => c.GetProperty("transport").GetString() == "tls"))
            {
                output.WriteLine($"registered over TLS after {clock.Elapsed.TotalSeconds:F1} s: {last}");
                return;
            }
            await Task.Delay(250);
        }
        Assert.Fail($"baresip did not register over TLS within 60 s: {last}\n{phone.Output}");
    }
}

/// <summary>The server with SIP over TLS on a free port (certificate and key as PEM files from a throwaway CA),
/// SRTP optional for everyone and required for the baresip agent's phone, MD5 digest (baresip's libre).</summary>
public sealed class BaresipTlsServerFixture : SipServerFixture
{
    public const string AgentNumber = "2901";
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
    ];

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _certificates.Dispose();
    }
}
