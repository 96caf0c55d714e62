using System.Buffers.Binary;
using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

/// <summary>RTCP (RFC 3550 §6): compound packets written and read back field by field, the validity checks of §A.2, the
/// report interval of §6.3.1, and the receiver statistics of §A.3/§A.8.</summary>
public sealed class RtcpTests
{
    private static readonly RtcpReportBlock Block = new(0xCAFEBABE, 64, -3, 0x0001_0010, 160, 0x12345678, 65536);

    [Fact]
    public void A_sender_report_with_a_block_and_its_CNAME_reads_back_field_by_field()
    {
        var buffer = new byte[256];
        var sender = new RtcpSenderInfo(0xE1234567_89ABCDEF, 160_000, 1000, 160_000);
        var n = RtcpPacket.Write(buffer, 0x11223344, sender, [Block], "lineup@192.0.2.1");

        // SR: V=2, RC=1, PT=200, length (1 + 5 + 6 words); SDES: SC=1, PT=202; a multiple of four in all.
        Assert.Equal(0x81, buffer[0]);
        Assert.Equal(200, buffer[1]);
        Assert.Equal(12, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2)));
        Assert.Equal(0x81, buffer[52]);
        Assert.Equal(202, buffer[53]);
        Assert.Equal(0, n % 4);

        Assert.True(RtcpPacket.TryParse(buffer.AsSpan(0, n), out var report, out var error), error);
        Assert.Equal(0x11223344u, report!.Ssrc);
        Assert.Equal(sender, report.Sender);
        Assert.Equal([Block], report.Blocks);
        Assert.Equal("lineup@192.0.2.1", report.CanonicalName);
        Assert.False(report.Bye);
    }

    [Fact]
    public void A_receiver_report_without_blocks_then_BYE_reads_back()
    {
        var buffer = new byte[128];
        var n = RtcpPacket.Write(buffer, 7, null, [], "x", bye: true);
        Assert.Equal(201, buffer[1]);
        Assert.Equal(0x80, buffer[0]); // RC = 0
        Assert.True(RtcpPacket.TryParse(buffer.AsSpan(0, n), out var report, out var error), error);
        Assert.Equal(7u, report!.Ssrc);
        Assert.Null(report.Sender);
        Assert.Empty(report.Blocks);
        Assert.Equal("x", report.CanonicalName);
        Assert.True(report.Bye);
        Assert.True(RtcpPacket.IsRtcp(buffer));
    }

    [Fact]
    public void A_BYE_with_a_reason_from_a_peer_is_read()
    {
        byte[] packet =
        [
            0x80, 201, 0, 1, 0, 0, 0, 9,                 // RR, no blocks, SSRC 9
            0x81, 203, 0, 3, 0, 0, 0, 9, 4, (byte)'d', (byte)'o', (byte)'n', (byte)'e', 0, 0, 0, // BYE SSRC 9 "done"
        ];
        Assert.True(RtcpPacket.TryParse(packet, out var report, out var error), error);
        Assert.True(report!.Bye);
        Assert.Equal("done", report.ByeReason);
        Assert.Null(report.CanonicalName);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 201 }, "shorter than an RTCP header")]
    [InlineData(new byte[] { 0x80, 202, 0, 0 }, "starts with an SR or RR")]
    [InlineData(new byte[] { 0x40, 201, 0, 1, 0, 0, 0, 1 }, "version is not 2")]
    [InlineData(new byte[] { 0x80, 201, 0, 5, 0, 0, 0, 1 }, "runs past the end")]
    [InlineData(new byte[] { 0x81, 201, 0, 1, 0, 0, 0, 1 }, "report blocks run past the packet")]
    [InlineData(new byte[] { 0xA0, 201, 0, 1, 0, 0, 0, 1, 0x80, 203, 0, 1, 0, 0, 0, 1 }, "padding on a packet that is not the last")]
    [InlineData(new byte[] { 0x80, 201, 0, 1, 0, 0, 0, 1, 0x81, 202, 0, 1, 0, 0, 0, 1 }, "SDES item runs past")]
    public void Packets_failing_the_validity_checks_are_refused_with_a_reason(byte[] packet, string reason)
    {
        Assert.False(RtcpPacket.TryParse(packet, out var report, out var error));
        Assert.Null(report);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_truncation_of_a_valid_packet_inside_one_of_its_packets_is_refused_without_throwing()
    {
        var buffer = new byte[256];
        var n = RtcpPacket.Write(buffer, 1, new RtcpSenderInfo(1, 2, 3, 4), [Block, Block], "cname", bye: true);
        var boundaries = new HashSet<int>();
        for (var at = 0; at < n; at += 4 * (BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(at + 2)) + 1)) boundaries.Add(at);
        Assert.Equal(3, boundaries.Count); // SR, SDES, BYE
        for (var i = 0; i < n; i++)
        {
            // Cut between two packets, what is left is a shorter valid compound packet (SR alone, SR + SDES).
            Assert.Equal(boundaries.Contains(i) && i > 0, RtcpPacket.TryParse(buffer.AsSpan(0, i), out _, out _));
        }
    }

    [Fact]
    public void NTP_timestamps_count_from_1900_with_a_binary_fraction()
    {
        var ntp = RtcpPacket.NtpTimestamp(new DateTimeOffset(1970, 1, 1, 0, 0, 0, 500, TimeSpan.Zero));
        Assert.Equal(2_208_988_800UL, ntp >> 32);
        Assert.Equal(0x8000_0000UL, ntp & 0xFFFF_FFFF);
        Assert.Equal((uint)((2_208_988_800UL & 0xFFFF) << 16 | 0x8000), RtcpPacket.Middle(ntp));
    }

    [Fact]
    public void A_two_party_G711_call_reports_every_2_to_6_seconds_and_the_first_report_comes_sooner()
    {
        var bandwidth = RtcpInterval.RtcpOctetsPerSecond(80_000); // G.711 with IP/UDP/RTP headers: 500 octets/s
        Assert.Equal(500, bandwidth);
        // 2 members, both sending, 100-octet reports: 0.4 s deterministic, so the 5 s minimum (2.5 s at first).
        Assert.Equal(TimeSpan.FromSeconds(5), RtcpInterval.Deterministic(2, 2, bandwidth, true, 100, initial: false));
        Assert.Equal(TimeSpan.FromSeconds(2.5), RtcpInterval.Deterministic(2, 2, bandwidth, true, 100, initial: true));
        var shortest = RtcpInterval.Next(2, 2, bandwidth, true, 100, false, 0);
        var longest = RtcpInterval.Next(2, 2, bandwidth, true, 100, false, 0.999999);
        Assert.InRange(shortest.TotalSeconds, 2.05, 2.06); // 5 × 0.5 / (e − 1.5)
        Assert.InRange(longest.TotalSeconds, 6.15, 6.16);  // 5 × 1.5 / (e − 1.5)
    }

    [Fact]
    public void With_many_members_and_few_senders_senders_share_a_quarter_of_the_bandwidth()
    {
        // 1000 members, 10 senders, 500 octets/s, 100-octet reports: a sender's interval is 100 × 10 / 125 = 8 s;
        // a receiver's 100 × 990 / 375 = 264 s.
        Assert.Equal(8, RtcpInterval.Deterministic(1000, 10, 500, true, 100, false).TotalSeconds, 6);
        Assert.Equal(264, RtcpInterval.Deterministic(1000, 10, 500, false, 100, false).TotalSeconds, 6);
        Assert.Equal(100 + ((72 + 28 - 100) / 16.0), RtcpInterval.UpdateAverageSize(100, 72));
    }

    [Fact]
    public void Reception_counts_loss_since_the_last_report_and_across_a_sequence_wrap()
    {
        var r = new RtcpReception();
        Assert.Null(r.Report(0));
        // 65530..65535, then 0..9 with 2 and 3 lost: 16 expected, 14 received.
        ushort seq = 65530;
        for (var i = 0; i < 16; i++, seq++)
        {
            if (seq is 2 or 3) continue;
            r.OnRtp(42, seq, (uint)(i * 160), (uint)(1000 + (i * 160)));
        }
        var block = r.Report(0)!.Value;
        Assert.Equal(42u, block.Ssrc);
        Assert.Equal(0x0001_0009u, block.HighestSequence);
        Assert.Equal(2, block.CumulativeLost);
        Assert.Equal((byte)(2 * 256 / 16), block.FractionLost);
        Assert.Equal(0u, block.Jitter); // perfectly paced
        Assert.Equal(0u, block.LastSenderReport);

        // Ten more, none lost: the fraction is since the last report.
        for (var i = 16; i < 26; i++, seq++) r.OnRtp(42, seq, (uint)(i * 160), (uint)(1000 + (i * 160)));
        block = r.Report(0)!.Value;
        Assert.Equal(0, block.FractionLost);
        Assert.Equal(2, block.CumulativeLost);
    }

    [Fact]
    public void Reception_jitter_follows_the_transit_differences_and_the_block_echoes_the_last_SR()
    {
        var r = new RtcpReception();
        // Packets every 160 timestamp units, arriving alternately 0 and 80 units late: |D| = 80 each time after the first.
        for (var i = 0; i < 200; i++) r.OnRtp(5, (ushort)i, (uint)(i * 160), (uint)((i * 160) + (i % 2 == 0 ? 0 : 80)));
        Assert.InRange(r.Jitter, 78u, 80u); // J converges to 80
        var ntp = 0x0000_1234_5678_0000UL;
        r.OnSenderReport(ntp, nowTicks: 0);
        var block = r.Report(TimeSpan.FromSeconds(1.5).Ticks)!.Value;
        Assert.Equal(0x1234_5678u, block.LastSenderReport);
        Assert.Equal((uint)(1.5 * 65536), block.DelaySinceLastSenderReport);
    }
}
