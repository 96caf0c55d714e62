namespace Lineup.Sip;

/// <summary>Character classes and small scanners from the RFC 3261 §25.1 grammar.</summary>
internal static class SipSyntax
{
    /// <summary>token characters (RFC 3261 §25.1): alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".</summary>
    public static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '!' or '%' or '*' or '_' or '+' or '`' or '\'' or '~';

    public static bool IsToken(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty)
        {
            return false;
        }
        foreach (var c in s)
        {
            if (!IsTokenChar(c))
            {
                return false;
            }
        }
        return true;
    }

    public static bool IsWs(char c) => c is ' ' or '\t';

    /// <summary>The shared string for a method every dialog uses, or null.</summary>
    public static string? KnownMethod(ReadOnlySpan<char> method) => method switch
    {
        "INVITE" => "INVITE",
        "ACK" => "ACK",
        "BYE" => "BYE",
        "CANCEL" => "CANCEL",
        "REGISTER" => "REGISTER",
        "OPTIONS" => "OPTIONS",
        "INFO" => "INFO",
        _ => null,
    };

    private static readonly System.Collections.Frozen.FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> Common =
        System.Collections.Frozen.FrozenSet.ToFrozenSet(
        [
            "SIP", "2.0", "UDP", "TCP", "TLS", "WS", "WSS", "udp", "tcp", "tls", "branch", "rport", "received", "tag",
            "transport", "lr", "user", "phone", "expires", "q", "ob", "maddr", "ttl", "method",
        ], StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The text of <paramref name="s"/>: a shared string for the protocol tokens and parameter names every
    /// message repeats, else a new one.</summary>
    public static string Intern(ReadOnlySpan<char> s) => Common.TryGetValue(s, out var common) ? common : s.ToString();

    public static int SkipWs(ReadOnlySpan<char> s, int i)
    {
        while (i < s.Length && IsWs(s[i]))
        {
            i++;
        }
        return i;
    }

    public static int ReadToken(ReadOnlySpan<char> s, int i)
    {
        while (i < s.Length && IsTokenChar(s[i]))
        {
            i++;
        }
        return i;
    }

    /// <summary>
    /// Reads a quoted-string starting at <paramref name="i"/> (which must be '"'), RFC 3261 §25.1
    /// (quoted-pair = "\" followed by any char except CR/LF). Returns the index after the closing quote, or -1.
    /// </summary>
    public static int ReadQuoted(ReadOnlySpan<char> s, int i, out string unescaped)
    {
        var sb = new System.Text.StringBuilder();
        i = ReadQuoted(s, i, sb);
        unescaped = i < 0 ? "" : sb.ToString();
        return i;
    }

    /// <summary><see cref="ReadQuoted(ReadOnlySpan{char}, int, out string)"/> appending the unescaped text to
    /// <paramref name="into"/>, or only checking the syntax when it is null (nothing allocated).</summary>
    public static int ReadQuoted(ReadOnlySpan<char> s, int i, System.Text.StringBuilder? into)
    {
        i++;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '"')
            {
                return i + 1;
            }
            if (c == '\\')
            {
                if (i + 1 >= s.Length || s[i + 1] is '\r' or '\n')
                {
                    return -1;
                }
                into?.Append(s[i + 1]);
                i += 2;
                continue;
            }
            if ((c < ' ' && c != '\t') || c == (char)0x7f)
            {
                return -1; // qdtext excludes unescaped control characters (§25.1)
            }
            into?.Append(c);
            i++;
        }
        return -1;
    }

    /// <summary>
    /// Splits at <paramref name="separator"/> outside quoted strings and angle brackets.
    /// Returns false when a quote or bracket is left open. Works on chars or on UTF-8 bytes alike: the delimiters are
    /// ASCII, and UTF-8 never uses ASCII values inside a multi-byte character.
    /// </summary>
    public static bool TrySplitTopLevel<T>(ReadOnlySpan<T> s, char separator, List<Range> parts)
        where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        var start = 0;
        var inQuote = false;
        var angle = false;
        for (var i = 0; i < s.Length; i++)
        {
            var c = (char)int.CreateTruncating(s[i]);
            if (inQuote)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inQuote = false;
                }
                continue;
            }
            switch (c)
            {
                case '"' when !angle:
                    inQuote = true;
                    break;
                case '<':
                    angle = true;
                    break;
                case '>':
                    angle = false;
                    break;
                default:
                    if (c == separator && !angle)
                    {
                        parts.Add(new Range(start, i));
                        start = i + 1;
                    }
                    break;
            }
        }
        if (inQuote || angle)
        {
            return false;
        }
        parts.Add(new Range(start, s.Length));
        return true;
    }

    /// <summary>Parses 1*DIGIT no greater than <paramref name="max"/> (leading zeros allowed).</summary>
    public static bool TryParseBoundedInt(ReadOnlySpan<char> s, long max, out int value)
    {
        value = 0;
        s = s.Trim(" \t");
        if (s.IsEmpty)
        {
            return false;
        }
        long v = 0;
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
            v = (v * 10) + (c - '0');
            if (v > max)
            {
                return false;
            }
        }
        value = (int)v;
        return true;
    }

    /// <summary>Parses delta-seconds (RFC 3261 §25.1, at most 2^32-1).</summary>
    public static bool TryParseDeltaSeconds(ReadOnlySpan<char> s, out uint value)
    {
        value = 0;
        s = s.Trim(" \t");
        if (s.IsEmpty)
        {
            return false;
        }
        ulong v = 0;
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
            v = (v * 10) + (ulong)(c - '0');
            if (v > uint.MaxValue)
            {
                return false;
            }
        }
        value = (uint)v;
        return true;
    }

    /// <summary>
    /// Parses *( SEMI generic-param ) (RFC 3261 §25.1), starting at a ';' or the end.
    /// generic-param = token [ EQUAL gen-value ]; gen-value = token / host / quoted-string. Empty parameters fail.
    /// </summary>
    /// <summary>The parameters from <paramref name="i"/> on; a shared empty list when there are none.</summary>
    public static bool TryParseParams(ReadOnlySpan<char> s, int i, out IReadOnlyList<SipParameter> result)
    {
        if (SkipWs(s, i) == s.Length)
        {
            result = [];
            return true;
        }
        var list = new List<SipParameter>(2);
        result = list;
        return TryParseParams(s, i, list);
    }

    /// <summary>Parses the parameters into <paramref name="result"/>, or only checks them when it is null.</summary>
    public static bool TryParseParams(ReadOnlySpan<char> s, int i, List<SipParameter>? result)
    {
        var reader = new SipParamReader(s, i);
        while (reader.MoveNext())
        {
            if (result is null)
            {
                continue;
            }
            string? value = null;
            if (reader.Quoted)
            {
                ReadQuoted(reader.Value, 0, out value);
            }
            else if (reader.HasValue)
            {
                value = reader.Value.ToString();
            }
            result.Add(new SipParameter(Intern(reader.Name), value, reader.Quoted));
        }
        return !reader.Failed;
    }

    /// <summary>Finds a parameter by name (case-insensitive, RFC 3261 §7.3.1).</summary>
    public static SipParameter? Find(IReadOnlyList<SipParameter> list, string name)
    {
        foreach (var p in list)
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return p;
            }
        }
        return null;
    }
}

/// <summary>A header or URI parameter; <see cref="Value"/> is null for a parameter without "=".</summary>
public sealed record SipParameter(string Name, string? Value, bool Quoted = false);

/// <summary>
/// Reads *( SEMI generic-param ) (RFC 3261 §25.1) one parameter at a time without allocating: the grammar of
/// <see cref="SipSyntax.TryParseParams(ReadOnlySpan{char}, int, List{SipParameter})"/>, for checks that need no
/// objects. <see cref="MoveNext"/> returns false at the end or at the first error (<see cref="Failed"/>).
/// </summary>
internal ref struct SipParamReader(ReadOnlySpan<char> s, int start)
{
    private readonly ReadOnlySpan<char> _s = s;
    private int _i = start;

    /// <summary>The parameter's name as written.</summary>
    public ReadOnlySpan<char> Name { get; private set; }

    /// <summary>Its value as written: a token or host, or a quoted-string with its quotes and escapes.</summary>
    public ReadOnlySpan<char> Value { get; private set; }

    /// <summary>True when the parameter has "=" and a value.</summary>
    public bool HasValue { get; private set; }

    /// <summary>True when the value is a quoted-string.</summary>
    public bool Quoted { get; private set; }

    /// <summary>True when reading stopped at a syntax error.</summary>
    public bool Failed { get; private set; }

    public bool MoveNext()
    {
        var s = _s;
        var i = SipSyntax.SkipWs(s, _i);
        if (i == s.Length)
        {
            return false;
        }
        if (s[i] != ';')
        {
            return Fail();
        }
        i = SipSyntax.SkipWs(s, i + 1);
        var nameStart = i;
        i = SipSyntax.ReadToken(s, i);
        if (i == nameStart)
        {
            return Fail();
        }
        Name = s[nameStart..i];
        Value = default;
        HasValue = false;
        Quoted = false;
        i = SipSyntax.SkipWs(s, i);
        if (i < s.Length && s[i] == '=')
        {
            i = SipSyntax.SkipWs(s, i + 1);
            var valueStart = i;
            if (i < s.Length && s[i] == '"')
            {
                i = SipSyntax.ReadQuoted(s, i, into: null);
                if (i < 0)
                {
                    return Fail();
                }
                Quoted = true;
            }
            else if (i < s.Length && s[i] == '[')
            {
                var close = s[i..].IndexOf(']');
                if (close < 0)
                {
                    return Fail();
                }
                i += close + 1;
            }
            else
            {
                while (i < s.Length && (SipSyntax.IsTokenChar(s[i]) || s[i] == ':'))
                {
                    i++;
                }
            }
            if (i == valueStart)
            {
                return Fail();
            }
            Value = s[valueStart..i];
            HasValue = true;
        }
        _i = i;
        return true;
    }

    /// <summary>The value with a quoted-string's quotes and escapes removed (allocates only for an escape).</summary>
    public readonly ReadOnlySpan<char> Unquoted()
    {
        if (!Quoted)
        {
            return Value;
        }
        var inner = Value[1..^1];
        if (inner.IndexOf('\\') < 0)
        {
            return inner;
        }
        SipSyntax.ReadQuoted(Value, 0, out var text);
        return text;
    }

    private bool Fail()
    {
        Failed = true;
        return false;
    }
}
