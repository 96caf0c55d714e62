using System.Net;
using Lineup.Sip.Transactions;
using Lineup.Sip.Transport;

namespace Lineup.Sip.Stack;

/// <summary>Configuration of a <see cref="SipStack"/>.</summary>
public sealed record SipStackOptions
{
    /// <summary>Address and port to listen on (UDP and TCP share the port); port 0 picks one (tests).</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 5060);

    /// <summary>Listen on UDP.</summary>
    public bool Udp { get; init; } = true;

    /// <summary>UDP datagrams read and handled at once (one receive loop each): calls are locked separately, so
    /// several loops let different calls' messages be parsed and handled on several cores. Default: one per core, at
    /// most 4.</summary>
    public int UdpReceiveLoops { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>Listen on TCP.</summary>
    public bool Tcp { get; init; } = true;

    /// <summary>Host written in Via and Contact when it differs from <see cref="Listen"/> (NAT, 0.0.0.0 binds).</summary>
    public string? PublicHost { get; init; }

    /// <summary>RFC 3261 T1, T2, T4.</summary>
    public SipTimerOptions Timers { get; init; } = SipTimerOptions.Default;

    /// <summary>Parser bounds (message size, header count); also the TCP per-connection buffer limit.</summary>
    public SipParserLimits Limits { get; init; } = SipParserLimits.Default;

    /// <summary>TCP connection limits and idle timeout.</summary>
    public SipTcpOptions TcpOptions { get; init; } = new();

    /// <summary>User-Agent and Server header value.</summary>
    public string UserAgent { get; init; } = "Lineup";

    /// <summary>Requests without an explicit destination go here instead of the Request-URI's host.</summary>
    public SipRemote? OutboundProxy { get; init; }

    /// <summary>The name a TLS outbound proxy's certificate must carry (its host name); else its IP address.</summary>
    public string? OutboundProxyServerName { get; init; }

    /// <summary>SIP over TLS (RFC 3261 §26.2): null for none. With a server certificate the stack listens on
    /// <see cref="TlsListen"/>; without one it only connects out (transport=tls and sips: targets, a TLS proxy).</summary>
    public SipTlsOptions? Tls { get; init; }

    /// <summary>Where the TLS listener binds (5061 by default; port 0 picks one).</summary>
    public IPEndPoint TlsListen { get; init; } = new(IPAddress.Loopback, 5061);

    /// <summary>Most live transactions; beyond it new requests outside a dialog get 503 and new client INVITEs fail with
    /// 503 (requests inside a dialog and CANCEL still pass: they finish admitted calls).
    /// Over UDP every call leaves two server transactions behind for 64*T1 (32 s) after it ends (its INVITE's in RFC
    /// 6026 Accepted, its BYE's in Completed for timer J), so this bounds the sustained call rate at about
    /// MaxTransactions / 64 per second: 100,000 allows about 1,500 calls per second (20,000 stopped at 300).</summary>
    public int MaxTransactions { get; init; } = 100_000;

    /// <summary>Most live INVITE sessions (dialogs); beyond it new INVITEs get 503. A bridged call is two sessions
    /// (the caller's and the agent's), and at a thousand setups a second with one-second calls some 3,000-6,000 are
    /// alive at once; 5,000 refused calls there (issue 17). The media port range bounds calls as well.</summary>
    public int MaxSessions { get; init; } = 20_000;

    /// <summary>When new INVITEs are refused with 503 and Retry-After before those bounds are reached (overload
    /// control); in-dialog requests and CANCEL are never refused for load, and pass <see cref="MaxTransactions"/>.</summary>
    public SipOverloadOptions Overload { get; init; } = new();

    /// <summary>An incoming INVITE not answered by the application within this time gets 408.</summary>
    public TimeSpan InviteServerTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>An outbound INVITE without a final response after this long is cancelled (§9.1), like an
    /// INVITE's Expires: the transaction has no timer once a provisional arrived (§17.1.1.2).</summary>
    public TimeSpan InviteClientTimeout { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>How an established or early <see cref="InviteSession"/> ended.</summary>
public enum SipEndReason
{
    /// <summary>The peer sent BYE.</summary>
    RemoteBye,
    /// <summary>We sent BYE (<see cref="InviteSession.Hangup"/>).</summary>
    LocalBye,
    /// <summary>The peer cancelled its INVITE; 487 was sent (RFC 3261 §9.2).</summary>
    RemoteCancel,
    /// <summary>We cancelled, and the peer's 2xx crossed the CANCEL: ACK and BYE were sent.</summary>
    LocalCancel,
    /// <summary>No ACK for our 2xx within 64*T1; BYE was sent (§13.3.1.4).</summary>
    AckTimeout,
    /// <summary>The application did not answer an incoming INVITE in time; 408 was sent.</summary>
    RequestTimeout,
}

/// <summary>Where an <see cref="InviteSession"/> is.</summary>
public enum InviteState
{
    /// <summary>INVITE sent or received, no provisional above 100 yet.</summary>
    Proceeding,
    /// <summary>180/183 sent or received.</summary>
    Ringing,
    /// <summary>2xx sent or received: the dialog is confirmed.</summary>
    Established,
    /// <summary>Ended, failed, rejected or cancelled.</summary>
    Terminated,
}

/// <summary>A new outbound call (UAC).</summary>
/// <param name="TargetUri">Request-URI and To, e.g. "sip:1001@192.0.2.5".</param>
/// <param name="FromUser">User part of From and Contact.</param>
/// <param name="FromDisplay">Display name in From, or null.</param>
/// <param name="Sdp">The SDP offer.</param>
/// <param name="Destination">Where to send (a registered contact's address); else the outbound proxy, else the URI's host.</param>
/// <param name="Headers">Extra headers for the INVITE.</param>
public sealed record InviteRequest(string TargetUri, string FromUser, string? FromDisplay, ReadOnlyMemory<byte> Sdp,
    SipRemote? Destination = null, IReadOnlyList<SipHeader>? Headers = null);
