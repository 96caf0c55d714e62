using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using Lineup.Server.Storage;

namespace Lineup.Server.Events;

/// <summary>Where a tenant host hands its committed events: the live stream and the webhook relay.</summary>
public sealed class EventBus(EventHub hub, WebhookRelay relay)
{
    public EventHub Hub => hub;
    public WebhookRelay Relay => relay;

    /// <summary>Called by the tenant host after the batch holding these events committed. Copies what it keeps.</summary>
    public void Publish(long tenantId, IReadOnlyList<EventRecord> events, IReadOnlyList<DeliveryRow> deliveries)
    {
        hub.Publish(tenantId, events);
        if (deliveries.Count > 0) relay.Enqueue(events, deliveries);
    }

    /// <summary>A tenant host started here: its webhook subscriptions and pending deliveries are this process's to
    /// deliver (in a cluster, a tenant's deliveries go out beside its one activation).</summary>
    public void TenantStarted(long tenantId) => relay.TenantStarted(tenantId);

    /// <summary>A tenant host stopped here (moved, taken over, shut down): its stream clients are closed, to reconnect
    /// wherever it runs next, and its deliveries are left to that owner.</summary>
    public void TenantStopped(long tenantId)
    {
        hub.Remove(tenantId);
        relay.TenantStopped(tenantId);
    }

    public void TenantRemoved(long tenantId)
    {
        hub.Remove(tenantId);
        relay.TenantRemoved(tenantId);
    }

    public static EventRecord ToRecord(EventRow r) => new(r.TenantId, r.Seq, r.At, r.Type, r.QueueId, r.AgentId, r.CallId, r.Body);
}

/// <summary>
/// The live stream's fan-out: per tenant, a ring of the last <see cref="Retained"/> events (for Last-Event-ID) and
/// the connected clients. Each event is encoded once as an SSE frame; clients share the bytes. A client whose queue
/// fills (it reads too slowly) is cut off; it can reconnect and resume.
/// </summary>
public sealed class EventHub : IDisposable
{
    public const int Retained = 10_000;
    public const int ClientQueue = 16_384;
    private static readonly Frame s_heartbeat = new(new EventRecord(0, 0, 0, "", null, null, null, ""), ": keep-alive\n\n"u8.ToArray());
    private readonly ConcurrentDictionary<long, TenantStream> _tenants = new();
    private readonly ITimer _heartbeat;

    /// <summary>Every 15 s each client gets a comment line, so proxies and clients see a live connection.</summary>
    public EventHub(TimeProvider time)
    {
        var every = TimeSpan.FromSeconds(15);
        _heartbeat = time.CreateTimer(_ =>
        {
            foreach (var t in _tenants.Values) t.Heartbeat(s_heartbeat);
        }, null, every, every);
    }

    public void Dispose() => _heartbeat.Dispose();

    public int Clients => _tenants.Values.Sum(t => t.ClientCount);

    /// <summary>Opens the tenant's stream here (its host starts in this process) with its stored recent events. Clients
    /// of a stream left from an earlier start are closed: they reconnect to this one.</summary>
    public void Load(long tenantId, IEnumerable<EventRecord> events)
    {
        var stream = new TenantStream();
        stream.Append(events.Select(Frame.Of));
        var old = _tenants.GetValueOrDefault(tenantId);
        _tenants[tenantId] = stream;
        old?.CloseAll();
    }

    public void Publish(long tenantId, IReadOnlyList<EventRecord> events)
    {
        var frames = new Frame[events.Count];
        for (var i = 0; i < frames.Length; i++) frames[i] = Frame.Of(events[i]);
        // A tenant's stream is open while its host runs here (Load); a host publishes only then.
        if (_tenants.TryGetValue(tenantId, out var stream)) stream.Publish(frames);
    }

    /// <summary>Up to <paramref name="limit"/> retained events after <paramref name="after"/> that pass the filter,
    /// and the newest sequence number examined (to ask again from).</summary>
    public (IReadOnlyList<Frame> Frames, long LastSeq) Recent(long tenantId, long after, int limit, Func<Frame, bool> filter) =>
        _tenants.TryGetValue(tenantId, out var stream) ? stream.Recent(after, limit, filter) : ([], after);

    public void Remove(long tenantId)
    {
        if (_tenants.TryRemove(tenantId, out var t)) t.CloseAll();
    }

    /// <summary>Connects a client: its backlog after <paramref name="lastSeq"/> (null: none) and then live events,
    /// both through the returned reader. <paramref name="gap"/> is true when events after <paramref name="lastSeq"/>
    /// are no longer retained. Null when the tenant's stream is not open here (its host has just stopped in this
    /// process, or not started yet): a client connected then would wait for events that never come here.</summary>
    public Subscription? Subscribe(long tenantId, long? lastSeq, Func<Frame, bool> filter, out bool gap)
    {
        gap = false;
        return _tenants.TryGetValue(tenantId, out var stream) ? stream.Subscribe(lastSeq, filter, out gap) : null;
    }

    /// <summary>One event as an SSE frame.</summary>
    public sealed record Frame(EventRecord Event, byte[] Bytes)
    {
        public static Frame Of(EventRecord e) =>
            new(e, Encoding.UTF8.GetBytes($"id: {e.Seq}\nevent: {e.Type}\ndata: {e.Json}\n\n"));
    }

    public sealed class Subscription(TenantStream stream, Func<Frame, bool> filter) : IDisposable
    {
        private readonly Channel<Frame> _channel = Channel.CreateBounded<Frame>(new BoundedChannelOptions(ClientQueue)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        public ChannelReader<Frame> Reader => _channel.Reader;

        internal bool Offer(Frame f, bool always = false)
        {
            if (!always && !filter(f)) return true;
            if (_channel.Writer.TryWrite(f)) return true;
            _channel.Writer.TryComplete(new IOException("The client fell too far behind; reconnect with Last-Event-ID."));
            return false;
        }

        internal void Close() => _channel.Writer.TryComplete();

        public void Dispose()
        {
            stream.Unsubscribe(this);
            _channel.Writer.TryComplete();
        }
    }

    public sealed class TenantStream
    {
        private readonly Frame?[] _ring = new Frame?[Retained];
        private readonly object _lock = new();
        private long _count;
        private Subscription[] _clients = [];
        private bool _closed;

        public int ClientCount => Volatile.Read(ref _clients).Length;

        internal void Append(IEnumerable<Frame> frames)
        {
            lock (_lock)
                foreach (var f in frames) _ring[_count++ % Retained] = f;
        }

        internal void Publish(Frame[] frames)
        {
            Subscription[] clients;
            lock (_lock)
            {
                foreach (var f in frames) _ring[_count++ % Retained] = f;
                clients = _clients;
            }
            // Outside the lock: a publisher never waits for a client. Frames of one batch reach a client in order
            // because one tenant's batches are published by its one mailbox thread.
            foreach (var c in clients)
                foreach (var f in frames)
                    if (!c.Offer(f)) break;
        }

        internal Subscription? Subscribe(long? lastSeq, Func<Frame, bool> filter, out bool gap)
        {
            var sub = new Subscription(this, filter);
            gap = false;
            lock (_lock)
            {
                if (_closed) return null;
                if (lastSeq is { } after)
                {
                    var oldest = Math.Max(0, _count - Retained);
                    var start = _count;
                    // Frames are in seq order; find the first after 'after'.
                    for (var i = oldest; i < _count; i++)
                    {
                        if (_ring[i % Retained]!.Event.Seq > after)
                        {
                            start = i;
                            break;
                        }
                    }
                    if (start == oldest && _count > 0 && _ring[oldest % Retained]!.Event.Seq > after + 1) gap = true;
                    for (var i = start; i < _count; i++) sub.Offer(_ring[i % Retained]!);
                }
                _clients = [.. _clients, sub];
            }
            return sub;
        }

        internal (IReadOnlyList<Frame>, long) Recent(long after, int limit, Func<Frame, bool> filter)
        {
            var list = new List<Frame>();
            lock (_lock)
            {
                var last = after;
                for (var i = Math.Max(0, _count - Retained); i < _count && list.Count < limit; i++)
                {
                    var f = _ring[i % Retained]!;
                    if (f.Event.Seq <= after) continue;
                    last = f.Event.Seq;
                    if (filter(f)) list.Add(f);
                }
                if (list.Count < limit && _count > 0) last = Math.Max(last, _ring[(_count - 1) % Retained]!.Event.Seq);
                return (list, last);
            }
        }

        internal void Heartbeat(Frame beat)
        {
            foreach (var c in Volatile.Read(ref _clients)) c.Offer(beat, always: true);
        }

        internal void Unsubscribe(Subscription sub)
        {
            lock (_lock) _clients = [.. _clients.Where(c => c != sub)];
        }

        internal void CloseAll()
        {
            Subscription[] clients;
            lock (_lock)
            {
                _closed = true;
                clients = _clients;
            }
            foreach (var c in clients) c.Close();
        }
    }
}
