namespace Lineup.Sip.Registrar;

/// <summary>Digest hash algorithms (RFC 7616 §3.3; RFC 8760 for SIP). The "-sess" variants are not offered.</summary>
public enum DigestAlgorithm
{
    /// <summary>"MD5", the RFC 2617 algorithm every SIP phone knows.</summary>
    Md5,

    /// <summary>"SHA-256" (RFC 7616, RFC 8760).</summary>
    Sha256,
}
