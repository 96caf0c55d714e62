namespace Lineup.Engine.Tests;

/// <summary>
/// Drives one CallCenter in simulated time for tests: builds queues and agents, advances the clock, and keeps
/// every event so tests can assert on exactly what happened. Time starts at a fixed instant (2026-01-05 09:00 UTC).
/// </summary>
internal sealed class Harness
{
    public const long Start = 1_767_603_600_000;

    public Harness(EngineOptions? options = null) => Engine = new CallCenter(options);

    public CallCenter Engine { get; }
    public long Now { get; private set; } = Start;
    public List<EngineEvent> Events { get; } = new();

    private readonly List<QueueConfig> _waitingForTargets = new();

    /// <summary>Adds or replaces a queue. The engine refuses a destination queue that does not exist yet, so a queue
    /// that names a later one (a loop between two queues) is added without those destinations first and gets them
    /// once its targets exist.</summary>
    public Harness Queue(int id, Func<QueueConfig, QueueConfig>? configure = null)
    {
        var config = new QueueConfig { Id = new QueueId(id), Name = $"q{id}" };
        config = configure?.Invoke(config) ?? config;
        var missing = config.AllDestinations().Where(d => d.Kind == DestinationKind.Queue && d.Queue != config.Id && !Engine.TryGetQueue(d.Queue, out _)).ToList();
        var now = config;
        foreach (var d in missing) now = now.WithoutDestination(d.Queue);
        Do(Engine.UpsertQueue(now, Now));
        if (missing.Count > 0) _waitingForTargets.Add(config);
        foreach (var waiting in _waitingForTargets.ToList())
        {
            if (!waiting.AllDestinations().All(d => d.Kind != DestinationKind.Queue || Engine.TryGetQueue(d.Queue, out _))) continue;
            Do(Engine.UpsertQueue(waiting, Now));
            _waitingForTargets.Remove(waiting);
        }
        return this;
    }

    public Harness Agent(int id, Func<AgentConfig, AgentConfig>? configure = null)
    {
        var config = new AgentConfig { Id = new AgentId(id), Name = $"a{id}" };
        Do(Engine.UpsertAgent(configure?.Invoke(config) ?? config, Now));
        return this;
    }

    public Harness Member(int queue, int agent, int level = 0, int position = 0, int skill = 1, int ringDelay = 0)
    {
        Do(Engine.SetMember(new QueueId(queue), new AgentId(agent),
            new MemberConfig { Level = level, Position = position, SkillLevel = skill, RingDelaySeconds = ringDelay }, Now));
        return this;
    }

    /// <summary>Adds agents as members (position = order given) and logs them in Ready.</summary>
    public Harness Staff(int queue, params int[] agents)
    {
        var position = 0;
        foreach (var a in agents)
        {
            if (!Engine.TryGetAgent(new AgentId(a), out _)) Agent(a);
            Member(queue, a, position: ++position);
            Login(a);
        }
        return this;
    }

    public Harness Login(int agent, params int[] queues)
    {
        Do(Engine.Login(new AgentId(agent), queues.Length == 0 ? null : queues.Select(q => new QueueId(q)).ToList(), Now));
        return this;
    }

    public CallId Call(int queue, string number = "5550100", int priority = 0)
    {
        var r = Engine.Enqueue(new QueueId(queue), new CallerInfo(number, null, priority), Now);
        Do(r.Result);
        return r.Call;
    }

    // Each helper asserts that the engine accepted the command: a refused step would change the scenario silently.
    // A test that expects a refusal (or Ignored) passes the engine call to Try and asserts the result itself.
    public CommandResult Answer(CallId call, int agent) => Do(Engine.AgentAnswered(call, new AgentId(agent), Now));
    public CommandResult Reject(CallId call, int agent) => Do(Engine.AgentRejected(call, new AgentId(agent), Now));
    public CommandResult Busy(CallId call, int agent) => Do(Engine.AgentBusy(call, new AgentId(agent), Now));
    public CommandResult CallerHangup(CallId call) => Do(Engine.CallerHangup(call, Now));
    public CommandResult AgentHangup(CallId call) => Do(Engine.AgentHangup(call, Now));
    public CommandResult Ready(int agent) => Do(Engine.SetReady(new AgentId(agent), Now));
    public CommandResult NotReady(int agent, string reason = "BREAK") => Do(Engine.SetNotReady(new AgentId(agent), reason, Now));

    /// <summary>A command that must be accepted: fails the test with the engine's reason unless it is Ok.</summary>
    public CommandResult Do(CommandResult result)
    {
        Collect();
        Assert.True(result == CommandResult.Ok, $"the engine refused a step of the scenario: {result}");
        return result;
    }

    /// <summary>A command whose result the test asserts itself (an expected refusal, or Ignored): collects the events
    /// and returns the result unchecked.</summary>
    public CommandResult Try(CommandResult result)
    {
        Collect();
        return result;
    }

    /// <summary>Moves the clock forward, firing due timers.</summary>
    public Harness Wait(double seconds)
    {
        Now += (long)(seconds * 1000);
        Engine.Advance(Now);
        Collect();
        return this;
    }

    public void Collect()
    {
        Events.AddRange(Engine.PendingEvents.ToArray());
        Engine.ClearEvents();
    }

    public Call CallState(CallId id) => Engine.TryGetCall(id, out var c) ? c : throw new InvalidOperationException($"call {id} ended");
    public Agent AgentState(int id) => Engine.TryGetAgent(new AgentId(id), out var a) ? a : throw new InvalidOperationException();
    public Queue QueueState(int id) => Engine.TryGetQueue(new QueueId(id), out var q) ? q : throw new InvalidOperationException();

    /// <summary>Agents offered <paramref name="call"/> (CallOffered events), in order.</summary>
    public List<int> OffersFor(CallId call) =>
        Events.Where(e => e.Kind == EventKind.CallOffered && e.Call == call).Select(e => e.Agent.Value).ToList();

    /// <summary>Agents currently ringing for <paramref name="call"/>.</summary>
    public List<int> Ringing(CallId call) =>
        Engine.Agents.Where(a => a.CurrentCall == call && a.Activity == AgentActivity.Ringing).Select(a => a.Id.Value).OrderBy(x => x).ToList();

    public CallRecord Cdr(CallId call) =>
        Events.Single(e => e.Kind == EventKind.CallEnded && e.Call == call).Record!;

    public IEnumerable<EngineEvent> Of(EventKind kind) => Events.Where(e => e.Kind == kind);
}
