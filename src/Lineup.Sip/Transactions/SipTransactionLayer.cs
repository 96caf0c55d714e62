using System.Collections.Concurrent;
using Lineup.Sip.Transport;

namespace Lineup.Sip.Transactions;

/// <summary>What a client transaction tells its transaction user (RFC 3261 §17.1).</summary>
internal interface IClientTransactionUser
{
    /// <summary>A provisional or final response matched the transaction (retransmitted finals are absorbed).</summary>
    void OnResponse(SipClientTransaction transaction, SipMessage response);

    /// <summary>Timer B or F fired (the TU treats it as 408, §8.1.3.1) or the transport failed (503, §8.1.3.1).</summary>
    void OnFailure(SipClientTransaction transaction, int status);
}

/// <summary>
/// Client and server transactions of RFC 3261 §17, matched per §17.1.3 and §17.2.3. The tables are concurrent; each
/// transaction is only driven under its call's lock in the stack (timer callbacks come back through the stack's
/// scheduler under the same lock). Transactions are removed when they terminate, and their number is bounded.
/// </summary>
internal sealed class SipTransactionLayer(
    SipTimerOptions timers,
    Func<TimeSpan, Action, ITimer> startTimer,
    Action<SipRemote, SipMessage> send,
    int maxTransactions)
{
    private readonly ConcurrentDictionary<string, SipClientTransaction> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SipServerTransaction> _servers = new(StringComparer.Ordinal);
    private int _count;

    public SipTimerOptions Timers => timers;

    /// <summary>Live transactions, client plus server.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>True when the table holds <c>maxTransactions</c>: new work (<see cref="OpensNewWork"/>) is refused.</summary>
    public bool IsFull => Count >= maxTransactions;

    /// <summary>
    /// True for a request that starts something new: outside any dialog (no To tag) and not a CANCEL. Only these are
    /// refused when the table is full; a request inside a dialog (BYE, re-INVITE, INFO) or a CANCEL of an INVITE the
    /// table already holds finishes work that was admitted, and dialogs are bounded by their own limit, so refusing it
    /// would leave a call up on one side and gone on the other.
    /// </summary>
    public static bool OpensNewWork(SipMessage request) =>
        request.To?.Tag is null && request.RequestLine?.Method != "CANCEL";

    internal ITimer StartTimer(TimeSpan due, Action callback) => startTimer(due, callback);

    internal void Send(SipRemote remote, SipMessage message) => send(remote, message);

    /// <summary>Starts a client transaction for <paramref name="request"/>, whose top Via carries a fresh branch.</summary>
    public SipClientTransaction StartClient(SipMessage request, SipRemote remote, IClientTransactionUser user)
    {
        var key = ClientKey(request.TopVia!.Branch!, request.CSeq!.Value.Method);
        var tx = new SipClientTransaction(this, key, request, remote, user);
        if ((IsFull && OpensNewWork(request)) || !_clients.TryAdd(key, tx))
        {
            tx.FailNow();
            return tx;
        }
        Interlocked.Increment(ref _count);
        tx.Start();
        return tx;
    }

    /// <summary>Passes a response to the client transaction it matches (§17.1.3); false when none does.</summary>
    public bool OnResponse(SipMessage response)
    {
        if (response.TopVia?.Branch is not { } branch || response.CSeq is not { } cseq)
        {
            return false;
        }
        if (!_clients.TryGetValue(ClientKey(branch, cseq.Method), out var tx))
        {
            return false;
        }
        tx.OnResponse(response);
        return true;
    }

    /// <summary>The client transactions sending to <paramref name="remote"/>: a transport error there fails each of them
    /// (§17.1.4), under its call's lock.</summary>
    public List<SipClientTransaction> ClientsSendingTo(SipRemote remote) => [.. _clients.Values.Where(t => t.Remote == remote)];

    /// <summary>The server transaction a request belongs to (§17.2.3); ACK and CANCEL look for the INVITE with <paramref name="method"/>.</summary>
    public SipServerTransaction? FindServer(SipMessage request, string method) =>
        ServerKey(request, method) is { } key && _servers.TryGetValue(key, out var tx) ? tx : null;

    /// <summary>Creates the server transaction for a new request; null when the table is full and the request opens new
    /// work.</summary>
    public SipServerTransaction? CreateServer(SipMessage request, SipRemote responseRemote)
    {
        if ((IsFull && OpensNewWork(request)) || ServerKey(request, request.RequestLine!.Method) is not { } key)
        {
            return null;
        }
        var tx = new SipServerTransaction(this, key, request, responseRemote);
        if (!_servers.TryAdd(key, tx))
        {
            return null;
        }
        Interlocked.Increment(ref _count);
        tx.Start();
        return tx;
    }

    internal void Remove(SipClientTransaction tx)
    {
        if (_clients.TryRemove(new KeyValuePair<string, SipClientTransaction>(tx.Key, tx)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    internal void Remove(SipServerTransaction tx)
    {
        if (_servers.TryRemove(new KeyValuePair<string, SipServerTransaction>(tx.Key, tx)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private static string ClientKey(string branch, string method) => string.Concat(branch, "|", method);

    /// <summary>
    /// §17.2.3: with an RFC 3261 branch, branch + sent-by + method (ACK matches INVITE); otherwise the RFC 2543
    /// fallback of Call-ID, CSeq number, From tag and top Via.
    /// </summary>
    private static string? ServerKey(SipMessage request, string method)
    {
        if (method == "ACK")
        {
            method = "INVITE";
        }
        if (request.TopVia is not { } via)
        {
            return null;
        }
        if (via.HasRfc3261Branch)
        {
            return $"{via.Branch}|{via.Host.ToLowerInvariant()}:{via.Port}|{method}";
        }
        return $"2543|{request.CallId}|{request.CSeq?.Number}|{request.From?.Tag}|{via.Host.ToLowerInvariant()}:{via.Port}|{method}";
    }
}
