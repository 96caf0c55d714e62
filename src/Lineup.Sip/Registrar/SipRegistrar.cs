using System.Globalization;
using System.Security.Cryptography;
using Lineup.Sip.Transport;

namespace Lineup.Sip.Registrar;

/// <summary>
/// A registrar (RFC 3261 §10.3) with digest authentication (§22, RFC 7616): answers REGISTER requests and keeps
/// the bindings of each address-of-record (realm, user) in memory. Pure logic fed by the SIP stack: the caller
/// sends the returned response on the server transaction. Thread-safe.
/// </summary>
/// <remarks>
/// Expired bindings are dropped when an AOR is touched and by one timer set to the next expiry (no polling), which
/// also raises <see cref="BindingsChanged"/>. Memory is bounded by <see cref="SipRegistrarOptions.MaxAors"/> and
/// <see cref="SipRegistrarOptions.MaxBindingsPerAor"/>. Unknown users and wrong passwords both get a fresh 401
/// (nothing tells them apart); failures are counted per (source address, user name) by the <see cref="AuthThrottle"/>,
/// and per address only at a higher last-resort limit; a pair or address over its limit gets 403 until its cool-down ends.
/// </remarks>
public sealed class SipRegistrar : IDisposable
{
    private sealed class Aor(string realm, string user)
    {
        public string Realm { get; } = realm;
        public string User { get; } = user;
        public List<SipBinding> Bindings { get; } = [];
        public long ScheduledMs;
    }

    private readonly SipRegistrarOptions _options;
    private readonly TimeProvider _time;
    private readonly ISipCredentialSource _credentials;
    private readonly AuthThrottle _throttle;
    private readonly DigestAuthenticator _digest;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Realm, string User), Aor> _aors = new();
    private readonly PriorityQueue<Aor, long> _expiries = new();
    private readonly ITimer _timer;
    private long _timerDueMs = long.MaxValue;

    /// <summary>Creates a registrar.</summary>
    public SipRegistrar(SipRegistrarOptions options, TimeProvider time, ISipCredentialSource credentials, AuthThrottle throttle)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MinExpires, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxExpires, options.MinExpires);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBindingsPerAor, 1);
        if (options.Algorithms.Count == 0)
        {
            throw new ArgumentException("At least one digest algorithm is needed.", nameof(options));
        }
        _options = options;
        _time = time;
        _credentials = credentials;
        _throttle = throttle;
        _digest = new DigestAuthenticator(time, options.NonceLifetime, options.MaxTrackedNonces);
        _timer = time.CreateTimer(_ => OnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Raised with (realm, user) after an AOR's set of contacts or their source addresses changed, including
    /// by expiry. Handlers run on the caller's or the timer's thread: they must be quick and must not throw.</summary>
    public event Action<string, string>? BindingsChanged;

    /// <summary>The authenticator (for challenging other requests with the same nonces).</summary>
    public DigestAuthenticator Digest => _digest;

    /// <summary>Number of addresses-of-record with bindings (some may have just expired).</summary>
    public int AorCount
    {
        get
        {
            lock (_lock)
            {
                return _aors.Count;
            }
        }
    }

    /// <summary>
    /// Answers a REGISTER received from <paramref name="remote"/> for <paramref name="realm"/>: 401 with a challenge,
    /// 400 for a malformed request, 403 (AOR is not the authenticated user, too many contacts, or the source is
    /// throttled), 423 Interval Too Brief with Min-Expires, 503 when full, or 200 listing the current bindings with
    /// their expires. Never throws for anything a peer sends.
    /// </summary>
    public SipMessage Handle(SipMessage register, SipRemote remote, string realm)
    {
        if (register.RequestLine is not { Method: "REGISTER" } line)
        {
            return Reply(register, 405, headers: [new SipHeader("Allow", "REGISTER")]);
        }
        if (_throttle.IsBlocked(remote.EndPoint.Address, realm, null))
        {
            return Reply(register, 403, "Too Many Failed Attempts");
        }
        if (register.To is not { SipUri.User: { Length: > 0 } aorUser } || register.CallId is not { } callId || register.CSeq is not { } cseq)
        {
            return Reply(register, 400, "To Must Be A SIP AOR With A User");
        }
        if (register.Contacts is not { } contacts)
        {
            return Reply(register, 400, "Malformed Contact");
        }
        uint? expiresHeader = null;
        if (register.GetFirst(SipHeaderNames.Expires) is { } ev)
        {
            if (!SipSyntax.TryParseDeltaSeconds(ev, out var e))
            {
                return Reply(register, 400, "Malformed Expires");
            }
            expiresHeader = e;
        }

        // Authentication (§10.3 step 3, §22.4).
        SipDigestCredentials? credentials = null;
        var malformed = false;
        foreach (var value in register.GetValues("Authorization"))
        {
            if (!IsDigest(value))
            {
                // Credentials in a scheme we do not speak are not ours to judge: the request is challenged like one
                // without credentials (RFC 4475 §3.3.7, "regaut01").
                continue;
            }
            if (!SipDigestCredentials.TryParse(value, out var c))
            {
                malformed = true;
            }
            else if (string.Equals(c.Realm, realm, StringComparison.Ordinal))
            {
                credentials = c;
                break;
            }
        }
        // Throttled per (address, user): the digest user name, else the AOR being registered.
        if (_throttle.IsBlocked(remote.EndPoint.Address, realm, credentials?.Username ?? aorUser))
        {
            return Reply(register, 403, "Too Many Failed Attempts");
        }
        if (credentials is null)
        {
            return malformed ? Reply(register, 400, "Malformed Authorization") : Challenge(register, realm, stale: false);
        }
        var outcome = _digest.Verify(credentials, line.Method, line.RequestUri, realm, _credentials.Find(realm, credentials.Username));
        switch (outcome)
        {
            case DigestOutcome.Ok:
                _throttle.RecordSuccess(remote.EndPoint.Address, realm, credentials.Username);
                break;
            case DigestOutcome.UnknownUser or DigestOutcome.WrongResponse:
                return _throttle.RecordFailure(remote.EndPoint.Address, realm, credentials.Username)
                    ? Reply(register, 403, "Too Many Failed Attempts")
                    : Challenge(register, realm, stale: false);
            case DigestOutcome.Stale or DigestOutcome.Replay:
                return Challenge(register, realm, stale: true);
            case DigestOutcome.UriMismatch:
                return Reply(register, 400, "Digest URI Does Not Match Request-URI");
            default:
                return Challenge(register, realm, stale: false);
        }
        // Authorization (step 4): a user registers only its own AOR.
        if (!string.Equals(aorUser, credentials.Username, StringComparison.Ordinal))
        {
            return Reply(register, 403, "AOR Does Not Match The Authenticated User");
        }

        // Contacts (steps 6 and 7), checked in full before anything changes.
        var now = _time.GetUtcNow();
        var wildcard = contacts.Any(c => c.IsWildcard);
        var updates = new List<(string Uri, SipUri Sip, uint Expires)>(contacts.Count);
        if (wildcard)
        {
            if (contacts.Count != 1 || expiresHeader != 0)
            {
                return Reply(register, 400, "Wildcard Contact Needs Expires 0 And No Other Contact");
            }
        }
        else
        {
            foreach (var contact in contacts)
            {
                if (contact.SipUri is not { } sip)
                {
                    return Reply(register, 400, "Contact Must Be A SIP URI");
                }
                var expires = contact.Expires ?? expiresHeader ?? (uint)_options.DefaultExpires;
                if (expires != 0 && expires < _options.MinExpires)
                {
                    return Reply(register, 423, headers: [new SipHeader("Min-Expires", _options.MinExpires.ToString(CultureInfo.InvariantCulture))]);
                }
                updates.Add((contact.Uri, sip, Math.Min(expires, (uint)_options.MaxExpires)));
            }
            if (updates.Count(u => u.Expires > 0) > _options.MaxBindingsPerAor)
            {
                return Reply(register, 403, "Too Many Contacts");
            }
        }

        SipBinding[] current = [];
        bool changed;
        var outOfOrder = false;
        lock (_lock)
        {
            var key = (realm, aorUser);
            var aor = _aors.GetValueOrDefault(key);
            changed = aor is not null && Purge(aor, now);
            if (aor is not null || (!wildcard && updates.Any(u => u.Expires > 0)))
            {
                if (aor is null)
                {
                    if (_aors.Count >= _options.MaxAors)
                    {
                        return Reply(register, 503, "Registrar Full");
                    }
                    aor = new Aor(realm, aorUser);
                }
                var result = wildcard ? RemoveAll(aor, callId, cseq.Number) : Apply(aor, updates, remote, callId, cseq.Number, now);
                outOfOrder = result is null;
                changed |= result == true;
                if (aor.Bindings.Count == 0)
                {
                    _aors.Remove(key);
                }
                else
                {
                    _aors[key] = aor;
                    Schedule(aor);
                }
                current = [.. aor.Bindings];
            }
        }
        if (changed)
        {
            BindingsChanged?.Invoke(realm, aorUser); // expired bindings may have gone even when the request is refused
        }
        if (outOfOrder)
        {
            return Reply(register, 400, "CSeq Out Of Order");
        }
        var headers = new List<SipHeader>(current.Length + 1);
        foreach (var b in current)
        {
            headers.Add(new SipHeader(SipHeaderNames.Contact, $"<{b.ContactUri}>;expires={b.SecondsLeft(now)}"));
        }
        headers.Add(new SipHeader(SipHeaderNames.Date, now.ToString("r", CultureInfo.InvariantCulture)));
        return Reply(register, 200, headers: headers);
    }

    /// <summary>The live bindings of (realm, user), most recently registered first; expired ones are dropped.</summary>
    public IReadOnlyList<SipBinding> Lookup(string realm, string user)
    {
        SipBinding[] result;
        bool changed;
        lock (_lock)
        {
            if (!_aors.TryGetValue((realm, user), out var aor))
            {
                return [];
            }
            changed = Purge(aor, _time.GetUtcNow());
            if (aor.Bindings.Count == 0)
            {
                _aors.Remove((realm, user));
            }
            result = [.. aor.Bindings];
        }
        if (changed)
        {
            BindingsChanged?.Invoke(realm, user);
        }
        Array.Sort(result, (a, b) => b.ExpiresAt.CompareTo(a.ExpiresAt));
        return result;
    }

    /// <inheritdoc/>
    public void Dispose() => _timer.Dispose();

    private SipMessage Challenge(SipMessage register, string realm, bool stale) =>
        Reply(register, 401, headers: [.. _digest.Challenges(realm, _options.Algorithms, stale).Select(v => new SipHeader("WWW-Authenticate", v))]);

    /// <summary>True when an Authorization value names the Digest scheme (its first token, case-insensitive).</summary>
    private static bool IsDigest(string value)
    {
        var v = value.AsSpan().TrimStart(" \t");
        return v.StartsWith("Digest", StringComparison.OrdinalIgnoreCase) && (v.Length == 6 || v[6] is ' ' or '\t');
    }

    private static SipMessage Reply(SipMessage request, int code, string? reason = null, IEnumerable<SipHeader>? headers = null) =>
        SipResponse.Create(request, code, reason, RandomNumberGenerator.GetHexString(12, lowercase: true), headers);

    /// <summary>Applies contact updates; null when one is out of order (same Call-ID, CSeq not higher: step 7).</summary>
    private bool? Apply(Aor aor, List<(string Uri, SipUri Sip, uint Expires)> updates, SipRemote remote, string callId, uint cseq, DateTimeOffset now)
    {
        var bindings = aor.Bindings;
        foreach (var u in updates)
        {
            var i = IndexOf(bindings, u.Sip);
            if (i >= 0 && bindings[i].CallId == callId && bindings[i].CSeq >= cseq)
            {
                return null;
            }
        }
        var changed = false;
        foreach (var u in updates)
        {
            var i = IndexOf(bindings, u.Sip);
            if (u.Expires == 0)
            {
                if (i >= 0)
                {
                    bindings.RemoveAt(i);
                    changed = true;
                }
                continue;
            }
            var binding = new SipBinding(u.Uri, remote, callId, cseq, now.AddSeconds(u.Expires));
            if (i >= 0)
            {
                changed |= bindings[i].Source != remote || bindings[i].ContactUri != u.Uri;
                bindings[i] = binding;
                continue;
            }
            if (bindings.Count >= _options.MaxBindingsPerAor)
            {
                // Make room by dropping the contact closest to expiring that this request does not refresh.
                var victim = bindings.Where(b => b.CallId != callId || b.CSeq != cseq).MinBy(b => b.ExpiresAt);
                if (victim is not null)
                {
                    bindings.Remove(victim);
                }
            }
            bindings.Add(binding);
            changed = true;
        }
        return changed;
    }

    /// <summary>"Contact: *" with Expires 0 (step 6): removes every binding, except one that a later request with the
    /// same Call-ID set; null when such a binding exists, for the request is then out of order.</summary>
    private static bool? RemoveAll(Aor aor, string callId, uint cseq)
    {
        if (aor.Bindings.Any(b => b.CallId == callId && b.CSeq >= cseq))
        {
            return null;
        }
        var changed = aor.Bindings.Count > 0;
        aor.Bindings.Clear();
        return changed;
    }

    /// <summary>Contact URIs compared as §19.1.4 does for what matters to a binding: scheme, user (exactly),
    /// host (case-insensitively), port and transport.</summary>
    private static int IndexOf(List<SipBinding> bindings, SipUri uri)
    {
        for (var i = 0; i < bindings.Count; i++)
        {
            if (SipUri.TryParse(bindings[i].ContactUri, out var b) && b.Secure == uri.Secure &&
                string.Equals(b.User, uri.User, StringComparison.Ordinal) &&
                string.Equals(b.Host, uri.Host, StringComparison.OrdinalIgnoreCase) && b.Port == uri.Port &&
                string.Equals(b.Parameter("transport")?.Value, uri.Parameter("transport")?.Value, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return -1;
    }

    private static bool Purge(Aor aor, DateTimeOffset now) => aor.Bindings.RemoveAll(b => b.ExpiresAt <= now) > 0;

    /// <summary>Makes sure the timer fires by the AOR's earliest expiry; each AOR has at most one live heap entry.</summary>
    private void Schedule(Aor aor)
    {
        var earliest = aor.Bindings.Min(b => b.ExpiresAt).ToUnixTimeMilliseconds();
        if (aor.ScheduledMs != 0 && aor.ScheduledMs <= earliest)
        {
            return;
        }
        aor.ScheduledMs = earliest;
        _expiries.Enqueue(aor, earliest);
        if (earliest < _timerDueMs)
        {
            _timerDueMs = earliest;
            var delay = TimeSpan.FromMilliseconds(Math.Max(0, earliest - _time.GetUtcNow().ToUnixTimeMilliseconds()));
            _timer.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnTimer()
    {
        List<Aor> changed = [];
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var nowMs = now.ToUnixTimeMilliseconds();
            _timerDueMs = long.MaxValue;
            while (_expiries.TryPeek(out var aor, out var due) && due <= nowMs)
            {
                _expiries.Dequeue();
                var key = (aor.Realm, aor.User);
                if (aor.ScheduledMs != due || !_aors.TryGetValue(key, out var live) || !ReferenceEquals(live, aor))
                {
                    continue; // superseded by an earlier entry, or the AOR is gone
                }
                aor.ScheduledMs = 0;
                if (Purge(aor, now))
                {
                    changed.Add(aor);
                }
                if (aor.Bindings.Count == 0)
                {
                    _aors.Remove(key);
                }
                else
                {
                    Schedule(aor);
                }
            }
            if (_expiries.TryPeek(out _, out var next) && next < _timerDueMs)
            {
                _timerDueMs = next;
                _timer.Change(TimeSpan.FromMilliseconds(Math.Max(0, next - nowMs)), Timeout.InfiniteTimeSpan);
            }
        }
        foreach (var aor in changed)
        {
            BindingsChanged?.Invoke(aor.Realm, aor.User);
        }
    }
}
