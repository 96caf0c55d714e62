using System.Net;
using System.Net.Sockets;
using System.Text;
using Lineup.Sip.Transport;
using Microsoft.Extensions.Time.Testing;

namespace Lineup.Sip.Tests.Stack;

/// <summary>The TCP transport on 127.0.0.1: framing across reads, connection limit, idle timeout on a fake clock.</summary>
public sealed class SipTcpTransportTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private sealed class Recorder : ISipTransportHandler
    {
        public List<(SipRemote Remote, SipParseResult Result)> Messages { get; } = [];

        public void OnMessage(SipRemote remote, SipParseResult result)
        {
            lock (Messages)
            {
                Messages.Add((remote, result));
            }
        }

        public void OnSendFailed(SipRemote remote)
        {
        }

        public int Count
        {
            get
            {
                lock (Messages)
                {
                    return Messages.Count;
                }
            }
        }
    }

    private static string Options(int n) =>
        $"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKt{n}\r\nMax-Forwards: 70\r\n" +
        $"From: <sip:b@127.0.0.1>;tag=f\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: tcp-{n}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n";

    private static async Task<(SipTcpTransport Transport, Recorder Recorder, FakeTimeProvider Time)> Start(SipTcpOptions? options = null)
    {
        var time = new FakeTimeProvider();
        var transport = new SipTcpTransport(new IPEndPoint(IPAddress.Loopback, 0), time, options: options);
        var recorder = new Recorder();
        await transport.StartAsync(recorder, CancellationToken.None);
        return (transport, recorder, time);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Messages_split_and_coalesced_across_reads_are_framed_by_Content_Length()
    {
        var (transport, recorder, _) = await Start();
        await using var _ = transport;
        using var client = new TcpClient();
        await client.ConnectAsync(transport.LocalEndPoint);
        var stream = client.GetStream();
        var bytes = Encoding.ASCII.GetBytes("\r\n\r\n" + Options(1) + Options(2) + Options(3));
        await stream.WriteAsync(bytes.AsMemory(0, 50));
        await stream.FlushAsync();
        await Task.Delay(50);
        await stream.WriteAsync(bytes.AsMemory(50));
        await WaitUntil(() => recorder.Count == 3);
        Assert.All(recorder.Messages, m => Assert.True(m.Result.Success));
        Assert.Equal(["tcp-1", "tcp-2", "tcp-3"], recorder.Messages.Select(m => m.Result.Message!.CallId));

        // A response goes back on the same connection.
        transport.Send(recorder.Messages[0].Remote.EndPoint, Encoding.ASCII.GetBytes("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
        var buffer = new byte[64];
        var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(Wait);
        Assert.StartsWith("SIP/2.0 200 OK", Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(1, transport.ConnectionCount);
    }

    [Fact]
    public async Task Connections_beyond_the_limit_are_closed_and_idle_ones_time_out()
    {
        var (transport, recorder, time) = await Start(new SipTcpOptions(MaxConnections: 1, IdleTimeout: TimeSpan.FromSeconds(30)));
        await using var _ = transport;
        using var first = new TcpClient();
        await first.ConnectAsync(transport.LocalEndPoint);
        await first.GetStream().WriteAsync(Encoding.ASCII.GetBytes(Options(1)));
        await WaitUntil(() => recorder.Count == 1);

        using var second = new TcpClient();
        await second.ConnectAsync(transport.LocalEndPoint);
        Assert.Equal(0, await ReadOrClosed(second));

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(0, await ReadOrClosed(first));
        await WaitUntil(() => transport.ConnectionCount == 0);
    }

    private static async Task<int> ReadOrClosed(TcpClient client)
    {
        try
        {
            return await client.GetStream().ReadAsync(new byte[16]).AsTask().WaitAsync(Wait);
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
