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
    public string? GetFirst(string name) => GetValues(name).FirstOrDefault();

    /// <summary>The top Via (RFC 3261 §20.42), or null when absent or malformed.</summary>
    public SipVia? TopVia => GetFirst(SipHeaderNames.Via) is { } v && SipVia.TryParse(v, out var via) ? via : null;

    /// <summary>All Via values parsed; null when any is malformed.</summary>
    public IReadOnlyList<SipVia>? Vias
    {
        get
        {
            var list = new List<SipVia>();
            foreach (var v in GetValues(SipHeaderNames.Via))
            {
                if (!SipVia.TryParse(v, out var via))
                {
                    return null;
                }
                list.Add(via);
            }
            return list;
        }
    }

    /// <summary>From (RFC 3261 §20.20), or null.</summary>
    public SipNameAddress? From => ParseAddress(SipHeaderNames.From);

    /// <summary>To (RFC 3261 §20.39), or null.</summary>
    public SipNameAddress? To => ParseAddress(SipHeaderNames.To);

    /// <summary>Contact values (RFC 3261 §20.10); "*" gives an entry with <see cref="SipNameAddress.IsWildcard"/>.</summary>
    public IReadOnlyList<SipNameAddress>? Contacts
    {
        get
        {
            var list = new List<SipNameAddress>();
            foreach (var v in GetValues(SipHeaderNames.Contact))
            {
                if (!SipNameAddress.TryParse(v, out var a, allowWildcard: true))
                {
                    return null;
                }
                list.Add(a);
            }
            return list;
        }
    }

    /// <summary>Call-ID (RFC 3261 §20.8), or null.</summary>
    public string? CallId => GetFirst(SipHeaderNames.CallId);

    /// <summary>CSeq (RFC 3261 §20.16), or null.</summary>
    public SipCSeq? CSeq => GetFirst(SipHeaderNames.CSeq) is { } v && SipCSeq.TryParse(v, out var c) ? c : null;

    /// <summary>Max-Forwards (RFC 3261 §20.22), or null when absent or not 0..255.</summary>
    public int? MaxForwards => GetFirst(SipHeaderNames.MaxForwards) is { } v && SipSyntax.TryParseBoundedInt(v.AsSpan(), 255, out var n) ? n : null;

    /// <summary>Content-Type (RFC 3261 §20.15), or null.</summary>
    public SipContentType? ContentType => GetFirst(SipHeaderNames.ContentType) is { } v && SipContentType.TryParse(v, out var c) ? c : null;

    private SipNameAddress? ParseAddress(string name) =>
        GetFirst(name) is { } v && SipNameAddress.TryParse(v, out var a, allowWildcard: false) ? a : null;

    /// <inheritdoc/>
    public override string ToString() => Encoding.UTF8.GetString(SipWriter.Write(this));
}
