using Lineup.Engine;

namespace Lineup.Bench;

/// <summary>The engine commands a host sends for a live tenant.</summary>
internal enum Op : byte
{
    Enqueue,
    Answer,
    Reject,
    Busy,
    CallerHangup,
    AgentHangup,
    Abandon,
    NotReady,
    Ready,
}

/// <summary>One recorded command. <see cref="Call"/> ids are the ones the engine assigned while recording; a
/// replay on a tenant built the same way gets the same ids, because the engine is deterministic.</summary>
internal readonly record struct Command(Op Op, long At, int Queue, int Agent, long Call, bool Vip);

/// <summary>
/// A moderately sized tenant (20 queues, 200 agents each in 2 queues, 5 s wrap-up, 20 s ring timeout, longest
/// idle, round robin and fewest calls; optionally queue 1, the busiest, rings all) and a recorded stream of the
/// commands a host would send it: calls arriving (5% VIP), offers answered (a few rejected or busy, some left to
/// time out), calls hung up by the caller or the agent, callers abandoning, agents taking breaks and coming
/// back. The recording is made once by a simulation that watches the events (<see cref="Record"/>); the
/// benchmark replays it, so the measured loop does nothing but call the engine and drain its events.
/// </summary>
internal static class MixedStream
{
    public const int QueueCount = 20;
    public const int AgentCount = 200;
    public const long Start = BigTenant.Start;

    private static readonly CallerInfo Normal = new("+15550101");
    private static readonly CallerInfo Vip = new("+15550102", Priority: 5);

    public static CallCenter BuildTenant(bool ringAllQueue)
    {
        var engine = new CallCenter(new EngineOptions { Seed = 11 });
        var rng = new Random(3);
        var now = Start;
        for (var i = 1; i <= QueueCount; i++)
        {
            var strategy = i switch
            {
                1 when ringAllQueue => Strategy.RingAll,
                _ when i % 3 == 0 => Strategy.RoundRobin,
                _ when i % 3 == 1 => Strategy.FewestCalls,
                _ => Strategy.LongestIdle,
            };
            engine.UpsertQueue(new QueueConfig
            {
                Id = new QueueId(i),
                Name = $"q{i}",
                Strategy = strategy,
                RingTimeoutSeconds = 20,
                WrapUpSeconds = 5,
                Weight = i <= 2 ? 2 : 1,
            }, now);
        }
        for (var a = 1; a <= AgentCount; a++)
        {
            var id = new AgentId(a);
            engine.UpsertAgent(new AgentConfig { Id = id, Name = $"a{a}" }, now);
            var first = rng.Next(1, QueueCount + 1);
            int second;
            do second = rng.Next(1, QueueCount + 1); while (second == first);
            engine.SetMember(new QueueId(first), id, new MemberConfig { Position = a }, now);
            engine.SetMember(new QueueId(second), id, new MemberConfig { Position = a, Level = 1 }, now);
            engine.Login(id, null, now);
        }
        engine.ClearEvents();
        return engine;
    }

    /// <summary>Sends one command and drains its events, as the host does.</summary>
    public static CommandResult Apply(CallCenter engine, in Command c)
    {
        var result = Send(engine, c);
        engine.ClearEvents();
        return result;
    }

    private static CommandResult Send(CallCenter engine, in Command c) =>
        c.Op switch
        {
            Op.Enqueue => engine.Enqueue(new QueueId(c.Queue), c.Vip ? Vip : Normal, c.At).Result,
            Op.Answer => engine.AgentAnswered(new CallId(c.Call), new AgentId(c.Agent), c.At),
            Op.Reject => engine.AgentRejected(new CallId(c.Call), new AgentId(c.Agent), c.At),
            Op.Busy => engine.AgentBusy(new CallId(c.Call), new AgentId(c.Agent), c.At),
            Op.CallerHangup or Op.Abandon => engine.CallerHangup(new CallId(c.Call), c.At),
            Op.AgentHangup => engine.AgentHangup(new CallId(c.Call), c.At),
            Op.NotReady => engine.SetNotReady(new AgentId(c.Agent), "BREAK", c.At),
            Op.Ready => engine.SetReady(new AgentId(c.Agent), c.At),
            _ => CommandResult.InvalidArgument,
        };

    /// <summary>
    /// Records <paramref name="count"/> commands, each valid at the moment it is sent, by simulating the people
    /// behind the host: calls arrive as a Poisson stream (2.5/s, about 85% occupancy), a ringing agent responds
    /// after 1-6 s (1 in 12 rejects or is busy, 1 in 50 lets it ring out), a talk lasts 5 s plus an exponential
    /// 60 s and is ended by either side, a caller still waiting unoffered after an exponential 120 s patience
    /// abandons, and every 20 s on average an agent takes a 1-10 minute break.
    /// </summary>
    public static Command[] Record(int count, bool ringAllQueue, int seed = 5)
    {
        var engine = BuildTenant(ringAllQueue);
        var rng = new Random(seed);
        var plan = new PriorityQueue<(Act Act, long Call, int Agent), (long At, long Order)>();
        long order = 0;
        void At(long at, Act act, long call = 0, int agent = 0) => plan.Enqueue((act, call, agent), (at, ++order));
        long Exp(double meanMs) => (long)(-meanMs * Math.Log(1 - rng.NextDouble()));

        At(Start + Exp(400), Act.Arrive);
        At(Start + Exp(20_000), Act.BreakStart);
        var script = new Command[count];
        var n = 0;
        var now = Start;
        while (n < count)
        {
            plan.TryDequeue(out var next, out var key);
            now = Math.Max(now, key.At);
            Command? command = null;
            switch (next.Act)
            {
                case Act.Arrive:
                    {
                        // Busier queues get more calls: queue q with weight proportional to 21 - q.
                        var q = Math.Min(QueueCount, 1 + (int)(QueueCount * (1 - Math.Sqrt(rng.NextDouble()))));
                        command = new Command(Op.Enqueue, now, q, 0, 0, rng.Next(20) == 0);
                        At(now + Exp(400), Act.Arrive);
                        break;
                    }
                case Act.Respond:
                    if (engine.TryGetAgent(new AgentId(next.Agent), out var ringing) && ringing.CurrentCall?.Value == next.Call
                        && ringing.Activity == AgentActivity.Ringing && rng.Next(50) != 0)
                    {
                        var op = rng.Next(12) switch { 0 => Op.Reject, 1 => Op.Busy, _ => Op.Answer };
                        command = new Command(op, now, 0, next.Agent, next.Call, false);
                    }
                    break;
                case Act.Hangup:
                    if (engine.TryGetCall(new CallId(next.Call), out var talking) && talking.State == CallState.Connected)
                        command = new Command(rng.Next(2) == 0 ? Op.CallerHangup : Op.AgentHangup, now, 0, 0, next.Call, false);
                    break;
                case Act.Patience:
                    if (engine.TryGetCall(new CallId(next.Call), out var waiting) && waiting.State == CallState.Waiting
                        && waiting.ActiveOffers == 0)
                    {
                        command = new Command(Op.Abandon, now, 0, 0, next.Call, false);
                    }
                    break;
                case Act.BreakStart:
                    {
                        At(now + Exp(20_000), Act.BreakStart);
                        var agent = rng.Next(1, AgentCount + 1);
                        // Idle, or talking: then the break starts when the call ends.
                        if (engine.TryGetAgent(new AgentId(agent), out var a) && a.Status == AgentStatus.Ready
                            && a.Activity is AgentActivity.Idle or AgentActivity.Talking)
                        {
                            command = new Command(Op.NotReady, now, 0, agent, 0, false);
                            At(now + rng.Next(60_000, 600_000), Act.BreakEnd, agent: agent);
                        }
                        break;
                    }
                case Act.BreakEnd:
                    command = new Command(Op.Ready, now, 0, next.Agent, 0, false);
                    break;
                default:
                    break;
            }
            if (command is not { } c) continue;
            script[n++] = c;
            var result = Send(engine, c);
            if (result != CommandResult.Ok) throw new InvalidOperationException($"recorded {c} failed: {result}");
            foreach (ref readonly var e in engine.PendingEvents)
            {
                switch (e.Kind)
                {
                    case EventKind.CallQueued when c.Op == Op.Enqueue:
                        At(e.At + Exp(120_000), Act.Patience, e.Call.Value);
                        break;
                    case EventKind.CallOffered:
                        At(e.At + rng.Next(1_000, 6_000), Act.Respond, e.Call.Value, e.Agent.Value);
                        break;
                    case EventKind.CallAnswered:
                        At(e.At + 5_000 + Exp(60_000), Act.Hangup, e.Call.Value);
                        break;
                    default:
                        break;
                }
            }
            engine.ClearEvents();
        }
        return script;
    }

    private enum Act : byte
    {
        Arrive,
        Respond,
        Hangup,
        Patience,
        BreakStart,
        BreakEnd,
    }
}
