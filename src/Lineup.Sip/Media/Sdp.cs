using System.Text;

namespace Lineup.Sip.Media;

/// <summary>Stream direction attributes (RFC 3264 §5.1, RFC 4566 §6).</summary>
public enum MediaDirection
{
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

/// <summary>c= connection data (RFC 4566 §5.7): address type IP4 or IP6 and the address (a TTL or count suffix is
/// dropped).</summary>
public sealed record SdpConnection(string AddressType, string Address);

/// <summary>o= origin (RFC 4566 §5.2).</summary>
public sealed record SdpOrigin(string Username, ulong SessionId, ulong SessionVersion, string AddressType, string Address);

/// <summary>a=rtpmap (RFC 4566 §6): payload type, encoding name, clock rate and channel count (1 when omitted).</summary>
public sealed record SdpRtpMap(int PayloadType, string Encoding, int ClockRate, int Channels);

/// <summary>a=crypto (RFC 4568 §9.1): <c>a=crypto:&lt;tag&gt; &lt;crypto-suite&gt; &lt;key-params&gt; [&lt;session-params&gt;]</c>.
/// Kept as written; <see cref="SdpOfferAnswer"/> decides which it can use.</summary>
/// <param name="Tag">The decimal tag (1–999999999) that the answer echoes.</param>
/// <param name="Suite">The crypto suite name, e.g. AES_CM_128_HMAC_SHA1_80.</param>
/// <param name="KeyParams">The key parameters, e.g. <c>inline:base64[|lifetime][|MKI:length]</c>.</param>
/// <param name="SessionParams">Session parameters (UNENCRYPTED_SRTP, KDR=…), or null.</param>
public sealed record SdpCrypto(int Tag, string Suite, string KeyParams, string? SessionParams);

/// <summary>a=rtcp (RFC 3605 §2.1): where the stream's RTCP goes when it is not the port after the RTP port;
/// <c>a=rtcp:&lt;port&gt; [IN IP4|IP6 &lt;address&gt;]</c>.</summary>
/// <param name="Port">The RTCP port.</param>
/// <param name="Connection">The RTCP address when it differs from the stream's c=, else null.</param>
public sealed record SdpRtcp(int Port, SdpConnection? Connection);

/// <summary>One m= section (RFC 4566 §5.14) with the attributes Lineup reads.</summary>
public sealed record SdpMedia
{
    public required string Media { get; init; }
    /// <summary>Transport port; 0 marks a rejected or disabled stream (RFC 3264 §6, §8.2).</summary>
    public required int Port { get; init; }
    public int PortCount { get; init; } = 1;
    public required string Protocol { get; init; }
    /// <summary>The fmt list as written (payload type numbers for RTP/AVP).</summary>
    public required IReadOnlyList<string> Formats { get; init; }
    public SdpConnection? Connection { get; init; }
    public IReadOnlyList<SdpRtpMap> RtpMaps { get; init; } = [];
    /// <summary>a=fmtp lines: payload type and the format parameters.</summary>
    public IReadOnlyList<KeyValuePair<int, string>> Fmtps { get; init; } = [];
    public int? Ptime { get; init; }
    /// <summary>The media-level direction attribute, or null when absent (the session level then applies).</summary>
    public MediaDirection? Direction { get; init; }
    /// <summary>SDES keys (RFC 4568), in the order written (the offerer's preference).</summary>
    public IReadOnlyList<SdpCrypto> Cryptos { get; init; } = [];
    /// <summary>a=rtcp-mux (RFC 5761 §5.1.1): RTP and RTCP share the RTP port.</summary>
    public bool RtcpMux { get; init; }
    /// <summary>a=rtcp (RFC 3605), or null when RTCP goes to the port after the RTP port.</summary>
    public SdpRtcp? Rtcp { get; init; }

    /// <summary>The rtpmap of a payload type, or null.</summary>
    public SdpRtpMap? RtpMap(int payloadType)
    {
        foreach (var m in RtpMaps)
        {
            if (m.PayloadType == payloadType) return m;
        }
        return null;
    }

    /// <summary>The fmtp parameters of a payload type, or null.</summary>
    public string? Fmtp(int payloadType)
    {
        foreach (var f in Fmtps)
        {
            if (f.Key == payloadType) return f.Value;
        }
        return null;
    }
}

/// <summary>A session description (RFC 4566 §5). t= is written as "0 0" and not kept.</summary>
public sealed record SdpSession
{
    public required SdpOrigin Origin { get; init; }
    public string SessionName { get; init; } = "-";
    public SdpConnection? Connection { get; init; }
    public MediaDirection? Direction { get; init; }
    public required IReadOnlyList<SdpMedia> Media { get; init; }

    /// <summary>The connection that applies to a stream: its own c= or the session's (§5.7).</summary>
    public SdpConnection? ConnectionOf(SdpMedia media) => media.Connection ?? Connection;

    /// <summary>The direction that applies to a stream: its own attribute, the session's, else sendrecv (RFC 3264 §5.1).</summary>
    public MediaDirection DirectionOf(SdpMedia media) => media.Direction ?? Direction ?? MediaDirection.SendRecv;
}

/// <summary>
/// RFC 4566 parser and writer on UTF-8 bytes. Parsing never throws: malformed input gives null and a reason.
/// Lines end in CRLF or LF; unknown line types and attributes are ignored (§5: "SHOULD ignore").
/// </summary>
public static class Sdp
{
    /// <summary>Largest body parsed.</summary>
    public const int MaxLength = 65536;
    /// <summary>Most m= sections accepted.</summary>
    public const int MaxMedia = 32;
    /// <summary>Most formats on one m= line.</summary>
    public const int MaxFormats = 64;
    /// <summary>Most attributes kept per m= section.</summary>
    public const int MaxAttributes = 128;

    /// <summary>Parses a session description; null with <paramref name="error"/> when it is malformed.</summary>
    public static SdpSession? Parse(ReadOnlySpan<byte> text, out string? error)
    {
        if (text.Length > MaxLength) return Fail($"longer than {MaxLength} bytes", out error);
        // RFC 4566 §5: the text is UTF-8. Decoding invalid bytes leniently would turn each into a 3-byte U+FFFD that
        // a written answer echoes (found by fuzzing: a 27 KB offer wrote back as more than 64 KB).
        if (!System.Text.Unicode.Utf8.IsValid(text)) return Fail("not valid UTF-8", out error);
        SdpOrigin? origin = null;
        string sessionName = "-";
        SdpConnection? sessionConnection = null;
        MediaDirection? sessionDirection = null;
        var media = new List<SdpMedia>();
        MediaBuilder? current = null;
        var lineNo = 0;
        var sawVersion = false;
        while (!text.IsEmpty)
        {
            var nl = text.IndexOf((byte)'\n');
            var line = nl < 0 ? text : text[..nl];
            text = nl < 0 ? default : text[(nl + 1)..];
            if (!line.IsEmpty && line[^1] == (byte)'\r') line = line[..^1];
            if (line.IsEmpty) continue; // tolerate blank lines (a trailing CRLF, a stray blank)
            lineNo++;
            if (line.Length < 2 || line[1] != (byte)'=') return Fail($"line {lineNo} is not <type>=<value>", out error);
            var type = (char)line[0];
            var value = line[2..];
            if (lineNo == 1)
            {
                if (type != 'v') return Fail("the first line is not v=", out error);
                if (!value.SequenceEqual("0"u8)) return Fail("v= is not 0", out error);
                sawVersion = true;
                continue;
            }
            switch (type)
            {
                case 'o':
                    if (origin is not null) return Fail("more than one o= line", out error);
                    origin = ParseOrigin(value);
                    if (origin is null) return Fail("malformed o= line", out error);
                    break;
                case 's':
                    sessionName = Str(value);
                    break;
                case 'c':
                    var c = ParseConnection(value);
                    if (c is null) return Fail($"malformed c= line {lineNo}", out error);
                    if (current is null)
                    {
                        sessionConnection = c;
                    }
                    else
                    {
                        current.Connection = c;
                    }
                    break;
                case 'm':
                    if (current is not null) media.Add(current.Build());
                    if (media.Count >= MaxMedia) return Fail($"more than {MaxMedia} m= lines", out error);
                    current = ParseMediaLine(value, out var mError);
                    if (current is null) return Fail($"malformed m= line: {mError}", out error);
                    break;
                case 'a':
                    if (current is null)
                    {
                        if (ParseDirection(value) is { } d) sessionDirection = d;
                    }
                    else if (!current.Attribute(value, out var aError))
                    {
                        return Fail($"malformed attribute on line {lineNo}: {aError}", out error);
                    }
                    break;
                default:
                    if (type is < 'a' or > 'z') return Fail($"line {lineNo} has an invalid type", out error);
                    break; // t=, b=, k=, i=, u=, e=, p=, z=, r=: not used
            }
        }
        if (!sawVersion) return Fail("empty session description", out error);
        if (origin is null) return Fail("no o= line", out error);
        if (current is not null) media.Add(current.Build());
        foreach (var m in media)
        {
            if (m.Port != 0 && m.Connection is null && sessionConnection is null)
            {
                return Fail($"m={m.Media} has no c= at session or media level", out error);
            }
        }
        error = null;
        return new SdpSession
        {
            Origin = origin,
            SessionName = sessionName,
            Connection = sessionConnection,
            Direction = sessionDirection,
            Media = media,
        };
    }

    /// <summary>Writes a session description (CRLF line ends, RFC 4566 §5).</summary>
    public static byte[] Write(SdpSession session)
    {
        var sb = new StringBuilder(256);
        var o = session.Origin;
        sb.Append("v=0\r\n");
        sb.Append("o=").Append(o.Username).Append(' ').Append(o.SessionId).Append(' ').Append(o.SessionVersion)
            .Append(" IN ").Append(o.AddressType).Append(' ').Append(o.Address).Append("\r\n");
        sb.Append("s=").Append(string.IsNullOrEmpty(session.SessionName) ? "-" : session.SessionName).Append("\r\n");
        if (session.Connection is { } c) AppendConnection(sb, c);
        sb.Append("t=0 0\r\n");
        if (session.Direction is { } sd) sb.Append("a=").Append(DirectionName(sd)).Append("\r\n");
        foreach (var m in session.Media)
        {
            sb.Append("m=").Append(m.Media).Append(' ').Append(m.Port);
            if (m.PortCount > 1) sb.Append('/').Append(m.PortCount);
            sb.Append(' ').Append(m.Protocol);
            foreach (var f in m.Formats) sb.Append(' ').Append(f);
            sb.Append("\r\n");
            if (m.Connection is { } mc) AppendConnection(sb, mc);
            foreach (var r in m.RtpMaps)
            {
                sb.Append("a=rtpmap:").Append(r.PayloadType).Append(' ').Append(r.Encoding).Append('/').Append(r.ClockRate);
                if (r.Channels > 1) sb.Append('/').Append(r.Channels);
                sb.Append("\r\n");
            }
            foreach (var f in m.Fmtps) sb.Append("a=fmtp:").Append(f.Key).Append(' ').Append(f.Value).Append("\r\n");
            if (m.Ptime is { } p) sb.Append("a=ptime:").Append(p).Append("\r\n");
            if (m.Direction is { } d) sb.Append("a=").Append(DirectionName(d)).Append("\r\n");
            if (m.Rtcp is { } rtcp)
            {
                sb.Append("a=rtcp:").Append(rtcp.Port);
                if (rtcp.Connection is { } rc) sb.Append(" IN ").Append(rc.AddressType).Append(' ').Append(rc.Address);
                sb.Append("\r\n");
            }
            if (m.RtcpMux) sb.Append("a=rtcp-mux\r\n");
            foreach (var k in m.Cryptos)
            {
                sb.Append("a=crypto:").Append(k.Tag).Append(' ').Append(k.Suite).Append(' ').Append(k.KeyParams);
                if (k.SessionParams is { } sp) sb.Append(' ').Append(sp);
                sb.Append("\r\n");
            }
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>The attribute name of a direction.</summary>
    public static string DirectionName(MediaDirection d) => d switch
    {
        MediaDirection.SendOnly => "sendonly",
        MediaDirection.RecvOnly => "recvonly",
        MediaDirection.Inactive => "inactive",
        _ => "sendrecv",
    };

    private static void AppendConnection(StringBuilder sb, SdpConnection c) =>
        sb.Append("c=IN ").Append(c.AddressType).Append(' ').Append(c.Address).Append("\r\n");

    private static SdpOrigin? ParseOrigin(ReadOnlySpan<byte> value)
    {
        // o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
        Span<Range> parts = stackalloc Range[7];
        if (Split(value, parts, (byte)' ', true) != 6) return null;
        if (!TryNumber(value[parts[1]], ulong.MaxValue, out var id) || !TryNumber(value[parts[2]], ulong.MaxValue, out var version)) return null;
        if (!value[parts[3]].SequenceEqual("IN"u8)) return null;
        return new SdpOrigin(Str(value[parts[0]]), id, version, Str(value[parts[4]]), Str(value[parts[5]]));
    }

    private static SdpConnection? ParseConnection(ReadOnlySpan<byte> value)
    {
        // c=<nettype> <addrtype> <connection-address>; IP4 multicast adds /ttl[/count], IP6 /count.
        Span<Range> parts = stackalloc Range[4];
        if (Split(value, parts, (byte)' ', true) != 3) return null;
        if (!value[parts[0]].SequenceEqual("IN"u8)) return null;
        var type = value[parts[1]];
        if (!type.SequenceEqual("IP4"u8) && !type.SequenceEqual("IP6"u8)) return null;
        var address = value[parts[2]];
        var slash = address.IndexOf((byte)'/');
        if (slash >= 0) address = address[..slash];
        if (address.IsEmpty) return null;
        return new SdpConnection(Str(type), Str(address));
    }

    private static MediaBuilder? ParseMediaLine(ReadOnlySpan<byte> value, out string? error)
    {
        // m=<media> <port>[/<number of ports>] <proto> <fmt> ...
        Span<Range> parts = stackalloc Range[MaxFormats + 4];
        var n = Split(value, parts, (byte)' ', true);
        if (n < 4)
        {
            error = "fewer than four fields";
            return null;
        }
        if (n == parts.Length)
        {
            error = $"more than {MaxFormats} formats";
            return null;
        }
        var portField = value[parts[1]];
        var count = 1UL;
        var slash = portField.IndexOf((byte)'/');
        if (slash >= 0)
        {
            if (!TryNumber(portField[(slash + 1)..], 65535, out count) || count == 0)
            {
                error = "bad port count";
                return null;
            }
            portField = portField[..slash];
        }
        if (!TryNumber(portField, 65535, out var port))
        {
            error = "bad port";
            return null;
        }
        var formats = new string[n - 3];
        for (var i = 3; i < n; i++) formats[i - 3] = Str(value[parts[i]]);
        error = null;
        return new MediaBuilder(Str(value[parts[0]]), (int)port, (int)count, Str(value[parts[2]]), formats);
    }

    private static MediaDirection? ParseDirection(ReadOnlySpan<byte> attribute) =>
        attribute.SequenceEqual("sendrecv"u8) ? MediaDirection.SendRecv
        : attribute.SequenceEqual("sendonly"u8) ? MediaDirection.SendOnly
        : attribute.SequenceEqual("recvonly"u8) ? MediaDirection.RecvOnly
        : attribute.SequenceEqual("inactive"u8) ? MediaDirection.Inactive
        : null;

    /// <summary>Decimal digits only, at most <paramref name="max"/>.</summary>
    internal static bool TryNumber(ReadOnlySpan<byte> s, ulong max, out ulong value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > 20) return false;
        foreach (var b in s)
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
            var d = (ulong)(b - '0');
            if (value > (max - d) / 10) return false;
            value = (value * 10) + d;
        }
        return true;
    }

    /// <summary>Splits on <paramref name="separator"/> into at most <paramref name="parts"/>.Length ranges; returns
    /// the count, which equals the capacity when there were more parts.</summary>
    internal static int Split(ReadOnlySpan<byte> s, Span<Range> parts, byte separator, bool removeEmpty)
    {
        var count = 0;
        var start = 0;
        for (var i = 0; i <= s.Length; i++)
        {
            if (i < s.Length && s[i] != separator) continue;
            if (!removeEmpty || i > start)
            {
                if (count == parts.Length) return count;
                parts[count++] = new Range(start, i);
            }
            start = i + 1;
        }
        return count;
    }

    private static string Str(ReadOnlySpan<byte> s) => Encoding.UTF8.GetString(s);

    private static SdpSession? Fail(string reason, out string? error)
    {
        error = reason;
        return null;
    }

    private sealed class MediaBuilder(string media, int port, int count, string protocol, string[] formats)
    {
        private List<SdpRtpMap>? _rtpMaps;
        private List<KeyValuePair<int, string>>? _fmtps;
        private int? _ptime;
        private MediaDirection? _direction;
        private List<SdpCrypto>? _cryptos;
        private bool _rtcpMux;
        private SdpRtcp? _rtcp;
        private int _attributes;

        public SdpConnection? Connection { get; set; }

        public bool Attribute(ReadOnlySpan<byte> value, out string? error)
        {
            error = null;
            if (++_attributes > MaxAttributes) return true; // counted, not kept
            if (ParseDirection(value) is { } d)
            {
                _direction = d;
                return true;
            }
            if (value.SequenceEqual("rtcp-mux"u8))
            {
                _rtcpMux = true;
                return true;
            }
            var colon = value.IndexOf((byte)':');
            if (colon < 0) return true;
            var name = value[..colon];
            var rest = value[(colon + 1)..];
            if (name.SequenceEqual("rtpmap"u8))
            {
                // a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
                var sp = rest.IndexOf((byte)' ');
                if (sp < 0 || !TryNumber(rest[..sp], 127, out var pt)) return Bad("rtpmap payload type", out error);
                var enc = rest[(sp + 1)..].Trim((byte)' ');
                Span<Range> p = stackalloc Range[4];
                var k = Split(enc, p, (byte)'/', false);
                if (k is < 2 or > 3 || enc[p[0]].IsEmpty || !TryNumber(enc[p[1]], 10_000_000, out var rate)) return Bad("rtpmap encoding", out error);
                var channels = 1UL;
                if (k == 3 && !TryNumber(enc[p[2]], 255, out channels)) return Bad("rtpmap channels", out error);
                (_rtpMaps ??= []).Add(new SdpRtpMap((int)pt, Str(enc[p[0]]), (int)rate, (int)channels));
            }
            else if (name.SequenceEqual("fmtp"u8))
            {
                var sp = rest.IndexOf((byte)' ');
                if (sp < 0 || !TryNumber(rest[..sp], 127, out var pt)) return Bad("fmtp payload type", out error);
                (_fmtps ??= []).Add(new((int)pt, Str(rest[(sp + 1)..].Trim((byte)' '))));
            }
            else if (name.SequenceEqual("ptime"u8))
            {
                // Some agents write a=ptime:20.0; the integer part is what we use.
                var dot = rest.IndexOf((byte)'.');
                if (!TryNumber(dot >= 0 ? rest[..dot] : rest, 10_000, out var ptime)) return Bad("ptime", out error);
                _ptime = (int)ptime;
            }
            else if (name.SequenceEqual("rtcp"u8))
            {
                // RFC 3605 §2.1: a=rtcp:<port> [<nettype> <addrtype> <connection-address>].
                var sp = rest.IndexOf((byte)' ');
                if (!TryNumber(sp < 0 ? rest : rest[..sp], 65535, out var rtcpPort)) return Bad("rtcp port", out error);
                SdpConnection? at = null;
                if (sp >= 0 && (at = ParseConnection(rest[(sp + 1)..].Trim((byte)' '))) is null) return Bad("rtcp address", out error);
                _rtcp = new SdpRtcp((int)rtcpPort, at);
            }
            else if (name.SequenceEqual("crypto"u8))
            {
                // RFC 4568 §9.1. A line we cannot read is ignored rather than failing the whole description (§7.1.1:
                // the answerer uses a crypto attribute it understands, if any).
                Span<Range> p = stackalloc Range[5];
                var k = Split(rest, p, (byte)' ', true);
                if (k >= 3 && TryNumber(rest[p[0]], 999_999_999, out var tag))
                {
                    var session = k >= 4 ? Str(rest[p[3].Start..].TrimEnd((byte)' ')) : null;
                    (_cryptos ??= []).Add(new SdpCrypto((int)tag, Str(rest[p[1]]), Str(rest[p[2]]), session));
                }
            }
            return true;
        }

        public SdpMedia Build() => new()
        {
            Media = media,
            Port = port,
            PortCount = count,
            Protocol = protocol,
            Formats = formats,
            Connection = Connection,
            RtpMaps = (IReadOnlyList<SdpRtpMap>?)_rtpMaps ?? [],
            Fmtps = (IReadOnlyList<KeyValuePair<int, string>>?)_fmtps ?? [],
            Ptime = _ptime,
            Direction = _direction,
            Cryptos = (IReadOnlyList<SdpCrypto>?)_cryptos ?? [],
            RtcpMux = _rtcpMux,
            Rtcp = _rtcp,
        };

        private static bool Bad(string what, out string? error)
        {
            error = $"malformed {what}";
            return false;
        }
    }
}
