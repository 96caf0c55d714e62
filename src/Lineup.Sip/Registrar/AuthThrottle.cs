using System.Net;

namespace Lineup.Sip.Registrar;

/// <summary>Limits of <see cref="AuthThrottle"/>.</summary>
/// <param name="MaxFailures">Failed authentications from one source address within <paramref name="Window"/> that
/// start a cool-down.</param>
/// <param name="Window">How far back failures count.</param>
/// <param name="Cooldown">How long a source is refused (403) once it went over.</param>
/// <param name="MaxSources">Most source addresses remembered; the least recently seen is forgotten first.</param>
public sealed record AuthThrottleOptions(int MaxFailures = 10, TimeSpan? Window = null, TimeSpan? Cooldown = null, int MaxSources = 10_000)
{
    /// <summary>The window, one minute by default.</summary>
    public TimeSpan WindowOrDefault => Window ?? TimeSpan.FromMinutes(1);

    /// <summary>The cool-down, five minutes by default.</summary>
    public TimeSpan CooldownOrDefault => Cooldown ?? TimeSpan.FromMinutes(5);
}

/// <summary>
/// Counts failed digest authentications per source IP address (the socket's, not a header's) in a fixed window;
/// over the limit the source is refused for a cool-down, which stops online password guessing. Memory is bounded
/// by a least-recently-used list of sources. Thread-safe; time comes from <see cref="TimeProvider"/>.
/// </summary>
public sealed class AuthThrottle(AuthThrottleOptions options, TimeProvider time)
{
    private sealed class Entry(IPAddress address)
    {
        public IPAddress Address { get; } = address;
        public int Failures;
        public long WindowStart;
        public long BlockedUntil;
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, LinkedListNode<Entry>> _entries = new();
    private readonly LinkedList<Entry> _lru = new();

    /// <summary>Source addresses remembered now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>True while <paramref name="source"/> is cooling down.</summary>
    public bool IsBlocked(IPAddress source)
    {
        var now = time.GetTimestamp();
        lock (_lock)
        {
            return _entries.TryGetValue(Normalize(source), out var node) && node.Value.BlockedUntil > now;
        }
    }

    /// <summary>Counts a failure; returns true when the source is (now) blocked.</summary>
    public bool RecordFailure(IPAddress source)
    {
        source = Normalize(source);
        var now = time.GetTimestamp();
        lock (_lock)
        {
            if (!_entries.TryGetValue(source, out var node))
            {
                node = _lru.AddFirst(new Entry(source) { WindowStart = now });
                _entries[source] = node;
                if (_entries.Count > options.MaxSources && _lru.Last is { } last)
                {
                    _lru.RemoveLast();
                    _entries.Remove(last.Value.Address);
                }
            }
            else
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
            }
            var e = node.Value;
            if (e.BlockedUntil > now)
            {
                return true;
            }
            if (time.GetElapsedTime(e.WindowStart, now) >= options.WindowOrDefault)
            {
                e.WindowStart = now;
                e.Failures = 0;
            }
            if (++e.Failures >= options.MaxFailures)
            {
                e.BlockedUntil = now + (long)(options.CooldownOrDefault.TotalSeconds * time.TimestampFrequency);
                e.Failures = 0;
                e.WindowStart = now;
                return true;
            }
            return false;
        }
    }

    /// <summary>A success forgets the source's failures (not a running cool-down).</summary>
    public void RecordSuccess(IPAddress source)
    {
        source = Normalize(source);
        var now = time.GetTimestamp();
        lock (_lock)
        {
            if (_entries.TryGetValue(source, out var node) && node.Value.BlockedUntil <= now)
            {
                _lru.Remove(node);
                _entries.Remove(source);
            }
        }
    }

    private static IPAddress Normalize(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}
