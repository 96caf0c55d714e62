using Lineup.Engine;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Tests;

/// <summary>The command log is the tenant's durable truth: every command must survive a JSON round trip exactly, and
/// replaying a log must rebuild the same engine state.</summary>
public class CommandLogTests
{
    private static readonly QueueConfig RichQueue = new()
    {
        Id = new QueueId(5),
        Name = "sales",
        Extension = "700",
        Strategy = Strategy.LeastRecentlyAnswered,
        SkillsRouting = true,
        MaxWaitSeconds = 120,
        VipNumbers = new HashSet<string> { "+1555", "+1666" },
        Blacklist = new HashSet<string> { "666" },
        Callback = new CallbackSettings { Enabled = true, Mode = CallbackMode.Timeout, OfferAfterSeconds = 30, MaxAttempts = 3 },
        TimeoutDestination = Destination.ToQueue(new QueueId(6)),
        NoAgentsDestination = Destination.ToNumber("+18005550000"),
        PositionAnnouncement = PositionAnnouncement.OnEntryThenPeriodically,
        TierRulesApply = true,
        TierRuleWaitSeconds = 15,
        DialectData = new Dictionary<string, string> { ["fonouc"] = """{"ai_assist":true}""", ["kazoo"] = "{}" },
        Active = false,
        InactiveDestination = Destination.ToNumber("+18005550001"),
        DispositionCodes = ["sale", "no_sale"],
        DispositionRequired = true,
        AgentAnnouncePrompt = "17",
        AgentAnnounceWaitTime = true,
        OfficeHours = new OfficeHours
        {
            Weekly = [new OpeningInterval(DayOfWeek.Monday, 540, 1020)],
            Holidays = [new DateOnly(2026, 12, 25)],
        },
    };

    public static TheoryData<TenantCommand> Commands() => new()
    {
        new UpsertQueueCommand(RichQueue),
        new RemoveQueueCommand(5),
        new UpsertAgentCommand(new AgentConfig { Id = new AgentId(7), Name = "Ana", Kind = AgentKind.Remote, Number = "+1999", WrapUpSeconds = 5, NoAnswerDelaySeconds = 10 }),
        new RemoveAgentCommand(7),
        new SetMemberCommand(5, 7, new MemberConfig { Level = 2, Position = 3, SkillLevel = 4, RingDelaySeconds = 1, RingTimeoutSeconds = 9 }),
        new RemoveMemberCommand(5, 7),
        new SetMembersCommand(5, [new MemberEntry(7, new MemberConfig { Level = 1 }), new MemberEntry(8, MemberConfig.Default)]),
        new LoginCommand(7, [5, 6]),
        new LogoutCommand(7, null),
        new LoginCommand(7, null, "phone"),
        new LogoutCommand(7, null, "phone"),
        new SetDispositionCommand(1_000_000_001, 7, "sale"),
        new SetNightModeCommand(5, true),
        new SetNightModeCommand(5, null),
        new SetMonitorCommand(1_000_000_001, SupervisionMode.Whisper, "1002"),
        new SetMonitorCommand(1_000_000_001, null, null),
        new SetStatusCommand(7, AgentStatus.NotReady, "LUNCH"),
        new EnqueueCommand(5, "+1555", "Bob", 3, "ext-1"),
        new CallEventCommand(1_000_000_001, CallEventType.Dtmf, null, "3"),
        new PickupCommand(1_000_000_001, 7),
        new SetRecordingCommand(1_000_000_001, "1000000001.wav"),
        new TickCommand(),
    };

    [Fact]
    public void A_recording_id_set_on_a_live_call_reaches_its_cdr_and_an_ended_call_is_refused()
    {
        var engine = new CallCenter();
        engine.UpsertQueue(new QueueConfig { Id = new QueueId(1), RecordCalls = true }, 0);
        var enqueue = new EnqueueCommand(1, "+1555", null, 0, null);
        Assert.Equal(CommandResult.Ok, enqueue.Apply(engine, 1));
        Assert.Equal(CommandResult.Ok, new SetRecordingCommand(enqueue.Call.Value, "r1.wav").Apply(engine, 2));
        Assert.Equal(CommandResult.Ok, new CallEventCommand(enqueue.Call.Value, CallEventType.CallerHangup, null, null).Apply(engine, 3));
        var ended = engine.TakeEvents().Single(e => e.Kind == EventKind.CallEnded);
        Assert.Equal("r1.wav", Lineup.Server.Records.CdrRecord.From(ended.Record!).RecordingId);
        Assert.Equal(CommandResult.UnknownCall, new SetRecordingCommand(enqueue.Call.Value, "r2.wav").Apply(engine, 4));
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_round_trips_through_the_log(TenantCommand command)
    {
        var copy = TenantCommand.Deserialize(command.Serialize());
        Assert.Equal(command.GetType(), copy.GetType());
        Assert.Equal(command.Serialize(), copy.Serialize());
    }

    [Fact]
    public void Queue_settings_survive_the_log_field_for_field()
    {
        var copy = (UpsertQueueCommand)TenantCommand.Deserialize(new UpsertQueueCommand(RichQueue).Serialize());
        Assert.Equal(RichQueue with
        {
            VipNumbers = copy.Config.VipNumbers,
            Blacklist = copy.Config.Blacklist,
            DialectData = copy.Config.DialectData,
            DispositionCodes = copy.Config.DispositionCodes,
            OfficeHours = copy.Config.OfficeHours,
        }, copy.Config);
        Assert.Equal(RichQueue.DispositionCodes, copy.Config.DispositionCodes);
        Assert.Equal(RichQueue.OfficeHours!.Weekly, copy.Config.OfficeHours!.Weekly);
        Assert.Equal(RichQueue.OfficeHours.Holidays, copy.Config.OfficeHours.Holidays);
        Assert.Equal(RichQueue.DialectData.OrderBy(kv => kv.Key), copy.Config.DialectData.OrderBy(kv => kv.Key));
        Assert.Equal(RichQueue.VipNumbers.Order(), copy.Config.VipNumbers.Order());
        Assert.Equal(RichQueue.Blacklist.Order(), copy.Config.Blacklist.Order());
    }

    [Fact]
    public void Replaying_the_log_rebuilds_the_same_state()
    {
        const long t0 = 1_767_603_600_000;
        var log = new List<(long At, string Body)>();
        var live = new CallCenter(new EngineOptions { CallIdBase = 1_000_000_000 });
        void Run(TenantCommand c, long at)
        {
            if (c.Apply(live, at) == CommandResult.Ok) log.Add((at, c.Serialize()));
        }
        Run(new UpsertQueueCommand(new QueueConfig { Id = new QueueId(1), Strategy = Strategy.RoundRobin, WrapUpSeconds = 3 }), t0);
        for (var a = 1; a <= 3; a++)
        {
            Run(new UpsertAgentCommand(new AgentConfig { Id = new AgentId(a) }), t0);
            Run(new SetMemberCommand(1, a, new MemberConfig { Position = a }), t0);
            Run(new LoginCommand(a, null), t0);
        }
        Run(new EnqueueCommand(1, "100", null, 0, null), t0 + 1000);
        Run(new EnqueueCommand(1, "200", null, 0, null), t0 + 2000);
        Run(new CallEventCommand(1_000_000_001, CallEventType.AgentAnswered, 1, null), t0 + 5000);
        Run(new EnqueueCommand(1, "300", null, 0, null), t0 + 30_000);

        var replayed = new CallCenter(new EngineOptions { CallIdBase = 1_000_000_000 });
        foreach (var (at, body) in log) TenantCommand.Deserialize(body).Apply(replayed, at);
        live.Advance(t0 + 60_000);
        replayed.Advance(t0 + 60_000);

        string Snapshot(CallCenter e) => string.Join("|",
            e.Agents.OrderBy(a => a.Id.Value).Select(a => $"{a.Id}:{a.Status}:{a.Activity}:{a.CurrentCall}")
                .Concat(e.ActiveCalls.OrderBy(c => c.Id.Value).Select(c => $"{c.Id}:{c.State}:{c.Agent}:{c.Record.Attempts.Count}")));
        Assert.Equal(Snapshot(live), Snapshot(replayed));
        Assert.Contains("1000000001:Connected", Snapshot(replayed), StringComparison.Ordinal);
    }

    [Fact]
    public void A_native_update_keeps_the_dialects_settings_and_a_dialect_update_replaces_them()
    {
        var engine = new CallCenter(new EngineOptions());
        // The queue its timeout destination names must exist first: the engine owns its references.
        Assert.Equal(CommandResult.Ok, new UpsertQueueCommand(new QueueConfig { Id = new QueueId(6) }).Apply(engine, 1000));
        Assert.Equal(CommandResult.Ok, new UpsertQueueCommand(RichQueue).Apply(engine, 1000));
        var native = RichQueue with { Name = "renamed", DialectData = QueueConfig.NoDialectData };

        new UpsertQueueCommand(native, KeepDialectData: true).Apply(engine, 2000);
        Assert.True(engine.TryGetQueue(RichQueue.Id, out var q));
        Assert.Equal("renamed", q.Config.Name);
        Assert.Equal("""{"ai_assist":true}""", q.Config.DialectData["fonouc"]);

        new UpsertQueueCommand(native).Apply(engine, 3000);
        Assert.Empty(q.Config.DialectData);
    }
}
