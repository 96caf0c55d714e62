using System.Net;
using System.Text;
using Lineup.Sip.Stack;
using Lineup.Sip.Transactions;
using Lineup.Sip.Transport;
using Microsoft.Extensions.Time.Testing;

namespace Lineup.Sip.Tests.Stack;

/// <summary>Where requests go: explicit destination, outbound proxy, the Request-URI's host; the UAS route set.</summary>
public sealed class OutboundRoutingTests
{
    private static async Task<(SipStack Stack, FakeTransport Transport)> Start(SipRemote? proxy = null, string? publicHost = null)
    {
        var transport = new FakeTransport();
        var stack = new SipStack(new SipStackOptions { OutboundProxy = proxy, PublicHost = publicHost, Timers = SipTimerOptions.Default }, [transport], new FakeTimeProvider());
        await stack.StartAsync();
        return (stack, transport);
    }

    private static async Task<(IPEndPoint To, SipMessage Invite)> FirstInvite(FakeTransport transport)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            lock (transport.Sent)
            {
                if (transport.Sent.Count > 0)
                {
                    return transport.Sent[0];
                }
            }
            await Task.Delay(5);
        }
        throw new TimeoutException("no INVITE was sent");
    }

    [Fact]
    public async Task Without_destination_or_proxy_the_INVITE_goes_to_the_URI_host_and_port()
    {
        var (stack, transport) = await Start(publicHost: "pbx.example.com");
        stack.Invite(new InviteRequest("sip:1001@198.51.100.20:5080", "queue", null, Encoding.ASCII.GetBytes("v=0\r\n")));
        var (to, invite) = await FirstInvite(transport);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("198.51.100.20"), 5080), to);
        Assert.Equal("pbx.example.com", invite.TopVia!.Host);
        Assert.Contains("@pbx.example.com:5060", invite.GetFirst("Contact"));
        Assert.Equal("sip:1001@198.51.100.20:5080", invite.RequestLine!.RequestUri);
    }

    [Fact]
    public async Task The_outbound_proxy_is_used_when_no_destination_is_given_and_a_destination_wins_over_it()
    {
        var proxy = new SipRemote(SipTransportKind.Udp, new IPEndPoint(IPAddress.Parse("203.0.113.5"), 5060));
        var (stack, transport) = await Start(proxy);
        stack.Invite(new InviteRequest("sip:+15550100@carrier.example", "queue", null, default));
        Assert.Equal(proxy.EndPoint, (await FirstInvite(transport)).To);

        var (stack2, transport2) = await Start(proxy);
        var contact = new SipRemote(SipTransportKind.Udp, new IPEndPoint(IPAddress.Parse("192.0.2.33"), 40000));
        stack2.Invite(new InviteRequest("sip:agent7@192.0.2.33:40000", "queue", null, default, contact));
        Assert.Equal(contact.EndPoint, (await FirstInvite(transport2)).To);
    }

    [Fact]
    public void UAS_requests_in_the_dialog_carry_the_Record_Route_set_in_order_and_go_to_the_flow()
    {
        SipIncomingRequest? incoming = null;
        var h = new Harness(onRequest: r => { incoming = r; return ValueTask.CompletedTask; });
        h.Deliver(h.Request("INVITE", body: "v=0\n", extra: "Record-Route: <sip:p1.example.com;lr>\nRecord-Route: <sip:p2.example.com;lr>"));
        var session = incoming!.AcceptInvite();
        session.Answer("v=0\r\n"u8.ToArray());
        var ok = h.Responses(200).Single();
        Assert.Equal(["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"], ok.GetValues("Record-Route").ToArray());
        h.Deliver(h.Request("ACK", branch: "z9hG4bKack", toTag: ok.To!.Tag));
        h.Clear();
        session.Hangup();
        var (to, bye) = h.Transport.Sent.Single();
        Assert.Equal(Harness.Peer, to);
        Assert.Equal(["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"], bye.GetValues("Route").ToArray());
        Assert.Equal("1 BYE", bye.GetFirst("CSeq"));
        Assert.Equal(ok.To.Tag, bye.From!.Tag);
        Assert.Equal("peer-tag", bye.To!.Tag);
    }
}
