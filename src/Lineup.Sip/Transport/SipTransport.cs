using System.Net;

namespace Lineup.Sip.Transport;

/// <summary>Transport protocols of RFC 3261 §18 that the stack speaks.</summary>
public enum SipTransportKind
{
    /// <summary>Unreliable datagrams (§18.1.1, §18.2.1); the transaction layer retransmits.</summary>
    Udp,
    /// <summary>Reliable stream with Content-Length framing (§18.3).</summary>
    Tcp,
    /// <summary>TCP under TLS 1.2+ (§26.2, RFC 5630): framed like TCP.</summary>
    Tls,
}

/// <summary>Transport-independent address of a peer: the transport and the IP endpoint on it.</summary>
public readonly record struct SipRemote(SipTransportKind Transport, IPEndPoint EndPoint)
{
    /// <summary>"UDP 192.0.2.1:5060".</summary>
    public override string ToString() => $"{SipTransports.Name(Transport)} {EndPoint}";

    /// <summary>True on TCP and TLS (§18: no retransmissions; responses go back on the connection).</summary>
    public bool IsReliable => Transport != SipTransportKind.Udp;
}

/// <summary>Names of <see cref="SipTransportKind"/> as Via and the transport URI parameter write them.</summary>
public static class SipTransports
{
    /// <summary>"UDP", "TCP" or "TLS" (the Via sent-protocol's transport, §20.42).</summary>
    public static string Name(SipTransportKind kind) => kind switch
    {
        SipTransportKind.Tcp => "TCP",
        SipTransportKind.Tls => "TLS",
        _ => "UDP",
    };
}

/// <summary>What a transport reports to the layer above; called on the transport's receive loop, must not throw.</summary>
public interface ISipTransportHandler
{
    /// <summary>A datagram or framed stream message arrived from <paramref name="remote"/>, already parsed.</summary>
    void OnMessage(SipRemote remote, SipParseResult result);

    /// <summary>Bytes to <paramref name="remote"/> could not be sent (connection refused, reset, no route); §18.4.</summary>
    void OnSendFailed(SipRemote remote);
}

/// <summary>
/// One transport (RFC 3261 §18): receives, frames and parses messages; sends bytes to a peer. Sending never
/// blocks the caller and never throws for network errors: failures come back through
/// <see cref="ISipTransportHandler.OnSendFailed"/>.
/// </summary>
public interface ISipTransport : IAsyncDisposable
{
    /// <summary>UDP or TCP.</summary>
    SipTransportKind Kind { get; }

    /// <summary>True for stream transports: no retransmissions, timers D, I, J and K are zero (§17).</summary>
    bool IsReliable { get; }

    /// <summary>Where the transport listens; valid after <see cref="StartAsync"/>.</summary>
    IPEndPoint LocalEndPoint { get; }

    /// <summary>Binds and starts receiving; messages go to <paramref name="handler"/>.</summary>
    Task StartAsync(ISipTransportHandler handler, CancellationToken cancellationToken);

    /// <summary>Queues <paramref name="data"/> (one whole message) for <paramref name="remote"/>.</summary>
    void Send(IPEndPoint remote, ReadOnlyMemory<byte> data);

    /// <summary>How long new INVITEs wait in the receive queue before the transport reads them, smoothed over the last
    /// several (the overload signal of <see cref="Stack.SipOverloadOptions.MaxReceiveDelay"/>); zero where it is not
    /// measured.</summary>
    TimeSpan ReceiveDelay => TimeSpan.Zero;
}
