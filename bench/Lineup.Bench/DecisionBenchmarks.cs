using BenchmarkDotNet.Attributes;
using Lineup.Engine;

namespace Lineup.Bench;

/// <summary>
/// Decision (a): an agent comes back from a break. SetReady of an agent who belongs to 3 queues full of waiting
/// calls: the engine takes the best call across those queues (priority, then wait × weight) and offers it. One
/// invocation sets the whole break pool (1,000 agents) Ready, one decision each; the iteration cleanup, which is
/// not measured, puts them back: each agent goes Not Ready (the offer is taken back), its call is cancelled and a
/// new call enters the same queue, so the tenant keeps 100,000 waiting calls and every offer in the next
/// iteration is of a call never offered before (as in production, where an offered call is rarely re-offered).
/// </summary>
[MemoryDiagnoser]
public class AgentReadyBenchmarks
{
    private BigTenant _tenant = null!;

    [GlobalSetup]
    public void Setup()
    {
        _tenant = new BigTenant();
        // Exercise the measured path and its undo once, so the JIT has seen both and the state is proven to return.
        Decide();
        Undo();
        _tenant.Verify();
    }

    [Benchmark(OperationsPerInvoke = BigTenant.BreakAgentCount, Description = "SetReady → best of 3 queues offered")]
    public void AgentBecomesReady() => Decide();

    [IterationCleanup]
    public void Cleanup() => Undo();

    private void Decide()
    {
        var engine = _tenant.Engine;
        foreach (var agent in _tenant.BreakAgents)
        {
            engine.SetReady(agent, _tenant.Tick());
            engine.ClearEvents();
        }
    }

    private void Undo()
    {
        var engine = _tenant.Engine;
        foreach (var id in _tenant.BreakAgents)
        {
            if (!engine.TryGetAgent(id, out var agent) || agent.CurrentCall is not { } call
                || agent.Activity != AgentActivity.Ringing || !engine.TryGetCall(call, out var c))
            {
                throw new InvalidOperationException($"agent {id} was not offered a call");
            }
            var queue = c.Queue!.Id;
            engine.SetNotReady(id, "BREAK", _tenant.Tick());
            engine.CancelCall(call, _tenant.Tick());
            engine.Enqueue(queue, BigTenant.Caller, _tenant.Tick());
            engine.ClearEvents();
        }
    }
}

/// <summary>
/// Decision (b): a call arrives at a queue that has available agents (about 30 Ready, idle members) while the
/// tenant holds 100,000 calls elsewhere. One invocation enqueues 500 calls, 5 into each of the 100 quiet queues;
/// every one is offered at once (checked in the cleanup, which cancels them, not measured). The baseline enqueues
/// 500 calls into loaded queues, where no agent is free: the same command with no routing to do. The difference
/// is the routing decision; the baseline itself is the cost of creating a call (its CDR and lists).
/// </summary>
[MemoryDiagnoser]
public class CallArrivalBenchmarks
{
    private const int Calls = 500;
    private readonly CallId[] _calls = new CallId[Calls];
    private BigTenant _tenant = null!;

    [GlobalSetup]
    public void Setup()
    {
        _tenant = new BigTenant();
        Arrive(_tenant.QuietQueues);
        Cancel(expectOffered: true);
        Arrive(_tenant.LoadedQueues);
        Cancel(expectOffered: false);
        _tenant.Verify();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Calls, Description = "Enqueue, no agent free (no decision)")]
    public void CallArrivesNoAgentFree() => Arrive(_tenant.LoadedQueues);

    [Benchmark(OperationsPerInvoke = Calls, Description = "Enqueue → available agent offered")]
    public void CallArrivesAgentFree() => Arrive(_tenant.QuietQueues);

    [IterationCleanup(Target = nameof(CallArrivesNoAgentFree))]
    public void CleanupWaiting() => Cancel(expectOffered: false);

    [IterationCleanup(Target = nameof(CallArrivesAgentFree))]
    public void CleanupOffered() => Cancel(expectOffered: true);

    private void Arrive(QueueId[] queues)
    {
        var engine = _tenant.Engine;
        for (var i = 0; i < Calls; i++)
        {
            _calls[i] = engine.Enqueue(queues[i % queues.Length], BigTenant.Caller, _tenant.Tick()).Call;
            engine.ClearEvents();
        }
    }

    private void Cancel(bool expectOffered)
    {
        var engine = _tenant.Engine;
        foreach (var call in _calls)
        {
            if (!engine.TryGetCall(call, out var c) || (c.ActiveOffers > 0) != expectOffered)
                throw new InvalidOperationException($"call {call}: expected offered={expectOffered}");
            engine.CancelCall(call, _tenant.Tick());
            engine.ClearEvents();
        }
        _tenant.Verify();
    }
}

/// <summary>
/// Decision (b) in steady state, with no iteration setup: each invocation is one call arriving and being
/// cancelled, into a queue with free agents or (baseline) into a loaded queue. Serial strategy (longest idle:
/// one agent rings) and ring-all (every free member of the queue, about 30, rings at once). Pair − baseline is
/// the decision plus taking the offers back.
/// </summary>
[MemoryDiagnoser]
public class CallArrivalPairBenchmarks
{
    private BigTenant _tenant = null!;
    private int _next;

    [Params(Strategy.LongestIdle, Strategy.RingAll)]
    public Strategy Strategy { get; set; }

    [GlobalSetup]
    public void Setup() => _tenant = new BigTenant(Strategy);

    [Benchmark(Baseline = true, Description = "Enqueue+Cancel, no agent free")]
    public CommandResult NoAgentFree() => Cycle(_tenant.LoadedQueues);

    [Benchmark(Description = "Enqueue+Cancel, agents free (offer + take back)")]
    public CommandResult AgentFree() => Cycle(_tenant.QuietQueues);

    [GlobalCleanup]
    public void Cleanup() => _tenant.Verify();

    private CommandResult Cycle(QueueId[] queues)
    {
        var engine = _tenant.Engine;
        var i = _next + 1 == queues.Length ? 0 : _next + 1;
        _next = i;
        var call = engine.Enqueue(queues[i], BigTenant.Caller, _tenant.Tick()).Call;
        engine.ClearEvents();
        var result = engine.CancelCall(call, _tenant.Tick());
        engine.ClearEvents();
        return result;
    }
}
