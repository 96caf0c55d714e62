using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lineup.Sip.Transport;

/// <summary>
/// SIP over UDP (RFC 3261 §18.1.1, §18.2.1): one socket, one or more async receive loops on it (no polling; each
/// parses and hands on the datagram it read, so several loops use several cores), one message per datagram. Anything a peer sends is parsed into a value; nothing it sends ends the loop.
/// </summary>
public sealed partial class SipUdpTransport : ISipTransport
{
    private readonly IPEndPoint _bind;
    private readonly SipParserLimits _limits;
    private readonly ILogger _logger;
    private readonly int _loops;
    /// <summary>The socket's receive buffer asked for. At a thousand calls a second every phone and trunk sends to this
    /// one socket, several thousand datagrams a second; Linux's default buffer (208 KB, about a hundred small
    /// datagrams once the kernel's accounting is counted) overflows in a pause of a few tens of milliseconds and
    /// the kernel drops what arrives: a call whose INVITE and retransmissions keep arriving in such moments fails
    /// after 32 s. The kernel caps the size at net.core.rmem_max.</summary>
    internal const int ReceiveBufferBytes = 8 * 1024 * 1024;
    private readonly CancellationTokenSource _stop = new();
    private Socket? _socket;
    private ISipTransportHandler? _handler;
    private Task _loop = Task.CompletedTask;
    private long _inviteDelayTicks;
    private long _lastInviteDelayTicks;

    /// <summary>A transport that will bind <paramref name="bind"/> (port 0 picks a free port) and read with
    /// <paramref name="receiveLoops"/> receive loops (datagrams of one call may then be handled out of order, which
    /// UDP allows anyway).</summary>
    public SipUdpTransport(IPEndPoint bind, SipParserLimits? limits = null, ILogger? logger = null, int receiveLoops = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(receiveLoops, 1);
        _bind = bind;
        _limits = limits ?? SipParserLimits.Default;
        _logger = logger ?? NullLogger.Instance;
        _loops = receiveLoops;
    }

    /// <inheritdoc/>
    public SipTransportKind Kind => SipTransportKind.Udp;

    /// <inheritdoc/>
    public bool IsReliable => false;

    /// <inheritdoc/>
    public IPEndPoint LocalEndPoint => (IPEndPoint?)_socket?.LocalEndPoint ?? _bind;

    /// <summary>How long new INVITEs (no To tag) wait in the socket's receive queue, smoothed: each INVITE's wait (the
    /// kernel's receive timestamp against the wall clock when it was read, <see cref="ReceiveTimestamps"/>; zero off
    /// Linux) moves it an eighth of the way, as TCP smooths its round-trip time. A backlog that lasts shows within a
    /// few INVITEs at a high call rate; one INVITE read late at a low rate (a pause of the process, a busy machine)
    /// barely moves it.</summary>
    public TimeSpan ReceiveDelay => TimeSpan.FromTicks(Volatile.Read(ref _inviteDelayTicks));

    /// <summary>The wait of the latest new INVITE alone (by any receive loop), before smoothing.</summary>
    public TimeSpan LastInviteDelay => TimeSpan.FromTicks(Volatile.Read(ref _lastInviteDelayTicks));

    /// <inheritdoc/>
    public Task StartAsync(ISipTransportHandler handler, CancellationToken cancellationToken)
    {
        _handler = handler;
        _socket = new Socket(_bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.ReceiveBufferSize = ReceiveBufferBytes;
        }
        catch (SocketException)
        {
            // Refused (some platforms cap it with an error): the default buffer still works, with less headroom.
        }
        try
        {
            _socket.Bind(_bind);
        }
        catch (SocketException e)
        {
            throw new IOException($"SIP over UDP cannot listen on {_bind}: {e.Message}", e);
        }
        ReceiveTimestamps.Enable(_socket);
        var loops = new Task[_loops];
        for (var i = 0; i < loops.Length; i++)
        {
            loops[i] = ReceiveLoopAsync(_socket, _stop.Token);
        }
        _loop = Task.WhenAll(loops);
        return Task.CompletedTask;
    }

    private async Task ReceiveLoopAsync(Socket socket, CancellationToken ct)
    {
        await Task.Yield(); // each loop on its own thread-pool turn, not inline in StartAsync
        var buffer = new byte[_limits.MaxMessageSize + 1];
        EndPoint any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!ct.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // ICMP errors for earlier sends surface here on some platforms; the socket stays usable.
                LogReceiveError(_logger, e.SocketErrorCode);
                continue;
            }
            var remote = new SipRemote(SipTransportKind.Udp, (IPEndPoint)received.RemoteEndPoint);
            var result = received.ReceivedBytes > _limits.MaxMessageSize
                ? SipParseResult.Fail(SipParseError.TooLarge, $"datagram larger than {_limits.MaxMessageSize} bytes")
                : SipParser.Parse(buffer.AsSpan(0, received.ReceivedBytes), SipFraming.Datagram, _limits);
            if (result.Message is { RequestLine.Method: "INVITE" } invite && invite.To?.Tag is null
                && ReceiveTimestamps.TryLast(socket, out var receivedAt))
            {
                // The kernel stamps with the wall clock, so the delay is taken against the system's, not a TimeProvider.
                var waited = Math.Max(0, (TimeProvider.System.GetUtcNow() - receivedAt).Ticks);
                Volatile.Write(ref _lastInviteDelayTicks, waited);
                // Several loops may race here; a lost update only skips one sample of a smoothed figure.
                var smoothed = Volatile.Read(ref _inviteDelayTicks);
                Volatile.Write(ref _inviteDelayTicks, smoothed + ((waited - smoothed) / 8));
            }
            try
            {
                _handler!.OnMessage(remote, result);
            }
            catch (Exception e)
            {
                LogHandlerFailed(_logger, e);
            }
        }
    }

    /// <inheritdoc/>
    public void Send(IPEndPoint remote, ReadOnlyMemory<byte> data)
    {
        var socket = _socket;
        if (socket is null)
        {
            return;
        }
        try
        {
            // A datagram send does not block on a non-full socket buffer; no queue needed.
            socket.SendTo(data.Span, SocketFlags.None, remote);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            LogSendFailed(_logger, remote, e.Message);
            _handler?.OnSendFailed(new SipRemote(SipTransportKind.Udp, remote));
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket?.Dispose();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Debug, Message = "UDP receive error {Error}")]
    private static partial void LogReceiveError(ILogger logger, SocketError error);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Debug, Message = "UDP send to {Remote} failed: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, IPEndPoint remote, string reason);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Error, Message = "SIP message handler failed")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception);
}
