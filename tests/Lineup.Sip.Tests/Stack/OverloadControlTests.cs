using System.Net;
using System.Net.Sockets;
using System.Text;
using Lineup.Sip.Stack;
using Lineup.Sip.Transport;
using Microsoft.Extensions.Time.Testing;

namespace Lineup.Sip.Tests.Stack;

/// <summary>
/// Overload control: the admission decision for new INVITEs as a function of the load, its rate-limited warning, and
/// the stack refusing new INVITEs statelessly with 503 and Retry-After while ACK, BYE, re-INVITE and CANCEL of the calls
/// it holds go on, even with the transaction table full.
/// </summary>
public sealed class OverloadControlTests
{
    private const string Sdp = "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\nm=audio 4000 RTP/AVP 0\n";

    private static SipOverloadControl Control(SipOverloadOptions? options = null, int maxTransactions = 1000, int maxSessions = 100, ErrorLog? log = null, TimeProvider? time = null) =>
        new(options ?? new SipOverloadOptions(), maxTransactions, maxSessions, time ?? new FakeTimeProvider(), log ?? new ErrorLog());

    [Theory]
    [InlineData(0, 0, 0, 0.0, SipOverloadReason.None)]
    [InlineData(899, 89, 499, 0.0, SipOverloadReason.None)]
    [InlineData(900, 0, 0, 0.99, SipOverloadReason.Transactions)] // the bounds refuse whatever the draw
    [InlineData(0, 90, 0, 0.99, SipOverloadReason.Sessions)]
    [InlineData(0, 0, 500, 0.0, SipOverloadReason.None)]           // at the delay limit: a share of zero
    [InlineData(0, 0, 750, 0.49, SipOverloadReason.ReceiveDelay)]  // half way to twice it: half of the draws refused
    [InlineData(0, 0, 750, 0.5, SipOverloadReason.None)]
    [InlineData(0, 0, 999, 0.999, SipOverloadReason.None)] // 499/500 refused, the rest not
    [InlineData(0, 0, 1000, 0.999999, SipOverloadReason.ReceiveDelay)] // twice the limit and beyond: every draw
    [InlineData(0, 0, 5000, 0.999999, SipOverloadReason.ReceiveDelay)]
    [InlineData(1000, 100, 5000, 0.0, SipOverloadReason.Transactions)] // the first reason that holds
    [InlineData(0, 100, 5000, 0.0, SipOverloadReason.Sessions)]
    public void Default_control_refuses_at_nine_tenths_of_either_bound_and_a_growing_share_from_500_ms_in_the_receive_queue(
        int transactions, int sessions, int delayMs, double draw, SipOverloadReason expected)
    {
        var control = Control();
        Assert.Equal(900, control.TransactionLimit);
        Assert.Equal(90, control.SessionLimit);
        Assert.Equal(expected, control.Decide(new SipLoad(transactions, sessions, TimeSpan.FromMilliseconds(delayMs)), draw));
    }

    [Fact]
    public void Fraction_one_refuses_only_at_the_bound_and_a_zero_delay_limit_turns_the_delay_signal_off()
    {
        var control = Control(new SipOverloadOptions { Fraction = 1, MaxReceiveDelay = TimeSpan.Zero });
        Assert.Equal(SipOverloadReason.None, control.Decide(new SipLoad(999, 99, TimeSpan.FromMinutes(1)), 0));
        Assert.Equal(SipOverloadReason.Transactions, control.Decide(new SipLoad(1000, 0, TimeSpan.Zero), 0.5));
        Assert.Equal(SipOverloadReason.Sessions, control.Decide(new SipLoad(0, 100, TimeSpan.Zero), 0.5));
    }

    [Fact]
    public void A_tiny_bound_still_leaves_a_threshold_of_at_least_one()
    {
        var control = Control(new SipOverloadOptions { Fraction = 0.01 }, maxTransactions: 10, maxSessions: 2);
        Assert.Equal(1, control.TransactionLimit);
        Assert.Equal(1, control.SessionLimit);
        Assert.Equal(SipOverloadReason.None, control.Decide(new SipLoad(0, 0, TimeSpan.Zero), 0));
    }

    [Theory]
    [InlineData(0, 200, 2, "Fraction")]
    [InlineData(1.5, 200, 2, "Fraction")]
    [InlineData(double.NaN, 200, 2, "Fraction")]
    [InlineData(0.9, -1, 2, "MaxReceiveDelay")]
    [InlineData(0.9, 200, 0, "RetryAfter")]
    public void Settings_out_of_range_are_refused_naming_the_setting(double fraction, int delayMs, int retryAfterSeconds, string named)
    {
        var e = Assert.Throws<ArgumentException>(() => Control(new SipOverloadOptions
        {
            Fraction = fraction,
            MaxReceiveDelay = TimeSpan.FromMilliseconds(delayMs),
            RetryAfter = TimeSpan.FromSeconds(retryAfterSeconds),
        }));
        Assert.StartsWith(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refusals_are_counted_by_reason_and_warned_about_at_most_once_per_ten_seconds()
    {
        var log = new ErrorLog();
        var time = new FakeTimeProvider();
        var control = Control(log: log, time: time);
        var load = new SipLoad(950, 10, TimeSpan.Zero);
        for (var i = 0; i < 5; i++)
        {
            control.OnShed(SipOverloadReason.Transactions, load);
        }
        control.OnShed(SipOverloadReason.ReceiveDelay, new SipLoad(10, 10, TimeSpan.FromMilliseconds(750)));
        var first = Assert.Single(log.Lines, l => l.Id == 5008);
        Assert.Contains("refused 1 new calls", first.Text, StringComparison.Ordinal);
        Assert.Contains("transactions 950/900", first.Text, StringComparison.Ordinal);

        time.Advance(TimeSpan.FromSeconds(10));
        control.OnShed(SipOverloadReason.ReceiveDelay, new SipLoad(10, 10, TimeSpan.FromMilliseconds(750)));
        var warnings = log.Lines.Where(l => l.Id == 5008).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Contains("refused 6 new calls", warnings[1].Text, StringComparison.Ordinal); // the five, the one, and this one
        Assert.Contains("ReceiveDelay", warnings[1].Text, StringComparison.Ordinal);
        Assert.Contains("receive delay 750/500 ms", warnings[1].Text, StringComparison.Ordinal);
        Assert.Equal(5, control.Shed(SipOverloadReason.Transactions));
        Assert.Equal(2, control.Shed(SipOverloadReason.ReceiveDelay));
        Assert.Equal(7, control.ShedTotal);
    }

    private static (Harness H, Func<SipIncomingRequest?> Last) Uas(SipStackOptions options)
    {
        SipIncomingRequest? last = null;
        var h = new Harness(onRequest: r => { last = r; return ValueTask.CompletedTask; }, options: options);
        return (h, () => last);
    }

    private static void Fill(Harness h, int upTo)
    {
        for (var i = 0; h.Stack.TransactionCount < upTo; i++)
        {
            h.Deliver(h.Request("OPTIONS", branch: $"z9hG4bKfill{i}", callId: $"fill-{i}"));
            Assert.True(i < upTo * 2, "the OPTIONS did not fill the table");
        }
    }

    [Fact]
    public void Over_the_threshold_a_new_INVITE_gets_a_stateless_503_with_Retry_After_and_the_admitted_call_goes_on_past_the_bound()
    {
        var (h, last) = Uas(new SipStackOptions { MaxTransactions = 20, Overload = new SipOverloadOptions { Fraction = 0.5, RetryAfter = TimeSpan.FromSeconds(3) } });

        // A call admitted below the threshold, answered and ACKed.
        h.Deliver(h.Request("INVITE", body: Sdp));
        var session = last()!.AcceptInvite();
        session.Answer(Encoding.ASCII.GetBytes("v=0\r\n"));
        var ok = Assert.Single(h.Responses(200));
        var localTag = ok.To!.Tag!;
        h.Deliver(h.Request("ACK", branch: "z9hG4bKack1", toTag: localTag));

        // Lingering OPTIONS transactions fill the table to the threshold: a new INVITE is refused without state.
        Fill(h, 10);
        h.Clear();
        var before = h.Stack.TransactionCount;
        h.Deliver(h.Request("INVITE", branch: "z9hG4bKnew1", callId: "new-1", body: Sdp));
        var refused = Assert.Single(h.Responses(503));
        Assert.Equal("3", refused.GetFirst("Retry-After"));
        Assert.Equal("1 INVITE", refused.GetFirst("CSeq"));
        Assert.NotNull(refused.To!.Tag);
        Assert.Equal(before, h.Stack.TransactionCount);
        Assert.Equal(0, h.Stack.Overload.Shed(SipOverloadReason.ReceiveDelay));
        Assert.Equal(1, h.Stack.Overload.Shed(SipOverloadReason.Transactions));
        // Its retransmission gets another 503; its ACK matches nothing and is dropped without an answer.
        h.Deliver(h.Request("INVITE", branch: "z9hG4bKnew1", callId: "new-1", body: Sdp));
        Assert.Equal(2, h.Responses(503).Count);
        h.Clear();
        h.Deliver(h.Request("ACK", branch: "z9hG4bKnew1", callId: "new-1", toTag: refused.To.Tag));
        Assert.Empty(h.Sent);

        // The admitted call's INVITE retransmission is still absorbed (its transaction lingers), not refused.
        h.Deliver(h.Request("INVITE", body: Sdp));
        Assert.Empty(h.Responses(503));

        // The table full: a new OPTIONS gets 503, but the call's re-INVITE and BYE are answered.
        Fill(h, 20);
        h.Clear();
        h.Deliver(h.Request("OPTIONS", branch: "z9hG4bKover", callId: "over"));
        Assert.Single(h.Responses(503));
        h.Deliver(h.Request("INVITE", branch: "z9hG4bKre1", toTag: localTag, cseq: 2, body: Sdp));
        Assert.Equal("2 INVITE", Assert.Single(h.Responses(200)).GetFirst("CSeq"));
        h.Deliver(h.Request("ACK", branch: "z9hG4bKre1ack", toTag: localTag, cseq: 2));
        h.Deliver(h.Request("BYE", branch: "z9hG4bKbye1", toTag: localTag, cseq: 3));
        Assert.Equal("3 BYE", h.Responses(200).Last().GetFirst("CSeq"));
        Assert.Equal(InviteState.Terminated, session.State);
        Assert.True(h.Stack.TransactionCount > 20, "the in-dialog requests passed the bound");

        // Once the lingering transactions end, new calls are admitted again.
        h.Advance(TimeSpan.FromSeconds(33));
        h.Clear();
        h.Deliver(h.Request("INVITE", branch: "z9hG4bKlater", callId: "later", body: Sdp));
        Assert.Empty(h.Responses(503));
        Assert.Equal("later", last()!.Request.CallId);
    }

    [Fact]
    public void CANCEL_of_an_admitted_INVITE_is_answered_with_the_table_full()
    {
        var (h, last) = Uas(new SipStackOptions { MaxTransactions = 10, Overload = new SipOverloadOptions { Fraction = 0.5 } });
        h.Deliver(h.Request("INVITE", body: Sdp));
        var session = last()!.AcceptInvite();
        session.Ringing();
        Fill(h, 10);
        h.Clear();
        h.Deliver(h.Request("CANCEL", cseqMethod: "CANCEL"));
        Assert.Equal("1 CANCEL", Assert.Single(h.Responses(200)).GetFirst("CSeq"));
        Assert.Single(h.Responses(487));
        Assert.Empty(h.Responses(503));
    }

    [Fact]
    public void A_new_INVITE_that_waited_twice_the_limit_in_the_receive_queue_is_refused_and_one_at_the_limit_is_admitted()
    {
        var (h, last) = Uas(new SipStackOptions { Overload = new SipOverloadOptions { MaxReceiveDelay = TimeSpan.FromMilliseconds(300) } });
        h.Transport.ReceiveDelay = TimeSpan.FromMilliseconds(600); // twice the limit: every new INVITE is refused
        h.Deliver(h.Request("INVITE", branch: "z9hG4bKlate", callId: "late", body: Sdp));
        Assert.Equal("2", Assert.Single(h.Responses(503)).GetFirst("Retry-After"));
        Assert.Null(last());
        Assert.Equal(1, h.Stack.Overload.Shed(SipOverloadReason.ReceiveDelay));

        h.Transport.ReceiveDelay = TimeSpan.FromMilliseconds(300); // at the limit: none is
        h.Deliver(h.Request("INVITE", branch: "z9hG4bKfresh", callId: "fresh", body: Sdp));
        Assert.Equal("fresh", last()!.Request.CallId);
        Assert.Single(h.Responses(503));
    }

    [Fact]
    public void Dialogs_at_the_threshold_refuse_new_INVITEs_too()
    {
        var (h, last) = Uas(new SipStackOptions { MaxSessions = 4, Overload = new SipOverloadOptions { Fraction = 0.5 } });
        for (var i = 0; i < 2; i++)
        {
            h.Deliver(h.Request("INVITE", branch: $"z9hG4bKs{i}", callId: $"s-{i}", body: Sdp));
            last()!.AcceptInvite();
        }
        Assert.Equal(2, h.Stack.SessionCount);
        h.Deliver(h.Request("INVITE", branch: "z9hG4bKs9", callId: "s-9", body: Sdp));
        Assert.Single(h.Responses(503));
        Assert.Equal(1, h.Stack.Overload.Shed(SipOverloadReason.Sessions));
    }

    /// <summary>The UDP transport measures the wait from the kernel's receive timestamp: a handler held busy makes the
    /// next INVITE wait in the socket, and the delay read covers at least the time it was held.</summary>
    [Fact]
    public async Task The_UDP_transport_reads_how_long_an_INVITE_waited_in_the_socket()
    {
        Assert.True(OperatingSystem.IsLinux(), "the receive timestamp is read on Linux, where the tests run");
        await using var transport = new SipUdpTransport(new IPEndPoint(IPAddress.Loopback, 0)); // one receive loop
        var handler = new BlockingHandler(transport);
        await transport.StartAsync(handler, CancellationToken.None);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var h = new Harness();
        byte[] Invite(string callId) => Encoding.ASCII.GetBytes(h.Request("INVITE", branch: "z9hG4bK" + callId, callId: callId, body: Sdp).Replace("\n", "\r\n", StringComparison.Ordinal));

        await peer.SendToAsync(Invite("first"), transport.LocalEndPoint);
        Assert.True(handler.Entered.Wait(TimeSpan.FromSeconds(5)), "the first INVITE was never handled");
        await peer.SendToAsync(Invite("second"), transport.LocalEndPoint); // waits in the socket while the handler is held
        await Task.Delay(400);
        handler.Release.Set();
        Assert.True(SpinWait.SpinUntil(() => handler.Delays.Count >= 2, TimeSpan.FromSeconds(5)), "the second INVITE was never handled");
        var (own, smoothed) = handler.Delays[1];
        Assert.True(own >= TimeSpan.FromMilliseconds(350), $"read a wait of {own.TotalMilliseconds} ms");
        // One late INVITE moves the smoothed delay an eighth of the way (from the first INVITE's small wait).
        var first = handler.Delays[0].Smoothed;
        Assert.Equal((first + ((own - first) / 8)).Ticks, smoothed.Ticks, (double)TimeSpan.TicksPerMillisecond);
        // So one late INVITE alone stays under the default limit (500 ms; bound by the limit, not by 200 ms: on a loaded
        // machine the 400 ms pause above once lasted 1.7 s, and the first INVITE's wait includes the receive path's JIT).
        var limit = new SipOverloadOptions().MaxReceiveDelay;
        Assert.True(smoothed < limit, $"one late INVITE of {own.TotalMilliseconds} ms alone smoothed to {smoothed.TotalMilliseconds} ms, over {limit.TotalMilliseconds} ms");

        // An INVITE read at once waited next to nothing: far below the 500 ms default limit.
        await peer.SendToAsync(Invite("third"), transport.LocalEndPoint);
        Assert.True(SpinWait.SpinUntil(() => handler.Delays.Count >= 3, TimeSpan.FromSeconds(5)), "the third INVITE was never handled");
        Assert.True(handler.Delays[2].Own < limit, $"read a wait of {handler.Delays[2].Own.TotalMilliseconds} ms");
    }

    /// <summary>Records the transport's delays (the INVITE's own, then the smoothed one) as each message is handled (on
    /// the receive loop, right after the transport measured it) and holds the first message until released.</summary>
    private sealed class BlockingHandler(SipUdpTransport transport) : ISipTransportHandler
    {
        public readonly ManualResetEventSlim Entered = new();
        public readonly ManualResetEventSlim Release = new();
        private readonly List<(TimeSpan Own, TimeSpan Smoothed)> _delays = [];

        public IReadOnlyList<(TimeSpan Own, TimeSpan Smoothed)> Delays
        {
            get
            {
                lock (_delays)
                {
                    return [.. _delays];
                }
            }
        }

        public void OnMessage(SipRemote remote, SipParseResult result)
        {
            int n;
            lock (_delays)
            {
                _delays.Add((transport.LastInviteDelay, transport.ReceiveDelay));
                n = _delays.Count;
            }
            if (n == 1)
            {
                Entered.Set();
                Release.Wait(TimeSpan.FromSeconds(10));
            }
        }

        public void OnSendFailed(SipRemote remote)
        {
        }
    }
}
