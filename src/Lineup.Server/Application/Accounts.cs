using Lineup.Server.Auth;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Application;

/// <summary>A user account as the application shows it (never its password hash).</summary>
public sealed record UserAccount(long Id, long? TenantId, string Username, Role Role, long? AgentId, long CreatedAt)
{
    internal static UserAccount From(UserRow u) => new(u.Id, u.TenantId, u.Username, Enum.Parse<Role>(u.Role), u.AgentId, u.CreatedAt);
}

/// <summary>An API key as listed; <see cref="Key"/> is the secret, present only when the key is created.</summary>
public sealed record ApiKey(long Id, string Name, Role Role, string Prefix, long CreatedAt, string? Key = null);

/// <summary>A signed-in session: its tokens and who it is.</summary>
public sealed record SignedIn(TokenPair Tokens, UserAccount User);

/// <summary>Sign-in, token refresh and sign-out for every API that signs users in (native and dialects alike), so
/// throttling, the decoy hash for unknown users and the tokens are the same whichever door is used.</summary>
public sealed class SignInService(AccountStore accounts, AuthService auth, ITenantGateway tenants)
{
    /// <summary>The field that names the tenant in a sign-in (each API names it its own way).</summary>
    public const string TenantField = "tenant";

    /// <summary>Signs in <paramref name="username"/> of the tenant named <paramref name="tenantName"/>, or of the tenant
    /// "default" when none is named; the system administrator signs in with any existing tenant's name or none. A named
    /// tenant that does not exist is an error for everyone (<see cref="TenantField"/>), counted against the client
    /// address like a failed sign-in so that names cannot be probed quickly. Failures are counted per account tried and
    /// per client address, across every API.</summary>
    public async Task<Result<SignedIn>> SignInAsync(string username, string password, string? tenantName, string clientAddress)
    {
        var ipKey = $"ip:{clientAddress}";
        ITenant? tenant;
        if (string.IsNullOrEmpty(tenantName))
        {
            tenant = await tenants.FindAsync(TenantRegistry.DefaultTenant);
        }
        else if ((tenant = await tenants.FindAsync(tenantName)) == null)
        {
            if (auth.Throttle.BlockedFor($"tenant:{tenantName}", ipKey) is { } blocked)
                return new AppError(Failure.Throttled, "Too many failed sign-ins; try again later.") { RetryAfter = blocked };
            auth.Throttle.Fail(ipKey);
            return AppError.Invalid(TenantField, $"No tenant is named '{tenantName}'.");
        }
        UserRow? user = null;
        if (tenant != null) user = await accounts.FindUserAsync(tenant.TenantId, username);
        user ??= await accounts.FindUserAsync(null, username);

        // Per account actually tried (so that varying the tenant name does not reset the count for the system
        // administrator) and per client address.
        var accountKey = user != null ? $"user:{user.Id}" : $"unknown:{tenant?.Name}/{username}";
        if (auth.Throttle.BlockedFor(accountKey, ipKey) is { } wait)
            return new AppError(Failure.Throttled, "Too many failed sign-ins; try again later.") { RetryAfter = wait };
        // An unknown user costs the same time as a wrong password, so timing does not tell which names exist.
        if (!Passwords.Verify(password, user?.PasswordHash ?? Passwords.Decoy) || user == null)
        {
            auth.Throttle.Fail(accountKey, ipKey);
            return new AppError(Failure.Unauthorized, tenant == null || !string.IsNullOrEmpty(tenantName)
                ? "Unknown user or wrong password."
                : $"Unknown user or wrong password for the tenant '{tenant.Name}' (the one signed in to when none is named).");
        }
        auth.Throttle.Succeed(accountKey);
        return new SignedIn(await auth.IssueAsync(user), UserAccount.From(user));
    }

    public async Task<Result<SignedIn>> RefreshAsync(string refreshToken) =>
        await auth.RefreshAsync(refreshToken) is { } issued
            ? new SignedIn(issued.Tokens, UserAccount.From(issued.User))
            : new AppError(Failure.Unauthorized, "Invalid or expired refresh token.");

    public Task LogoutAsync(string accessToken, string? refreshToken) => auth.LogoutAsync(accessToken, refreshToken);
}

/// <summary>Tenants, their users and their API keys.</summary>
public sealed class AccountService(AccountStore accounts, IdSequence ids, AuthService auth, ITenantGateway tenants, TimeProvider time)
{
    // ---- tenants

    public async Task<Result<ITenant>> CreateTenantAsync(string name, string timeZone, CancellationToken ct)
    {
        if (await tenants.FindAsync(name) != null) return AppError.Conflict("A tenant with that name exists.");
        return Result<ITenant>.Success(await tenants.CreateAsync(name, timeZone, ct));
    }

    public async Task<Result<ITenant>> UpdateTenantAsync(long id, string? name, string? timeZone)
    {
        if (await tenants.GetAsync(id) is not { } tenant) return AppError.NotFound("No such tenant.");
        if (name != null && name != tenant.Name && await tenants.FindAsync(name) != null) return AppError.Conflict("A tenant with that name exists.");
        await tenants.RenameAsync(id, name ?? tenant.Name, timeZone ?? tenant.TimeZone);
        return Result<ITenant>.Success(await tenants.GetAsync(id) ?? tenant);
    }

    public async Task<Result<bool>> DeleteTenantAsync(long id)
    {
        if (await tenants.GetAsync(id) is null) return AppError.NotFound("No such tenant.");
        await tenants.RemoveAsync(id);
        return true;
    }

    // ---- users

    public async Task<IReadOnlyList<UserAccount>> ListUsersAsync(long tenantId, long afterId, int limit) =>
        [.. (await accounts.ListUsersAsync(tenantId, afterId, limit)).Select(UserAccount.From)];

    /// <summary>Every user of the tenant, in id order.</summary>
    public async Task<IReadOnlyList<UserAccount>> AllUsersAsync(long tenantId)
    {
        var all = new List<UserAccount>();
        for (long after = 0; ;)
        {
            var page = await ListUsersAsync(tenantId, after, 500);
            all.AddRange(page);
            if (page.Count < 500) return all;
            after = page[^1].Id;
        }
    }

    public async Task<UserAccount?> GetUserAsync(long tenantId, long id) =>
        await accounts.GetUserAsync(id) is { } u && u.TenantId == tenantId ? UserAccount.From(u) : null;

    public async Task<Result<UserAccount>> CreateUserAsync(ITenant tenant, string username, string password, Role role, long? agentId)
    {
        if (await accounts.FindUserAsync(tenant.TenantId, username) != null) return AppError.Conflict("A user with that username exists.");
        var row = new UserRow(await ids.NextIdAsync(), tenant.TenantId, username, Passwords.Hash(password), role.ToString(), agentId,
            time.GetUtcNow().ToUnixTimeMilliseconds());
        await accounts.InsertUserAsync(row);
        return UserAccount.From(row);
    }

    /// <summary>Changes a user's password (ending its sessions), role or agent.</summary>
    public async Task<Result<UserAccount>> UpdateUserAsync(long tenantId, long id, string? password, Role? role, long? agentId)
    {
        if (await accounts.GetUserAsync(id) is not { } user || user.TenantId != tenantId) return AppError.NotFound("No such user.");
        var updated = user with
        {
            PasswordHash = password != null ? Passwords.Hash(password) : user.PasswordHash,
            Role = role?.ToString() ?? user.Role,
            AgentId = agentId ?? user.AgentId,
        };
        await accounts.UpdateUserAsync(updated, revokeSessions: password != null);
        auth.Forget(user.Id);
        return UserAccount.From(updated);
    }

    public async Task<Result<bool>> DeleteUserAsync(long tenantId, long id)
    {
        if (await GetUserAsync(tenantId, id) is null) return AppError.NotFound("No such user.");
        await accounts.DeleteUserAsync(id);
        auth.Forget(id);
        return true;
    }

    /// <summary>The users bound to a deleted agent: an agent user (who can only act as that agent) is deleted with its
    /// sessions; a supervisor or admin keeps its account, no longer bound to an agent.</summary>
    internal async Task DetachAgentAsync(long tenantId, long agentId)
    {
        foreach (var userId in await accounts.DetachAgentAsync(tenantId, agentId)) auth.Forget(userId);
    }

    // ---- the system administrator

    /// <summary>The system administrator's user name, created on a new store.</summary>
    public const string SystemAdminName = "admin";

    /// <summary>Whether the system administrator exists and signs in with <paramref name="password"/>; null when it does
    /// not exist.</summary>
    public async Task<bool?> SystemAdminHasPasswordAsync(string password) =>
        await accounts.FindUserAsync(null, SystemAdminName) is { } admin ? Passwords.Verify(password, admin.PasswordHash) : null;

    /// <summary>Gives the system administrator <paramref name="password"/> and ends its sessions (creating it when the
    /// store has none, as the first start would).</summary>
    public async Task ResetSystemAdminPasswordAsync(string password)
    {
        if (await accounts.FindUserAsync(null, SystemAdminName) is { } admin)
        {
            await accounts.UpdateUserAsync(admin with { PasswordHash = Passwords.Hash(password) }, revokeSessions: true);
            auth.Forget(admin.Id);
            return;
        }
        await accounts.InsertUserAsync(new UserRow(await ids.NextIdAsync(), null, SystemAdminName, Passwords.Hash(password),
            nameof(Role.SystemAdmin), null, time.GetUtcNow().ToUnixTimeMilliseconds()));
    }

    // ---- API keys

    public async Task<ApiKey> CreateApiKeyAsync(long tenantId, string name, Role role)
    {
        var key = Tokens.New("lk_");
        var row = new ApiKeyRow(await ids.NextIdAsync(), tenantId, name, Tokens.Hash(key), key[..7], role.ToString(),
            time.GetUtcNow().ToUnixTimeMilliseconds());
        await accounts.InsertApiKeyAsync(row);
        return new ApiKey(row.Id, row.Name, role, row.Prefix, row.CreatedAt, key);
    }

    public async Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(long tenantId, long afterId, int limit) =>
        [.. (await accounts.ListApiKeysAsync(tenantId, afterId, limit)).Select(k => new ApiKey(k.Id, k.Name, Enum.Parse<Role>(k.Role), k.Prefix, k.CreatedAt))];

    public async Task<Result<bool>> DeleteApiKeyAsync(long tenantId, long id)
    {
        var key = (await accounts.ListApiKeysAsync(tenantId, id - 1, 1)).FirstOrDefault(k => k.Id == id);
        if (key == null || !await accounts.DeleteApiKeyAsync(tenantId, id)) return AppError.NotFound("No such API key.");
        auth.ForgetApiKey(key.KeyHash);
        return true;
    }
}
