using Lineup.Sip.Stack;
using Lineup.Sip.Transport;

namespace Lineup.Sip.Tests.Stack;

/// <summary>RFC 3261 §17 timers A–K on a fake clock, through the stack and a fake transport.</summary>
public sealed class TransactionTimerTests
{
    [Fact]
    public void Timer_A_doubles_from_T1_and_timer_B_fails_the_INVITE_with_408_after_64_T1()
    {
        var h = new Harness();
        var (session, events) = h.Invite();
        Assert.Single(h.Requests("INVITE"));
        // Sends at 0, then 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s (interval doubling without cap, §17.1.1.2).
        var expectedCounts = new[] { (499, 1), (1, 2), (999, 2), (1, 3), (2000, 4), (4000, 5), (8000, 6), (16000, 7) };
        foreach (var (ms, count) in expectedCounts)
        {
            h.AdvanceMs(ms);
            Assert.Equal(count, h.Requests("INVITE").Count);
        }
        Assert.Empty(events);
        h.AdvanceMs(500); // 32 s = 64*T1
        Assert.Equal(["failed 408"], events);
        Assert.Equal(InviteState.Terminated, session.State);
        Assert.Equal(0, h.Stack.TransactionCount);
        Assert.Equal(0, h.Stack.SessionCount);
    }

    [Fact]
    public void Reliable_transport_has_no_retransmissions_but_timer_B_still_fires()
    {
        var h = new Harness(SipTransportKind.Tcp);
        var (_, events) = h.Invite();
        h.Advance(TimeSpan.FromSeconds(31.9));
        Assert.Single(h.Requests("INVITE"));
        h.AdvanceMs(100);
        Assert.Equal(["failed 408"], events);
    }

    [Fact]
    public void Provisional_response_stops_timers_A_and_B()
    {
        var h = new Harness();
        var (session, events) = h.Invite();
        h.Deliver(h.Response(h.Requests("INVITE")[0], 180));
        h.Advance(TimeSpan.FromMinutes(2));
        Assert.Single(h.Requests("INVITE"));
        Assert.Equal(["progress 180"], events);
        Assert.Equal(InviteState.Ringing, session.State);
    }

    [Fact]
    public void Non_2xx_final_is_ACKed_by_the_transaction_with_the_INVITE_branch_and_again_for_each_retransmission()
    {
        var h = new Harness();
        var (_, events) = h.Invite();
        var invite = h.Requests("INVITE")[0];
        var busy = h.Response(invite, 486);
        h.Deliver(busy);
        var ack = Assert.Single(h.Requests("ACK"));
        Assert.Equal(invite.TopVia!.Branch, ack.TopVia!.Branch);
        Assert.Equal("sip:300@192.0.2.10:5070", ack.RequestLine!.RequestUri);
        Assert.Equal("uas-tag", ack.To!.Tag);
        Assert.Equal($"{invite.CSeq!.Value.Number} ACK", ack.GetFirst("CSeq"));
        h.Deliver(busy);
        Assert.Equal(2, h.Requests("ACK").Count);
        Assert.Equal(["failed 486"], events); // retransmissions are absorbed
        Assert.Equal(1, h.Stack.TransactionCount);
        h.Advance(TimeSpan.FromSeconds(32)); // timer D
        Assert.Equal(0, h.Stack.TransactionCount);
        h.Deliver(busy);
        Assert.Equal(2, h.Requests("ACK").Count);
    }

    [Fact]
    public void Timer_E_doubles_up_to_T2_and_timer_F_gives_408_after_64_T1()
    {
        var h = new Harness();
        var (session, _) = h.Invite();
        var invite = h.Requests("INVITE")[0];
        h.Deliver(h.Response(invite, 200, extra: "Contact: <sip:300@192.0.2.10:5070>", body: "v=0\n"));
        h.Clear();
        session.Hangup(); // BYE: a non-INVITE client transaction
        // Sends at 0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5 s.
        var times = new[] { 0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500 };
        var now = 0;
        for (var i = 0; i < times.Length; i++)
        {
            h.AdvanceMs(times[i] - now);
            now = times[i];
            Assert.Equal(i + 1, h.Requests("BYE").Count);
            if (i + 1 < times.Length)
            {
                h.AdvanceMs(times[i + 1] - times[i] - 1);
                now = times[i + 1] - 1;
                Assert.Equal(i + 1, h.Requests("BYE").Count);
            }
        }
        Assert.Equal(1, h.Stack.TransactionCount);
        h.AdvanceMs(32000 - now);
        Assert.Equal(0, h.Stack.TransactionCount); // timer F
        Assert.Equal(11, h.Requests("BYE").Count);
    }

    [Fact]
    public void Timer_E_is_T2_in_Proceeding_and_timer_K_absorbs_retransmitted_finals_for_T4()
    {
        var h = new Harness();
        var (session, _) = h.Invite();
        h.Deliver(h.Response(h.Requests("INVITE")[0], 200, extra: "Contact: <sip:300@192.0.2.10:5070>", body: "v=0\n"));
        h.Clear();
        session.Hangup();
        var bye = h.Requests("BYE")[0];
        h.Deliver(h.Response(bye, 100, toTag: null));
        h.AdvanceMs(500); // the timer armed in Trying fires once more, then re-arms at T2
        Assert.Equal(2, h.Requests("BYE").Count);
        h.AdvanceMs(3999);
        Assert.Equal(2, h.Requests("BYE").Count);
        h.AdvanceMs(1);
        Assert.Equal(3, h.Requests("BYE").Count);
        h.Deliver(h.Response(bye, 200, toTag: null));
        h.Deliver(h.Response(bye, 200, toTag: null));
        h.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(3, h.Requests("BYE").Count);
        Assert.Equal(1, h.Stack.TransactionCount);
        h.Advance(TimeSpan.FromSeconds(1)); // timer K = T4
        Assert.Equal(0, h.Stack.TransactionCount);
    }

    [Fact]
    public void INVITE_server_sends_100_at_once_and_timer_G_retransmits_the_final_until_timer_H()
    {
        SipIncomingRequest? incoming = null;
        var h = new Harness(onRequest: r => { incoming = r; return ValueTask.CompletedTask; });
        h.Deliver(h.Request("INVITE", body: "v=0\n"));
        Assert.Single(h.Responses(100));
        incoming!.AcceptInvite().Reject(486);
        Assert.Single(h.Responses(486));
        // G: 0.5, 1, 2, 4, 4, 4... from the first send: resends at 0.5, 1.5, 3.5, 7.5, 11.5, ..., 31.5.
        var expected = new[] { (499, 1), (1, 2), (1000, 3), (2000, 4), (4000, 5), (4000, 6) };
        foreach (var (ms, count) in expected)
        {
            h.AdvanceMs(ms);
            Assert.Equal(count, h.Responses(486).Count);
        }
        h.AdvanceMs(20000); // 31.5 s: resends at 15.5, 19.5, 23.5, 27.5, 31.5
        Assert.Equal(11, h.Responses(486).Count);
        Assert.Equal(1, h.Stack.TransactionCount);
        h.AdvanceMs(500); // timer H
        Assert.Equal(0, h.Stack.TransactionCount);
        h.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(11, h.Responses(486).Count);
    }

    [Fact]
    public void ACK_to_a_non_2xx_stops_timer_G_and_timer_I_ends_the_transaction_after_T4()
    {
        SipIncomingRequest? incoming = null;
        var h = new Harness(onRequest: r => { incoming = r; return ValueTask.CompletedTask; });
        h.Deliver(h.Request("INVITE", body: "v=0\n"));
        incoming!.Respond(404);
        var notFound = Assert.Single(h.Responses(404));
        h.Deliver(h.Request("ACK", toTag: notFound.To!.Tag));
        h.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Single(h.Responses(404));
        Assert.Equal(1, h.Stack.TransactionCount);
        // A retransmitted INVITE in Confirmed is absorbed silently.
        h.Deliver(h.Request("INVITE", body: "v=0\n"));
        Assert.Single(h.Responses(404));
        h.AdvanceMs(100); // timer I = T4
        Assert.Equal(0, h.Stack.TransactionCount);
    }

    [Fact]
    public void Non_INVITE_server_answers_retransmissions_from_its_state_until_timer_J()
    {
        var h = new Harness();
        var options = h.Request("OPTIONS", cseqMethod: "OPTIONS");
        h.Deliver(options);
        Assert.Single(h.Responses(200));
        h.Deliver(options);
        Assert.Equal(2, h.Responses(200).Count);
        Assert.Equal(1, h.Stack.TransactionCount);
        h.Advance(TimeSpan.FromSeconds(32)); // timer J = 64*T1
        Assert.Equal(0, h.Stack.TransactionCount);
    }

    [Fact]
    public void Reliable_non_INVITE_server_transaction_ends_at_once()
    {
        var h = new Harness(SipTransportKind.Tcp);
        h.Deliver(h.Request("OPTIONS"));
        Assert.Single(h.Responses(200));
        Assert.Equal(0, h.Stack.TransactionCount);
    }

    [Fact]
    public void Application_that_never_answers_a_non_INVITE_gets_500_after_64_T1()
    {
        var h = new Harness(onRequest: _ => ValueTask.CompletedTask);
        h.Deliver(h.Request("MESSAGE", body: "hi", contentType: "text/plain"));
        Assert.Empty(h.Sent);
        h.Advance(TimeSpan.FromSeconds(32));
        Assert.Single(h.Responses(500));
    }
}
