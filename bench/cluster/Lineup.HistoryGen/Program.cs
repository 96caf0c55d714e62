using System.Diagnostics;
using System.Globalization;
using Dapper;
using Lineup.Engine;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;
using Npgsql;
using NpgsqlTypes;

// Gives one tenant of a stopped Lineup database a long command history, written straight into its PostgreSQL tables
// (10 million commands through the API would take hours): the server's own command records, applied to an engine
// built as the server builds it and serialized as the server logs them, COPYed into `commands`; then a snapshot
// --tail commands before the end, stored through the server's SnapshotStore under a fence taken from the tenant's
// lease, as a running host would have left it. A server then starts the tenant from that snapshot plus the tail.
//
//   dotnet run -c Release --project bench/cluster/Lineup.HistoryGen -- --db CONNECTION [--tenant default]
//       [--commands 10000000] [--tail 5000] [--lead SECONDS]
//
// Run it while no node runs the tenant, before anything else is logged for it: the engine's clock must not go back.
// The history ends --lead seconds after the generator starts (by default its expected run time at 80,000 commands per
// second, and it waits for that moment if it finishes early), so that the node started next finds the tenant's
// clock close to its own: otherwise its first start would fire every timer of the minutes the generator ran. The floor: 50 queues and 1,000 agents (3 queues each) added to the tenant, about
// 2,000 calls in progress, a command every 50 ms (bench/Lineup.Bench's SnapshotTenant, as server commands).
var conn = Arg("--db") ?? throw new ArgumentException("--db CONNECTION is required");
var tenantName = Arg("--tenant") ?? "default";
var total = long.Parse(Arg("--commands") ?? "10000000", CultureInfo.InvariantCulture);
var tail = long.Parse(Arg("--tail") ?? "5000", CultureInfo.InvariantCulture);
var lead = long.Parse(Arg("--lead") ?? (total / 80_000 + 5).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
if (total < 10_000 || tail < 0 || tail >= total) throw new ArgumentException("--commands must be at least 10000 and --tail below it");

await using var db = Database.Create(conn, Path.GetTempPath());
TenantRow tenant;
await using (var c = await db.OpenAsync())
    tenant = await c.QuerySingleOrDefaultAsync<TenantRow>(
        "SELECT id, name, time_zone AS TimeZone, seed, created_at AS CreatedAt FROM tenants WHERE name = @tenantName", new { tenantName })
        ?? throw new InvalidOperationException($"no tenant named '{tenantName}'");
var clock = Stopwatch.StartNew();
// Taking the lease fences out any node that still holds the tenant.
var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
var lease = await new LeaseStore(db).AcquireAsync(tenant.Id, "history generator", now)
    ?? throw new InvalidOperationException("the tenant vanished");
var engine = new CallCenter(TenantHost.EngineOptionsFor(tenant));
var end = now + lead * 1000;
long seq = 0, at = end - total * Floor.StepMs;
await foreach (var row in new CommandLog(db).ReadCommandsAsync(tenant.Id))
{
    TenantCommand.Deserialize(row.Body).Apply(engine, row.At);
    seq = row.Seq;
    if (row.At >= at) throw new InvalidOperationException("the tenant has commands newer than the history would start: generate it before using the tenant");
}
engine.ClearEvents();
var first = seq;
var ids = new IdSequence(db);
var queues = new int[Floor.Queues];
var agents = new int[Floor.Agents];
for (var i = 0; i < queues.Length; i++) queues[i] = await ids.NextEngineIdAsync();
for (var i = 0; i < agents.Length; i++) agents[i] = await ids.NextEngineIdAsync();
var floor = new Floor(engine, queues, agents, at);

await using var pg = (NpgsqlConnection)await db.OpenAsync();
byte[]? snapshot = null;
int snapshotVersion = 0;
long snapshotSeq = 0, snapshotAt = 0;
var snapshotAtSeq = first + total - tail;
await using (var copy = await pg.BeginBinaryImportAsync("COPY commands (tenant_id, seq, at, body) FROM STDIN (FORMAT BINARY)"))
{
    foreach (var (command, time) in floor.Commands(total))
    {
        copy.StartRow();
        copy.Write(tenant.Id, NpgsqlDbType.Bigint);
        copy.Write(++seq, NpgsqlDbType.Bigint);
        copy.Write(time, NpgsqlDbType.Bigint);
        copy.Write(command.Serialize(), NpgsqlDbType.Text);
        if (seq == snapshotAtSeq)
        {
            var captured = engine.Capture();
            (snapshot, snapshotVersion) = (SnapshotStore.Encode(captured), captured.Version);
            (snapshotSeq, snapshotAt) = (seq, time);
        }
        if ((seq - first) % 1_000_000 == 0)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{seq - first:N0} commands, {clock.Elapsed.TotalSeconds:F0} s"));
    }
    await copy.CompleteAsync();
}
await new SnapshotStore(db).SaveAsync(lease.Fence, snapshotSeq, snapshotVersion, snapshotAt, snapshot!);
// Gives the lease up as a graceful stop does: the next node takes the tenant without waiting.
await new LeaseStore(db).ReleaseAsync(lease.Fence);
await using (var c = await db.OpenAsync()) await c.ExecuteAsync("ANALYZE commands");
var gap = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - floor.Now;
if (gap < 0) await Task.Delay(TimeSpan.FromMilliseconds(-gap));
else if (gap > 10_000) Console.WriteLine($"the history ended {gap / 1000} s ago: the next start fires that much of its timers (raise --lead)");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"HISTORY tenant={tenant.Id} commands={seq - first} last_seq={seq} snapshot_seq={snapshotSeq} snapshot_bytes={snapshot!.Length} " +
    $"queues={engine.Queues.Count} agents={engine.Agents.Count} calls={engine.ActiveCalls.Count} seconds={clock.Elapsed.TotalSeconds:F0}"));

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

/// <summary>A busy floor driven by the server's commands, each applied to the engine before it is handed out, the
/// driver's view (offers, talking and waiting calls) kept from the engine's events.</summary>
internal sealed class Floor
{
    public const int Queues = 50;
    public const int Agents = 1_000;
    public const long StepMs = 50;
    private const int CallsInProgress = 2_000;
    private readonly CallCenter _engine;
    private readonly int[] _queues;
    private readonly int[] _agents;
    private readonly Random _rng = new(5);
    private readonly List<(long Call, int Agent)> _offers = new();
    private readonly List<long> _talking = new();
    private readonly HashSet<long> _waiting = new();
    private readonly List<long> _scratch = new();
    private long _now;

    public Floor(CallCenter engine, int[] queues, int[] agents, long start)
    {
        _engine = engine;
        _queues = queues;
        _agents = agents;
        _now = start;
    }

    /// <summary>The time of the last command handed out.</summary>
    public long Now => _now;

    public IEnumerable<(TenantCommand Command, long At)> Commands(long count)
    {
        var setup = new List<TenantCommand>();
        // Each queue's timeout goes to the next one, which must exist first: all of them, then that.
        for (var pass = 0; pass < 2; pass++)
            for (var q = 0; q < _queues.Length; q++)
                setup.Add(new UpsertQueueCommand(new QueueConfig
                {
                    Id = new QueueId(_queues[q]),
                    Name = $"history queue {q + 1}",
                    Strategy = (Strategy)(q % 10),
                    RingTimeoutSeconds = 20,
                    WrapUpSeconds = 10,
                    MaxWaitSeconds = 900,
                    TimeoutDestination = pass == 0 ? Destination.Hangup : Destination.ToQueue(new QueueId(_queues[(q + 1) % _queues.Length])),
                    PeriodicPrompt = "please-hold",
                    PeriodicAnnounceSeconds = 60,
                    PositionAnnouncement = PositionAnnouncement.Periodically,
                    PositionAnnounceSeconds = 45,
                    StickyAgentSeconds = q % 5 == 0 ? 3_600 : 0,
                }));
        for (var a = 0; a < _agents.Length; a++)
        {
            setup.Add(new UpsertAgentCommand(new AgentConfig
            {
                Id = new AgentId(_agents[a]),
                Name = $"history agent {a + 1}",
                Number = (700_000 + a).ToString(CultureInfo.InvariantCulture),
            }));
            for (var k = 0; k < 3; k++)
                setup.Add(new SetMemberCommand(_queues[(a + k * 17) % _queues.Length], _agents[a], new MemberConfig { Position = a + 1, Level = k }));
            setup.Add(new LoginCommand(_agents[a], null));
        }
        var start = _now;
        for (long i = 0, logged = 0; logged < count; i++)
        {
            // Time moves by a step per logged command (not per attempt: ticks and refused commands would stretch the
            // history), so it ends count steps after it started.
            _now = Math.Max(_now, start + (logged + 1) * StepMs);
            // As a host does: timers due fire first and, when they did anything, the log says so with a tick.
            _engine.Advance(_now);
            if (_engine.PendingEvents.Length > 0)
            {
                Drain();
                logged++;
                yield return (new TickCommand(), _now);
                if (logged == count) break;
            }
            if ((i < setup.Count ? setup[(int)i] : Next(i)) is not { } command) continue;
            var result = command.Apply(_engine, _now);
            Drain();
            // A host logs only the commands the engine accepted.
            if (result != CommandResult.Ok)
            {
                if (i < setup.Count) throw new InvalidOperationException($"setting up the floor failed: {command} gave {result}");
                continue;
            }
            logged++;
            yield return (command, _now);
        }
        if (_engine.ActiveCalls.Count < CallsInProgress * 9 / 10)
            throw new InvalidOperationException($"the floor drifted: {_engine.ActiveCalls.Count} calls in progress");
    }

    private TenantCommand? Next(long i)
    {
        if (i % 97 == 0)
        {
            var agent = _agents[_rng.Next(_agents.Length)];
            var notReady = _engine.TryGetAgent(new AgentId(agent), out var a) && a.Status == AgentStatus.NotReady;
            return new SetStatusCommand(agent, notReady ? AgentStatus.Ready : AgentStatus.NotReady, notReady ? null : "break");
        }
        if (_offers.Count > 0)
        {
            var k = _rng.Next(_offers.Count);
            var (call, agent) = _offers[k];
            _offers[k] = _offers[^1];
            _offers.RemoveAt(_offers.Count - 1);
            return new CallEventCommand(call, _rng.Next(20) == 0 ? CallEventType.AgentRejected : CallEventType.AgentAnswered, agent, null);
        }
        if (_engine.ActiveCalls.Count < CallsInProgress)
            return new EnqueueCommand(_queues[_rng.Next(_queues.Length)], "+1555" + _rng.Next(100_000).ToString("D6", CultureInfo.InvariantCulture), null, 0, null);
        if (_talking.Count > 0 && (_waiting.Count == 0 || _rng.Next(4) != 0))
        {
            var k = _rng.Next(_talking.Count);
            var call = _talking[k];
            _talking[k] = _talking[^1];
            _talking.RemoveAt(_talking.Count - 1);
            return new CallEventCommand(call, CallEventType.AgentHangup, null, null);
        }
        if (_waiting.Count > 0)
        {
            _scratch.Clear();
            _scratch.AddRange(_waiting.Take(16));
            return new CallEventCommand(_scratch[_rng.Next(_scratch.Count)], CallEventType.CallerHangup, null, null);
        }
        return null;
    }

    private void Drain()
    {
        foreach (ref readonly var e in _engine.PendingEvents)
        {
            switch (e.Kind)
            {
                case EventKind.CallQueued:
                    _waiting.Add(e.Call.Value);
                    break;
                case EventKind.CallOffered:
                    _offers.Add((e.Call.Value, e.Agent.Value));
                    break;
                case EventKind.OfferEnded:
                    _offers.Remove((e.Call.Value, e.Agent.Value));
                    break;
                case EventKind.CallAnswered:
                    _waiting.Remove(e.Call.Value);
                    _talking.Add(e.Call.Value);
                    break;
                case EventKind.CallEnded:
                    _waiting.Remove(e.Call.Value);
                    break;
                default:
                    break;
            }
        }
        _engine.ClearEvents();
    }
}
