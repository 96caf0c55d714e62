using System.Net;

namespace Lineup.Sip;

/// <summary>The transport a message came over or is to be sent over (RFC 3261 §18).</summary>
public enum SipTransportKind
{
    /// <summary>UDP datagrams (§18.1.1, §18.2.1).</summary>
    Udp,

    /// <summary>A TCP stream, messages framed by Content-Length (§18.3).</summary>
    Tcp,
}

/// <summary>Transport-independent address of a peer: the transport and the source (or destination) end point as
/// seen on the socket, which for a peer behind NAT is its public address rather than the one it writes in Via or
/// Contact (RFC 3581).</summary>
/// <param name="Transport">UDP or TCP.</param>
/// <param name="EndPoint">The peer's address and port.</param>
public readonly record struct SipRemote(SipTransportKind Transport, IPEndPoint EndPoint);
