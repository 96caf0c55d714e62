using Lineup.Engine;
using Lineup.Server.Events;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Tenancy;

/// <summary>
/// Tenant hosts over a real store without the web server: a migrated SQLite folder or PostgreSQL database, one
/// tenant, and a fake clock the test moves. Hosts started from one rig share the store, as two processes would.
/// </summary>
public sealed class TenantRig : IAsyncDisposable
{
    private readonly string? _dir;
    private readonly TestDatabase? _pg;
    private readonly List<TenantHost> _hosts = new();

    private static readonly System.Diagnostics.Metrics.IMeterFactory s_meters =
        Microsoft.Extensions.DependencyInjection.MetricsServiceExtensions.AddMetrics(new Microsoft.Extensions.DependencyInjection.ServiceCollection())
            .BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();

    private TenantRig(Database db, string? dir, TestDatabase? pg, SnapshotOptions snapshots)
    {
        Db = db;
        _dir = dir;
        _pg = pg;
        var events = new EventStore(db);
        Events = events;
        Hub = new EventHub(Time);
        var relay = new WebhookRelay(events, Time, Options.Create(new WebhookOptions()), new NetworkGuard([]),
            new WebhookPayloads(new Dictionary<string, WebhookPayload>()), NullLogger<WebhookRelay>.Instance);
        Services = new TenantServices(new CommandLog(db), events, new SnapshotStore(db), new LeaseStore(db), Time, NullLogger<TenantHost>.Instance,
            new ServerMetrics(s_meters, Time), new EventBus(Hub, relay), new Lineup.Server.Telephony.MediaEffects(), Options.Create(snapshots));
    }

    /// <summary>Starts the clock at a fixed instant, so two rigs driven alike see the same times.</summary>
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));

    public Database Db { get; }
    public EventStore Events { get; }
    public EventHub Hub { get; }
    public TenantServices Services { get; }
    public TenantRow Tenant { get; private set; } = null!;

    /// <summary>A rig on SQLite (a temporary folder) or, with <paramref name="postgres"/>, on a new PostgreSQL database.</summary>
    public static async Task<TenantRig> CreateAsync(bool postgres, ITestOutputHelper output, SnapshotOptions? snapshots = null)
    {
        TestDatabase? pg = null;
        string? dir = null;
        Database db;
        if (postgres)
        {
            pg = await TestPostgres.CreateDatabaseAsync(output);
            db = Database.Create(pg.ConnectionString, "unused");
        }
        else
        {
            dir = Path.Combine(Path.GetTempPath(), "lineup-rig-" + Guid.NewGuid().ToString("N"));
            db = Database.Create(null, dir);
        }
        var rig = new TenantRig(db, dir, pg, snapshots ?? new SnapshotOptions());
        await db.MigrateAsync();
        rig.Tenant = new TenantRow(1, "rig", "UTC", 42, rig.Time.GetUtcNow().ToUnixTimeMilliseconds());
        await new AccountStore(db).InsertTenantAsync(rig.Tenant);
        return rig;
    }

    /// <summary>Starts a host of the tenant as <paramref name="owner"/>, as a process starting would.</summary>
    public async Task<TenantHost> StartAsync(string owner)
    {
        var host = await TenantHost.StartAsync(Tenant, Services, owner, CancellationToken.None) ?? throw new InvalidOperationException("no tenant");
        _hosts.Add(host);
        return host;
    }

    /// <summary>The commands stored for the tenant, as their JSON, in order.</summary>
    public async Task<List<string>> LogAsync()
    {
        var list = new List<string>();
        await foreach (var row in Services.Commands.ReadCommandsAsync(Tenant.Id)) list.Add(row.Body);
        return list;
    }

    public async Task<IReadOnlyList<EventRow>> StoredEventsAsync() => await Events.RecentEventsAsync(Tenant.Id, 1_000_000);

    /// <summary>The engine's whole state, as the canonical snapshot bytes.</summary>
    public static Task<byte[]> StateAsync(TenantHost host) => host.QueryAsync(e => e.Capture().ToUtf8Json());

    public async ValueTask DisposeAsync()
    {
        foreach (var h in _hosts) await h.StopAsync(handOver: false);
        await Db.DisposeAsync();
        if (_pg != null) await _pg.DisposeAsync();
        if (_dir != null)
        {
            try
            {
                Directory.Delete(_dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

/// <summary>A reproducible stream of tenant commands over two queues and six agents, with the clock moving between
/// them so that ring timeouts, wrap-ups and max waits fire as timers (and the host logs them as ticks).</summary>
public sealed class Workload(int seed)
{
    private readonly Random _random = new(seed);
    private readonly List<long> _calls = new();

    public static IEnumerable<TenantCommand> Setup()
    {
        yield return new UpsertQueueCommand(new QueueConfig { Id = new QueueId(10), Name = "a", Strategy = Strategy.LongestIdle, RingTimeoutSeconds = 4, WrapUpSeconds = 3, MaxWaitSeconds = 40 });
        yield return new UpsertQueueCommand(new QueueConfig { Id = new QueueId(11), Name = "b", Strategy = Strategy.Random, RingTimeoutSeconds = 6, MaxWaitSeconds = 25, TimeoutDestination = Destination.ToQueue(new QueueId(10)) });
        for (var a = 1; a <= 6; a++)
        {
            yield return new UpsertAgentCommand(new AgentConfig { Id = new AgentId(a), Name = "agent " + a, Number = "10" + a });
            yield return new SetMemberCommand(10 + a % 2, a, new MemberConfig { Position = a });
            if (a % 3 == 0) yield return new SetMemberCommand(10 + (a + 1) % 2, a, new MemberConfig { Position = a });
            yield return new LoginCommand(a, null);
        }
    }

    /// <summary>The next command and how many milliseconds the clock moves before it.</summary>
    public (TenantCommand Command, int AdvanceMs) Next()
    {
        var agent = _random.Next(1, 7);
        var call = _calls.Count > 0 ? _calls[_random.Next(_calls.Count)] : 0;
        TenantCommand command = _random.Next(10) switch
        {
            0 or 1 or 2 => new EnqueueCommand(10 + _random.Next(2), "+1555" + _random.Next(20), null, _random.Next(3), null),
            3 or 4 => new CallEventCommand(call, CallEventType.AgentAnswered, agent, null),
            5 => new CallEventCommand(call, CallEventType.CallerHangup, null, null),
            6 => new CallEventCommand(call, CallEventType.AgentHangup, null, null),
            7 => new SetStatusCommand(agent, _random.Next(2) == 0 ? AgentStatus.Ready : AgentStatus.NotReady, null),
            8 => new CallEventCommand(call, CallEventType.AgentRejected, agent, null),
            _ => _random.Next(2) == 0 ? new LogoutCommand(agent, null) : new LoginCommand(agent, null),
        };
        return (command, _random.Next(4) == 0 ? _random.Next(1_000, 9_000) : _random.Next(0, 400));
    }

    /// <summary>Remembers the call a command created, for later commands to act on.</summary>
    public void Created(TenantCommand command)
    {
        if (command is EnqueueCommand { Call.Value: > 0 } e) _calls.Add(e.Call.Value);
        if (_calls.Count > 40) _calls.RemoveAt(0);
    }
}
