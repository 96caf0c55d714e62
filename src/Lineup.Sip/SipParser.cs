using System.Text;
using System.Text.Unicode;

namespace Lineup.Sip;

/// <summary>Bounds that keep a peer from making the parser use unbounded memory.</summary>
/// <param name="MaxMessageSize">Largest message (start line, headers and body) accepted, in bytes.</param>
/// <param name="MaxHeaderCount">Most header values (after splitting comma lists) accepted.</param>
public sealed record SipParserLimits(int MaxMessageSize = 65_535, int MaxHeaderCount = 256)
{
    /// <summary>The defaults: one UDP datagram's worth, 256 header values.</summary>
    public static SipParserLimits Default { get; } = new();
}

/// <summary>Why a message was not accepted.</summary>
public enum SipParseError
{
    None,
    /// <summary>Only CRLF keep-alives (RFC 5626 §3.5.1); not an error, nothing to answer.</summary>
    KeepAlive,
    TooLarge,
    TooManyHeaders,
    MalformedStartLine,
    /// <summary>SIP-Version other than SIP/2.0; a UAS answers 505 Version Not Supported (RFC 3261 §21.5.6).</summary>
    UnsupportedVersion,
    MalformedHeaderLine,
    MissingRequiredHeader,
    InvalidHeaderValue,
    InvalidRequestUri,
    /// <summary>CSeq method differs from the request method (RFC 3261 §8.1.1.5).</summary>
    CSeqMethodMismatch,
    /// <summary>Content-Length missing where required, negative, or larger than the data (§18.3, §20.14).</summary>
    InvalidContentLength,
}

/// <summary>
/// The outcome of parsing: a message, or the reason it was refused. <see cref="Message"/> is also set when the
/// framing was sound but a header's value was not (the caller can answer 400 using its Via, From, To, Call-ID, CSeq).
/// </summary>
public sealed record SipParseResult(SipMessage? Message, SipParseError Error, string? Detail)
{
    /// <summary>True when the message is well-formed.</summary>
    public bool Success => Error == SipParseError.None;

    internal static SipParseResult Fail(SipParseError error, string detail, SipMessage? partial = null) => new(partial, error, detail);
}

/// <summary>Transport the bytes came from: decides how the body is delimited (RFC 3261 §18.3).</summary>
public enum SipFraming
{
    /// <summary>The body is the rest of the datagram; Content-Length, when present, may shorten it but not exceed it.</summary>
    Datagram,
    /// <summary>The span holds exactly one framed message (see <see cref="SipStreamFramer"/>); Content-Length is required.</summary>
    Stream,
}

/// <summary>RFC 3261 §7 message parser over bytes. Never throws for bad input.</summary>
public static class SipParser
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    /// <summary>Parses one message. Leading CRLFs (keep-alives) are skipped.</summary>
    public static SipParseResult Parse(ReadOnlySpan<byte> data, SipFraming framing = SipFraming.Datagram, SipParserLimits? limits = null)
    {
        limits ??= SipParserLimits.Default;
        if (data.Length > limits.MaxMessageSize)
        {
            return SipParseResult.Fail(SipParseError.TooLarge, $"message larger than {limits.MaxMessageSize} bytes");
        }
        var skip = 0;
        while (skip < data.Length && data[skip] is (byte)'\r' or (byte)'\n')
        {
            skip++;
        }
        data = data[skip..];
        if (data.IsEmpty)
        {
            return SipParseResult.Fail(SipParseError.KeepAlive, "CRLF keep-alive");
        }
        var headerEnd = data.IndexOf("\r\n\r\n"u8);
        if (headerEnd < 0)
        {
            return SipParseResult.Fail(SipParseError.MalformedHeaderLine, "no empty line after the headers");
        }
        var head = data[..(headerEnd + 2)];
        var rest = data[(headerEnd + 4)..];

        var firstEnd = head.IndexOf("\r\n"u8);
        var startBytes = head[..firstEnd];

        // Header lines with folding (RFC 3261 §7.3.1): a line starting with SP or HT continues the previous one.
        // Each value is a range of the bytes (trimmed), decoded only when read; a folded value becomes text at
        // once. Names are the canonical constants.
        var entries = t_entries ??= new List<SipHeaderEntry>(32);
        entries.Clear();
        var lines = head[(firstEnd + 2)..];
        var offset = firstEnd + 2; // where `lines` starts in data
        var pending = new Pending();
        // Errors in a header's value or in Content-Length leave the message readable enough to answer 400 (RFC 4475
        // §3.1.2): they are kept here and returned with the partial message once the start line is known.
        SipParseResult? deferred = null;
        while (!lines.IsEmpty)
        {
            var end = lines.IndexOf("\r\n"u8);
            var line = lines[..end];
            var lineStart = offset;
            lines = lines[(end + 2)..];
            offset += end + 2;
            if (HasBareControl(line))
            {
                return SipParseResult.Fail(SipParseError.MalformedHeaderLine, "control character in a header line");
            }
            if (line.Length > 0 && line[0] is (byte)' ' or (byte)'\t')
            {
                if (pending.Name is null)
                {
                    return SipParseResult.Fail(SipParseError.MalformedHeaderLine, "continuation line before any header");
                }
                // The fold and the whitespace around it are one SP inside the value, nothing at its start or end
                // ("To :" CRLF " sip:..." is the value "sip:...", RFC 4475 §3.1.1.1).
                var moreBytes = line.Trim(" \t"u8);
                if (!Utf8.IsValid(moreBytes))
                {
                    return SipParseResult.Fail(SipParseError.MalformedHeaderLine, "header is not UTF-8 text");
                }
                if (moreBytes.Length > 0)
                {
                    var current = pending.Text ?? Encoding.UTF8.GetString(data.Slice(pending.Start, pending.Length));
                    var more = Encoding.UTF8.GetString(moreBytes);
                    pending.Text = current.Length > 0 ? string.Concat(current, " ", more) : more;
                }
                continue;
            }
            if (pending.Name is not null && !Add(entries, pending, data, limits, ref deferred, out var err))
            {
                return err;
            }
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                return SipParseResult.Fail(SipParseError.MalformedHeaderLine, "header line without a name and colon");
            }
            var nameBytes = line[..colon].TrimEnd(" \t"u8);
            if (!IsTokenBytes(nameBytes))
            {
                return SipParseResult.Fail(SipParseError.MalformedHeaderLine, $"header name '{Encoding.ASCII.GetString(nameBytes)}' is not a token");
            }
            var raw = line[(colon + 1)..];
            var value = raw.Trim(" \t"u8);
            if (!Utf8.IsValid(value))
            {
                return SipParseResult.Fail(SipParseError.MalformedHeaderLine, "header is not UTF-8 text");
            }
            pending = new Pending
            {
                Name = SipHeaderNames.Normalize(nameBytes),
                Start = lineStart + colon + 1 + (raw.Length - raw.TrimStart(" \t"u8).Length),
                Length = value.Length,
            };
        }
        if (pending.Name is not null && !Add(entries, pending, data, limits, ref deferred, out var lastErr))
        {
            return lastErr;
        }

        // Body and Content-Length (RFC 3261 §18.3, §20.14).
        int? contentLength = null;
        var cl = -1;
        var clConflict = false;
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Name == SipHeaderNames.ContentLength)
            {
                if (cl < 0)
                {
                    cl = i;
                }
                else
                {
                    clConflict |= !entries[cl].SameValue(entries[i], data);
                }
            }
        }
        var bodyStart = headerEnd + 4;
        var bodyLength = 0;
        if (clConflict)
        {
            deferred ??= SipParseResult.Fail(SipParseError.InvalidContentLength, "conflicting Content-Length values");
        }
        else if (cl >= 0)
        {
            Span<char> scratch = stackalloc char[32];
            var clValue = entries[cl].Chars(data, scratch);
            if (!SipSyntax.TryParseBoundedInt(clValue, int.MaxValue, out var n))
            {
                deferred ??= SipParseResult.Fail(SipParseError.InvalidContentLength, $"Content-Length '{clValue}' is not a non-negative integer");
            }
            else
            {
                contentLength = n;
            }
        }
        if (deferred is null)
        {
            if (contentLength is { } n)
            {
                if (n > rest.Length)
                {
                    deferred = SipParseResult.Fail(SipParseError.InvalidContentLength, $"Content-Length {n} exceeds the {rest.Length} bytes received");
                }
                else
                {
                    bodyLength = n; // octets after the body in a datagram are discarded (§18.3)
                }
            }
            else if (framing == SipFraming.Stream)
            {
                deferred = SipParseResult.Fail(SipParseError.InvalidContentLength, "Content-Length is required on stream transports");
            }
            else
            {
                bodyLength = rest.Length;
            }
        }

        SipRequestLine? request = null;
        SipStatusLine? status = null;
        if (startBytes.StartsWith("SIP/"u8))
        {
            var startLine = Text(startBytes);
            if (startLine is null)
            {
                return SipParseResult.Fail(SipParseError.MalformedStartLine, "start line is not UTF-8 text");
            }
            status = ParseStatusLine(startLine, out var statusError);
            if (status is null)
            {
                return statusError!;
            }
        }
        else
        {
            request = ParseRequestLine(startBytes, out var requestError);
            if (request is null)
            {
                return requestError!;
            }
        }
        // One copy of what was received, up to the body's end: the header values and the body are ranges of it.
        var bytes = data[..(bodyStart + bodyLength)].ToArray();
        var message = new SipMessage(request, status, bytes, entries.ToArray(), new ReadOnlyMemory<byte>(bytes, bodyStart, bodyLength));
        entries.Clear();
        if (deferred is not null)
        {
            return SipParseResult.Fail(deferred.Error, deferred.Detail!, message);
        }
        return SipValidator.Validate(message);
    }

    /// <summary>The header being read: its name and value (a range of the message, or text once folded).</summary>
    private struct Pending
    {
        public string? Name;
        public int Start;
        public int Length;
        public string? Text;
    }

    // Scratch lists, one per thread (parsing never re-enters): the message keeps an exact-size copy of the entries.
    [ThreadStatic]
    private static List<SipHeaderEntry>? t_entries;
    [ThreadStatic]
    private static List<Range>? t_split;

    /// <summary>Adds one header line's values. A list that does not split cleanly is kept whole and reported in
    /// <paramref name="deferred"/>; only the header-count limit stops parsing (false).</summary>
    private static bool Add(List<SipHeaderEntry> entries, in Pending header, ReadOnlySpan<byte> data, SipParserLimits limits,
        ref SipParseResult? deferred, out SipParseResult error)
    {
        error = null!;
        var name = header.Name!;
        var bytes = data.Slice(header.Start, header.Length);
        if (SipHeaderNames.IsList(name) && (header.Text is { } t ? t.Contains(',') : bytes.Contains((byte)',')))
        {
            var split = t_split ??= [];
            split.Clear();
            string? problem = null;
            if (header.Text is null ? !SipSyntax.TrySplitTopLevel(bytes, ',', split) : !SipSyntax.TrySplitTopLevel(header.Text.AsSpan(), ',', split))
            {
                problem = $"{name}: unbalanced quote or angle bracket";
            }
            else
            {
                for (var i = 0; i < split.Count && problem is null; i++)
                {
                    split[i] = header.Text is null ? Trimmed(bytes, split[i]) : Trimmed(header.Text.AsSpan(), split[i]);
                    // "Allow:" with no value is legal; empty elements between commas are not.
                    if (split.Count > 1 && split[i].Start.Value == split[i].End.Value)
                    {
                        problem = $"{name}: empty list element";
                    }
                }
            }
            if (problem is not null)
            {
                deferred ??= SipParseResult.Fail(SipParseError.InvalidHeaderValue, problem);
                entries.Add(Whole(header));
            }
            else
            {
                foreach (var r in split)
                {
                    entries.Add(header.Text is { } text
                        ? new SipHeaderEntry(name, text[r])
                        : new SipHeaderEntry(name, header.Start + r.Start.Value, r.End.Value - r.Start.Value));
                }
            }
        }
        else
        {
            entries.Add(Whole(header));
        }
        if (entries.Count > limits.MaxHeaderCount)
        {
            error = SipParseResult.Fail(SipParseError.TooManyHeaders, $"more than {limits.MaxHeaderCount} header values");
            return false;
        }
        return true;
    }

    private static SipHeaderEntry Whole(in Pending header) =>
        header.Text is { } text ? new SipHeaderEntry(header.Name!, text) : new SipHeaderEntry(header.Name!, header.Start, header.Length);

    /// <summary><paramref name="r"/> without the SP and HT at either end.</summary>
    private static Range Trimmed<T>(ReadOnlySpan<T> s, Range r)
        where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        int start = r.Start.Value, end = r.End.Value;
        while (start < end && SipSyntax.IsWs((char)int.CreateTruncating(s[start])))
        {
            start++;
        }
        while (end > start && SipSyntax.IsWs((char)int.CreateTruncating(s[end - 1])))
        {
            end--;
        }
        return new Range(start, end);
    }

    /// <summary>
    /// Control characters are allowed only as a quoted-pair ("\" then the octet, RFC 3261 §25.1), as in the
    /// RFC 4475 §3.1.1.2 display name; anywhere else they make the line malformed.
    /// </summary>
    private static bool HasBareControl(ReadOnlySpan<byte> line)
    {
        for (var i = 0; i < line.Length; i++)
        {
            var b = line[i];
            if (b == (byte)'\\')
            {
                i++;
                if (i < line.Length && line[i] is (byte)'\r' or (byte)'\n')
                {
                    return true;
                }
                continue;
            }
            if ((b < 0x20 && b != (byte)'\t') || b == 0x7f)
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsTokenBytes(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }
        foreach (var b in name)
        {
            if (b >= 0x80 || !SipSyntax.IsTokenChar((char)b))
            {
                return false;
            }
        }
        return true;
    }

    private static string? Text(ReadOnlySpan<byte> bytes)
    {
        if (Ascii.IsValid(bytes))
        {
            return Encoding.ASCII.GetString(bytes);
        }
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>Request-Line (§7.1, §25.1): exactly one SP between elements, none at either end. The method and
    /// the version are the shared constants when they are the usual ones.</summary>
    private static SipRequestLine? ParseRequestLine(ReadOnlySpan<byte> line, out SipParseResult? error)
    {
        error = null;
        var sp1 = line.IndexOf((byte)' ');
        var sp2 = sp1 < 0 ? -1 : line[(sp1 + 1)..].IndexOf((byte)' ');
        if (sp2 >= 0)
        {
            sp2 += sp1 + 1;
        }
        if (sp1 <= 0 || sp2 <= sp1 + 1 || line[(sp2 + 1)..].Contains((byte)' ') || line.Contains((byte)'\t')
            || !IsTokenBytes(line[..sp1]))
        {
            error = SipParseResult.Fail(SipParseError.MalformedStartLine, "Request-Line must be Method SP Request-URI SP SIP-Version");
            return null;
        }
        var method = KnownMethod(line[..sp1]) ?? Encoding.ASCII.GetString(line[..sp1]);
        var uri = Text(line[(sp1 + 1)..sp2]);
        var versionBytes = line[(sp2 + 1)..];
        var version = versionBytes.SequenceEqual("SIP/2.0"u8) ? "SIP/2.0" : Text(versionBytes);
        if (uri is null || version is null)
        {
            error = SipParseResult.Fail(SipParseError.MalformedStartLine, "start line is not UTF-8 text");
            return null;
        }
        if (!IsVersion(version))
        {
            error = SipParseResult.Fail(SipParseError.MalformedStartLine, $"'{version}' is not a SIP-Version");
            return null;
        }
        return new SipRequestLine(method, uri, version);
    }

    private static string? KnownMethod(ReadOnlySpan<byte> method) => method switch
    {
        _ when method.SequenceEqual("INVITE"u8) => "INVITE",
        _ when method.SequenceEqual("ACK"u8) => "ACK",
        _ when method.SequenceEqual("BYE"u8) => "BYE",
        _ when method.SequenceEqual("CANCEL"u8) => "CANCEL",
        _ when method.SequenceEqual("REGISTER"u8) => "REGISTER",
        _ when method.SequenceEqual("OPTIONS"u8) => "OPTIONS",
        _ when method.SequenceEqual("INFO"u8) => "INFO",
        _ => null,
    };

    /// <summary>Status-Line (§7.2): SIP-Version SP 3DIGIT SP Reason-Phrase (which may be empty).</summary>
    private static SipStatusLine? ParseStatusLine(string line, out SipParseResult? error)
    {
        error = null;
        var sp1 = line.IndexOf(' ');
        if (sp1 < 0 || !IsVersion(line[..sp1]))
        {
            error = SipParseResult.Fail(SipParseError.MalformedStartLine, "malformed SIP-Version in Status-Line");
            return null;
        }
        var rest = line[(sp1 + 1)..];
        var sp2 = rest.IndexOf(' ');
        var code = sp2 < 0 ? rest : rest[..sp2];
        if (code.Length != 3 || !code.All(char.IsAsciiDigit) || code[0] is < '1' or > '6')
        {
            error = SipParseResult.Fail(SipParseError.MalformedStartLine, $"'{code}' is not a 3-digit Status-Code");
            return null;
        }
        return new SipStatusLine(line[..sp1], int.Parse(code, System.Globalization.CultureInfo.InvariantCulture), sp2 < 0 ? "" : rest[(sp2 + 1)..]);
    }

    private static bool IsVersion(string v)
    {
        if (!v.StartsWith("SIP/", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var dot = v.IndexOf('.', 4);
        return dot > 4 && dot < v.Length - 1 && v[4..dot].All(char.IsAsciiDigit) && v[(dot + 1)..].All(char.IsAsciiDigit);
    }
}
