using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Lineup.Engine;
using Lineup.Server.Events;
using Lineup.Server.Storage;
using Lineup.Server.Telephony;
using Microsoft.Extensions.Options;

namespace Lineup.Server.Tenancy;

/// <summary>What every tenant host of a process shares: its stores, clock, event bus and settings.</summary>
public sealed class TenantServices(CommandLog commands, EventStore events, SnapshotStore snapshots, LeaseStore leases, TimeProvider time,
    ILogger<TenantHost> log, ServerMetrics metrics, EventBus bus, MediaEffects media, IOptions<SnapshotOptions> snapshotOptions)
{
    public CommandLog Commands => commands;
    public EventStore Events => events;
    public SnapshotStore Snapshots => snapshots;
    public LeaseStore Leases => leases;
    public TimeProvider Time => time;
    public ILogger Log => log;
    public ServerMetrics Metrics => metrics;
    public EventBus Bus => bus;
    public MediaEffects Media => media;
    public SnapshotOptions SnapshotPolicy => snapshotOptions.Value;
}

/// <summary>When a tenant host stores its engine's state: every <see cref="EveryCommands"/> logged commands, or
/// <see cref="EverySeconds"/> after the last snapshot when anything was logged since (configuration section
/// <c>Snapshots</c>).</summary>
public sealed class SnapshotOptions
{
    public const string Section = "Snapshots";

    [Range(1, 100_000_000)]
    public int EveryCommands { get; set; } = 10_000;

    [Range(1, 86_400)]
    public double EverySeconds { get; set; } = 300;
}

/// <summary>A tenant that cannot take requests here: it was taken over by another process or node, or it is
/// stopping. Answered 503 with Retry-After; nothing of the request was stored.</summary>
public sealed class TenantUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Runs one tenant's engine: a single-reader mailbox (one command at a time, no locks in the domain) and one timer
/// set to the engine's earliest deadline. Work is taken in batches; every accepted command of a batch, the CDRs
/// and the statistics it produced are committed in one transaction (group commit), and only then are the callers
/// answered — so an answered write is durable. Every commit carries the tenant's fence (the epoch taken at start):
/// once another process or node has started the tenant, this host's next commit fails and it stops, answering
/// errors, never a false success. Snapshots of the engine bound the log a start must replay.
/// </summary>
public sealed partial class TenantHost : ITenant, IAsyncDisposable
{
    private const int MaxBatch = 256;
    private static readonly string s_tickJson = new TickCommand().Serialize();

    /// <summary>Traces: one span per batch (tenant, size, commands, events), linked to the requests it answered.</summary>
    public const string ActivitySourceName = "Lineup.Server.Tenancy";
    private static readonly ActivitySource s_activities = new(ActivitySourceName);

    private readonly Channel<Work> _mailbox = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TenantServices _s;
    private readonly CommandLog _commands;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly ServerMetrics _metrics;
    private readonly List<Work> _batch = new(MaxBatch);
    private readonly List<CommandRow> _commandRows = new();
    private readonly List<CdrRow> _cdrRows = new();
    private readonly HashSet<QueueId> _touchedQueues = new();
    private readonly EventBus _bus;
    private readonly EventMapper _mapper;
    private readonly List<EventRecord> _events = new();
    private readonly List<EventRow> _eventRows = new();
    private readonly List<DeliveryRow> _deliveryRows = new();
    private readonly List<EngineEvent> _effects = new();
    private readonly MediaEffects _media;
    private WebhookMatcher[] _webhooks = [];
    private readonly ITimer _timer;
    private readonly Task _loop;
    private CallCenter _engine;
    private long _seq;
    private long _timerDue = long.MaxValue;
    private long _snapshotSeq;
    private long _snapshotAt;
    private Task _snapshotWrite = Task.CompletedTask;
    private volatile string? _stopped;
    private volatile bool _stopping;

    private TenantHost(TenantRow tenant, Lease lease, TenantServices services)
    {
        _s = services;
        _bus = services.Bus;
        _media = services.Media;
        _mapper = new EventMapper(tenant.Id);
        Tenant = tenant;
        Lease = lease;
        _commands = services.Commands;
        _time = services.Time;
        _log = services.Log;
        _metrics = services.Metrics;
        _engine = NewEngine();
        _timer = _time.CreateTimer(_ => _mailbox.Writer.TryWrite(Work.Tick), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _loop = Task.Run(RunAsync);
    }

    public TenantRow Tenant { get; private set; }
    public long TenantId => Tenant.Id;
    public string Name => Tenant.Name;
    public string TimeZone => Tenant.TimeZone;
    public long CreatedAt => Tenant.CreatedAt;

    /// <summary>The lease this host writes under (its epoch), and who held the tenant before.</summary>
    public Lease Lease { get; }

    /// <summary>When the latest snapshot was taken (Unix ms; the start when there is none yet).</summary>
    public long SnapshotAt => Interlocked.Read(ref _snapshotAt);

    /// <summary>Why the host stopped taking work (taken over, stopped), or null while it runs.</summary>
    public string? Stopped => _stopped;

    /// <summary>Called once when the host stops because another owner took the tenant.</summary>
    public Action<TenantHost>? OnLost { get; set; }

    /// <summary>Takes the tenant's lease as <paramref name="owner"/> (fencing out whoever held it), then loads it: its
    /// latest readable snapshot and the commands logged after it, then the timers that fell due meanwhile, as live
    /// events. Null when the tenant does not exist.</summary>
    public static async Task<TenantHost?> StartAsync(TenantRow tenant, TenantServices services, string owner, CancellationToken ct)
    {
        var lease = await services.Leases.AcquireAsync(tenant.Id, owner, services.Time.GetUtcNow().ToUnixTimeMilliseconds(), ct);
        if (lease == null) return null;
        var host = new TenantHost(tenant, lease, services);
        try
        {
            var hooks = await services.Events.ListWebhooksAsync(tenant.Id);
            host._webhooks = [.. hooks.Select(h => new WebhookMatcher(WebhookStore.Parse(h)))];
            // The stored events go into the stream's ring before the mailbox runs: once it does, a timer may publish newer ones.
            services.Bus.Hub.Load(tenant.Id, (await services.Events.RecentEventsAsync(tenant.Id, EventHub.Retained)).Select(EventBus.ToRecord));
            await host.ExecuteAsync(async () => await host.LoadAsync(catchUpLive: !lease.FirstEver, ct));
        }
        catch
        {
            await host.StopAsync(handOver: false);
            throw;
        }
        services.Bus.TenantStarted(tenant.Id);
        return host;
    }

    /// <summary>Changes the webhook subscriptions events are matched against: <paramref name="change"/> gets the
    /// current list and returns the new one, or null to leave it as it is (the result is then false). It runs in the
    /// mailbox, so concurrent changes do not overwrite one another; effective for every command processed after the
    /// returned task completes.</summary>
    public Task<bool> UpdateWebhooksAsync(Func<IReadOnlyList<Webhook>, IEnumerable<Webhook>?> change) =>
        QueryAsync(_ =>
        {
            if (change(Webhooks) is not { } hooks) return false;
            _webhooks = [.. hooks.Select(h => new WebhookMatcher(h))];
            return true;
        });

    public IReadOnlyList<Webhook> Webhooks => [.. Volatile.Read(ref _webhooks).Select(m => m.Hook)];

    /// <summary>Runs <paramref name="read"/> against the engine in the mailbox, answering after earlier writes are durable.</summary>
    public Task<T> QueryAsync<T>(Func<CallCenter, T> read)
    {
        var work = new Work<T>(null, (engine, _) => read(engine));
        Post(work);
        return work.Task;
    }

    /// <summary>Applies <paramref name="command"/>, then projects the result; answers once the command is durable.</summary>
    public Task<T> ExecuteAsync<T>(TenantCommand command, Func<CallCenter, CommandResult, T> project)
    {
        var work = new Work<T>(command, project);
        Post(work);
        return work.Task;
    }

    public void UpdateTenant(TenantRow tenant) => Tenant = tenant;

    private Task ExecuteAsync(Func<Task> action)
    {
        var work = new Work<bool>(null, (_, _) => true) { Before = action };
        Post(work);
        return work.Task;
    }

    private void Post(Work work)
    {
        if (!_mailbox.Writer.TryWrite(work)) work.Fail(Unavailable());
    }

    private TenantUnavailableException Unavailable(Exception? inner = null) =>
        new(_stopped ?? $"Tenant {TenantId} is stopping; try again.", inner);

    /// <summary>The answer of a host that lost its tenant to <paramref name="owner"/> (when known).</summary>
    public static string TakenOver(long tenantId, string? owner) =>
        $"Tenant {tenantId} is now served by {(owner != null ? $"another Lineup process ({owner})" : "another Lineup process")}; this one no longer writes it.";

    /// <summary>Stops taking work because <paramref name="reason"/> (another owner took the tenant): work already
    /// queued fails with <see cref="TenantUnavailableException"/>, in the mailbox's order.</summary>
    public void Lose(string reason) => _mailbox.Writer.TryWrite(new StopWork(reason));

    private CallCenter NewEngine() => new(EngineOptions());

    internal static TimeZoneInfo ResolveTimeZone(string id) =>
        TimeZoneInfo.TryFindSystemTimeZoneById(id, out var tz) ? tz : TimeZoneInfo.Utc;

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private async Task RunAsync()
    {
        // The loop outlives the request that started the tenant: its batches are not part of that request's trace.
        Activity.Current = null;
        var reader = _mailbox.Reader;
        while (_stopped == null && await reader.WaitToReadAsync())
        {
            _batch.Clear();
            while (_batch.Count < MaxBatch && reader.TryRead(out var w))
            {
                if (w is StopWork stop)
                {
                    _stopped = stop.Reason;
                    break;
                }
                _batch.Add(w);
            }
            using var activity = s_activities.HasListeners() ? StartBatchActivity() : null;
            try
            {
                await ProcessBatchAsync();
                activity?.SetTag("lineup.batch.commands", _commandRows.Count).SetTag("lineup.batch.events", _events.Count);
            }
            catch (TenantFencedException ex)
            {
                // Another process or node started this tenant: what it stores is the truth from now on. Nothing of
                // this batch was stored; its callers get an error and this host takes no more work.
                _stopped = TakenOver(TenantId, null);
                LogLost(_log, ex, TenantId, Lease.Fence.Epoch);
                foreach (var w in _batch) w.Fail(Unavailable(ex));
            }
            catch (Exception ex)
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                // Storage failed (or a bug surfaced): nothing of this batch is durable, so nobody gets a success,
                // and the engine is rebuilt from what is stored so that memory matches it.
                LogBatchFailed(_log, ex, TenantId);
                foreach (var w in _batch) w.Fail(ex);
                _metrics.BatchFailed();
                try
                {
                    await LoadAsync(catchUpLive: true, CancellationToken.None);
                }
                catch (Exception replay)
                {
                    LogBatchFailed(_log, replay, TenantId);
                }
            }
            if (_stopped != null) break;
            ArmTimer();
            try
            {
                MaybeSnapshot();
            }
            catch (Exception ex)
            {
                LogSnapshotFailed(_log, ex, TenantId, _seq);
            }
        }
        if (_stopped == null) return;
        // Lost or stopped: nothing more is taken, and whatever was queued is answered with the reason.
        _mailbox.Writer.TryComplete();
        while (reader.TryRead(out var rest)) rest.Fail(Unavailable());
        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        AnnounceStopped();
        if (!_stopping) OnLost?.Invoke(this);
    }

    private Activity? StartBatchActivity()
    {
        List<ActivityLink>? links = null;
        foreach (var w in _batch)
            if (w.Parent != default) (links ??= []).Add(new ActivityLink(w.Parent));
        return s_activities.StartActivity(ActivityKind.Internal, parentContext: default, links: links, name: "tenant batch")
            ?.SetTag("lineup.tenant_id", TenantId).SetTag("lineup.batch.size", _batch.Count);
    }

    private async Task ProcessBatchAsync()
    {
        _commandRows.Clear();
        _cdrRows.Clear();
        _touchedQueues.Clear();
        _events.Clear();
        _eventRows.Clear();
        _deliveryRows.Clear();
        _effects.Clear();
        foreach (var w in _batch)
        {
            if (w.Before != null) await w.Before();
            // The engine's clock never goes back, and the log records the time the engine really used, so a replay
            // from the log gives the same state even after the wall clock stepped back.
            var now = Math.Max(Now(), _engine.Now);
            // Timers due by now fire first, each at its own due time; when they did anything, the log says so (a tick),
            // so that a replay fires them at the same place among the commands.
            _engine.Advance(now);
            if (_engine.PendingEvents.Length > 0)
            {
                _commandRows.Add(new CommandRow(TenantId, ++_seq, now, s_tickJson));
                DrainEvents(live: true);
            }
            if (w.Command != null)
            {
                var result = w.Command.Apply(_engine, now);
                if (result == CommandResult.Ok)
                    _commandRows.Add(new CommandRow(TenantId, ++_seq, now, w.Command.Serialize()));
                w.Complete(_engine, result);
            }
            else if (w.IsTick)
            {
                // The timer is spent: re-arm it after this batch even if it fired a little early.
                _timerDue = long.MaxValue;
            }
            else
            {
                w.Complete(_engine, CommandResult.Ok);
            }
            DrainEvents(live: true);
        }
        // Today's statistics of each touched queue, serialized once for its stored row and its event.
        var stats = DailyStats();
        foreach (var row in stats)
            if (_engine.TryGetQueue(new QueueId((int)row.QueueId), out var q)) _mapper.QueueStats(_engine, q, row.Body, _events);
        CollectOutbox();
        if (_commandRows.Count > 0 || _cdrRows.Count > 0 || _eventRows.Count > 0)
        {
            var started = _time.GetTimestamp();
            await _commands.CommitBatchAsync(Lease.Fence, _commandRows, _cdrRows, stats, _eventRows, _deliveryRows);
            _metrics.CommitSeconds.Record(_time.GetElapsedTime(started).TotalSeconds);
        }
        // Events first: a caller that has its answer finds the events of its command in the stream and the events API.
        if (_events.Count > 0) _bus.Publish(TenantId, _events, _deliveryRows);
        foreach (var w in _batch) w.Publish();
        // Media effects last: the calls they act on are durable, and a reply that maps a call to its SIP leg has run.
        if (_effects.Count > 0) _media.Deliver(this, _engine, _effects);
    }

    /// <summary>The batch's events as rows, and an outbox row for every subscription that wants each.</summary>
    private void CollectOutbox()
    {
        var hooks = _webhooks;
        foreach (var e in _events)
        {
            _eventRows.Add(new EventRow(e.TenantId, e.Seq, e.At, e.Type, e.QueueId, e.AgentId, e.CallId, e.Json));
            foreach (var h in hooks)
                if (h.Matches(e)) _deliveryRows.Add(new DeliveryRow(h.Hook.Id, e.Seq, TenantId, e.OrderingKey, e.At));
        }
    }

    private void DrainEvents(bool live)
    {
        var collectMedia = _media.Enabled;
        foreach (ref readonly var e in _engine.PendingEvents)
        {
            if (e.Queue.Value != 0) _touchedQueues.Add(e.Queue);
            string? cdr = null;
            if (e.Kind == EventKind.CallEnded && e.Record is { } record)
            {
                // The media legs' quality as the call ends (live only: a replay has no media, and its rows exist).
                var row = Cdrs.ToRow(TenantId, record, live && collectMedia ? _media.Quality(this, record.Id) : null);
                _cdrRows.Add(row);
                cdr = row.Body;
            }
            if (live)
            {
                if (collectMedia && MediaEffects.IsMedia(e.Kind)) _effects.Add(e);
                _metrics.Observe(e);
                _mapper.Map(_engine, e, _events, cdr);
            }
        }
        _engine.ClearEvents();
    }

    private List<DailyStatsRow> DailyStats()
    {
        var rows = new List<DailyStatsRow>(_touchedQueues.Count);
        var day = Day(_engine.Now);
        foreach (var id in _touchedQueues)
            if (_engine.TryGetQueue(id, out var q))
                rows.Add(new DailyStatsRow(TenantId, id.Value, day, Records.DailyStatsRecord.From(q).Json()));
        return rows;
    }

    /// <summary>The tenant's local date of a Unix-ms time, as yyyy-MM-dd.</summary>
    public string Day(long unixMs) =>
        TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(unixMs), _engine.Options.TimeZone)
            .ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Rebuilds the engine from storage: the newest snapshot that reads back (falling back to an older one, then to
    /// an empty engine), then every command logged after it. The timers that fell due since the last logged command
    /// fire in the next work item, as live events (stored, streamed, sent to webhooks) — except on the first start of
    /// a log written before ticks were logged (<paramref name="catchUpLive"/> false), where they fired live already
    /// and fire here silently, as they always did.
    /// </summary>
    private async Task LoadAsync(bool catchUpLive, CancellationToken ct)
    {
        var started = _time.GetTimestamp();
        CallCenter? engine = null;
        long seq = 0, snapshotAt = Now();
        foreach (var row in await _s.Snapshots.ListAsync(TenantId, ct))
        {
            try
            {
                engine = CallCenter.Restore(SnapshotStore.Decode(row.Body), EngineOptions());
                (seq, snapshotAt) = (row.Seq, row.TakenAt);
                break;
            }
            catch (Exception ex) when (ex is NotSupportedException or JsonException or ArgumentException or InvalidDataException)
            {
                LogSnapshotUnreadable(_log, ex, TenantId, row.Seq);
            }
        }
        var restoreMs = _time.GetElapsedTime(started).TotalMilliseconds;
        _engine = engine ?? NewEngine();
        _seq = seq;
        (_snapshotSeq, _snapshotAt) = (seq, snapshotAt);
        _cdrRows.Clear();
        _mapper.LastSeq = await _s.Events.MaxEventSeqAsync(TenantId);
        var replayed = 0;
        await foreach (var row in _commands.ReadCommandsAsync(TenantId, seq, ct))
        {
            TenantCommand.Deserialize(row.Body).Apply(_engine, row.At);
            _seq = row.Seq;
            replayed++;
            DrainEvents(live: false);
            if (_cdrRows.Count >= 1000) await FlushReplayCdrsAsync(ct);
        }
        if (!catchUpLive)
        {
            _engine.Advance(Math.Max(Now(), _engine.Now));
            DrainEvents(live: false);
        }
        await FlushReplayCdrsAsync(ct);
        // What the replay touched is stored already: no statistics to write or publish for it.
        _touchedQueues.Clear();
        LogLoaded(_log, TenantId, seq, restoreMs, replayed, _time.GetElapsedTime(started).TotalMilliseconds);
    }

    private EngineOptions EngineOptions() => EngineOptionsFor(Tenant);

    /// <summary>The engine options of <paramref name="tenant"/>: replaying its log with any others gives another tenant.</summary>
    public static EngineOptions EngineOptionsFor(TenantRow tenant) => new()
    {
        TimeZone = ResolveTimeZone(tenant.TimeZone),
        Seed = (ulong)tenant.Seed,
        CallIdBase = tenant.Id * 1_000_000_000L,
    };

    /// <summary>Takes a snapshot when the policy says so: the capture in the tenant's turn (between batches, events
    /// drained), the encoding and the write beside it, one at a time.</summary>
    private void MaybeSnapshot()
    {
        if (!_snapshotWrite.IsCompleted) return;
        var since = _seq - _snapshotSeq;
        if (since == 0) return;
        var now = _engine.Now;
        var policy = _s.SnapshotPolicy;
        if (since < policy.EveryCommands && now - _snapshotAt < policy.EverySeconds * 1000) return;
        var snapshot = _engine.Capture();
        var seq = _seq;
        _snapshotSeq = seq;
        _snapshotWrite = Task.Run(() => WriteSnapshotAsync(snapshot, seq, now));
    }

    private async Task WriteSnapshotAsync(Engine.Snapshots.EngineSnapshot snapshot, long seq, long takenAt)
    {
        try
        {
            await _s.Snapshots.SaveAsync(Lease.Fence, seq, snapshot.Version, takenAt, SnapshotStore.Encode(snapshot));
            Interlocked.Exchange(ref _snapshotAt, takenAt);
        }
        catch (TenantFencedException ex)
        {
            Lose(TakenOver(TenantId, null));
            LogLost(_log, ex, TenantId, Lease.Fence.Epoch);
        }
        catch (Exception ex)
        {
            // The log is complete without it: the next one is taken at the next interval.
            LogSnapshotFailed(_log, ex, TenantId, seq);
            Interlocked.Exchange(ref _snapshotAt, takenAt);
        }
    }

    private async Task FlushReplayCdrsAsync(CancellationToken ct)
    {
        // CDRs of calls that ended by a timer while the server was down (or whose batch was lost) are written now;
        // ones already stored are left alone.
        if (_cdrRows.Count > 0) await _commands.InsertCdrsAsync(_cdrRows, ct);
        _cdrRows.Clear();
    }

    private void ArmTimer()
    {
        var due = _engine.NextDeadline ?? long.MaxValue;
        if (due == _timerDue) return;
        _timerDue = due;
        if (due == long.MaxValue)
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var delay = TimeSpan.FromMilliseconds(Math.Max(0, due - Now()));
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    public ValueTask DisposeAsync() => StopAsync(handOver: true);

    private int _announced;

    /// <summary>Once: the stream's clients and the webhook deliveries let go of this tenant here.</summary>
    private void AnnounceStopped()
    {
        if (Interlocked.Exchange(ref _announced, 1) == 0) _bus.TenantStopped(TenantId);
    }

    /// <summary>Stops the host after the work already queued. With <paramref name="handOver"/> (a graceful stop) it
    /// stores a last snapshot and releases the lease, so whoever starts the tenant next starts at once and quickly.</summary>
    public async ValueTask StopAsync(bool handOver)
    {
        _stopping = true;
        _mailbox.Writer.TryComplete();
        await _loop;
        await _timer.DisposeAsync();
        await _snapshotWrite;
        AnnounceStopped();
        if (!handOver || _stopped != null) return;
        _stopped = $"Tenant {TenantId} is stopping here; try again.";
        try
        {
            if (_seq > _snapshotSeq) await WriteSnapshotAsync(_engine.Capture(), _seq, _engine.Now);
            await _s.Leases.ReleaseAsync(Lease.Fence);
        }
        catch (Exception ex)
        {
            // The next owner takes the tenant anyway: the lease has no expiry, only the epoch.
            LogSnapshotFailed(_log, ex, TenantId, _seq);
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Error, Message = "Tenant {TenantId}: batch failed; engine rebuilt from storage")]
    private static partial void LogBatchFailed(ILogger logger, Exception ex, long tenantId);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Tenant {TenantId}: loaded from the snapshot at command {SnapshotSeq} (read in {SnapshotMs:F0} ms) and {Count} commands after it in {Ms:F0} ms")]
    private static partial void LogLoaded(ILogger logger, long tenantId, long snapshotSeq, double snapshotMs, int count, double ms);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Tenant {TenantId}: taken over by another owner; epoch {Epoch} stops here")]
    private static partial void LogLost(ILogger logger, Exception ex, long tenantId, long epoch);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Tenant {TenantId}: the snapshot at command {Seq} cannot be read; trying an older one or the log")]
    private static partial void LogSnapshotUnreadable(ILogger logger, Exception ex, long tenantId, long seq);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Tenant {TenantId}: storing the snapshot at command {Seq} failed")]
    private static partial void LogSnapshotFailed(ILogger logger, Exception ex, long tenantId, long seq);

    private abstract class Work
    {
        public static readonly Work Tick = new TickWork();

        public TenantCommand? Command { get; init; }
        public Func<Task>? Before { get; init; }

        /// <summary>The request this work came from, when traces are recorded (a link of the batch's span).</summary>
        public ActivityContext Parent { get; } = s_activities.HasListeners() ? Activity.Current?.Context ?? default : default;
        public bool IsTick => this is TickWork;

        public abstract void Complete(CallCenter engine, CommandResult result);
        public abstract void Publish();
        public abstract void Fail(Exception ex);
    }

    private sealed class StopWork(string reason) : Work
    {
        public string Reason => reason;
        public override void Complete(CallCenter engine, CommandResult result) { }
        public override void Publish() { }
        public override void Fail(Exception ex) { }
    }

    private sealed class TickWork : Work
    {
        public override void Complete(CallCenter engine, CommandResult result) { }
        public override void Publish() { }
        public override void Fail(Exception ex) { }
    }

    private sealed class Work<T> : Work
    {
        private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Func<CallCenter, CommandResult, T> _project;
        private T? _value;
        private bool _done;

        public Work(TenantCommand? command, Func<CallCenter, CommandResult, T> project)
        {
            Command = command;
            _project = project;
        }

        public Task<T> Task => _tcs.Task;

        public override void Complete(CallCenter engine, CommandResult result)
        {
            _value = _project(engine, result);
            _done = true;
        }

        public override void Publish()
        {
            if (_done) _tcs.TrySetResult(_value!);
        }

        public override void Fail(Exception ex) => _tcs.TrySetException(ex);
    }
}
