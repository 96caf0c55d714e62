namespace Lineup.Sip;

/// <summary>CSeq (RFC 3261 §20.16): a sequence number below 2^31 and a method.</summary>
public readonly record struct SipCSeq(uint Number, string Method)
{
    /// <summary>Parses "1*DIGIT LWS Method"; the number must be less than 2^31 (§8.1.1.5).</summary>
    public static bool TryParse(ReadOnlySpan<char> s, out SipCSeq cseq)
    {
        cseq = default;
        s = s.Trim(" \t");
        var i = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
        }
        if (!SipSyntax.TryParseBoundedInt(s[..i], int.MaxValue, out var n))
        {
            return false;
        }
        var j = SipSyntax.SkipWs(s, i);
        if (j == i || !SipSyntax.IsToken(s[j..]))
        {
            return false;
        }
        cseq = new SipCSeq((uint)n, SipSyntax.KnownMethod(s[j..]) ?? s[j..].ToString());
        return true;
    }
}

/// <summary>Content-Type (RFC 3261 §20.15): media-type with parameters.</summary>
public sealed record SipContentType(string Type, string Subtype, IReadOnlyList<SipParameter> Parameters)
{
    /// <summary>"type/subtype" in lower case.</summary>
    public string MediaType => $"{Type}/{Subtype}".ToLowerInvariant();

    /// <summary>Parses m-type SLASH m-subtype *( SEMI m-parameter ).</summary>
    public static bool TryParse(ReadOnlySpan<char> s, out SipContentType result)
    {
        var ok = TryParse(s, build: true, out var parsed);
        result = parsed!;
        return ok;
    }

    /// <summary>Parses, or only checks the syntax when <paramref name="build"/> is false (nothing allocated).</summary>
    internal static bool TryParse(ReadOnlySpan<char> s, bool build, out SipContentType? result)
    {
        result = null;
        var i = SipSyntax.SkipWs(s, 0);
        var start = i;
        i = SipSyntax.ReadToken(s, i);
        if (i == start)
        {
            return false;
        }
        var type = s[start..i];
        i = SipSyntax.SkipWs(s, i);
        if (i >= s.Length || s[i] != '/')
        {
            return false;
        }
        i = SipSyntax.SkipWs(s, i + 1);
        start = i;
        i = SipSyntax.ReadToken(s, i);
        if (i == start)
        {
            return false;
        }
        var subtype = s[start..i];
        if (!build)
        {
            return SipSyntax.TryParseParams(s, i, null);
        }
        if (!SipSyntax.TryParseParams(s, i, out var parameters))
        {
            return false;
        }
        result = new SipContentType(type.ToString(), subtype.ToString(), parameters);
        return true;
    }
}
