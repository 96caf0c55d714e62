using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Lineup.Sip.Tests.Support;

/// <summary>A throwaway certificate authority made by the test, and server certificates it signs (good, expired,
/// for another host), written as PEM files when a test needs files.</summary>
internal sealed class TestCertificates : IDisposable
{
    public TestCertificates(string name = "Lineup Test CA")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddYears(1));
        Directory.CreateDirectory(Folder);
    }

    /// <summary>The CA certificate with its private key.</summary>
    public X509Certificate2 Authority { get; }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "lineup-tls-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>A server certificate for <paramref name="dnsName"/> and 127.0.0.1, signed by the CA (or self-signed).</summary>
    public X509Certificate2 Server(string dnsName = "localhost", bool expired = false, bool selfSigned = false)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        if (dnsName == "localhost")
        {
            san.AddIpAddress(IPAddress.Loopback);
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var notBefore = expired ? DateTimeOffset.UtcNow.AddDays(-30) : DateTimeOffset.UtcNow.AddDays(-1);
        var notAfter = expired ? DateTimeOffset.UtcNow.AddDays(-1) : DateTimeOffset.UtcNow.AddDays(30);
        if (selfSigned)
        {
            return request.CreateSelfSigned(notBefore, notAfter);
        }
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        using var issued = request.Create(Authority, notBefore, notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes the certificate and key as PEM files; returns their paths.</summary>
    public (string Certificate, string Key) WritePem(X509Certificate2 certificate, string name)
    {
        var certPath = Path.Combine(Folder, name + ".crt");
        var keyPath = Path.Combine(Folder, name + ".key");
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        using var key = certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    /// <summary>The CA certificate as a PEM file (for clients that take a CA file).</summary>
    public string WriteAuthorityPem()
    {
        var path = Path.Combine(Folder, "ca.crt");
        File.WriteAllText(path, Authority.ExportCertificatePem());
        return path;
    }

    public void Dispose()
    {
        Authority.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
