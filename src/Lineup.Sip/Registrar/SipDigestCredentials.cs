using System.Diagnostics.CodeAnalysis;

namespace Lineup.Sip.Registrar;

/// <summary>
/// The Digest credentials of an Authorization header (RFC 3261 §20.7, §25.1 "credentials"; RFC 7616 §3.4):
/// <c>Digest username="…", realm="…", nonce="…", uri="…", response="…", algorithm=…, cnonce="…", qop=auth,
/// nc=00000001, opaque="…"</c>. Parameter names are case-insensitive; values are quoted strings (with "\" escapes)
/// or bare tokens; unknown parameters are ignored.
/// </summary>
public sealed record SipDigestCredentials(
    string Username,
    string Realm,
    string Nonce,
    string Uri,
    string Response,
    string? Algorithm,
    string? Cnonce,
    string? Qop,
    string? NonceCount,
    string? Opaque,
    bool UserHash)
{
    /// <summary>Longest header value looked at; anything longer is refused (no phone sends one).</summary>
    public const int MaxLength = 4096;

    /// <summary>Parses a header value. Never throws: anything malformed, a duplicated parameter, a missing
    /// username, realm, nonce, uri or response, or a qop without cnonce and nc gives false.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, [NotNullWhen(true)] out SipDigestCredentials? result)
    {
        result = null;
        if (s.Length > MaxLength)
        {
            return false;
        }
        var i = SipSyntax.SkipWs(s, 0);
        var start = i;
        i = SipSyntax.ReadToken(s, i);
        if (!s[start..i].Equals("Digest", StringComparison.OrdinalIgnoreCase) || i >= s.Length || !SipSyntax.IsWs(s[i]))
        {
            return false;
        }
        string? username = null, realm = null, nonce = null, uri = null, response = null;
        string? algorithm = null, cnonce = null, qop = null, nc = null, opaque = null, userhash = null;
        var any = false;
        while (true)
        {
            i = SipSyntax.SkipWs(s, i);
            if (i >= s.Length)
            {
                break;
            }
            if (s[i] == ',')
            {
                i++; // empty list elements are allowed (RFC 7230 §7)
                continue;
            }
            start = i;
            i = SipSyntax.ReadToken(s, i);
            if (i == start)
            {
                return false;
            }
            var name = s[start..i];
            i = SipSyntax.SkipWs(s, i);
            if (i >= s.Length || s[i] != '=')
            {
                return false;
            }
            i = SipSyntax.SkipWs(s, i + 1);
            if (i >= s.Length)
            {
                return false;
            }
            string value;
            if (s[i] == '"')
            {
                i = SipSyntax.ReadQuoted(s, i, out value);
                if (i < 0)
                {
                    return false;
                }
            }
            else
            {
                // A bare value: a token by the grammar; accept any visible characters up to a comma or space.
                start = i;
                while (i < s.Length && s[i] > ' ' && s[i] != ',' && s[i] != '"' && s[i] != (char)0x7f)
                {
                    i++;
                }
                if (i == start)
                {
                    return false;
                }
                value = s[start..i].ToString();
            }
            var slot = name switch
            {
                _ when Is(name, "username") => Set(ref username, value),
                _ when Is(name, "realm") => Set(ref realm, value),
                _ when Is(name, "nonce") => Set(ref nonce, value),
                _ when Is(name, "uri") => Set(ref uri, value),
                _ when Is(name, "response") => Set(ref response, value),
                _ when Is(name, "algorithm") => Set(ref algorithm, value),
                _ when Is(name, "cnonce") => Set(ref cnonce, value),
                _ when Is(name, "qop") => Set(ref qop, value),
                _ when Is(name, "nc") => Set(ref nc, value),
                _ when Is(name, "opaque") => Set(ref opaque, value),
                _ when Is(name, "userhash") => Set(ref userhash, value),
                _ => true,
            };
            if (!slot)
            {
                return false; // a parameter given twice
            }
            any = true;
            i = SipSyntax.SkipWs(s, i);
            if (i < s.Length && s[i] != ',')
            {
                return false;
            }
        }
        if (!any || username is null || realm is null || nonce is null || uri is null || response is null)
        {
            return false;
        }
        if (qop is not null && (cnonce is null || nc is null || nc.Length != 8 || !IsHex(nc)))
        {
            return false;
        }
        result = new SipDigestCredentials(username, realm, nonce, uri, response, algorithm, cnonce, qop, nc, opaque,
            string.Equals(userhash, "true", StringComparison.OrdinalIgnoreCase));
        return true;
    }

    /// <summary>The nonce count as a number (0 when there is none: RFC 2069 clients send no qop and no nc).</summary>
    public uint NonceCountValue => NonceCount is { } nc && uint.TryParse(nc, System.Globalization.NumberStyles.AllowHexSpecifier,
        System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0;

    private static bool Is(ReadOnlySpan<char> name, string expected) => name.Equals(expected, StringComparison.OrdinalIgnoreCase);

    private static bool Set(ref string? slot, string value)
    {
        if (slot is not null)
        {
            return false;
        }
        slot = value;
        return true;
    }

    private static bool IsHex(string s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }
        return true;
    }
}
