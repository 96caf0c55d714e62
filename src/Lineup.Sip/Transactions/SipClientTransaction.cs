using Lineup.Sip.Transport;

namespace Lineup.Sip.Transactions;

/// <summary>
/// An INVITE client transaction (RFC 3261 §17.1.1: timers A, B, D; ACK for non-2xx finals with the INVITE's branch)
/// or a non-INVITE client transaction (§17.1.2: timers E, F, K).
/// </summary>
internal sealed class SipClientTransaction
{
    private enum State { Calling, Proceeding, Completed, Terminated }

    private readonly SipTransactionLayer _layer;
    private readonly IClientTransactionUser _user;
    private readonly bool _isInvite;
    private State _state = State.Calling;
    private ITimer? _retransmit;
    private ITimer? _timeout;
    private TimeSpan _interval;
    private SipMessage? _ack;

    public SipClientTransaction(SipTransactionLayer layer, string key, SipMessage request, SipRemote remote, IClientTransactionUser user)
    {
        _layer = layer;
        Key = key;
        Request = request;
        Remote = remote;
        _user = user;
        _isInvite = request.RequestLine!.Method == "INVITE";
    }

    public string Key { get; }

    public SipMessage Request { get; }

    public SipRemote Remote { get; }

    public bool IsTerminated => _state == State.Terminated;

    /// <summary>True once a provisional response arrived (a CANCEL may be sent, §9.1).</summary>
    public bool HasProvisional { get; private set; }

    private bool Reliable => Remote.IsReliable;

    internal void Start()
    {
        _layer.Send(Remote, Request);
        var t = _layer.Timers;
        if (!Reliable)
        {
            _interval = t.T1;
            _retransmit = _layer.StartTimer(_interval, Retransmit); // Timer A or E
        }
        _timeout = _layer.StartTimer(t.TransactionTimeout, () => Fail(408)); // Timer B or F
    }

    /// <summary>The layer could not take the transaction (table full or duplicate branch): 503 at once.</summary>
    internal void FailNow()
    {
        _state = State.Terminated;
        _user.OnFailure(this, 503);
    }

    private void Retransmit()
    {
        if (_state is State.Completed or State.Terminated)
        {
            return;
        }
        if (_isInvite && _state != State.Calling)
        {
            return;
        }
        _layer.Send(Remote, Request);
        // Timer A doubles without bound (§17.1.1.2); timer E doubles up to T2, and is T2 once in Proceeding (§17.1.2.2).
        _interval = _isInvite ? _interval * 2 : (_state == State.Proceeding ? _layer.Timers.T2 : Min(_interval * 2, _layer.Timers.T2));
        _retransmit?.Change(_interval, Timeout.InfiniteTimeSpan);
    }

    internal void OnResponse(SipMessage response)
    {
        var code = response.StatusLine!.StatusCode;
        switch (_state)
        {
            case State.Calling or State.Proceeding when code < 200:
                HasProvisional = true;
                if (_isInvite)
                {
                    _retransmit?.Dispose(); // Timer A stops in Proceeding; B keeps running only in Calling
                    _retransmit = null;
                    _timeout?.Dispose();
                    _timeout = null;
                }
                _state = State.Proceeding;
                _user.OnResponse(this, response);
                break;
            case State.Calling or State.Proceeding when _isInvite && code < 300:
                // 2xx: the TU (the UA core) sends the ACK and absorbs retransmissions (§17.1.1.2).
                Terminate();
                _user.OnResponse(this, response);
                break;
            case State.Calling or State.Proceeding:
                _state = State.Completed;
                _retransmit?.Dispose();
                _retransmit = null;
                _timeout?.Dispose();
                if (_isInvite)
                {
                    _ack = BuildAck(response);
                    _layer.Send(Remote, _ack);
                }
                if (Reliable)
                {
                    Terminate(); // timers D and K are zero on reliable transports
                }
                else
                {
                    _timeout = _layer.StartTimer(_isInvite ? _layer.Timers.TimerD : _layer.Timers.T4, Terminate); // D or K
                }
                _user.OnResponse(this, response);
                break;
            case State.Completed when _isInvite && code >= 300:
                _layer.Send(Remote, _ack!); // retransmitted final: ACK again, do not tell the TU
                break;
        }
    }

    internal void OnTransportError()
    {
        if (_state is State.Calling or State.Proceeding)
        {
            Fail(503);
        }
    }

    private void Fail(int status)
    {
        if (_state is State.Completed or State.Terminated)
        {
            return;
        }
        Terminate();
        _user.OnFailure(this, status);
    }

    /// <summary>Ends the transaction early (a UAC giving up on an unanswered CANCEL, §9.1).</summary>
    public void Abandon() => Terminate();

    private void Terminate()
    {
        _state = State.Terminated;
        _retransmit?.Dispose();
        _timeout?.Dispose();
        _retransmit = _timeout = null;
        _layer.Remove(this);
    }

    /// <summary>ACK for a non-2xx final (§17.1.1.3): the INVITE's Request-URI, top Via, From, Call-ID, Route and CSeq number; the response's To.</summary>
    private SipMessage BuildAck(SipMessage response)
    {
        var headers = new List<SipHeader>
        {
            new(SipHeaderNames.Via, Request.GetFirst(SipHeaderNames.Via)!),
            new(SipHeaderNames.MaxForwards, "70"),
            new(SipHeaderNames.From, Request.GetFirst(SipHeaderNames.From)!),
            new(SipHeaderNames.To, response.GetFirst(SipHeaderNames.To)!),
            new(SipHeaderNames.CallId, Request.CallId!),
            new(SipHeaderNames.CSeq, $"{Request.CSeq!.Value.Number} ACK"),
        };
        Request.CopyHeaders("Route", headers);
        return new SipMessage(new SipRequestLine("ACK", Request.RequestLine!.RequestUri, "SIP/2.0"), headers, default);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
