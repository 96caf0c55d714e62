using System.Text.RegularExpressions;
using Lineup.Engine;
using Lineup.Server.Storage;
using Lineup.Server.Telephony;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Application;

/// <summary>An agent's SIP credential as the use cases hand it out: whose it is and what a phone registers with,
/// never the password nor the hashes kept of it (those stay in storage and in the registrar's cache).</summary>
public sealed record SipCredentialInfo(long AgentId, string Username, string Realm, long UpdatedAt);

/// <summary>
/// Agents' SIP credentials, with which their phones register with Lineup's registrar (docs/design/sip.md): read,
/// set (the username defaults to the agent's number; the realm is the tenant's name) and remove. Who may act on
/// which agent is the calling API's rule.
/// </summary>
public sealed partial class SipCredentialService(SipCredentialStore credentials)
{
    public static AppError NoCredential { get; } = AppError.NotFound("The agent has no SIP credential.");

    /// <summary>SIP user characters that need no escaping in a URI or a quoted string (RFC 3261 §25.1 unreserved).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9._~+-]{1,64}$")]
    private static partial Regex Username();

    public async Task<Result<SipCredentialInfo>> GetAsync(ITenant tenant, long agentId)
    {
        if (!EngineIds.TryInt(agentId, out var id) || await NumberOfAsync(tenant, id) == null) return AgentService.NoAgent;
        return await credentials.GetAsync(tenant.TenantId, id) is { } row ? Info(row) : NoCredential;
    }

    /// <summary>Sets the agent's username (its number when <paramref name="username"/> is null) and password.</summary>
    public async Task<Result<SipCredentialInfo>> SetAsync(ITenant tenant, long agentId, string? username, string? password)
    {
        if (!EngineIds.TryInt(agentId, out var id)) return AgentService.NoAgent;
        var e = new FieldErrors();
        if (password == null) e.Add("password", "password is required.");
        else if (password.Length is < 8 or > 128) e.Add("password", "password must be 8 to 128 characters long.");
        if (!string.IsNullOrEmpty(username) && !Username().IsMatch(username)) e.Add("username", "username must be 1 to 64 letters, digits or . _ ~ + -.");
        if (username is "") e.Add("username", "username must not be empty.");
        if (e.Any) return AppError.Invalid(e);
        if (await NumberOfAsync(tenant, id) is not { } number) return AgentService.NoAgent;
        username ??= number;
        if (username.Length == 0 || !Username().IsMatch(username))
            return AppError.Invalid("username", "username is required: the agent has no number that can serve as one.");
        var (result, row) = await credentials.SetAsync(tenant.TenantId, id, username, tenant.Name, password!);
        return result == SipCredentialResult.Ok ? Info(row!) : AppError.Conflict($"Another agent of this tenant has the SIP username '{username}'.");
    }

    public async Task<Result<bool>> RemoveAsync(ITenant tenant, long agentId)
    {
        if (!EngineIds.TryInt(agentId, out var id) || await NumberOfAsync(tenant, id) == null) return AgentService.NoAgent;
        return await credentials.RemoveAsync(tenant.TenantId, id) ? true : NoCredential;
    }

    /// <summary>The agent's number ("" when it has none), or null when there is no such agent.</summary>
    private static Task<string?> NumberOfAsync(ITenant tenant, int agentId) =>
        tenant.QueryAsync(engine => engine.TryGetAgent(new AgentId(agentId), out var a) ? a.Config.Number ?? "" : null);

    private static SipCredentialInfo Info(SipCredentialRow row) => new(row.AgentId, row.Username, row.Realm, row.UpdatedAt);
}
