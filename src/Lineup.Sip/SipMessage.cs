using System.Text;

namespace Lineup.Sip;

/// <summary>One header field value as it appeared (after unfolding, RFC 3261 §7.3.1), with its full name.</summary>
/// <param name="Name">Full header name (compact forms expanded, §7.3.3), in the canonical spelling when known.</param>
/// <param name="Value">The value with leading and trailing whitespace removed; one element of a comma-separated list.</param>
public sealed record SipHeader(string Name, string Value);

/// <summary>Request-Line, RFC 3261 §7.1: Method SP Request-URI SP SIP-Version.</summary>
public sealed record SipRequestLine(string Method, string RequestUri, string Version);

/// <summary>Status-Line, RFC 3261 §7.2: SIP-Version SP Status-Code SP Reason-Phrase.</summary>
public sealed record SipStatusLine(string Version, int StatusCode, string ReasonPhrase);

/// <summary>One header value in a <see cref="SipMessage"/>: a range of the received bytes, decoded into
/// <see cref="Value"/> the first time it is read, or text from the start (a message built in code, a folded line).</summary>
internal struct SipHeaderEntry
{
    public string Name;
    public int Start;
    public int Length;
    public string? Value;

    public SipHeaderEntry(string name, int start, int length)
    {
        Name = name;
        Start = start;
        Length = length;
    }

    public SipHeaderEntry(string name, string value)
    {
        Name = name;
        Start = -1;
        Value = value;
    }

    /// <summary>The value as characters: its text when decoded, else its bytes (UTF-8, checked by the parser)
    /// decoded into <paramref name="scratch"/> when they fit, else a new string.</summary>
    public readonly ReadOnlySpan<char> Chars(ReadOnlySpan<byte> bytes, Span<char> scratch)
    {
        if (Value is { } text)
        {
            return text;
        }
        var raw = bytes.Slice(Start, Length);
        return raw.Length <= scratch.Length ? scratch[..Encoding.UTF8.GetChars(raw, scratch)] : Encoding.UTF8.GetString(raw);
    }

    /// <summary>True when both values are the same text.</summary>
    public readonly bool SameValue(in SipHeaderEntry other, ReadOnlySpan<byte> bytes) =>
        Value is null && other.Value is null
            ? bytes.Slice(Start, Length).SequenceEqual(bytes.Slice(other.Start, other.Length))
            : string.Equals(Value ?? Encoding.UTF8.GetString(bytes.Slice(Start, Length)),
                other.Value ?? Encoding.UTF8.GetString(bytes.Slice(other.Start, other.Length)), StringComparison.Ordinal);
}

/// <summary>
/// A SIP request or response (RFC 3261 §7): start line, header fields in order, body bytes. A parsed message keeps
/// the bytes it was parsed from: each header value is a range of them, made a string only when something reads it,
/// and the body is a slice of them.
/// </summary>
public sealed class SipMessage
{
    private readonly byte[]? _bytes;
    private readonly SipHeaderEntry[] _entries;
    private IReadOnlyList<SipHeader>? _headers;

    // Typed views, parsed on first use and kept (the message never changes): the stack's many reads of the same
    // message reuse them. Races only parse twice.
    private SipVia? _topVia;
    private IReadOnlyList<SipVia>? _vias;
    private SipNameAddress? _from;
    private SipNameAddress? _to;
    private IReadOnlyList<SipNameAddress>? _contacts;
    private SipCSeq? _cseq;
    private SipContentType? _contentType;
    private byte _parsed; // bits: Parsed* below, set once the view was computed (even when it is null)
    private const byte ParsedTopVia = 1, ParsedVias = 2, ParsedFrom = 4, ParsedTo = 8, ParsedContacts = 16, ParsedCSeq = 32, ParsedContentType = 64;

    /// <summary>Creates a request.</summary>
    public SipMessage(SipRequestLine requestLine, IEnumerable<SipHeader> headers, ReadOnlyMemory<byte> body)
    {
        RequestLine = requestLine;
        (_headers, _entries) = FromHeaders(headers);
        Body = body;
    }

    /// <summary>Creates a response.</summary>
    public SipMessage(SipStatusLine statusLine, IEnumerable<SipHeader> headers, ReadOnlyMemory<byte> body)
    {
        StatusLine = statusLine;
        (_headers, _entries) = FromHeaders(headers);
        Body = body;
    }

    /// <summary>The parser's: header values are ranges of <paramref name="bytes"/>, which the message now owns.</summary>
    internal SipMessage(SipRequestLine? requestLine, SipStatusLine? statusLine, byte[]? bytes, SipHeaderEntry[] entries, ReadOnlyMemory<byte> body)
    {
        RequestLine = requestLine;
        StatusLine = statusLine;
        _bytes = bytes;
        _entries = entries;
        Body = body;
    }

    private static (IReadOnlyList<SipHeader>, SipHeaderEntry[]) FromHeaders(IEnumerable<SipHeader> headers)
    {
        SipHeader[] list = [.. headers];
        var entries = new SipHeaderEntry[list.Length];
        for (var i = 0; i < list.Length; i++)
        {
            entries[i] = new SipHeaderEntry(list[i].Name, list[i].Value);
        }
        return (list, entries);
    }

    /// <summary>The request line, or null for a response.</summary>
    public SipRequestLine? RequestLine { get; }

    /// <summary>The status line, or null for a request.</summary>
    public SipStatusLine? StatusLine { get; }

    /// <summary>True when this is a request.</summary>
    public bool IsRequest => RequestLine is not null;

    /// <summary>Header values in the order received; a comma list is one entry per element. Every value of a parsed
    /// message is decoded the first time this is read.</summary>
    public IReadOnlyList<SipHeader> Headers
    {
        get
        {
            if (_headers is { } headers)
            {
                return headers;
            }
            var list = new SipHeader[_entries.Length];
            for (var i = 0; i < list.Length; i++)
            {
                list[i] = new SipHeader(_entries[i].Name, ValueAt(i));
            }
            _headers = list;
            return list;
        }
    }

    /// <summary>The message body (RFC 3261 §7.4).</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>How many header values there are (as in <see cref="Headers"/>).</summary>
    internal int HeaderCount => _entries.Length;

    /// <summary>The full name of header value <paramref name="index"/>.</summary>
    internal string NameAt(int index) => _entries[index].Name;

    /// <summary>Header value <paramref name="index"/>, decoded on first read.</summary>
    internal string ValueAt(int index)
    {
        ref var e = ref _entries[index];
        return e.Value ??= Encoding.UTF8.GetString(_bytes!, e.Start, e.Length);
    }

    /// <summary>Header value <paramref name="index"/> as characters, without making a string when it fits
    /// <paramref name="scratch"/> (see <see cref="SipHeaderEntry.Chars"/>).</summary>
    internal ReadOnlySpan<char> CharsAt(int index, Span<char> scratch) => _entries[index].Chars(_bytes, scratch);

    /// <summary>The index of the first value of <paramref name="fullName"/> at or after <paramref name="from"/>, or -1.</summary>
    internal int IndexOf(string fullName, int from = 0)
    {
        for (var i = from; i < _entries.Length; i++)
        {
            var name = _entries[i].Name;
            if (ReferenceEquals(name, fullName) || string.Equals(name, fullName, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>All values of a header (name compared case-insensitively, compact forms accepted).</summary>
    public IEnumerable<string> GetValues(string name)
    {
        var full = SipHeaderNames.Normalize(name);
        for (var i = IndexOf(full); i >= 0; i = IndexOf(full, i + 1))
        {
            yield return ValueAt(i);
        }
    }

    /// <summary>The first value of a header, or null.</summary>
    public string? GetFirst(string name) => IndexOf(SipHeaderNames.Normalize(name)) is var i and >= 0 ? ValueAt(i) : null;

    /// <summary>Adds every value of <paramref name="fullName"/> to <paramref name="into"/>, decoding only those.</summary>
    internal void CopyHeaders(string fullName, List<SipHeader> into)
    {
        for (var i = IndexOf(fullName); i >= 0; i = IndexOf(fullName, i + 1))
        {
            into.Add(new SipHeader(_entries[i].Name, ValueAt(i)));
        }
    }

    /// <summary>How many values a header has (an entry per comma list element).</summary>
    internal int Count(string fullName)
    {
        var n = 0;
        for (var i = IndexOf(fullName); i >= 0; i = IndexOf(fullName, i + 1))
        {
            n++;
        }
        return n;
    }

    /// <summary>The top Via (RFC 3261 §20.42), or null when absent or malformed.</summary>
    public SipVia? TopVia => Cached(ref _topVia, ParsedTopVia, static m =>
        m._vias is { Count: > 0 } vias ? vias[0] : m.GetFirst(SipHeaderNames.Via) is { } v && SipVia.TryParse(v, out var via) ? via : null);

    /// <summary>All Via values parsed; null when any is malformed.</summary>
    public IReadOnlyList<SipVia>? Vias => Cached(ref _vias, ParsedVias, static m =>
    {
        var list = new List<SipVia>(1);
        for (var i = m.IndexOf(SipHeaderNames.Via); i >= 0; i = m.IndexOf(SipHeaderNames.Via, i + 1))
        {
            if (!SipVia.TryParse(m.ValueAt(i), out var via))
            {
                return null;
            }
            list.Add(via);
        }
        return list;
    });

    /// <summary>From (RFC 3261 §20.20), or null.</summary>
    public SipNameAddress? From => Cached(ref _from, ParsedFrom, static m => m.ParseAddress(SipHeaderNames.From));

    /// <summary>To (RFC 3261 §20.39), or null.</summary>
    public SipNameAddress? To => Cached(ref _to, ParsedTo, static m => m.ParseAddress(SipHeaderNames.To));

    /// <summary>Contact values (RFC 3261 §20.10); "*" gives an entry with <see cref="SipNameAddress.IsWildcard"/>.</summary>
    public IReadOnlyList<SipNameAddress>? Contacts => Cached(ref _contacts, ParsedContacts, static m =>
    {
        var list = new List<SipNameAddress>(1);
        for (var i = m.IndexOf(SipHeaderNames.Contact); i >= 0; i = m.IndexOf(SipHeaderNames.Contact, i + 1))
        {
            if (!SipNameAddress.TryParse(m.ValueAt(i), out var a, allowWildcard: true))
            {
                return null;
            }
            list.Add(a);
        }
        return list;
    });

    /// <summary>Call-ID (RFC 3261 §20.8), or null.</summary>
    public string? CallId => GetFirst(SipHeaderNames.CallId);

    /// <summary>CSeq (RFC 3261 §20.16), or null.</summary>
    public SipCSeq? CSeq
    {
        get
        {
            if ((Volatile.Read(ref _parsed) & ParsedCSeq) == 0)
            {
                _cseq = GetFirst(SipHeaderNames.CSeq) is { } v && SipCSeq.TryParse(v, out var c) ? c : null;
                MarkParsed(ParsedCSeq);
            }
            return _cseq;
        }
    }

    /// <summary>This message with its first Via value replaced by <paramref name="via"/> (the stack adds received and
    /// rport, RFC 3581): the other values stay ranges of the same bytes, nothing else is decoded.</summary>
    internal SipMessage WithTopVia(string via)
    {
        var entries = (SipHeaderEntry[])_entries.Clone();
        var top = IndexOf(SipHeaderNames.Via);
        if (top < 0)
        {
            throw new InvalidOperationException("the message has no Via to replace");
        }
        entries[top] = new SipHeaderEntry(SipHeaderNames.Via, via);
        var copy = new SipMessage(RequestLine, StatusLine, _bytes, entries, Body);
        if ((Volatile.Read(ref _parsed) & ParsedCSeq) != 0 && _cseq is { } cseq)
        {
            copy.KeepCSeq(cseq);
        }
        return copy;
    }

    /// <summary>Keeps the CSeq the parser's validation read (a struct: nothing allocated).</summary>
    internal void KeepCSeq(SipCSeq cseq)
    {
        _cseq = cseq;
        MarkParsed(ParsedCSeq);
    }

    /// <summary>Max-Forwards (RFC 3261 §20.22), or null when absent or not 0..255.</summary>
    public int? MaxForwards => GetFirst(SipHeaderNames.MaxForwards) is { } v && SipSyntax.TryParseBoundedInt(v.AsSpan(), 255, out var n) ? n : null;

    /// <summary>Content-Type (RFC 3261 §20.15), or null.</summary>
    public SipContentType? ContentType => Cached(ref _contentType, ParsedContentType, static m =>
        m.GetFirst(SipHeaderNames.ContentType) is { } v && SipContentType.TryParse(v, out var c) ? c : null);

    private SipNameAddress? ParseAddress(string name) =>
        GetFirst(name) is { } v && SipNameAddress.TryParse(v, out var a, allowWildcard: false) ? a : null;

    /// <summary>A typed view computed once: written before its bit is set, so a reader that sees the bit sees the view.</summary>
    private T? Cached<T>(ref T? field, byte bit, Func<SipMessage, T?> parse)
        where T : class
    {
        if ((Volatile.Read(ref _parsed) & bit) != 0)
        {
            return field;
        }
        var value = parse(this);
        field = value;
        MarkParsed(bit);
        return value;
    }

    private void MarkParsed(byte bit)
    {
        // Interlocked has no byte overload: a CAS loop on an int would do, but the views are idempotent, so a lost
        // bit only means parsing again later. Volatile keeps the field write ordered before the bit.
        Volatile.Write(ref _parsed, (byte)(_parsed | bit));
    }

    /// <inheritdoc/>
    public override string ToString() => Encoding.UTF8.GetString(SipWriter.Write(this));
}
