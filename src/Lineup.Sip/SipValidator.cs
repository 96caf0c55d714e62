namespace Lineup.Sip;

/// <summary>
/// Checks that a framed message's headers are well-formed where RFC 3261 gives them a grammar. The checks read the
/// values as characters in a scratch buffer and build nothing: the typed views (<see cref="SipMessage.From"/>, ...)
/// are made later, by whatever reads them.
/// </summary>
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
            if (m.IndexOf(name) < 0)
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
        // Values longer than the scratch buffer are decoded into a string instead (rare: a URI with long parameters).
        Span<char> scratch = stackalloc char[512];
        if (!SipNameAddress.TryParse(m.CharsAt(m.IndexOf(SipHeaderNames.To), scratch), build: false, out _, allowWildcard: false))
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "To is malformed", m);
        }
        if (!SipNameAddress.TryParse(m.CharsAt(m.IndexOf(SipHeaderNames.From), scratch), build: false, out _, allowWildcard: false))
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "From is malformed", m);
        }
        var callId = m.CharsAt(m.IndexOf(SipHeaderNames.CallId), scratch);
        if (callId.IsEmpty || callId.ContainsAny(" \t"))
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Call-ID is malformed", m);
        }
        if (!SipCSeq.TryParse(m.CharsAt(m.IndexOf(SipHeaderNames.CSeq), scratch), out var cseq))
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "CSeq is malformed or its number is not below 2^31", m);
        }
        m.KeepCSeq(cseq);
        var bareCookie = false;
        for (var i = m.IndexOf(SipHeaderNames.Via); i >= 0; i = m.IndexOf(SipHeaderNames.Via, i + 1))
        {
            if (!SipVia.TryParse(m.CharsAt(i, scratch), build: false, out _, out var bare))
            {
                return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Via is malformed", m);
            }
            bareCookie |= bare;
        }
        if (bareCookie)
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Via branch is the bare magic cookie (RFC 4475 §3.2.1)", m);
        }
        if (m.IndexOf(SipHeaderNames.MaxForwards) is var maxForwards and >= 0
            && !SipSyntax.TryParseBoundedInt(m.CharsAt(maxForwards, scratch), 255, out _))
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Max-Forwards is not 0..255", m);
        }
        if (m.IndexOf(SipHeaderNames.ContentType) is var contentType and >= 0
            && !SipContentType.TryParse(m.CharsAt(contentType, scratch), build: false, out _))
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Content-Type is malformed", m);
        }
        for (var i = m.IndexOf(SipHeaderNames.Contact); i >= 0; i = m.IndexOf(SipHeaderNames.Contact, i + 1))
        {
            if (!SipNameAddress.TryParse(m.CharsAt(i, scratch), build: false, out _, allowWildcard: true))
            {
                return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Contact is malformed", m);
            }
        }
        if (m.IndexOf(SipHeaderNames.Expires) is var expires and >= 0 && !SipSyntax.TryParseDeltaSeconds(m.CharsAt(expires, scratch), out _))
        {
            return SipParseResult.Fail(SipParseError.InvalidHeaderValue, "Expires is not delta-seconds (§20.19)", m);
        }
        if (m.IndexOf(SipHeaderNames.Date) is var date and >= 0 && !m.CharsAt(date, scratch).EndsWith(" GMT", StringComparison.Ordinal))
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
                if (!SipUri.TryParse(uri, build: false, out _, out var hasHeaders))
                {
                    return SipParseResult.Fail(SipParseError.InvalidRequestUri, "Request-URI is not a valid SIP URI", m);
                }
                if (hasHeaders)
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
