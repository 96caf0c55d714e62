using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Lineup.Engine;
using Lineup.Engine.Snapshots;

namespace Lineup.Bench;

/// <summary>
/// Snapshot cost for a big tenant, and why start-up from a snapshot does not grow with history. A deterministic
/// driver (<see cref="SnapshotTenant"/>) runs a tenant of 50 queues and 1,000 agents (each in 3 queues) at about 2,000
/// calls in progress for a given number of commands; then the harness measures taking the snapshot (capture, JSON),
/// its size (raw, gzip, Brotli), the capture alone (what a host does in the tenant's turn), and reading it back (JSON, restore), each the median and the maximum of several
/// runs. Against it stands replaying the same history from the first command (the only way to start today), for
/// histories of growing length. Run: <c>dotnet run -c Release --project bench/Lineup.Bench -- --snapshot
/// [--history 100000,1000000,10000000] [--runs 15]</c>.
/// </summary>
internal static class SnapshotHarness
{
    public static void Run(string[] args)
    {
        var histories = Arg(args, "--history", "100000,1000000").Split(',').Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var runs = int.Parse(Arg(args, "--runs", "15"), CultureInfo.InvariantCulture);
        Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {runs} runs per figure (median / max)");
        Console.WriteLine("| commands of history | queues / agents / calls / timers | JSON | gzip | Brotli | capture | capture + JSON | JSON read + restore | replay from the start |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var history in histories)
        {
            var replay = Stopwatch.StartNew();
            var tenant = new SnapshotTenant();
            tenant.Run(history);
            replay.Stop();
            var engine = tenant.Engine;
            var options = engine.Options;

            byte[] json = [];
            var capture = Measure(runs, () => engine.Capture());
            var write = Measure(runs, () => json = engine.Capture().ToUtf8Json());
            var read = Measure(runs, () => CallCenter.Restore(EngineSnapshot.FromUtf8Json(json), options));
            var restored = CallCenter.Restore(EngineSnapshot.FromUtf8Json(json), options);
            if (!restored.Capture().ToUtf8Json().AsSpan().SequenceEqual(json)) throw new InvalidOperationException("the restored snapshot differs");
            var s = engine.Capture();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {history:N0} | {s.Queues.Count} / {s.Agents.Count} / {s.Calls.Count} / {s.Timers.Count} | {Kb(json.Length)} | {Kb(Gzip(json))} | {Kb(Brotli(json))} " +
                $"| {capture.Median:F1} / {capture.Max:F1} ms | {write.Median:F1} / {write.Max:F1} ms | {read.Median:F1} / {read.Max:F1} ms | {replay.Elapsed.TotalSeconds:F1} s |"));
        }
    }

    private static (double Median, double Max) Measure(int runs, Action action)
    {
        action();
        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return (times[runs / 2], times[^1]);
    }

    private static string Kb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:N0} KiB");

    private static long Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(data);
        return output.Length;
    }

    private static long Brotli(byte[] data)
    {
        using var output = new MemoryStream();
        using (var brotli = new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true)) brotli.Write(data);
        return output.Length;
    }

    private static string Arg(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}

/// <summary>
/// A busy tenant driven deterministically: 50 queues (ring timeout 20 s, wrap-up 10 s, max wait 15 min to another
/// queue, announcements, sticky agents in one queue of five), 1,000 agents each in 3 queues, callers from a pool of
/// 100,000 numbers. Each step is one engine command 50 ms after the last: an agent answers (or now and then rejects)
/// an offer; otherwise a call arrives while fewer than 2,000 are in progress; otherwise a talking call or a waiting
/// caller hangs up; every 97th step an agent goes on or comes back from a break.
/// </summary>
internal sealed class SnapshotTenant
{
    private const int Queues = 50;
    private const int Agents = 1_000;
    private const int CallsInProgress = 2_000;
    private readonly Random _rng = new(5);
    private readonly List<(CallId Call, AgentId Agent)> _offers = new();
    private readonly List<CallId> _talking = new();
    private readonly HashSet<CallId> _waiting = new();
    private readonly List<CallId> _scratch = new();
    private long _now = BigTenant.Start;

    public SnapshotTenant()
    {
        Engine = new CallCenter(new EngineOptions { Seed = 9, CallIdBase = 3_000_000_000 });
        // Each queue's timeout goes to the next one, which must exist first: create them all, then set that.
        for (var pass = 0; pass < 2; pass++)
        {
            for (var q = 1; q <= Queues; q++)
            {
                Check(Engine.UpsertQueue(new QueueConfig
                {
                    Id = new QueueId(q),
                    Name = $"queue {q}",
                    Strategy = (Strategy)(q % 10),
                    RingTimeoutSeconds = 20,
                    WrapUpSeconds = 10,
                    MaxWaitSeconds = 900,
                    TimeoutDestination = pass == 0 ? Destination.Hangup : Destination.ToQueue(new QueueId(q % Queues + 1)),
                    PeriodicPrompt = "please-hold",
                    PeriodicAnnounceSeconds = 60,
                    PositionAnnouncement = PositionAnnouncement.Periodically,
                    PositionAnnounceSeconds = 45,
                    StickyAgentSeconds = q % 5 == 0 ? 3_600 : 0,
                }, _now));
            }
        }
        for (var a = 1; a <= Agents; a++)
        {
            var id = new AgentId(a);
            Check(Engine.UpsertAgent(new AgentConfig { Id = id, Name = $"agent {a}", Number = (1000 + a).ToString(CultureInfo.InvariantCulture) }, _now));
            for (var k = 0; k < 3; k++)
                Check(Engine.SetMember(new QueueId((a + k * 17) % Queues + 1), id, new MemberConfig { Position = a, Level = k }, _now));
            Check(Engine.Login(id, null, _now));
        }
        Drain();
    }

    public CallCenter Engine { get; }

    private static void Check(CommandResult result)
    {
        if (result != CommandResult.Ok) throw new InvalidOperationException($"setting up the tenant failed: {result}");
    }

    public void Run(long commands)
    {
        for (long i = 0; i < commands; i++)
        {
            _now += 50;
            if (i % 97 == 0)
            {
                var agent = new AgentId(_rng.Next(1, Agents + 1));
                if (Engine.TryGetAgent(agent, out var a) && a.Status == AgentStatus.NotReady) Engine.SetReady(agent, _now);
                else Engine.SetNotReady(agent, "break", _now);
            }
            else if (_offers.Count > 0)
            {
                var k = _rng.Next(_offers.Count);
                var (call, agent) = _offers[k];
                _offers[k] = _offers[^1];
                _offers.RemoveAt(_offers.Count - 1);
                if (_rng.Next(20) == 0) Engine.AgentRejected(call, agent, _now);
                else Engine.AgentAnswered(call, agent, _now);
            }
            else if (Engine.ActiveCalls.Count < CallsInProgress)
            {
                var caller = new CallerInfo("+1555" + _rng.Next(100_000).ToString("D6", CultureInfo.InvariantCulture));
                Engine.Enqueue(new QueueId(_rng.Next(1, Queues + 1)), caller, _now);
            }
            else if (_talking.Count > 0 && (_waiting.Count == 0 || _rng.Next(4) != 0))
            {
                var k = _rng.Next(_talking.Count);
                var call = _talking[k];
                _talking[k] = _talking[^1];
                _talking.RemoveAt(_talking.Count - 1);
                Engine.AgentHangup(call, _now);
            }
            else if (_waiting.Count > 0)
            {
                _scratch.Clear();
                _scratch.AddRange(_waiting.Take(16));
                Engine.CallerHangup(_scratch[_rng.Next(_scratch.Count)], _now);
            }
            else
            {
                Engine.Advance(_now);
            }
            Drain();
        }
        // The figures are only worth something for the tenant described above.
        if (Engine.Queues.Count != Queues || Engine.Agents.Count != Agents || (commands >= 10_000 && Engine.ActiveCalls.Count < CallsInProgress * 9 / 10))
            throw new InvalidOperationException($"the tenant drifted: {Engine.Queues.Count} queues, {Engine.Agents.Count} agents, {Engine.ActiveCalls.Count} calls");
    }

    /// <summary>Keeps the driver's view of offers, talking and waiting calls from the events.</summary>
    private void Drain()
    {
        foreach (ref readonly var e in Engine.PendingEvents)
        {
            switch (e.Kind)
            {
                case EventKind.CallQueued:
                    _waiting.Add(e.Call);
                    break;
                case EventKind.CallOffered:
                    _offers.Add((e.Call, e.Agent));
                    break;
                case EventKind.OfferEnded:
                    _offers.Remove((e.Call, e.Agent));
                    break;
                case EventKind.CallAnswered:
                    _waiting.Remove(e.Call);
                    _talking.Add(e.Call);
                    break;
                case EventKind.CallEnded:
                    _waiting.Remove(e.Call);
                    break;
                default:
                    break;
            }
        }
        Engine.ClearEvents();
    }
}
