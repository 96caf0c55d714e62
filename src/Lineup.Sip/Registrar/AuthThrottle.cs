using System.Net;

namespace Lineup.Sip.Registrar;

/// <summary>Limits of <see cref="AuthThrottle"/>.</summary>
/// <param name="MaxFailures">Failed authentications of one user name from one source address within
/// <paramref name="Window"/> that block that pair for the cool-down.</param>
/// <param name="Window">How far back failures count.</param>
/// <param name="Cooldown">How long a blocked pair or source is refused (403).</param>
/// <param name="MaxSources">Most (address, user) pairs and addresses remembered; the least recently seen is forgotten first.</param>
/// <param name="MaxSourceFailures">The last resort: failures from one source address, whatever the user names, within
/// the window that block the whole address (password spraying across accounts).</param>
public sealed record AuthThrottleOptions(int MaxFailures = 10, TimeSpan? Window = null, TimeSpan? Cooldown = null, int MaxSources = 10_000,
    int MaxSourceFailures = 50)
{
    /// <summary>The window, one minute by default.</summary>
    public TimeSpan WindowOrDefault => Window ?? TimeSpan.FromMinutes(1);

    /// <summary>The cool-down, five minutes by default.</summary>
    public TimeSpan CooldownOrDefault => Cooldown ?? TimeSpan.FromMinutes(5);
}

/// <summary>A user of a realm from an address, or a whole address (<see cref="Realm"/> and <see cref="Username"/> null:
/// every user of every realm), being refused until <see cref="Until"/>.</summary>
public sealed record AuthBlock(IPAddress Address, string? Realm, string? Username, DateTimeOffset Until);

/// <summary>
/// Counts failed digest authentications per (source IP address, user name) first: one misconfigured phone behind an
/// office NAT blocks only its own user from that address, never its neighbours. Per source address alone only as a
/// last resort, at a higher limit (<see cref="AuthThrottleOptions.MaxSourceFailures"/>), which still stops guessing
/// across many accounts. The address is the socket's, not a header's. Memory is bounded by a least-recently-used
/// list. Thread-safe; time comes from <see cref="TimeProvider"/>.
/// </summary>
public sealed class AuthThrottle(AuthThrottleOptions options, TimeProvider time)
{
    private readonly record struct Key(IPAddress Address, string? Realm, string? Username);

    private sealed class Entry(Key key)
    {
        public Key Key { get; } = key;
        public int Failures;
        public long WindowStart;
        public long BlockedUntil;
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<Key, LinkedListNode<Entry>> _entries = new();
    private readonly LinkedList<Entry> _lru = new();

    /// <summary>Pairs and addresses remembered now.</summary>
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

    /// <summary>True while <paramref name="username"/> of <paramref name="realm"/> from <paramref name="source"/>, or
    /// the whole address, is cooling down.</summary>
    public bool IsBlocked(IPAddress source, string realm, string? username)
    {
        source = Normalize(source);
        var now = time.GetTimestamp();
        lock (_lock)
        {
            return Blocked(new Key(source, null, null), now) || (username is not null && Blocked(new Key(source, realm, username), now));
        }
    }

    /// <summary>Counts a failure of <paramref name="username"/> from <paramref name="source"/>; true when the pair or
    /// the address is (now) blocked.</summary>
    public bool RecordFailure(IPAddress source, string realm, string? username)
    {
        source = Normalize(source);
        var now = time.GetTimestamp();
        lock (_lock)
        {
            var sourceBlocked = CountFailure(new Key(source, null, null), options.MaxSourceFailures, now);
            var pairBlocked = username is not null && CountFailure(new Key(source, realm, username), options.MaxFailures, now);
            return sourceBlocked || pairBlocked;
        }
    }

    /// <summary>A success forgets the pair's failures (not a running cool-down, not the address's count).</summary>
    public void RecordSuccess(IPAddress source, string realm, string username)
    {
        var key = new Key(Normalize(source), realm, username);
        var now = time.GetTimestamp();
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node) && node.Value.BlockedUntil <= now)
            {
                _lru.Remove(node);
                _entries.Remove(key);
            }
        }
    }

    /// <summary>What is blocked now, longest remaining first.</summary>
    public IReadOnlyList<AuthBlock> Blocked()
    {
        var now = time.GetTimestamp();
        var wall = time.GetUtcNow();
        lock (_lock)
        {
            return [.. _lru.Where(e => e.BlockedUntil > now)
                .OrderByDescending(e => e.BlockedUntil)
                .Select(e => new AuthBlock(e.Key.Address, e.Key.Realm, e.Key.Username, wall + time.GetElapsedTime(now, e.BlockedUntil)))];
        }
    }

    /// <summary>Lifts the block of <paramref name="username"/> of <paramref name="realm"/> from <paramref name="source"/>
    /// (both null: of the whole address) and forgets its failures; false when nothing was blocked.</summary>
    public bool Unblock(IPAddress source, string? realm, string? username)
    {
        var key = new Key(Normalize(source), username is null ? null : realm, username);
        var now = time.GetTimestamp();
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var node) || node.Value.BlockedUntil <= now)
            {
                return false;
            }
            _lru.Remove(node);
            _entries.Remove(key);
            return true;
        }
    }

    private bool Blocked(Key key, long now) => _entries.TryGetValue(key, out var node) && node.Value.BlockedUntil > now;

    private bool CountFailure(Key key, int limit, long now)
    {
        if (!_entries.TryGetValue(key, out var node))
        {
            node = _lru.AddFirst(new Entry(key) { WindowStart = now });
            _entries[key] = node;
            if (_entries.Count > options.MaxSources && _lru.Last is { } last)
            {
                _lru.RemoveLast();
                _entries.Remove(last.Value.Key);
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
        if (++e.Failures >= limit)
        {
            e.BlockedUntil = now + (long)(options.CooldownOrDefault.TotalSeconds * time.TimestampFrequency);
            e.Failures = 0;
            e.WindowStart = now;
            return true;
        }
        return false;
    }

    private static IPAddress Normalize(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}
