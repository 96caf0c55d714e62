namespace Lineup.Sip;

/// <summary>Builds responses to a request (RFC 3261 §8.2.6): Via, From, Call-ID and CSeq copied, To copied with a
/// tag added when the request had none and the status is above 100.</summary>
public static class SipResponse
{
    /// <summary>The default reason phrase of a status code (§21), or "Unknown".</summary>
    public static string ReasonPhrase(int code) => code switch
    {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => "Unknown",
    };

    /// <summary>A response to <paramref name="request"/>. <paramref name="toTag"/> is added to To when the request's
    /// To has no tag and the code is not 100 (§8.2.6.2).</summary>
    public static SipMessage Create(SipMessage request, int code, string? reason = null, string? toTag = null,
        IEnumerable<SipHeader>? headers = null, ReadOnlyMemory<byte> body = default)
    {
        var list = new List<SipHeader>(8);
        for (var i = 0; i < request.HeaderCount; i++)
        {
            var name = request.NameAt(i);
            switch (name)
            {
                case SipHeaderNames.Via or SipHeaderNames.From or SipHeaderNames.CallId or SipHeaderNames.CSeq:
                    list.Add(new SipHeader(name, request.ValueAt(i)));
                    break;
                case SipHeaderNames.To:
                    var to = request.ValueAt(i);
                    if (code > 100 && toTag != null && request.To is { Tag: null })
                    {
                        to += ";tag=" + toTag;
                    }
                    list.Add(new SipHeader(SipHeaderNames.To, to));
                    break;
            }
        }
        if (headers != null)
        {
            list.AddRange(headers);
        }
        return new SipMessage(new SipStatusLine("SIP/2.0", code, reason ?? ReasonPhrase(code)), list, body);
    }
}
