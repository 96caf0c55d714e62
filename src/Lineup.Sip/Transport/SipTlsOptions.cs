using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Lineup.Sip.Transport;

/// <summary>
/// TLS settings of the SIP stream transport (RFC 3261 §26.2, RFC 5630). Only TLS 1.2 and 1.3 are ever negotiated.
/// Outbound connections validate the server's certificate: against the system's roots, or only against
/// <see cref="TrustedAuthorities"/> (a private CA), or by a pinned certificate hash.
/// </summary>
public sealed record SipTlsOptions
{
    /// <summary>Our certificate for incoming connections; null for a transport that only connects out. Called for
    /// each handshake, so a source that reloads its files (<see cref="PemCertificateSource"/>) takes effect at once.</summary>
    public Func<SslStreamCertificateContext?>? ServerCertificate { get; init; }

    /// <summary>When set, a server certificate must chain to one of these (and only these) roots: a private CA.</summary>
    public X509Certificate2Collection? TrustedAuthorities { get; init; }

    /// <summary>SHA-256 hashes (hex, any case, colons allowed) of server certificates accepted whatever their chain
    /// and name (pinning), as long as they are within their validity period.</summary>
    public IReadOnlyCollection<string> PinnedCertificates { get; init; } = [];

    /// <summary>A connection whose handshake has not completed after this long is closed (a peer that stops mid-handshake).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>TLS 1.2 and 1.3.</summary>
    public static SslProtocols Protocols => SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>True when <paramref name="certificate"/>'s SHA-256 is pinned.</summary>
    internal bool IsPinned(X509Certificate2 certificate)
    {
        if (PinnedCertificates.Count == 0)
        {
            return false;
        }
        var hash = Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256));
        foreach (var pin in PinnedCertificates)
        {
            if (string.Equals(pin.Replace(":", "", StringComparison.Ordinal), hash, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Client options for a connection to <paramref name="serverName"/> (a DNS name or an IP literal).</summary>
    internal SslClientAuthenticationOptions ClientOptions(string serverName)
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (TrustedAuthorities is { Count: > 0 } roots)
        {
            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            policy.CustomTrustStore.AddRange(roots);
            options.CertificateChainPolicy = policy;
        }
        if (PinnedCertificates.Count > 0)
        {
            options.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None
                || (certificate is X509Certificate2 c && IsPinned(c) && c.NotBefore <= DateTime.Now && DateTime.Now <= c.NotAfter);
        }
        return options;
    }
}

/// <summary>
/// A certificate and private key read from PEM files (the certificate file may carry the intermediate chain after
/// the leaf), reloaded when either file changes: each <see cref="Current"/> looks at the files' write times (at most
/// once a second), so a renewed certificate is used from the next handshake on without a restart and without a
/// polling thread. A reload that fails (a half-written file) keeps the previous certificate and is retried.
/// </summary>
public sealed class PemCertificateSource
{
    private readonly string _certificatePath;
    private readonly string _keyPath;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private SslStreamCertificateContext? _current;
    private DateTime _certificateWritten;
    private DateTime _keyWritten;
    private long _checkedAt;

    /// <summary>Loads the files now; throws when they cannot be read (a configuration error shows at start).</summary>
    public PemCertificateSource(string certificatePath, string keyPath, TimeProvider? time = null)
    {
        _certificatePath = certificatePath;
        _keyPath = keyPath;
        _time = time ?? TimeProvider.System;
        if (!TryReload(out var error))
        {
            throw new InvalidOperationException(error);
        }
        _checkedAt = _time.GetTimestamp();
    }

    /// <summary>Times the files were loaded (the first load counts).</summary>
    public int Loads { get; private set; }

    /// <summary>The certificate in use (subject, expiry) for logs and tests.</summary>
    public X509Certificate2 Certificate => Current().TargetCertificate;

    /// <summary>The certificate context for a handshake, reloaded first if the files changed.</summary>
    public SslStreamCertificateContext Current()
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            if (now - _checkedAt >= _time.TimestampFrequency)
            {
                _checkedAt = now;
                if (File.GetLastWriteTimeUtc(_certificatePath) != _certificateWritten || File.GetLastWriteTimeUtc(_keyPath) != _keyWritten)
                {
                    TryReload(out _);
                }
            }
            return _current!;
        }
    }

    private bool TryReload(out string? error)
    {
        try
        {
            var certificateWritten = File.GetLastWriteTimeUtc(_certificatePath);
            var keyWritten = File.GetLastWriteTimeUtc(_keyPath);
            using var loaded = X509Certificate2.CreateFromPemFile(_certificatePath, _keyPath);
            // Re-import so the key is usable by every TLS backend (an ephemeral PEM key is not, on some).
            var certificate = X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
            var chain = new X509Certificate2Collection();
            chain.ImportFromPemFile(_certificatePath);
            var intermediates = new X509Certificate2Collection();
            foreach (var c in chain)
            {
                if (!string.Equals(c.Thumbprint, certificate.Thumbprint, StringComparison.Ordinal))
                {
                    intermediates.Add(c);
                }
            }
            _current = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
            _certificateWritten = certificateWritten;
            _keyWritten = keyWritten;
            Loads++;
            error = null;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            error = $"cannot load the TLS certificate {_certificatePath} with key {_keyPath}: {e.Message}";
            return false;
        }
    }
}
