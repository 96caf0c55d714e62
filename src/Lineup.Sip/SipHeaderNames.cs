using System.Collections.Frozen;

namespace Lineup.Sip;

/// <summary>Header names: compact forms (RFC 3261 §7.3.3, §20 and the extension RFCs that define them) and canonical spellings.</summary>
public static class SipHeaderNames
{
    public const string Via = "Via";
    public const string From = "From";
    public const string To = "To";
    public const string CallId = "Call-ID";
    public const string CSeq = "CSeq";
    public const string MaxForwards = "Max-Forwards";
    public const string Contact = "Contact";
    public const string ContentType = "Content-Type";
    public const string ContentLength = "Content-Length";
    public const string Expires = "Expires";
    public const string Date = "Date";

    private static readonly FrozenDictionary<char, string> Compact = new Dictionary<char, string>
    {
        ['a'] = "Accept-Contact", // RFC 3841
        ['b'] = "Referred-By", // RFC 3892
        ['c'] = ContentType,
        ['d'] = "Request-Disposition", // RFC 3841
        ['e'] = "Content-Encoding",
        ['f'] = From,
        ['i'] = CallId,
        ['j'] = "Reject-Contact", // RFC 3841
        ['k'] = "Supported",
        ['l'] = ContentLength,
        ['m'] = Contact,
        ['n'] = "Identity-Info", // RFC 4474
        ['o'] = "Event", // RFC 6665
        ['r'] = "Refer-To", // RFC 3515
        ['s'] = "Subject",
        ['t'] = To,
        ['u'] = "Allow-Events", // RFC 6665
        ['v'] = Via,
        ['x'] = "Session-Expires", // RFC 4028
        ['y'] = "Identity", // RFC 8224
    }.ToFrozenDictionary();

    private static readonly string[] KnownNames =
    [
        Via, From, To, CallId, CSeq, MaxForwards, Contact, ContentType, ContentLength, Expires, Date,
        "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow", "Authentication-Info", "Authorization",
        "Call-Info", "Content-Disposition", "Content-Encoding", "Content-Language", "Error-Info", "In-Reply-To",
        "Min-Expires", "MIME-Version", "Organization", "Priority", "Proxy-Authenticate", "Proxy-Authorization",
        "Proxy-Require", "Record-Route", "Reply-To", "Require", "Retry-After", "Route", "Server", "Subject",
        "Supported", "Timestamp", "Unsupported", "User-Agent", "Warning", "WWW-Authenticate", "Event",
        "Allow-Events", "Refer-To", "Referred-By", "Session-Expires", "Path", "Service-Route", "RSeq", "RAck",
        "Accept-Contact", "Reject-Contact", "Request-Disposition", "Identity", "Identity-Info",
    ];

    private static readonly FrozenDictionary<string, string> Canonical =
        KnownNames.ToFrozenDictionary(n => n, n => n, StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> CanonicalBySpan =
        Canonical.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Longest known name (the span lookup below needs no more room).</summary>
    private static readonly int LongestKnown = KnownNames.Max(n => n.Length);

    /// <summary>
    /// Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1: only these may be combined).
    /// Others (From, To, Call-ID, the authentication headers, unknown headers) are never split.
    /// </summary>
    private static readonly FrozenSet<string> ListHeaders = new[]
    {
        Via, Contact, "Route", "Record-Route", "Allow", "Supported", "Require", "Proxy-Require", "Unsupported",
        "Accept", "Accept-Encoding", "Accept-Language", "Content-Encoding", "Content-Language", "Allow-Events",
        "Path", "Service-Route", "Warning", "Alert-Info", "Call-Info", "Error-Info", "In-Reply-To",
        "Accept-Contact", "Reject-Contact", "Request-Disposition",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The full, canonical name for <paramref name="name"/>: compact forms expanded, known names respelled.</summary>
    public static string Normalize(string name)
    {
        if (name.Length == 1 && Compact.TryGetValue(char.ToLowerInvariant(name[0]), out var full))
        {
            return full;
        }
        return Canonical.TryGetValue(name, out var canonical) ? canonical : name;
    }

    /// <summary>True when values of this header may be separated by commas (RFC 3261 §7.3.1).</summary>
    /// <summary><see cref="Normalize(string)"/> for a header name as received (ASCII token bytes): a known name is its
    /// constant, so parsing allocates no name string for it.</summary>
    internal static string Normalize(ReadOnlySpan<byte> name)
    {
        if (name.Length == 1 && Compact.TryGetValue(char.ToLowerInvariant((char)name[0]), out var full))
        {
            return full;
        }
        if (name.Length <= LongestKnown)
        {
            Span<char> chars = stackalloc char[name.Length];
            for (var i = 0; i < name.Length; i++)
            {
                chars[i] = (char)name[i];
            }
            if (CanonicalBySpan.TryGetValue(chars, out var canonical))
            {
                return canonical;
            }
        }
        return System.Text.Encoding.ASCII.GetString(name);
    }

    public static bool IsList(string fullName) => ListHeaders.Contains(fullName);
}
