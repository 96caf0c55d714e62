using System.Collections.Concurrent;
using Lineup.Server.Storage;

namespace Lineup.Server.Auth;

public sealed record TokenPair(string AccessToken, string RefreshToken, int ExpiresIn);

/// <summary>Sign-in, refresh, sign-out and token/API-key validation. Validated tokens are cached in memory for
/// their lifetime; sign-out removes them from the cache and the store.</summary>
public sealed class AuthService(AccountStore store, TimeProvider time, LoginThrottle throttle)
{
    public static readonly TimeSpan AccessLifetime = TimeSpan.FromHours(1);
    public static readonly TimeSpan RefreshLifetime = TimeSpan.FromDays(30);
    private readonly ConcurrentDictionary<string, (Caller Caller, long ExpiresAt)> _cache = new(StringComparer.Ordinal);

    public LoginThrottle Throttle => throttle;

    public async Task<TokenPair> IssueAsync(UserRow user)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var access = Tokens.New("la_");
        var refresh = Tokens.New("lr_");
        await store.InsertSessionsAsync(
            new SessionRow(Tokens.Hash(access), user.Id, "access", now + (long)AccessLifetime.TotalMilliseconds, now),
            new SessionRow(Tokens.Hash(refresh), user.Id, "refresh", now + (long)RefreshLifetime.TotalMilliseconds, now));
        return new TokenPair(access, refresh, (int)AccessLifetime.TotalSeconds);
    }

    /// <summary>Exchanges a refresh token for a new pair; the old refresh token stops working (rotation).</summary>
    public async Task<(TokenPair Tokens, UserRow User)?> RefreshAsync(string refreshToken)
    {
        var hash = Tokens.Hash(refreshToken);
        var session = await store.GetSessionAsync(hash);
        if (session is not { Kind: "refresh" } || session.ExpiresAt <= time.GetUtcNow().ToUnixTimeMilliseconds()) return null;
        var user = await store.GetUserAsync(session.UserId);
        if (user == null) return null;
        await store.DeleteSessionsAsync(hash);
        return (await IssueAsync(user), user);
    }

    public async Task LogoutAsync(string accessToken, string? refreshToken)
    {
        var hashes = new List<string> { Tokens.Hash(accessToken) };
        if (!string.IsNullOrEmpty(refreshToken)) hashes.Add(Tokens.Hash(refreshToken));
        foreach (var h in hashes) _cache.TryRemove(h, out _);
        await store.DeleteSessionsAsync([.. hashes]);
    }

    public void Forget(long userId)
    {
        foreach (var kv in _cache)
            if (kv.Value.Caller.UserId == userId && !kv.Value.Caller.IsApiKey) _cache.TryRemove(kv.Key, out _);
    }

    /// <summary>The caller a token or API key stands for, or null. A cached one answers at once, without allocating
    /// beyond the token's hash (every authenticated request comes here).</summary>
    public ValueTask<Caller?> ValidateAsync(string token)
    {
        var hash = Tokens.Hash(token);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_cache.TryGetValue(hash, out var cached))
        {
            if (cached.ExpiresAt > now) return ValueTask.FromResult<Caller?>(cached.Caller);
            _cache.TryRemove(hash, out _);
        }
        return new ValueTask<Caller?>(LookUpAsync(token, hash, now));
    }

    private async Task<Caller?> LookUpAsync(string token, string hash, long now)
    {
        if (token.StartsWith("lk_", StringComparison.Ordinal))
        {
            var key = await store.FindApiKeyAsync(hash);
            if (key == null) return null;
            var caller = new Caller(-key.Id, key.Name, key.TenantId, Enum.Parse<Role>(key.Role), null, IsApiKey: true);
            _cache[hash] = (caller, now + 60_000);
            return caller;
        }
        var session = await store.GetSessionAsync(hash);
        if (session is not { Kind: "access" } || session.ExpiresAt <= now) return null;
        var user = await store.GetUserAsync(session.UserId);
        if (user == null) return null;
        var c = ToCaller(user);
        _cache[hash] = (c, session.ExpiresAt);
        return c;
    }

    public void ForgetApiKey(string keyHash) => _cache.TryRemove(keyHash, out _);

    public static Caller ToCaller(UserRow u) =>
        new(u.Id, u.Username, u.TenantId, Enum.Parse<Role>(u.Role), u.AgentId, IsApiKey: false);
}
