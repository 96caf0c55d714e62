using System.Text;

namespace Lineup.Sip;

/// <summary>What <see cref="SipStreamFramer.TryFrame"/> found at the start of a stream buffer.</summary>
public enum SipFrameStatus
{
    /// <summary>Not a whole message yet; read more.</summary>
    NeedMore,
    /// <summary>A whole message of <c>length</c> bytes (after <c>skipped</c> keep-alive bytes).</summary>
    Message,
    /// <summary>Framing cannot be recovered (no or bad Content-Length, or over the size limit): close the connection.</summary>
    Error,
}

/// <summary>Message boundaries on stream transports (RFC 3261 §18.3: Content-Length is mandatory; RFC 5626 §3.5.1 CRLF keep-alives).</summary>
public static class SipStreamFramer
{
    /// <summary>
    /// Finds where the first message in <paramref name="buffer"/> ends. <paramref name="skipped"/> counts leading CRLF
    /// keep-alive bytes to discard; <paramref name="length"/> is the message's length after them.
    /// </summary>
    public static SipFrameStatus TryFrame(ReadOnlySpan<byte> buffer, out int skipped, out int length, SipParserLimits? limits = null)
    {
        limits ??= SipParserLimits.Default;
        length = 0;
        skipped = 0;
        while (skipped < buffer.Length && buffer[skipped] is (byte)'\r' or (byte)'\n')
        {
            skipped++;
        }
        var data = buffer[skipped..];
        var headerEnd = data.IndexOf("\r\n\r\n"u8);
        if (headerEnd < 0)
        {
            return data.Length > limits.MaxMessageSize ? SipFrameStatus.Error : SipFrameStatus.NeedMore;
        }
        int? contentLength = null;
        var lines = data[..(headerEnd + 2)];
        lines = lines[(lines.IndexOf("\r\n"u8) + 2)..];
        while (!lines.IsEmpty)
        {
            var end = lines.IndexOf("\r\n"u8);
            var line = lines[..end];
            lines = lines[(end + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || line[0] is (byte)' ' or (byte)'\t')
            {
                continue;
            }
            var name = Encoding.ASCII.GetString(line[..colon].TrimEnd(" \t"u8));
            if (SipHeaderNames.Normalize(name) != SipHeaderNames.ContentLength)
            {
                continue;
            }
            if (!SipSyntax.TryParseBoundedInt(Encoding.ASCII.GetString(line[(colon + 1)..]), limits.MaxMessageSize, out var cl))
            {
                return SipFrameStatus.Error;
            }
            contentLength = cl;
        }
        if (contentLength is null)
        {
            return SipFrameStatus.Error;
        }
        var total = headerEnd + 4 + contentLength.Value;
        if (total > limits.MaxMessageSize)
        {
            return SipFrameStatus.Error;
        }
        if (data.Length < total)
        {
            return SipFrameStatus.NeedMore;
        }
        length = total;
        return SipFrameStatus.Message;
    }
}
