using Lineup.Sip.Stack;

namespace Lineup.Sip.Tests.Stack;

/// <summary>At Debug the stack logs every SIP message it receives and sends, whole, but never a secret: SDES keys and
/// digest responses are redacted.</summary>
public sealed class MessageLogTests
{
    [Fact]
    public void Every_message_received_and_sent_is_logged_whole_at_debug()
    {
        var h = new Harness();
        h.Deliver(h.Request("OPTIONS", callId: "logged-1", extra: "Authorization: Digest username=\"1001\", realm=\"default\", nonce=\"n1\", uri=\"sip:100@192.0.2.1\", response=\"0123456789abcdef0123456789abcdef\""));

        var received = Assert.Single(h.Log.Lines, l => l.Id == 5006);
        Assert.Contains("OPTIONS sip:100@192.0.2.1 SIP/2.0", received.Text, StringComparison.Ordinal);
        Assert.Contains("Call-ID: logged-1", received.Text, StringComparison.Ordinal);
        Assert.Contains($"response=\"{SipLogText.Redacted}\"", received.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("0123456789abcdef", received.Text, StringComparison.Ordinal);
        Assert.Contains("192.0.2.10", received.Text, StringComparison.Ordinal); // the peer

        var sent = Assert.Single(h.Log.Lines, l => l.Id == 5007);
        Assert.Contains("SIP/2.0 200 OK", sent.Text, StringComparison.Ordinal);
        Assert.Contains("Call-ID: logged-1", sent.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32\r\n",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>|2^20|1:32\r\n")]
    [InlineData("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n",
        "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:<redacted>\r\n")]
    [InlineData("Proxy-Authorization: Digest username=\"a\", response=6629fae49393a05397450978507c4ef1, algorithm=MD5",
        "Proxy-Authorization: Digest username=\"a\", response=\"<redacted>\", algorithm=MD5")]
    [InlineData("Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1", "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1")]
    public void Secrets_are_redacted_and_the_rest_kept(string text, string logged) =>
        Assert.Equal(logged, SipLogText.Redact(text));
}
