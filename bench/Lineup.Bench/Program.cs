using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Lineup.Bench;

// `-- --snapshot [--history N,N] [--runs N]` measures engine snapshots (SnapshotHarness);
// `-- --latency [decisions|mixed|routing] [--quick]` runs the Stopwatch harness (percentiles of single commands and
// their allocated bytes); `-- --sip-alloc` prints the exact bytes allocated per parsed INVITE (SipAllocHarness);
// anything else goes to BenchmarkDotNet (`-- --filter '*'`, `-- --job Dry` for a smoke run, `-- --list flat`).
if (args.Contains("--snapshot"))
{
    SnapshotHarness.Run(args);
    return;
}
if (args.Contains("--sip-alloc"))
{
    SipAllocHarness.Run();
    return;
}
if (args.Contains("--latency"))
{
    var part = args.FirstOrDefault(a => a is "decisions" or "mixed" or "routing");
    LatencyHarness.Run(quick: args.Contains("--quick"), part);
    return;
}

// The default job keeps a full run of every benchmark under 2 minutes on an idle 2-core machine (8 when it is
// saturated). No forced GC between iterations: a host does not collect before each command, and a full
// compacting GC of the 100,000-call heap before each 1-3 ms iteration dominated what those iterations measured.
// BenchmarkDotNet ignores `--job` when the config brings its own default job, so the default is only added when
// no job is named.
IConfig config = DefaultConfig.Instance
    .AddColumn(StatisticColumn.Median, StatisticColumn.P95, StatisticColumn.OperationsPerSecond);
if (!args.Any(a => a is "--job" or "-j" || a.StartsWith("--job=", StringComparison.Ordinal)))
{
    config = config.AddJob(
        Job.Default.WithLaunchCount(1).WithWarmupCount(5).WithIterationCount(15).WithGcForce(false).AsDefault());
}
BenchmarkSwitcher.FromAssembly(typeof(AgentReadyBenchmarks).Assembly).Run(args, config);
