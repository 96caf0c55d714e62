using System.Diagnostics;
using System.Globalization;
using System.Text;
using Lineup.Server.Tests.Telephony;

namespace Lineup.Server.Tests.Cluster;

/// <summary>
/// Kamailio (Debian's <c>kamailio</c>) running the shipped configuration, <c>deploy/kamailio/kamailio.cfg</c>, unchanged:
/// the listening address and the node list are the command-line defines the file documents. Runs in the foreground
/// in its own folder; disposing kills its process tree by pid.
/// </summary>
public sealed class Kamailio : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _output = new();

    private Kamailio(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public static string Config { get; } = Path.Combine(ServerProcess.RepositoryRoot, "deploy", "kamailio", "kamailio.cfg");

    public int Port { get; }

    public string Address => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <summary>Starts Kamailio in front of <paramref name="nodes"/> (each "ip:port" of a node's SIP) and waits until it
    /// answers an OPTIONS (its own keep-alive answer).</summary>
    public static async Task<Kamailio> StartAsync(IEnumerable<string> nodes)
    {
        var executable = ExternalTool.Find("kamailio",
            "kamailio is not installed: the cluster telephony tests need it (Debian/Ubuntu: apt-get install -y kamailio; .ci/run installs it).");
        var directory = Directory.CreateTempSubdirectory("lineup-kamailio-").FullName;
        var list = Path.Combine(directory, "nodes.list");
        await File.WriteAllLinesAsync(list, nodes.Select(n => $"1 sip:{n}"));
        var port = Sipp.FreeUdpPort();
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[]
        {
            "-DD", "-E", "-f", Config, "-Y", directory, "-P", Path.Combine(directory, "kamailio.pid"), "-m", "64", "-M", "8",
            "-A", $"LISTEN=udp:127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "-A", $"NODES=\"{list}\"",
        })
            start.ArgumentList.Add(a);
        var process = new Process { StartInfo = start };
        var kamailio = new Kamailio(process, directory, port);
        process.OutputDataReceived += (_, e) => ExternalTool.Keep(kamailio._output, e.Data, 64_000);
        process.ErrorDataReceived += (_, e) => ExternalTool.Keep(kamailio._output, e.Data, 64_000);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await kamailio.WaitAnsweringAsync();
        return kamailio;
    }

    private async Task WaitAnsweringAsync()
    {
        using var udp = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var local = (System.Net.IPEndPoint)udp.Client.LocalEndPoint!;
        var clock = Stopwatch.StartNew();
        for (var n = 1; clock.Elapsed < TimeSpan.FromSeconds(15); n++)
        {
            Assert.False(_process.HasExited, $"kamailio exited with {(_process.HasExited ? _process.ExitCode : 0)}:\n{Output}");
            var options = string.Create(CultureInfo.InvariantCulture,
                $"OPTIONS sip:127.0.0.1:{Port} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-probe{n}\r\nMax-Forwards: 70\r\n" +
                $"From: <sip:probe@127.0.0.1>;tag=p{n}\r\nTo: <sip:127.0.0.1:{Port}>\r\nCall-ID: probe-{n}@lineup\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n");
            await udp.SendAsync(Encoding.ASCII.GetBytes(options), new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, Port));
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            try
            {
                var answer = await udp.ReceiveAsync(wait.Token);
                if (Encoding.ASCII.GetString(answer.Buffer).StartsWith("SIP/2.0 200", StringComparison.Ordinal)) return;
            }
            catch (OperationCanceledException)
            {
                // not up yet
            }
        }
        Assert.Fail($"kamailio did not answer OPTIONS on {Address} within 15 s:\n{Output}");
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        return ValueTask.CompletedTask;
    }
}
