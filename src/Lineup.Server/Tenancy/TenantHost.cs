using System.Diagnostics;
using System.Threading.Channels;
using Lineup.Engine;
using Lineup.Server.Events;
using Lineup.Server.Storage;
using Lineup.Server.Telephony;

namespace Lineup.Server.Tenancy;

/// <summary>
/// Runs one tenant's engine: a single-reader mailbox (one command at a time, no locks in the domain) and one timer
/// set to the engine's earliest deadline. Work is taken in batches; every accepted command of a batch, the CDRs
/// and the statistics it produced are committed in one transaction (group commit), and only then are the callers
/// answered — so an answered write is durable.
/// </summary>
public sealed partial class TenantHost : ITenant, IAsyncDisposable
{
    private const int MaxBatch = 256;

    /// <summary>Traces: one span per batch (tenant, size, commands, events), linked to the requests it answered.</summary>
    public const string ActivitySourceName = "Lineup.Server.Tenancy";
    private static readonly ActivitySource s_activities = new(ActivitySourceName);

    private readonly Channel<Work> _mailbox = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CommandLog _commands;
    private readonly EventStore _eventStore;
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

    private TenantHost(TenantRow tenant, CommandLog commands, EventStore events, TimeProvider time, ILogger log, ServerMetrics metrics, EventBus bus, MediaEffects media)
    {
        _bus = bus;
        _media = media;
        _mapper = new EventMapper(tenant.Id);
        Tenant = tenant;
        _commands = commands;
        _eventStore = events;
        _time = time;
        _log = log;
        _metrics = metrics;
        _engine = NewEngine();
        _timer = time.CreateTimer(_ => _mailbox.Writer.TryWrite(Work.Tick), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _loop = Task.Run(RunAsync);
    }

    public TenantRow Tenant { get; private set; }
    public long TenantId => Tenant.Id;
    public string Name => Tenant.Name;
    public string TimeZone => Tenant.TimeZone;
    public long CreatedAt => Tenant.CreatedAt;

    /// <summary>Loads a tenant: replays its command log into a fresh engine, then starts its mailbox.</summary>
    public static async Task<TenantHost> StartAsync(TenantRow tenant, CommandLog commands, EventStore events, TimeProvider time, ILogger log, ServerMetrics metrics, EventBus bus,
        MediaEffects media, CancellationToken ct)
    {
        var host = new TenantHost(tenant, commands, events, time, log, metrics, bus, media);
        var hooks = await events.ListWebhooksAsync(tenant.Id);
        host._webhooks = [.. hooks.Select(h => new WebhookMatcher(WebhookStore.Parse(h)))];
        // The stored events go into the stream's ring before the mailbox runs: once it does, a timer may publish newer ones.
        bus.Hub.Load(tenant.Id, (await events.RecentEventsAsync(tenant.Id, EventHub.Retained)).Select(EventBus.ToRecord));
        await host.ExecuteAsync(async () => await host.ReplayAsync(ct));
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
        if (!_mailbox.Writer.TryWrite(work)) work.Fail(new ObjectDisposedException("tenant host stopped"));
    }

    private CallCenter NewEngine() => new(new EngineOptions
    {
        TimeZone = ResolveTimeZone(Tenant.TimeZone),
        Seed = (ulong)Tenant.Seed,
        CallIdBase = Tenant.Id * 1_000_000_000L,
    });

    internal static TimeZoneInfo ResolveTimeZone(string id) =>
        TimeZoneInfo.TryFindSystemTimeZoneById(id, out var tz) ? tz : TimeZoneInfo.Utc;

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private async Task RunAsync()
    {
        // The loop outlives the request that started the tenant: its batches are not part of that request's trace.
        Activity.Current = null;
        var reader = _mailbox.Reader;
        while (await reader.WaitToReadAsync())
        {
            _batch.Clear();
            while (_batch.Count < MaxBatch && reader.TryRead(out var w)) _batch.Add(w);
            using var activity = s_activities.HasListeners() ? StartBatchActivity() : null;
            try
            {
                await ProcessBatchAsync();
                activity?.SetTag("lineup.batch.commands", _commandRows.Count).SetTag("lineup.batch.events", _events.Count);
            }
            catch (Exception ex)
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                // Storage failed (or a bug surfaced): nothing of this batch is durable, so nobody gets a success,
                // and the engine is rebuilt from the log so that memory matches what is stored.
                LogBatchFailed(_log, ex, TenantId);
                foreach (var w in _batch) w.Fail(ex);
                _metrics.BatchFailed();
                try
                {
                    await ReplayAsync(CancellationToken.None);
                }
                catch (Exception replay)
                {
                    LogBatchFailed(_log, replay, TenantId);
                }
            }
            ArmTimer();
        }
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
            var now = Now();
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
                _engine.Advance(now);
            }
            else
            {
                _engine.Advance(now);
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
            await _commands.CommitBatchAsync(_commandRows, _cdrRows, stats, _eventRows, _deliveryRows);
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
                var row = Cdrs.ToRow(TenantId, record);
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

    private async Task ReplayAsync(CancellationToken ct)
    {
        _engine = NewEngine();
        _seq = 0;
        _cdrRows.Clear();
        _mapper.LastSeq = await _eventStore.MaxEventSeqAsync(TenantId);
        var replayed = 0;
        await foreach (var row in _commands.ReadCommandsAsync(TenantId, ct))
        {
            TenantCommand.Deserialize(row.Body).Apply(_engine, row.At);
            _seq = row.Seq;
            replayed++;
            DrainEvents(live: false);
            if (_cdrRows.Count >= 1000) await FlushReplayCdrsAsync(ct);
        }
        _engine.Advance(Now());
        DrainEvents(live: false);
        await FlushReplayCdrsAsync(ct);
        if (replayed > 0) LogReplayed(_log, TenantId, replayed);
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

    public async ValueTask DisposeAsync()
    {
        _mailbox.Writer.TryComplete();
        await _loop;
        await _timer.DisposeAsync();
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Error, Message = "Tenant {TenantId}: batch failed; engine rebuilt from the command log")]
    private static partial void LogBatchFailed(ILogger logger, Exception ex, long tenantId);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Tenant {TenantId}: replayed {Count} commands")]
    private static partial void LogReplayed(ILogger logger, long tenantId, int count);

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
