using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// Interop with a second real SIP user agent: baresip (Debian 1.0.0) is an agent's phone. It registers with digest
/// auth, auto-answers the queue call Lineup sends it, plays a WAV file of the agent's tone (<see cref="Tone"/>) and
/// writes down what it decodes (the sndfile module). A sipp caller with an <see cref="RtpProbe"/> sending the caller's
/// tone calls the queue and hangs up (BYE): each side must hear the other's tone, and nothing else once it does.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class BaresipInteropTests(BaresipServerFixture server, ITestOutputHelper output) : IClassFixture<BaresipServerFixture>
{
    [Fact]
    public async Task Baresip_registers_auto_answers_a_queue_call_and_each_side_hears_the_other()
    {
        var q = await server.QueueAsync("baresip", new { strategy = "top_down", ring_timeout = 20 });
        var agent = await server.AgentAsync(q, 1);
        await using var phone = await Baresip.StartAsync(agent, server.SipAddress);
        var port = ":" + phone.Port.ToString(CultureInfo.InvariantCulture);
        await phone.AnswerQueueCallAsync(server, q, agent, output,
            c => c.GetProperty("uri").GetString()!.Contains("@127.0.0.1" + port, StringComparison.Ordinal));
    }
}

/// <summary>
/// The server challenging REGISTER with MD5 only (<c>--Sip:DigestAlgorithms=MD5</c>). baresip 1.0.0's SIP stack
/// (libre 1.1.0) fails the whole 401 — "Register: Function not implemented" (ENOSYS) — when any one of its
/// WWW-Authenticate headers names an algorithm other than MD5, instead of ignoring that challenge (RFC 8760 §2.4); so
/// it cannot register with Lineup's default challenge, which offers MD5 and SHA-256.
/// </summary>
public sealed class BaresipServerFixture : SipServerFixture
{
    protected override IEnumerable<string> ExtraServerArguments => ["--Sip:DigestAlgorithms=MD5"];
}

/// <summary>
/// One baresip process on 127.0.0.1 as an agent's phone, from a temporary config directory (<c>baresip -f</c>):
/// <c>config</c> (SIP on a free UDP port, no sound card: the audio source is the aufile module reading
/// <c>agent.wav</c>, the player and alert device aubridge, the sndfile module dumping what is sent and decoded to WAV
/// files in the directory; G.711 only; no control modules) and <c>accounts</c> (the
/// agent's number and SIP password against Lineup, <c>answermode=auto</c>). <see cref="DisposeAsync"/> kills it by pid
/// and removes the directory. A missing baresip fails the test: it never skips.
/// </summary>
public sealed class Baresip : IAsyncDisposable
{
    private const int KeptOutputChars = 32_000;
    private const string ModuleDirectory = "/usr/lib/baresip/modules";

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    private Baresip(Process process, string directory, int port)
    {
        _process = process;
        Directory = directory;
        Port = port;
    }

    /// <summary>The baresip executable, or a failed assertion saying how to install it.</summary>
    public static string Executable => ExternalTool.Find("baresip",
        "baresip is not installed: the SIP interop test needs it (Debian/Ubuntu: apt-get install -y baresip; .ci/run installs it).");

    /// <summary>baresip's SIP port on 127.0.0.1 (its contact).</summary>
    public int Port { get; }

    public string Directory { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>baresip's output: its log and, with <c>-s</c>, every SIP message it sent and received.</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <summary>Until baresip's output contains <paramref name="text"/>; fails after <paramref name="limit"/>.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > limit) Assert.Fail($"baresip did not log \"{text}\" within {limit.TotalSeconds} s.\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>Starts baresip registered (it registers by itself at start) as <paramref name="agent"/> with the
    /// registrar at <paramref name="registrar"/> (<c>127.0.0.1:port</c>). With <paramref name="tlsCaFile"/> it
    /// registers over TLS (<c>;transport=tls</c>), trusting only that CA, and with <paramref name="srtpMandatory"/>
    /// it takes SRTP calls only (<c>mediaenc=srtp-mand</c>: RTP/SAVP with SDES keys).</summary>
    public static async Task<Baresip> StartAsync(SipAgent agent, string registrar, string? tlsCaFile = null, bool srtpMandatory = false)
    {
        // baresip binds its SIP port over UDP and TCP and the next one for TLS. The port is picked free here but
        // bound by baresip a moment later, so a parallel test can take one of them first: baresip then exits saying
        // so, and a new port is tried.
        for (var attempt = 1; ; attempt++)
        {
            var baresip = Launch(agent, registrar, tlsCaFile, srtpMandatory);
            var clock = Stopwatch.StartNew();
            while (!baresip.Output.Contains("baresip is ready", StringComparison.Ordinal) && !baresip.HasExited && clock.Elapsed < TimeSpan.FromSeconds(30))
                await Task.Delay(50);
            if (baresip.HasExited) baresip._process.WaitForExit(); // its last lines read
            if (!baresip.HasExited || attempt == 5 || !baresip.Output.Contains("Address already in use", StringComparison.Ordinal))
                return baresip;
            await baresip.DisposeAsync();
        }
    }

    private static Baresip Launch(SipAgent agent, string registrar, string? tlsCaFile, bool srtpMandatory)
    {
        var executable = Executable;
        string[] modules = ["g711.so", "aufile.so", "aubridge.so", "sndfile.so", "account.so", .. srtpMandatory ? new[] { "srtp.so" } : []];
        foreach (var module in modules)
            Assert.True(File.Exists(Path.Combine(ModuleDirectory, module)), $"baresip's {module} is missing from {ModuleDirectory}.");
        var directory = System.IO.Directory.CreateTempSubdirectory("lineup-baresip-").FullName;
        var port = Sipp.FreeUdpPort();
        var wav = Path.Combine(directory, "agent.wav");
        // 8 kHz mono 16-bit PCM, what aufile reads: two minutes of the agent's tone.
        Lineup.Sip.Media.WavFile.Write(wav, Tone.Samples(Tone.FirstAgent, 0, 120 * Tone.SampleRate));
        File.WriteAllText(Path.Combine(directory, "config"), string.Create(CultureInfo.InvariantCulture, $"""
            poll_method		epoll
            sip_listen		127.0.0.1:{port}
            net_interface		127.0.0.1
            audio_player		aubridge,lineup-null
            audio_alert		aubridge,lineup-null
            audio_source		aufile,{wav}
            ausrc_srate		8000
            ausrc_channels		1
            rtp_ports		10000-19999
            rtp_timeout		0
            module_path		{ModuleDirectory}
            module			g711.so
            module			aufile.so
            module			aubridge.so
            module			sndfile.so
            snd_path		{directory}
            module_app		account.so
            {(srtpMandatory ? "module\t\t\tsrtp.so" : "")}
            {(tlsCaFile is null ? "" : "sip_cafile\t\t" + tlsCaFile)}

            """));
        // The user part of the AOR is the agent's number (Lineup's SIP user); the auth user defaults to it.
        var transport = tlsCaFile is null ? "udp" : "tls";
        var media = srtpMandatory ? ";mediaenc=srtp-mand" : "";
        File.WriteAllText(Path.Combine(directory, "accounts"),
            $"<sip:{agent.Number}@{registrar};transport={transport}>;auth_pass={agent.Password};answermode=auto;regint=3600{media}\n");

        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in new[] { "-4", "-s", "-f", directory }) start.ArgumentList.Add(a); // -s: SIP trace in the output
        start.Environment["HOME"] = directory; // nothing from the user's ~/.baresip
        var process = new Process { StartInfo = start };
        var baresip = new Baresip(process, directory, port);
        process.OutputDataReceived += (_, e) => baresip.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => baresip.Keep(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return baresip;
    }

    /// <summary>
    /// Waits until the agent has a registered contact that <paramref name="contact"/> accepts (an entry of
    /// <c>GET /api/v1/sip/registrations</c>), then a sipp caller with an <see cref="RtpProbe"/> sending the caller's
    /// tone calls the queue for 8 s and hangs up. Checks that this agent answered, that each side heard the other's
    /// tone (baresip plays the agent's, and dumps what it decodes), and that the talk time matches what was heard.
    /// </summary>
    public async Task AnswerQueueCallAsync(SipServerFixture server, SipQueue queue, SipAgent agent, ITestOutputHelper output,
        Func<JsonElement, bool> contact)
    {
        try
        {
            await WaitForRegistrationAsync(server, agent, output, contact);
            await using var callerMedia = new RtpProbe(Tone.Caller);
            await using var caller = await server.CallAsync(queue, "caller.xml", callerMedia, new() { ["talk_ms"] = "8000" });
            (await caller.WaitAsync()).AssertSucceeded(); // INVITE, 200, ACK, 8 s, BYE, 200

            var cdr = await server.CdrAsync(queue);
            Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
            Assert.Equal(agent.Id, cdr.GetProperty("agent_id").GetInt64());
            // The caller's BYE ended the call: Lineup hung up baresip's leg (BYE, which baresip answered 200), and
            // baresip closed its dump of what it heard.
            await WaitForOutputAsync("terminated", TimeSpan.FromSeconds(60));
            var heard = Hearing.Hears(callerMedia, "the caller", Tone.FirstAgent);
            Hearing.Hears(await HeardAsync(), "baresip", Tone.Caller);
            var talk = cdr.GetProperty("talk_seconds").GetDouble();
            output.WriteLine($"talk_seconds {talk.ToString("F2", CultureInfo.InvariantCulture)}, the caller heard baresip for {heard.TotalSeconds:F2} s");
            Assert.InRange(talk, heard.TotalSeconds - 2.5, heard.TotalSeconds + 2.5); // as SipEndToEndTests.AssertTalkTime
        }
        catch
        {
            output.WriteLine($"--- baresip (pid {Pid}) ---\n{Output}");
            throw;
        }
    }

    private async Task WaitForRegistrationAsync(SipServerFixture server, SipAgent agent, ITestOutputHelper output, Func<JsonElement, bool> contact)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(HasExited, $"baresip exited before registering.\n{Output}");
            using var response = await server.Api.GetAsync(new Uri("/api/v1/sip/registrations", UriKind.Relative));
            last = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(last);
            if (doc.RootElement.EnumerateArray().Where(r => r.GetProperty("agent_id").GetInt64() == agent.Id)
                .SelectMany(r => r.GetProperty("contacts").EnumerateArray()).Any(contact))
            {
                output.WriteLine($"registered after {clock.Elapsed.TotalSeconds:F1} s: {last}");
                return;
            }
            await Task.Delay(250);
        }
        Assert.Fail($"baresip's contact did not appear in /api/v1/sip/registrations within 60 s: {last}\n{Output}");
    }

    public ValueTask DisposeAsync()
    {
        if (_disposed) return ValueTask.CompletedTask;
        _disposed = true;
        ExternalTool.Stop(_process, Directory);
        return ValueTask.CompletedTask;
    }

    /// <summary>What baresip decoded from the call (the sndfile module's <c>dump-*-dec.wav</c>), as samples.</summary>
    public async Task<int[]> HeardAsync()
    {
        var dumps = System.IO.Directory.GetFiles(Directory, "dump-*-dec.wav");
        Assert.True(dumps.Length == 1, $"baresip wrote {dumps.Length} decoded-audio dumps in {Directory}: {string.Join(", ", System.IO.Directory.GetFiles(Directory))}");
        return Tone.ReadWav(await File.ReadAllBytesAsync(dumps[0]));
    }

    private void Keep(string? line) => ExternalTool.Keep(_output, line, KeptOutputChars);
}
