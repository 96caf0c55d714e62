using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MimeKit;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// A local SMTP server that keeps what it receives: Debian's python3-aiosmtpd (<c>python3 -m aiosmtpd</c> with its
/// Maildir handler) on a free 127.0.0.1 port, started by the test and killed by pid. Without the package the test
/// fails saying how to install it (.ci/run installs it).
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

    public static async Task<SmtpSink> StartAsync()
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
        var info = new ProcessStartInfo(Python, ["-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", dir])
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
