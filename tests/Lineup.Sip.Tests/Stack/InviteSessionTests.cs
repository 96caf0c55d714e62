using System.Text;
using Lineup.Sip.Stack;
using Lineup.Sip.Transport;

namespace Lineup.Sip.Tests.Stack;

/// <summary>INVITE sessions and dialogs (RFC 3261 §9, §12–15) on the fake transport.</summary>
public sealed class InviteSessionTests
{
    private const string Sdp = "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\nm=audio 4000 RTP/AVP 0\n";
    private static readonly byte[] OurSdp = Encoding.ASCII.GetBytes("v=0\r\no=- 2 2 IN IP4 192.0.2.1\r\ns=-\r\n");

    private static (Harness H, Func<SipIncomingRequest?> Last) Uas()
    {
        SipIncomingRequest? last = null;
        var h = new Harness(onRequest: r => { last = r; return ValueTask.CompletedTask; });
        return (h, () => last);
    }

    private static (Harness H, InviteSession Session, List<string> Events) Answered(string? extra = null)
    {
        var (h, last) = Uas();
        h.Deliver(h.Request("INVITE", body: Sdp, extra: extra));
        var session = last()!.AcceptInvite();
        var events = Harness.Record(session);
        session.Answer(OurSdp);
        var ok = h.Responses(200).Single();
        h.Deliver(h.Request("ACK", branch: "z9hG4bKack1", toTag: ok.To!.Tag));
        events.Clear();
        h.Clear();
        return (h, session, events);
    }

    [Fact]
    public void UAS_rings_answers_and_retransmits_the_2xx_at_T1_doubling_to_T2_until_the_ACK()
    {
        var (h, last) = Uas();
        h.Deliver(h.Request("INVITE", body: Sdp));
        var session = last()!.AcceptInvite();
        var events = Harness.Record(session);
        Assert.Equal("v=0", Encoding.ASCII.GetString(session.RemoteSdp.Span)[..3]);
        session.Ringing();
        var ringing = Assert.Single(h.Responses(180));
        Assert.NotNull(ringing.To!.Tag);
        Assert.Equal(InviteState.Ringing, session.State);
        Assert.True(session.Answer(OurSdp));
        var ok = Assert.Single(h.Responses(200));
        Assert.Equal(ringing.To.Tag, ok.To!.Tag);
        Assert.Equal(OurSdp, ok.Body.ToArray());
        Assert.Equal("application/sdp", ok.ContentType!.MediaType);
        Assert.Contains("192.0.2.1:5060", ok.GetFirst("Contact"));
        // Retransmissions at 0.5, 1.5, 3.5, 7.5, 11.5 s.
        foreach (var (ms, count) in new[] { (499, 1), (1, 2), (1000, 3), (2000, 4), (4000, 5), (4000, 6) })
        {
            h.AdvanceMs(ms);
            Assert.Equal(count, h.Responses(200).Count);
        }
        Assert.Empty(events);
        h.Deliver(h.Request("ACK", branch: "z9hG4bKack1", toTag: ok.To.Tag));
        Assert.Equal(["answered"], events);
        h.Advance(TimeSpan.FromSeconds(40));
        Assert.Equal(6, h.Responses(200).Count);
        Assert.Equal(InviteState.Established, session.State);
        Assert.Empty(h.Requests("BYE"));
    }

    [Fact]
    public void UAS_without_ACK_gives_up_after_64_T1_and_sends_BYE()
    {
        var (h, last) = Uas();
        h.Deliver(h.Request("INVITE", body: Sdp));
        var session = last()!.AcceptInvite();
        var events = Harness.Record(session);
        session.Answer(OurSdp);
        h.Advance(TimeSpan.FromSeconds(31.9));
        Assert.Empty(h.Requests("BYE"));
        h.AdvanceMs(100);
        var bye = Assert.Single(h.Requests("BYE"));
        Assert.Equal(["ended AckTimeout"], events);
        Assert.Equal("sip:200@192.0.2.10:5070", bye.RequestLine!.RequestUri); // remote target from Contact
        Assert.Equal("peer-tag", bye.To!.Tag);
        Assert.Equal(h.Responses(200)[0].To!.Tag, bye.From!.Tag);
        Assert.Equal(InviteState.Terminated, session.State);
    }

    [Fact]
    public void An_ended_call_is_not_kept_in_memory_by_the_transactions_that_linger_after_it()
    {
        var (h, session) = EndedCall();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        // The INVITE (RFC 6026 Accepted, timer L) and the BYE (Completed, timer J) stay for 64*T1 to absorb
        // retransmissions; the session, and whatever the application hung on its events, must not stay with them.
        Assert.Equal(2, h.Stack.TransactionCount);
        Assert.False(session.IsAlive);
        h.Advance(TimeSpan.FromSeconds(33));
        Assert.Equal(0, h.Stack.TransactionCount);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (Harness H, WeakReference Session) EndedCall()
    {
        var incoming = new SipIncomingRequest?[1];
        var h = new Harness(onRequest: r => { incoming[0] = r; return ValueTask.CompletedTask; });
        h.Deliver(h.Request("INVITE", body: Sdp));
        var session = incoming[0]!.AcceptInvite();
        incoming[0] = null;
        var events = Harness.Record(session);
        session.Answer(OurSdp);
        var localTag = h.Responses(200).Single().To!.Tag;
        h.Deliver(h.Request("ACK", branch: "z9hG4bKack1", toTag: localTag));
        h.Deliver(h.Request("BYE", branch: "z9hG4bKbye1", toTag: localTag, cseq: 2));
        Assert.Equal(["answered", "ended RemoteBye"], events);
        return (h, new WeakReference(session));
    }

    [Fact]
    public void BYE_in_the_dialog_gets_200_and_ends_the_session_and_an_unknown_dialog_gets_481()
    {
        var (h, session, events) = Answered();
        var localTag = h.Stack.Locked(session.CallId, () => session.LocalTag);
        h.Deliver(h.Request("BYE", branch: "z9hG4bKbye1", toTag: localTag, cseq: 2));
        Assert.Single(h.Responses(200));
        Assert.Equal(["ended RemoteBye"], events);
        Assert.Equal(InviteState.Terminated, session.State);
        h.Deliver(h.Request("BYE", branch: "z9hG4bKbye2", toTag: localTag, cseq: 3));
        Assert.Single(h.Responses(481));
        h.Deliver(h.Request("BYE", branch: "z9hG4bKbye3", callId: "other"));
        Assert.Equal(2, h.Responses(481).Count);
    }

    [Fact]
    public void Request_with_a_lower_CSeq_in_the_dialog_gets_500()
    {
        var (h, session, _) = Answered();
        var localTag = h.Stack.Locked(session.CallId, () => session.LocalTag);
        h.Deliver(h.Request("INFO", branch: "z9hG4bKinfo1", toTag: localTag, cseq: 5));
        h.Deliver(h.Request("INFO", branch: "z9hG4bKinfo2", toTag: localTag, cseq: 4));
        Assert.Single(h.Responses(200));
        Assert.Single(h.Responses(500));
    }

    [Fact]
    public void INFO_dtmf_relay_is_reported_as_a_digit()
    {
        var (h, session, events) = Answered();
        var localTag = h.Stack.Locked(session.CallId, () => session.LocalTag);
        h.Deliver(h.Request("INFO", branch: "z9hG4bKinfo1", toTag: localTag, cseq: 2, body: "Signal=5\nDuration=160\n", contentType: "application/dtmf-relay"));
        h.Deliver(h.Request("INFO", branch: "z9hG4bKinfo2", toTag: localTag, cseq: 3, body: "Signal= #\nDuration=160\n", contentType: "application/dtmf-relay"));
        Assert.Equal(2, h.Responses(200).Count);
        Assert.Equal(["dtmf 5", "dtmf #"], events);
    }

    [Fact]
    public void REFER_is_handed_to_the_application_which_accepts_it_and_reports_by_NOTIFY_until_a_final_status()
    {
        var (h, session, _) = Answered();
        var localTag = h.Stack.Locked(session.CallId, () => session.LocalTag);
        SipRefer? refer = null;
        session.Referred += (_, r) => refer = r;
        h.Deliver(h.Request("REFER", branch: "z9hG4bKref1", toTag: localTag, cseq: 2,
            extra: "Refer-To: <sip:300@192.0.2.1;user=phone>\nReferred-By: <sip:200@192.0.2.10>"));
        Assert.NotNull(refer);
        Assert.Equal(("300", "192.0.2.1"), (refer.Target!.User, refer.Target.Host));
        Assert.Equal("<sip:200@192.0.2.10>", refer.ReferredBy);
        Assert.Empty(h.Responses(202));

        Assert.True(refer.Accept());
        Assert.False(refer.Reject(403, "Too Late"));
        var accepted = Assert.Single(h.Responses(202));
        Assert.Equal(localTag, accepted.To!.Tag);
        var trying = Assert.Single(h.Requests("NOTIFY"));
        Assert.Equal(("refer", "active;expires=60", "message/sipfrag"), (trying.GetFirst("Event"), trying.GetFirst("Subscription-State"), trying.ContentType!.MediaType));
        Assert.Equal("SIP/2.0 100 Trying\r\n", Encoding.UTF8.GetString(trying.Body.Span));
        Assert.Equal(localTag, trying.From!.Tag);
        Assert.Equal("peer-tag", trying.To!.Tag);

        Assert.True(refer.Notify(200, "OK"));
        Assert.False(refer.Notify(503, "Service Unavailable"));
        var notifies = h.Requests("NOTIFY");
        Assert.Equal(2, notifies.Count);
        Assert.Equal("terminated;reason=noresource", notifies[1].GetFirst("Subscription-State"));
        Assert.Equal("SIP/2.0 200 OK\r\n", Encoding.UTF8.GetString(notifies[1].Body.Span));
        Assert.True(notifies[1].CSeq!.Value.Number > notifies[0].CSeq!.Value.Number);
        Assert.Equal(InviteState.Established, session.State);
    }

    [Fact]
    public void REFER_without_a_handler_gets_405_and_a_bad_Refer_To_gets_400()
    {
        var (h, session, _) = Answered();
        var localTag = h.Stack.Locked(session.CallId, () => session.LocalTag);
        h.Deliver(h.Request("REFER", branch: "z9hG4bKref1", toTag: localTag, cseq: 2, extra: "Refer-To: <sip:300@192.0.2.1>"));
        Assert.Contains("REFER", Assert.Single(h.Responses(405)).GetValues("Allow"));

        var handled = 0;
        session.Referred += (_, _) => handled++;
        h.Deliver(h.Request("REFER", branch: "z9hG4bKref2", toTag: localTag, cseq: 3));
        h.Deliver(h.Request("REFER", branch: "z9hG4bKref3", toTag: localTag, cseq: 4, extra: "Refer-To: <sip:300@192.0.2.1>\nRefer-To: <sip:301@192.0.2.1>"));
        h.Deliver(h.Request("REFER", branch: "z9hG4bKref4", toTag: localTag, cseq: 5, extra: "Refer-To: <sip:300@192.0.2.1"));
        Assert.Equal(3, h.Responses(400).Count);
        Assert.Equal(0, handled);
        Assert.Empty(h.Requests("NOTIFY"));
    }

    [Fact]
    public void ReINVITE_gets_200_with_the_same_SDP_retransmitted_until_its_ACK_and_the_call_goes_on()
    {
        var (h, session, events) = Answered();
        var localTag = h.Stack.Locked(session.CallId, () => session.LocalTag);
        h.Deliver(h.Request("INVITE", branch: "z9hG4bKre1", toTag: localTag, cseq: 2, body: Sdp.Replace("t=0 0", "t=0 0\na=sendonly", StringComparison.Ordinal),
            extra: "Session-Expires: 1800"));
        var ok = Assert.Single(h.Responses(200));
        Assert.Equal(OurSdp, ok.Body.ToArray());
        Assert.Equal("2 INVITE", ok.GetFirst("CSeq"));
        h.AdvanceMs(500);
        Assert.Equal(2, h.Responses(200).Count);
        h.Deliver(h.Request("ACK", branch: "z9hG4bKre1ack", toTag: localTag, cseq: 2));
        h.Advance(TimeSpan.FromSeconds(40));
        Assert.Equal(2, h.Responses(200).Count);
        Assert.Empty(h.Requests("BYE"));
        Assert.Equal(["reoffered SendOnly"], events); // the offer's direction, for the application
        Assert.Equal(InviteState.Established, session.State);
    }

    [Fact]
    public void A_hold_reINVITE_is_answered_recvonly_then_a_resume_sendrecv_each_with_a_new_SDP_version_and_reported()
    {
        var (h, last) = Uas();
        h.Deliver(h.Request("INVITE", body: Sdp));
        var session = last()!.AcceptInvite();
        var events = Harness.Record(session);
        var ours = "v=0\r\no=lineup 7 7 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";
        session.Answer(Encoding.ASCII.GetBytes(ours));
        var localTag = h.Responses(200).Single().To!.Tag!;
        h.Deliver(h.Request("ACK", branch: "z9hG4bKack1", toTag: localTag));
        h.Clear();
        events.Clear();

        h.Deliver(h.Request("INVITE", branch: "z9hG4bKhold", toTag: localTag, cseq: 2, body: Sdp + "a=sendonly\n"));
        var hold = Lineup.Sip.Media.Sdp.Parse(Assert.Single(h.Responses(200)).Body.Span, out _)!;
        Assert.Equal((Lineup.Sip.Media.MediaDirection.RecvOnly, 8UL, 5000), (hold.DirectionOf(hold.Media[0]), hold.Origin.SessionVersion, hold.Media[0].Port));
        h.Deliver(h.Request("ACK", branch: "z9hG4bKholdack", toTag: localTag, cseq: 2));
        Assert.Equal(["reoffered SendOnly"], events);

        // An old phone's hold (c=0.0.0.0) is inactive; then a resume.
        h.Clear();
        h.Deliver(h.Request("INVITE", branch: "z9hG4bKhold2", toTag: localTag, cseq: 3, body: Sdp.Replace("192.0.2.10", "0.0.0.0", StringComparison.Ordinal)));
        var inactive = Lineup.Sip.Media.Sdp.Parse(Assert.Single(h.Responses(200)).Body.Span, out _)!;
        Assert.Equal((Lineup.Sip.Media.MediaDirection.Inactive, 9UL), (inactive.DirectionOf(inactive.Media[0]), inactive.Origin.SessionVersion));
        h.Deliver(h.Request("ACK", branch: "z9hG4bKhold2ack", toTag: localTag, cseq: 3));
        h.Clear();
        h.Deliver(h.Request("INVITE", branch: "z9hG4bKresume", toTag: localTag, cseq: 4, body: Sdp));
        var resumed = Lineup.Sip.Media.Sdp.Parse(Assert.Single(h.Responses(200)).Body.Span, out _)!;
        Assert.Equal((Lineup.Sip.Media.MediaDirection.SendRecv, 10UL), (resumed.DirectionOf(resumed.Media[0]), resumed.Origin.SessionVersion));
        h.Deliver(h.Request("ACK", branch: "z9hG4bKresumeack", toTag: localTag, cseq: 4));
        Assert.Equal(["reoffered SendOnly", "reoffered Inactive", "reoffered SendRecv"], events);

        // A refresh that changes nothing gets the same description, same version.
        h.Clear();
        h.Deliver(h.Request("INVITE", branch: "z9hG4bKrefresh", toTag: localTag, cseq: 5, body: Sdp));
        Assert.Equal(10UL, Lineup.Sip.Media.Sdp.Parse(Assert.Single(h.Responses(200)).Body.Span, out _)!.Origin.SessionVersion);
        Assert.Equal(InviteState.Established, session.State);
    }

    [Theory]
    [InlineData("abc@192.0.2.1;to-tag=7553452;from-tag=31431", "abc@192.0.2.1", "7553452", "31431", false)]
    [InlineData("abc ; from-tag=1 ; to-tag=2 ; early-only", "abc", "2", "1", true)]
    public void A_Replaces_header_parses_into_its_dialog(string value, string callId, string to, string from, bool earlyOnly) =>
        Assert.Equal(new SipReplaces(callId, to, from, earlyOnly), SipReplaces.Parse(value));

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("abc;to-tag=1")]
    [InlineData(";to-tag=1;from-tag=2")]
    [InlineData("abc;to-tag=;from-tag=2")]
    public void A_Replaces_header_without_its_dialog_is_refused(string value) => Assert.Null(SipReplaces.Parse(value));

    [Fact]
    public void A_Replaces_finds_an_established_dialog_in_either_tag_order_and_nothing_else()
    {
        var (h, session, _) = Answered();
        var (callId, local, remote) = h.Stack.Locked(session.CallId, () => (session.CallId, session.LocalTag, session.RemoteTag!));
        Assert.Same(session, h.Stack.FindDialog(new SipReplaces(callId, local, remote, false)));
        Assert.Same(session, h.Stack.FindDialog(new SipReplaces(callId, remote, local, false)));
        Assert.Null(h.Stack.FindDialog(new SipReplaces(callId, local, "other", false)));
        Assert.Null(h.Stack.FindDialog(new SipReplaces("other", local, remote, false)));
    }

    [Fact]
    public void CANCEL_before_the_final_gets_200_and_the_INVITE_487()
    {
        var (h, last) = Uas();
        h.Deliver(h.Request("INVITE", body: Sdp));
        var session = last()!.AcceptInvite();
        var events = Harness.Record(session);
        session.Ringing();
        h.Deliver(h.Request("CANCEL", cseqMethod: "CANCEL"));
        var okCancel = Assert.Single(h.Responses(200));
        Assert.Equal("1 CANCEL", okCancel.GetFirst("CSeq"));
        var terminated = Assert.Single(h.Responses(487));
        Assert.Equal("1 INVITE", terminated.GetFirst("CSeq"));
        Assert.Equal(["ended RemoteCancel"], events);
        Assert.False(session.Answer(OurSdp));
        // The ACK for the 487 is absorbed by the INVITE server transaction.
        h.Deliver(h.Request("ACK", toTag: terminated.To!.Tag));
        h.Advance(TimeSpan.FromSeconds(6));
        Assert.Single(h.Responses(487));
    }

    [Fact]
    public void A_retransmitted_INVITE_after_the_2xx_is_absorbed_not_taken_for_a_new_call()
    {
        var (h, last) = Uas();
        var invite = h.Request("INVITE", body: Sdp);
        h.Deliver(invite);
        var first = last();
        first!.AcceptInvite().Answer(OurSdp);
        h.Deliver(invite);
        Assert.Same(first, last());
        Assert.Single(h.Responses(100));
        Assert.Equal(1, h.Stack.SessionCount);
        var ok = h.Responses(200).Single();
        h.Deliver(h.Request("ACK", branch: "z9hG4bKack1", toTag: ok.To!.Tag));
        h.Advance(TimeSpan.FromSeconds(32)); // timer L
        Assert.Equal(0, h.Stack.TransactionCount);
        Assert.Equal(InviteState.Established, first.AcceptInvite().State);
    }

    [Fact]
    public void CANCEL_before_the_application_took_the_INVITE_still_gets_487()
    {
        var (h, last) = Uas();
        h.Deliver(h.Request("INVITE", body: Sdp));
        h.Deliver(h.Request("CANCEL", cseqMethod: "CANCEL"));
        Assert.Single(h.Responses(487));
        Assert.True(last()!.IsAnswered);
        Assert.Equal(InviteState.Terminated, last()!.AcceptInvite().State);
    }

    [Fact]
    public void CANCEL_after_a_final_gets_200_without_effect_and_an_unknown_one_481()
    {
        var (h, last) = Uas();
        h.Deliver(h.Request("INVITE", body: Sdp));
        last()!.AcceptInvite().Reject(486);
        h.Deliver(h.Request("CANCEL", cseqMethod: "CANCEL"));
        Assert.Single(h.Responses(200));
        Assert.Single(h.Responses(486));
        Assert.Empty(h.Responses(487));

        var (h2, session, events) = Answered();
        h2.Deliver(h2.Request("CANCEL", cseqMethod: "CANCEL"));
        Assert.Single(h2.Responses(200)); // the INVITE transaction is still Accepted (RFC 6026)
        Assert.Empty(h2.Responses(487));
        Assert.Empty(events);
        Assert.Equal(InviteState.Established, session.State);

        var (h3, _) = Uas();
        h3.Deliver(h3.Request("CANCEL", branch: "z9hG4bKnothing", cseqMethod: "CANCEL"));
        Assert.Single(h3.Responses(481));
    }

    [Fact]
    public void UAC_ACKs_the_2xx_in_a_new_transaction_with_the_dialog_route_set_and_hangs_up_with_BYE()
    {
        var h = new Harness();
        var (session, events) = h.Invite();
        var invite = h.Requests("INVITE")[0];
        Assert.Equal("application/sdp", invite.ContentType!.MediaType);
        Assert.True(invite.TopVia!.HasRport);
        Assert.Contains("100@192.0.2.1:5060", invite.GetFirst("Contact"));
        Assert.Equal("1 INVITE", invite.GetFirst("CSeq"));
        h.Deliver(h.Response(invite, 180));
        h.Deliver(h.Response(invite, 200, body: Sdp,
            extra: "Contact: <sip:300@192.0.2.77:5090>\nRecord-Route: <sip:p1.example.com;lr>\nRecord-Route: <sip:p2.example.com;lr>"));
        Assert.Equal(["progress 180", "answered"], events);
        Assert.Equal(InviteState.Established, session.State);
        var ack = Assert.Single(h.Requests("ACK"));
        Assert.NotEqual(invite.TopVia.Branch, ack.TopVia!.Branch);
        Assert.Equal("sip:300@192.0.2.77:5090", ack.RequestLine!.RequestUri);
        Assert.Equal("1 ACK", ack.GetFirst("CSeq"));
        Assert.Equal("uas-tag", ack.To!.Tag);
        Assert.Equal(["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"], ack.GetValues("Route").ToArray());
        Assert.StartsWith("v=0", Encoding.ASCII.GetString(session.RemoteSdp.Span));

        session.Hangup();
        var bye = Assert.Single(h.Requests("BYE"));
        Assert.Equal("2 BYE", bye.GetFirst("CSeq"));
        Assert.Equal(invite.CallId, bye.CallId);
        Assert.Equal(invite.From!.Tag, bye.From!.Tag);
        Assert.Equal("uas-tag", bye.To!.Tag);
        Assert.Equal(["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"], bye.GetValues("Route").ToArray());
        Assert.Equal(["progress 180", "answered", "ended LocalBye"], events);
    }

    [Fact]
    public void UAC_re_ACKs_a_retransmitted_2xx_and_ACKs_then_BYEs_a_forked_2xx()
    {
        var h = new Harness();
        var (_, events) = h.Invite();
        var invite = h.Requests("INVITE")[0];
        var ok = h.Response(invite, 200, body: Sdp, extra: "Contact: <sip:300@192.0.2.10:5070>");
        h.Deliver(ok);
        h.Deliver(ok);
        Assert.Equal(2, h.Requests("ACK").Count);
        Assert.Equal(h.Requests("ACK")[0].TopVia!.Branch, h.Requests("ACK")[1].TopVia!.Branch);
        h.Deliver(h.Response(invite, 200, toTag: "fork-2", body: Sdp, extra: "Contact: <sip:300@192.0.2.11:5070>"));
        var forkAck = h.Requests("ACK")[2];
        Assert.Equal("fork-2", forkAck.To!.Tag);
        var bye = Assert.Single(h.Requests("BYE"));
        Assert.Equal("fork-2", bye.To!.Tag);
        Assert.Equal("sip:300@192.0.2.11:5070", bye.RequestLine!.RequestUri);
        Assert.Equal(["answered"], events);
    }

    [Fact]
    public void UAC_Cancel_waits_for_a_provisional_then_sends_CANCEL_with_the_INVITE_branch()
    {
        var h = new Harness();
        var (session, events) = h.Invite();
        var invite = h.Requests("INVITE")[0];
        session.Cancel();
        Assert.Empty(h.Requests("CANCEL")); // §9.1: not before a provisional response
        h.Deliver(h.Response(invite, 100, toTag: null));
        var cancel = Assert.Single(h.Requests("CANCEL"));
        Assert.Equal(invite.TopVia!.Branch, cancel.TopVia!.Branch);
        Assert.Equal("1 CANCEL", cancel.GetFirst("CSeq"));
        Assert.Equal(invite.RequestLine!.RequestUri, cancel.RequestLine!.RequestUri);
        Assert.Null(cancel.To!.Tag);
        h.Deliver(h.Response(cancel, 200));
        h.Deliver(h.Response(invite, 487));
        Assert.Single(h.Requests("ACK"));
        Assert.Equal(["failed 487"], events);
        Assert.Equal(0, h.Stack.SessionCount);
    }

    [Fact]
    public async Task A_BYE_read_by_another_loop_is_reported_after_the_answer_it_follows()
    {
        // Two UDP receive loops: one handles the 200 and is still running the Answered handler when the other handles
        // the callee's BYE. "ended" must not reach the application before "answered" has been handled (the server
        // would otherwise bridge a caller to a leg it has already cleaned up).
        var h = new Harness();
        var events = new List<string>();
        using var inAnswered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var session = h.Stack.Invite(new InviteRequest("sip:300@192.0.2.10:5070", "100", "Queue", Encoding.ASCII.GetBytes(Sdp),
            new SipRemote(SipTransportKind.Udp, Harness.Peer)), s =>
            {
                s.Answered += _ =>
                {
                    lock (events) events.Add("answered");
                    inAnswered.Set();
                    release.Wait(TimeSpan.FromSeconds(10));
                    lock (events) events.Add("answered handled");
                };
                s.Ended += (_, r) => { lock (events) events.Add($"ended {r}"); };
            });
        SpinWait.SpinUntil(() => h.Requests("INVITE").Count > 0, TimeSpan.FromSeconds(5));
        var invite = h.Requests("INVITE")[0];
        var first = Task.Run(() => h.Deliver(h.Response(invite, 200, body: Sdp, extra: "Contact: <sip:300@192.0.2.10:5070>")));
        Assert.True(inAnswered.Wait(TimeSpan.FromSeconds(10)));
        var ok = h.Responses(200).Count;
        await Task.Run(() => h.Deliver(h.Request("BYE", branch: "z9hG4bKbye9", callId: session.CallId, fromTag: "uas-tag",
            toTag: h.Stack.Locked(session.CallId, () => session.LocalTag), uri: "sip:100@192.0.2.1", cseq: 1)))
            .WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ok + 1, h.Responses(200).Count); // the BYE was handled (answered 200) while the handler still runs
        lock (events) Assert.Equal(["answered"], events);
        release.Set();
        await first.WaitAsync(TimeSpan.FromSeconds(10));
        lock (events) Assert.Equal(["answered", "answered handled", "ended RemoteBye"], events);
    }

    [Fact]
    public void UAC_Cancel_crossed_by_a_2xx_ACKs_and_sends_BYE()
    {
        var h = new Harness();
        var (session, events) = h.Invite();
        var invite = h.Requests("INVITE")[0];
        h.Deliver(h.Response(invite, 180));
        session.Cancel();
        Assert.Single(h.Requests("CANCEL"));
        h.Deliver(h.Response(invite, 200, body: Sdp, extra: "Contact: <sip:300@192.0.2.10:5070>"));
        Assert.Single(h.Requests("ACK"));
        Assert.Single(h.Requests("BYE"));
        Assert.Equal(["progress 180", "ended LocalCancel"], events);
    }

    [Fact]
    public void UAC_gives_up_64_T1_after_an_unanswered_CANCEL()
    {
        var h = new Harness();
        var (session, events) = h.Invite();
        h.Deliver(h.Response(h.Requests("INVITE")[0], 180));
        session.Cancel();
        h.Advance(TimeSpan.FromSeconds(32));
        Assert.Equal(["progress 180", "failed 408"], events);
        Assert.Equal(0, h.Stack.SessionCount);
    }

    [Fact]
    public void UAC_cancels_an_INVITE_that_rings_past_the_client_timeout()
    {
        var h = new Harness();
        var (_, events) = h.Invite();
        var invite = h.Requests("INVITE")[0];
        h.Deliver(h.Response(invite, 180));
        h.Advance(TimeSpan.FromMinutes(4.9));
        Assert.Empty(h.Requests("CANCEL"));
        h.Advance(TimeSpan.FromSeconds(6));
        Assert.Single(h.Requests("CANCEL"));
        h.Deliver(h.Response(invite, 487));
        Assert.Equal(["progress 180", "failed 487"], events);
    }

    [Fact]
    public void An_answered_UAC_call_is_not_cancelled_by_the_client_timeout()
    {
        var h = new Harness();
        var (session, events) = h.Invite();
        h.Deliver(h.Response(h.Requests("INVITE")[0], 200, body: Sdp, extra: "Contact: <sip:300@192.0.2.10:5070>"));
        h.Advance(TimeSpan.FromMinutes(6));
        Assert.Empty(h.Requests("CANCEL"));
        Assert.Empty(h.Requests("BYE"));
        Assert.Equal(InviteState.Established, session.State);
        Assert.Equal(["answered"], events);
    }

    [Fact]
    public void A_throwing_event_handler_does_not_break_the_stack()
    {
        var h = new Harness();
        var (session, events) = h.Invite();
        session.Progress += (_, _) => throw new InvalidOperationException("handler bug");
        var invite = h.Requests("INVITE")[0];
        h.Deliver(h.Response(invite, 180));
        h.Deliver(h.Response(invite, 200, body: Sdp, extra: "Contact: <sip:300@192.0.2.10:5070>"));
        Assert.Equal(["progress 180", "answered"], events);
    }

    [Fact]
    public void An_application_handler_that_throws_gets_its_request_a_500()
    {
        var h = new Harness(onRequest: _ => throw new InvalidOperationException("handler bug"));
        h.Deliver(h.Request("MESSAGE", body: "hello", contentType: "text/plain"));
        Assert.Single(h.Responses(500));
        h.Deliver(h.Request("OPTIONS", branch: "z9hG4bKopt"));
        Assert.Single(h.Responses(200));
    }

    [Fact]
    public void Unanswered_INVITE_gets_408_after_the_server_timeout()
    {
        var (h, last) = Uas();
        h.Deliver(h.Request("INVITE", body: Sdp));
        var session = last()!.AcceptInvite();
        var events = Harness.Record(session);
        h.Advance(TimeSpan.FromMinutes(3));
        Assert.Single(h.Responses(408));
        Assert.Equal(["ended RequestTimeout"], events);
        Assert.Equal(0, h.Stack.SessionCount);
    }
}
