using Lineup.Sip.Transport;
namespace Lineup.Sip.Registrar;

/// <summary>
/// One contact of an address-of-record (RFC 3261 §10.3): where the user can be reached, until when, and the
/// Call-ID and CSeq of the REGISTER that last set it (§10.3 step 7). <see cref="Source"/> is the transport address
/// the REGISTER came from: a phone behind NAT is reached there, not at the private address in its Contact.
/// </summary>
/// <param name="ContactUri">The Contact URI as the phone wrote it (the Request-URI of requests sent to it).</param>
/// <param name="Source">Transport and source address of the REGISTER.</param>
/// <param name="CallId">Call-ID of the REGISTER that last set the binding.</param>
/// <param name="CSeq">Its CSeq number.</param>
/// <param name="ExpiresAt">When the binding lapses unless refreshed.</param>
public sealed record SipBinding(string ContactUri, SipRemote Source, string CallId, uint CSeq, DateTimeOffset ExpiresAt)
{
    /// <summary>Whole seconds left at <paramref name="now"/> (at least 0), as written in a 200's Contact expires.</summary>
    public int SecondsLeft(DateTimeOffset now) => (int)Math.Max(0, Math.Ceiling((ExpiresAt - now).TotalSeconds));
}
