using Lineup.Sip.Transactions;
using Lineup.Sip.Transport;

namespace Lineup.Sip.Stack;

/// <summary>
/// A request outside any dialog handed to <see cref="SipStack.OnRequest"/> (INVITE, REGISTER, MESSAGE, ...): its
/// server transaction. Responding is thread-safe; the first final response wins and later ones are ignored.
/// </summary>
public sealed class SipIncomingRequest
{
    private readonly SipStack _stack;
    private readonly string _toTag = SipIds.NewTag();
    private InviteSession? _session;

    internal SipIncomingRequest(SipStack stack, SipServerTransaction transaction, SipRemote remote)
    {
        _stack = stack;
        Transaction = transaction;
        Remote = remote;
    }

    /// <summary>The request, with received/rport added to its top Via (RFC 3581 §4).</summary>
    public SipMessage Request => Transaction.Request;

    /// <summary>The transport and address the request came from.</summary>
    public SipRemote Remote { get; }

    /// <summary>True once a final response was sent (by the application, the stack's guard timer or a CANCEL).</summary>
    public bool IsAnswered => _stack.Locked(Request.CallId, () => !Transaction.CanRespond);

    internal SipServerTransaction Transaction { get; }

    internal InviteSession? Session => _session;

    /// <summary>
    /// Sends a response built from the request (§8.2.6): To gets a tag for codes above 100, Content-Type is added when
    /// there is a body. A 2xx to an INVITE goes through <see cref="AcceptInvite"/> (the dialog and 2xx retransmissions
    /// need it). Returns false when a final response was already sent.
    /// </summary>
    public bool Respond(int code, string? reason = null, IEnumerable<SipHeader>? headers = null,
        ReadOnlyMemory<byte> body = default, string contentType = "application/sdp")
    {
        if (Request.RequestLine!.Method == "INVITE" && code is >= 200 and < 300)
        {
            var session = AcceptInvite();
            return session.Answer(body);
        }
        var list = new List<SipHeader>();
        if (headers is not null)
        {
            list.AddRange(headers);
        }
        list.Add(new SipHeader("Server", _stack.Options.UserAgent));
        if (!body.IsEmpty)
        {
            list.Add(new SipHeader(SipHeaderNames.ContentType, contentType));
        }
        return Respond(SipResponse.Create(Request, code, reason, _session?.LocalTag ?? _toTag, list, body));
    }

    /// <summary>Sends a response the caller built whole (e.g. with <see cref="SipResponse.Create"/>); false when a final was already sent.</summary>
    public bool Respond(SipMessage response) => _stack.Locked(Request.CallId, () =>
    {
        var sent = Transaction.Respond(response);
        if (sent && response.StatusLine!.StatusCode >= 300 && _session is { } s)
        {
            s.OnRejectedByApplication();
        }
        return sent;
    });

    /// <summary>For an INVITE: the UAS session (created on the first call) to ring, answer or reject with.</summary>
    public InviteSession AcceptInvite()
    {
        if (Request.RequestLine!.Method != "INVITE")
        {
            throw new InvalidOperationException("AcceptInvite is only for INVITE requests.");
        }
        return _stack.Locked(Request.CallId, () => _session ??= _stack.CreateUasSession(this));
    }
}
