using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Lineup.Server.Storage;
using Microsoft.Extensions.Options;

namespace Lineup.Server.Events;

/// <summary>Webhook delivery settings: the configuration section <c>Webhooks</c>, bound and checked at start-up.</summary>
public sealed class WebhookOptions : IValidatableObject
{
    public const string Section = "Webhooks";

    /// <summary>Networks webhooks may reach although internal (loopback, private, link-local...), e.g.
    /// <c>127.0.0.1</c> or <c>10.0.0.0/8</c>: a list, or one value with comma-separated networks (<see cref="NetworkGuard"/>).</summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>Webhooks may only use https URLs (<see cref="NetworkGuard.RequireHttps"/>).</summary>
    public bool RequireHttps { get; set; }

    /// <summary>Webhook subscriptions a tenant may have.</summary>
    [Range(0, 100_000)]
    public int MaxPerTenant { get; set; } = 20;

    /// <summary>A delivery still failing this long after its event is given up (a dead letter).</summary>
    [Range(1, 30 * 86400)]
    public double MaxAgeSeconds { get; set; } = 86400;

    /// <summary>How long one delivery attempt may take before it counts as failed.</summary>
    [Range(0.1, 300)]
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>The wait before the first retry; each later one waits twice as long, up to <see cref="RetryCapSeconds"/>.</summary>
    [Range(0.001, 86400)]
    public double RetryBaseSeconds { get; set; } = 1;

    /// <summary>The longest wait between two retries.</summary>
    [Range(0.001, 86400)]
    public double RetryCapSeconds { get; set; } = 600;

    /// <summary>Requests in flight per subscription. Each waits a loopback round trip; with 32 the benchmark's lag p99 was
    /// 2-3 times that with 128 (docs/benchmarks.md).</summary>
    [Range(1, 10_000)]
    public int MaxInFlightPerSubscription { get; set; } = 128;

    /// <summary>Pending deliveries a subscription keeps in memory; beyond, they wait in the outbox table.</summary>
    [Range(1, 10_000_000)]
    public int MaxInMemoryPerSubscription { get; set; } = 10_000;

    /// <summary>How often delivery results are written. Each flush is a write transaction that the tenant hosts' commits
    /// wait behind (SQLite has one writer): every 50 ms, the benchmark's lag p99 was 0.7-2 s; every 250-1000 ms,
    /// 90-320 ms. A crash loses at most this much of the log, and those events are delivered again.</summary>
    [Range(1, 60_000)]
    public double FlushIntervalMs { get; set; } = 500;

    /// <summary>Delivery results written in one flush at most.</summary>
    [Range(1, 1_000_000)]
    public int FlushSize { get; set; } = 10_000;

    /// <summary>How long delivered events and the delivery log are kept.</summary>
    [Range(0.001, 3650)]
    public double RetentionDays { get; set; } = 7;

    public TimeSpan MaxAge => TimeSpan.FromSeconds(MaxAgeSeconds);
    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);
    public TimeSpan RetryBase => TimeSpan.FromSeconds(RetryBaseSeconds);
    public TimeSpan RetryCap => TimeSpan.FromSeconds(RetryCapSeconds);
    public TimeSpan FlushInterval => TimeSpan.FromMilliseconds(FlushIntervalMs);
    public TimeSpan Retention => TimeSpan.FromDays(RetentionDays);

    /// <summary>Adds a single comma-separated value of <c>Webhooks:AllowedNetworks</c> (an environment variable or a
    /// command-line setting), which the binder leaves out of the list.</summary>
    internal void AddSingleNetworksValue(IConfiguration config)
    {
        if (config.GetSection(Section + ":" + nameof(AllowedNetworks)).Value is { } single)
            AllowedNetworks.AddRange(single.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var text in AllowedNetworks)
            if (!NetworkGuard.TryParseNetwork(text, out _))
                yield return new ValidationResult($"{Section}:{nameof(AllowedNetworks)}: '{text}' is not an address or a CIDR network.", [nameof(AllowedNetworks)]);
    }
}

/// <summary>Registers <see cref="WebhookOptions"/> (bound from <c>Webhooks</c>, validated at start-up) and the
/// <see cref="NetworkGuard"/> they configure.</summary>
public static class WebhookOptionsSetup
{
    public static IServiceCollection AddWebhookOptions(this IServiceCollection services)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section)
            .Configure<IConfiguration>((o, config) => o.AddSingleNetworksValue(config)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => NetworkGuard.From(sp.GetRequiredService<IOptions<WebhookOptions>>().Value));
        return services;
    }
}

/// <summary>
/// Delivers the webhook outbox (docs/design/events.md). One dispatcher task owns all state and takes messages from
/// one inbox: new outbox rows from tenant hosts, results of HTTP attempts, subscription changes, timer ticks. HTTP
/// requests run concurrently and report back through the inbox; results reach the store in batched flushes.
/// </summary>
public sealed partial class WebhookRelay : BackgroundService
{
    private const string Pending = "pending";
    private const string Delivered = "delivered";
    private const string Dead = "dead";

    private readonly Channel<Message> _inbox = Channel.CreateUnbounded<Message>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<long, Sub> _subs = new();
    private readonly PriorityQueue<(Sub Sub, KeyState Key), long> _retries = new();
    private readonly List<DeliveryUpdate> _updates = new();
    private readonly EventStore _store;
    private readonly WebhookPayloads _payloads;
    private readonly TimeProvider _time;
    private readonly WebhookOptions _options;
    private readonly ILogger<WebhookRelay> _log;
    private readonly NetworkGuard _guard;
    private HttpMessageInvoker? _http;
    private readonly ITimer _timer;
    private long _timerDue = long.MaxValue;
    private long _flushDue = long.MaxValue;
    private Task _flushing = Task.CompletedTask;
    private long _nextPrune;
    private long _delivered;
    private long _failedAttempts;
    private long _dead;
    private long _inMemory;

    public WebhookRelay(EventStore store, TimeProvider time, IOptions<WebhookOptions> options, NetworkGuard guard, WebhookPayloads payloads,
        ILogger<WebhookRelay> log)
    {
        _payloads = payloads;
        _store = store;
        _time = time;
        _options = options.Value;
        _log = log;
        _guard = guard;
        _timer = time.CreateTimer(_ => _inbox.Writer.TryWrite(Tick.Instance), null, System.Threading.Timeout.InfiniteTimeSpan, System.Threading.Timeout.InfiniteTimeSpan);
    }

    /// <summary>The HTTP client, made at the first delivery: a server without webhooks never loads the HTTP stack.</summary>
    private HttpMessageInvoker Http() => Volatile.Read(ref _http) ?? CreateHttp();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private HttpMessageInvoker CreateHttp()
    {
        var made = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectCallback = _guard.ConnectAsync,
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            MaxConnectionsPerServer = 256,
            ConnectTimeout = _options.Timeout,
        });
        var winner = Interlocked.CompareExchange(ref _http, made, null);
        if (winner == null) return made;
        made.Dispose();
        return winner;
    }

    public long DeliveredCount => Interlocked.Read(ref _delivered);
    public long FailedAttemptCount => Interlocked.Read(ref _failedAttempts);
    public long DeadCount => Interlocked.Read(ref _dead);
    public long InMemoryCount => Interlocked.Read(ref _inMemory);

    // ---- called from other threads: everything goes through the inbox
    public void Enqueue(IReadOnlyList<EventRecord> events, IReadOnlyList<DeliveryRow> rows)
    {
        var list = new List<Delivery>(rows.Count);
        var i = 0;
        foreach (var r in rows)
        {
            while (events[i].Seq != r.Seq) i++;
            list.Add(new Delivery(r.WebhookId, events[i]) { CreatedAt = r.CreatedAt, NextAttemptAt = r.CreatedAt });
        }
        _inbox.Writer.TryWrite(new NewDeliveries(list));
    }

    public void Upsert(Webhook hook) => _inbox.Writer.TryWrite(new Upserted(hook));

    public void Removed(long webhookId) => _inbox.Writer.TryWrite(new RemovedHook(webhookId));

    public void TenantRemoved(long tenantId) => _inbox.Writer.TryWrite(new RemovedTenant(tenantId));

    /// <summary>Takes on a tenant's deliveries (its host started in this process): loads its subscriptions and their
    /// pending outbox rows.</summary>
    public void TenantStarted(long tenantId) => _inbox.Writer.TryWrite(new StartedTenant(tenantId));

    /// <summary>Gives a tenant's deliveries up (its host stopped here): the results so far are stored, and what is
    /// still pending or in flight is delivered by the tenant's next owner (at least once, in order per key).</summary>
    public void TenantStopped(long tenantId) => _inbox.Writer.TryWrite(new StoppedTenant(tenantId));

    /// <summary>Makes a delivered or dead delivery pending again. False when it is pending already.</summary>
    public Task<bool> RedeliverAsync(long webhookId, long seq)
    {
        var message = new RedeliverRequest(webhookId, seq);
        _inbox.Writer.TryWrite(message);
        return message.Done.Task;
    }

    /// <summary>Completes once every result so far is stored (tests and shutdown).</summary>
    public Task FlushAsync()
    {
        var message = new FlushRequest();
        _inbox.Writer.TryWrite(message);
        return message.Done.Task;
    }

    // ---- the dispatcher
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Tenants are loaded as their hosts start (TenantStarted), each with what was pending at the last stop.
        _nextPrune = Now() + 60_000;
        var reader = _inbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                while (reader.TryRead(out var m)) await HandleAsync(m);
                var now = Now();
                DueRetries(now);
                foreach (var sub in _subs.Values) Dispatch(sub, now);
                foreach (var sub in _subs.Values)
                    if (sub.RefillWanted) await RefillAsync(sub, CancellationToken.None);
                if (_updates.Count >= _options.FlushSize || (_updates.Count > 0 && now >= _flushDue)) StartFlush();
                if (now >= _nextPrune) await PruneAsync(now);
                ArmTimer(now);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await FlushUpdatesAsync();
    }

    private async Task LoadAsync(long tenantId, CancellationToken ct)
    {
        foreach (var row in await _store.ListWebhooksAsync(tenantId))
        {
            if (_subs.ContainsKey(row.Id)) continue;
            var sub = new Sub(WebhookStore.Parse(row));
            _subs[sub.Hook.Id] = sub;
            await RefillAsync(sub, ct);
        }
    }

    private void Drop(long tenantId)
    {
        foreach (var id in _subs.Values.Where(s => s.Hook.TenantId == tenantId).Select(s => s.Hook.Id).ToList())
        {
            Interlocked.Add(ref _inMemory, -_subs[id].Count);
            _subs.Remove(id);
            _updates.RemoveAll(x => x.WebhookId == id);
        }
    }

    private async Task HandleAsync(Message m)
    {
        var now = Now();
        switch (m)
        {
            case NewDeliveries n:
                foreach (var d in n.Items)
                {
                    if (!_subs.TryGetValue(d.WebhookId, out var sub) || sub.Backlogged || d.Seq <= sub.LastSeq) continue;
                    Add(sub, d, now);
                    if (sub.Count > _options.MaxInMemoryPerSubscription) sub.Backlogged = true;
                }
                break;
            case Completed c:
                Complete(c, now);
                break;
            case Upserted u:
                if (_subs.TryGetValue(u.Hook.Id, out var existing)) existing.Hook = u.Hook;
                else _subs[u.Hook.Id] = new Sub(u.Hook);
                break;
            case RemovedHook r:
                if (_subs.Remove(r.WebhookId, out var removed)) Interlocked.Add(ref _inMemory, -removed.Count);
                _updates.RemoveAll(x => x.WebhookId == r.WebhookId);
                break;
            case RemovedTenant t:
                Drop(t.TenantId);
                break;
            case StartedTenant t:
                try
                {
                    await LoadAsync(t.TenantId, CancellationToken.None);
                }
                catch (Exception ex)
                {
                    // The store is unreachable: try again in a second (a subscription loaded meanwhile is skipped).
                    LogFlushFailed(_log, ex, 0);
                    _ = Task.Delay(TimeSpan.FromSeconds(1), _time).ContinueWith(_ => _inbox.Writer.TryWrite(t), TaskScheduler.Default);
                }
                break;
            case StoppedTenant t:
                // The results gathered so far are the new owner's starting point: store them before letting go.
                await FlushUpdatesAsync();
                Drop(t.TenantId);
                break;
            case RedeliverRequest q:
                await RedeliverAsync(q, now);
                break;
            case Requeue r:
                // A flush failed: its results go back in front, to be written with the next one.
                _updates.InsertRange(0, r.Updates);
                _flushDue = now + 1000;
                break;
            case FlushRequest f:
                await FlushUpdatesAsync();
                f.Done.TrySetResult();
                break;
            default:
                // Tick: the loop looks at retries and flushes after every message. The timer is spent, and it may
                // fire a little before the due time (its clock is coarser than TimeProvider's): re-arm it in any case.
                _timerDue = long.MaxValue;
                break;
        }
    }

    private void Add(Sub sub, Delivery d, long now)
    {
        if (d.Seq > sub.LastSeq) sub.LastSeq = d.Seq;
        if (!sub.Keys.TryGetValue(d.Event.OrderingKey, out var key))
        {
            key = new KeyState(d.Event.OrderingKey);
            sub.Keys[key.Name] = key;
        }
        key.Items.Enqueue(d);
        sub.Count++;
        Interlocked.Increment(ref _inMemory);
        if (key.Items.Count == 1 && !key.InFlight) Schedule(sub, key, now);
    }

    /// <summary>Puts a key whose head is not in flight either in the ready queue (due) or in the retry heap.</summary>
    private void Schedule(Sub sub, KeyState key, long now)
    {
        if (key.Items.Count == 0)
        {
            sub.Keys.Remove(key.Name);
            return;
        }
        var due = key.Items.Peek().NextAttemptAt;
        if (due <= now)
        {
            if (!key.Ready)
            {
                key.Ready = true;
                sub.Ready.Enqueue(key);
            }
        }
        else
        {
            _retries.Enqueue((sub, key), due);
        }
    }

    private void DueRetries(long now)
    {
        while (_retries.TryPeek(out var item, out var due) && due <= now)
        {
            _retries.Dequeue();
            var (sub, key) = item;
            if (!_subs.TryGetValue(sub.Hook.Id, out var live) || live != sub || key.InFlight) continue;
            Schedule(sub, key, now);
        }
    }

    private void Dispatch(Sub sub, long now)
    {
        if (!sub.Hook.Enabled) return;
        while (sub.InFlight < _options.MaxInFlightPerSubscription && sub.Ready.TryDequeue(out var key))
        {
            key.Ready = false;
            if (key.InFlight || key.Items.Count == 0) continue;
            var head = key.Items.Peek();
            if (head.NextAttemptAt > now)
            {
                _retries.Enqueue((sub, key), head.NextAttemptAt);
                continue;
            }
            key.InFlight = true;
            sub.InFlight++;
            // On the thread pool: building, signing and writing the request is not the dispatcher's work.
            var hook = sub.Hook;
            _ = Task.Run(() => SendAsync(sub, hook, key, head));
        }
    }

    private async Task SendAsync(Sub sub, Webhook hook, KeyState key, Delivery d)
    {
        int? status = null;
        string? error = null;
        var blocked = false;
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var request = WebhookRequests.Build(hook, d.Event, _time.GetUtcNow().ToUnixTimeSeconds(), _payloads.For(hook.Source));
            using var cts = new CancellationTokenSource(_options.Timeout);
            using var response = await Http().SendAsync(request, cts.Token);
            status = (int)response.StatusCode;
        }
        catch (HttpRequestException ex) when (ex.InnerException is BlockedDestinationException b)
        {
            error = b.Message;
            blocked = true;
        }
        catch (OperationCanceledException)
        {
            error = $"no answer within {_options.Timeout.TotalSeconds:0.#} s";
        }
        catch (Exception ex)
        {
            error = ex.InnerException?.Message ?? ex.Message;
        }
        var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        _inbox.Writer.TryWrite(new Completed(sub, key, d, status, error, latency, blocked));
    }

    private void Complete(Completed c, long now)
    {
        var (sub, key, d) = (c.Sub, c.Key, c.Delivery);
        key.InFlight = false;
        sub.InFlight--;
        if (!_subs.TryGetValue(sub.Hook.Id, out var live) || live != sub) return; // removed meanwhile
        d.Attempts++;
        var attempt = new AttemptRow(d.WebhookId, d.Seq, d.Attempts, now, c.Status, Math.Round(c.LatencyMs, 3), Truncate(c.Error));
        var ok = c.Status is >= 200 and < 300;
        string state;
        if (ok)
        {
            state = Delivered;
            Interlocked.Increment(ref _delivered);
        }
        else
        {
            Interlocked.Increment(ref _failedAttempts);
            if (c.Blocked || now - d.CreatedAt >= _options.MaxAge.TotalMilliseconds)
            {
                state = Dead;
                Interlocked.Increment(ref _dead);
                LogDeadLetter(_log, d.WebhookId, d.Event.Id, d.Attempts, c.Status, c.Error);
            }
            else
            {
                state = Pending;
                d.NextAttemptAt = now + Backoff(d.Attempts);
            }
        }
        var lastError = ok ? null : Truncate(c.Error ?? $"HTTP {c.Status}");
        _updates.Add(new DeliveryUpdate(d.WebhookId, d.Seq, state, d.Attempts, d.NextAttemptAt, c.Status, lastError,
            state == Pending ? null : now, attempt));
        if (_updates.Count == 1) _flushDue = now + (long)_options.FlushInterval.TotalMilliseconds;
        if (state != Pending)
        {
            key.Items.Dequeue();
            sub.Count--;
            Interlocked.Decrement(ref _inMemory);
        }
        Schedule(sub, key, now);
        if (sub.Backlogged && sub.Count < _options.MaxInMemoryPerSubscription / 2) sub.RefillWanted = true;
    }

    /// <summary>Full jitter over an exponential step: uniform in [0, min(cap, base * 2^(attempts-1))].</summary>
    private long Backoff(long attempts)
    {
        var step = _options.RetryBase.TotalMilliseconds * Math.Pow(2, Math.Min(attempts - 1, 30));
        var ceiling = Math.Min(_options.RetryCap.TotalMilliseconds, step);
        return (long)Math.Max(1, Random.Shared.NextDouble() * ceiling);
    }

    private async Task RefillAsync(Sub sub, CancellationToken ct)
    {
        var room = _options.MaxInMemoryPerSubscription - sub.Count;
        var rows = await _store.PendingDeliveriesAsync(sub.Hook.Id, sub.LastSeq, room);
        var now = Now();
        foreach (var r in rows)
        {
            var e = new EventRecord(r.TenantId, r.Seq, r.At, r.Type, r.QueueId, r.AgentId, r.CallId, r.Body);
            Add(sub, new Delivery(r.WebhookId, e) { Attempts = r.Attempts, NextAttemptAt = r.NextAttemptAt, CreatedAt = r.CreatedAt }, now);
        }
        sub.Backlogged = rows.Count >= room;
        sub.RefillWanted = false;
        ct.ThrowIfCancellationRequested();
    }

    private async Task RedeliverAsync(RedeliverRequest q, long now)
    {
        try
        {
            if (!_subs.TryGetValue(q.WebhookId, out var sub)) { q.Done.TrySetResult(false); return; }
            await FlushUpdatesAsync();
            var row = await _store.GetDeliveryAsync(q.WebhookId, q.Seq);
            if (row == null || row.State == Pending) { q.Done.TrySetResult(false); return; }
            var events = await _store.EventAsync(sub.Hook.TenantId, q.Seq);
            if (events == null) { q.Done.TrySetResult(false); return; }
            await _store.ApplyDeliveryUpdatesAsync([new DeliveryUpdate(q.WebhookId, q.Seq, Pending, row.Attempts, now, row.LastStatus, row.LastError, null, null)]);
            // The age limit counts again from the redeliver.
            var d = new Delivery(q.WebhookId, EventBus.ToRecord(events)) { Attempts = row.Attempts, NextAttemptAt = now, CreatedAt = now };
            Add(sub, d, now);
            q.Done.TrySetResult(true);
        }
        catch (Exception ex)
        {
            q.Done.TrySetException(ex);
        }
    }

    /// <summary>Writes the results gathered so far in the background, one flush at a time, so the dispatcher keeps
    /// sending while the database commits. When it ends it wakes the dispatcher for what gathered meanwhile.</summary>
    private void StartFlush()
    {
        if (!_flushing.IsCompleted) return;
        if (_updates.Count == 0)
        {
            _flushDue = long.MaxValue;
            return;
        }
        var batch = _updates.ToList();
        _updates.Clear();
        _flushDue = long.MaxValue;
        _flushing = WriteAsync(batch);
    }

    private async Task WriteAsync(List<DeliveryUpdate> batch)
    {
        try
        {
            await _store.ApplyDeliveryUpdatesAsync(batch);
        }
        catch (Exception ex)
        {
            // Kept and tried again; a crash meanwhile means redelivery, never a lost event.
            LogFlushFailed(_log, ex, batch.Count);
            _inbox.Writer.TryWrite(new Requeue(batch));
        }
        finally
        {
            _inbox.Writer.TryWrite(Tick.Instance);
        }
    }

    /// <summary>Writes every result gathered so far and waits for it (flush requests, redeliver, shutdown).</summary>
    private async Task FlushUpdatesAsync()
    {
        await _flushing;
        if (_updates.Count == 0)
        {
            _flushDue = long.MaxValue; // the updates went with a removed subscription: nothing is due
            return;
        }
        try
        {
            await _store.ApplyDeliveryUpdatesAsync(_updates);
            _updates.Clear();
            _flushDue = long.MaxValue;
        }
        catch (Exception ex)
        {
            // Kept and tried again at the next flush; a crash meanwhile means redelivery, never a lost event.
            LogFlushFailed(_log, ex, _updates.Count);
            _flushDue = Now() + 1000;
        }
    }

    private async Task PruneAsync(long now)
    {
        _nextPrune = now + 3_600_000;
        try
        {
            await _store.PruneAsync(now - (long)_options.Retention.TotalMilliseconds);
        }
        catch (Exception ex)
        {
            LogFlushFailed(_log, ex, 0);
        }
    }

    private void ArmTimer(long now)
    {
        // While a flush runs, its end wakes the dispatcher: no timer for the next one.
        var due = _flushing.IsCompleted ? _flushDue : long.MaxValue;
        if (_retries.TryPeek(out _, out var retry)) due = Math.Min(due, retry);
        due = Math.Min(due, _nextPrune);
        if (due == _timerDue) return;
        _timerDue = due;
        if (due == long.MaxValue) _timer.Change(System.Threading.Timeout.InfiniteTimeSpan, System.Threading.Timeout.InfiniteTimeSpan);
        else _timer.Change(TimeSpan.FromMilliseconds(Math.Max(1, due - now)), System.Threading.Timeout.InfiniteTimeSpan);
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static string? Truncate(string? s) => s is { Length: > 500 } ? s[..500] : s;

    public override void Dispose()
    {
        _timer.Dispose();
        _http?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Webhook {WebhookId}: event {EventId} dead after {Attempts} attempts (last status {Status}, error {Error})")]
    private static partial void LogDeadLetter(ILogger logger, long webhookId, string eventId, long attempts, int? status, string? error);

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "Webhook relay: storing {Count} delivery results failed")]
    private static partial void LogFlushFailed(ILogger logger, Exception ex, int count);

    // ---- state
    private sealed class Sub(Webhook hook)
    {
        public Webhook Hook { get; set; } = hook;
        public Dictionary<string, KeyState> Keys { get; } = new(StringComparer.Ordinal);
        public Queue<KeyState> Ready { get; } = new();
        public int InFlight { get; set; }
        public int Count { get; set; }
        public bool Backlogged { get; set; }
        public bool RefillWanted { get; set; }
        public long LastSeq { get; set; }
    }

    private sealed class KeyState(string name)
    {
        public string Name => name;
        public Queue<Delivery> Items { get; } = new();
        public bool Ready { get; set; }
        public bool InFlight { get; set; }
    }

    private sealed class Delivery(long webhookId, EventRecord e)
    {
        public long WebhookId => webhookId;
        public long Seq => e.Seq;
        public EventRecord Event => e;
        public long Attempts { get; set; }
        public long NextAttemptAt { get; set; }
        public long CreatedAt { get; set; }
    }

    private abstract record Message;
    private sealed record Tick : Message
    {
        public static readonly Tick Instance = new();
    }
    private sealed record NewDeliveries(List<Delivery> Items) : Message;
    private sealed record Completed(Sub Sub, KeyState Key, Delivery Delivery, int? Status, string? Error, double LatencyMs, bool Blocked) : Message;
    private sealed record Upserted(Webhook Hook) : Message;
    private sealed record RemovedHook(long WebhookId) : Message;
    private sealed record RemovedTenant(long TenantId) : Message;
    private sealed record StartedTenant(long TenantId) : Message;
    private sealed record StoppedTenant(long TenantId) : Message;
    private sealed record RedeliverRequest(long WebhookId, long Seq) : Message
    {
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
    private sealed record Requeue(List<DeliveryUpdate> Updates) : Message;
    private sealed record FlushRequest : Message
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
