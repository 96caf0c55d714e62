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

/// <summary>A SIP request or response (RFC 3261 §7): start line, header fields in order, body bytes.</summary>
public sealed class SipMessage
{
    private readonly List<SipHeader> _headers;

    // Typed views, parsed on first use and kept (the message never changes): the parser's validation parses them
    // once and the stack's many reads of the same message reuse them. Races only parse twice.
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
        _headers = [.. headers];
        Body = body;
    }

    /// <summary>Creates a response.</summary>
    public SipMessage(SipStatusLine statusLine, IEnumerable<SipHeader> headers, ReadOnlyMemory<byte> body)
    {
        StatusLine = statusLine;
        _headers = [.. headers];
        Body = body;
    }

    /// <summary>The parser's: takes <paramref name="headers"/> as it is (no copy).</summary>
    internal SipMessage(SipRequestLine requestLine, List<SipHeader> headers, ReadOnlyMemory<byte> body, bool owned)
    {
        RequestLine = requestLine;
        _headers = owned ? headers : [.. headers];
        Body = body;
    }

    /// <summary>The parser's: takes <paramref name="headers"/> as it is (no copy).</summary>
    internal SipMessage(SipStatusLine statusLine, List<SipHeader> headers, ReadOnlyMemory<byte> body, bool owned)
    {
        StatusLine = statusLine;
        _headers = owned ? headers : [.. headers];
        Body = body;
    }

    /// <summary>The request line, or null for a response.</summary>
    public SipRequestLine? RequestLine { get; }

    /// <summary>The status line, or null for a request.</summary>
    public SipStatusLine? StatusLine { get; }

    /// <summary>True when this is a request.</summary>
    public bool IsRequest => RequestLine is not null;

    /// <summary>Header values in the order received; a comma list is one entry per element.</summary>
    public IReadOnlyList<SipHeader> Headers => _headers;

    /// <summary>The message body (RFC 3261 §7.4).</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>All values of a header (name compared case-insensitively, compact forms accepted).</summary>
    public IEnumerable<string> GetValues(string name)
    {
        var full = SipHeaderNames.Normalize(name);
        foreach (var h in _headers)
        {
            if (string.Equals(h.Name, full, StringComparison.OrdinalIgnoreCase))
            {
                yield return h.Value;
            }
        }
    }

    /// <summary>The first value of a header, or null.</summary>
    public string? GetFirst(string name)
    {
        var full = SipHeaderNames.Normalize(name);
        foreach (var h in _headers)
        {
            if (string.Equals(h.Name, full, StringComparison.OrdinalIgnoreCase))
            {
                return h.Value;
            }
        }
        return null;
    }

    /// <summary>How many values a header has (an entry per comma list element).</summary>
    internal int Count(string fullName)
    {
        var n = 0;
        foreach (var h in _headers)
        {
            if (string.Equals(h.Name, fullName, StringComparison.OrdinalIgnoreCase))
            {
                n++;
            }
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
        foreach (var h in m._headers)
        {
            if (!ReferenceEquals(h.Name, SipHeaderNames.Via) && !string.Equals(h.Name, SipHeaderNames.Via, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (!SipVia.TryParse(h.Value, out var via))
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
        foreach (var h in m._headers)
        {
            if (!string.Equals(h.Name, SipHeaderNames.Contact, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (!SipNameAddress.TryParse(h.Value, out var a, allowWildcard: true))
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
