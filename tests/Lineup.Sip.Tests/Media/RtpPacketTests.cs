using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

public class RtpPacketTests
{
    [Fact]
    public void Write_then_parse_round_trips()
    {
        var buffer = new byte[200];
        byte[] payload = [1, 2, 3, 4, 5];
        var n = RtpPacket.Write(buffer, marker: true, payloadType: 8, sequenceNumber: 65535, timestamp: 0xDEADBEEF, ssrc: 0x01020304, payload);
        Assert.Equal(17, n);
        Assert.True(RtpPacket.TryParse(buffer.AsSpan(0, n), out var p, out var error), error);
        Assert.True(p.Marker);
        Assert.Equal(8, p.PayloadType);
        Assert.Equal(65535, p.SequenceNumber);
        Assert.Equal(0xDEADBEEF, p.Timestamp);
        Assert.Equal(0x01020304u, p.Ssrc);
        Assert.Equal(payload, p.Payload.ToArray());
    }

    [Fact]
    public void Parse_skips_csrcs_extension_and_padding()
    {
        byte[] packet =
        [
            0xB2, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0, 9, // V=2 P=1 X=1 CC=2, PT 0
            0, 0, 0, 1, 0, 0, 0, 2, // two CSRCs
            0xBE, 0xDE, 0x00, 0x01, 0xAA, 0xBB, 0xCC, 0xDD, // extension: one word
            0x11, 0x22, 0x33, // payload
            0, 0, 3, // three bytes of padding
        ];
        Assert.True(RtpPacket.TryParse(packet, out var p, out _));
        Assert.Equal(2, p.CsrcCount);
        Assert.True(p.HasExtension);
        Assert.Equal(3, p.PaddingLength);
        Assert.Equal(new byte[] { 0x11, 0x22, 0x33 }, p.Payload.ToArray());
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 0, 0 })] // short
    [InlineData(new byte[] { 0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 })] // version 1
    [InlineData(new byte[] { 0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 })] // CSRC past end
    [InlineData(new byte[] { 0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5 })] // extension past end
    [InlineData(new byte[] { 0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 7, 0 })] // padding 0
    [InlineData(new byte[] { 0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 7, 9 })] // padding longer than payload
    public void Malformed_packets_are_refused(byte[] packet)
    {
        Assert.False(RtpPacket.TryParse(packet, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(7);
        var buffer = new byte[64];
        for (var i = 0; i < 20_000; i++)
        {
            var length = random.Next(0, buffer.Length);
            random.NextBytes(buffer);
            if (i % 2 == 0) buffer[0] = (byte)(0x80 | (buffer[0] & 0x3F));
            _ = RtpPacket.TryParse(buffer.AsSpan(0, length), out _, out _);
        }
    }

    [Fact]
    public void Send_stream_increments_sequence_and_timestamp_and_marks_the_first_packet()
    {
        var stream = new RtpSendStream(ssrc: 42, initialSequence: 65534, initialTimestamp: uint.MaxValue - 100);
        var buffer = new byte[12];
        var now = 1000L;
        var headers = new List<(bool Marker, ushort Seq, uint Ts)>();
        for (var i = 0; i < 3; i++)
        {
            stream.WriteAudioHeader(buffer, 0, 160, now);
            Assert.True(RtpPacket.TryParse(buffer, out var p, out _));
            Assert.Equal(42u, p.Ssrc);
            headers.Add((p.Marker, p.SequenceNumber, p.Timestamp));
            now += System.Diagnostics.Stopwatch.Frequency / 50;
        }
        Assert.Equal([(true, 65534, uint.MaxValue - 100), (false, 65535, 59), (false, 0, 219)], headers);
    }

    [Fact]
    public void Send_streams_start_at_random_values()
    {
        var a = new RtpSendStream();
        var b = new RtpSendStream();
        Assert.False(a.Ssrc == b.Ssrc && a.NextSequence == b.NextSequence && a.NextTimestamp == b.NextTimestamp);
    }

    [Fact]
    public void A_talkspurt_after_a_pause_moves_the_timestamp_on_by_the_pause()
    {
        var stream = new RtpSendStream(1, 0, 0);
        var buffer = new byte[12];
        var f = System.Diagnostics.Stopwatch.Frequency;
        stream.WriteAudioHeader(buffer, 0, 160, f);
        stream.StartTalkspurt();
        stream.WriteAudioHeader(buffer, 0, 160, f + f); // one second later
        Assert.True(RtpPacket.TryParse(buffer, out var p, out _));
        Assert.True(p.Marker);
        Assert.Equal(1, p.SequenceNumber);
        Assert.Equal(8000u, p.Timestamp);
    }
}
