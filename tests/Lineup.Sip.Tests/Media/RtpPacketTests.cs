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

    /// <summary>
    /// 20,000 random buffers (half with version 2): none throws, a refusal always says why, and every accepted packet
    /// reads as RFC 3550 §5.1 lays it out, checked against a reading of the bytes written here: version 2, the
    /// header fields at their offsets, and a payload that is exactly what lies between the header (12 bytes, CSRCs and
    /// extension) and the padding.
    /// </summary>
    [Fact]
    public void Random_bytes_parse_to_their_rfc_3550_fields_or_are_refused_with_a_reason()
    {
        var random = new Random(7);
        var buffer = new byte[64];
        var (accepted, refused) = (0, 0);
        for (var i = 0; i < 20_000; i++)
        {
            var length = random.Next(0, buffer.Length);
            random.NextBytes(buffer);
            if (i % 2 == 0) buffer[0] = (byte)(0x80 | (buffer[0] & 0x3F));
            var data = buffer.AsSpan(0, length);
            if (!RtpPacket.TryParse(data, out var p, out var error))
            {
                Assert.False(string.IsNullOrEmpty(error));
                refused++;
                continue;
            }
            accepted++;
            Assert.Equal(2, data[0] >> 6);
            Assert.Equal((data[0] & 0x10) != 0, p.HasExtension);
            Assert.Equal(data[0] & 0x0F, p.CsrcCount);
            Assert.Equal((data[1] & 0x80) != 0, p.Marker);
            Assert.Equal(data[1] & 0x7F, p.PayloadType);
            Assert.Equal((data[2] << 8) | data[3], p.SequenceNumber);
            Assert.Equal(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(data[4..]), p.Timestamp);
            Assert.Equal(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(data[8..]), p.Ssrc);
            var header = 12 + (4 * p.CsrcCount);
            if (p.HasExtension) header += 4 + (4 * ((data[header + 2] << 8) | data[header + 3]));
            var padding = (data[0] & 0x20) != 0 ? data[^1] : 0;
            Assert.Equal(padding, p.PaddingLength);
            Assert.Equal(data[header..(length - padding)].ToArray(), p.Payload.ToArray());
        }
        // Both paths were taken many times: the check above is not vacuous.
        Assert.True(accepted > 1_000 && refused > 1_000, $"accepted {accepted}, refused {refused}");
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

    /// <summary>RFC 3550 §5.1: SSRC, first sequence number and first timestamp are each random. Twenty streams give
    /// twenty SSRCs and timestamps (a repeat among 32-bit values is a one in ten million event) and at least 19
    /// sequence numbers (one repeat among 16-bit values happens 0.3 % of the time; two, practically never).</summary>
    [Fact]
    public void Send_streams_start_at_random_values()
    {
        var streams = Enumerable.Range(0, 20).Select(_ => new RtpSendStream()).ToList();
        Assert.Equal(20, streams.Select(s => s.Ssrc).Distinct().Count());
        Assert.Equal(20, streams.Select(s => s.NextTimestamp).Distinct().Count());
        Assert.InRange(streams.Select(s => s.NextSequence).Distinct().Count(), 19, 20);
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
