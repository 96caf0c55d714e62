using System.Text;
using Lineup.Sip.Transactions;
using Lineup.Sip.Transport;

namespace Lineup.Sip.Stack;

/// <summary>
/// A REFER received inside an INVITE dialog (RFC 3515): the peer asks us to send the other party of the call to
/// <see cref="Target"/>. The application answers it once (<see cref="Accept"/> or <see cref="Reject"/>); an accepted
/// REFER creates the implicit "refer" subscription of §2.4.4, which the application reports on with
/// <see cref="Notify"/> (a message/sipfrag status line, §2.4.5) until a final status ends it. Thread-safe; calls that no
/// longer fit (a second answer, a NOTIFY after the final one or after the dialog ended) are ignored and return false.
/// </summary>
public sealed class SipRefer
{
    private readonly InviteSession _session;
    private readonly SipServerTransaction _tx;
    private bool _answered;
    private bool _accepted;
    private bool _finished;

    internal SipRefer(InviteSession session, SipServerTransaction tx, SipNameAddress referTo)
    {
        _session = session;
        _tx = tx;
        ReferTo = referTo.Uri;
        Target = referTo.SipUri;
        ReferredBy = tx.Request.GetFirst("Referred-By");
    }

    /// <summary>The Refer-To URI as sent (§2.4.1).</summary>
    public string ReferTo { get; }

    /// <summary>The Refer-To URI when it is a sip: or sips: URI; null for any other scheme.</summary>
    public SipUri? Target { get; }

    /// <summary>The Referred-By header (RFC 3892), or null.</summary>
    public string? ReferredBy { get; }

    /// <summary>The REFER request.</summary>
    public SipMessage Request => _tx.Request;

    /// <summary>The REFER's peer: where its responses go (the connection, or the source address for UDP with rport).</summary>
    public SipRemote Remote => _tx.ResponseRemote;

    /// <summary>202 Accepted (§2.4.2), then at once the first NOTIFY, "100 Trying" (§2.4.4: the notifier must send one).</summary>
    public bool Accept()
    {
        var accepted = _session.Respond(this, () =>
        {
            if (_answered) return false;
            _answered = _accepted = true;
            _tx.Respond(SipResponse.Create(_tx.Request, 202, "Accepted", _session.LocalTag, [new SipHeader("Server", _session.UserAgent)]));
            return true;
        });
        if (accepted) Notify(100, "Trying");
        return accepted;
    }

    /// <summary>A final error response instead of accepting (4xx–6xx), with <paramref name="warning"/> as a Warning
    /// header's text (RFC 3261 §20.43) when given.</summary>
    public bool Reject(int code, string reason, string? warning = null)
    {
        if (code < 300) throw new ArgumentOutOfRangeException(nameof(code), "a rejection is 300 to 699");
        return _session.Respond(this, () =>
        {
            if (_answered) return false;
            _answered = true;
            List<SipHeader> headers = [new SipHeader("Server", _session.UserAgent)];
            if (warning != null) headers.Add(new SipHeader("Warning", $"399 lineup \"{warning.Replace("\"", "'", StringComparison.Ordinal)}\""));
            _tx.Respond(SipResponse.Create(_tx.Request, code, reason, _session.LocalTag, headers));
            return true;
        });
    }

    /// <summary>
    /// A NOTIFY with the status of the referred action as a message/sipfrag body ("SIP/2.0 200 OK", §2.4.5). A status
    /// of 200 or more is the final one: its Subscription-State is terminated (reason noresource, §2.4.7) and later
    /// calls do nothing.
    /// </summary>
    public bool Notify(int status, string reason)
    {
        var final = status >= 200;
        return _session.Respond(this, () =>
        {
            if (!_accepted || _finished) return false;
            _finished = final;
            var body = Encoding.UTF8.GetBytes($"SIP/2.0 {status} {reason}\r\n");
            return _session.SendNotifyLocked(final ? "terminated;reason=noresource" : "active;expires=60", body);
        });
    }
}
