using System.Text;
using BenchmarkDotNet.Attributes;
using Lineup.Sip;
using Lineup.Sip.Media;

namespace Lineup.Bench;

/// <summary>The SIP hot paths per message and per packet: parsing an INVITE with SDP, writing its response, and
/// G.711-encoding one 20 ms frame.</summary>
[MemoryDiagnoser]
public class SipBenchmarks
{
    private static readonly byte[] Invite = Encoding.ASCII.GetBytes(
        "INVITE sip:700@192.0.2.10 SIP/2.0\r\n" +
        "Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bK776asdhds;rport\r\n" +
        "Max-Forwards: 70\r\n" +
        "From: \"Bob Caller\" <sip:+14155550100@198.51.100.7>;tag=1928301774\r\n" +
        "To: <sip:700@192.0.2.10>\r\n" +
        "Call-ID: a84b4c76e66710@pc33.example.com\r\n" +
        "CSeq: 314159 INVITE\r\n" +
        "Contact: <sip:+14155550100@198.51.100.7:5062>\r\n" +
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO\r\n" +
        "User-Agent: bench\r\n" +
        "Content-Type: application/sdp\r\n" +
        "Content-Length: 187\r\n\r\n" +
        "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n" +
        "m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n");

    private readonly short[] _frame = new short[160];
    private readonly byte[] _encoded = new byte[160];
    private SipMessage _parsed = null!;

    [GlobalSetup]
    public void Setup()
    {
        _parsed = SipParser.Parse(Invite).Message ?? throw new InvalidOperationException("the INVITE must parse");
        for (var i = 0; i < _frame.Length; i++) _frame[i] = (short)(8000 * Math.Sin(i * 0.3));
    }

    [Benchmark]
    public SipParseResult ParseInvite() => SipParser.Parse(Invite);

    [Benchmark]
    public byte[] Write200() => SipWriter.Write(SipResponse.Create(_parsed, 200, toTag: "as7d8f"));

    [Benchmark]
    public byte EncodeFramePcmu()
    {
        G711.Encode(Codec.Pcmu, _frame, _encoded);
        return _encoded[159];
    }
}
