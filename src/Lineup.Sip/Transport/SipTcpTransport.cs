using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
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
/// SIP over TCP (RFC 3261 §18): a listener plus outbound connections, one table keyed by the peer's endpoint so a
/// response goes back on the connection its request came on (§18.2.2) and a request to a peer reuses an open one.
/// Messages are framed by Content-Length (<see cref="SipStreamFramer"/>); a connection whose buffered bytes exceed
/// the parser's size limit, or whose framing breaks, is closed.
/// </summary>
public sealed partial class SipTcpTransport : ISipTransport
{
    private readonly IPEndPoint _bind;
    private readonly SipParserLimits _limits;
    private readonly SipTcpOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<IPEndPoint, Connection> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private ISipTransportHandler? _handler;
    private Task _acceptLoop = Task.CompletedTask;
    private long _receivedBytes;

    /// <summary>A transport that will listen on <paramref name="bind"/> (port 0 picks a free port).</summary>
    public SipTcpTransport(IPEndPoint bind, TimeProvider time, SipParserLimits? limits = null, SipTcpOptions? options = null, ILogger? logger = null)
    {
        _bind = bind;
        _time = time;
        _limits = limits ?? SipParserLimits.Default;
        _options = options ?? new SipTcpOptions();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc/>
    public SipTransportKind Kind => SipTransportKind.Tcp;

    /// <inheritdoc/>
    public bool IsReliable => true;

    /// <inheritdoc/>
    public IPEndPoint LocalEndPoint => (IPEndPoint?)_listener?.LocalEndPoint ?? _bind;

    /// <summary>Open connections (for tests and metrics).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Bytes read from every connection so far, counted once the messages they completed were handed on (for
    /// tests and metrics).</summary>
    public long ReceivedBytes => Interlocked.Read(ref _receivedBytes);

    /// <inheritdoc/>
    public Task StartAsync(ISipTransportHandler handler, CancellationToken cancellationToken)
    {
        _handler = handler;
        _listener = new Socket(_bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(_bind);
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
            connection.Run(socket);
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
                _handler?.OnSendFailed(new SipRemote(SipTransportKind.Tcp, remote));
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
            _handler?.OnSendFailed(new SipRemote(SipTransportKind.Tcp, remote));
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
                _owner._handler?.OnSendFailed(new SipRemote(SipTransportKind.Tcp, Remote));
                return;
            }
            Run(socket);
        }

        public void Run(Socket socket)
        {
            socket.NoDelay = true;
            _socket = socket;
            if (Volatile.Read(ref _closed) != 0)
            {
                socket.Dispose();
                return;
            }
            _ = ReadLoopAsync(socket);
            _ = WriteLoopAsync(socket);
        }

        private void Touch() => _idle.Change(_owner._options.Idle, Timeout.InfiniteTimeSpan);

        private async Task ReadLoopAsync(Socket socket)
        {
            var limits = _owner._limits;
            // The buffer never holds more than one message's limit plus one read: a peer cannot grow it further.
            var buffer = new byte[Math.Min(limits.MaxMessageSize, 16_384)];
            var filled = 0;
            var remote = new SipRemote(SipTransportKind.Tcp, Remote);
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
                    var n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, _cts.Token).ConfigureAwait(false);
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
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
            finally
            {
                Close();
            }
        }

        private async Task WriteLoopAsync(Socket socket)
        {
            try
            {
                await foreach (var data in _outgoing.Reader.ReadAllAsync(_cts.Token).ConfigureAwait(false))
                {
                    var sent = 0;
                    while (sent < data.Length)
                    {
                        sent += await socket.SendAsync(data[sent..], SocketFlags.None, _cts.Token).ConfigureAwait(false);
                    }
                    Touch();
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                if (e is SocketException)
                {
                    _owner._handler?.OnSendFailed(new SipRemote(SipTransportKind.Tcp, Remote));
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

    [LoggerMessage(EventId = 5115, Level = LogLevel.Error, Message = "SIP message handler failed")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception);
}
