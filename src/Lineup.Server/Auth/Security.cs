using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Lineup.Server.Auth;

public enum Role
{
    Agent,
    Supervisor,
    Admin,
    SystemAdmin,
}

/// <summary>Who is calling: a signed-in user or an API key.</summary>
public sealed record Caller(long UserId, string Name, long? HomeTenantId, Role Role, long? AgentId, bool IsApiKey);

/// <summary>Password hashing with PBKDF2-SHA256 (a slow KDF; the iteration count is stored with each hash).</summary>
public static class Passwords
{
    private const int Iterations = 120_000;

    public static string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, HashAlgorithmName.SHA256, 32);
        return $"pbkdf2-sha256${Iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    public static bool Verify(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != "pbkdf2-sha256" || !int.TryParse(parts[1], out var iterations)) return false;
        var salt = Convert.FromBase64String(parts[2]);
        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>A hash no password matches, verified when the user does not exist so that an unknown name costs the
    /// same time as a wrong password and sign-in timing does not tell which user names exist.</summary>
    public static readonly string Decoy = Hash(Generate());

    public static string Generate() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', 'x').Replace('/', 'y');
}

/// <summary>Opaque random tokens, stored only as SHA-256 hashes.</summary>
public static class Tokens
{
    public static string New(string prefix) =>
        prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Upper-case hex of the SHA-256 of the token's UTF-8 (one string allocated: it runs on every request).</summary>
    public static string Hash(string token)
    {
        var length = Encoding.UTF8.GetMaxByteCount(token.Length);
        var bytes = length <= 1024 ? stackalloc byte[length] : new byte[length];
        var written = Encoding.UTF8.GetBytes(token, bytes);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes[..written], hash);
        return Convert.ToHexString(hash);
    }
}

/// <summary>Failed sign-ins per account and per client address: after 5 failures of one account (or 50 from one
/// address, which many users may share behind a NAT) in 15 minutes, further attempts are refused (429) until the
/// window passes, whatever the password.</summary>
public sealed class LoginThrottle(TimeProvider time)
{
    public const int MaxFailures = 5;
    public const int MaxFailuresPerAddress = 50;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);
    private readonly ConcurrentDictionary<string, (int Count, DateTimeOffset Since)> _failures = new(StringComparer.Ordinal);

    public TimeSpan? BlockedFor(string account, string address) =>
        Blocked(account, MaxFailures) ?? Blocked(address, MaxFailuresPerAddress);

    private TimeSpan? Blocked(string key, int limit)
    {
        var now = time.GetUtcNow();
        return _failures.TryGetValue(key, out var f) && f.Count >= limit && now - f.Since < Window ? Window - (now - f.Since) : null;
    }

    public void Fail(params string[] keys)
    {
        var now = time.GetUtcNow();
        foreach (var key in keys)
            _failures.AddOrUpdate(key, _ => (1, now), (_, f) => now - f.Since >= Window ? (1, now) : (f.Count + 1, f.Since));
    }

    public void Succeed(string key) => _failures.TryRemove(key, out _);
}
