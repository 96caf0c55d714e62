using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Lineup.Sip.Registrar;

/// <summary>How a set of Digest credentials fared (see <see cref="DigestAuthenticator.Verify"/>).</summary>
public enum DigestOutcome
{
    /// <summary>The response is right, the nonce is ours, fresh and its count is new.</summary>
    Ok,
    /// <summary>No credential for that username in the realm.</summary>
    UnknownUser,
    /// <summary>The response does not match (wrong password).</summary>
    WrongResponse,
    /// <summary>The response is right but the nonce expired or is not one this process issued: challenge again
    /// with stale=true (RFC 7616 §3.3), the client retries without asking its user.</summary>
    Stale,
    /// <summary>The nonce count was seen before for this nonce (RFC 7616 §3.4): a replay, or a client that
    /// repeats counts; answered like <see cref="Stale"/> so that an honest client recovers.</summary>
    Replay,
    /// <summary>The digest-uri is not the Request-URI (RFC 7616 §3.4.6): 400.</summary>
    UriMismatch,
    /// <summary>An algorithm or qop this server does not offer (auth-int, -sess, userhash): challenge again.</summary>
    Unsupported,
}

/// <summary>
/// Digest access authentication for SIP (RFC 3261 §22.4; RFC 7616 with MD5 and SHA-256, RFC 8760; RFC 2617 and
/// RFC 2069 clients that send no qop). Nonces are stateless: <c>base64url(issued-ms ‖ 8 random bytes ‖
/// HMAC-SHA256(key, issued-ms ‖ random ‖ realm)[..16])</c> with a key drawn per process, so any nonce is checked
/// without a table and a restart invalidates them all (clients get stale=true). Nonce counts are remembered per
/// nonce, in bounded memory, to refuse replays. Only HA1 values are used, never a clear password; responses are
/// compared in constant time. Thread-safe.
/// </summary>
public sealed class DigestAuthenticator
{
    private const int NonceBytes = 32;
    private readonly byte[] _key;
    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;
    private readonly int _maxTracked;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, uint> _counts = new(StringComparer.Ordinal);
    private readonly Queue<(string Nonce, long IssuedMs)> _order = new();
    private long _evictedUpTo = long.MinValue;

    /// <summary>Creates an authenticator.</summary>
    /// <param name="time">The clock nonces are stamped and aged with.</param>
    /// <param name="nonceLifetime">How long a nonce is accepted (then stale=true).</param>
    /// <param name="maxTrackedNonces">Most nonces whose counts are remembered; beyond it the oldest are forgotten
    /// and treated as stale.</param>
    /// <param name="key">The HMAC key (tests); a random 32-byte key when null.</param>
    public DigestAuthenticator(TimeProvider time, TimeSpan nonceLifetime, int maxTrackedNonces = 100_000, byte[]? key = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(nonceLifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTrackedNonces, 1);
        _time = time;
        _lifetime = nonceLifetime;
        _maxTracked = maxTrackedNonces;
        _key = key ?? RandomNumberGenerator.GetBytes(32);
    }

    /// <summary>Nonces whose counts are remembered now (for tests and metrics).</summary>
    public int TrackedNonces
    {
        get
        {
            lock (_lock)
            {
                return _counts.Count;
            }
        }
    }

    /// <summary>The token an algorithm has in the algorithm parameter.</summary>
    public static string Name(DigestAlgorithm algorithm) => algorithm == DigestAlgorithm.Sha256 ? "SHA-256" : "MD5";

    /// <summary>H(username ":" realm ":" password) in lower-case hex (RFC 7616 §3.4.2).</summary>
    public static string Ha1(DigestAlgorithm algorithm, string username, string realm, string password) =>
        Hash(algorithm, $"{username}:{realm}:{password}");

    /// <summary>The request-digest (RFC 7616 §3.4.1): with qop, KD(HA1, nonce:nc:cnonce:qop:HA2); without (RFC 2069),
    /// KD(HA1, nonce:HA2); HA2 = H(method:uri).</summary>
    public static string Response(DigestAlgorithm algorithm, string ha1, string nonce, string? nc, string? cnonce, string? qop,
        string method, string uri)
    {
        var ha2 = Hash(algorithm, $"{method}:{uri}");
        return qop is null
            ? Hash(algorithm, $"{ha1}:{nonce}:{ha2}")
            : Hash(algorithm, $"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}");
    }

    /// <summary>A fresh nonce for <paramref name="realm"/>.</summary>
    public string CreateNonce(string realm)
    {
        Span<byte> nonce = stackalloc byte[NonceBytes];
        BinaryPrimitives.WriteInt64BigEndian(nonce, _time.GetUtcNow().ToUnixTimeMilliseconds());
        RandomNumberGenerator.Fill(nonce.Slice(8, 8));
        Sign(nonce[..16], realm, nonce[16..]);
        return Base64Url(nonce);
    }

    /// <summary>WWW-Authenticate values (RFC 7616 §3.3), one per algorithm in order of preference, sharing one nonce.</summary>
    public IEnumerable<string> Challenges(string realm, IReadOnlyList<DigestAlgorithm> algorithms, bool stale)
    {
        var nonce = CreateNonce(realm);
        var quotedRealm = Quote(realm);
        foreach (var algorithm in algorithms)
        {
            yield return $"Digest realm={quotedRealm}, nonce=\"{nonce}\", algorithm={Name(algorithm)}, qop=\"auth\"" + (stale ? ", stale=true" : "");
        }
    }

    /// <summary>
    /// Checks credentials against <paramref name="credential"/> (null: unknown user, which costs the same hashing as
    /// a known one). <paramref name="method"/> and <paramref name="requestUri"/> are the request's; the digest-uri
    /// must equal the Request-URI. The caller has already matched the realm.
    /// </summary>
    public DigestOutcome Verify(SipDigestCredentials c, string method, string requestUri, string realm, SipCredential? credential)
    {
        if (!TryAlgorithm(c.Algorithm, out var algorithm) || c.UserHash ||
            (c.Qop is not null && !c.Qop.Equals("auth", StringComparison.OrdinalIgnoreCase)))
        {
            return DigestOutcome.Unsupported;
        }
        if (!string.Equals(c.Uri, requestUri, StringComparison.Ordinal) && !SameSipUri(c.Uri, requestUri))
        {
            return DigestOutcome.UriMismatch;
        }
        var ha1 = credential?.Ha1(algorithm) ?? new string('0', algorithm == DigestAlgorithm.Sha256 ? 64 : 32);
        var expected = Response(algorithm, ha1, c.Nonce, c.NonceCount, c.Cnonce, c.Qop, method, c.Uri);
        var right = FixedTimeEqualsIgnoreCase(expected, c.Response);
        if (credential is null)
        {
            return DigestOutcome.UnknownUser;
        }
        if (!right)
        {
            return DigestOutcome.WrongResponse;
        }
        if (!TryReadNonce(c.Nonce, realm, out var issuedMs) || issuedMs + (long)_lifetime.TotalMilliseconds <= Now || issuedMs > Now + 60_000)
        {
            return DigestOutcome.Stale;
        }
        return c.Qop is null ? DigestOutcome.Ok : CheckCount(c.Nonce, issuedMs, c.NonceCountValue);
    }

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private DigestOutcome CheckCount(string nonce, long issuedMs, uint nc)
    {
        if (nc == 0)
        {
            return DigestOutcome.Replay;
        }
        lock (_lock)
        {
            var expiredBefore = Now - (long)_lifetime.TotalMilliseconds;
            while (_order.TryPeek(out var head) && head.IssuedMs <= expiredBefore)
            {
                _order.Dequeue();
                _counts.Remove(head.Nonce);
            }
            if (_counts.TryGetValue(nonce, out var last))
            {
                if (nc <= last)
                {
                    return DigestOutcome.Replay;
                }
                _counts[nonce] = nc;
                return DigestOutcome.Ok;
            }
            // Not tracked: new, or forgotten to stay within bounds (then its counts are unknown: stale).
            if (issuedMs <= _evictedUpTo)
            {
                return DigestOutcome.Stale;
            }
            _counts[nonce] = nc;
            _order.Enqueue((nonce, issuedMs));
            while (_counts.Count > _maxTracked && _order.TryDequeue(out var oldest))
            {
                _counts.Remove(oldest.Nonce);
                _evictedUpTo = Math.Max(_evictedUpTo, oldest.IssuedMs);
            }
            return DigestOutcome.Ok;
        }
    }

    private bool TryReadNonce(string nonce, string realm, out long issuedMs)
    {
        issuedMs = 0;
        Span<byte> bytes = stackalloc byte[NonceBytes];
        if (nonce.Length != 43 || !System.Buffers.Text.Base64Url.TryDecodeFromChars(nonce, bytes, out var written) || written != NonceBytes)
        {
            return false;
        }
        Span<byte> mac = stackalloc byte[16];
        Sign(bytes[..16], realm, mac);
        if (!CryptographicOperations.FixedTimeEquals(mac, bytes[16..]))
        {
            return false;
        }
        issuedMs = BinaryPrimitives.ReadInt64BigEndian(bytes);
        return true;
    }

    private void Sign(ReadOnlySpan<byte> stampAndRandom, string realm, Span<byte> mac16)
    {
        var realmBytes = Encoding.UTF8.GetBytes(realm);
        var input = new byte[stampAndRandom.Length + realmBytes.Length];
        stampAndRandom.CopyTo(input);
        realmBytes.CopyTo(input.AsSpan(stampAndRandom.Length));
        Span<byte> full = stackalloc byte[32];
        HMACSHA256.HashData(_key, input, full);
        full[..16].CopyTo(mac16);
    }

    private static bool TryAlgorithm(string? name, out DigestAlgorithm algorithm)
    {
        algorithm = DigestAlgorithm.Md5;
        if (name is null || name.Equals("MD5", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (name.Equals("SHA-256", StringComparison.OrdinalIgnoreCase))
        {
            algorithm = DigestAlgorithm.Sha256;
            return true;
        }
        return false;
    }

    /// <summary>Some phones write the digest-uri with another case of scheme or host than the Request-URI; compare
    /// those parts case-insensitively (RFC 3261 §19.1.4), the user part exactly.</summary>
    private static bool SameSipUri(string a, string b) =>
        SipUri.TryParse(a, out var x) && SipUri.TryParse(b, out var y) && x.Secure == y.Secure &&
        string.Equals(x.User, y.User, StringComparison.Ordinal) &&
        string.Equals(x.Host, y.Host, StringComparison.OrdinalIgnoreCase) && x.Port == y.Port;

    private static bool FixedTimeEqualsIgnoreCase(string expectedLowerHex, string given)
    {
        if (given.Length != expectedLowerHex.Length)
        {
            return false;
        }
        Span<byte> a = stackalloc byte[64];
        Span<byte> b = stackalloc byte[64];
        var nonAscii = false;
        for (var i = 0; i < given.Length; i++)
        {
            a[i] = (byte)expectedLowerHex[i];
            b[i] = (byte)char.ToLowerInvariant(given[i]);
            nonAscii |= given[i] > 127;
        }
        return CryptographicOperations.FixedTimeEquals(a[..given.Length], b[..given.Length]) && !nonAscii;
    }

    private static string Hash(DigestAlgorithm algorithm, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return algorithm == DigestAlgorithm.Sha256
            ? Convert.ToHexStringLower(SHA256.HashData(bytes))
            : Convert.ToHexStringLower(MD5.HashData(bytes));
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
