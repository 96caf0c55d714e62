using System.Text;

namespace Lineup.Sip;

/// <summary>
/// A SIP or SIPS URI (RFC 3261 §19.1.1): sip:user:password@host:port;uri-parameters?headers.
/// User, password, parameter and header names and values are stored with %-escapes decoded (§19.1.2).
/// </summary>
public sealed record SipUri(
    bool Secure,
    string? User,
    string? Password,
    string Host,
    int? Port,
    IReadOnlyList<SipParameter> Parameters,
    IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    /// <summary>True when <see cref="Host"/> is an IPv6 reference ("[...]").</summary>
    public bool IsIPv6Reference => Host.StartsWith('[');

    /// <summary>A URI parameter by name (case-insensitive), or null.</summary>
    public SipParameter? Parameter(string name) => SipSyntax.Find(Parameters, name);

    /// <summary>Parses a sip: or sips: URI; false for anything malformed (never throws).</summary>
    public static bool TryParse(ReadOnlySpan<char> s, out SipUri uri)
    {
        var ok = TryParse(s, build: true, out var parsed, out _);
        uri = parsed!;
        return ok;
    }

    /// <summary>Parses, or only checks the syntax when <paramref name="build"/> is false (then nothing is allocated
    /// and <paramref name="uri"/> is null). <paramref name="hasHeaders"/>: the URI carries "?" headers.</summary>
    internal static bool TryParse(ReadOnlySpan<char> s, bool build, out SipUri? uri, out bool hasHeaders)
    {
        uri = null;
        hasHeaders = false;
        bool secure;
        if (s.StartsWith("sip:", StringComparison.OrdinalIgnoreCase))
        {
            secure = false;
            s = s[4..];
        }
        else if (s.StartsWith("sips:", StringComparison.OrdinalIgnoreCase))
        {
            secure = true;
            s = s[5..];
        }
        else
        {
            return false;
        }
        foreach (var c in s)
        {
            if (c <= ' ' || c is '<' or '>' or '"' or (char)0x7f)
            {
                return false;
            }
        }

        string? user = null, password = null;
        var at = s.IndexOf('@');
        if (at >= 0)
        {
            var userinfo = s[..at];
            s = s[(at + 1)..];
            var colon = userinfo.IndexOf(':');
            var rawUser = colon >= 0 ? userinfo[..colon] : userinfo;
            if (rawUser.IsEmpty || !TryUnescape(rawUser, build, out user))
            {
                return false;
            }
            if (colon >= 0 && !TryUnescape(userinfo[(colon + 1)..], build, out password))
            {
                return false;
            }
        }

        // hostport
        int i;
        string host;
        if (s.Length > 0 && s[0] == '[')
        {
            var close = s.IndexOf(']');
            if (close < 0 || !System.Net.IPAddress.TryParse(s[1..close], out var ip) ||
                ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                return false;
            }
            host = build ? s[..(close + 1)].ToString() : "";
            i = close + 1;
        }
        else
        {
            i = 0;
            while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '-' or '.'))
            {
                i++;
            }
            if (i == 0)
            {
                return false;
            }
            host = build ? s[..i].ToString() : "";
        }
        int? port = null;
        if (i < s.Length && s[i] == ':')
        {
            var start = ++i;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }
            if (!SipSyntax.TryParseBoundedInt(s[start..i], 65535, out var p))
            {
                return false;
            }
            port = p;
        }

        List<SipParameter>? parameters = null;
        while (i < s.Length && s[i] == ';')
        {
            var start = ++i;
            while (i < s.Length && s[i] is not ';' and not '?')
            {
                i++;
            }
            var part = s[start..i];
            var eq = part.IndexOf('=');
            var rawName = eq >= 0 ? part[..eq] : part;
            if (rawName.IsEmpty || !TryUnescape(rawName, build, out var name))
            {
                return false;
            }
            string? value = null;
            if (eq >= 0 && !TryUnescape(part[(eq + 1)..], build, out value))
            {
                return false;
            }
            if (build)
            {
                (parameters ??= []).Add(new SipParameter(name!, value));
            }
        }

        List<KeyValuePair<string, string>>? headers = null;
        if (i < s.Length)
        {
            if (s[i] != '?')
            {
                return false;
            }
            foreach (var range in s[(i + 1)..].Split('&'))
            {
                var part = s[(i + 1)..][range];
                var eq = part.IndexOf('=');
                if (eq <= 0 || !TryUnescape(part[..eq], build, out var hn) || !TryUnescape(part[(eq + 1)..], build, out var hv))
                {
                    return false;
                }
                hasHeaders = true;
                if (build)
                {
                    (headers ??= []).Add(new(hn!, hv!));
                }
            }
        }

        if (build)
        {
            uri = new SipUri(secure, user, password, host, port, parameters ?? (IReadOnlyList<SipParameter>)[], headers ?? (IReadOnlyList<KeyValuePair<string, string>>)[]);
        }
        return true;
    }

    /// <summary><see cref="TryUnescape(ReadOnlySpan{char}, out string)"/>, or only the check of its escapes when
    /// <paramref name="build"/> is false (<paramref name="result"/> is then null).</summary>
    private static bool TryUnescape(ReadOnlySpan<char> s, bool build, out string? result)
    {
        if (build)
        {
            var ok = TryUnescape(s, out var text);
            result = text;
            return ok;
        }
        result = null;
        for (var i = s.IndexOf('%'); i >= 0 && i < s.Length; i++)
        {
            if (s[i] == '%')
            {
                if (i + 2 >= s.Length || !char.IsAsciiHexDigit(s[i + 1]) || !char.IsAsciiHexDigit(s[i + 2]))
                {
                    return false;
                }
                i += 2;
            }
        }
        return true;
    }

    /// <summary>Decodes %HH escapes (RFC 3261 §25.1 escaped); false on a malformed escape.</summary>
    internal static bool TryUnescape(ReadOnlySpan<char> s, out string result)
    {
        result = "";
        if (s.IndexOf('%') < 0)
        {
            result = s.ToString();
            return true;
        }
        var bytes = new List<byte>(s.Length);
        Span<byte> buf = stackalloc byte[4];
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '%')
            {
                if (i + 2 >= s.Length || !char.IsAsciiHexDigit(s[i + 1]) || !char.IsAsciiHexDigit(s[i + 2]))
                {
                    return false;
                }
                bytes.Add(Convert.ToByte(s.Slice(i + 1, 2).ToString(), 16));
                i += 2;
            }
            else
            {
                var n = Encoding.UTF8.GetBytes(s.Slice(i, 1), buf);
                for (var k = 0; k < n; k++)
                {
                    bytes.Add(buf[k]);
                }
            }
        }
        result = Encoding.UTF8.GetString([.. bytes]);
        return true;
    }

    /// <summary>True for a syntactically plausible absoluteURI of another scheme (RFC 3261 §25.1, RFC 3986 §3.1).</summary>
    internal static bool IsAbsoluteUri(ReadOnlySpan<char> s)
    {
        var colon = s.IndexOf(':');
        if (colon <= 0 || colon == s.Length - 1 || !char.IsAsciiLetter(s[0]))
        {
            return false;
        }
        foreach (var c in s[..colon])
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not '+' and not '-' and not '.')
            {
                return false;
            }
        }
        foreach (var c in s)
        {
            if (c <= ' ' || c is '<' or '>' or '"' or (char)0x7f)
            {
                return false;
            }
        }
        return true;
    }
}
