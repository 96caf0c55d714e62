using Lineup.Engine;
using Lineup.Server.Events;
using Lineup.Server.Records;

namespace Lineup.Server.Tests;

/// <summary>
/// The JSON Lineup stores and publishes is a contract of its own (<see cref="RecordJson"/>), pinned here byte for
/// byte: a CDR row, a daily statistics row, and the webhook bodies of <c>call.completed</c> and
/// <c>queue.stats_changed</c>. Renaming an API DTO's field cannot change them; changing a record on purpose means
/// updating its golden file (the test writes the new text beside it as <c>.actual</c>).
/// </summary>
public sealed class RecordsGoldenTests
{
    private const long T0 = 1_767_603_600_000; // 2026-01-05 09:00 UTC

    /// <summary>Queue 1 "sales" (and <paramref name="others"/>) with agent 2, Ana, who answers a call from Bob 4 s after
    /// it arrived.</summary>
    private static (CallCenter Engine, CallId Call) Answered(params QueueConfig[] others)
    {
        var engine = new CallCenter(new EngineOptions { Seed = 1, CallIdBase = 7_000_000_000 });
        engine.UpsertQueue(new QueueConfig { Id = new QueueId(1), Name = "sales", SlaSeconds = 20 }, T0);
        foreach (var q in others) engine.UpsertQueue(q, T0);
        engine.UpsertAgent(new AgentConfig { Id = new AgentId(2), Name = "Ana", Number = "1001" }, T0);
        engine.SetMember(new QueueId(1), new AgentId(2), MemberConfig.Default, T0);
        engine.Login(new AgentId(2), null, T0);
        engine.SetAgentStatus(new AgentId(2), AgentStatus.Ready, null, T0);
        var call = engine.Enqueue(new QueueId(1), new CallerInfo("+14155550100", "Bob", 0, "crm-1"), T0 + 1000).Call;
        engine.AgentAnswered(call, new AgentId(2), T0 + 5000);
        return (engine, call);
    }

    /// <summary>One call, answered after 4 s, talked for 60 s, in a queue with one agent; with the engine after it.</summary>
    private static (CallCenter Engine, CallRecord Record) OneCall()
    {
        var (engine, call) = Answered();
        engine.CallerHangup(call, T0 + 65_000);
        var ended = engine.TakeEvents().Single(e => e.Kind == EventKind.CallEnded);
        return (engine, ended.Record!);
    }

    [Fact]
    public void A_cdr_row_keeps_its_shape() => Golden("cdr.json", CdrRecord.From(OneCall().Record).Json());

    [Fact]
    public void A_cdr_row_with_media_quality_keeps_its_shape() => Golden("cdr-media-quality.json", CdrRecord.From(OneCall().Record,
        new CdrMediaQualityRecord(new CdrLegQualityRecord(2950, 50, 1.67, 1.25, 4.5, 0.8, 3, 0.5, 12), new CdrLegQualityRecord(3000, 0, 0, 0.4, 1.1, null, null, null, 0))).Json());

    [Fact]
    public void A_daily_statistics_row_keeps_its_shape()
    {
        var (engine, _) = OneCall();
        engine.TryGetQueue(new QueueId(1), out var q);
        Golden("daily-stats.json", DailyStatsRecord.From(q).Json());
    }

    [Fact]
    public void The_call_completed_and_queue_stats_events_keep_their_shape()
    {
        var (engine, record) = OneCall();
        var mapper = new EventMapper(42);
        var events = new List<EventRecord>();
        mapper.Map(engine, new EngineEvent(EventKind.CallEnded, T0 + 65_000, new QueueId(1), new AgentId(2), record.Id, Record: record), events);
        engine.TryGetQueue(new QueueId(1), out var q);
        mapper.QueueStats(engine, q, DailyStatsRecord.From(q).Json(), events);
        Golden("call-completed.json", events[0].Json);
        Golden("queue-stats-changed.json", events[1].Json);
    }

    /// <summary>An agent transfers its call to another queue: the <c>call.transfer_started</c> webhook body.</summary>
    [Fact]
    public void The_call_transfer_started_event_keeps_its_shape()
    {
        var (engine, call) = Answered(new QueueConfig { Id = new QueueId(3), Name = "billing" });
        engine.ClearEvents();
        Assert.Equal(CommandResult.Ok, engine.TransferCall(call, Destination.ToQueue(new QueueId(3)), T0 + 35_000));
        var mapper = new EventMapper(42);
        var events = new List<EventRecord>();
        mapper.Map(engine, engine.TakeEvents().First(e => e.Kind == EventKind.CallTransferStarted), events);
        Golden("call-transfer-started.json", Assert.Single(events).Json);
    }

    /// <summary>A call transferred to one agent: <c>call.transfer_started</c> with <c>destination</c> agent and
    /// <c>to_agent_id</c>.</summary>
    [Fact]
    public void The_call_transfer_started_event_to_an_agent_keeps_its_shape()
    {
        var (engine, call) = Answered();
        engine.UpsertAgent(new AgentConfig { Id = new AgentId(5), Name = "Eve", Number = "1005" }, T0);
        engine.SetMember(new QueueId(1), new AgentId(5), MemberConfig.Default, T0 + 6000);
        engine.Login(new AgentId(5), null, T0 + 6000);
        engine.SetAgentStatus(new AgentId(5), AgentStatus.Ready, null, T0 + 6000);
        engine.ClearEvents();
        Assert.Equal(CommandResult.Ok, engine.TransferToAgent(call, new AgentId(5), null, T0 + 35_000));
        var mapper = new EventMapper(42);
        var events = new List<EventRecord>();
        mapper.Map(engine, engine.TakeEvents().First(e => e.Kind == EventKind.CallTransferStarted), events);
        Golden("call-transfer-started-agent.json", Assert.Single(events).Json);
    }

    /// <summary>An attended transfer's consultation: <c>call.transfer_started</c> with <c>destination</c> call and
    /// <c>to_call_id</c> (the caller's call, which its agent goes on with).</summary>
    [Fact]
    public void The_call_transfer_started_event_of_a_consultation_keeps_its_shape()
    {
        var (engine, call) = Answered(new QueueConfig { Id = new QueueId(3), Name = "experts" });
        engine.UpsertAgent(new AgentConfig { Id = new AgentId(5), Name = "Eve", Number = "1005" }, T0);
        engine.SetMember(new QueueId(3), new AgentId(5), MemberConfig.Default, T0 + 6000);
        engine.Login(new AgentId(5), null, T0 + 6000);
        engine.SetAgentStatus(new AgentId(5), AgentStatus.Ready, null, T0 + 6000);
        var consultation = engine.Enqueue(new QueueId(3), new CallerInfo("1001", "Ana", 0, null), T0 + 20_000).Call;
        engine.AgentAnswered(consultation, new AgentId(5), T0 + 22_000);
        engine.ClearEvents();
        Assert.Equal(CommandResult.Ok, engine.CompleteAttendedTransfer(call, consultation, T0 + 35_000));
        var mapper = new EventMapper(42);
        var events = new List<EventRecord>();
        mapper.Map(engine, engine.TakeEvents().Where(e => e.Kind == EventKind.CallTransferStarted).ElementAt(1), events);
        Golden("call-transfer-started-consultation.json", Assert.Single(events).Json);
    }

    [Fact]
    public void Stored_records_read_back_equal_and_skip_fields_a_later_version_added()
    {
        var cdr = CdrRecord.From(OneCall().Record);
        var withMore = cdr.Json()[..^1] + ",\"added_later\":1}";
        Assert.Equal(cdr.Json(), CdrRecord.Parse(withMore).Json());
    }

    internal static void Golden(string name, string actual)
    {
        var path = Path.Combine(ServerProcess.RepositoryRoot, "tests", "Lineup.Server.Tests", "Golden", "records", name);
        // The bytes as stored and sent, one line.
        var expected = File.Exists(path) ? File.ReadAllText(path).TrimEnd('\n', '\r') : null;
        if (expected != actual) File.WriteAllText(path + ".actual", actual + "\n");
        Assert.True(expected == actual, $"{name} changed (or is new): compare {path}.actual with it");
    }
}
