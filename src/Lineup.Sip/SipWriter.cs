using System.Globalization;
using System.Text;

namespace Lineup.Sip;

/// <summary>Serialises a <see cref="SipMessage"/> (RFC 3261 §7): full header names, one value per line, Content-Length computed from the body (§20.14).</summary>
public static class SipWriter
{
    /// <summary>The message as bytes on the wire.</summary>
    public static byte[] Write(SipMessage message)
    {
        var sb = new StringBuilder(256);
        if (message.RequestLine is { } rl)
        {
            sb.Append(rl.Method).Append(' ').Append(rl.RequestUri).Append(' ').Append(rl.Version);
        }
        else
        {
            var sl = message.StatusLine!;
            sb.Append(sl.Version).Append(' ').Append(sl.StatusCode.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(sl.ReasonPhrase);
        }
        sb.Append("\r\n");
        foreach (var h in message.Headers)
        {
            if (h.Name == SipHeaderNames.ContentLength)
            {
                continue;
            }
            sb.Append(h.Name).Append(": ").Append(h.Value).Append("\r\n");
        }
        sb.Append(SipHeaderNames.ContentLength).Append(": ").Append(message.Body.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n\r\n");
        var head = Encoding.UTF8.GetBytes(sb.ToString());
        var result = new byte[head.Length + message.Body.Length];
        head.CopyTo(result, 0);
        message.Body.Span.CopyTo(result.AsSpan(head.Length));
        return result;
    }
}
