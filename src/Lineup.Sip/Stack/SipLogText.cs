using System.Text;
using System.Text.RegularExpressions;

namespace Lineup.Sip.Stack;

/// <summary>
/// A SIP message as text for a debug log, without its secrets: SDES master keys (RFC 4568 <c>a=crypto:... inline:KEY</c>,
/// which would let anyone holding the log decrypt the call's media) and digest responses (RFC 3261 §22.4
/// <c>response="..."</c> in Authorization and Proxy-Authorization) are replaced by <c>&lt;redacted&gt;</c>.
/// </summary>
public static partial class SipLogText
{
    public const string Redacted = "<redacted>";

    [GeneratedRegex(@"(inline:)[^\s|]+", RegexOptions.CultureInvariant)]
    private static partial Regex CryptoKey();

    [GeneratedRegex(@"(\bresponse\s*=\s*)(""[^""]*""|[^\s,]+)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex DigestResponse();

    public static string Of(ReadOnlySpan<byte> message) => Redact(Encoding.UTF8.GetString(message));

    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = CryptoKey().Replace(text, "$1" + Redacted);
        return DigestResponse().Replace(text, "$1\"" + Redacted + "\"");
    }
}
