using Lineup.Engine;

namespace Lineup.Bench;

/// <summary>
/// The scale in one tenant: 1,000 queues, 10,000 agents (each a member of 3 queues, chosen with a fixed
/// seed) and 100,000 waiting calls. Routing needs somebody to route to, so the agents are split the way a busy
/// floor is:
/// <list type="bullet">
/// <item>900 "loaded" queues hold the 100,000 waiting calls (about 111 each). Their 9,000 agents are 8,000
/// talking and 1,000 on a break (Not Ready, idle): the break pool, used for "an agent becomes ready".</item>
/// <item>100 "quiet" queues have no calls and 1,000 Ready, idle agents (about 30 members per queue), each a
/// member of 3 quiet queues only: the target of "a call arrives at a queue with an available agent". (An agent
/// who also belonged to a loaded queue could not stay idle: the engine would have offered it a call.)</item>
/// </list>
/// Time starts just after midnight UTC and moves 1 ms per command, so a run never crosses the daily statistics
/// reset (that would be a 10,000-agent sweep inside one measured command). Queues have no max wait and no
/// announcements, so waiting calls set no timers: what a command costs is routing, not unrelated timers firing.
/// </summary>
internal sealed class BigTenant
{
    /// <summary>2026-01-05 00:00:01 UTC.</summary>
    public const long Start = 1_767_571_201_000;
    public const int QueueCount = 1_000;
    public const int QuietQueueCount = 100;
    public const int AgentCount = 10_000;
    public const int QuietAgentCount = 1_000;
    public const int BreakAgentCount = 1_000;
    public const int WaitingCallCount = 100_000;
    public const int QueuesPerAgent = 3;

    /// <summary>Caller numbers are prepared once: a command that takes a string must not allocate it in the loop.</summary>
    public static readonly CallerInfo Caller = new("+15550100");

    private long _now = Start;

    public BigTenant(Strategy quietStrategy = Strategy.LongestIdle, int seed = 42)
    {
        Engine = new CallCenter(new EngineOptions { Seed = 7 });
        var rng = new Random(seed);
        var loadedCount = QueueCount - QuietQueueCount;
        LoadedQueues = new QueueId[loadedCount];
        QuietQueues = new QueueId[QuietQueueCount];
        for (var i = 0; i < QueueCount; i++)
        {
            var id = new QueueId(i + 1);
            var quiet = i >= loadedCount;
            if (quiet) QuietQueues[i - loadedCount] = id; else LoadedQueues[i] = id;
            Check(Engine.UpsertQueue(new QueueConfig
            {
                Id = id,
                Name = $"q{i + 1}",
                Strategy = quiet ? quietStrategy : Strategy.LongestIdle,
                RingTimeoutSeconds = 20,
            }, Tick()));
        }

        var loadedAgentCount = AgentCount - QuietAgentCount;
        BreakAgents = new AgentId[BreakAgentCount];
        QuietAgents = new AgentId[QuietAgentCount];
        var firstQueue = new QueueId[AgentCount];
        var position = new int[QueueCount + 1];
        var picked = new int[QueuesPerAgent];
        for (var i = 0; i < AgentCount; i++)
        {
            var id = new AgentId(i + 1);
            var quiet = i >= loadedAgentCount;
            Check(Engine.UpsertAgent(new AgentConfig { Id = id, Name = $"a{i + 1}" }, Tick()));
            var pool = quiet ? QuietQueues : LoadedQueues;
            for (var k = 0; k < QueuesPerAgent; k++)
            {
                int q;
                do q = pool[rng.Next(pool.Length)].Value;
                while (Array.IndexOf(picked, q, 0, k) >= 0);
                picked[k] = q;
                Check(Engine.SetMember(new QueueId(q), id, new MemberConfig { Position = ++position[q] }, Tick()));
            }
            firstQueue[i] = new QueueId(picked[0]);
            Check(Engine.Login(id, null, Tick()));
            if (quiet) QuietAgents[i - loadedAgentCount] = id;
        }

        // Every ninth loaded agent takes a break; every other loaded agent is put on a call.
        var breaks = 0;
        for (var i = 0; i < loadedAgentCount; i++)
        {
            if (i % 9 != 0) continue;
            BreakAgents[breaks++] = new AgentId(i + 1);
            Check(Engine.SetNotReady(new AgentId(i + 1), "BREAK", Tick()));
        }
        Engine.ClearEvents();
        for (var i = 0; i < loadedAgentCount; i++)
        {
            if (!Engine.TryGetAgent(new AgentId(i + 1), out var agent)) throw new InvalidOperationException("agent");
            while (agent.Status == AgentStatus.Ready && agent.Activity == AgentActivity.Idle)
            {
                // The call goes to whichever member of the agent's first queue the strategy picks; that one answers.
                var call = Engine.Enqueue(firstQueue[i], Caller, Tick());
                Check(call.Result);
                var offered = FindOffer(call.Call);
                Engine.ClearEvents();
                Check(Engine.AgentAnswered(call.Call, offered, Tick()));
                Engine.ClearEvents();
            }
        }

        for (var i = 0; i < WaitingCallCount; i++)
        {
            var call = Engine.Enqueue(LoadedQueues[rng.Next(LoadedQueues.Length)], Caller, Tick());
            Check(call.Result);
            Engine.ClearEvents();
        }
        Verify();
    }

    public CallCenter Engine { get; }
    public QueueId[] LoadedQueues { get; }
    public QueueId[] QuietQueues { get; }
    public AgentId[] BreakAgents { get; }
    public AgentId[] QuietAgents { get; }
    public long Now => _now;

    /// <summary>The time for the next command: 1 ms after the last one.</summary>
    public long Tick() => ++_now;

    public AgentId FindOffer(CallId call)
    {
        foreach (ref readonly var e in Engine.PendingEvents)
            if (e.Kind == EventKind.CallOffered && e.Call == call) return e.Agent;
        throw new InvalidOperationException($"call {call} was not offered");
    }

    /// <summary>Checks the shape the benchmarks rely on; a benchmark of the wrong state would be worthless.</summary>
    public void Verify()
    {
        int waiting = 0, ringing = 0, talking = 0, quietWaiting = 0;
        foreach (var q in Engine.Queues)
        {
            waiting += q.WaitingCount;
            ringing += q.RingingCount;
            talking += q.TalkingCount;
        }
        foreach (var id in QuietQueues)
            if (Engine.TryGetQueue(id, out var q)) quietWaiting += q.WaitingCount;
        int idleReady = 0, onBreak = 0, onCall = 0;
        foreach (var a in Engine.Agents)
        {
            if (a.Activity == AgentActivity.Talking) onCall++;
            else if (a.Status == AgentStatus.NotReady && a.Activity == AgentActivity.Idle) onBreak++;
            else if (a.Status == AgentStatus.Ready && a.Activity == AgentActivity.Idle) idleReady++;
        }
        var expectedTalking = AgentCount - QuietAgentCount - BreakAgentCount;
        if (Engine.Queues.Count != QueueCount || Engine.Agents.Count != AgentCount
            || waiting != WaitingCallCount || ringing != 0 || quietWaiting != 0
            || talking != expectedTalking || onCall != expectedTalking || onBreak != BreakAgentCount
            || idleReady != QuietAgentCount)
        {
            throw new InvalidOperationException(
                $"unexpected state: waiting={waiting} ringing={ringing} talking={talking} quietWaiting={quietWaiting} " +
                $"onCall={onCall} onBreak={onBreak} idleReady={idleReady}");
        }
    }

    private static void Check(CommandResult result)
    {
        if (result is not (CommandResult.Ok or CommandResult.Ignored))
            throw new InvalidOperationException($"setup command failed: {result}");
    }
}
