using Lineup.Sip.Transport;

namespace Lineup.Sip.Transactions;

/// <summary>
/// An INVITE server transaction (RFC 3261 §17.2.1: 100 Trying at once, timers G, H, I; ACK to a non-2xx absorbed) or a
/// non-INVITE server transaction (§17.2.2: timer J). Retransmitted requests get the last response again. After a 2xx
/// the INVITE transaction stays in RFC 6026's Accepted state for timer L (64*T1), absorbing retransmitted INVITEs that
/// would otherwise look like new calls; the UA core retransmits the 2xx itself.
/// </summary>
internal sealed class SipServerTransaction
{
    private enum State { Trying, Proceeding, Completed, Confirmed, Accepted, Terminated }

    private readonly SipTransactionLayer _layer;
    private readonly bool _isInvite;
    private State _state = State.Trying;
    private SipMessage? _lastResponse;
    private ITimer? _retransmit;
    private ITimer? _timeout;
    private TimeSpan _interval;

    public SipServerTransaction(SipTransactionLayer layer, string key, SipMessage request, SipRemote responseRemote)
    {
        _layer = layer;
        Key = key;
        Request = request;
        ResponseRemote = responseRemote;
        _isInvite = request.RequestLine!.Method == "INVITE";
    }

    public string Key { get; }

    public SipMessage Request { get; }

    /// <summary>Where responses go (§18.2.2: the connection, or received:rport for UDP).</summary>
    public SipRemote ResponseRemote { get; }

    /// <summary>True until a final response was sent.</summary>
    public bool CanRespond => _state is State.Trying or State.Proceeding;

    public bool IsTerminated => _state == State.Terminated;

    /// <summary>True after a 2xx (RFC 6026 Accepted): ACKs belong to the dialog, retransmitted INVITEs are absorbed.</summary>
    public bool IsAccepted => _state == State.Accepted;

    /// <summary>The final response sent, or null.</summary>
    public int? FinalStatus { get; private set; }

    /// <summary>Called when the TU never answers within the guard time; the transaction then sends this status.</summary>
    public Action<SipServerTransaction>? Abandoned { get; set; }

    /// <summary>The application's handle on this transaction, when the stack handed the request on.</summary>
    public Stack.SipIncomingRequest? Incoming { get; set; }

    private bool Reliable => ResponseRemote.IsReliable;

    internal void Start()
    {
        if (_isInvite)
        {
            // §17.2.1: 100 Trying unless the TU answers within 200 ms; sending it at once is allowed and simpler.
            _state = State.Proceeding;
            Send(SipResponse.Create(Request, 100));
        }
        // A TU that never answers must not keep the transaction forever: non-INVITE gets 64*T1 (the client has given
        // up by then); INVITE may ring much longer, so its guard is set by the stack (see SetGuard).
        if (!_isInvite)
        {
            SetGuard(_layer.Timers.TransactionTimeout);
        }
    }

    /// <summary>(Re)starts the guard timer that abandons an unanswered request.</summary>
    public void SetGuard(TimeSpan due)
    {
        _timeout?.Dispose();
        _timeout = _layer.StartTimer(due, OnGuard);
    }

    private void OnGuard()
    {
        if (!CanRespond)
        {
            return;
        }
        if (Abandoned is { } abandoned)
        {
            abandoned(this);
        }
        if (CanRespond)
        {
            Respond(SipResponse.Create(Request, _isInvite ? 408 : 500, _isInvite ? null : "No Response From Application", toTag: SipIds.NewTag()));
        }
    }

    /// <summary>Sends a response from the TU (§17.2.1, §17.2.2). Ignored once a final response was sent.</summary>
    public bool Respond(SipMessage response)
    {
        if (!CanRespond)
        {
            return false;
        }
        var code = response.StatusLine!.StatusCode;
        Send(response);
        if (code < 200)
        {
            _state = State.Proceeding;
            return true;
        }
        FinalStatus = code;
        _timeout?.Dispose();
        _timeout = null;
        // Answered: the application's objects are no longer needed here. Over UDP the transaction lingers for 64*T1
        // after the call may have ended; holding the session (and through its event handlers the server's call)
        // that long would keep every recent call in memory.
        Abandoned = null;
        Incoming = null;
        var t = _layer.Timers;
        if (_isInvite && code < 300)
        {
            // 2xx: Accepted (RFC 6026 §7.1); the UA core retransmits the 2xx until the ACK (RFC 3261 §13.3.1.4), so
            // the transaction does not keep it.
            _state = State.Accepted;
            _lastResponse = null;
            _timeout = _layer.StartTimer(t.TransactionTimeout, Terminate); // Timer L
            return true;
        }
        _state = State.Completed;
        if (_isInvite)
        {
            if (!Reliable)
            {
                _interval = t.T1;
                _retransmit = _layer.StartTimer(_interval, RetransmitFinal); // Timer G
            }
            _timeout = _layer.StartTimer(t.TransactionTimeout, Terminate); // Timer H: no ACK came
        }
        else
        {
            if (Reliable)
            {
                Terminate(); // Timer J is zero on reliable transports
            }
            else
            {
                _timeout = _layer.StartTimer(t.TransactionTimeout, Terminate); // Timer J
            }
        }
        return true;
    }

    private void RetransmitFinal()
    {
        if (_state != State.Completed)
        {
            return;
        }
        Send(_lastResponse!);
        _interval = _interval * 2 < _layer.Timers.T2 ? _interval * 2 : _layer.Timers.T2;
        _retransmit?.Change(_interval, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The request came again: send the last response again (§17.2.1, §17.2.2).</summary>
    public void OnRetransmission()
    {
        if (_lastResponse is not null && _state is State.Proceeding or State.Completed)
        {
            Send(_lastResponse);
        }
    }

    /// <summary>ACK to our non-2xx final (§17.2.1): Confirmed, then timer I.</summary>
    public void OnAck()
    {
        if (_state != State.Completed || !_isInvite)
        {
            return;
        }
        _state = State.Confirmed;
        _retransmit?.Dispose();
        _retransmit = null;
        _timeout?.Dispose();
        _timeout = null;
        if (Reliable)
        {
            Terminate(); // Timer I is zero on reliable transports
        }
        else
        {
            _timeout = _layer.StartTimer(_layer.Timers.T4, Terminate); // Timer I
        }
    }

    private void Send(SipMessage response)
    {
        _lastResponse = response;
        _layer.Send(ResponseRemote, response);
    }

    private void Terminate()
    {
        _state = State.Terminated;
        _retransmit?.Dispose();
        _timeout?.Dispose();
        _retransmit = _timeout = null;
        _layer.Remove(this);
    }
}
