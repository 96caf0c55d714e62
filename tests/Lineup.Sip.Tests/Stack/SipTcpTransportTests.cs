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

    /// <summary>
    /// Three messages after keep-alive CRLFs, written in four pieces cut inside the first message's headers, inside its
    /// closing blank line, and inside the third message; before each next piece the test waits until the transport has
    /// read every byte sent so far (<see cref="SipTcpTransport.ReceivedBytes"/>), so each cut really falls between two
    /// reads, and checks that only whole messages were delivered. The third piece ends one message and holds a whole
    /// second one: two messages out of one read (or, at worst, of the reads of that piece).
    /// </summary>
    [Fact]
    public async Task Messages_split_and_coalesced_across_reads_are_framed_by_Content_Length()
    {
        var (transport, recorder, _) = await Start();
        await using var _ = transport;
        using var client = new TcpClient();
        await client.ConnectAsync(transport.LocalEndPoint);
        client.NoDelay = true;
        var stream = client.GetStream();
        var first = "\r\n\r\n" + Options(1);
        var bytes = Encoding.ASCII.GetBytes(first + Options(2) + Options(3));
        int[] cuts = [50, first.Length - 3, first.Length + Options(2).Length + 10, bytes.Length];
        int[] deliveredAfter = [0, 0, 2, 3];
        var sent = 0;
        for (var i = 0; i < cuts.Length; i++)
        {
            await stream.WriteAsync(bytes.AsMemory(sent, cuts[i] - sent));
            await stream.FlushAsync();
            sent = cuts[i];
            await WaitUntil(() => transport.ReceivedBytes == sent);
            await WaitUntil(() => recorder.Count >= deliveredAfter[i]);
            Assert.Equal(deliveredAfter[i], recorder.Count);
        }
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
