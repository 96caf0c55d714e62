using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

public class G711Tests
{
    [Theory]
    [InlineData(0xFF, 0)]
    [InlineData(0x7F, 0)]
    [InlineData(0x00, -32124)]
    [InlineData(0x80, 32124)]
    [InlineData(0xFE, 8)]
    [InlineData(0x7E, -8)]
    [InlineData(0xEF, 132)]
    public void MuLaw_decodes_known_codes(int code, int expected) => Assert.Equal(expected, G711.MuLawDecode((byte)code));

    [Theory]
    [InlineData(0xD5, 8)]
    [InlineData(0x55, -8)]
    [InlineData(0xAA, 32256)]
    [InlineData(0x2A, -32256)]
    [InlineData(0xD4, 24)]
    public void ALaw_decodes_known_codes(int code, int expected) => Assert.Equal(expected, G711.ALawDecode((byte)code));

    [Theory]
    [InlineData(0, 0xFF)]
    [InlineData(32767, 0x80)]
    [InlineData(-32768, 0x00)]
    [InlineData(-1, 0x7F)]
    public void MuLaw_encodes_known_values(int sample, int expected) => Assert.Equal(expected, G711.MuLawEncode((short)sample));

    [Theory]
    [InlineData(0, 0xD5)]
    [InlineData(-1, 0x55)]
    [InlineData(32767, 0xAA)]
    [InlineData(-32768, 0x2A)]
    public void ALaw_encodes_known_values(int sample, int expected) => Assert.Equal(expected, G711.ALawEncode((short)sample));

    [Fact]
    public void Every_code_survives_decode_then_encode()
    {
        for (var c = 0; c < 256; c++)
        {
            // μ-law has two zeros (0x7F and 0xFF); both decode to 0, which encodes to 0xFF.
            var mu = G711.MuLawEncode(G711.MuLawDecode((byte)c));
            Assert.Equal(c == 0x7F ? 0xFF : c, mu);
            Assert.Equal(c, G711.ALawEncode(G711.ALawDecode((byte)c)));
        }
    }

    [Fact]
    public void Round_trip_error_is_within_half_a_quantisation_step()
    {
        for (var s = short.MinValue; s < short.MaxValue; s++)
        {
            var magnitude = Math.Abs((int)s);
            // The step doubles per segment: about 1/16 of the magnitude above the first segments (G.711 §2).
            var muBound = Math.Max(8, (magnitude / 32) + 8) + (magnitude > 32635 ? magnitude - 32635 : 0);
            var aBound = Math.Max(16, (magnitude / 32) + 16) + (magnitude > 32256 ? magnitude - 32256 : 0);
            Assert.InRange(Math.Abs(G711.MuLawDecode(G711.MuLawEncode(s)) - s), 0, muBound);
            Assert.InRange(Math.Abs(G711.ALawDecode(G711.ALawEncode(s)) - s), 0, aBound);
        }
    }

    [Fact]
    public void Transcoding_keeps_the_signal_close()
    {
        Span<byte> mu = stackalloc byte[256];
        Span<byte> a = stackalloc byte[256];
        for (var i = 0; i < 256; i++) mu[i] = (byte)i;
        G711.Transcode(Codec.Pcmu, Codec.Pcma, mu, a);
        for (var i = 0; i < 256; i++)
        {
            var original = G711.MuLawDecode(mu[i]);
            var converted = G711.ALawDecode(a[i]);
            Assert.InRange(Math.Abs(original - converted), 0, Math.Max(16, Math.Abs((int)original) / 16));
        }
    }

    [Fact]
    public void Transcoding_to_the_same_law_copies()
    {
        byte[] input = [1, 2, 3, 0xFF];
        var output = new byte[4];
        G711.Transcode(Codec.Pcma, Codec.Pcma, input, output);
        Assert.Equal(input, output);
    }
}
