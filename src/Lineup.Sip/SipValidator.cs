namespace Lineup.Sip;

/// <summary>Checks that a framed message's headers are well-formed where RFC 3261 gives them a grammar.</summary>
internal static class SipValidator
{
    public static SipParseResult Validate(SipMessage m)
    {
        SipParseResult Fail(SipParseError e, string d) => SipParseResult.Fail(e, d, m);

        var version = m.RequestLine?.Version ?? m.StatusLine!.Version;
        if (!version.Equals("SIP/2.0", StringComparison.OrdinalIgnoreCase))
        {
            return Fail(SipParseError.UnsupportedVersion, $"{version} is not supported (answer 505, RFC 3261 §21.5.6)");
        }

        // Mandatory headers, §8.1.1.
        foreach (var name in new[] { SipHeaderNames.To, SipHeaderNames.From, SipHeaderNames.CallId, SipHeaderNames.CSeq, SipHeaderNames.Via })
        {
            if (m.GetFirst(name) is null)
            {
                return Fail(SipParseError.MissingRequiredHeader, $"{name} is missing");
            }
        }
        foreach (var name in new[] { SipHeaderNames.To, SipHeaderNames.From, SipHeaderNames.CallId, SipHeaderNames.CSeq, SipHeaderNames.MaxForwards, SipHeaderNames.ContentType })
        {
            if (m.GetValues(name).Skip(1).Any())
            {
                return Fail(SipParseError.InvalidHeaderValue, $"{name} appears more than once");
            }
        }
        if (m.To is null)
        {
            return Fail(SipParseError.InvalidHeaderValue, "To is malformed");
        }
        if (m.From is null)
        {
            return Fail(SipParseError.InvalidHeaderValue, "From is malformed");
        }
        if (m.CallId is not { Length: > 0 } callId || callId.AsSpan().ContainsAny(" \t"))
        {
            return Fail(SipParseError.InvalidHeaderValue, "Call-ID is malformed");
        }
        if (m.CSeq is not { } cseq)
        {
            return Fail(SipParseError.InvalidHeaderValue, "CSeq is malformed or its number is not below 2^31");
        }
        if (m.Vias is not { } vias)
        {
            return Fail(SipParseError.InvalidHeaderValue, "Via is malformed");
        }
        if (vias.Any(v => v.Branch == SipVia.MagicCookie))
        {
            return Fail(SipParseError.InvalidHeaderValue, "Via branch is the bare magic cookie (RFC 4475 §3.2.1)");
        }
        if (m.GetFirst(SipHeaderNames.MaxForwards) is not null && m.MaxForwards is null)
        {
            return Fail(SipParseError.InvalidHeaderValue, "Max-Forwards is not 0..255");
        }
        if (m.GetFirst(SipHeaderNames.ContentType) is not null && m.ContentType is null)
        {
            return Fail(SipParseError.InvalidHeaderValue, "Content-Type is malformed");
        }
        if (m.GetFirst(SipHeaderNames.Contact) is not null && m.Contacts is null)
        {
            return Fail(SipParseError.InvalidHeaderValue, "Contact is malformed");
        }
        if (m.GetFirst(SipHeaderNames.Expires) is { } expires && !SipSyntax.TryParseDeltaSeconds(expires, out _))
        {
            return Fail(SipParseError.InvalidHeaderValue, "Expires is not delta-seconds (§20.19)");
        }
        if (m.GetFirst(SipHeaderNames.Date) is { } date && !date.EndsWith(" GMT", StringComparison.Ordinal))
        {
            return Fail(SipParseError.InvalidHeaderValue, "Date must be in GMT (§20.17)");
        }

        if (m.RequestLine is { } rl)
        {
            if (!cseq.Method.Equals(rl.Method, StringComparison.Ordinal))
            {
                return Fail(SipParseError.CSeqMethodMismatch, $"CSeq method {cseq.Method} differs from {rl.Method}");
            }
            var uri = rl.RequestUri;
            if (uri.StartsWith("sip:", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("sips:", StringComparison.OrdinalIgnoreCase))
            {
                if (!SipUri.TryParse(uri, out var sip))
                {
                    return Fail(SipParseError.InvalidRequestUri, "Request-URI is not a valid SIP URI");
                }
                if (sip.Headers.Count > 0)
                {
                    return Fail(SipParseError.InvalidRequestUri, "headers are not allowed in a Request-URI (§19.1.1)");
                }
            }
            else if (!SipUri.IsAbsoluteUri(uri))
            {
                return Fail(SipParseError.InvalidRequestUri, "Request-URI is not an absolute URI");
            }
        }
        return new SipParseResult(m, SipParseError.None, null);
    }
}
