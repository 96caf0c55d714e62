using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

public sealed class IntervalHistogramTests
{
    [Fact]
    public void Percentiles_and_cumulative_counts_follow_the_recorded_values()
    {
        var h = new IntervalHistogram();
        for (var i = 0; i < 98; i++) h.Record(20.01);
        h.Record(24.93);
        h.Record(600);
        Assert.Equal(100, h.Count);
        Assert.Equal(20.05, h.Percentile(50), 3);
        Assert.Equal(24.95, h.Percentile(99), 3);
        Assert.Equal(600, h.Percentile(100), 3);
        Assert.Equal(0, h.CountAtMost(20));
        Assert.Equal(98, h.CountAtMost(20.5));
        Assert.Equal(99, h.CountAtMost(25));
        Assert.Equal(99, h.CountAtMost(500));
        h.Reset();
        Assert.Equal(0, h.CountAtMost(25));
        Assert.Equal(0, h.Percentile(99));
    }
}
