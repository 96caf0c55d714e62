using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

public class HoldMusicTests
{
    [Fact]
    public void Is_thirty_seconds_and_deterministic()
    {
        var a = HoldMusic.Generate();
        var b = HoldMusic.Generate();
        Assert.Equal(30 * 8000, a.Length);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Loops_without_a_click_and_is_soft()
    {
        var s = HoldMusic.Generate();
        Assert.InRange(Math.Abs((int)s[0]), 0, 64);
        Assert.InRange(Math.Abs((int)s[^1]), 0, 64);
        // The jump across the loop point is no larger than an ordinary step inside the music.
        var largestStep = 0;
        for (var i = 1; i < s.Length; i++) largestStep = Math.Max(largestStep, Math.Abs(s[i] - s[i - 1]));
        Assert.True(Math.Abs(s[0] - s[^1]) <= largestStep);
        var peak = s.Max(x => Math.Abs((int)x));
        Assert.InRange(peak, 3000, 24000); // audible, well below full scale
    }

    [Fact]
    public void Clip_is_shared_and_pre_encoded_in_whole_frames()
    {
        var clip = AudioClip.HoldMusic();
        Assert.Same(clip, AudioClip.HoldMusic());
        Assert.Equal(1500, clip.FrameCount(160));
        Assert.Equal(240_000, clip.Encoded(Codec.Pcmu).Length);
        Assert.Equal(G711.ALawEncode(clip.Samples[1000]), clip.Encoded(Codec.Pcma)[1000]);
    }

    [Fact]
    public void Short_clips_are_padded_with_encoded_silence()
    {
        var clip = AudioClip.FromSamples("beep", [1000, 1000, 1000]);
        Assert.Equal(480, clip.Encoded(Codec.Pcmu).Length);
        Assert.Equal(3, clip.FrameCount(160));
        Assert.Equal(0xFF, clip.Encoded(Codec.Pcmu)[479]);
        Assert.Equal(0xD5, clip.Encoded(Codec.Pcma)[479]);
    }
}
