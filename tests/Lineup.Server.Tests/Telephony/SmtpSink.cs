using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MimeKit;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// A local SMTP server that keeps what it receives: Debian's python3-aiosmtpd (<c>python3 -m aiosmtpd</c> with its
/// Maildir handler) on a free 127.0.0.1 port, started by the test and killed by pid. Without the package the test
/// fails saying how to install it (.ci/run installs it). With <see cref="SmtpSinkSecurity"/>, a submission server as
/// a provider runs one: STARTTLS with the given certificate required before anything else, then AUTH (one mechanism)
/// required before MAIL; each AUTH attempt is printed to its output (<see cref="Output"/>).
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly Process _process;
    private readonly string _dir;
    private readonly StringBuilder _output = new();

    private SmtpSink(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    /// <summary>What the sink printed (with security: one "AUTH &lt;mechanism&gt; &lt;user&gt; accepted|refused tls=True|False"
    /// line per attempt).</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <summary>aiosmtpd's server requiring STARTTLS, then AUTH with one mechanism (the other excluded).</summary>
    private const string SecureServer = """
        import signal, ssl, sys
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Mailbox
        from aiosmtpd.smtp import AuthResult, LoginPassword
        host, port, maildir, cert, key, user, password, mechanism = sys.argv[1:9]
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)
        def authenticate(server, session, envelope, used, data):
            ok = isinstance(data, LoginPassword) and data.login.decode() == user and data.password.decode() == password
            login = data.login.decode() if isinstance(data, LoginPassword) else "?"
            print(f"AUTH {used} {login} {'accepted' if ok else 'refused'} tls={session.ssl is not None}", flush=True)
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself
        other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[mechanism]
        controller = Controller(Mailbox(maildir), hostname=host, port=int(port), tls_context=tls, require_starttls=True,
                                auth_required=True, auth_require_tls=True, authenticator=authenticate, auth_exclude_mechanism=[other])
        controller.start()
        print("ready", flush=True)
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
        controller.stop()
        """;

    public static async Task<SmtpSink> StartAsync(SmtpSinkSecurity? security = null)
    {
        const string missing = "python3-aiosmtpd is missing: apt-get install -y python3-aiosmtpd (.ci/run installs it)";
        if (!File.Exists(Python)) Assert.Fail(missing);
        using (var check = Process.Start(new ProcessStartInfo(Python, ["-c", "import aiosmtpd"]) { RedirectStandardError = true })!)
        {
            await check.WaitForExitAsync();
            if (check.ExitCode != 0) Assert.Fail(missing);
        }
        var dir = Path.Combine(Path.GetTempPath(), "lineup-smtp-" + Guid.NewGuid().ToString("N"));
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        string[] arguments = ["-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", dir];
        if (security is { } s)
        {
            // The Maildir made here (Mailbox makes one only where there is no folder), the script beside its folders.
            foreach (var folder in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(dir, folder));
            var script = Path.Combine(dir, "server.py");
            await File.WriteAllTextAsync(script, SecureServer);
            arguments = [script, "127.0.0.1", $"{port}", dir, s.CertificateFile, s.KeyFile, s.Username, s.Password, s.Mechanism];
        }
        var info = new ProcessStartInfo(Python, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(info)!;
        var sink = new SmtpSink(process, dir, port);
        process.OutputDataReceived += (_, e) => ExternalTool.Keep(sink._output, e.Data, 4000);
        process.ErrorDataReceived += (_, e) => ExternalTool.Keep(sink._output, e.Data, 4000);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return sink;
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(15) && !process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (SocketException)
            {
                await sink.DisposeAsync();
                Assert.Fail($"the SMTP sink did not start on 127.0.0.1:{port}: {sink._output}");
            }
        }
    }

    /// <summary>The messages received so far.</summary>
    public IReadOnlyList<MimeMessage> Messages()
    {
        var inbox = Path.Combine(_dir, "new");
        return Directory.Exists(inbox) ? [.. Directory.GetFiles(inbox).Order(StringComparer.Ordinal).Select(f => MimeMessage.Load(f))] : [];
    }

    /// <summary>Waits (up to <paramref name="seconds"/>) for a message that <paramref name="match"/> accepts.</summary>
    public async Task<MimeMessage> WaitForAsync(Func<MimeMessage, bool> match, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            if (Messages().FirstOrDefault(match) is { } found) return found;
            await Task.Delay(200);
        }
        Assert.Fail($"no matching e-mail reached the SMTP sink in {seconds} s ({Messages().Count} others); its output: {_output}");
        return null!;
    }

    public ValueTask DisposeAsync()
    {
        ExternalTool.Stop(_process, _dir);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A sink that requires STARTTLS with this certificate, then AUTH <paramref name="Mechanism"/> (LOGIN or PLAIN)
/// as this user.</summary>
public sealed record SmtpSinkSecurity(string CertificateFile, string KeyFile, string Username, string Password, string Mechanism);
