using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

public sealed class SrtpTests
{
    // RFC 3711 appendix B.3 (key derivation) and the reference packet protected with those keys.
    private static readonly byte[] MasterKey = Convert.FromHexString("E1F97A0D3E018BE0D64FA32C06DE4139");
    private static readonly byte[] MasterSalt = Convert.FromHexString("0EC675AD498AFEEBB6960B3AABE6");
    private const string Plain = "800F1234DECAFBADCAFEBABE" + "ABABABABABABABABABABABABABABABAB";
    private const string Protected80 = "800F1234DECAFBADCAFEBABE" + "4E55DC4CE79978D88CA4D215949D2402" + "B78D6ACC99EA179B8DBB";

    [Fact]
    public void Key_derivation_matches_rfc3711_appendix_b3()
    {
        Assert.Equal("C61E7A93744F39EE10734AFE3FF7A087",
            Convert.ToHexString(SrtpKeyDerivation.Derive(MasterKey, MasterSalt, SrtpKeyDerivation.RtpEncryption, 16)));
        Assert.Equal("30CBBC08863D8C85D49DB34A9AE1",
            Convert.ToHexString(SrtpKeyDerivation.Derive(MasterKey, MasterSalt, SrtpKeyDerivation.RtpSalt, 14)));
        // The appendix derives 94 bytes of authentication key; HMAC-SHA1 uses the first 20.
        Assert.Equal("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE"
            + "E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25"
            + "6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2",
            Convert.ToHexString(SrtpKeyDerivation.Derive(MasterKey, MasterSalt, SrtpKeyDerivation.RtpAuthentication, 94)));
    }

    [Fact]
    public void Keystream_matches_rfc3711_appendix_b2()
    {
        // Session key and (already shifted) salt given directly; SSRC 0, ROC 0, SEQ 0: a zero payload encrypts to
        // the keystream itself.
        using var context = new SrtpContext(SrtpSuite.AesCm128HmacSha1_80, Convert.FromHexString("2B7E151628AED2A6ABF7158809CF4F3C"),
            new byte[20], Convert.FromHexString("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"));
        var packet = new byte[12 + 48 + 10];
        packet[0] = 0x80;
        Assert.Equal(packet.Length, context.Protect(packet, 12 + 48));
        Assert.Equal("E03EAD0935C95E80E166B16DD92B4EB4" + "D23513162B02D0F72A43A2FE4A5F97AB" + "41E95B3BB0A2E8DD477901E4FCA894C0",
            Convert.ToHexString(packet, 12, 48));
    }

    [Theory]
    [InlineData(SrtpSuite.AesCm128HmacSha1_80, Protected80)]
    [InlineData(SrtpSuite.AesCm128HmacSha1_32, "800F1234DECAFBADCAFEBABE" + "4E55DC4CE79978D88CA4D215949D2402" + "B78D6ACC")]
    public void Protects_the_reference_packet_with_its_authentication_tag(SrtpSuite suite, string expected)
    {
        using var sender = new SrtpContext(SrtpMasterKey.FromBytes(suite, MasterKey, MasterSalt));
        var buffer = new byte[64];
        var plain = Convert.FromHexString(Plain);
        plain.CopyTo(buffer, 0);
        var n = sender.Protect(buffer, plain.Length);
        Assert.Equal(expected, Convert.ToHexString(buffer, 0, n));

        using var receiver = new SrtpContext(SrtpMasterKey.FromBytes(suite, MasterKey, MasterSalt));
        Assert.Equal(plain.Length, receiver.Unprotect(buffer, n, out var error));
        Assert.Equal(SrtpError.None, error);
        Assert.Equal(Plain, Convert.ToHexString(buffer, 0, plain.Length));
    }

    [Fact]
    public void Tampered_packets_are_dropped_and_counted()
    {
        using var receiver = new SrtpContext(SrtpMasterKey.FromBytes(SrtpSuite.AesCm128HmacSha1_80, MasterKey, MasterSalt));
        var reference = Convert.FromHexString(Protected80);
        // Every single-bit flip anywhere (header, payload, tag) is caught.
        for (var bit = 0; bit < reference.Length * 8; bit++)
        {
            var copy = (byte[])reference.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Equal(-1, receiver.Unprotect(copy, copy.Length, out var error));
            Assert.True(error is SrtpError.AuthenticationFailed or SrtpError.Malformed, $"bit {bit}: {error}");
        }
        Assert.True(receiver.AuthenticationFailures >= (reference.Length - 1) * 8, receiver.AuthenticationFailures.ToString());
        // A failed packet changes no state: the genuine one still passes afterwards.
        Assert.Equal(28, receiver.Unprotect((byte[])reference.Clone(), reference.Length, out _));
    }

    [Fact]
    public void Replayed_packets_are_dropped_and_counted_but_late_ones_inside_the_window_pass()
    {
        var key = SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_80);
        using var sender = new SrtpContext(key);
        using var receiver = new SrtpContext(key);
        var packets = Enumerable.Range(0, 200).Select(i => Packet(sender, (ushort)(65_500 + i), i)).ToList(); // crosses a rollover
        // Deliver all but every tenth, then the held-back ones late (within the window), then replays.
        foreach (var (p, i) in packets.Select((p, i) => (p, i)).Where(x => x.i % 10 != 5))
        {
            Assert.True(receiver.Unprotect(p.ToArray(), p.Length, out var e) > 0, $"packet {i}: {e}");
        }
        Assert.True(receiver.Unprotect(packets[195].ToArray(), packets[195].Length, out _) > 0);
        Assert.True(receiver.Unprotect(packets[185].ToArray(), packets[185].Length, out _) > 0);
        Assert.Equal(0, receiver.Replays);
        Assert.Equal(-1, receiver.Unprotect(packets[199].ToArray(), packets[199].Length, out var replay));
        Assert.Equal(SrtpError.Replayed, replay);
        Assert.Equal(-1, receiver.Unprotect(packets[185].ToArray(), packets[185].Length, out _));
        Assert.Equal(-1, receiver.Unprotect(packets[5].ToArray(), packets[5].Length, out var old)); // behind the window
        Assert.Equal(SrtpError.Replayed, old);
        Assert.Equal(3, receiver.Replays);
        Assert.Equal(0, receiver.AuthenticationFailures);
    }

    [Fact]
    public void Rollover_counter_advances_on_both_sides_so_packets_after_a_wrap_still_decrypt()
    {
        var key = SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_32);
        using var sender = new SrtpContext(key);
        using var receiver = new SrtpContext(key);
        for (var i = 0; i < 70_000; i++)
        {
            var p = Packet(sender, (ushort)i, i);
            var n = receiver.Unprotect(p, p.Length, out var error);
            Assert.True(n == 12 + 160, $"packet {i}: {error}");
            Assert.Equal((byte)i, p[12]);
        }
    }

    [Fact]
    public void A_packet_from_another_key_fails_authentication()
    {
        using var sender = new SrtpContext(SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_80));
        using var receiver = new SrtpContext(SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_80));
        var p = Packet(sender, 1, 1);
        Assert.Equal(-1, receiver.Unprotect(p, p.Length, out var error));
        Assert.Equal(SrtpError.AuthenticationFailed, error);
        Assert.Equal(-1, receiver.Unprotect(new byte[15], 15, out var shortError));
        Assert.Equal(SrtpError.Malformed, shortError);
    }

    [Fact]
    public void Inline_keys_round_trip_and_bad_ones_are_refused()
    {
        var key = SrtpMasterKey.Generate(SrtpSuite.AesCm128HmacSha1_80);
        Assert.True(SrtpMasterKey.TryParseInline(SrtpSuite.AesCm128HmacSha1_80, key.ToInline(), out var back));
        Assert.Equal(key.ToInline(), back.ToInline());
        Assert.False(SrtpMasterKey.TryParseInline(SrtpSuite.AesCm128HmacSha1_80, "c2hvcnQ=", out _));
        Assert.False(SrtpMasterKey.TryParseInline(SrtpSuite.AesCm128HmacSha1_80, new string('!', 40), out _));
    }

    private static byte[] Packet(SrtpContext sender, ushort sequence, int fill)
    {
        var buffer = new byte[12 + 160 + 10];
        RtpPacket.WriteHeader(buffer, false, 0, sequence, (uint)(sequence * 160), 0x11223344);
        buffer.AsSpan(12, 160).Fill((byte)fill);
        var n = sender.Protect(buffer, 12 + 160);
        Assert.True(n > 0);
        return buffer[..n];
    }
}
