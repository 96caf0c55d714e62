using System.Collections.Concurrent;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;
using Lineup.Sip.Registrar;

namespace Lineup.Server.Telephony;

/// <summary>How setting a credential went.</summary>
public enum SipCredentialResult
{
    Ok,
    /// <summary>Another agent of the tenant has that username.</summary>
    UsernameTaken,
}

/// <summary>
/// Agents' SIP digest credentials for the registrar: written through to the database by the API, read from memory
/// on the SIP hot path (no database read per REGISTER). Loaded once at start-up (after the tenants); every change
/// made through this class updates the cache after its commit.
/// </summary>
/// <remarks>
/// The realm is the tenant's name when the password was set, and HA1 depends on it: after a tenant is renamed its
/// credentials no longer match (<see cref="Find"/> checks the tenant's current name) until the passwords are set again.
/// A credential of a deleted tenant is never found, since tenant ids are not reused.
/// </remarks>
public sealed class SipCredentialStore(CredentialStore store, ITenantGateway registry, TimeProvider time) : ISipCredentialSource, IHostedService
{
    private sealed record Entry(long TenantId, long AgentId, SipCredential Credential);

    // (realm, username) → credential; (tenant, agent) → the key it is under, to move it when the username changes.
    private readonly ConcurrentDictionary<(string Realm, string Username), Entry> _byName = new();
    private readonly ConcurrentDictionary<(long TenantId, long AgentId), (string Realm, string Username)> _byAgent = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    /// <summary>Raised after a credential set or removed here is committed (tenant, agent): a cluster tells its other
    /// nodes.</summary>
    public event Action<long, long>? Changed;

    /// <summary>Credentials in the cache.</summary>
    public int Count => _byAgent.Count;

    /// <inheritdoc/>
    public SipCredential? Find(string realm, string username)
    {
        if (!_byName.TryGetValue((realm, username), out var e)) return null;
        return registry.Get(e.TenantId) is { } host && host.Name == realm ? e.Credential : null;
    }

    /// <summary>The agent whose SIP user name in <paramref name="realm"/> is <paramref name="username"/>, or null.</summary>
    public long? AgentOf(string realm, string username) =>
        _byName.TryGetValue((realm, username), out var e) && registry.Get(e.TenantId) is { } host && host.Name == realm ? e.AgentId : null;

    /// <summary>The agent's stored credential (its hashes, never a password), or null.</summary>
    public Task<SipCredentialRow?> GetAsync(long tenantId, long agentId) => store.GetSipCredentialAsync(tenantId, agentId);

    /// <summary>The SIP username set for the agent, or null when it has no credential.</summary>
    public string? UsernameOf(long tenantId, long agentId) => _byAgent.TryGetValue((tenantId, agentId), out var key) ? key.Username : null;

    /// <summary>Sets the agent's username and password (hashed here: only HA1 values are stored) in
    /// <paramref name="realm"/>.</summary>
    public async Task<(SipCredentialResult Result, SipCredentialRow? Row)> SetAsync(long tenantId, long agentId, string username, string realm, string password)
    {
        var credential = SipCredential.Create(username, realm, password);
        var row = new SipCredentialRow(tenantId, agentId, username, realm, credential.Ha1Md5, credential.Ha1Sha256,
            time.GetUtcNow().ToUnixTimeMilliseconds());
        await _writeLock.WaitAsync();
        try
        {
            if (!await store.UpsertSipCredentialAsync(row)) return (SipCredentialResult.UsernameTaken, null);
            Forget(tenantId, agentId);
            Remember(row);
        }
        finally
        {
            _writeLock.Release();
        }
        Changed?.Invoke(tenantId, agentId);
        return (SipCredentialResult.Ok, row);
    }

    /// <summary>Removes the agent's credential (when it is removed, or on request); false when it had none.</summary>
    public async Task<bool> RemoveAsync(long tenantId, long agentId)
    {
        bool removed;
        await _writeLock.WaitAsync();
        try
        {
            removed = await store.DeleteSipCredentialAsync(tenantId, agentId);
            removed = Forget(tenantId, agentId) || removed;
        }
        finally
        {
            _writeLock.Release();
        }
        if (removed) Changed?.Invoke(tenantId, agentId);
        return removed;
    }

    /// <summary>Loads every stored credential (after the tenants are started: <see cref="TenantStartup"/>).</summary>
    /// <summary>Cluster mode: reads the user's credential again (it may have been set through another node since this
    /// one started), before the registrar checks a REGISTER's answer to a challenge.</summary>
    public async Task RefreshAsync(long tenantId, string realm, string username)
    {
        var row = await store.FindSipCredentialAsync(tenantId, username);
        await _writeLock.WaitAsync();
        try
        {
            if (row != null) Remember(row);
            else if (_byName.TryGetValue((realm, username), out var e) && e.TenantId == tenantId) Forget(e.TenantId, e.AgentId);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Cluster mode: reads the agent's credential again (its SIP username may have changed through another node).</summary>
    public async Task RefreshAgentAsync(long tenantId, long agentId)
    {
        var row = await store.GetSipCredentialAsync(tenantId, agentId);
        await _writeLock.WaitAsync();
        try
        {
            Forget(tenantId, agentId);
            if (row != null) Remember(row);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var row in await store.ListSipCredentialsAsync(cancellationToken))
        {
            // Two tenants may have held the same name over time: the one that has it now wins.
            if (_byName.TryGetValue((row.Realm, row.Username), out var other) && registry.Get(other.TenantId)?.Name == row.Realm) continue;
            Remember(row);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Remember(SipCredentialRow row)
    {
        var key = (row.Realm, row.Username);
        if (_byName.TryGetValue(key, out var previous)) _byAgent.TryRemove((previous.TenantId, previous.AgentId), out _);
        _byName[key] = new Entry(row.TenantId, row.AgentId, new SipCredential(row.Username, row.Realm, row.Ha1Md5, row.Ha1Sha256));
        _byAgent[(row.TenantId, row.AgentId)] = key;
    }

    private bool Forget(long tenantId, long agentId)
    {
        if (!_byAgent.TryRemove((tenantId, agentId), out var key)) return false;
        if (_byName.TryGetValue(key, out var e) && e.TenantId == tenantId && e.AgentId == agentId) _byName.TryRemove(key, out _);
        return true;
    }
}
