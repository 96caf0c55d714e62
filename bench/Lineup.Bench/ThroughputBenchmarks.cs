using BenchmarkDotNet.Attributes;
using Lineup.Engine;

namespace Lineup.Bench;

/// <summary>
/// Commands per second for a typical mixed stream (<see cref="MixedStream"/>): 220,000 recorded commands, of
/// which the first 20,000 bring a fresh tenant to a steady state in the iteration setup (not measured) and the
/// other 200,000 are measured, one engine command plus draining its events each. The tenant is rebuilt for every
/// iteration because the recording is only valid from the state it was made in. With a ring-all queue (about
/// 10% of the calls ring every free member of a 20-agent queue, and every other offer is taken back on answer)
/// and without it (serial strategies only).
/// </summary>
[MemoryDiagnoser]
public class ThroughputBenchmarks
{
    private const int Warm = 20_000;
    private const int Measured = 200_000;
    private Command[] _script = null!;
    private CallCenter _engine = null!;

    [Params(true, false)]
    public bool RingAllQueue { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _script = MixedStream.Record(Warm + Measured, RingAllQueue);
        // A replay must do exactly what the recording did, or the benchmark would measure rejected commands.
        var engine = MixedStream.BuildTenant(RingAllQueue);
        for (var i = 0; i < _script.Length; i++)
        {
            var result = MixedStream.Apply(engine, _script[i]);
            if (result != CommandResult.Ok) throw new InvalidOperationException($"replay of {_script[i]} gave {result}");
        }
    }

    [IterationSetup]
    public void FreshTenant()
    {
        _engine = MixedStream.BuildTenant(RingAllQueue);
        for (var i = 0; i < Warm; i++) MixedStream.Apply(_engine, _script[i]);
    }

    [Benchmark(OperationsPerInvoke = Measured, Description = "mixed commands (20 queues, 200 agents)")]
    public int MixedCommands()
    {
        var ok = 0;
        var script = _script;
        for (var i = Warm; i < script.Length; i++)
            if (MixedStream.Apply(_engine, script[i]) == CommandResult.Ok) ok++;
        return ok;
    }
}
