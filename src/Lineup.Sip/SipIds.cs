using System.Security.Cryptography;

namespace Lineup.Sip;

/// <summary>Random identifiers: tags (§19.3), branches (§8.1.1.7) and Call-IDs (§8.1.1.4), each with enough entropy to be unique.</summary>
internal static class SipIds
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    public static string NewTag() => Random(10);

    public static string NewBranch() => SipVia.MagicCookie + Random(16);

    public static string NewCallId(string host) => Random(20) + "@" + host;

    private static string Random(int length) => RandomNumberGenerator.GetString(Alphabet, length);
}
