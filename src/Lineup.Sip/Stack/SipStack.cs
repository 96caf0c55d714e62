using System.Net;
using System.Net.Sockets;
using System.Text;
using Lineup.Sip.Transactions;
using Lineup.Sip.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lineup.Sip.Stack;

/// <summary>
/// The SIP user agent core (RFC 3261 §8, §12–15) over the transaction layer (§17) and the transports (§18): it
/// dispatches incoming messages, answers what it can itself (400, 416, 420, 481, 483, 501, 505, OPTIONS, CANCEL,
/// in-dialog BYE/INFO/re-INVITE) and hands the rest to <see cref="OnRequest"/>.
/// <para>
/// Concurrency: the calls are spread over <see cref="ShardCount"/> locks by Call-ID; a call's transactions, dialog and
/// timers all take its Call-ID's lock, so different calls proceed in parallel while each call's protocol work stays
/// serial. Receive loops, timer callbacks and API calls take the lock for the protocol work only; events and
/// <see cref="OnRequest"/> run after it is released (a session's events in the order they were raised, one thread at a
/// time: <see cref="InviteSession"/>), and whatever they throw is logged and swallowed. Nothing holds
/// two of these locks at once.
/// </para>
/// </summary>
public sealed partial class SipStack : IAsyncDisposable, ISipTransportHandler
{
    /// <summary>The methods the stack accepts (Allow, §20.5).</summary>
    public const string AllowedMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER, MESSAGE, REFER";

    private static readonly HashSet<string> KnownMethods = new(StringComparer.Ordinal)
    {
        "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "REGISTER", "MESSAGE", "SUBSCRIBE", "NOTIFY",
        "REFER", "UPDATE", "PRACK", "PUBLISH",
    };

    /// <summary>Locks the calls are spread over (a power of two).</summary>
    internal const int ShardCount = 64;

    /// <summary>The shard whose lock this thread holds innermost (any stack's), for <see cref="Raise"/> and timers.</summary>
    [ThreadStatic]
    private static Shard? t_current;

    private readonly Shard[] _shards;
    private readonly Dictionary<SipTransportKind, ISipTransport> _transports = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, InviteSession> _sessions = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _ownsTransports;
    private int _sessionCount;
    private long _dropped;
    private volatile bool _disposed;

    /// <summary>A stack with its own UDP and TCP transports, bound by <see cref="StartAsync"/>.</summary>
    public SipStack(SipStackOptions options, TimeProvider? time = null, ILogger<SipStack>? logger = null)
        : this(options, [], time, logger)
    {
        _ownsTransports = true;
    }

    /// <summary>A stack over the given transports (tests pass an in-memory one).</summary>
    public SipStack(SipStackOptions options, IEnumerable<ISipTransport> transports, TimeProvider? time = null, ILogger<SipStack>? logger = null)
    {
        Options = options;
        _shards = new Shard[ShardCount];
        for (var i = 0; i < ShardCount; i++)
        {
            _shards[i] = new Shard(this);
        }
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        foreach (var t in transports)
        {
            _transports[t.Kind] = t;
        }
        Transactions = new SipTransactionLayer(options.Timers, StartTimer, SendDirect, options.MaxTransactions);
        Overload = new SipOverloadControl(options.Overload, options.MaxTransactions, options.MaxSessions, _time, _logger);
    }

    /// <summary>The admission decision for new INVITEs and its refusals so far.</summary>
    public SipOverloadControl Overload { get; }

    /// <summary>The options the stack runs with.</summary>
    public SipStackOptions Options { get; }

    /// <summary>
    /// New requests outside any dialog that the stack does not answer itself: INVITE, REGISTER, MESSAGE,
    /// SUBSCRIBE... Without a handler, INVITE gets 480 and the others 405.
    /// </summary>
    public Func<SipIncomingRequest, ValueTask>? OnRequest { get; set; }

    /// <summary>The UDP (else TCP) listening endpoint; valid after <see cref="StartAsync"/>.</summary>
    public IPEndPoint LocalEndPoint => (_transports.GetValueOrDefault(SipTransportKind.Udp) ?? _transports.Values.First()).LocalEndPoint;

    /// <summary>The TLS listening endpoint, or null when the stack does not listen for TLS.</summary>
    public IPEndPoint? TlsEndPoint => _transports.GetValueOrDefault(SipTransportKind.Tls) is SipTcpTransport { IsListening: true } tls ? tls.LocalEndPoint : null;

    /// <summary>Messages dropped without an answer (unparseable, unanswerable, stray responses).</summary>
    public long DroppedMessages => Interlocked.Read(ref _dropped);

    /// <summary>Live transactions.</summary>
    public int TransactionCount => Transactions.Count;

    /// <summary>Live INVITE sessions.</summary>
    public int SessionCount => Volatile.Read(ref _sessionCount);

    internal SipTransactionLayer Transactions { get; }

    internal IEnumerable<InviteSession> Sessions => _sessions.Values;

    /// <summary>Host for Via, Contact, From and Call-ID: <see cref="SipStackOptions.PublicHost"/> or the bound address.</summary>
    internal string ContactHost
    {
        get
        {
            if (Options.PublicHost is { Length: > 0 } host)
            {
                return host;
            }
            var address = _transports.Count > 0 ? LocalEndPoint.Address : Options.Listen.Address;
            if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
            {
                address = IPAddress.Loopback;
            }
            return address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        }
    }

    /// <summary>Binds the transports (UDP and TCP on one port; port 0 picks a free one) and starts receiving.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (!_ownsTransports)
        {
            foreach (var t in _transports.Values)
            {
                await t.StartAsync(this, cancellationToken).ConfigureAwait(false);
            }
            return;
        }
        for (var attempt = 0; ; attempt++)
        {
            var listen = Options.Listen;
            SipUdpTransport? udp = null;
            try
            {
                if (Options.Udp)
                {
                    udp = new SipUdpTransport(listen, Options.Limits, _logger, Options.UdpReceiveLoops);
                    await udp.StartAsync(this, cancellationToken).ConfigureAwait(false);
                    listen = new IPEndPoint(listen.Address, udp.LocalEndPoint.Port);
                }
                if (Options.Tcp)
                {
                    var tcp = new SipTcpTransport(listen, _time, Options.Limits, Options.TcpOptions, _logger);
                    await tcp.StartAsync(this, cancellationToken).ConfigureAwait(false);
                    _transports[SipTransportKind.Tcp] = tcp;
                }
                if (udp is not null)
                {
                    _transports[SipTransportKind.Udp] = udp;
                }
                if (Options.Tls is { } tlsOptions)
                {
                    var tls = new SipTcpTransport(Options.TlsListen, _time, Options.Limits, Options.TcpOptions, _logger, tlsOptions);
                    await tls.StartAsync(this, cancellationToken).ConfigureAwait(false);
                    if (Options.OutboundProxy is { Transport: SipTransportKind.Tls } proxy && Options.OutboundProxyServerName is { } name)
                    {
                        tls.SetServerName(proxy.EndPoint, name);
                    }
                    _transports[SipTransportKind.Tls] = tls;
                }
                return;
            }
            catch (IOException e) when (e.InnerException is SocketException)
            {
                // The transports name the address in an IOException around the socket's error.
                if (udp is not null)
                {
                    await udp.DisposeAsync().ConfigureAwait(false);
                }
                if (Options.Listen.Port != 0 || attempt >= 10)
                {
                    throw;
                }
                // The UDP port was free but not the same TCP port: try another.
            }
        }
    }

    /// <summary>
    /// Starts an outbound call (UAC): the INVITE goes to <see cref="InviteRequest.Destination"/>, else the outbound
    /// proxy, else the Request-URI's host (an IP literal or a DNS name, port 5060 by default; transport=tcp selects TCP).
    /// Outcomes arrive as events: subscribe in <paramref name="configure"/>, which runs before anything is sent (a
    /// subscription made after this method returns can miss a fast 1xx).
    /// </summary>
    public InviteSession Invite(InviteRequest request, Action<InviteSession>? configure = null)
    {
        var session = new InviteSession(this, request);
        configure?.Invoke(session);
        var full = Locked(session.CallId, () => !TryAddSession(session));
        if (full)
        {
            // Reported on the thread pool so the caller can subscribe first.
            _ = Task.Run(() => Locked(session.CallId, () => session.FailBeforeSend(503)));
            return session;
        }
        _ = ResolveAndSendAsync(session, request);
        return session;
    }

    private async Task ResolveAndSendAsync(InviteSession session, InviteRequest request)
    {
        await Task.Yield(); // the caller subscribes to the session's events before anything is sent
        SipRemote? destination = request.Destination ?? Options.OutboundProxy;
        if (destination is null && SipUri.TryParse(request.TargetUri, out var uri))
        {
            var kind = TransportFor(uri);
            var host = uri.Host.Trim('[', ']');
            try
            {
                var isIp = IPAddress.TryParse(host, out var ip);
                var address = isIp ? ip
                    : (await Dns.GetHostAddressesAsync(host).ConfigureAwait(false)).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
                if (address is not null)
                {
                    var endPoint = new IPEndPoint(address, uri.Port ?? (kind == SipTransportKind.Tls ? 5061 : 5060));
                    if (!isIp && _transports.GetValueOrDefault(SipTransportKind.Tls) is SipTcpTransport tls)
                    {
                        tls.SetServerName(endPoint, host); // RFC 5922 §7: the certificate must name the URI's host
                    }
                    destination = new SipRemote(kind, endPoint);
                }
            }
            catch (SocketException e)
            {
                LogResolveFailed(_logger, host, e.SocketErrorCode);
            }
        }
        Locked(session.CallId, () =>
        {
            if (destination is { } d && _transports.ContainsKey(d.Transport) && (!session.IsSips || d.Transport == SipTransportKind.Tls))
            {
                session.StartUac(d);
            }
            else
            {
                session.FailBeforeSend(503);
            }
        });
    }

    /// <summary>RFC 3261 §18.1.1 / RFC 5630: sips: or transport=tls → TLS; transport=tcp → TCP; else UDP (TCP when
    /// the stack has no UDP).</summary>
    private SipTransportKind TransportFor(SipUri uri)
    {
        var transport = uri.Parameter("transport")?.Value;
        if (uri.Secure || string.Equals(transport, "tls", StringComparison.OrdinalIgnoreCase))
        {
            return SipTransportKind.Tls;
        }
        return string.Equals(transport, "tcp", StringComparison.OrdinalIgnoreCase) || !_transports.ContainsKey(SipTransportKind.Udp)
            ? SipTransportKind.Tcp : SipTransportKind.Udp;
    }

    // ------------------------------------------------------------------------------------------ receiving

    void ISipTransportHandler.OnMessage(SipRemote remote, SipParseResult result) =>
        Locked(ShardFor(result.Message?.CallId), () => Dispatch(remote, result));

    void ISipTransportHandler.OnSendFailed(SipRemote remote) =>
        // Not inline: a synchronous send failure must not re-enter the transaction that is sending.
        ThreadPool.QueueUserWorkItem(_ =>
        {
            foreach (var group in Transactions.ClientsSendingTo(remote).GroupBy(tx => ShardFor(tx.Request.CallId)))
            {
                Locked(group.Key, () =>
                {
                    foreach (var tx in group)
                    {
                        tx.OnTransportError();
                    }
                });
            }
        });

    private void Dispatch(SipRemote remote, SipParseResult result)
    {
        if (_disposed || result.Error == SipParseError.KeepAlive)
        {
            return;
        }
        if (!result.Success)
        {
            OnMalformed(remote, result);
            return;
        }
        var message = result.Message!;
        if (_logger.IsEnabled(LogLevel.Debug)) LogReceived(_logger, remote, SipLogText.Of(SipWriter.Write(message)));
        if (message.IsRequest)
        {
            OnRequestReceived(remote, message);
        }
        else
        {
            OnResponseReceived(message);
        }
    }

    /// <summary>
    /// A message the parser refused. A request that still has Via, From, To, Call-ID and CSeq is answered 400 with the
    /// reason in a Warning (or 505 for another SIP version, §21.5.6); anything else is dropped and counted.
    /// </summary>
    private void OnMalformed(SipRemote remote, SipParseResult result)
    {
        var m = result.Message;
        if (m is null || !m.IsRequest || m.RequestLine!.Method == "ACK" || m.GetFirst(SipHeaderNames.Via) is null
            || m.GetFirst(SipHeaderNames.From) is null || m.GetFirst(SipHeaderNames.To) is null
            || m.GetFirst(SipHeaderNames.CallId) is null || m.GetFirst(SipHeaderNames.CSeq) is null)
        {
            Interlocked.Increment(ref _dropped);
            LogDropped(_logger, remote, result.Error, result.Detail ?? "");
            return;
        }
        var request = m.TopVia is not null ? WithReceived(m, remote) : m;
        var target = m.TopVia is not null ? ResponseTarget(request, remote) : remote;
        var response = result.Error == SipParseError.UnsupportedVersion
            ? SipResponse.Create(request, 505, toTag: SipIds.NewTag(), headers: [ServerHeader()])
            : SipResponse.Create(request, 400, "Bad Request", SipIds.NewTag(), [new SipHeader("Warning", Warning(result.Detail)), ServerHeader()]);
        LogBadRequest(_logger, remote, result.Error, result.Detail ?? "");
        SendDirect(target, response);
    }

    private string Warning(string? detail)
    {
        var text = new StringBuilder();
        foreach (var c in detail ?? "malformed request")
        {
            text.Append(c is '"' or '\\' || char.IsControl(c) ? '\'' : c);
        }
        return $"399 {ContactHost} \"{text}\"";
    }

    private void OnRequestReceived(SipRemote remote, SipMessage received)
    {
        var request = WithReceived(received, remote);
        var method = request.RequestLine!.Method;
        if (method == "ACK")
        {
            // ACK to a non-2xx matches the INVITE server transaction (§17.2.3); ACK to a 2xx goes to the dialog (§13.3.1.4).
            if (Transactions.FindServer(request, "ACK") is { IsAccepted: false } inviteTx)
            {
                inviteTx.OnAck();
            }
            else if (FindDialog(request) is { } session)
            {
                session.OnAck(request);
            }
            return;
        }
        if (Transactions.FindServer(request, method) is { } existing)
        {
            existing.OnRetransmission();
            return;
        }
        var responseRemote = ResponseTarget(request, remote);
        var opensNewWork = SipTransactionLayer.OpensNewWork(request);
        if (method == "INVITE" && opensNewWork)
        {
            // Overload control before any state is made: a refused INVITE costs one stateless response (its
            // retransmissions each get another; its ACK matches nothing and is dropped).
            var load = new SipLoad(Transactions.Count, SessionCount,
                _transports.TryGetValue(remote.Transport, out var transport) ? transport.ReceiveDelay : TimeSpan.Zero);
            if (Overload.Decide(load, Random.Shared.NextDouble()) is var reason and not SipOverloadReason.None)
            {
                Overload.OnShed(reason, load);
                SendDirect(responseRemote, SipResponse.Create(request, 503, toTag: SipIds.NewTag(),
                    headers: [new SipHeader("Retry-After", Overload.RetryAfterValue), ServerHeader()]));
                return;
            }
        }
        if (opensNewWork && Transactions.IsFull)
        {
            SendDirect(responseRemote, SipResponse.Create(request, 503, toTag: SipIds.NewTag(), headers: [new SipHeader("Retry-After", Overload.RetryAfterValue), ServerHeader()]));
            return;
        }
        var tx = Transactions.CreateServer(request, responseRemote);
        if (tx is null)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        var tag = SipIds.NewTag();
        void Reply(int code, params SipHeader[] headers) =>
            tx.Respond(SipResponse.Create(request, code, toTag: tag, headers: [.. headers, ServerHeader()]));

        // §8.2 checks, in the RFC's order where it gives one.
        if (request.MaxForwards == 0 && method != "OPTIONS")
        {
            Reply(483);
            return;
        }
        if (!KnownMethods.Contains(method))
        {
            Reply(501, new SipHeader("Allow", AllowedMethods));
            return;
        }
        var uri = request.RequestLine.RequestUri;
        if (!uri.StartsWith("sip:", StringComparison.OrdinalIgnoreCase) && !uri.StartsWith("sips:", StringComparison.OrdinalIgnoreCase))
        {
            Reply(416);
            return;
        }
        if (remote.Transport != SipTransportKind.Tls && uri.StartsWith("sips:", StringComparison.OrdinalIgnoreCase) && method != "ACK")
        {
            // RFC 5630 §4.1: a sips: Request-URI promises TLS on every hop; one that arrived in clear text is refused.
            Reply(416, new SipHeader("Warning", $"399 {ContactHost} \"a sips: Request-URI must arrive over TLS\""));
            return;
        }
        if (method != "CANCEL")
        {
            var required = request.GetValues("Require").Where(v => v.Length > 0).ToList();
            if (required.Count > 0)
            {
                Reply(420, [.. required.Select(r => new SipHeader("Unsupported", r))]);
                return;
            }
        }
        if (method == "CANCEL")
        {
            OnCancel(tx, request);
            return;
        }
        if (method == "INVITE" && !request.Body.IsEmpty && request.ContentType?.MediaType != "application/sdp")
        {
            Reply(415, new SipHeader("Accept", "application/sdp"));
            return;
        }
        if (request.To?.Tag is not null)
        {
            if (FindDialog(request) is { } session)
            {
                session.OnRequest(tx);
            }
            else
            {
                Reply(481); // §12.2.2
            }
            return;
        }
        switch (method)
        {
            case "OPTIONS":
                tx.Respond(OptionsResponse(request, tag));
                return;
            case "BYE" or "INFO" or "PRACK" or "UPDATE":
                Reply(481); // only meaningful inside a dialog
                return;
        }
        if (OnRequest is not { } handler)
        {
            if (method == "INVITE")
            {
                Reply(480);
            }
            else
            {
                Reply(405, new SipHeader("Allow", AllowedMethods));
            }
            return;
        }
        var incoming = new SipIncomingRequest(this, tx, remote);
        tx.Incoming = incoming;
        if (method == "INVITE")
        {
            tx.SetGuard(Options.InviteServerTimeout);
            tx.Abandoned = _ => incoming.Session?.OnAbandoned();
        }
        Raise(() => _ = CallHandlerAsync(handler, incoming));
    }

    private async Task CallHandlerAsync(Func<SipIncomingRequest, ValueTask> handler, SipIncomingRequest incoming)
    {
        try
        {
            await handler(incoming).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogHandlerFailed(_logger, e);
            incoming.Respond(500);
        }
    }

    /// <summary>CANCEL (§9.2): 200 to the CANCEL and 487 to the INVITE it matches; 481 when none does.</summary>
    private void OnCancel(SipServerTransaction tx, SipMessage cancel)
    {
        var invite = Transactions.FindServer(cancel, "INVITE");
        if (invite is null)
        {
            tx.Respond(SipResponse.Create(cancel, 481, toTag: SipIds.NewTag(), headers: [ServerHeader()]));
            return;
        }
        var session = invite.Incoming?.Session is { IsUas: true } s && ReferenceEquals(s.Incoming!.Transaction, invite)
            && _sessions.TryGetValue(s.Key, out var live) && ReferenceEquals(live, s) ? s : null;
        tx.Respond(SipResponse.Create(cancel, 200, toTag: session?.LocalTag ?? SipIds.NewTag(), headers: [ServerHeader()]));
        if (session is not null)
        {
            session.OnCancelled();
        }
        else if (invite.CanRespond)
        {
            invite.Respond(SipResponse.Create(invite.Request, 487, toTag: SipIds.NewTag(), headers: [ServerHeader()]));
        }
    }

    private void OnResponseReceived(SipMessage response)
    {
        if (Transactions.OnResponse(response))
        {
            return;
        }
        // A 2xx to INVITE outlives its client transaction (§13.2.2.4): the UA core re-ACKs it.
        if (response.StatusLine!.StatusCode is >= 200 and < 300 && response.CSeq?.Method == "INVITE"
            && response.From?.Tag is { } fromTag && response.CallId is { } callId
            && _sessions.TryGetValue(SessionKey(callId, fromTag), out var session) && !session.IsUas)
        {
            session.OnStray2xx(response);
            return;
        }
        Interlocked.Increment(ref _dropped);
    }

    /// <summary>The live dialog a Replaces header names (RFC 3891 §3): its Call-ID, our tag and the peer's, or null. A
    /// Replaces sent on by a transferor names the tags as the dialog's other party sees them, so both orders are tried.</summary>
    public InviteSession? FindDialog(SipReplaces replaces)
    {
        foreach (var (local, remote) in (ReadOnlySpan<(string, string)>)[(replaces.ToTag, replaces.FromTag), (replaces.FromTag, replaces.ToTag)])
        {
            if (_sessions.TryGetValue(SessionKey(replaces.CallId, local), out var s) && s.RemoteTag == remote && s.State == InviteState.Established)
            {
                return s;
            }
        }
        return null;
    }

    /// <summary>The dialog of an in-dialog request: Call-ID, our tag in To, the peer's in From (§12.2.2).</summary>
    private InviteSession? FindDialog(SipMessage request)
    {
        if (request.CallId is not { } callId || request.To?.Tag is not { } localTag)
        {
            return null;
        }
        return _sessions.TryGetValue(SessionKey(callId, localTag), out var s) && (s.RemoteTag is null || s.RemoteTag == request.From?.Tag) ? s : null;
    }

    /// <summary>
    /// §18.2.1 and RFC 3581 §4: received= when the source address differs from sent-by, and both received= and
    /// rport= when the client asked for rport.
    /// </summary>
    private static SipMessage WithReceived(SipMessage request, SipRemote remote)
    {
        if (request.TopVia is not { } via)
        {
            return request;
        }
        var source = remote.EndPoint.Address.ToString();
        var needsReceived = !string.Equals(via.Host.Trim('[', ']'), source, StringComparison.OrdinalIgnoreCase);
        if (!needsReceived && !via.HasRport)
        {
            return request;
        }
        var parameters = via.Parameters
            .Where(p => !p.Name.Equals("received", StringComparison.OrdinalIgnoreCase) && !p.Name.Equals("rport", StringComparison.OrdinalIgnoreCase))
            .ToList();
        parameters.Add(new SipParameter("received", source));
        if (via.HasRport)
        {
            parameters.Add(new SipParameter("rport", remote.EndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return request.WithTopVia(FormatVia(via with { Parameters = parameters }));
    }

    /// <summary>
    /// Where responses to a request go (§18.2.2): the connection it came on for TCP; for UDP the source address, at
    /// the source port when rport was asked for (RFC 3581 §4), else at the sent-by port (default 5060).
    /// </summary>
    private static SipRemote ResponseTarget(SipMessage request, SipRemote remote)
    {
        if (remote.IsReliable || request.TopVia is not { } via)
        {
            return remote;
        }
        var port = via.HasRport ? remote.EndPoint.Port : via.Port ?? 5060;
        return new SipRemote(SipTransportKind.Udp, new IPEndPoint(remote.EndPoint.Address, port));
    }

    private static string FormatVia(SipVia via)
    {
        var sb = new StringBuilder();
        sb.Append(via.Protocol).Append('/').Append(via.Version).Append('/').Append(via.Transport).Append(' ').Append(via.Host);
        if (via.Port is { } port)
        {
            sb.Append(':').Append(port);
        }
        foreach (var p in via.Parameters)
        {
            sb.Append(';').Append(p.Name);
            if (p.Value is not null)
            {
                sb.Append('=');
                if (p.Quoted)
                {
                    sb.Append('"').Append(p.Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
                }
                else
                {
                    sb.Append(p.Value);
                }
            }
        }
        return sb.ToString();
    }

    // ------------------------------------------------------------------------------------------ helpers for sessions

    internal SipMessage OptionsResponse(SipMessage request, string tag) =>
        SipResponse.Create(request, 200, toTag: tag, headers:
        [
            new SipHeader("Allow", AllowedMethods),
            new SipHeader("Accept", "application/sdp, application/dtmf-relay"),
            new SipHeader("Accept-Language", "en"),
            new SipHeader("Supported", ""),
            ServerHeader(),
        ]);

    internal InviteSession CreateUasSession(SipIncomingRequest incoming)
    {
        var session = new InviteSession(this, incoming);
        if (Volatile.Read(ref _sessionCount) >= Options.MaxSessions)
        {
            session.Reject(503);
            return session;
        }
        if (!incoming.Transaction.CanRespond)
        {
            session.Close(); // cancelled or answered before the application took it
            return session;
        }
        TryAddSession(session);
        return session;
    }

    /// <summary>Adds a session unless the stack holds <see cref="SipStackOptions.MaxSessions"/> (a bound that concurrent
    /// calls may pass by at most one per shard).</summary>
    private bool TryAddSession(InviteSession session)
    {
        if (Volatile.Read(ref _sessionCount) >= Options.MaxSessions || !_sessions.TryAdd(session.Key, session))
        {
            return false;
        }
        Interlocked.Increment(ref _sessionCount);
        return true;
    }

    internal void RemoveSession(InviteSession session)
    {
        if (_sessions.TryRemove(new KeyValuePair<string, InviteSession>(session.Key, session)))
        {
            Interlocked.Decrement(ref _sessionCount);
        }
    }

    internal static string SessionKey(string callId, string localTag) => string.Concat(callId, "|", localTag);

    /// <summary>Our Via for a new request: a fresh branch and rport (RFC 3581 §3).</summary>
    internal string NewVia(SipTransportKind kind) =>
        $"SIP/2.0/{SipTransports.Name(kind)} {ContactHost}:{PortFor(kind)};branch={SipIds.NewBranch()};rport";

    /// <summary>Our Contact for a dialog on <paramref name="kind"/>: a sips: URI when the dialog's Request-URI is sips:
    /// (RFC 3261 §12.1.1, RFC 5630 §4.1), else sip: with the transport parameter for TCP and TLS.</summary>
    internal string ContactFor(string user, SipTransportKind kind, bool sips = false)
    {
        var userPart = user.Length > 0 && user.All(c => SipSyntax.IsTokenChar(c)) ? user + "@" : "";
        if (sips)
        {
            return $"<sips:{userPart}{ContactHost}:{PortFor(SipTransportKind.Tls)}>";
        }
        var transport = kind switch
        {
            SipTransportKind.Tcp => ";transport=tcp",
            SipTransportKind.Tls => ";transport=tls",
            _ => "",
        };
        return $"<sip:{userPart}{ContactHost}:{PortFor(kind)}{transport}>";
    }

    private int PortFor(SipTransportKind kind) =>
        (_transports.GetValueOrDefault(kind) ?? _transports.Values.FirstOrDefault())?.LocalEndPoint.Port ?? Options.Listen.Port;

    private SipHeader ServerHeader() => new("Server", Options.UserAgent);

    /// <summary>Serialises and sends without a transaction (responses, ACK for 2xx).</summary>
    internal void SendDirect(SipRemote remote, SipMessage message)
    {
        if (_disposed)
        {
            return;
        }
        if (!_transports.TryGetValue(remote.Transport, out var transport))
        {
            ((ISipTransportHandler)this).OnSendFailed(remote);
            return;
        }
        var bytes = SipWriter.Write(message);
        if (_logger.IsEnabled(LogLevel.Debug)) LogSent(_logger, remote, SipLogText.Of(bytes));
        transport.Send(remote.EndPoint, bytes);
    }

    /// <summary>A one-shot timer whose callback runs under the lock of the call that started it (timers are started
    /// under a call's lock; outside any, under the first shard's).</summary>
    internal ITimer StartTimer(TimeSpan due, Action callback)
    {
        var shard = t_current is { } current && ReferenceEquals(current.Owner, this) ? current : _shards[0];
        return _time.CreateTimer(static s => ((Action)s!)(), (Action)(() => Locked(shard, callback)), due, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Queues an event handler call to run once the current call's lock is released (at once when no lock is
    /// held).</summary>
    internal void Raise(Action action)
    {
        if (t_current is { } shard && ReferenceEquals(shard.Owner, this))
        {
            shard.Pending.Add(action);
        }
        else
        {
            action();
        }
    }

    /// <summary>The lock of the call <paramref name="callId"/> belongs to (the first one for a message without a Call-ID).</summary>
    private Shard ShardFor(string? callId) =>
        callId is null ? _shards[0] : _shards[(uint)StringComparer.Ordinal.GetHashCode(callId) & (ShardCount - 1)];

    internal void Locked(string? callId, Action body) => Locked(ShardFor(callId), body);

    internal T Locked<T>(string? callId, Func<T> body) => Locked(ShardFor(callId), body);

    private void Locked(Shard shard, Action body) => Locked(shard, () =>
    {
        body();
        return true;
    });

    /// <summary>Runs <paramref name="body"/> under <paramref name="shard"/>'s lock, then the events it raised, each guarded.</summary>
    private T Locked<T>(Shard shard, Func<T> body)
    {
        T result = default!;
        List<Action>? toRun = null;
        var outer = t_current;
        lock (shard.Gate)
        {
            shard.Depth++;
            t_current = shard;
            try
            {
                result = body();
            }
            catch (Exception e)
            {
                LogInternalError(_logger, e);
            }
            finally
            {
                t_current = outer;
                shard.Depth--;
                if (shard.Depth == 0 && shard.Pending.Count > 0)
                {
                    toRun = [.. shard.Pending];
                    shard.Pending.Clear();
                }
            }
        }
        if (toRun is not null)
        {
            foreach (var action in toRun)
            {
                try
                {
                    action();
                }
                catch (Exception e)
                {
                    LogHandlerFailed(_logger, e);
                }
            }
        }
        return result;
    }

    /// <summary>Logs an event handler's exception (the stack swallows it).</summary>
    internal void HandlerFailed(Exception e) => LogHandlerFailed(_logger, e);

    /// <summary>The lock of a group of calls and the events raised under it, run once it is released.</summary>
    private sealed class Shard(SipStack owner)
    {
        public readonly Lock Gate = new();
        public readonly List<Action> Pending = [];
        public readonly SipStack Owner = owner;
        public int Depth;
    }

    /// <summary>Stops the transports and every timer.</summary>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        foreach (var group in _sessions.Values.GroupBy(s => ShardFor(s.CallId)).ToList())
        {
            Locked(group.Key, () =>
            {
                foreach (var s in group)
                {
                    s.Close();
                }
            });
        }
        foreach (var t in _transports.Values)
        {
            await t.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 5006, Level = LogLevel.Debug, Message = "SIP received from {Remote}:\n{Message}")]
    private static partial void LogReceived(ILogger logger, SipRemote remote, string message);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Debug, Message = "SIP sent to {Remote}:\n{Message}")]
    private static partial void LogSent(ILogger logger, SipRemote remote, string message);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Debug, Message = "Dropped a message from {Remote}: {Error} {Detail}")]
    private static partial void LogDropped(ILogger logger, SipRemote remote, SipParseError error, string detail);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Debug, Message = "Answered a malformed request from {Remote}: {Error} {Detail}")]
    private static partial void LogBadRequest(ILogger logger, SipRemote remote, SipParseError error, string detail);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "A SIP event handler threw")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Error, Message = "Internal error in the SIP stack")]
    private static partial void LogInternalError(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Could not resolve {Host}: {Error}")]
    private static partial void LogResolveFailed(ILogger logger, string host, SocketError error);
}
