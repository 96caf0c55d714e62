using System.Globalization;
using System.Text;
using Lineup.Sip.Transactions;
using Lineup.Sip.Transport;

namespace Lineup.Sip.Stack;

/// <summary>
/// One INVITE dialog usage (RFC 3261 §12–15), UAS or UAC. All methods are thread-safe and never throw for protocol
/// reasons: a call that does not fit the state is ignored (and returns false where it returns a value). Events are
/// raised outside the call's lock; a handler that throws is logged and does not affect the stack.
/// </summary>
public sealed class InviteSession : IClientTransactionUser
{
    private readonly SipStack _stack;
    private readonly SipIncomingRequest? _incoming;
    private readonly List<string> _routeSet = [];
    private SipClientTransaction? _inviteTx;
    private SipMessage? _invite;
    private SipMessage? _ack;
    private SipMessage? _pending2xx;
    private uint _pending2xxCSeq;
    private bool _pendingIsInitial;
    private ITimer? _2xxRetransmit;
    private ITimer? _2xxGiveUp;
    private ITimer? _cancelGuard;
    private ITimer? _ringGuard;
    private TimeSpan _2xxInterval;
    private bool _cancelRequested;
    private bool _cancelSent;
    private bool _sent;

    // The session's events, in the order they were raised under the call's lock. Two threads can act on one call one
    // after the other (two receive loops reading its 200 and the BYE right after it); each runs the events it raised
    // once it releases the lock, so without this queue "ended" could reach the application before "answered".
    private readonly Lock _eventsGate = new();
    private Queue<Action>? _events;
    private Action? _deliver;
    private bool _delivering;

    /// <summary>Queues an event (called under the call's lock) and asks the stack to deliver the queue once the lock is
    /// released: by this thread, unless another thread is delivering this session's events already (it then delivers
    /// this one too, after those before it). A handler that calls back into this session sees the events that raises
    /// after it returns.</summary>
    private void RaiseInOrder(Action action)
    {
        lock (_eventsGate)
        {
            (_events ??= new Queue<Action>(2)).Enqueue(action);
        }
        _stack.Raise(_deliver ??= DeliverEvents);
    }

    private void DeliverEvents()
    {
        lock (_eventsGate)
        {
            if (_delivering) return;
            _delivering = true;
        }
        while (true)
        {
            Action next;
            lock (_eventsGate)
            {
                if (_events is null || !_events.TryDequeue(out next!))
                {
                    _delivering = false;
                    return;
                }
            }
            try
            {
                next();
            }
            catch (Exception e)
            {
                _stack.HandlerFailed(e);
            }
        }
    }

    /// <summary>UAS: from an incoming INVITE.</summary>
    internal InviteSession(SipStack stack, SipIncomingRequest incoming)
    {
        _stack = stack;
        _incoming = incoming;
        IsUas = true;
        var invite = incoming.Request;
        _invite = invite;
        CallId = invite.CallId!;
        LocalTag = SipIds.NewTag();
        RemoteTag = invite.From!.Tag;
        LocalHeader = invite.GetFirst(SipHeaderNames.To)! + ";tag=" + LocalTag;
        RemoteHeader = invite.GetFirst(SipHeaderNames.From)!;
        RemoteTarget = invite.Contacts is [var c, ..] && !c.IsWildcard ? c.Uri : invite.RequestLine!.RequestUri;
        _routeSet.AddRange(invite.GetValues("Record-Route")); // §12.1.1: in order for the UAS
        RemoteCSeq = invite.CSeq!.Value.Number;
        LocalCSeq = 0; // §12.1.1: empty until our first request in the dialog, which gets 1
        Peer = incoming.Transaction.ResponseRemote;
        RemoteSdpMessage = invite;
        LocalUser = invite.To?.SipUri?.User ?? "lineup";
        IsSips = invite.RequestLine!.RequestUri.StartsWith("sips:", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>UAC: for an outbound INVITE.</summary>
    internal InviteSession(SipStack stack, InviteRequest request)
    {
        _stack = stack;
        IsUas = false;
        CallId = SipIds.NewCallId(stack.ContactHost);
        LocalTag = SipIds.NewTag();
        var display = request.FromDisplay is { Length: > 0 } d ? "\"" + d.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\" " : "";
        LocalHeader = $"{display}<sip:{request.FromUser}@{stack.ContactHost}>;tag={LocalTag}";
        RemoteHeader = $"<{request.TargetUri}>";
        RemoteTarget = request.TargetUri;
        LocalCSeq = 1;
        LocalSdp = request.Sdp;
        LocalUser = request.FromUser;
        Request = request;
        IsSips = request.TargetUri.StartsWith("sips:", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>True when the dialog's Request-URI is a sips: URI (RFC 5630): every hop is TLS and our Contact is sips:.</summary>
    public bool IsSips { get; }

    /// <summary>Call-ID of the dialog.</summary>
    public string CallId { get; }

    /// <summary>True for an incoming call (we are the UAS).</summary>
    public bool IsUas { get; }

    /// <summary>Where the session is.</summary>
    public InviteState State { get; private set; } = InviteState.Proceeding;

    /// <summary>The INVITE (UAS) or the 2xx (UAC) that carried the peer's SDP.</summary>
    public SipMessage? RemoteSdpMessage { get; private set; }

    /// <summary>The peer's SDP (offer for UAS, answer for UAC).</summary>
    public ReadOnlyMemory<byte> RemoteSdp => RemoteSdpMessage?.Body ?? default;

    /// <summary>Our SDP (the offer for UAC, the answer for UAS once answered).</summary>
    public ReadOnlyMemory<byte> LocalSdp { get; private set; }

    /// <summary>The transport and address in-dialog requests go to (the flow the dialog was set up on).</summary>
    public SipRemote Peer { get; private set; }

    /// <summary>The outbound request (UAC), or null.</summary>
    public InviteRequest? Request { get; }

    /// <summary>The incoming INVITE's server transaction wrapper (UAS), or null.</summary>
    public SipIncomingRequest? Incoming => _incoming;

    internal string LocalTag { get; }

    internal string? RemoteTag { get; private set; }

    internal string LocalHeader { get; }

    internal string RemoteHeader { get; private set; }

    internal string RemoteTarget { get; private set; }

    internal IReadOnlyList<string> RouteSet => _routeSet;

    internal uint LocalCSeq { get; private set; }

    internal uint? RemoteCSeq { get; private set; }

    internal string LocalUser { get; }

    internal string Key => SipStack.SessionKey(CallId, LocalTag);

    /// <summary>1xx received (UAC); 100 is not reported.</summary>
    public event Action<InviteSession, int>? Progress;

    /// <summary>UAC: 2xx received and ACK sent. UAS: the ACK for our 2xx arrived.</summary>
    public event Action<InviteSession>? Answered;

    /// <summary>UAC: final non-2xx, timeout (408) or transport error (503).</summary>
    public event Action<InviteSession, int>? Failed;

    /// <summary>The session ended: BYE received or sent, CANCEL received (487 sent), ACK timeout.</summary>
    public event Action<InviteSession, SipEndReason>? Ended;

    /// <summary>A re-INVITE with an SDP offer was answered: the direction the peer offered for its audio (sendonly or
    /// inactive: it holds the call; sendrecv: it resumes).</summary>
    public event Action<InviteSession, Media.MediaDirection>? Reoffered;

    /// <summary>An INFO with application/dtmf-relay (Signal=) arrived in the dialog.</summary>
    public event Action<InviteSession, string>? InfoDtmf;

    /// <summary>A REFER with one valid Refer-To arrived in the dialog (RFC 3515); the handler must answer it. Without a
    /// handler a REFER is refused with 405.</summary>
    public event Action<InviteSession, SipRefer>? Referred;

    // ---------------------------------------------------------------- UAS

    /// <summary>Sends 180 Ringing (UAS, before the answer).</summary>
    public void Ringing() => _stack.Locked(CallId, () =>
    {
        if (IsUas && State is InviteState.Proceeding or InviteState.Ringing && _incoming!.Transaction.CanRespond)
        {
            _incoming.Transaction.Respond(SipResponse.Create(_invite!, 180, toTag: LocalTag, headers: [Contact(), Server()]));
            State = InviteState.Ringing;
        }
    });

    /// <summary>
    /// Sends 200 OK with <paramref name="sdp"/> (UAS). The 2xx is retransmitted at T1, 2*T1 ... T2 until the ACK comes;
    /// after 64*T1 without one the session sends BYE and ends with <see cref="SipEndReason.AckTimeout"/> (§13.3.1.4).
    /// </summary>
    public bool Answer(ReadOnlyMemory<byte> sdp) => _stack.Locked(CallId, () =>
    {
        if (!IsUas || State is InviteState.Established or InviteState.Terminated || !_incoming!.Transaction.CanRespond)
        {
            return false;
        }
        LocalSdp = sdp;
        var ok = Build2xx(_invite!);
        _incoming.Transaction.Respond(ok);
        State = InviteState.Established;
        Start2xxRetransmission(ok, _invite!.CSeq!.Value.Number, initial: true);
        return true;
    });

    /// <summary>Sends a final non-2xx (UAS, before the answer); the session ends without events.</summary>
    public void Reject(int code, string? reason = null) => _stack.Locked(CallId, () =>
    {
        if (!IsUas || code < 300 || State is InviteState.Established or InviteState.Terminated || !_incoming!.Transaction.CanRespond)
        {
            return;
        }
        _incoming.Transaction.Respond(SipResponse.Create(_invite!, code, reason, LocalTag, [Server()]));
        Terminate();
    });

    /// <summary>
    /// Ends the call: BYE once established; before the answer, CANCEL (UAC, <see cref="Cancel"/>) or 480 (UAS).
    /// </summary>
    public void Hangup() => _stack.Locked(CallId, () =>
    {
        switch (State)
        {
            case InviteState.Established:
                SendBye();
                Terminate();
                RaiseInOrder(() => Ended?.Invoke(this, SipEndReason.LocalBye));
                break;
            case InviteState.Proceeding or InviteState.Ringing when IsUas:
                Reject(480);
                break;
            case InviteState.Proceeding or InviteState.Ringing:
                CancelLocked();
                break;
        }
    });

    /// <summary>
    /// UAC before the answer: sends CANCEL (§9.1) once a provisional response has arrived, queueing it until then. If
    /// a 2xx crosses it, the session ACKs, sends BYE and ends with <see cref="SipEndReason.LocalCancel"/>.
    /// </summary>
    public void Cancel() => _stack.Locked(CallId, CancelLocked);

    private void CancelLocked()
    {
        if (IsUas || State is InviteState.Established or InviteState.Terminated || _cancelRequested)
        {
            return;
        }
        _cancelRequested = true;
        if (!_sent)
        {
            Terminate();
            RaiseInOrder(() => Failed?.Invoke(this, 487));
            return;
        }
        if (_inviteTx is { HasProvisional: true })
        {
            SendCancel();
        }
    }

    // ---------------------------------------------------------------- UAC

    internal void StartUac(SipRemote destination)
    {
        if (State == InviteState.Terminated)
        {
            return;
        }
        Peer = destination;
        var headers = new List<SipHeader>
        {
            new(SipHeaderNames.Via, _stack.NewVia(destination.Transport)),
            new(SipHeaderNames.MaxForwards, "70"),
            new(SipHeaderNames.From, LocalHeader),
            new(SipHeaderNames.To, RemoteHeader),
            new(SipHeaderNames.CallId, CallId),
            new(SipHeaderNames.CSeq, $"{LocalCSeq} INVITE"),
            Contact(),
            new("Allow", SipStack.AllowedMethods),
            new("User-Agent", _stack.Options.UserAgent),
        };
        if (Request!.Headers is { } extra)
        {
            headers.AddRange(extra);
        }
        if (!LocalSdp.IsEmpty)
        {
            headers.Add(new SipHeader(SipHeaderNames.ContentType, "application/sdp"));
        }
        _invite = new SipMessage(new SipRequestLine("INVITE", Request.TargetUri, "SIP/2.0"), headers, LocalSdp);
        _sent = true;
        _ringGuard = _stack.StartTimer(_stack.Options.InviteClientTimeout, CancelLocked);
        _inviteTx = _stack.Transactions.StartClient(_invite, destination, this);
    }

    internal void FailBeforeSend(int status)
    {
        if (State == InviteState.Terminated)
        {
            return;
        }
        Terminate();
        RaiseInOrder(() => Failed?.Invoke(this, status));
    }

    void IClientTransactionUser.OnResponse(SipClientTransaction transaction, SipMessage response)
    {
        if (!ReferenceEquals(transaction, _inviteTx) || State == InviteState.Terminated)
        {
            return; // BYE and CANCEL outcomes need no action
        }
        var code = response.StatusLine!.StatusCode;
        if (code < 200)
        {
            if (_cancelRequested && !_cancelSent)
            {
                SendCancel();
            }
            if (code > 100)
            {
                if (code is 180 or 183 && State == InviteState.Proceeding)
                {
                    State = InviteState.Ringing;
                }
                RaiseInOrder(() => Progress?.Invoke(this, code));
            }
            return;
        }
        if (code < 300)
        {
            On2xx(response);
            return;
        }
        Terminate();
        RaiseInOrder(() => Failed?.Invoke(this, code));
    }

    void IClientTransactionUser.OnFailure(SipClientTransaction transaction, int status)
    {
        if (ReferenceEquals(transaction, _inviteTx) && State is InviteState.Proceeding or InviteState.Ringing)
        {
            Terminate();
            RaiseInOrder(() => Failed?.Invoke(this, status));
        }
    }

    /// <summary>First 2xx (§13.2.2.4): the dialog is created from it, then ACK (a new transaction-less request).</summary>
    private void On2xx(SipMessage response)
    {
        RemoteTag = response.To?.Tag;
        RemoteHeader = response.GetFirst(SipHeaderNames.To)!;
        if (response.Contacts is [var c, ..] && !c.IsWildcard)
        {
            RemoteTarget = c.Uri;
        }
        _routeSet.Clear();
        _routeSet.AddRange(response.GetValues("Record-Route").Reverse()); // §12.1.2: reversed for the UAC
        RemoteSdpMessage = response;
        _ack = BuildInDialog("ACK", _invite!.CSeq!.Value.Number, default, null);
        _stack.SendDirect(Peer, _ack);
        if (_cancelRequested)
        {
            SendBye();
            Terminate();
            RaiseInOrder(() => Ended?.Invoke(this, SipEndReason.LocalCancel));
            return;
        }
        State = InviteState.Established;
        _ringGuard?.Dispose();
        _ringGuard = null;
        RaiseInOrder(() => Answered?.Invoke(this));
    }

    /// <summary>
    /// A 2xx no transaction matched: a retransmission of the one we ACKed (ACK again, §13.2.2.4), or a forked 2xx from
    /// another UAS (ACK it, then BYE it: we keep one dialog).
    /// </summary>
    internal void OnStray2xx(SipMessage response)
    {
        if (response.CSeq?.Number != _invite?.CSeq?.Number)
        {
            return;
        }
        var tag = response.To?.Tag;
        if (_ack is not null && tag == RemoteTag)
        {
            _stack.SendDirect(Peer, _ack);
            return;
        }
        if (_ack is null && State != InviteState.Terminated)
        {
            return; // the transaction still owns the INVITE
        }
        // Another fork: a throw-away dialog for the ACK and the BYE.
        var target = response.Contacts is [var c, ..] && !c.IsWildcard ? c.Uri : RemoteTarget;
        var routes = response.GetValues("Record-Route").Reverse().ToList();
        var to = response.GetFirst(SipHeaderNames.To)!;
        var cseq = _invite!.CSeq!.Value.Number;
        _stack.SendDirect(Peer, Build("ACK", target, to, routes, cseq, default, null));
        var bye = Build("BYE", target, to, routes, cseq + 1, default, null);
        _stack.Transactions.StartClient(bye, Peer, NullUser.Instance);
    }

    // ---------------------------------------------------------------- both

    /// <summary>An in-dialog request (§12.2.2) through its server transaction; ACKs come to <see cref="OnAck"/>.</summary>
    internal void OnRequest(SipServerTransaction tx)
    {
        var request = tx.Request;
        var method = request.RequestLine!.Method;
        var cseq = request.CSeq!.Value.Number;
        if (RemoteCSeq is { } last && cseq <= last)
        {
            tx.Respond(SipResponse.Create(request, 500, "CSeq Out Of Order", LocalTag, [Server()]));
            return;
        }
        RemoteCSeq = cseq;
        switch (method)
        {
            case "BYE":
                tx.Respond(SipResponse.Create(request, 200, toTag: LocalTag, headers: [Server()]));
                if (IsUas && _incoming!.Transaction.CanRespond)
                {
                    _incoming.Transaction.Respond(SipResponse.Create(_invite!, 487, toTag: LocalTag)); // §15.2 early dialog
                }
                if (State != InviteState.Terminated)
                {
                    Terminate();
                    RaiseInOrder(() => Ended?.Invoke(this, SipEndReason.RemoteBye));
                }
                break;
            case "INVITE":
                OnReInvite(tx);
                break;
            case "INFO":
                tx.Respond(SipResponse.Create(request, 200, toTag: LocalTag, headers: [Server()]));
                if (DtmfRelay.TryParse(request) is { } digit)
                {
                    RaiseInOrder(() => InfoDtmf?.Invoke(this, digit));
                }
                break;
            case "OPTIONS":
                tx.Respond(_stack.OptionsResponse(request, LocalTag));
                break;
            case "REFER" when Referred is { } referred:
                OnRefer(tx, referred);
                break;
            default:
                tx.Respond(SipResponse.Create(request, 405, toTag: LocalTag, headers: [new SipHeader("Allow", SipStack.AllowedMethods), Server()]));
                break;
        }
    }

    /// <summary>RFC 3515 §2.4.1–2.4.2: exactly one Refer-To, a URI the application can read; the answer is the
    /// application's (<see cref="SipRefer"/>). A REFER outside an established call is refused (403).</summary>
    private void OnRefer(SipServerTransaction tx, Action<InviteSession, SipRefer> handler)
    {
        var request = tx.Request;
        var values = request.GetValues("Refer-To").ToList();
        if (values.Count != 1 || !SipNameAddress.TryParse(values[0], out var referTo))
        {
            tx.Respond(SipResponse.Create(request, 400, values.Count == 1 ? "Bad Refer-To" : "Exactly One Refer-To Required", LocalTag, [Server()]));
            return;
        }
        if (State != InviteState.Established)
        {
            tx.Respond(SipResponse.Create(request, 403, "Call Not Established", LocalTag, [Server()]));
            return;
        }
        var refer = new SipRefer(this, tx, referTo);
        RaiseInOrder(() => handler(this, refer));
    }

    /// <summary>Runs <paramref name="body"/> for <paramref name="refer"/> under the call's lock.</summary>
    internal bool Respond(SipRefer refer, Func<bool> body) => _stack.Locked(CallId, body);

    internal string UserAgent => _stack.Options.UserAgent;

    /// <summary>A NOTIFY for the implicit refer subscription (RFC 3515 §2.4.4–2.4.5, RFC 6665 §4.2.2); false once the
    /// dialog has ended. Call under the call's lock.</summary>
    internal bool SendNotifyLocked(string subscriptionState, byte[] sipfrag)
    {
        if (State != InviteState.Established) return false;
        var notify = BuildInDialog("NOTIFY", ++LocalCSeq, sipfrag, "message/sipfrag;version=2.0",
            [new SipHeader("Event", "refer"), new SipHeader("Subscription-State", subscriptionState), Contact()]);
        _stack.Transactions.StartClient(notify, Peer, NullUser.Instance);
        return true;
    }

    /// <summary>
    /// Re-INVITE (§14.2): session refresh, or hold and resume from a phone. We answer 200 with our current SDP, its
    /// direction mirroring the offer's (<see cref="HoldAnswer"/>: recvonly to a hold's sendonly, RFC 3264 §8.4), retransmitted
    /// until its ACK, and report the offered direction (<see cref="Reoffered"/>); 491 while our previous 2xx still waits
    /// for its ACK.
    /// </summary>
    private void OnReInvite(SipServerTransaction tx)
    {
        var request = tx.Request;
        if (State != InviteState.Established || _pending2xx is not null)
        {
            tx.Respond(SipResponse.Create(request, 491, toTag: LocalTag, headers: [Server()]));
            return;
        }
        if (request.Contacts is [var c, ..] && !c.IsWildcard)
        {
            RemoteTarget = c.Uri; // §12.2.2: a target refresh
        }
        var offered = HoldAnswer.Offered(request.Body.Span);
        if (offered is { } direction) LocalSdp = HoldAnswer.Answer(LocalSdp, direction);
        var ok = Build2xx(request);
        tx.Respond(ok);
        Start2xxRetransmission(ok, request.CSeq!.Value.Number, initial: false);
        if (offered is { } d) RaiseInOrder(() => Reoffered?.Invoke(this, d));
    }

    /// <summary>ACK for our 2xx (§13.3.1.4): stops its retransmission; the first one reports <see cref="Answered"/>.</summary>
    internal void OnAck(SipMessage ack)
    {
        if (_pending2xx is null || ack.CSeq?.Number != _pending2xxCSeq)
        {
            return;
        }
        var initial = _pendingIsInitial;
        Stop2xxRetransmission();
        if (initial && State == InviteState.Established)
        {
            RaiseInOrder(() => Answered?.Invoke(this));
        }
    }

    /// <summary>A CANCEL matched our INVITE server transaction (§9.2): 487 to the INVITE.</summary>
    internal void OnCancelled()
    {
        if (!IsUas || !_incoming!.Transaction.CanRespond)
        {
            return;
        }
        _incoming.Transaction.Respond(SipResponse.Create(_invite!, 487, toTag: LocalTag, headers: [Server()]));
        Terminate();
        RaiseInOrder(() => Ended?.Invoke(this, SipEndReason.RemoteCancel));
    }

    /// <summary>The INVITE's guard timer fired before the application answered.</summary>
    internal void OnAbandoned()
    {
        if (State is InviteState.Proceeding or InviteState.Ringing)
        {
            _incoming!.Transaction.Respond(SipResponse.Create(_invite!, 408, toTag: LocalTag, headers: [Server()]));
            Terminate();
            RaiseInOrder(() => Ended?.Invoke(this, SipEndReason.RequestTimeout));
        }
    }

    /// <summary>The application sent a final non-2xx through <see cref="SipIncomingRequest.Respond(SipMessage)"/>.</summary>
    internal void OnRejectedByApplication()
    {
        if (State is InviteState.Proceeding or InviteState.Ringing)
        {
            Terminate();
        }
    }

    internal void Close() => Terminate();

    private void Start2xxRetransmission(SipMessage ok, uint cseq, bool initial)
    {
        _pending2xx = ok;
        _pending2xxCSeq = cseq;
        _pendingIsInitial = initial;
        var timers = _stack.Options.Timers;
        if (Peer.Transport == SipTransportKind.Udp)
        {
            _2xxInterval = timers.T1;
            _2xxRetransmit = _stack.StartTimer(_2xxInterval, Retransmit2xx);
        }
        _2xxGiveUp = _stack.StartTimer(timers.TransactionTimeout, On2xxGiveUp);
    }

    private void Retransmit2xx()
    {
        if (_pending2xx is null)
        {
            return;
        }
        _stack.SendDirect(Peer, _pending2xx);
        var t2 = _stack.Options.Timers.T2;
        _2xxInterval = _2xxInterval * 2 < t2 ? _2xxInterval * 2 : t2;
        _2xxRetransmit?.Change(_2xxInterval, Timeout.InfiniteTimeSpan);
    }

    private void On2xxGiveUp()
    {
        if (_pending2xx is null)
        {
            return;
        }
        var initial = _pendingIsInitial;
        Stop2xxRetransmission();
        if (initial && State == InviteState.Established)
        {
            SendBye();
            Terminate();
            RaiseInOrder(() => Ended?.Invoke(this, SipEndReason.AckTimeout));
        }
    }

    private void Stop2xxRetransmission()
    {
        _pending2xx = null;
        _2xxRetransmit?.Dispose();
        _2xxGiveUp?.Dispose();
        _2xxRetransmit = _2xxGiveUp = null;
    }

    private void SendBye()
    {
        var bye = BuildInDialog("BYE", ++LocalCSeq, default, null);
        _stack.Transactions.StartClient(bye, Peer, NullUser.Instance);
    }

    /// <summary>CANCEL (§9.1): the INVITE's Request-URI, top Via (same branch), From, To, Call-ID, Route and CSeq number.</summary>
    private void SendCancel()
    {
        _cancelSent = true;
        var invite = _invite!;
        var headers = new List<SipHeader>
        {
            new(SipHeaderNames.Via, invite.GetFirst(SipHeaderNames.Via)!),
            new(SipHeaderNames.MaxForwards, "70"),
            new(SipHeaderNames.From, invite.GetFirst(SipHeaderNames.From)!),
            new(SipHeaderNames.To, invite.GetFirst(SipHeaderNames.To)!),
            new(SipHeaderNames.CallId, CallId),
            new(SipHeaderNames.CSeq, $"{invite.CSeq!.Value.Number} CANCEL"),
        };
        invite.CopyHeaders("Route", headers);
        var cancel = new SipMessage(new SipRequestLine("CANCEL", invite.RequestLine!.RequestUri, "SIP/2.0"), headers, default);
        _stack.Transactions.StartClient(cancel, Peer, NullUser.Instance);
        // §9.1: without a final response to the INVITE 64*T1 after the CANCEL, give up on it.
        _cancelGuard = _stack.StartTimer(_stack.Options.Timers.TransactionTimeout, () =>
        {
            if (State is InviteState.Proceeding or InviteState.Ringing)
            {
                _inviteTx?.Abandon();
                Terminate();
                RaiseInOrder(() => Failed?.Invoke(this, 408));
            }
        });
    }

    private SipMessage Build2xx(SipMessage request)
    {
        var headers = new List<SipHeader>
        {
            Contact(),
            new("Allow", SipStack.AllowedMethods),
            new("Supported", ""),
            Server(),
        };
        if (!LocalSdp.IsEmpty)
        {
            headers.Add(new SipHeader(SipHeaderNames.ContentType, "application/sdp"));
        }
        // Record-Route is copied into 2xx responses that set up a dialog (§12.1.1).
        request.CopyHeaders("Record-Route", headers);
        return SipResponse.Create(request, 200, toTag: LocalTag, headers: headers, body: LocalSdp);
    }

    private SipMessage BuildInDialog(string method, uint cseq, ReadOnlyMemory<byte> body, string? contentType, IEnumerable<SipHeader>? extra = null) =>
        Build(method, RemoteTarget, RemoteHeader, _routeSet, cseq, body, contentType, extra);

    /// <summary>A request within a dialog (§12.2.1.1): remote target as Request-URI, route set as Route, our tags.</summary>
    private SipMessage Build(string method, string target, string to, IReadOnlyList<string> routes, uint cseq, ReadOnlyMemory<byte> body, string? contentType,
        IEnumerable<SipHeader>? extra = null)
    {
        var headers = new List<SipHeader>
        {
            new(SipHeaderNames.Via, _stack.NewVia(Peer.Transport)),
            new(SipHeaderNames.MaxForwards, "70"),
            new(SipHeaderNames.From, LocalHeader),
            new(SipHeaderNames.To, to),
            new(SipHeaderNames.CallId, CallId),
            new(SipHeaderNames.CSeq, string.Create(CultureInfo.InvariantCulture, $"{cseq} {method}")),
        };
        foreach (var r in routes)
        {
            headers.Add(new SipHeader("Route", r));
        }
        if (extra is not null)
        {
            headers.AddRange(extra);
        }
        headers.Add(new SipHeader("User-Agent", _stack.Options.UserAgent));
        if (contentType is not null)
        {
            headers.Add(new SipHeader(SipHeaderNames.ContentType, contentType));
        }
        return new SipMessage(new SipRequestLine(method, target, "SIP/2.0"), headers, body);
    }

    private SipHeader Contact() => new(SipHeaderNames.Contact, _stack.ContactFor(LocalUser, Peer.Transport, IsSips));

    private SipHeader Server() => new("Server", _stack.Options.UserAgent);

    private void Terminate()
    {
        if (State == InviteState.Terminated)
        {
            return;
        }
        State = InviteState.Terminated;
        Stop2xxRetransmission();
        _cancelGuard?.Dispose();
        _ringGuard?.Dispose();
        _cancelGuard = _ringGuard = null;
        _stack.RemoveSession(this);
    }

    /// <summary>The user of transactions whose outcome needs no action (BYE, CANCEL, fork clean-up).</summary>
    private sealed class NullUser : IClientTransactionUser
    {
        public static readonly NullUser Instance = new();

        public void OnResponse(SipClientTransaction transaction, SipMessage response)
        {
        }

        public void OnFailure(SipClientTransaction transaction, int status)
        {
        }
    }
}

/// <summary>INFO bodies of type application/dtmf-relay: "Signal=5\r\nDuration=160".</summary>
internal static class DtmfRelay
{
    public static string? TryParse(SipMessage info)
    {
        if (info.ContentType?.MediaType != "application/dtmf-relay")
        {
            return null;
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(info.Body.Span);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.AsSpan().Trim();
            var eq = line.IndexOf('=');
            if (eq > 0 && line[..eq].Trim().Equals("Signal", StringComparison.OrdinalIgnoreCase))
            {
                var value = line[(eq + 1)..].Trim();
                if (value.Length == 1 && (char.IsAsciiDigit(value[0]) || value[0] is '*' or '#' or >= 'A' and <= 'D' or >= 'a' and <= 'd'))
                {
                    return char.ToUpperInvariant(value[0]).ToString();
                }
                if (value is "10")
                {
                    return "*";
                }
                if (value is "11")
                {
                    return "#";
                }
                return null;
            }
        }
        return null;
    }
}
