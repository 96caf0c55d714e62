namespace Lineup.Sip.Registrar;

/// <summary>Settings of <see cref="SipRegistrar"/>.</summary>
public sealed record SipRegistrarOptions
{
    /// <summary>Expiry when neither the Contact's expires parameter nor an Expires header gives one (RFC 3261 §10.2.1.1).</summary>
    public int DefaultExpires { get; init; } = 3600;

    /// <summary>Shortest non-zero expiry accepted; shorter ones get 423 Interval Too Brief with Min-Expires (§10.3 step 7).</summary>
    public int MinExpires { get; init; } = 60;

    /// <summary>Longer expiries are shortened to this (§10.3 step 7 lets the registrar decrease them).</summary>
    public int MaxExpires { get; init; } = 7200;

    /// <summary>Most contacts one address-of-record may have; a REGISTER with more gets 403, and a new contact beyond it
    /// replaces the one closest to expiring (a rebooted phone behind NAT comes back with a new contact).</summary>
    public int MaxBindingsPerAor { get; init; } = 10;

    /// <summary>Most addresses-of-record with bindings; a new one beyond it gets 503.</summary>
    public int MaxAors { get; init; } = 100_000;

    /// <summary>How long a nonce is accepted before the client is told stale=true.</summary>
    public TimeSpan NonceLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Most nonces whose counts are remembered for replay checks.</summary>
    public int MaxTrackedNonces { get; init; } = 100_000;

    /// <summary>Algorithms challenged with, most preferred first, one WWW-Authenticate each (RFC 8760 §2.4). A phone
    /// that knows only MD5 skips the SHA-256 challenge.</summary>
    public IReadOnlyList<DigestAlgorithm> Algorithms { get; init; } = [DigestAlgorithm.Sha256, DigestAlgorithm.Md5];
}
