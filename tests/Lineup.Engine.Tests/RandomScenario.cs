using System.Globalization;
using System.Text;
using FsCheck.Fluent;

namespace Lineup.Engine.Tests;

/// <summary>Which calls a command's call reference chooses among, when the step runs.</summary>
internal enum CallFilter
{
    /// <summary>Any call that has not ended.</summary>
    Any,
    /// <summary>Waiting or keeping its place as a callback.</summary>
    Queued,
    Waiting,
    /// <summary>Connected, in wrap-up, or dialling a callback customer.</summary>
    Talking,
    /// <summary>Dialling a callback customer.</summary>
    Dialing,
    /// <summary>Caller and agent talking.</summary>
    Connected,
    /// <summary>A call that has already ended (a stale reference).</summary>
    Ended,
}

/// <summary>
/// A symbolic call reference, resolved against the engine when the step runs: the <c>N</c>-th (modulo) of the
/// matching calls in id order. When none matches it falls back to a call enqueued earlier (which may have ended),
/// or to an id the engine never issued. Symbolic references keep every command meaningful however the
/// scenario is shrunk, and resolve identically on a replay because the engine is deterministic.
/// </summary>
internal readonly record struct CallPick(CallFilter Filter, int N)
{
    public override string ToString() => $"{Filter.ToString().ToLowerInvariant()}#{N}";
}

internal enum Response
{
    Answer,
    Reject,
    Busy,
    NoAnswer,
}

/// <summary>One command of a scenario: plain data, printed one per line when a property fails.</summary>
internal abstract record Command;

internal sealed record EnqueueCall(int Queue, int Priority, string Number) : Command
{
    public override string ToString() => $"Enqueue q{Queue} priority {Priority} from \"{Number}\"";
}

/// <summary>
/// An agent's phone reports on an offer. With no <c>Call</c>: the <c>Agent</c>-th (modulo) of the agents with an
/// offer, about that offer (when nobody has one, some agent about some call). With a <c>Call</c>: agent id
/// <c>Agent</c> about the picked call. Must be Ok exactly when the agent has an offer for that call.
/// </summary>
internal sealed record Respond(int Agent, Response Response, CallPick? Call) : Command
{
    public override string ToString() => Call is { } c ? $"{Response} a{Agent} {c}" : $"{Response} ringing#{Agent}";
}

internal sealed record HangupByCaller(CallPick Call) : Command
{
    public override string ToString() => $"CallerHangup {Call}";
}

internal sealed record HangupByAgent(CallPick Call) : Command
{
    public override string ToString() => $"AgentHangup {Call}";
}

internal sealed record LogIn(int Agent, IReadOnlyList<int>? Queues) : Command
{
    public override string ToString() => $"Login a{Agent} {QueueList(Queues)}";

    internal static string QueueList(IReadOnlyList<int>? queues) =>
        queues == null ? "all queues" : "[" + string.Join(",", queues.Select(q => "q" + q)) + "]";
}

internal sealed record LogOut(int Agent, IReadOnlyList<int>? Queues) : Command
{
    public override string ToString() => $"Logout a{Agent} {LogIn.QueueList(Queues)}";
}

internal sealed record SetStatus(int Agent, AgentStatus Status, string? Reason) : Command
{
    public override string ToString() => $"Status a{Agent} {Status}{(Reason == null ? "" : " " + Reason)}";
}

internal sealed record NonQueueCall(int Agent, bool OnCall) : Command
{
    public override string ToString() => $"NonQueueCall a{Agent} {(OnCall ? "start" : "end")}";
}

internal sealed record PickupCall(CallPick Call, int Agent) : Command
{
    public override string ToString() => $"Pickup {Call} by a{Agent}";
}

internal sealed record AskCallback(CallPick Call, string? Number) : Command
{
    public override string ToString() => $"RequestCallback {Call}{(Number == null ? "" : " to " + Number)}";
}

internal sealed record CallbackReached(CallPick Call, bool Answered) : Command
{
    public override string ToString() => $"Callback{(Answered ? "Answered" : "Failed")} {Call}";
}

internal sealed record PressDigits(CallPick Call, string Digits) : Command
{
    public override string ToString() => $"Digits {Call} \"{Digits}\"";
}

internal sealed record CancelByHost(CallPick Call) : Command
{
    public override string ToString() => $"Cancel {Call}";
}

/// <summary>The node that carried the call's media died (cluster telephony).</summary>
internal sealed record LoseMedia(CallPick Call) : Command
{
    public override string ToString() => $"MediaLost {Call}";
}

/// <summary>A blind transfer of a connected call to a number or a queue (<see cref="CallCenter.TransferCall"/>).</summary>
internal sealed record TransferTo(CallPick Call, Destination To) : Command
{
    public override string ToString() => $"Transfer {Call} to {RandomScenario.Describe(To)}";
}

/// <summary>A transfer of a connected call to one agent, with or without a fallback (<see cref="CallCenter.TransferToAgent"/>).
/// <see cref="Agent"/> below 0 picks, when the step runs, one of the agents that are Ready and idle then (so that most
/// of these transfers ring someone); else it names the agent, free or not.</summary>
internal sealed record TransferToOne(CallPick Call, int Agent, Destination? Fallback) : Command
{
    public override string ToString() =>
        $"TransferToAgent {Call} {(Agent < 0 ? $"free#{-Agent}" : $"a{Agent}")}{(Fallback is { } f ? " else " + RandomScenario.Describe(f) : "")}";
}

/// <summary>The end of an attended transfer: a connected call's caller goes on with another connected call's agent
/// (<see cref="CallCenter.CompleteAttendedTransfer"/>).</summary>
internal sealed record JoinConsultation(CallPick Call, CallPick Consultation) : Command
{
    public override string ToString() => $"CompleteAttendedTransfer {Call} with {Consultation}";
}

/// <summary>The telephony layer stored a voicemail left by a call sent to voicemail (mostly an ended call).</summary>
internal sealed record LeaveVoicemail(CallPick Call, int Queue, long Voicemail) : Command
{
    public override string ToString() => $"VoicemailLeft {Call} q{Queue} #{Voicemail}";
}

internal sealed record NightMode(int Queue, bool On) : Command
{
    public override string ToString() => $"NightMode q{Queue} {(On ? "on" : "off")}";
}

/// <summary>Only lets time pass (timers due by then fire).</summary>
internal sealed record Tick : Command
{
    public override string ToString() => "Tick";
}

/// <summary>Creates a queue or replaces its settings (reconfiguring scenarios only, like the five below).</summary>
internal sealed record ChangeQueue(QueueConfig Config) : Command
{
    public override string ToString() => $"UpsertQueue {RandomScenario.Describe(Config)}";
}

internal sealed record DropQueue(int Queue) : Command
{
    public override string ToString() => $"RemoveQueue q{Queue}";
}

internal sealed record ChangeAgent(AgentConfig Config) : Command
{
    public override string ToString() => $"UpsertAgent {RandomScenario.Describe(Config)}";
}

internal sealed record DropAgent(int Agent) : Command
{
    public override string ToString() => $"RemoveAgent a{Agent}";
}

internal sealed record ChangeMember(Membership Member) : Command
{
    public override string ToString() => $"SetMember a{Member.Agent} {RandomScenario.Describe(Member)}";
}

internal sealed record DropMember(int Queue, int Agent) : Command
{
    public override string ToString() => $"RemoveMember a{Agent} q{Queue}";
}

/// <summary>A command at <c>At</c> milliseconds after the scenario's start; steps never go back in time.
/// <c>Index</c> is its place in the scenario as generated, before any shrinking.</summary>
internal sealed record Step(int Index, long At, Command Command)
{
    public override string ToString() =>
        $"+{(At / 1000.0).ToString("0.000", CultureInfo.InvariantCulture)}s {Command}";
}

internal sealed record Membership(int Queue, int Agent, MemberConfig Config);

/// <summary>A whole random test case: the tenant's configuration, then the commands. <c>Origin</c> is the
/// generator's (seed, size), so that a printed failure can be rebuilt with <see cref="RandomScenario.Replay"/>.</summary>
internal sealed record Scenario(
    (int Seed, int Size) Origin,
    ulong Seed,
    long Start,
    IReadOnlyList<QueueConfig> Queues,
    IReadOnlyList<AgentConfig> Agents,
    IReadOnlyList<Membership> Members,
    IReadOnlyList<Step> Steps)
{
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Scenario seed {Seed}, start {DateTimeOffset.FromUnixTimeMilliseconds(Start):u}, {Steps.Count} steps\n");
        foreach (var q in Queues) sb.Append("  ").Append(RandomScenario.Describe(q)).Append('\n');
        foreach (var a in Agents)
        {
            sb.Append("  ").Append(RandomScenario.Describe(a));
            foreach (var m in Members.Where(m => m.Agent == a.Id.Value)) sb.Append(" | ").Append(RandomScenario.Describe(m));
            sb.Append('\n');
        }
        for (var i = 0; i < Steps.Count; i++) sb.Append(CultureInfo.InvariantCulture, $"  #{i} {Steps[i]}\n");
        sb.Append(CultureInfo.InvariantCulture,
            $"  rebuild: RandomScenario.Replay({Origin.Seed}, {Origin.Size}, [{string.Join(", ", Steps.Select(s => s.Index))}])\n");
        return sb.ToString();
    }
}

/// <summary>
/// Random scenarios for the property tests. FsCheck draws a seed and a size; the scenario is built from that
/// seed with plain <see cref="System.Random"/> code (easier to read than a tower of generator combinators), and
/// shrinks by removing steps. Queue and agent ids are 1..n; id 99 is used for unknown queues and agents.
/// </summary>
internal static class RandomScenario
{
    public const int Unknown = 99;

    public static FsCheck.Arbitrary<Scenario> Arbitrary { get; } = Arb.From(
        Gen.Sized(size => Gen.Choose(0, int.MaxValue - 1).Select(seed => Generate(seed, Math.Max(size, 4)))),
        Shrink);

    /// <summary>Scenarios whose commands also change the configuration as they run: queues, agents and memberships
    /// are replaced, removed and created again (so timers outlive what they were set for).</summary>
    public static FsCheck.Arbitrary<Scenario> Reconfiguring { get; } = Arb.From(
        Gen.Sized(size => Gen.Choose(0, int.MaxValue - 1).Select(seed => Generate(seed, Math.Max(size, 4), reconfigure: true))),
        Shrink);

    /// <summary>Rebuilds a printed scenario: the generator's output for (seed, size), keeping only the steps
    /// with the given original indices (all when none are given).</summary>
    public static Scenario Replay(int seed, int size, int[]? steps = null, bool reconfigure = false)
    {
        var s = Generate(seed, size, reconfigure);
        return steps == null ? s : s with { Steps = s.Steps.Where(x => steps.Contains(x.Index)).ToList() };
    }

    /// <summary>True for queues where FIFO within a priority is a promise: a serial strategy, no tier rules,
    /// no skills routing and no sticky agent.</summary>
    public static bool IsFifoQueue(QueueConfig q) =>
        q.Strategy != Strategy.RingAll && !q.TierRulesApply && !q.SkillsRouting && q.StickyAgentSeconds == 0;

    public static Scenario Generate(int seed, int size, bool reconfigure = false)
    {
        var rng = new Random(seed);
        var queueCount = rng.Next(1, 4);
        var agentCount = rng.Next(1, 7);
        var queues = Enumerable.Range(1, queueCount).Select(id => GenerateQueue(rng, id, queueCount)).ToList();
        var agents = Enumerable.Range(1, agentCount).Select(id => GenerateAgent(rng, id)).ToList();
        var members = new List<Membership>();
        foreach (var a in agents)
        {
            foreach (var q in queues)
            {
                if (rng.NextDouble() < 0.8) members.Add(new Membership(q.Id.Value, a.Id.Value, GenerateMember(rng)));
            }
        }

        var steps = new List<Step>();
        long at = 0;
        // Most agents log in early, so calls have someone to ring.
        foreach (var a in agents)
        {
            if (rng.NextDouble() < 0.85) steps.Add(new Step(steps.Count, at, new LogIn(a.Id.Value, null)));
        }
        var count = rng.Next(size / 2, size + 1);
        // Two scenarios in five are busy: many more calls, so that queues build up behind the agents.
        var extraCalls = rng.NextDouble() < 0.4 ? 0.25 : 0.0;
        while (steps.Count < count)
        {
            at += rng.NextDouble() switch
            {
                < 0.50 => 0,
                < 0.85 => rng.Next(1, 3_001),
                < 0.97 => rng.Next(3_000, 30_001),
                _ => rng.Next(30_000, 600_001),
            };
            var command = reconfigure && rng.NextDouble() < 0.06
                ? GenerateReconfiguration(rng, queueCount, agentCount)
                : GenerateCommand(rng, queueCount, agentCount, extraCalls);
            steps.Add(new Step(steps.Count, at, command));
        }

        // Half the scenarios start at 23:00 UTC so that some cross midnight (statistics roll over).
        var start = Harness.Start + (rng.Next(2) == 0 ? 0 : 14 * 3_600_000L);
        return new Scenario((seed, size), (ulong)rng.NextInt64(1, long.MaxValue), start, queues, agents, members, steps);
    }

    /// <summary>Smaller scenarios first: drop the second half, then ever smaller runs of steps.</summary>
    public static IEnumerable<Scenario> Shrink(Scenario s)
    {
        var n = s.Steps.Count;
        for (var chunk = n / 2; chunk >= 1; chunk /= 2)
        {
            for (var from = n - chunk; from >= 0; from -= chunk)
            {
                var steps = new List<Step>(n - chunk);
                steps.AddRange(s.Steps.Take(from));
                steps.AddRange(s.Steps.Skip(from + chunk));
                yield return s with { Steps = steps };
            }
        }
    }

    private static QueueConfig GenerateQueue(Random rng, int id, int queueCount)
    {
        // Half are "plain" queues where FIFO within a priority is checked.
        var plain = rng.NextDouble() < 0.5;
        var strategies = Enum.GetValues<Strategy>();
        var strategy = plain ? strategies[rng.Next(1, strategies.Length)] : strategies[rng.Next(strategies.Length)];
        return new QueueConfig
        {
            Id = new QueueId(id),
            Name = $"q{id}",
            Strategy = strategy,
            SkillsRouting = !plain && rng.NextDouble() < 0.3,
            TierRulesApply = !plain && rng.NextDouble() < 0.4,
            TierRuleWaitSeconds = rng.Next(0, 31),
            TierRuleWaitMultiplyLevel = rng.Next(2) == 0,
            StickyAgentSeconds = !plain && rng.NextDouble() < 0.25 ? 300 : 0,
            RingTimeoutSeconds = rng.Next(3, 31),
            RetrySeconds = rng.NextDouble() < 0.6 ? 0 : rng.Next(1, 16),
            WrapUpSeconds = rng.NextDouble() < 0.4 ? 0 : rng.Next(1, 31),
            MaxWaitSeconds = rng.NextDouble() < 0.4 ? 0 : rng.Next(20, 301),
            TimeoutDestination = GenerateDestination(rng, queueCount, id),
            MaxWaitNoAgentSeconds = rng.NextDouble() < 0.7 ? 0 : rng.Next(10, 121),
            LeaveWhenNoAgents = rng.NextDouble() < 0.15,
            NoAgentsDestination = GenerateDestination(rng, queueCount, id),
            MaxCallers = rng.NextDouble() < 0.7 ? 0 : rng.Next(1, 7),
            QueueFullDestination = GenerateDestination(rng, queueCount, id),
            NoAnswerMaxAttempts = rng.NextDouble() < 0.7 ? 0 : rng.Next(1, 6),
            NoAnswerDestination = GenerateDestination(rng, queueCount, id),
            AgentAutoReady = rng.NextDouble() < 0.9,
            AgentAutoNotReadyAfterNonQueueCall = rng.Next(2) == 0,
            ForceNotReadyOnReject = rng.NextDouble() < 0.2,
            SkipBusyAgents = rng.NextDouble() < 0.8,
            Weight = rng.Next(1, 4),
            SlaSeconds = rng.Next(0, 31),
            VipNumbers = rng.NextDouble() < 0.25 ? new HashSet<string> { "5550104" } : QueueConfig.EmptySet,
            VipPriority = rng.Next(1, 4),
            Blacklist = rng.NextDouble() < 0.2 ? new HashSet<string> { "5550105" } : QueueConfig.EmptySet,
            ExitKey = rng.NextDouble() < 0.3 ? "9" : null,
            ExitKeyDestination = GenerateDestination(rng, queueCount, id),
            NightModeDestination = GenerateDestination(rng, queueCount, id),
            IntroPrompt = rng.Next(2) == 0 ? "intro" : null,
            PeriodicPrompt = "periodic",
            PeriodicAnnounceSeconds = rng.NextDouble() < 0.7 ? 0 : rng.Next(15, 61),
            PositionAnnouncement = (PositionAnnouncement)rng.Next(3),
            PositionAnnounceSeconds = rng.Next(10, 31),
            WaitEstimator = (WaitEstimatorKind)rng.Next(3),
            Callback = new CallbackSettings
            {
                Enabled = rng.Next(2) == 0,
                Mode = (CallbackMode)rng.Next(2),
                OfferAfterSeconds = rng.Next(5, 61),
                MaxAttempts = rng.Next(1, 4),
                RetrySeconds = rng.Next(0, 61),
                OutboundPrefix = rng.Next(2) == 0 ? "9" : null,
            },
            AgentHangupTransfer = rng.NextDouble() < 0.1 ? "+15550166" : null,
        };
    }

    private static Destination GenerateDestination(Random rng, int queueCount, int self) => rng.Next(6) switch
    {
        0 => Destination.Hangup,
        // Another queue of the scenario: the engine refuses a destination that is the queue itself or no queue.
        1 or 2 => rng.Next(1, queueCount + 1) is var target && target != self ? Destination.ToQueue(new QueueId(target)) : Destination.Hangup,
        3 => Destination.ToNumber("+15550199"),
        4 => Destination.ToVoicemail("box"),
        _ => Destination.Callback,
    };

    private static AgentConfig GenerateAgent(Random rng, int id) => new()
    {
        Id = new AgentId(id),
        Name = $"a{id}",
        Kind = (AgentKind)rng.Next(2),
        RingTimeoutSeconds = rng.NextDouble() < 0.6 ? 0 : rng.Next(3, 26),
        BusyDelaySeconds = rng.NextDouble() < 0.7 ? 0 : rng.Next(1, 11),
        RejectDelaySeconds = rng.NextDouble() < 0.7 ? 0 : rng.Next(1, 11),
        NoAnswerDelaySeconds = rng.NextDouble() < 0.7 ? 0 : rng.Next(1, 11),
        WrapUpSeconds = rng.NextDouble() < 0.6 ? null : rng.Next(0, 21),
        MaxConsecutiveNoAnswers = rng.NextDouble() < 0.8 ? 0 : rng.Next(1, 4),
    };

    private static MemberConfig GenerateMember(Random rng) => new()
    {
        Level = rng.NextDouble() < 0.5 ? 0 : rng.Next(0, 3),
        Position = rng.Next(0, 6),
        SkillLevel = rng.Next(1, 4),
        RingDelaySeconds = rng.NextDouble() < 0.75 ? 0 : rng.Next(1, 6),
        RingTimeoutSeconds = rng.NextDouble() < 0.8 ? 0 : rng.Next(3, 21),
    };

    private static readonly string[] Numbers = ["5550101", "5550102", "5550103", "5550104", "5550105", ""];

    private static Command GenerateCommand(Random rng, int queueCount, int agentCount, double extraCalls)
    {
        int Agent() => rng.NextDouble() < 0.03 ? Unknown : rng.Next(1, agentCount + 1);
        int Queue() => rng.NextDouble() < 0.03 ? Unknown : rng.Next(1, queueCount + 1);
        CallPick Pick(CallFilter usual) => new(rng.NextDouble() switch
        {
            < 0.85 => usual,
            < 0.95 => CallFilter.Any,
            _ => CallFilter.Ended,
        }, rng.Next(0, 64));
        IReadOnlyList<int>? Queues()
        {
            if (rng.Next(2) == 0) return null;
            return Enumerable.Range(1, queueCount).Where(_ => rng.Next(2) == 0).DefaultIfEmpty(Queue()).ToList();
        }

        var roll = rng.NextDouble() < extraCalls ? 0 : rng.Next(100);
        return roll switch
        {
            < 19 => new EnqueueCall(Queue(), rng.NextDouble() < 0.7 ? 0 : rng.Next(-1, 4), Numbers[rng.Next(Numbers.Length)]),
            < 43 => new Respond(rng.Next(0, 64), rng.Next(20) switch
            {
                < 12 => Response.Answer,
                < 14 => Response.Reject,
                < 16 => Response.Busy,
                _ => Response.NoAnswer,
            }, null),
            < 46 => new Respond(Agent(), (Response)rng.Next(4), Pick(CallFilter.Any)),
            < 51 => new HangupByCaller(Pick(CallFilter.Any)),
            < 55 => new HangupByAgent(Pick(CallFilter.Talking)),
            < 60 => new TransferTo(Pick(CallFilter.Connected), rng.Next(5) switch
            {
                0 => Destination.ToNumber("+15550188"),
                1 => Destination.ToVoicemail("box"),
                _ => Destination.ToQueue(new QueueId(Queue())),
            }),
            < 63 => new TransferToOne(Pick(CallFilter.Connected), rng.Next(4) == 0 ? Agent() : -rng.Next(1, 64), rng.Next(6) switch
            {
                0 => Destination.ToNumber("+15550189"),
                1 => Destination.ToVoicemail("box"),
                2 => Destination.ToQueue(new QueueId(Queue())),
                3 => Destination.Hangup,
                _ => null,
            }),
            < 64 => new JoinConsultation(Pick(CallFilter.Connected), Pick(CallFilter.Connected)),
            < 70 => new LogIn(Agent(), Queues()),
            < 71 => new LogOut(Agent(), Queues()),
            < 78 => new SetStatus(Agent(), AgentStatus.Ready, null),
            < 80 => new SetStatus(Agent(), AgentStatus.NotReady, rng.Next(2) == 0 ? "BREAK" : "LUNCH"),
            < 81 => new SetStatus(Agent(), AgentStatus.WrapUp, null),
            < 84 => new NonQueueCall(Agent(), rng.Next(2) == 0),
            < 86 => new PickupCall(Pick(CallFilter.Queued), Agent()),
            < 89 => new AskCallback(Pick(CallFilter.Waiting), rng.Next(3) == 0 ? "5550177" : null),
            < 92 => new CallbackReached(Pick(CallFilter.Dialing), rng.Next(3) != 0),
            < 94 => new PressDigits(Pick(CallFilter.Waiting), rng.Next(3) switch { 0 => "3", 1 => "9", _ => "1" }),
            < 95 => new CancelByHost(Pick(CallFilter.Queued)),
            < 96 => new NightMode(Queue(), rng.Next(3) == 0),
            < 97 => new LoseMedia(Pick(CallFilter.Any)),
            < 98 => new LeaveVoicemail(Pick(CallFilter.Ended), Queue(), rng.Next(0, 4)),
            _ => new Tick(),
        };
    }

    private static Command GenerateReconfiguration(Random rng, int queueCount, int agentCount)
    {
        var queue = rng.Next(1, queueCount + 1);
        var agent = rng.Next(1, agentCount + 1);
        return rng.Next(6) switch
        {
            0 => new ChangeQueue(GenerateQueue(rng, queue, queueCount)),
            1 => new DropQueue(queue),
            2 => new ChangeAgent(GenerateAgent(rng, agent)),
            3 => new DropAgent(agent),
            4 => new ChangeMember(new Membership(queue, agent, GenerateMember(rng))),
            _ => new DropMember(queue, agent),
        };
    }

    internal static string Describe(QueueConfig q)
    {
        var sb = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"q{q.Id} {q.Strategy}"));
        if (IsFifoQueue(q)) sb.Append(" (fifo)");
        if (q.SkillsRouting) sb.Append(" skills");
        if (q.TierRulesApply) sb.Append(CultureInfo.InvariantCulture, $" tiers {q.TierRuleWaitSeconds}s{(q.TierRuleWaitMultiplyLevel ? "*level" : "")}");
        if (q.StickyAgentSeconds > 0) sb.Append(CultureInfo.InvariantCulture, $" sticky {q.StickyAgentSeconds}s");
        sb.Append(CultureInfo.InvariantCulture, $" ring {q.RingTimeoutSeconds}s");
        if (q.RetrySeconds > 0) sb.Append(CultureInfo.InvariantCulture, $" retry {q.RetrySeconds}s");
        if (q.WrapUpSeconds > 0) sb.Append(CultureInfo.InvariantCulture, $" wrap {q.WrapUpSeconds}s");
        if (q.MaxWaitSeconds > 0) sb.Append(CultureInfo.InvariantCulture, $" maxwait {q.MaxWaitSeconds}s->{Describe(q.TimeoutDestination)}");
        if (q.MaxWaitNoAgentSeconds > 0) sb.Append(CultureInfo.InvariantCulture, $" noagent {q.MaxWaitNoAgentSeconds}s");
        if (q.LeaveWhenNoAgents) sb.Append(" leave-when-no-agents");
        if (q.MaxWaitNoAgentSeconds > 0 || q.LeaveWhenNoAgents) sb.Append("->").Append(Describe(q.NoAgentsDestination));
        if (q.MaxCallers > 0) sb.Append(CultureInfo.InvariantCulture, $" max {q.MaxCallers} callers->{Describe(q.QueueFullDestination)}");
        if (q.NoAnswerMaxAttempts > 0) sb.Append(CultureInfo.InvariantCulture, $" after {q.NoAnswerMaxAttempts} unanswered->{Describe(q.NoAnswerDestination)}");
        if (q.VipNumbers.Count > 0) sb.Append(CultureInfo.InvariantCulture, $" vip {string.Join(",", q.VipNumbers)}->priority {q.VipPriority}");
        if (q.Blacklist.Count > 0) sb.Append(CultureInfo.InvariantCulture, $" blacklist {string.Join(",", q.Blacklist)}");
        if (q.ExitKey != null) sb.Append(CultureInfo.InvariantCulture, $" exit key {q.ExitKey}->{Describe(q.ExitKeyDestination)}");
        sb.Append(CultureInfo.InvariantCulture, $" night->{Describe(q.NightModeDestination)}");
        if (q.AgentHangupTransfer != null) sb.Append(" agent-hangup->number");
        if (!q.AgentAutoReady) sb.Append(" no-auto-ready");
        if (!q.AgentAutoReady && q.AgentAutoNotReadyAfterNonQueueCall) sb.Append(" not-ready-after-non-queue");
        if (q.ForceNotReadyOnReject) sb.Append(" not-ready-on-reject");
        if (!q.SkipBusyAgents) sb.Append(" rings-busy-agents");
        if (q.Weight != 1) sb.Append(CultureInfo.InvariantCulture, $" weight {q.Weight}");
        if (q.Callback.Enabled)
        {
            var cb = q.Callback;
            sb.Append(CultureInfo.InvariantCulture, $" callback {cb.Mode}");
            if (cb.Mode == CallbackMode.Timeout) sb.Append(CultureInfo.InvariantCulture, $" after {cb.OfferAfterSeconds}s");
            sb.Append(CultureInfo.InvariantCulture, $" {cb.MaxAttempts} attempts retry {cb.RetrySeconds}s");
        }
        return sb.ToString();
    }

    internal static string Describe(Destination d) => d.Kind switch
    {
        DestinationKind.Queue => $"q{d.Queue}",
        DestinationKind.Number => "number",
        DestinationKind.Voicemail => "voicemail",
        DestinationKind.Callback => "callback",
        _ => "hangup",
    };

    internal static string Describe(AgentConfig a)
    {
        var sb = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"a{a.Id} {a.Kind}"));
        if (a.RingTimeoutSeconds > 0) sb.Append(CultureInfo.InvariantCulture, $" ring {a.RingTimeoutSeconds}s");
        if (a.BusyDelaySeconds > 0) sb.Append(CultureInfo.InvariantCulture, $" busy-delay {a.BusyDelaySeconds}s");
        if (a.RejectDelaySeconds > 0) sb.Append(CultureInfo.InvariantCulture, $" reject-delay {a.RejectDelaySeconds}s");
        if (a.NoAnswerDelaySeconds > 0) sb.Append(CultureInfo.InvariantCulture, $" no-answer-delay {a.NoAnswerDelaySeconds}s");
        if (a.WrapUpSeconds is { } w) sb.Append(CultureInfo.InvariantCulture, $" wrap {w}s");
        if (a.MaxConsecutiveNoAnswers > 0) sb.Append(CultureInfo.InvariantCulture, $" max-no-answers {a.MaxConsecutiveNoAnswers}");
        return sb.ToString();
    }

    internal static string Describe(Membership m)
    {
        var c = m.Config;
        var sb = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"q{m.Queue} level {c.Level} pos {c.Position} skill {c.SkillLevel}"));
        if (c.RingDelaySeconds > 0) sb.Append(CultureInfo.InvariantCulture, $" delay {c.RingDelaySeconds}s");
        if (c.RingTimeoutSeconds > 0) sb.Append(CultureInfo.InvariantCulture, $" ring {c.RingTimeoutSeconds}s");
        return sb.ToString();
    }
}

/// <summary>
/// Runs a <see cref="Scenario"/> on a fresh engine, step by step. Before each command it advances the clock to
/// the step's time (firing due timers), so that the command is resolved against the state it will meet. It
/// always checks what every command must honour, whatever property is under test: a command that does not
/// return Ok changes nothing (no event, same state); a reply about an offer is Ok exactly when the agent has
/// that offer; events never go back in time nor run ahead of the clock.
/// </summary>
internal sealed class ScenarioRun
{
    private static readonly CallId NeverIssued = new(999_999);

    private readonly List<EngineEvent> _stepEvents = new();
    private readonly HashSet<CallId> _ended = new();
    private readonly List<CallId> _endedInOrder = new();

    public ScenarioRun(Scenario scenario)
    {
        Scenario = scenario;
        Now = scenario.Start;
        Engine = new CallCenter(new EngineOptions { Seed = scenario.Seed });
        // Destinations may name any queue of the scenario: every queue exists before any names another.
        foreach (var q in scenario.Queues)
            Require(Engine.UpsertQueue(scenario.Queues.Aggregate(q, (c, other) => c.WithoutDestination(other.Id)), Now) == CommandResult.Ok, $"setup: queue {q.Id}");
        foreach (var q in scenario.Queues) Require(Engine.UpsertQueue(q, Now) == CommandResult.Ok, $"setup: queue {q.Id}");
        foreach (var a in scenario.Agents) Require(Engine.UpsertAgent(a, Now) == CommandResult.Ok, $"setup: agent {a.Id}");
        foreach (var m in scenario.Members)
        {
            Require(Engine.SetMember(new QueueId(m.Queue), new AgentId(m.Agent), m.Config, Now) == CommandResult.Ok,
                $"setup: member q{m.Queue} a{m.Agent}");
        }
        Events.AddRange(Engine.TakeEvents());
    }

    /// <summary>A run that goes on from <paramref name="from"/>'s place in the scenario with another engine (one
    /// restored from a snapshot of <paramref name="from"/>'s), knowing the calls it knew.</summary>
    private ScenarioRun(ScenarioRun from, CallCenter engine)
    {
        Scenario = from.Scenario;
        Now = from.Now;
        Engine = engine;
        Enqueued.AddRange(from.Enqueued);
        _ended.UnionWith(from._ended);
        _endedInOrder.AddRange(from._endedInOrder);
    }

    public ScenarioRun Fork(CallCenter engine) => new(this, engine);

    public Scenario Scenario { get; }
    public CallCenter Engine { get; }
    public long Now { get; private set; }

    /// <summary>Every event so far, in order.</summary>
    public List<EngineEvent> Events { get; } = new();

    /// <summary>Each step's command result, in order (Tick counts as Ok).</summary>
    public List<CommandResult> Results { get; } = new();

    /// <summary>Calls the engine accepted, in arrival order, with the priority they wait with and their arrival time.</summary>
    public List<(CallId Id, int Priority, long At)> Enqueued { get; } = new();

    /// <summary>The step being checked, or -1 while draining.</summary>
    public int StepIndex { get; private set; } = -1;

    /// <summary>Runs every step, calling <paramref name="afterStep"/> with the events each produced (timers
    /// fired on the way included).</summary>
    public ScenarioRun Run(Action<ScenarioRun, IReadOnlyList<EngineEvent>>? afterStep = null) =>
        Run(Scenario.Steps.Count, afterStep);

    private ScenarioRun Run(int steps, Action<ScenarioRun, IReadOnlyList<EngineEvent>>? afterStep)
    {
        for (var i = 0; i < steps; i++) RunStep(i, afterStep);
        return this;
    }

    /// <summary>Runs step <paramref name="i"/> alone; returns the events it produced (timers fired on the way included).</summary>
    public IReadOnlyList<EngineEvent> RunStep(int i, Action<ScenarioRun, IReadOnlyList<EngineEvent>>? afterStep = null)
    {
        StepIndex = i;
        var step = Scenario.Steps[i];
        var at = Scenario.Start + step.At;
        _stepEvents.Clear();
        Engine.Advance(at);
        Now = at;
        Collect();
        Results.Add(Execute(step.Command));
        afterStep?.Invoke(this, _stepEvents);
        return _stepEvents;
    }

    /// <summary>
    /// Ends every call: everyone logs out (offers are taken back, wrap-ups end), then each remaining call is
    /// hung up by its caller and the clock moves on an hour, until no call is left.
    /// </summary>
    public ScenarioRun Drain(Action<ScenarioRun, IReadOnlyList<EngineEvent>>? afterStep = null)
    {
        StepIndex = -1;
        _stepEvents.Clear();
        Now += 1_000;
        foreach (var a in Engine.Agents.OrderBy(a => a.Id.Value).Select(a => a.Id).ToList()) Engine.Logout(a, null, Now);
        Collect();
        afterStep?.Invoke(this, _stepEvents);
        for (var round = 0; round < 20 && Engine.ActiveCalls.Count > 0; round++)
        {
            _stepEvents.Clear();
            foreach (var c in Engine.ActiveCalls.OrderBy(c => c.Id.Value).Select(c => c.Id).ToList()) Engine.CallerHangup(c, Now);
            Collect();
            Now += 3_600_000;
            Engine.Advance(Now);
            Collect();
            afterStep?.Invoke(this, _stepEvents);
        }
        Require(Engine.ActiveCalls.Count == 0,
            $"drain left {Engine.ActiveCalls.Count} calls: {string.Join(", ", Engine.ActiveCalls.Select(c => $"{c.Id} {c.State}"))}");
        return this;
    }

    private CommandResult Execute(Command command)
    {
        var before = Fingerprint();
        bool? expectOk = null;
        CommandResult result;
        switch (command)
        {
            case EnqueueCall e:
                {
                    var r = Engine.Enqueue(new QueueId(e.Queue), new CallerInfo(e.Number, null, e.Priority), Now);
                    result = r.Result;
                    expectOk = Engine.TryGetQueue(new QueueId(e.Queue), out _);
                    // The priority it waits with (a VIP number raises it), which is kept if it moves on.
                    var priority = Engine.TryGetCall(r.Call, out var call) ? call.Priority : e.Priority;
                    if (result == CommandResult.Ok) Enqueued.Add((r.Call, priority, Now));
                    break;
                }
            case Respond r:
                {
                    AgentId agent;
                    CallId call;
                    CallId? offered;
                    if (r.Call is { } pick)
                    {
                        agent = new AgentId(r.Agent);
                        offered = Engine.TryGetAgent(agent, out var a) ? a.OfferCall?.Id : null;
                        call = Resolve(pick);
                    }
                    else
                    {
                        var ringing = Engine.Agents.Where(a => a.OfferCall != null).OrderBy(a => a.Id.Value).ToList();
                        var all = Engine.Agents.OrderBy(a => a.Id.Value).ToList();
                        var chosen = ringing.Count > 0 ? ringing[r.Agent % ringing.Count] : all.Count > 0 ? all[r.Agent % all.Count] : null;
                        agent = chosen?.Id ?? new AgentId(RandomScenario.Unknown);
                        offered = chosen?.OfferCall?.Id;
                        call = offered ?? Resolve(new CallPick(CallFilter.Any, r.Agent));
                    }
                    expectOk = offered == call;
                    result = r.Response switch
                    {
                        Response.Answer => Engine.AgentAnswered(call, agent, Now),
                        Response.Reject => Engine.AgentRejected(call, agent, Now),
                        Response.Busy => Engine.AgentBusy(call, agent, Now),
                        _ => Engine.AgentNoAnswer(call, agent, Now),
                    };
                    break;
                }
            case HangupByCaller h:
                result = Engine.CallerHangup(Resolve(h.Call), Now);
                break;
            case HangupByAgent h:
                result = Engine.AgentHangup(Resolve(h.Call), Now);
                break;
            case LogIn l:
                result = Engine.Login(new AgentId(l.Agent), l.Queues?.Select(q => new QueueId(q)).ToList(), Now);
                break;
            case LogOut l:
                result = Engine.Logout(new AgentId(l.Agent), l.Queues?.Select(q => new QueueId(q)).ToList(), Now);
                break;
            case SetStatus s:
                result = Engine.SetAgentStatus(new AgentId(s.Agent), s.Status, s.Reason, Now);
                break;
            case NonQueueCall n:
                result = Engine.SetNonQueueCall(new AgentId(n.Agent), n.OnCall, Now);
                break;
            case PickupCall p:
                result = Engine.Pickup(Resolve(p.Call), new AgentId(p.Agent), Now);
                break;
            case AskCallback cb:
                result = Engine.RequestCallback(Resolve(cb.Call), cb.Number, Now);
                break;
            case CallbackReached cb:
                result = cb.Answered ? Engine.CallbackAnswered(Resolve(cb.Call), Now) : Engine.CallbackFailed(Resolve(cb.Call), Now);
                break;
            case PressDigits d:
                result = Engine.CallerDigits(Resolve(d.Call), d.Digits, Now);
                break;
            case CancelByHost c:
                result = Engine.CancelCall(Resolve(c.Call), Now);
                break;
            case TransferTo t:
                result = Engine.TransferCall(Resolve(t.Call), t.To, Now);
                break;
            case JoinConsultation j:
                result = Engine.CompleteAttendedTransfer(Resolve(j.Call), Resolve(j.Consultation), Now);
                break;
            case TransferToOne t:
                result = Engine.TransferToAgent(Resolve(t.Call), t.Agent < 0 ? FreeAgent(-t.Agent) : new AgentId(t.Agent), t.Fallback, Now);
                break;
            case LoseMedia m:
                result = Engine.MediaLost(Resolve(m.Call), Now);
                break;
            case LeaveVoicemail v:
                result = Engine.VoicemailLeft(new QueueId(v.Queue), Resolve(v.Call), v.Voicemail, 12_000, "5550100", Now);
                break;
            case NightMode n:
                result = Engine.SetNightMode(new QueueId(n.Queue), n.On, Now);
                break;
            case Tick:
                Engine.Advance(Now);
                result = CommandResult.Ok;
                break;
            case ChangeQueue q:
                result = Engine.UpsertQueue(q.Config, Now);
                break;
            case DropQueue q:
                result = Engine.RemoveQueue(new QueueId(q.Queue), Now);
                break;
            case ChangeAgent a:
                result = Engine.UpsertAgent(a.Config, Now);
                break;
            case DropAgent a:
                result = Engine.RemoveAgent(new AgentId(a.Agent), Now);
                break;
            case ChangeMember m:
                result = Engine.SetMember(new QueueId(m.Member.Queue), new AgentId(m.Member.Agent), m.Member.Config, Now);
                break;
            case DropMember m:
                result = Engine.RemoveMember(new QueueId(m.Queue), new AgentId(m.Agent), Now);
                break;
            default:
                throw new InvalidOperationException($"unknown command {command}");
        }

        var events = Engine.PendingEvents.Length;
        Collect();
        if (expectOk is { } ok) Require((result == CommandResult.Ok) == ok, $"returned {result}, expected {(ok ? "Ok" : "a failure")}");
        if (result != CommandResult.Ok)
        {
            Require(events == 0, $"returned {result} but emitted {events} events: {string.Join("; ", _stepEvents.TakeLast(events))}");
            if (Fingerprint() != before)
                Require(false, $"returned {result} but changed the state:\n--- before\n{SnapshotBefore(StepIndex)}\n--- after (below)");
        }
        return result;
    }

    /// <summary>The n-th (modulo) agent that is Ready and idle now, by id; an unknown id when there is none.</summary>
    private AgentId FreeAgent(int n)
    {
        var free = Engine.Agents.Where(a => a.Status == AgentStatus.Ready && a.Activity == AgentActivity.Idle && !a.InDelay)
            .OrderBy(a => a.Id.Value).ToList();
        return free.Count > 0 ? free[n % free.Count].Id : new AgentId(RandomScenario.Unknown);
    }

    private CallId Resolve(CallPick pick)
    {
        if (pick.Filter == CallFilter.Ended)
            return _endedInOrder.Count == 0 ? NeverIssued : _endedInOrder[pick.N % _endedInOrder.Count];
        var matches = Engine.ActiveCalls.Where(c => pick.Filter switch
        {
            CallFilter.Queued => c.IsQueued,
            CallFilter.Waiting => c.State == CallState.Waiting,
            CallFilter.Talking => c.State is CallState.Connected or CallState.WrapUp or CallState.CallbackDialing,
            CallFilter.Dialing => c.State == CallState.CallbackDialing,
            CallFilter.Connected => c.State == CallState.Connected,
            _ => true,
        }).OrderBy(c => c.Id.Value).ToList();
        if (matches.Count > 0) return matches[pick.N % matches.Count].Id;
        return Enqueued.Count > 0 ? Enqueued[pick.N % Enqueued.Count].Id : NeverIssued;
    }

    private void Collect()
    {
        foreach (var e in Engine.PendingEvents)
        {
            var last = Events.Count > 0 ? Events[^1].At : long.MinValue;
            Require(e.At >= last, $"event {e.Kind} at {e.At} goes back in time (previous at {last})");
            Require(e.At <= Now, $"event {e.Kind} at {e.At} is ahead of the clock ({Now})");
            if (e.Kind == EventKind.CallEnded && _ended.Add(e.Call)) _endedInOrder.Add(e.Call);
            Events.Add(e);
            _stepEvents.Add(e);
        }
        Engine.ClearEvents();
    }

    /// <summary>Throws a failure that names the step, when <paramref name="condition"/> is false.</summary>
    public void Require(bool condition, string message)
    {
        if (condition) return;
        var where = StepIndex >= 0 && StepIndex < Scenario.Steps.Count
            ? $"step #{StepIndex} ({Scenario.Steps[StepIndex]})"
            : "drain";
        throw new Xunit.Sdk.XunitException($"after {where}: {message}\nstate:\n{Snapshot()}");
    }

    /// <summary>The state a step met (after its timers fired), rebuilt by replaying the steps before it.</summary>
    private string SnapshotBefore(int step)
    {
        var replay = new ScenarioRun(Scenario).Run(step, null);
        replay.Engine.Advance(Scenario.Start + Scenario.Steps[step].At);
        return replay.Snapshot();
    }

    /// <summary>A hash of what <see cref="Snapshot"/> prints: cheap enough to take before every command.</summary>
    public int Fingerprint()
    {
        var h = new HashCode();
        h.Add(Engine.NextDeadline);
        foreach (var q in Engine.Queues)
        {
            h.Add(q.Id);
            h.Add(q.NightMode);
            h.Add(q.WaitingCount);
            h.Add(q.RingingCount);
            h.Add(q.CallbackCount);
            h.Add(q.TalkingCount);
            h.Add(q.LoggedInAgents);
            h.Add(q.AvailableAgents);
            h.Add(q.BusyAgents);
            h.Add(q.NotReadyAgents);
            h.Add(q.WrapUpAgents);
            h.Add(q.RoundRobinKey);
            var t = q.Today;
            h.Add(t.Offered);
            h.Add(t.Answered);
            h.Add(t.Abandoned);
            h.Add(t.TimedOut);
            h.Add(t.Overflowed);
            h.Add(t.CallbacksRequested);
            h.Add(t.Left);
            h.Add(t.SumWaitAllMs);
            foreach (var c in q.WaitingCalls) h.Add(c.Id);
        }
        foreach (var a in Engine.Agents)
        {
            h.Add(a.Id);
            h.Add(a.Status);
            h.Add(a.Reason);
            h.Add(a.Activity);
            h.Add(a.CurrentCall);
            h.Add(a.DelayUntil);
            h.Add(a.ConsecutiveNoAnswers);
            h.Add(a.LoggedInQueueCount);
            h.Add(a.LastIdleSince);
            h.Add(a.StatusSince);
            h.Add(a.NonQueueBusy);
            h.Add(a.Today.Offered);
            h.Add(a.Today.Answered);
            h.Add(a.Today.Missed);
            h.Add(a.Today.Rejected);
            h.Add(a.Today.TalkMs);
            foreach (var m in a.Memberships)
            {
                h.Add(m.Queue.Id);
                h.Add(m.LoggedIn);
                h.Add(m.LastOfferedAt);
                h.Add(m.LastAnsweredAt);
            }
        }
        foreach (var c in Engine.ActiveCalls)
        {
            h.Add(c.Id);
            h.Add(c.State);
            h.Add(c.Queue?.Id);
            h.Add(c.Priority);
            h.Add(c.Agent);
            h.Add(c.QueueEnteredAt);
            h.Add(c.NotBefore);
            foreach (var o in c.Offers) h.Add(o.Id);
            var r = c.Record;
            h.Add(r.AnsweredAt);
            h.Add(r.TalkEndedAt);
            h.Add(r.Disposition);
            h.Add(r.ExitReason);
            h.Add(r.WasCallback);
            h.Add(r.CallbackNumber);
            foreach (var v in r.Queues) h.Add(v);
            foreach (var x in r.Attempts) h.Add(x);
        }
        return h.ToHashCode();
    }

    /// <summary>Everything observable about the engine's state, as text (also what a failure prints).</summary>
    public string Snapshot()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"next deadline {Engine.NextDeadline}\n");
        foreach (var q in Engine.Queues.OrderBy(q => q.Id.Value))
        {
            sb.Append(inv, $"q{q.Id}: night {q.NightMode} waiting {q.WaitingCount} ringing {q.RingingCount} callbacks {q.CallbackCount} talking {q.TalkingCount}");
            sb.Append(inv, $" agents in {q.LoggedInAgents} avail {q.AvailableAgents} busy {q.BusyAgents} nr {q.NotReadyAgents} wrap {q.WrapUpAgents} rr {q.RoundRobinKey}");
            var t = q.Today;
            sb.Append(inv, $" today {t.Offered}/{t.Answered}/{t.Abandoned}/{t.TimedOut}/{t.Overflowed}/{t.CallbacksRequested}/{t.Left}/{t.SumWaitAllMs}");
            sb.Append(inv, $" order [{string.Join(",", q.WaitingCalls.Select(c => c.Id))}]\n");
        }
        foreach (var a in Engine.Agents.OrderBy(a => a.Id.Value))
        {
            sb.Append(inv, $"a{a.Id}: {a.Status} {a.Reason} {a.Activity} call {a.CurrentCall} delay-until {a.DelayUntil} no-answers {a.ConsecutiveNoAnswers}");
            sb.Append(inv, $" queues-in {a.LoggedInQueueCount} idle-since {a.LastIdleSince} status-since {a.StatusSince} non-queue {a.NonQueueBusy}");
            sb.Append(inv, $" today {a.Today.Offered}/{a.Today.Answered}/{a.Today.Missed}/{a.Today.Rejected}/{a.Today.TalkMs}");
            foreach (var m in a.Memberships) sb.Append(inv, $" [q{m.Queue.Id} in {m.LoggedIn} offered {m.LastOfferedAt} answered {m.LastAnsweredAt}]");
            sb.Append('\n');
        }
        foreach (var c in Engine.ActiveCalls.OrderBy(c => c.Id.Value))
        {
            sb.Append(inv, $"call {c.Id}: {c.State} q{c.Queue?.Id} priority {c.Priority} agent {c.Agent} offers [{string.Join(",", c.Offers.Select(o => o.Id))}]");
            sb.Append(inv, $" entered {c.QueueEnteredAt} not-before {c.NotBefore} ").Append(RecordText(c.Record)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>A call record's whole content as text (records compare by content through this).</summary>
    public static string RecordText(CallRecord r)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"{r.Id} '{r.CallerNumber}' p{r.Priority} entered {r.EnteredAt} answered {r.AnsweredAt} by {r.AnsweredBy} in {r.AnsweredIn}");
        sb.Append(inv, $" talk-end {r.TalkEndedAt} ended {r.EndedAt} {r.Disposition} {r.ExitReason} dest {r.DestinationTarget}");
        sb.Append(inv, $" callback {r.WasCallback} {r.CallbackNumber} visits [");
        foreach (var v in r.Queues) sb.Append(inv, $"q{v.Queue} {v.EnteredAt}-{v.LeftAt} {v.ExitReason};");
        sb.Append("] attempts [");
        foreach (var x in r.Attempts) sb.Append(inv, $"a{x.Agent} q{x.Queue} {x.OfferedAt}-{x.EndedAt} {x.Outcome}{(x.Pickup ? " pickup" : "")};");
        return sb.Append(']').ToString();
    }
}
