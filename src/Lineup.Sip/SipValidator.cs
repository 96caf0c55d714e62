namespace Lineup.Sip;

/// <summary>Checks that a framed message's headers are well-formed where RFC 3261 gives them a grammar.</summary>
internal static class SipValidator
{
    private static readonly string[] Mandatory = [SipHeaderNames.To, SipHeaderNames.From, SipHeaderNames.CallId, SipHeaderNames.CSeq, SipHeaderNames.Via];
    private static readonly string[] Single = [SipHeaderNames.To, SipHeaderNames.From, SipHeaderNames.CallId, SipHeaderNames.CSeq, SipHeaderNames.MaxForwards, SipHeaderNames.ContentType];

    public static SipParseResult Validate(SipMessage m)
    {
        var version = m.RequestLine?.Version ?? m.StatusLine!.Version;
        if (!version.Equals("SIP/2.0", StringComparison.OrdinalIgnoreCase))
        {
            return SipParseResult.Fail(SipParseError.UnsupportedVersion, $"{version} is not supported (answer 505, RFC 3261 §21.5.6)", m);
        }

        // Mandatory headers, §8.1.1.
        foreach (var name in Mandatory)
        {
            if (m.GetFirst(name) is null)
            {
                return SipParseResult.Fail(SipParseError.MissingRequiredHeader, $"{name} is missing", m);
            }
        }
        foreach (var name in Single)
        {
            if (m.Count(name) > 1)
            {
                return SipParseResult.Fail(SipParseError.InvalidHeaderValue, $"{name} appears more than once", m);
            }
        }
        if (m.To is null)
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "To is malformed", m);
        }
        if (m.From is null)
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "From is malformed", m);
        }
        if (m.CallId is not { Length: > 0 } callId || callId.AsSpan().ContainsAny(" \t"))
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Call-ID is malformed", m);
        }
        if (m.CSeq is not { } cseq)
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "CSeq is malformed or its number is not below 2^31", m);
        }
        if (m.Vias is not { } vias)
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Via is malformed", m);
        }
        foreach (var v in vias)
        {
            if (v.Branch == SipVia.MagicCookie)
            {
                return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Via branch is the bare magic cookie (RFC 4475 §3.2.1)", m);
            }
        }
        if (m.GetFirst(SipHeaderNames.MaxForwards) is not null && m.MaxForwards is null)
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Max-Forwards is not 0..255", m);
        }
        if (m.GetFirst(SipHeaderNames.ContentType) is not null && m.ContentType is null)
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Content-Type is malformed", m);
        }
        if (m.GetFirst(SipHeaderNames.Contact) is not null && m.Contacts is null)
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Contact is malformed", m);
        }
        if (m.GetFirst(SipHeaderNames.Expires) is { } expires && !SipSyntax.TryParseDeltaSeconds(expires, out _))
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Expires is not delta-seconds (§20.19)", m);
        }
        if (m.GetFirst(SipHeaderNames.Date) is { } date && !date.EndsWith(" GMT", StringComparison.Ordinal))
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Date must be in GMT (§20.17)", m);
        }

        if (m.RequestLine is { } rl)
        {
            if (!cseq.Method.Equals(rl.Method, StringComparison.Ordinal))
            {
                return SipParseResult.Fail(SipParseError.CSeqMethodMismatch, $"CSeq method {cseq.Method} differs from {rl.Method}", m);
            }
            var uri = rl.RequestUri;
            if (uri.StartsWith("sip:", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("sips:", StringComparison.OrdinalIgnoreCase))
            {
                if (!SipUri.TryParse(uri, out var sip))
                {
                    return SipParseResult.Fail(SipParseError.InvalidRequestUri, "Request-URI is not a valid SIP URI", m);
                }
                if (sip.Headers.Count > 0)
                {
                    return SipParseResult.Fail(SipParseError.InvalidRequestUri, "headers are not allowed in a Request-URI (§19.1.1)", m);
                }
            }
            else if (!SipUri.IsAbsoluteUri(uri))
            {
                return SipParseResult.Fail(SipParseError.InvalidRequestUri, "Request-URI is not an absolute URI", m);
            }
        }
        return new SipParseResult(m, SipParseError.None, null);
    }
}
