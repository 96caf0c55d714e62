using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Lineup.Server.Tests.Telephony;

/// <summary>What to run: one of our scenarios (Telephony/Scenarios/*.xml) with its keywords.</summary>
public sealed record SippOptions(string Scenario)
{
    /// <summary>The peer (<c>host:port</c>) for a UAC scenario; null for a UAS that waits for requests.</summary>
    public string? Remote { get; init; }

    /// <summary>The SIP port to listen on; 0 picks a free one before sipp starts (see <see cref="Sipp.Port"/>).</summary>
    public int Port { get; init; }

    /// <summary>The media port (-mp; sipp binds it and the one 2 above); 0 picks a free even pair.</summary>
    public int MediaPort { get; init; }

    /// <summary>-rtp_echo: send back every RTP packet received on the media port.</summary>
    public bool RtpEcho { get; init; }

    /// <summary>-m: the process ends after this many calls.</summary>
    public int Calls { get; init; } = 1;

    /// <summary>-r: calls per second (UAC); null keeps sipp's default of 10.</summary>
    public double? Rate { get; init; }

    /// <summary>-l: the most simultaneous calls; null keeps sipp's default.</summary>
    public int? Limit { get; init; }

    /// <summary>-timeout with -timeout_error: sipp fails when it has not finished by then.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>-s: the [service] user (a queue's extension for the caller scenarios).</summary>
    public string? Service { get; init; }

    /// <summary>-au / -ap: digest credentials for [authentication].</summary>
    public string? AuthUser { get; init; }

    public string? AuthPassword { get; init; }

    /// <summary>-key NAME VALUE for every entry: the scenario's own keywords ([ring_ms], [rtp_port], ...).</summary>
    public IReadOnlyDictionary<string, string> Keys { get; init; } = new Dictionary<string, string>();

    /// <summary>-set NAME VALUE: global variables.</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();

    /// <summary>Lines for an -inf CSV file ([field0], [field1], ...); the first line is written as SEQUENTIAL.</summary>
    public IReadOnlyList<string>? CsvLines { get; init; }

    /// <summary>Files the scenario plays from its working directory and the file each is a link to; by default
    /// agent.pcap and caller.pcap are g711a.pcap and dtmf.pcap is dtmf_2833_1.pcap.</summary>
    public IReadOnlyDictionary<string, string> Links { get; init; } = new Dictionary<string, string>();

    /// <summary>More arguments, as they are.</summary>
    public IReadOnlyList<string> Extra { get; init; } = [];
}

/// <summary>The outcome of one sipp process.</summary>
public sealed record SippResult(string Name, int ExitCode, string Output, string Errors)
{
    /// <summary>sipp exits 0 when every call succeeded, 1 when one failed, 97 when told to stop, 99 when it ended
    /// with no call at all, 255/254 on a fatal error.</summary>
    public bool Succeeded => ExitCode == 0;

    public string Describe() => $"sipp {Name} exited with {ExitCode}.\n--- errors log ---\n{Errors}\n--- last output ---\n{Output}";

    public void AssertSucceeded() => Assert.True(Succeeded, Describe());
}

/// <summary>
/// One sipp process on 127.0.0.1 running one of our scenarios, in a temporary working directory (which holds its
/// -inf file, its pcap links and its -trace_err log). <see cref="DisposeAsync"/> kills it by pid if it still runs and
/// removes the directory. A missing sipp fails the test with the command that installs it: the SIP end-to-end tests
/// never skip.
/// </summary>
public sealed class Sipp : IAsyncDisposable
{
    private const int KeptOutputChars = 16_000;

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _name;
    private bool _disposed;

    private Sipp(Process process, string name, string workDirectory, int port, int mediaPort)
    {
        _process = process;
        _name = name;
        WorkDirectory = workDirectory;
        Port = port;
        MediaPort = mediaPort;
    }

    /// <summary>The folder of our scenarios in the repository.</summary>
    public static string ScenarioDirectory { get; } =
        Path.Combine(ServerProcess.RepositoryRoot, "tests", "Lineup.Server.Tests", "Telephony", "Scenarios");

    /// <summary>Debian's sip-tester pcaps: g711a.pcap and dtmf_2833_0..9, _star, _pound.</summary>
    public static string PcapDirectory { get; } = Environment.GetEnvironmentVariable("SIPP_PCAPS") ?? "/usr/share/sip-tester";

    /// <summary>The sipp executable, or a failed assertion saying how to install it.</summary>
    public static string Executable => ExternalTool.Find("sipp",
        "sipp is not installed: the SIP end-to-end tests need it (Debian/Ubuntu: apt-get install -y sip-tester; .ci/run installs it).");

    public int Port { get; }

    public int MediaPort { get; }

    public string WorkDirectory { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts sipp; for a UAS, returns once its SIP port is bound (so a request sent next reaches it).</summary>
    public static async Task<Sipp> StartAsync(SippOptions options)
    {
        var executable = Executable;
        var scenario = Path.IsPathRooted(options.Scenario) ? options.Scenario : Path.Combine(ScenarioDirectory, options.Scenario);
        Assert.True(File.Exists(scenario), $"No scenario {scenario}.");
        var name = Path.GetFileNameWithoutExtension(scenario);
        var work = Directory.CreateTempSubdirectory("lineup-sipp-").FullName;
        // sipp loads every pcap a scenario names when it starts (even under a condexec that stays off), so each of
        // ours is always there: g711a.pcap for the audio, the key 1 for DTMF, unless the options say otherwise.
        var links = new Dictionary<string, string>
        {
            ["agent.pcap"] = Path.Combine(PcapDirectory, "g711a.pcap"),
            ["caller.pcap"] = Path.Combine(PcapDirectory, "g711a.pcap"),
            ["dtmf.pcap"] = Path.Combine(PcapDirectory, "dtmf_2833_1.pcap"),
        };
        foreach (var (link, target) in options.Links) links[link] = target;
        foreach (var (link, target) in links)
        {
            Assert.True(File.Exists(target), $"{target} is missing (Debian's sip-tester ships the pcaps in {PcapDirectory}).");
            File.CreateSymbolicLink(Path.Combine(work, link), target);
        }

        // The ports are picked free here but bound by sipp a moment later: a parallel test can take one first, and
        // sipp then exits at once saying so (errno 98). Ports sipp picked for itself are picked again.
        for (var attempt = 1; ; attempt++)
        {
            var port = options.Port != 0 ? options.Port : FreeUdpPort();
            var media = options.MediaPort != 0 ? options.MediaPort : FreeMediaPorts();
            var sipp = await LaunchAsync(executable, scenario, name, work, port, media, options);
            if (options.Port != 0 && options.MediaPort != 0 || attempt == 5 || !await sipp.LostPortRaceAsync())
            {
                if (options.Remote == null) await sipp.WaitBoundAsync(TimeSpan.FromSeconds(10));
                return sipp;
            }
            await sipp.DisposeAsync();
            work = Directory.CreateTempSubdirectory("lineup-sipp-").FullName;
            foreach (var (link, target) in links) File.CreateSymbolicLink(Path.Combine(work, link), target);
        }
    }

    private static async Task<Sipp> LaunchAsync(string executable, string scenario, string name, string work, int port, int media, SippOptions options)
    {
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = work,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        var a = start.ArgumentList;
        void Add(params string[] values)
        {
            foreach (var v in values) a.Add(v);
        }
        Add("-sf", scenario, "-i", "127.0.0.1", "-p", Num(port), "-mi", "127.0.0.1", "-mp", Num(media));
        Add("-m", Num(options.Calls), "-nostdin", "-trace_err", "-error_file", Path.Combine(work, "errors.log"));
        Add("-timeout", Num((int)Math.Ceiling(options.Timeout.TotalSeconds)) + "s", "-timeout_error");
        if (options.RtpEcho) Add("-rtp_echo");
        if (options.Rate is { } rate) Add("-r", rate.ToString(CultureInfo.InvariantCulture));
        if (options.Limit is { } limit) Add("-l", Num(limit));
        if (options.Service != null) Add("-s", options.Service);
        if (options.AuthUser != null) Add("-au", options.AuthUser);
        if (options.AuthPassword != null) Add("-ap", options.AuthPassword);
        foreach (var (k, v) in options.Keys) Add("-key", k, v);
        foreach (var (k, v) in options.Variables) Add("-set", k, v);
        if (options.CsvLines != null)
        {
            var csv = Path.Combine(work, "fields.csv");
            await File.WriteAllLinesAsync(csv, ["SEQUENTIAL", .. options.CsvLines]);
            Add("-inf", csv);
        }
        foreach (var e in options.Extra) Add(e);
        if (options.Remote != null) Add(options.Remote);

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var sipp = new Sipp(process, name, work, port, media);
        process.OutputDataReceived += (_, e) => sipp.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => sipp.Keep(e.Data);
        process.Exited += (_, _) => sipp._exited.TrySetResult();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return sipp;
    }

    /// <summary>Waits for sipp to end (it ends by itself after -m calls or at -timeout) and returns its outcome.</summary>
    public async Task<SippResult> WaitAsync(TimeSpan? limit = null)
    {
        var wait = limit ?? TimeSpan.FromMinutes(2);
        if (await Task.WhenAny(_exited.Task, Task.Delay(wait)) != _exited.Task)
            Assert.Fail($"sipp {_name} (pid {Pid}) still runs after {wait.TotalSeconds} s.\n{Output}");
        _process.WaitForExit(); // drains the output handlers
        return new SippResult(_name, _process.ExitCode, Output, ErrorsLog());
    }

    /// <summary>Where the other side's SDP, in the INVITE this UAS scenario answered, asks for media: the agent and
    /// outside-number scenarios write it to <c>remote-media.txt</c> ("ip:port", from its c= and m= lines) when run
    /// with <c>-key report_media 1</c>. Waits until it is there (or <paramref name="cancellationToken"/> is cancelled).</summary>
    public async Task<IPEndPoint> RemoteMediaAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(WorkDirectory, "remote-media.txt");
        while (true)
        {
            try
            {
                if (File.Exists(path) && IPEndPoint.TryParse((await File.ReadAllTextAsync(path, cancellationToken)).Trim(), out var media) && media.Port > 0)
                    return media;
            }
            catch (IOException)
            {
                // being written, or the work directory is gone with the process: look again or be cancelled
            }
            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>The last output of sipp (its screens and messages).</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public ValueTask DisposeAsync()
    {
        if (_disposed) return ValueTask.CompletedTask;
        _disposed = true;
        ExternalTool.Stop(_process, WorkDirectory);
        return ValueTask.CompletedTask;
    }

    /// <summary>A UDP port of 127.0.0.1 free right now.</summary>
    public static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>A port of 127.0.0.1 free right now for both UDP and TCP: Lineup's SIP listens on both.</summary>
    public static int FreeSipPort()
    {
        for (var attempt = 0; ; attempt++)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException) when (attempt < 200)
            {
            }
        }
    }

    /// <summary>An even UDP port P with P and P + 2 free (sipp binds both for -mp).</summary>
    public static int FreeMediaPorts()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var p = FreeUdpPort() & ~1;
            if (p + 2 > 65535) continue;
            using var a = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            using var b = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                a.Bind(new IPEndPoint(IPAddress.Loopback, p));
                b.Bind(new IPEndPoint(IPAddress.Loopback, p + 2));
                return p;
            }
            catch (SocketException)
            {
                // taken; try another
            }
        }
        throw new InvalidOperationException("No free even UDP port pair on 127.0.0.1.");
    }

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);

    private string ErrorsLog()
    {
        var path = Path.Combine(WorkDirectory, "errors.log");
        var text = File.Exists(path) ? File.ReadAllText(path) : "";
        // sipp 3.6.1 logs a harmless note for every pcap it finds in the working directory rather than next to the scenario.
        return string.Join('\n', text.Split('\n').Where(l => !l.Contains("prefers looking for pcap files", StringComparison.Ordinal)));
    }

    private void Keep(string? line) => ExternalTool.Keep(_output, line, KeptOutputChars);

    /// <summary>Until sipp holds its SIP port and both media ports (sipp binds them all as it starts): false then,
    /// or true when it exited first because one of them was taken meanwhile.</summary>
    private async Task<bool> LostPortRaceAsync()
    {
        string[] bound = [.. new[] { Port, MediaPort, MediaPort + 2 }.Select(p => "0100007F:" + p.ToString("X4", CultureInfo.InvariantCulture) + " ")];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            if (_process.HasExited)
            {
                _process.WaitForExit(); // drains the output handlers
                return (Output + ErrorsLog()).Contains("Address already in use", StringComparison.Ordinal);
            }
            var udp = File.ReadAllText("/proc/net/udp");
            if (bound.All(b => udp.Contains(b, StringComparison.Ordinal))) return false;
            await Task.Delay(10);
        }
        return false;
    }

    /// <summary>Until the SIP port is bound (read from /proc/net/udp) or sipp has exited.</summary>
    private async Task WaitBoundAsync(TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        var hex = ":" + Port.ToString("X4", CultureInfo.InvariantCulture) + " ";
        while (clock.Elapsed < limit)
        {
            if (_process.HasExited) Assert.Fail($"sipp {_name} exited with {_process.ExitCode} at start.\n{ErrorsLog()}\n{Output}");
            if (File.ReadLines("/proc/net/udp").Any(l => l.Contains("0100007F" + hex, StringComparison.Ordinal))) return;
            await Task.Delay(20);
        }
        Assert.Fail($"sipp {_name} did not bind 127.0.0.1:{Port} within {limit.TotalSeconds} s.\n{Output}");
    }
}
