using System.Net;
using Lineup.Sip.Stack;
using Lineup.Sip.Transport;

namespace Lineup.Sip.Tests.Stack;

/// <summary>The UA core's own answers (RFC 3261 §8.2, §11, §18.2, RFC 3581) on the fake transport.</summary>
public sealed class StackCoreTests
{
    [Fact]
    public void Malformed_request_with_the_five_headers_gets_400_with_the_reason_in_a_Warning()
    {
        var h = new Harness();
        h.Deliver(h.Request("OPTIONS", extra: "Expires: soon"));
        var bad = Assert.Single(h.Responses(400));
        Assert.Equal("Bad Request", bad.StatusLine!.ReasonPhrase);
        Assert.Contains("Expires", bad.GetFirst("Warning"));
        Assert.StartsWith("399 ", bad.GetFirst("Warning"));
        Assert.Equal(Harness.Peer, h.Transport.Sent[0].To);
        Assert.NotNull(bad.To!.Tag);
    }

    [Fact]
    public void Unanswerable_garbage_is_dropped_silently_and_counted()
    {
        var h = new Harness();
        h.Deliver("INVITE sip:x@y SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\nContent-Length: 0\n\n");
        h.Deliver("this is not SIP\n\n");
        h.Transport.Deliver(Harness.Peer, [0xff, 0x00, 0x13]);
        h.Deliver("\n\n"); // keep-alive: neither answered nor counted
        Assert.Empty(h.Sent);
        Assert.Equal(3, h.Stack.DroppedMessages);
    }

    [Fact]
    public void OPTIONS_is_answered_200_with_Allow_Accept_and_Supported()
    {
        var h = new Harness();
        h.Deliver(h.Request("OPTIONS"));
        var ok = Assert.Single(h.Responses(200));
        Assert.Contains("INVITE", ok.GetValues("Allow"));
        Assert.Contains("BYE", ok.GetValues("Allow"));
        Assert.Contains("application/sdp", ok.GetValues("Accept"));
        Assert.NotNull(ok.GetFirst("Supported"));
    }

    [Fact]
    public void Rport_request_gets_received_and_rport_in_its_Via_and_the_response_at_the_source_port()
    {
        var h = new Harness();
        var natted = new IPEndPoint(IPAddress.Parse("198.51.100.7"), 40123);
        h.Deliver(h.Request("OPTIONS"), natted);
        var (to, ok) = h.Transport.Sent.Single();
        Assert.Equal(natted, to);
        Assert.Equal("198.51.100.7", ok.TopVia!.Received);
        Assert.Equal(40123, ok.TopVia.Rport);
    }

    [Fact]
    public void Without_rport_the_UDP_response_goes_to_the_source_address_at_the_sent_by_port()
    {
        var h = new Harness();
        h.Deliver(h.Request("OPTIONS", rport: false), new IPEndPoint(IPAddress.Parse("198.51.100.7"), 40123));
        var (to, ok) = h.Transport.Sent.Single();
        Assert.Equal(new IPEndPoint(IPAddress.Parse("198.51.100.7"), 5070), to);
        Assert.Equal("198.51.100.7", ok.TopVia!.Received);
        Assert.False(ok.TopVia.HasRport);
    }

    [Fact]
    public void TCP_responses_go_back_on_the_connection_the_request_came_on()
    {
        var h = new Harness(SipTransportKind.Tcp);
        var from = new IPEndPoint(IPAddress.Parse("198.51.100.7"), 40999);
        h.Deliver(h.Request("OPTIONS"), from);
        Assert.Equal(from, h.Transport.Sent.Single().To);
    }

    [Fact]
    public void Other_SIP_version_gets_505()
    {
        var h = new Harness();
        h.Deliver(h.Request("OPTIONS").Replace("SIP/2.0\n", "SIP/7.0\n", StringComparison.Ordinal));
        Assert.Single(h.Responses(505));
    }

    [Fact]
    public void Non_sip_Request_URI_gets_416()
    {
        var h = new Harness(onRequest: _ => ValueTask.CompletedTask);
        h.Deliver(h.Request("INVITE", uri: "mailto:someone@example.com", body: "v=0\n"));
        Assert.Single(h.Responses(416));
    }

    [Fact]
    public void Max_Forwards_zero_gets_483_except_OPTIONS_which_is_answered()
    {
        var h = new Harness(onRequest: _ => ValueTask.CompletedTask);
        h.Deliver(h.Request("INVITE", body: "v=0\n").Replace("Max-Forwards: 70", "Max-Forwards: 0", StringComparison.Ordinal));
        Assert.Single(h.Responses(483));
        h.Deliver(h.Request("OPTIONS", branch: "z9hG4bKo").Replace("Max-Forwards: 70", "Max-Forwards: 0", StringComparison.Ordinal));
        Assert.Single(h.Responses(200));
    }

    [Fact]
    public void Unknown_method_gets_501_with_Allow()
    {
        var h = new Harness();
        h.Deliver(h.Request("FROBNICATE"));
        var r = Assert.Single(h.Responses(501));
        Assert.NotNull(r.GetFirst("Allow"));
    }

    [Fact]
    public void Required_extension_gets_420_with_Unsupported()
    {
        var h = new Harness(onRequest: _ => ValueTask.CompletedTask);
        h.Deliver(h.Request("INVITE", body: "v=0\n", extra: "Require: 100rel, foo"));
        var r = Assert.Single(h.Responses(420));
        Assert.Equal(["100rel", "foo"], r.GetValues("Unsupported").ToArray());
    }

    [Fact]
    public void INVITE_with_a_body_that_is_not_SDP_gets_415_with_Accept()
    {
        var h = new Harness(onRequest: _ => ValueTask.CompletedTask);
        h.Deliver(h.Request("INVITE", body: "<x/>", contentType: "application/xml"));
        var r = Assert.Single(h.Responses(415));
        Assert.Equal("application/sdp", r.GetFirst("Accept"));
    }

    [Fact]
    public void Request_with_a_To_tag_outside_any_dialog_gets_481()
    {
        var h = new Harness();
        h.Deliver(h.Request("INFO", toTag: "nope"));
        Assert.Single(h.Responses(481));
    }

    [Fact]
    public void Without_a_handler_INVITE_gets_480_and_REGISTER_405()
    {
        var h = new Harness();
        h.Deliver(h.Request("INVITE", body: "v=0\n"));
        h.Deliver(h.Request("REGISTER", branch: "z9hG4bKreg", uri: "sip:192.0.2.1"));
        Assert.Single(h.Responses(480));
        Assert.Single(h.Responses(405));
    }

    [Fact]
    public void REGISTER_goes_to_the_handler_which_may_respond_with_a_whole_message()
    {
        SipIncomingRequest? seen = null;
        var h = new Harness(onRequest: r =>
        {
            seen = r;
            var response = SipResponse.Create(r.Request, 200, toTag: "reg", headers: [new SipHeader("Contact", "<sip:200@192.0.2.10:5070>;expires=60")]);
            Assert.True(r.Respond(response));
            Assert.False(r.Respond(500)); // only the first final response counts
            return ValueTask.CompletedTask;
        });
        h.Deliver(h.Request("REGISTER", uri: "sip:192.0.2.1"));
        Assert.Equal(Harness.Peer, seen!.Remote.EndPoint);
        Assert.Equal(SipTransportKind.Udp, seen.Remote.Transport);
        var ok = Assert.Single(h.Sent);
        Assert.Equal(200, ok.StatusLine!.StatusCode);
        Assert.Equal("<sip:200@192.0.2.10:5070>;expires=60", ok.GetFirst("Contact"));
        Assert.True(seen.Request.TopVia!.Rport is 5070);
    }

    [Fact]
    public async Task Handler_may_answer_later_from_another_thread()
    {
        var gate = new TaskCompletionSource();
        var h = new Harness(onRequest: async r =>
        {
            await gate.Task;
            r.Respond(404);
        });
        h.Deliver(h.Request("MESSAGE", body: "x", contentType: "text/plain"));
        Assert.Empty(h.Sent);
        await Task.Run(gate.SetResult);
        SpinWait.SpinUntil(() => h.Responses(404).Count == 1, TimeSpan.FromSeconds(5));
        Assert.Single(h.Responses(404));
    }

    [Fact]
    public async Task Transaction_table_is_bounded_and_new_requests_beyond_it_get_503()
    {
        var transport = new FakeTransport();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var stack = new SipStack(new SipStackOptions { MaxTransactions = 3 }, [transport], time);
        await stack.StartAsync();
        var h = new Harness();
        for (var i = 0; i < 5; i++)
        {
            transport.Deliver(Harness.Peer, h.Request("OPTIONS", branch: $"z9hG4bKmany{i}").Replace("\n", "\r\n", StringComparison.Ordinal));
        }
        Assert.Equal(3, stack.TransactionCount);
        Assert.Equal(2, transport.Sent.Count(s => s.Message.StatusLine?.StatusCode == 503));
        time.Advance(TimeSpan.FromSeconds(33));
        Assert.Equal(0, stack.TransactionCount);
    }
}
