namespace Lineup.Sip.Registrar;

/// <summary>What the registrar knows of a SIP user: the digest HA1 values, H(username ":" realm ":" password), for
/// each algorithm (RFC 7616 §3.4.2), in lower-case hex. The clear password is never stored nor needed.</summary>
/// <param name="Username">The digest username (the user part of the address-of-record).</param>
/// <param name="Realm">The protection realm (Lineup: the tenant's name).</param>
/// <param name="Ha1Md5">MD5(username:realm:password), 32 hex digits.</param>
/// <param name="Ha1Sha256">SHA-256(username:realm:password), 64 hex digits.</param>
public sealed record SipCredential(string Username, string Realm, string Ha1Md5, string Ha1Sha256)
{
    /// <summary>The credential for a password, hashed once here and then forgotten.</summary>
    public static SipCredential Create(string username, string realm, string password) => new(
        username, realm,
        DigestAuthenticator.Ha1(DigestAlgorithm.Md5, username, realm, password),
        DigestAuthenticator.Ha1(DigestAlgorithm.Sha256, username, realm, password));

    /// <summary>The HA1 for <paramref name="algorithm"/>.</summary>
    public string Ha1(DigestAlgorithm algorithm) => algorithm == DigestAlgorithm.Sha256 ? Ha1Sha256 : Ha1Md5;
}

/// <summary>Where the registrar finds credentials. Called on the SIP hot path for every authenticated request: it
/// must answer from memory, quickly, and never throw.</summary>
public interface ISipCredentialSource
{
    /// <summary>The credential of <paramref name="username"/> in <paramref name="realm"/>, or null when there is none.</summary>
    SipCredential? Find(string realm, string username);
}
