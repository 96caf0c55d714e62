using System.Text;
using BenchmarkDotNet.Attributes;
using Lineup.Sip;
using Lineup.Sip.Media;

namespace Lineup.Bench;

/// <summary>The SIP hot paths per message and per packet: parsing an INVITE with SDP, writing its response,
/// G.711-encoding one 20 ms frame, and SRTP-protecting and -unprotecting one 20 ms G.711 packet (172 bytes).</summary>
[MemoryDiagnoser]
public class SipBenchmarks
{
    /// <summary>A typical INVITE from a phone, with an SDP offer (shared with <see cref="SipAllocHarness"/>).</summary>
    internal static readonly byte[] Invite = Encoding.ASCII.GetBytes(
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
    private readonly byte[] _rtp = new byte[12 + 160 + 16];
    private readonly byte[] _srtp = new byte[12 + 160 + 16];
    private SrtpContext _sender = null!;
    private SrtpContext _receiver = null!;
    private ushort _sequence;

    [GlobalSetup]
    public void Setup()
    {
        _parsed = SipParser.Parse(Invite).Message ?? throw new InvalidOperationException("the INVITE must parse");
        for (var i = 0; i < _frame.Length; i++) _frame[i] = (short)(8000 * Math.Sin(i * 0.3));
        var key = SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_80);
        _sender = new SrtpContext(key);
        _receiver = new SrtpContext(key);
        RtpPacket.WriteHeader(_rtp, false, 0, 1, 160, 0x12345678);
        _rtp.AsSpan(12, 160).Fill(0x55);
        _rtp.CopyTo(_srtp, 0);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sender.Dispose();
        _receiver.Dispose();
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

    [Benchmark]
    public int SrtpProtect()
    {
        // A new sequence number each time, as a sender does (the rollover counter moves on every 65,536).
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_rtp.AsSpan(2), ++_sequence);
        return _sender.Protect(_rtp, 172);
    }

    [Benchmark]
    public int SrtpProtectThenUnprotect()
    {
        // What one packet costs across a bridge: protected by the sender, then authenticated, replay-checked and
        // decrypted by the receiver (a new sequence number each time, so the receiver accepts it).
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_srtp.AsSpan(2), ++_sequence);
        _srtp.AsSpan(12, 160).Fill(0x55);
        var n = _sender.Protect(_srtp, 172);
        return _receiver.Unprotect(_srtp, n, out _);
    }
}
