using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lineup.Sip.Transport;

/// <summary>Limits of the TCP transport.</summary>
/// <param name="MaxConnections">Most open connections (inbound and outbound); further accepts are closed at once.</param>
/// <param name="IdleTimeout">A connection with no traffic for this long is closed.</param>
/// <param name="MaxQueuedSends">Messages waiting to be written on one connection before it is closed as stuck.</param>
public sealed record SipTcpOptions(int MaxConnections = 1024, TimeSpan? IdleTimeout = null, int MaxQueuedSends = 256)
{
    /// <summary>Idle timeout, 10 minutes unless set.</summary>
    public TimeSpan Idle => IdleTimeout ?? TimeSpan.FromMinutes(10);
}

/// <summary>
/// SIP over TCP, or over TLS when given <see cref="SipTlsOptions"/> (RFC 3261 §18, §26.2): a listener plus outbound
/// connections, one table keyed by the peer's endpoint so a response goes back on the connection its request came on
/// (§18.2.2) and a request to a peer reuses an open one (RFC 5923's aim, without its alias negotiation). Messages are
/// framed by Content-Length (<see cref="SipStreamFramer"/>); a connection whose buffered bytes exceed the parser's size
/// limit, or whose framing breaks, is closed. With TLS, nothing is read or written before the handshake completes; a
/// handshake that fails (plain text on the TLS port, a certificate that does not validate) or does not finish within
/// <see cref="SipTlsOptions.HandshakeTimeout"/> closes the connection.
/// </summary>
public sealed partial class SipTcpTransport : ISipTransport
{
    private readonly IPEndPoint _bind;
    private readonly SipParserLimits _limits;
    private readonly SipTcpOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SipTlsOptions? _tls;
    private readonly ConcurrentDictionary<IPEndPoint, Connection> _connections = new();
    private readonly ConcurrentDictionary<IPEndPoint, string> _serverNames = new();
    private long _handshakeFailures;
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private ISipTransportHandler? _handler;
    private Task _acceptLoop = Task.CompletedTask;
    private long _receivedBytes;

    /// <summary>A transport that will listen on <paramref name="bind"/> (port 0 picks a free port).</summary>
    public SipTcpTransport(IPEndPoint bind, TimeProvider time, SipParserLimits? limits = null, SipTcpOptions? options = null, ILogger? logger = null,
        SipTlsOptions? tls = null)
    {
        _tls = tls;
        _bind = bind;
        _time = time;
        _limits = limits ?? SipParserLimits.Default;
        _options = options ?? new SipTcpOptions();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc/>
    public SipTransportKind Kind => _tls is null ? SipTransportKind.Tcp : SipTransportKind.Tls;

    /// <inheritdoc/>
    public bool IsReliable => true;

    /// <inheritdoc/>
    public IPEndPoint LocalEndPoint => (IPEndPoint?)_listener?.LocalEndPoint ?? _bind;

    /// <summary>True once the listener is bound (a TLS transport without a certificate only connects out).</summary>
    public bool IsListening => _listener is not null;

    /// <summary>Open connections (for tests and metrics).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>TLS handshakes that failed or timed out (either direction).</summary>
    public long HandshakeFailures => Interlocked.Read(ref _handshakeFailures);

    /// <summary>The name an outbound TLS connection to <paramref name="remote"/> validates the server's certificate
    /// against (RFC 5922: the URI's host); without one, the IP address is checked against the certificate.</summary>
    public void SetServerName(IPEndPoint remote, string serverName)
    {
        if (_serverNames.Count >= 10_000)
        {
            _serverNames.Clear(); // bounded: names are set again when their targets are next resolved
        }
        _serverNames[remote] = serverName;
    }

    /// <summary>Bytes read from every connection so far, counted once the messages they completed were handed on (for
    /// tests and metrics).</summary>
    public long ReceivedBytes => Interlocked.Read(ref _receivedBytes);

    /// <inheritdoc/>
    public Task StartAsync(ISipTransportHandler handler, CancellationToken cancellationToken)
    {
        _handler = handler;
        if (_tls is { ServerCertificate: null })
        {
            return Task.CompletedTask; // TLS without a certificate: outbound connections only
        }
        _listener = new Socket(_bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            _listener.Bind(_bind);
        }
        catch (SocketException e)
        {
            _listener.Dispose();
            throw new IOException($"SIP over {(_tls is null ? "TCP" : "TLS")} cannot listen on {_bind}: {e.Message}", e);
        }
        _listener.Listen(128);
        _acceptLoop = AcceptLoopAsync(_listener, _stop.Token);
        return Task.CompletedTask;
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                LogAcceptError(_logger, e.SocketErrorCode);
                continue;
            }
            var remote = (IPEndPoint)socket.RemoteEndPoint!;
            if (_connections.Count >= _options.MaxConnections)
            {
                LogTooManyConnections(_logger, remote);
                socket.Dispose();
                continue;
            }
            var connection = new Connection(this, remote);
            if (!_connections.TryAdd(remote, connection))
            {
                socket.Dispose();
                continue;
            }
            connection.Run(socket, inbound: true);
        }
    }

    /// <inheritdoc/>
    public void Send(IPEndPoint remote, ReadOnlyMemory<byte> data)
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }
        if (!_connections.TryGetValue(remote, out var connection))
        {
            if (_connections.Count >= _options.MaxConnections)
            {
                LogTooManyConnections(_logger, remote);
                _handler?.OnSendFailed(new SipRemote(Kind, remote));
                return;
            }
            var created = new Connection(this, remote);
            connection = _connections.GetOrAdd(remote, created);
            if (ReferenceEquals(connection, created))
            {
                created.Connect();
            }
        }
        if (!connection.Enqueue(data))
        {
            connection.Close();
            _handler?.OnSendFailed(new SipRemote(Kind, remote));
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        foreach (var c in _connections.Values)
        {
            c.Close();
        }
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        _stop.Dispose();
    }

    private void Remove(Connection connection) =>
        _connections.TryRemove(new KeyValuePair<IPEndPoint, Connection>(connection.Remote, connection));

    /// <summary>One TCP connection: a read loop that frames messages, a write loop fed by a bounded queue, an idle timer.</summary>
    private sealed class Connection
    {
        private readonly SipTcpTransport _owner;
        private readonly Channel<ReadOnlyMemory<byte>> _outgoing;
        private readonly CancellationTokenSource _cts;
        private readonly ITimer _idle;
        private Socket? _socket;
        private Stream? _stream;
        private int _closed;

        public Connection(SipTcpTransport owner, IPEndPoint remote)
        {
            _owner = owner;
            Remote = remote;
            _outgoing = Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions(owner._options.MaxQueuedSends)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
            _cts = CancellationTokenSource.CreateLinkedTokenSource(owner._stop.Token);
            _idle = owner._time.CreateTimer(static s => ((Connection)s!).Close(), this, owner._options.Idle, Timeout.InfiniteTimeSpan);
        }

        public IPEndPoint Remote { get; }

        public bool Enqueue(ReadOnlyMemory<byte> data) => _outgoing.Writer.TryWrite(data);

        public void Connect() => _ = ConnectAsync();

        private async Task ConnectAsync()
        {
            var socket = new Socket(Remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(Remote, _cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                socket.Dispose();
                LogConnectFailed(_owner._logger, Remote, e.Message);
                Close();
                _owner._handler?.OnSendFailed(new SipRemote(_owner.Kind, Remote));
                return;
            }
            Run(socket, inbound: false);
        }

        public void Run(Socket socket, bool inbound)
        {
            socket.NoDelay = true;
            _socket = socket;
            if (Volatile.Read(ref _closed) != 0)
            {
                socket.Dispose();
                return;
            }
            Stream stream = new NetworkStream(socket, ownsSocket: false);
            if (_owner._tls is { } tls)
            {
                _ = HandshakeAsync(new SslStream(stream, leaveInnerStreamOpen: false), tls, inbound);
                return;
            }
            Start(stream);
        }

        private void Start(Stream stream)
        {
            _stream = stream;
            if (Volatile.Read(ref _closed) != 0)
            {
                stream.Dispose();
                return;
            }
            _ = ReadLoopAsync(stream);
            _ = WriteLoopAsync(stream);
        }

        /// <summary>TLS 1.2+ handshake, bounded in time; on failure the connection closes and an outbound one
        /// reports the send as failed (§18.4).</summary>
        private async Task HandshakeAsync(SslStream ssl, SipTlsOptions tls, bool inbound)
        {
            try
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
                deadline.CancelAfter(tls.HandshakeTimeout);
                if (inbound)
                {
                    var context = tls.ServerCertificate?.Invoke() ?? throw new AuthenticationException("no server certificate configured");
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = context,
                        EnabledSslProtocols = SipTlsOptions.Protocols,
                        ClientCertificateRequired = false,
                        CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
                    }, deadline.Token).ConfigureAwait(false);
                }
                else
                {
                    var name = _owner._serverNames.GetValueOrDefault(Remote) ?? Remote.Address.ToString();
                    await ssl.AuthenticateAsClientAsync(tls.ClientOptions(name), deadline.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or ObjectDisposedException
                or SocketException or InvalidOperationException)
            {
                Interlocked.Increment(ref _owner._handshakeFailures);
                LogHandshakeFailed(_owner._logger, Remote, inbound ? "in" : "out", e.Message);
                await ssl.DisposeAsync().ConfigureAwait(false);
                Close();
                if (!inbound)
                {
                    _owner._handler?.OnSendFailed(new SipRemote(SipTransportKind.Tls, Remote));
                }
                return;
            }
            Start(ssl);
        }

        private void Touch() => _idle.Change(_owner._options.Idle, Timeout.InfiniteTimeSpan);

        private async Task ReadLoopAsync(Stream stream)
        {
            var limits = _owner._limits;
            // The buffer never holds more than one message's limit plus one read: a peer cannot grow it further.
            var buffer = new byte[Math.Min(limits.MaxMessageSize, 16_384)];
            var filled = 0;
            var remote = new SipRemote(_owner.Kind, Remote);
            try
            {
                while (true)
                {
                    if (filled == buffer.Length)
                    {
                        if (buffer.Length >= limits.MaxMessageSize + 4)
                        {
                            LogFramingError(_owner._logger, Remote);
                            return;
                        }
                        Array.Resize(ref buffer, Math.Min(buffer.Length * 2, limits.MaxMessageSize + 4));
                    }
                    var n = await stream.ReadAsync(buffer.AsMemory(filled), _cts.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        return;
                    }
                    Touch();
                    filled += n;
                    var offset = 0;
                    while (true)
                    {
                        var status = SipStreamFramer.TryFrame(buffer.AsSpan(offset, filled - offset), out var skipped, out var length, limits);
                        if (status == SipFrameStatus.NeedMore)
                        {
                            // Keep-alive CRLFs alone are consumed too.
                            offset += skipped;
                            break;
                        }
                        if (status == SipFrameStatus.Error)
                        {
                            LogFramingError(_owner._logger, Remote);
                            return;
                        }
                        var result = SipParser.Parse(buffer.AsSpan(offset + skipped, length), SipFraming.Stream, limits);
                        offset += skipped + length;
                        try
                        {
                            _owner._handler!.OnMessage(remote, result);
                        }
                        catch (Exception e)
                        {
                            LogHandlerFailed(_owner._logger, e);
                        }
                    }
                    // Counted once every message these bytes completed has been handed on.
                    Interlocked.Add(ref _owner._receivedBytes, n);
                    if (offset > 0)
                    {
                        buffer.AsSpan(offset, filled - offset).CopyTo(buffer);
                        filled -= offset;
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
            finally
            {
                Close();
            }
        }

        private async Task WriteLoopAsync(Stream stream)
        {
            try
            {
                await foreach (var data in _outgoing.Reader.ReadAllAsync(_cts.Token).ConfigureAwait(false))
                {
                    await stream.WriteAsync(data, _cts.Token).ConfigureAwait(false);
                    Touch();
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                if (e is IOException or SocketException)
                {
                    _owner._handler?.OnSendFailed(new SipRemote(_owner.Kind, Remote));
                }
            }
            finally
            {
                Close();
            }
        }

        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }
            _owner.Remove(this);
            _outgoing.Writer.TryComplete();
            _idle.Dispose();
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
            // Disposing unlinks it from the transport's token: without this every closed connection would stay
            // registered there for the transport's lifetime. The loops treat ObjectDisposedException as "closed".
            _cts.Dispose();
            _stream?.Dispose();
            _socket?.Dispose();
        }
    }

    [LoggerMessage(EventId = 5111, Level = LogLevel.Debug, Message = "TCP accept error {Error}")]
    private static partial void LogAcceptError(ILogger logger, SocketError error);

    [LoggerMessage(EventId = 5112, Level = LogLevel.Warning, Message = "TCP connection limit reached; refused {Remote}")]
    private static partial void LogTooManyConnections(ILogger logger, IPEndPoint remote);

    [LoggerMessage(EventId = 5113, Level = LogLevel.Debug, Message = "TCP connect to {Remote} failed: {Reason}")]
    private static partial void LogConnectFailed(ILogger logger, IPEndPoint remote, string reason);

    [LoggerMessage(EventId = 5114, Level = LogLevel.Information, Message = "TCP framing error or oversized message from {Remote}; connection closed")]
    private static partial void LogFramingError(ILogger logger, IPEndPoint remote);

    [LoggerMessage(EventId = 5116, Level = LogLevel.Debug, Message = "TLS handshake with {Remote} ({Direction}) failed: {Reason}")]
    private static partial void LogHandshakeFailed(ILogger logger, IPEndPoint remote, string direction, string reason);

    [LoggerMessage(EventId = 5115, Level = LogLevel.Error, Message = "SIP message handler failed")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception);
}
