using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Lineup.Engine;

namespace Lineup.Bench;

/// <summary>
/// What BenchmarkDotNet cannot show: the distribution of single decisions. Each command is timed on its own with
/// <see cref="Stopwatch.GetTimestamp"/> (the timer's own cost is printed; it is not subtracted) and its
/// allocations read with <see cref="GC.GetAllocatedBytesForCurrentThread"/> outside the timed window. Same
/// tenant and same undo as the benchmarks. Run: <c>dotnet run -c Release --project bench/Lineup.Bench -- --latency</c>.
/// </summary>
internal static class LatencyHarness
{
    private static readonly List<string> Summary = [];

    private const string Header =
        "| measurement | samples | median | p90 | p99 | p99.9 | max | mean | allocated B/op (mean, max) |\n" +
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|";

    /// <summary>Runs the decision measurements, the mixed stream, or both (<paramref name="part"/> null).</summary>
    public static void Run(bool quick, string? part)
    {
        var rounds = quick ? 3 : 30;
        var arrivals = quick ? 10_000 : 200_000;
        Console.WriteLine($"{Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, " +
            $"{RuntimeInformation.OSDescription}, server GC {System.Runtime.GCSettings.IsServerGC}");
        Console.WriteLine($"Stopwatch frequency {Stopwatch.Frequency} Hz; empty timed window median " +
            $"{Format(TimerOverhead())}");
        Console.WriteLine();
        Console.WriteLine(Header);

        if (part == "routing") Routing(arrivals);
        else if (part != "mixed") Decisions(rounds, arrivals);
        if (part is not ("decisions" or "routing"))
        {
            Mixed(quick, ringAllQueue: true);
            Mixed(quick, ringAllQueue: false);
        }
        Console.WriteLine();
        foreach (var line in Summary) Console.WriteLine(line);
    }

    private static void Decisions(int rounds, int arrivals)
    {
        var sw = Stopwatch.StartNew();
        var tenant = new BigTenant();
        Console.Error.WriteLine($"big tenant built in {sw.Elapsed.TotalSeconds:F1} s");
        AgentReady(tenant, rounds);
        CallArrival(tenant, "LongestIdle", arrivals);
        tenant = null;
        GC.Collect();

        tenant = new BigTenant(Strategy.RingAll);
        CallArrival(tenant, "RingAll", arrivals / 4);
        tenant = null;
        GC.Collect();

        foreach (var free in (int[])[100, 1_000, 5_000]) OneBigQueue(free, arrivals / 10);
    }

    /// <summary>The decisions issue 17 targets, without the rest: ring-all over the big tenant's ~30 free agents
    /// and one serial queue with many free agents.</summary>
    private static void Routing(int arrivals)
    {
        var tenant = new BigTenant(Strategy.RingAll);
        CallArrival(tenant, "RingAll", arrivals / 4);
        tenant = null;
        GC.Collect();
        foreach (var free in (int[])[100, 1_000, 5_000]) OneBigQueue(free, arrivals / 10);
    }

    /// <summary>
    /// The serial strategies scan the queue's free members (<c>PickMember</c> is linear in them), so a decision
    /// costs more in one queue with thousands of idle agents than in the big tenant's queues of about 30.
    /// </summary>
    private static void OneBigQueue(int free, int count)
    {
        var engine = new CallCenter();
        var now = BigTenant.Start;
        var queue = new QueueId(1);
        engine.UpsertQueue(new QueueConfig { Id = queue, Strategy = Strategy.LongestIdle }, now);
        for (var a = 1; a <= free; a++)
        {
            engine.UpsertAgent(new AgentConfig { Id = new AgentId(a) }, now);
            engine.SetMember(queue, new AgentId(a), new MemberConfig { Position = a }, now);
            engine.Login(new AgentId(a), null, ++now);
        }
        engine.ClearEvents();
        var samples = new Sample[count];
        for (var i = -count / 10; i < count; i++)
        {
            var b0 = GC.GetAllocatedBytesForCurrentThread();
            var t0 = Stopwatch.GetTimestamp();
            var call = engine.Enqueue(queue, BigTenant.Caller, ++now).Call;
            var t1 = Stopwatch.GetTimestamp();
            var b1 = GC.GetAllocatedBytesForCurrentThread();
            if (!engine.TryGetCall(call, out var c) || c.ActiveOffers != 1) throw new InvalidOperationException("not offered");
            engine.CancelCall(call, ++now);
            engine.ClearEvents();
            if (i >= 0) samples[i] = new Sample(t1 - t0, b1 - b0);
            if (i == -1) Thread.Sleep(300);
        }
        Print($"(b) Enqueue → offered, one queue with {free:N0} free agents (LongestIdle)", samples);
    }

    private static void AgentReady(BigTenant tenant, int rounds)
    {
        var engine = tenant.Engine;
        var agents = tenant.BreakAgents;
        var samples = new Sample[rounds * agents.Length];
        // Warm-up rounds let the JIT reach its optimized code before anything is recorded.
        for (var r = -3; r < rounds; r++)
        {
            for (var i = 0; i < agents.Length; i++)
            {
                var now = tenant.Tick();
                var b0 = GC.GetAllocatedBytesForCurrentThread();
                var t0 = Stopwatch.GetTimestamp();
                engine.SetReady(agents[i], now);
                var t1 = Stopwatch.GetTimestamp();
                var b1 = GC.GetAllocatedBytesForCurrentThread();
                engine.ClearEvents();
                if (r >= 0) samples[r * agents.Length + i] = new Sample(t1 - t0, b1 - b0);
            }
            foreach (var id in agents)
            {
                if (!engine.TryGetAgent(id, out var agent) || agent.CurrentCall is not { } call
                    || !engine.TryGetCall(call, out var c))
                {
                    throw new InvalidOperationException($"agent {id} was not offered a call");
                }
                var queue = c.Queue!.Id;
                engine.SetNotReady(id, "BREAK", tenant.Tick());
                engine.CancelCall(call, tenant.Tick());
                engine.Enqueue(queue, BigTenant.Caller, tenant.Tick());
                engine.ClearEvents();
            }
            if (r == -1) Thread.Sleep(300); // let tiered compilation install the optimized code
        }
        tenant.Verify();
        Print("(a) SetReady → best call of 3 queues offered", samples);
    }

    private static void CallArrival(BigTenant tenant, string strategy, int count)
    {
        var engine = tenant.Engine;
        var offered = new Sample[count];
        var waiting = new Sample[count];
        var warm = count / 10;
        for (var i = -warm; i < count; i++)
        {
            var quiet = tenant.QuietQueues[(i + warm) % tenant.QuietQueues.Length];
            var loaded = tenant.LoadedQueues[(i + warm) % tenant.LoadedQueues.Length];
            var a = ArriveAndCancel(tenant, quiet, expectOffered: true);
            var b = ArriveAndCancel(tenant, loaded, expectOffered: false);
            if (i >= 0)
            {
                offered[i] = a;
                waiting[i] = b;
            }
            if (i == -1) Thread.Sleep(300);
        }
        engine.ClearEvents();
        tenant.Verify();
        Print($"(b) Enqueue → free agent offered ({strategy})", offered);
        Print($"(b) baseline: Enqueue, no agent free ({strategy})", waiting);
    }

    private static Sample ArriveAndCancel(BigTenant tenant, QueueId queue, bool expectOffered)
    {
        var engine = tenant.Engine;
        var now = tenant.Tick();
        var b0 = GC.GetAllocatedBytesForCurrentThread();
        var t0 = Stopwatch.GetTimestamp();
        var call = engine.Enqueue(queue, BigTenant.Caller, now).Call;
        var t1 = Stopwatch.GetTimestamp();
        var b1 = GC.GetAllocatedBytesForCurrentThread();
        engine.ClearEvents();
        if (!engine.TryGetCall(call, out var c) || (c.ActiveOffers > 0) != expectOffered)
            throw new InvalidOperationException($"call {call} in queue {queue}: expected offered={expectOffered}");
        engine.CancelCall(call, tenant.Tick());
        engine.ClearEvents();
        return new Sample(t1 - t0, b1 - b0);
    }

    private static void Mixed(bool quick, bool ringAllQueue)
    {
        var name = ringAllQueue ? "mixed, ring-all queue" : "mixed, serial only";
        const int Warm = 20_000;
        var measured = quick ? 20_000 : 100_000;
        var script = MixedStream.Record(Warm + measured, ringAllQueue);
        var byOp = new List<Sample>[Enum.GetValues<Op>().Length];
        for (var k = 0; k < byOp.Length; k++) byOp[k] = new List<Sample>(measured);
        var all = new List<Sample>(measured);
        var bestSeconds = double.MaxValue;
        var bestCpuSeconds = double.MaxValue;
        var gcNote = "";
        for (var run = 0; run < 6; run++)
        {
            var engine = MixedStream.BuildTenant(ringAllQueue);
            for (var i = 0; i < Warm; i++) MixedStream.Apply(engine, script[i]);
            if (run % 2 == 0)
            {
                // Untimed per command: the whole stream against one clock, for commands per second.
                // CPU time as well as wall time: on a shared machine other processes take the core away
                // mid-run, which wall time counts and the process's CPU time does not.
                var cpu0 = Environment.CpuUsage.TotalTime;
                var pause0 = GC.GetTotalPauseDuration();
                var (g0, g1, g2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
                var t0 = Stopwatch.GetTimestamp();
                for (var i = Warm; i < script.Length; i++) MixedStream.Apply(engine, script[i]);
                var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                if (seconds < bestSeconds)
                {
                    gcNote = string.Create(CultureInfo.InvariantCulture,
                        $" (that run: GC paused {(GC.GetTotalPauseDuration() - pause0).TotalMilliseconds:F1} ms in " +
                        $"{GC.CollectionCount(0) - g0}/{GC.CollectionCount(1) - g1}/{GC.CollectionCount(2) - g2} gen0/1/2 collections)");
                }
                bestSeconds = Math.Min(bestSeconds, seconds);
                bestCpuSeconds = Math.Min(bestCpuSeconds, (Environment.CpuUsage.TotalTime - cpu0).TotalSeconds);
                continue;
            }
            if (run < 5)
            {
                for (var i = Warm; i < script.Length; i++) MixedStream.Apply(engine, script[i]);
                Thread.Sleep(300);
                continue;
            }
            var (waitingSum, idleSum) = (0L, 0L);
            for (var i = Warm; i < script.Length; i++)
            {
                if (i % 100 == 0)
                {
                    foreach (var q in engine.Queues) waitingSum += q.WaitingCount - q.RingingCount;
                    foreach (var a in engine.Agents)
                        if (a.Status == AgentStatus.Ready && a.Activity == AgentActivity.Idle) idleSum++;
                }
                var b0 = GC.GetAllocatedBytesForCurrentThread();
                var t0 = Stopwatch.GetTimestamp();
                MixedStream.Apply(engine, script[i]);
                var t1 = Stopwatch.GetTimestamp();
                var b1 = GC.GetAllocatedBytesForCurrentThread();
                var sample = new Sample(t1 - t0, b1 - b0);
                byOp[(int)script[i].Op].Add(sample);
                all.Add(sample);
            }
            Summary.Add(string.Create(CultureInfo.InvariantCulture,
                $"{name}: on average {waitingSum * 100.0 / measured:F1} calls waiting unoffered and " +
                $"{idleSum * 100.0 / measured:F1} agents Ready and idle"));
        }
        Print($"{name}: every command", [.. all]);
        foreach (var op in Enum.GetValues<Op>())
            if (byOp[(int)op].Count > 0) Print($"{name}: {op}", [.. byOp[(int)op]]);
        Summary.Add(string.Create(CultureInfo.InvariantCulture,
            $"{name}: best of 3 untimed runs of {measured:N0} commands: {bestSeconds * 1000:F1} ms wall = " +
            $"{measured / bestSeconds:N0} commands/s; {bestCpuSeconds * 1000:F1} ms process CPU = " +
            $"{measured / bestCpuSeconds:N0} commands per CPU-second{gcNote}"));
    }

    private static long TimerOverhead()
    {
        var ticks = new long[100_000];
        for (var i = 0; i < ticks.Length; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            ticks[i] = Stopwatch.GetTimestamp() - t0;
        }
        Array.Sort(ticks);
        return ticks[ticks.Length / 2];
    }

    private static void Print(string name, Sample[] samples)
    {
        var ticks = new long[samples.Length];
        long bytes = 0, maxBytes = 0;
        for (var i = 0; i < samples.Length; i++)
        {
            ticks[i] = samples[i].Ticks;
            bytes += samples[i].Bytes;
            maxBytes = Math.Max(maxBytes, samples[i].Bytes);
        }
        Array.Sort(ticks);
        double mean = 0;
        foreach (var t in ticks) mean += t;
        mean /= ticks.Length;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {samples.Length:N0} | {Format(At(ticks, 0.5))} | {Format(At(ticks, 0.9))} | " +
            $"{Format(At(ticks, 0.99))} | {Format(At(ticks, 0.999))} | {Format(ticks[^1])} | {Format(mean)} | " +
            $"{(double)bytes / samples.Length:F1}, {maxBytes} |"));
    }

    private static long At(long[] sorted, double quantile) =>
        sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))];

    /// <summary>Ticks as nanoseconds, or microseconds past 10,000 ns.</summary>
    private static string Format(double ticks)
    {
        var ns = ticks * 1e9 / Stopwatch.Frequency;
        return ns >= 10_000
            ? string.Create(CultureInfo.InvariantCulture, $"{ns / 1000:F1} µs")
            : string.Create(CultureInfo.InvariantCulture, $"{ns:F0} ns");
    }

    private readonly record struct Sample(long Ticks, long Bytes);
}
