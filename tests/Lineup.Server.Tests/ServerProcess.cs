using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Lineup.Server.Tests;

/// <summary>
/// The real server, started the way the README tells a user to: <c>dotnet run --project src/Lineup.Server</c> from
/// the repository root (with <c>--no-build</c> and the configuration the tests were built in), on a free port of
/// 127.0.0.1, with its own data directory and, optionally, a PostgreSQL connection string. <see cref="Kill"/> sends
/// SIGKILL to the whole process tree (<c>dotnet run</c> and the server it spawned); disposing kills whatever is left.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    public const string AdminPassword = "e2e-admin-password-1";
    private const int KeptOutputLines = 400;

    private readonly Process _process;
    private readonly Queue<string> _output = new();
    private readonly HashSet<int> _known = new();

    private ServerProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    /// <summary>The folder holding Lineup.slnx, found by walking up from the test assembly.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The build configuration of the test assembly (bin/&lt;Configuration&gt;/net10.0), which built the server too.</summary>
    public static string Configuration { get; } = FindConfiguration();

    public Uri BaseAddress { get; }

    /// <summary>The pid of <c>dotnet run</c>.</summary>
    public int Pid => _process.Id;

    /// <summary>The processes <c>dotnet run</c> had started when the server became ready (the server itself).</summary>
    public IReadOnlyCollection<int> ChildPids => _known;

    /// <summary>The last lines the server printed (stdout and stderr), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output) return string.Join('\n', _output);
        }
    }

    /// <summary>Starts the server and waits until <c>/readyz</c> answers 200. <paramref name="extraArguments"/> go to
    /// the server after the others (e.g. <c>--Webhooks:AllowedNetworks=127.0.0.1</c>). <paramref name="host"/> is the
    /// loopback address it listens on (127.0.0.2 and up need no set-up on Linux: a cluster's nodes use them).</summary>
    public static Task<ServerProcess> StartAsync(string dataDir, string? database = null, IEnumerable<string>? extraArguments = null,
        string host = "127.0.0.1") =>
        StartAsync(new Start { DataDir = dataDir, Database = database, Arguments = [.. extraArguments ?? []], Host = host });

    /// <summary>How to start the server: <c>--data-dir</c> is passed only when <see cref="DataDir"/> is set, and
    /// <c>dotnet run</c> runs in <see cref="WorkingDirectory"/> (the repository root by default).</summary>
    public sealed record Start
    {
        public string? DataDir { get; init; }
        public string? Database { get; init; }
        public IReadOnlyList<string> Arguments { get; init; } = [];
        public string? WorkingDirectory { get; init; }
        /// <summary>The address it listens on.</summary>
        public string Host { get; init; } = "127.0.0.1";
        /// <summary>LINEUP_ADMIN_PASSWORD; null: not set at all.</summary>
        public string? AdminPassword { get; init; } = ServerProcess.AdminPassword;
    }

    /// <summary>Starts the server as <paramref name="how"/> says and waits until <c>/readyz</c> answers 200.</summary>
    public static async Task<ServerProcess> StartAsync(Start how)
    {
        ArgumentNullException.ThrowIfNull(how);
        var port = FreePort();
        var url = string.Create(CultureInfo.InvariantCulture, $"http://{how.Host}:{port}");
        List<string> args = ["--urls", url];
        if (how.DataDir != null) args.AddRange(["--data-dir", how.DataDir]);
        if (how.Database != null) args.AddRange(["--db", how.Database]);
        args.AddRange(how.Arguments);
        var start = StartInfo(args, how.WorkingDirectory, how.AdminPassword);
        start.RedirectStandardInput = true;
        var process = new Process { StartInfo = start };
        var server = new ServerProcess(process, new Uri(url));
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitReadyAsync(TimeSpan.FromMinutes(3));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary><c>dotnet run --project src/Lineup.Server --no-build -c &lt;Configuration&gt; -- ARGS</c> in
    /// <paramref name="workingDirectory"/> (default: the repository root), with nothing from the tests' environment
    /// pointing it elsewhere.</summary>
    private static ProcessStartInfo StartInfo(IEnumerable<string> serverArguments, string? workingDirectory, string? adminPassword)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory ?? RepositoryRoot,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var project = workingDirectory == null ? "src/Lineup.Server" : Path.Combine(RepositoryRoot, "src", "Lineup.Server");
        foreach (var a in new[] { "run", "--project", project, "--no-build", "-c", Configuration, "--" }.Concat(serverArguments))
            start.ArgumentList.Add(a);
        // Only what the command line says: nothing from the environment the tests run in may point it elsewhere.
        foreach (var name in new[] { "LINEUP_DB", "LINEUP_DATA_DIR", "LINEUP_ADMIN_PASSWORD", "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS" })
            start.Environment.Remove(name);
        if (adminPassword != null) start.Environment["LINEUP_ADMIN_PASSWORD"] = adminPassword;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        return start;
    }

    /// <summary>Runs the server with <paramref name="serverArguments"/> until it exits by itself (for options that print
    /// and exit, or stop start-up), killing it after <paramref name="limit"/>.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunToExitAsync(IEnumerable<string> serverArguments, TimeSpan limit,
        string? workingDirectory = null, string? adminPassword = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = StartInfo(serverArguments, workingDirectory, adminPassword);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The server still ran after {limit.TotalSeconds} s:\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A client for this server with a generous per-request timeout.</summary>
    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>SIGKILL to the server and to <c>dotnet run</c> (the server first, so it dies with its work in flight), then
    /// waits until none of them runs any more.</summary>
    public void Kill()
    {
        var tree = Descendants(_process.Id);
        // The server seen at start-up too, in case dotnet run is gone and the server was handed to init.
        tree.AddRange(_known.Where(pid => !tree.Contains(pid) && IsRunning(pid)));
        tree.Reverse(); // deepest first: the server itself before the dotnet run that waits for it
        foreach (var pid in tree) SigKill(pid);
        SigKill(_process.Id);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            var running = tree.Where(IsRunning).ToList();
            if (running.Count == 0 && _process.WaitForExit(100)) return;
            foreach (var pid in running) SigKill(pid);
            Thread.Sleep(50);
        }
        throw new InvalidOperationException($"Processes still running 30 s after SIGKILL: {string.Join(", ", tree.Where(IsRunning))}");
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited || Descendants(_process.Id).Count > 0 || _known.Any(IsRunning)) Kill();
        }
        catch (InvalidOperationException)
        {
            // never started
        }
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Keep(string? line)
    {
        if (line == null) return;
        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > KeptOutputLines) _output.Dequeue();
        }
    }

    private async Task WaitReadyAsync(TimeSpan limit)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (_process.HasExited)
            {
                // Waits until its redirected output has been read to the end: the reason it exited is in the last lines.
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"The server exited with code {_process.ExitCode} before it was ready:\n{Output}");
            }
            try
            {
                using var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    _known.UnionWith(Descendants(_process.Id));
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException)
            {
                // busy starting
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"The server was not ready within {limit.TotalSeconds} s:\n{Output}");
    }

    private static string DotnetHost()
    {
        // dotnet test tells its children which host runs it; use the same SDK.
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Lineup.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"No Lineup.slnx above {AppContext.BaseDirectory}.");
    }

    private static string FindConfiguration()
    {
        var parts = AppContext.BaseDirectory.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var bin = Array.LastIndexOf(parts, "bin");
        if (bin < 0 || bin + 1 >= parts.Length)
            throw new InvalidOperationException($"Cannot tell the build configuration from {AppContext.BaseDirectory} (expected .../bin/<Configuration>/...).");
        return parts[bin + 1];
    }

    /// <summary>Every process below <paramref name="root"/>, parents before children, read from /proc.</summary>
    private static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            if (ParentOf(pid) is not { } parent) continue;
            if (!parents.TryGetValue(parent, out var children)) parents[parent] = children = new List<int>();
            children.Add(pid);
        }
        var result = new List<int>();
        var pending = new Queue<int>([root]);
        while (pending.Count > 0)
        {
            if (!parents.TryGetValue(pending.Dequeue(), out var children)) continue;
            foreach (var child in children)
            {
                if (result.Contains(child)) continue;
                result.Add(child);
                pending.Enqueue(child);
            }
        }
        return result;
    }

    /// <summary>/proc/PID/stat is "pid (comm) state ppid ..."; comm may hold spaces and parentheses.</summary>
    private static (char State, int Parent)? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (rest[0][0], int.Parse(rest[1], CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int? ParentOf(int pid) => Stat(pid)?.Parent;

    /// <summary>Alive and not a zombie waiting to be reaped.</summary>
    private static bool IsRunning(int pid) => Stat(pid) is { } s && s.State != 'Z' && s.State != 'X';

    private static void SigKill(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            p.Kill(); // SIGKILL on Linux
        }
        catch (ArgumentException)
        {
            // already gone
        }
        catch (InvalidOperationException)
        {
            // exited meanwhile
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // exited meanwhile
        }
    }
}
