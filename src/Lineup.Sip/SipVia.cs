namespace Lineup.Sip;

/// <summary>
/// One Via value (RFC 3261 §20.42, §25.1 via-parm): sent-protocol, sent-by and parameters,
/// including branch (§8.1.1.7), received (§18.2.1) and rport (RFC 3581 §3, §4).
/// </summary>
public sealed record SipVia(string Protocol, string Version, string Transport, string Host, int? Port, IReadOnlyList<SipParameter> Parameters)
{
    /// <summary>The RFC 3261 magic cookie that starts a conforming branch (§8.1.1.7).</summary>
    public const string MagicCookie = "z9hG4bK";

    /// <summary>The branch parameter, or null.</summary>
    public string? Branch => SipSyntax.Find(Parameters, "branch")?.Value;

    /// <summary>The received parameter (§18.2.1), or null.</summary>
    public string? Received => SipSyntax.Find(Parameters, "received")?.Value;

    /// <summary>True when an rport parameter is present (RFC 3581 §3), with or without a value.</summary>
    public bool HasRport => SipSyntax.Find(Parameters, "rport") is not null;

    /// <summary>The rport value a server filled in (RFC 3581 §4), or null.</summary>
    public int? Rport => SipSyntax.Find(Parameters, "rport")?.Value is { } v && SipSyntax.TryParseBoundedInt(v, 65535, out var p) ? p : null;

    /// <summary>True when the branch starts with the magic cookie and carries an identifier after it (§8.1.1.7).</summary>
    public bool HasRfc3261Branch => Branch is { } b && b.StartsWith(MagicCookie, StringComparison.Ordinal) && b.Length > MagicCookie.Length;

    /// <summary>Parses a single via-parm; SWS is allowed around "/" (SLASH), ":" and parameters.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, out SipVia via)
    {
        var ok = TryParse(s, build: true, out var parsed, out _);
        via = parsed!;
        return ok;
    }

    /// <summary>Parses, or only checks the syntax when <paramref name="build"/> is false (nothing allocated,
    /// <paramref name="via"/> null). <paramref name="bareCookieBranch"/>: the branch is exactly the magic cookie.</summary>
    internal static bool TryParse(ReadOnlySpan<char> s, bool build, out SipVia? via, out bool bareCookieBranch)
    {
        via = null;
        bareCookieBranch = false;
        var i = SipSyntax.SkipWs(s, 0);
        // sent-protocol = protocol-name SLASH protocol-version SLASH transport
        if (!Token(s, ref i, out var protocol) || !Slash(s, ref i)
            || !Token(s, ref i, out var version) || !Slash(s, ref i)
            || !Token(s, ref i, out var transport))
        {
            return false;
        }
        var afterTransport = i;
        i = SipSyntax.SkipWs(s, i);
        if (i == afterTransport || i == s.Length)
        {
            return false; // LWS is required before sent-by
        }
        var start = i;
        if (s[i] == '[')
        {
            var close = s[i..].IndexOf(']');
            if (close < 0)
            {
                return false;
            }
            i += close + 1;
        }
        else
        {
            while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '-' or '.'))
            {
                i++;
            }
        }
        if (i == start)
        {
            return false;
        }
        var hostSpan = s[start..i];
        int? port = null;
        var j = SipSyntax.SkipWs(s, i);
        if (j < s.Length && s[j] == ':')
        {
            j = SipSyntax.SkipWs(s, j + 1);
            start = j;
            while (j < s.Length && char.IsAsciiDigit(s[j]))
            {
                j++;
            }
            if (!SipSyntax.TryParseBoundedInt(s[start..j], 65535, out var p))
            {
                return false;
            }
            port = p;
            i = j;
        }
        // An empty branch is malformed; one that is only the magic cookie is the caller's to refuse (RFC 4475 §3.2.1).
        var reader = new SipParamReader(s, i);
        var firstBranch = true;
        while (reader.MoveNext())
        {
            if (!reader.Name.Equals("branch", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            var branch = reader.Unquoted();
            if (branch.IsEmpty)
            {
                return false;
            }
            bareCookieBranch |= firstBranch && branch.SequenceEqual(MagicCookie);
            firstBranch = false;
        }
        if (reader.Failed)
        {
            return false;
        }
        if (build)
        {
            SipSyntax.TryParseParams(s, i, out var parameters);
            via = new SipVia(SipSyntax.Intern(protocol), SipSyntax.Intern(version), SipSyntax.Intern(transport), hostSpan.ToString(), port, parameters);
        }
        return true;
    }

    private static bool Token(ReadOnlySpan<char> s, ref int i, out ReadOnlySpan<char> token)
    {
        var start = i;
        i = SipSyntax.ReadToken(s, i);
        token = s[start..i];
        return i > start;
    }

    private static bool Slash(ReadOnlySpan<char> s, ref int i)
    {
        i = SipSyntax.SkipWs(s, i);
        if (i >= s.Length || s[i] != '/')
        {
            return false;
        }
        i = SipSyntax.SkipWs(s, i + 1);
        return true;
    }
}
