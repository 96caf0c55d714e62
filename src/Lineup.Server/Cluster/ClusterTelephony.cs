using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Dapper;
using Lineup.Engine;
using Lineup.Server.Storage;
using Lineup.Server.Telephony;
using Lineup.Server.Tenancy;
using Orleans;
using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Lineup.Server.Cluster;

/// <summary>
/// Telephony across the cluster (docs/cluster.md, "Telephony"). Every node runs SIP and media. A call's SIP legs and
/// media stay on the node that received its INVITE (its media node); the call is enqueued on the tenant's node
/// (wherever its grain runs), which remembers the media node in <c>sip_media_calls</c> and sends it the call's media
/// effects, in order, through that node's <see cref="IMediaNodeGrain"/>; SIP outcomes come back as commands through
/// the tenant's grain. When a media node dies, the tenant ends its calls there as <c>lost_on_node_failure</c>.
/// Registrations are stored in <c>sip_bindings</c>, so that every node can ring every phone; each node caches what it
/// read of them (and of agents' SIP credentials) until PostgreSQL notifies it of a change made through any node.
/// </summary>
public sealed partial class ClusterTelephony(IGrainFactory grains, ClusterGateway gateway, MediaEffects effects, Database db,
    IClusterMembershipService membership, SipCredentialStore credentials, ClusterSettings settings, ILogger<ClusterTelephony> log)
    : ITelephonyCluster, IAsyncDisposable
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    /// <summary>How long a SIP outcome is retried while its tenant moves between nodes.</summary>
    private static readonly TimeSpan s_retryFor = TimeSpan.FromSeconds(30);

    // Tenant → call → where its media is, for the tenants whose grain runs on this node.
    private readonly ConcurrentDictionary<long, ConcurrentDictionary<long, Route>> _routes = new();
    private readonly ConcurrentDictionary<string, Outbox> _outboxes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task? _watching;
    private Task? _listening;
    private int _disposed;

    private readonly record struct Route(string Node, long Token);

    /// <summary>This node, as routes name it (its silo address: a restarted node is another node).</summary>
    public string Node => gateway.Silo;

    /// <summary>This node's SIP front-end, once SIP runs here.</summary>
    public IMediaNode? Local { get; private set; }

    public void Start(IMediaNode local)
    {
        Local = local;
        effects.Attach(OnEffects);
        credentials.Changed += OnCredentialChanged;
        _watching = WatchMembershipAsync(_stop.Token);
        _listening = ListenAsync(_stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        // Registered as itself and as ITelephonyCluster: the container disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        effects.Detach();
        credentials.Changed -= OnCredentialChanged;
        await _stop.CancelAsync();
        if (_watching != null) await _watching.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_listening != null) await _listening.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var outbox in _outboxes.Values) await outbox.StopAsync();
        _stop.Dispose();
    }

    // ---- the media node's side: asking the tenant's node

    public async Task<int?> QueueOfExtensionAsync(long tenantId, string number)
    {
        var reply = await RetryAsync(tenantId, g => g.QueueOfExtensionAsync(number));
        return reply.Result == (int)CommandResult.Ok ? (int)reply.Call : null;
    }

    public async Task<(CommandResult Result, long Call)> EnqueueAsync(long tenantId, EnqueueCommand command, long token)
    {
        // Retried only when the message was refused before it reached the tenant (a node of the path died: the
        // cluster has not declared it dead yet); a lost answer is not retried, or the caller could be enqueued twice.
        var json = command.Serialize();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var reply = await grains.GetGrain<ITenantGrain>(tenantId).EnqueueCallAsync(json, Node, token);
                if (!reply.Moved) return ((CommandResult)reply.Result, reply.Call);
            }
            catch (OrleansMessageRejectionException ex) when (clock.Elapsed < s_retryFor / 3)
            {
                LogRetrying(log, tenantId, ex.GetType().Name);
            }
            if (clock.Elapsed >= s_retryFor / 3) throw new TenantUnavailableException($"Tenant {tenantId} is moving between nodes.");
            await Task.Delay(250);
        }
    }

    public async Task<CommandResult> ExecuteAsync(long tenantId, TenantCommand command)
    {
        var json = command.Serialize();
        return (CommandResult)(await RetryAsync(tenantId, g => g.TelephonyCommandAsync(json))).Result;
    }

    /// <summary>Asks the tenant's grain, again while the tenant is moving (its node died: the grain is started on a
    /// survivor once the cluster has declared the node dead).</summary>
    private async Task<TelephonyReply> RetryAsync(long tenantId, Func<ITenantGrain, Task<TelephonyReply>> call)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var reply = await call(grains.GetGrain<ITenantGrain>(tenantId));
                if (!reply.Moved) return reply;
            }
            catch (Exception ex) when (ex is SiloUnavailableException or TimeoutException or OrleansException && clock.Elapsed < s_retryFor)
            {
                LogRetrying(log, tenantId, ex.GetType().Name);
            }
            if (clock.Elapsed >= s_retryFor) throw new TenantUnavailableException($"Tenant {tenantId} did not answer for {s_retryFor.TotalSeconds} s.");
            await Task.Delay(250);
        }
    }

    // ---- the tenant's side (called by its grain on this node)

    /// <summary>Before the tenant's host starts here: the routes of its live SIP calls.</summary>
    [BindTupleByName(false)] // the columns bind by position
    public async Task LoadRoutesAsync(long tenantId)
    {
        await using var c = await db.Postgres!.OpenConnectionAsync();
        var rows = await c.QueryAsync<(long CallId, string Node, long Token)>(
            "SELECT call_id, node, token FROM sip_media_calls WHERE tenant_id = @tenantId", new { tenantId });
        var calls = _routes.GetOrAdd(tenantId, _ => new());
        foreach (var (call, node, token) in rows) calls[call] = new Route(node, token);
    }

    /// <summary>In the tenant's turn, as its enqueue is applied: the call's effects go to <paramref name="node"/>.</summary>
    public void AddRoute(long tenantId, long call, string node, long token) =>
        _routes.GetOrAdd(tenantId, _ => new())[call] = new Route(node, token);

    public async Task SaveRouteAsync(long tenantId, long call, string node, long token)
    {
        await using var c = await db.Postgres!.OpenConnectionAsync();
        await c.ExecuteAsync("INSERT INTO sip_media_calls (tenant_id, call_id, node, token) VALUES (@tenantId, @call, @node, @token) " +
            "ON CONFLICT (tenant_id, call_id) DO UPDATE SET node = excluded.node, token = excluded.token", new { tenantId, call, node, token });
    }

    /// <summary>The tenant left this node: its routes go with it (its next node reads them from the table).</summary>
    public void DropRoutes(long tenantId) => _routes.TryRemove(tenantId, out _);

    /// <summary>After the tenant started here: calls whose media node is no longer in the cluster are ended.</summary>
    public Task EndOrphansAsync(long tenantId)
    {
        var snapshot = membership.CurrentSnapshot;
        var dead = _routes.TryGetValue(tenantId, out var calls)
            ? calls.Values.Select(r => r.Node).Distinct().Where(n => IsGone(snapshot, n)).ToList() : [];
        return Task.WhenAll(dead.Select(n => LoseNodeAsync(n, tenantId)));
    }

    public bool CarriesCall(long tenantId, long call) => _routes.TryGetValue(tenantId, out var calls) && calls.ContainsKey(call);

    public Task<SipFrontEnd.MonitorResult> MonitorAsync(long tenantId, MonitorOrder order) =>
        OnMediaNodeAsync(tenantId, order.Call, (local, t) => local.MonitorHere(t, order),
            (grain, t) => grain.MonitorAsync(t, JsonSerializer.Serialize(order, s_json)));

    public Task<SipFrontEnd.MonitorResult> StopMonitorAsync(long tenantId, long call) =>
        OnMediaNodeAsync(tenantId, call, (local, t) => local.StopMonitorHere(t, call), (grain, t) => grain.StopMonitorAsync(t, call));

    /// <summary>Runs a monitoring request on the call's media node (this one, or another through its media grain).</summary>
    private async Task<SipFrontEnd.MonitorResult> OnMediaNodeAsync(long tenantId, long call, Func<IMediaNode, long, SipFrontEnd.MonitorResult> here,
        Func<IMediaNodeGrain, long, Task<int>> there)
    {
        if (!_routes.TryGetValue(tenantId, out var calls) || !calls.TryGetValue(call, out var route)) return SipFrontEnd.MonitorResult.NoSuchCall;
        if (route.Node == Node && Local is { } local) return here(local, tenantId);
        try
        {
            return (SipFrontEnd.MonitorResult)await there(grains.GetGrain<IMediaNodeGrain>(route.Node), tenantId);
        }
        catch (Exception ex) when (ex is OrleansException or SiloUnavailableException or TimeoutException)
        {
            // The media node is gone (its calls are being ended as lost) or does not answer.
            LogDeliveryFailed(log, route.Node, tenantId, ex.GetType().Name);
            return SipFrontEnd.MonitorResult.NoSuchCall;
        }
    }

    /// <summary>Runs in the tenant's turn after each durable batch: each effect of a call with SIP legs goes to the
    /// outbox of its media node (this node included), in the order the engine emitted them.</summary>
    private void OnEffects(ITenant host, CallCenter engine, IReadOnlyList<EngineEvent> batch)
    {
        if (Local is not { } planner || !_routes.TryGetValue(host.TenantId, out var calls)) return;
        foreach (var e in batch)
        {
            if (!calls.TryGetValue(e.Call.Value, out var route)) continue;
            var ended = e.Kind == EventKind.CallEnded;
            if (ended) calls.TryRemove(e.Call.Value, out _);
            OutboxOf(route.Node).Post(new Sent(host.TenantId, route.Token, planner.Plan(engine, e), ended));
        }
    }

    private Outbox OutboxOf(string node) => _outboxes.GetOrAdd(node, n => new Outbox(this, n));

    /// <summary>One effect on its way to a media node; <see cref="Ended"/>: the call's route is deleted once it is sent.</summary>
    private readonly record struct Sent(long Tenant, long Token, MediaAction Action, bool Ended);

    /// <summary>The effects for one media node, sent in order by one loop: a batch is sent once the one before it was
    /// carried out, so a call's effects never overtake one another.</summary>
    private sealed class Outbox
    {
        private readonly ClusterTelephony _owner;
        private readonly string _node;
        private readonly Channel<Sent> _queue = Channel.CreateUnbounded<Sent>(new UnboundedChannelOptions { SingleReader = true });
        private readonly Task _loop;

        public Outbox(ClusterTelephony owner, string node)
        {
            _owner = owner;
            _node = node;
            _loop = Task.Run(RunAsync);
        }

        public void Post(Sent sent) => _queue.Writer.TryWrite(sent);

        public async Task StopAsync()
        {
            _queue.Writer.TryComplete();
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        private async Task RunAsync()
        {
            var batch = new List<Sent>();
            while (await _queue.Reader.WaitToReadAsync())
            {
                batch.Clear();
                while (batch.Count < 512 && _queue.Reader.TryRead(out var sent)) batch.Add(sent);
                foreach (var tenant in batch.GroupBy(s => s.Tenant))
                {
                    var items = tenant.Select(s => (s.Token, s.Action)).ToList();
                    await _owner.DeliverAsync(_node, tenant.Key, items);
                    var ended = tenant.Where(s => s.Ended).Select(s => s.Action.Call).ToArray();
                    if (ended.Length > 0) await _owner.DeleteRoutesAsync(tenant.Key, ended);
                }
            }
        }
    }

    private async Task DeliverAsync(string node, long tenantId, List<(long Token, MediaAction Action)> items)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (node == Node && Local is { } local)
                {
                    await local.ApplyAsync(tenantId, items);
                    return;
                }
                if (await grains.GetGrain<IMediaNodeGrain>(node).ApplyAsync(tenantId, JsonSerializer.Serialize(items.Select(i => new Envelope(i.Token, i.Action)), s_json)))
                    return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogDeliveryFailed(log, node, tenantId, ex.GetType().Name);
            }
            if (IsGone(membership.CurrentSnapshot, node))
            {
                // The media node is gone, and with it the SIP legs these effects were for.
                await LoseNodeAsync(node, tenantId);
                return;
            }
            if (attempt >= 40)
            {
                LogDropped(log, node, tenantId, items.Count);
                return;
            }
            await Task.Delay(250);
        }
    }

    private async Task DeleteRoutesAsync(long tenantId, long[] calls)
    {
        try
        {
            await using var c = await db.Postgres!.OpenConnectionAsync();
            await c.ExecuteAsync("DELETE FROM sip_media_calls WHERE tenant_id = @tenantId AND call_id = ANY(@calls)", new { tenantId, calls });
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            LogDeliveryFailed(log, "database", tenantId, ex.GetType().Name);
        }
    }

    /// <summary>A media node is gone: every call of the tenant (or of every tenant here) whose media was there ends as
    /// lost_on_node_failure, which frees its agent (after wrap-up) and writes its CDR.</summary>
    private async Task LoseNodeAsync(string node, long? onlyTenant = null)
    {
        foreach (var (tenantId, calls) in _routes)
        {
            if (onlyTenant is { } only && only != tenantId) continue;
            var lost = calls.Where(c => c.Value.Node == node).Select(c => c.Key).ToList();
            if (lost.Count == 0 || gateway.Get(tenantId) is not { } tenant) continue;
            foreach (var call in lost)
            {
                if (!calls.TryRemove(call, out _)) continue;
                try
                {
                    var result = await tenant.ExecuteAsync(new MediaLostCommand(call), (_, r) => r);
                    LogLost(log, tenantId, call, node, result);
                }
                catch (Exception ex) when (ex is TenantUnavailableException or InvalidOperationException)
                {
                    // The tenant left this node meanwhile: its next node ends the call when it starts.
                    LogDeliveryFailed(log, node, tenantId, ex.GetType().Name);
                    return;
                }
            }
            await DeleteRoutesAsync(tenantId, [.. lost]);
        }
    }

    private static bool IsGone(ClusterMembershipSnapshot snapshot, string node)
    {
        var status = snapshot.GetSiloStatus(SiloAddress.FromParsableString(node));
        return status is SiloStatus.Dead or SiloStatus.None;
    }

    /// <summary>Ends the calls of nodes the cluster declares dead, as soon as it does.</summary>
    private async Task WatchMembershipAsync(CancellationToken stop)
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stop))
            {
                var nodes = _routes.Values.SelectMany(c => c.Values.Select(r => r.Node)).Distinct(StringComparer.Ordinal).ToList();
                foreach (var node in nodes.Where(n => IsGone(snapshot, n)))
                    await LoseNodeAsync(node);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    // ---- registrations

    public async Task SaveBindingAsync(long tenantId, string username, string contact, IReadOnlyList<string> path, string transport, string source,
        DateTimeOffset? expiresAt)
    {
        await using var c = await db.Postgres!.OpenConnectionAsync();
        if (expiresAt is not { } expires)
        {
            await c.ExecuteAsync("DELETE FROM sip_bindings WHERE tenant_id = @tenantId AND username = @username AND contact = @contact; " + Notify,
                new { tenantId, username, contact, note = BindingNote(tenantId, username) });
            ForgetBindings(tenantId, username);
            return;
        }
        await c.ExecuteAsync(
            "INSERT INTO sip_bindings (tenant_id, username, contact, path, transport, source, expires_at) " +
            "VALUES (@tenantId, @username, @contact, @path, @transport, @source, @expires) ON CONFLICT (tenant_id, username, contact) DO UPDATE SET " +
            "path = excluded.path, transport = excluded.transport, source = excluded.source, expires_at = excluded.expires_at; " +
            "DELETE FROM sip_bindings WHERE tenant_id = @tenantId AND username = @username AND expires_at < @now; " + Notify,
            new
            {
                tenantId,
                username,
                contact,
                path = string.Join('\n', path),
                transport,
                source,
                expires = expires.ToUnixTimeMilliseconds(),
                now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                note = BindingNote(tenantId, username),
            });
        ForgetBindings(tenantId, username);
    }

    public async Task RemoveBindingsAsync(long tenantId, string username)
    {
        await using var c = await db.Postgres!.OpenConnectionAsync();
        await c.ExecuteAsync("DELETE FROM sip_bindings WHERE tenant_id = @tenantId AND username = @username; " + Notify,
            new { tenantId, username, note = BindingNote(tenantId, username) });
        ForgetBindings(tenantId, username);
    }

    public async Task<IReadOnlyList<StoredBinding>> BindingsAsync(long tenantId, string username)
    {
        if (_bindings.TryGetValue((tenantId, username), out var cached) && Fresh(cached.ReadAt))
        {
            var now = DateTimeOffset.UtcNow;
            return cached.Bindings.All(b => b.ExpiresAt > now) ? cached.Bindings : [.. cached.Bindings.Where(b => b.ExpiresAt > now)];
        }
        var generation = Volatile.Read(ref _generation);
        var read = await ReadBindingsAsync(tenantId, username);
        if (Caching && generation == Volatile.Read(ref _generation)) _bindings[(tenantId, username)] = new CachedBindings(read, Stopwatch.GetTimestamp());
        return read;
    }

    public async Task RefreshCredentialAsync(long tenantId, long agentId)
    {
        if (_credentialsRead.TryGetValue((tenantId, agentId), out var readAt) && Fresh(readAt)) return;
        var generation = Volatile.Read(ref _generation);
        await credentials.RefreshAgentAsync(tenantId, agentId);
        if (Caching && generation == Volatile.Read(ref _generation)) _credentialsRead[(tenantId, agentId)] = Stopwatch.GetTimestamp();
    }

    [BindTupleByName(false)] // the columns bind by position
    private async Task<IReadOnlyList<StoredBinding>> ReadBindingsAsync(long tenantId, string username)
    {
        await using var c = await db.Postgres!.OpenConnectionAsync();
        var rows = await c.QueryAsync<(string Contact, string Path, string Transport, string Source, long ExpiresAt)>(
            "SELECT contact, path, transport, source, expires_at FROM sip_bindings WHERE tenant_id = @tenantId AND username = @username " +
            "AND expires_at > @now ORDER BY expires_at DESC", new { tenantId, username, now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
        return [.. rows.Select(r => new StoredBinding(r.Contact, r.Path.Split('\n', StringSplitOptions.RemoveEmptyEntries), r.Transport, r.Source,
            DateTimeOffset.FromUnixTimeMilliseconds(r.ExpiresAt)))];
    }

    // ---- the node's cache of registrations and credentials (docs/cluster.md, "Registrations and credentials")
    //
    // Each offer (and a pickup's answer) rings the agent's phones as stored, whichever node they registered through;
    // reading them and the agent's credential (for its SIP username) from PostgreSQL cost four round trips per answered
    // call (docs/benchmarks.md, "The per-node registration cache"). They are kept here once read, while this node LISTENs on lineup_sip: every change, made through any
    // node, is NOTIFYed there in the transaction that makes it (credentials: right after it commits), and drops the
    // entry on every node. Without the listener (lost connection) nothing is cached; Cluster:SipCacheSeconds bounds the
    // age of an entry in any case.

    private const string NotifyChannel = "lineup_sip";
    private const string Notify = "SELECT pg_notify('" + NotifyChannel + "', @note)";
    private readonly ConcurrentDictionary<(long Tenant, string User), CachedBindings> _bindings = new();
    private readonly ConcurrentDictionary<(long Tenant, long Agent), long> _credentialsRead = new();
    // Bumped by every notification and by (re)listening: a read that overlapped one is not kept.
    private long _generation;
    private volatile bool _caching;

    private sealed record CachedBindings(IReadOnlyList<StoredBinding> Bindings, long ReadAt);

    private bool Caching => _caching && settings.SipCacheSeconds > 0;

    private bool Fresh(long readAt) => Caching && Stopwatch.GetElapsedTime(readAt).TotalSeconds < settings.SipCacheSeconds;

    private static string BindingNote(long tenantId, string username) => string.Create(CultureInfo.InvariantCulture, $"b {tenantId} {username}");

    private void ForgetBindings(long tenantId, string username)
    {
        Interlocked.Increment(ref _generation);
        _bindings.TryRemove((tenantId, username), out _);
    }

    /// <summary>A credential was set or removed through this node: every node rereads it.</summary>
    private void OnCredentialChanged(long tenantId, long agentId)
    {
        Interlocked.Increment(ref _generation);
        _credentialsRead.TryRemove((tenantId, agentId), out _);
        _ = NotifyAsync(string.Create(CultureInfo.InvariantCulture, $"c {tenantId} {agentId}"));
    }

    private async Task NotifyAsync(string note)
    {
        try
        {
            await using var c = await db.Postgres!.OpenConnectionAsync();
            await c.ExecuteAsync(Notify, new { note });
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            // The other nodes reread it after Cluster:SipCacheSeconds at the latest.
            LogNotifyFailed(log, ex.GetType().Name);
        }
    }

    private void OnNotification(object sender, Npgsql.NpgsqlNotificationEventArgs e)
    {
        Interlocked.Increment(ref _generation);
        var parts = e.Payload.Split(' ', 3);
        if (parts.Length != 3 || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var tenant)) return;
        if (parts[0] == "b") _bindings.TryRemove((tenant, parts[2]), out _);
        else if (parts[0] == "c" && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var agent)) _credentialsRead.TryRemove((tenant, agent), out _);
    }

    /// <summary>Listens for changes while the node runs; caches only while listening, and forgets everything when the
    /// connection is lost (a change may have been missed), then listens again.</summary>
    private async Task ListenAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var c = await db.Postgres!.OpenConnectionAsync(stop);
                c.Notification += OnNotification;
                await c.ExecuteAsync(new CommandDefinition("LISTEN " + NotifyChannel, cancellationToken: stop));
                Interlocked.Increment(ref _generation);
                _caching = true;
                while (true)
                {
                    // Idle for a while: a round trip shows the connection (and so the listening) is still there.
                    if (!await c.WaitAsync(TimeSpan.FromSeconds(30), stop))
                        await c.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: stop));
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogListenLost(log, ex.GetType().Name);
            }
            finally
            {
                _caching = false;
                Interlocked.Increment(ref _generation);
                _bindings.Clear();
                _credentialsRead.Clear();
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 424, Level = LogLevel.Warning, Message = "Telephony: listening for registration changes failed ({Error}); registrations are read uncached until it listens again")]
    private static partial void LogListenLost(ILogger logger, string error);

    [LoggerMessage(EventId = 425, Level = LogLevel.Warning, Message = "Telephony: could not tell the other nodes of a SIP credential change ({Error})")]
    private static partial void LogNotifyFailed(ILogger logger, string error);

    /// <summary>The wire form of one effect for a media node.</summary>
    public sealed record Envelope(long Token, MediaAction Action);

    internal static MonitorOrder? DecodeOrder(string json) => JsonSerializer.Deserialize<MonitorOrder>(json, s_json);

    internal static IReadOnlyList<(long Token, MediaAction Action)> Decode(string json) =>
        [.. (JsonSerializer.Deserialize<List<Envelope>>(json, s_json) ?? []).Select(e => (e.Token, e.Action))];

    [LoggerMessage(EventId = 420, Level = LogLevel.Warning, Message = "Telephony: tenant {TenantId} did not answer ({Error}); trying again")]
    private static partial void LogRetrying(ILogger logger, long tenantId, string error);

    [LoggerMessage(EventId = 421, Level = LogLevel.Warning, Message = "Telephony: media effects for node {Node} (tenant {TenantId}) not delivered ({Error})")]
    private static partial void LogDeliveryFailed(ILogger logger, string node, long tenantId, string error);

    [LoggerMessage(EventId = 422, Level = LogLevel.Error, Message = "Telephony: {Count} media effects for node {Node} (tenant {TenantId}) dropped: the node is in the cluster but does not take them")]
    private static partial void LogDropped(ILogger logger, string node, long tenantId, int count);

    [LoggerMessage(EventId = 423, Level = LogLevel.Warning, Message = "Telephony: tenant {TenantId} call {Call} lost with its media node {Node} ({Result})")]
    private static partial void LogLost(ILogger logger, long tenantId, long call, string node, CommandResult result);
}

/// <summary>A tenant's answer to the telephony of another node.</summary>
[GenerateSerializer, Immutable, Alias("lineup.telephony-reply")]
public sealed class TelephonyReply
{
    public static readonly TelephonyReply Elsewhere = new() { Moved = true };

    /// <summary>The tenant does not run in this activation (moving, or being removed): ask again.</summary>
    [Id(0)] public bool Moved { get; init; }

    /// <summary>A <see cref="CommandResult"/>.</summary>
    [Id(1)] public int Result { get; init; }

    /// <summary>The call enqueued, or the queue found.</summary>
    [Id(2)] public long Call { get; init; }
}

/// <summary>The SIP front-end of one node, as the tenants' grains reach it (key: the node's silo address).</summary>
[Alias("lineup.media-node")]
public interface IMediaNodeGrain : IGrainWithStringKey
{
    /// <summary>Carries out media effects (JSON <see cref="ClusterTelephony.Envelope"/>s) for calls whose SIP legs are
    /// on this node; false when this activation is not on the node its key names.</summary>
    [Alias("apply")]
    Task<bool> ApplyAsync(long tenantId, string actions);

    /// <summary>Rings a supervisor into a call whose SIP legs are here (a JSON <see cref="MonitorOrder"/>); a
    /// <see cref="SipFrontEnd.MonitorResult"/>.</summary>
    [Alias("monitor")]
    Task<int> MonitorAsync(long tenantId, string order);

    /// <summary>The supervisor leaves a call whose SIP legs are here; a <see cref="SipFrontEnd.MonitorResult"/>.</summary>
    [Alias("stop-monitor")]
    Task<int> StopMonitorAsync(long tenantId, long call);
}

/// <summary>Placed on the node its key names, never elsewhere (<see cref="NodePlacementDirector"/>).</summary>
[NodePlacement, KeepAlive, Reentrant]
public sealed class MediaNodeGrain(ILocalSiloDetails silo, ClusterTelephony telephony) : Grain, IMediaNodeGrain
{
    public async Task<bool> ApplyAsync(long tenantId, string actions)
    {
        if (this.GetPrimaryKeyString() != silo.SiloAddress.ToParsableString() || telephony.Local is not { } local)
        {
            DeactivateOnIdle();
            return false;
        }
        await local.ApplyAsync(tenantId, ClusterTelephony.Decode(actions));
        return true;
    }

    public Task<int> MonitorAsync(long tenantId, string order) =>
        Task.FromResult((int)(Here() is { } local && ClusterTelephony.DecodeOrder(order) is { } o ? local.MonitorHere(tenantId, o) : SipFrontEnd.MonitorResult.NoSuchCall));

    public Task<int> StopMonitorAsync(long tenantId, long call) =>
        Task.FromResult((int)(Here() is { } local ? local.StopMonitorHere(tenantId, call) : SipFrontEnd.MonitorResult.NoSuchCall));

    /// <summary>This node's SIP front-end, when this activation is on the node its key names.</summary>
    private IMediaNode? Here()
    {
        if (this.GetPrimaryKeyString() == silo.SiloAddress.ToParsableString() && telephony.Local is { } local) return local;
        DeactivateOnIdle();
        return null;
    }
}

/// <summary>A grain placed on the silo its string key names (a media node's grain).</summary>
[GenerateSerializer, Immutable, Alias("lineup.node-placement")]
public sealed class NodePlacement : PlacementStrategy
{
    public static readonly NodePlacement Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class NodePlacementAttribute : PlacementAttribute
{
    public NodePlacementAttribute() : base(NodePlacement.Instance)
    {
    }
}

/// <summary>Places a grain on the silo named by its key; fails the call when that silo is not an active member (its
/// node is gone: the caller ends that node's calls).</summary>
public sealed class NodePlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silo = SiloAddress.FromParsableString(target.GrainIdentity.Key.ToString()!);
        if (context.GetCompatibleSilos(target).Contains(silo)) return Task.FromResult(silo);
        throw new OrleansException($"Node {silo} is not an active member of the cluster.");
    }
}
