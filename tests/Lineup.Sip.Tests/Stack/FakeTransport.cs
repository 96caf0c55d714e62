using System.Net;
using System.Text;
using Lineup.Sip.Stack;
using Lineup.Sip.Transactions;
using Lineup.Sip.Transport;
using Microsoft.Extensions.Time.Testing;

namespace Lineup.Sip.Tests.Stack;

/// <summary>An in-memory transport: records what the stack sends and delivers what a test plays as the peer.</summary>
internal sealed class FakeTransport(SipTransportKind kind = SipTransportKind.Udp) : ISipTransport
{
    private ISipTransportHandler? _handler;

    public List<(IPEndPoint To, SipMessage Message)> Sent { get; } = [];

    public SipTransportKind Kind => kind;

    public bool IsReliable => kind == SipTransportKind.Tcp;

    public IPEndPoint LocalEndPoint { get; } = new(IPAddress.Parse("192.0.2.1"), 5060);

    /// <summary>What the transport reports as the latest new INVITE's wait in its receive queue.</summary>
    public TimeSpan ReceiveDelay { get; set; }

    public Task StartAsync(ISipTransportHandler handler, CancellationToken cancellationToken)
    {
        _handler = handler;
        return Task.CompletedTask;
    }

    public void Send(IPEndPoint remote, ReadOnlyMemory<byte> data)
    {
        var parsed = SipParser.Parse(data.Span, kind == SipTransportKind.Tcp ? SipFraming.Stream : SipFraming.Datagram);
        // A 400 echoes the peer's broken headers (§8.2.6), so only the framing must be sound.
        Assert.True(parsed.Message is not null, $"the stack sent an unframed message: {parsed.Error} {parsed.Detail}\n{Encoding.UTF8.GetString(data.Span)}");
        Assert.True(parsed.Success || parsed.Message.StatusLine?.StatusCode is 400 or 505, $"the stack sent a malformed message: {parsed.Error} {parsed.Detail}");
        lock (Sent)
        {
            Sent.Add((remote, parsed.Message!));
        }
    }

    public void Deliver(IPEndPoint from, string text) => Deliver(from, Encoding.UTF8.GetBytes(text));

    public void Deliver(IPEndPoint from, byte[] bytes) =>
        _handler!.OnMessage(new SipRemote(kind, from), SipParser.Parse(bytes, SipFraming.Datagram));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>A stack on a fake transport and fake clock, plus helpers to play the peer.</summary>
internal sealed class Harness
{
    public static readonly IPEndPoint Peer = new(IPAddress.Parse("192.0.2.10"), 5070);

    public Harness(SipTransportKind kind = SipTransportKind.Udp, Func<SipIncomingRequest, ValueTask>? onRequest = null, SipStackOptions? options = null)
    {
        Transport = new FakeTransport(kind);
        Stack = new SipStack(options ?? new SipStackOptions { Timers = SipTimerOptions.Default }, [Transport], Time, Log);
        Stack.OnRequest = onRequest;
        Stack.StartAsync().GetAwaiter().GetResult();
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public FakeTransport Transport { get; }

    /// <summary>Errors the stack logged (an internal exception, or an event handler that threw).</summary>
    public ErrorLog Log { get; } = new();

    public SipStack Stack { get; }

    public string Proto => Transport.Kind == SipTransportKind.Tcp ? "TCP" : "UDP";

    public List<SipMessage> Sent => Transport.Sent.Select(s => s.Message).ToList();

    public List<SipMessage> Responses(int code) => Sent.Where(m => m.StatusLine?.StatusCode == code).ToList();

    public List<SipMessage> Requests(string method) => Sent.Where(m => m.RequestLine?.Method == method).ToList();

    public void Clear() => Transport.Sent.Clear();

    /// <summary>Moves the clock in steps of at most 50 ms: FakeTimeProvider fires a timer once per Advance, so a timer
    /// re-armed from its own callback needs the clock to move in pieces to fire again.</summary>
    public void Advance(TimeSpan by)
    {
        var step = TimeSpan.FromMilliseconds(50);
        while (by > TimeSpan.Zero)
        {
            var d = by < step ? by : step;
            Time.Advance(d);
            by -= d;
        }
    }

    public void AdvanceMs(int ms) => Advance(TimeSpan.FromMilliseconds(ms));

    public void Deliver(string text, IPEndPoint? from = null) => Transport.Deliver(from ?? Peer, text.Replace("\n", "\r\n", StringComparison.Ordinal));

    /// <summary>A request from the peer; \n line ends are turned into CRLF.</summary>
    public string Request(string method, string branch = "z9hG4bKpeer1", string callId = "call-1", string fromTag = "peer-tag",
        string? toTag = null, uint cseq = 1, string? extra = null, string body = "", string contentType = "application/sdp",
        string uri = "sip:100@192.0.2.1", bool rport = true, string? cseqMethod = null)
    {
        var sb = new StringBuilder();
        sb.Append($"{method} {uri} SIP/2.0\n");
        sb.Append($"Via: SIP/2.0/{Proto} 192.0.2.10:5070;branch={branch}{(rport ? ";rport" : "")}\n");
        sb.Append("Max-Forwards: 70\n");
        sb.Append($"From: <sip:200@192.0.2.10>;tag={fromTag}\n");
        sb.Append($"To: <sip:100@192.0.2.1>{(toTag is null ? "" : ";tag=" + toTag)}\n");
        sb.Append($"Call-ID: {callId}\n");
        sb.Append($"CSeq: {cseq} {cseqMethod ?? method}\n");
        sb.Append("Contact: <sip:200@192.0.2.10:5070>\n");
        if (extra is not null)
        {
            sb.Append(extra.TrimEnd('\n')).Append('\n');
        }
        if (body.Length > 0)
        {
            sb.Append($"Content-Type: {contentType}\n");
        }
        sb.Append($"Content-Length: {Encoding.UTF8.GetByteCount(body.Replace("\n", "\r\n", StringComparison.Ordinal))}\n\n");
        sb.Append(body);
        return sb.ToString();
    }

    /// <summary>A response from the peer to a request the stack sent.</summary>
    public string Response(SipMessage request, int code, string? toTag = "uas-tag", string? extra = null, string body = "")
    {
        var sb = new StringBuilder();
        sb.Append($"SIP/2.0 {code} {SipResponse.ReasonPhrase(code)}\n");
        foreach (var v in request.GetValues(SipHeaderNames.Via))
        {
            sb.Append($"Via: {v}\n");
        }
        sb.Append($"From: {request.GetFirst(SipHeaderNames.From)}\n");
        var to = request.GetFirst(SipHeaderNames.To)!;
        sb.Append($"To: {to}{(toTag is not null && request.To!.Tag is null ? ";tag=" + toTag : "")}\n");
        sb.Append($"Call-ID: {request.CallId}\n");
        sb.Append($"CSeq: {request.GetFirst(SipHeaderNames.CSeq)}\n");
        if (extra is not null)
        {
            sb.Append(extra.TrimEnd('\n')).Append('\n');
        }
        if (body.Length > 0)
        {
            sb.Append("Content-Type: application/sdp\n");
        }
        sb.Append($"Content-Length: {Encoding.UTF8.GetByteCount(body.Replace("\n", "\r\n", StringComparison.Ordinal))}\n\n");
        sb.Append(body);
        return sb.ToString();
    }

    /// <summary>An outbound call towards the peer; events are recorded in the returned log.</summary>
    public (InviteSession Session, List<string> Events) Invite(string sdp = "v=0\r\n")
    {
        List<string> events = [];
        var session = Stack.Invite(new InviteRequest("sip:300@192.0.2.10:5070", "100", "Queue", Encoding.ASCII.GetBytes(sdp),
            new SipRemote(Transport.Kind, Peer)), s => events = Record(s));
        // Invite sends after a yield; wait until the INVITE is out.
        SpinWait.SpinUntil(() => Requests("INVITE").Count > 0 || session.State == InviteState.Terminated, TimeSpan.FromSeconds(5));
        Stack.Locked(session.CallId, () => { }); // the sending thread has left the call's lock: its timers exist before the test moves the clock
        return (session, events);
    }

    public static List<string> Record(InviteSession session)
    {
        var events = new List<string>();
        session.Progress += (_, c) => { lock (events) { events.Add($"progress {c}"); } };
        session.Answered += _ => { lock (events) { events.Add("answered"); } };
        session.Failed += (_, c) => { lock (events) { events.Add($"failed {c}"); } };
        session.Ended += (_, r) => { lock (events) { events.Add($"ended {r}"); } };
        session.InfoDtmf += (_, d) => { lock (events) { events.Add($"dtmf {d}"); } };
        session.Reoffered += (_, d) => { lock (events) { events.Add($"reoffered {d}"); } };
        return events;
    }
}

/// <summary>A logger that keeps the errors, so a test can assert that nothing inside the stack threw, and every line
/// (event id and text) for tests of what the stack logs.</summary>
internal sealed class ErrorLog : Microsoft.Extensions.Logging.ILogger<SipStack>
{
    public List<string> Errors { get; } = [];

    public List<(int Id, string Text)> Lines { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
        Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Lines)
        {
            Lines.Add((eventId.Id, formatter(state, exception)));
        }
        if (logLevel >= Microsoft.Extensions.Logging.LogLevel.Error)
        {
            lock (Errors)
            {
                Errors.Add($"{eventId.Id} {formatter(state, exception)} {exception}");
            }
        }
    }
}
