namespace Lineup.Sip;

/// <summary>
/// A From, To or Contact value (RFC 3261 §20.10, §20.20, §20.39): ( name-addr / addr-spec ) *( SEMI param ).
/// The URI is kept as text; <see cref="SipUri"/> is set when it is a sip: or sips: URI.
/// </summary>
public sealed record SipNameAddress(string? DisplayName, string Uri, SipUri? SipUri, IReadOnlyList<SipParameter> Parameters, bool IsWildcard = false)
{
    /// <summary>The tag parameter (§19.3), or null.</summary>
    public string? Tag => SipSyntax.Find(Parameters, "tag")?.Value;

    /// <summary>The Contact expires parameter (§20.10), or null when absent or not delta-seconds.</summary>
    public uint? Expires => SipSyntax.Find(Parameters, "expires")?.Value is { } v && SipSyntax.TryParseDeltaSeconds(v, out var e) ? e : null;

    /// <summary>
    /// Parses a value. An addr-spec without angle brackets may not contain ",", "?" or ";" (§20.10, §20.20);
    /// no whitespace is allowed inside the angle brackets (LAQUOT/RAQUOT, §25.1); an unquoted display name is tokens and LWS.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> s, out SipNameAddress result, bool allowWildcard = false)
    {
        var ok = TryParse(s, build: true, out var parsed, allowWildcard);
        result = parsed!;
        return ok;
    }

    /// <summary>Parses, or only checks the syntax when <paramref name="build"/> is false (nothing allocated,
    /// <paramref name="result"/> null).</summary>
    internal static bool TryParse(ReadOnlySpan<char> s, bool build, out SipNameAddress? result, bool allowWildcard)
    {
        result = null;
        var i = SipSyntax.SkipWs(s, 0);
        if (allowWildcard && s[i..].TrimEnd(" \t") is "*")
        {
            result = build ? new SipNameAddress(null, "*", null, [], IsWildcard: true) : null;
            return true;
        }
        string? display = null;
        var quotedDisplay = false;
        ReadOnlySpan<char> uriText;
        if (i < s.Length && s[i] == '"')
        {
            var text = build ? new System.Text.StringBuilder() : null;
            i = SipSyntax.ReadQuoted(s, i, text);
            if (i < 0)
            {
                return false;
            }
            display = text?.ToString();
            quotedDisplay = true;
            i = SipSyntax.SkipWs(s, i);
            if (i >= s.Length || s[i] != '<')
            {
                return false;
            }
        }
        var lt = s[i..].IndexOf('<');
        if (lt >= 0)
        {
            if (!quotedDisplay)
            {
                var name = s.Slice(i, lt).Trim(" \t");
                foreach (var c in name)
                {
                    if (!SipSyntax.IsTokenChar(c) && !SipSyntax.IsWs(c))
                    {
                        return false;
                    }
                }
                display = name.IsEmpty || !build ? null : name.ToString();
            }
            i += lt + 1;
            var gt = s[i..].IndexOf('>');
            if (gt < 0)
            {
                return false;
            }
            var inner = s.Slice(i, gt);
            if (inner.IsEmpty || inner.ContainsAny(" \t"))
            {
                return false;
            }
            uriText = inner;
            i += gt + 1;
        }
        else
        {
            var start = i;
            while (i < s.Length && s[i] != ';' && !SipSyntax.IsWs(s[i]))
            {
                i++;
            }
            var spec = s[start..i];
            if (spec.IsEmpty || spec.ContainsAny(",?"))
            {
                return false;
            }
            uriText = spec;
        }
        SipUri? sip = null;
        var isSip = false;
        if (uriText.StartsWith("sip", StringComparison.OrdinalIgnoreCase) && uriText.Contains(':'))
        {
            var scheme = uriText[..uriText.IndexOf(':')];
            if (scheme.Equals("sip", StringComparison.OrdinalIgnoreCase) || scheme.Equals("sips", StringComparison.OrdinalIgnoreCase))
            {
                if (!SipUri.TryParse(uriText, build, out sip, out _))
                {
                    return false;
                }
                isSip = true;
            }
        }
        if (!isSip && !SipUri.IsAbsoluteUri(uriText))
        {
            return false;
        }
        if (!build)
        {
            return SipSyntax.TryParseParams(s, i, null);
        }
        if (!SipSyntax.TryParseParams(s, i, out var parameters))
        {
            return false;
        }
        result = new SipNameAddress(display, uriText.ToString(), sip, parameters);
        return true;
    }
}
