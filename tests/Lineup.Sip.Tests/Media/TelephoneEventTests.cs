using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

public class TelephoneEventTests
{
    [Fact]
    public void Parses_event_end_volume_and_duration()
    {
        byte[] payload = [11, 0x8A, 0x03, 0x20];
        Assert.True(TelephoneEvent.TryParse(payload, out var ev));
        Assert.Equal(new TelephoneEvent(11, End: true, Volume: 10, Duration: 800), ev);
        var written = new byte[4];
        ev.Write(written);
        Assert.Equal(payload, written);
        Assert.False(TelephoneEvent.TryParse(payload.AsSpan(0, 3), out _));
    }

    [Theory]
    [InlineData(0, '0')]
    [InlineData(9, '9')]
    [InlineData(10, '*')]
    [InlineData(11, '#')]
    [InlineData(12, 'A')]
    [InlineData(15, 'D')]
    public void Maps_codes_to_digits_and_back(int code, char digit)
    {
        Assert.Equal(digit, TelephoneEvent.ToDigit(code));
        Assert.Equal(code, TelephoneEvent.FromDigit(digit));
    }

    [Fact]
    public void Reports_a_digit_once_despite_three_end_packets_and_duplicates()
    {
        var detector = new TelephoneEventDetector();
        var reported = new List<char>();
        void Feed(uint ts, byte code, bool end, ushort duration)
        {
            if (detector.Feed(ts, new TelephoneEvent(code, end, 10, duration), out var d)) reported.Add(d);
        }
        Feed(1000, 5, false, 160);
        Feed(1000, 5, false, 160); // duplicate
        Feed(1000, 5, false, 320);
        Feed(1000, 5, true, 800);
        Feed(1000, 5, true, 800);
        Feed(1000, 5, true, 800);
        Feed(2000, 5, false, 160); // the same digit again: a new event (new timestamp)
        Feed(2000, 5, true, 480);
        Feed(2000, 5, true, 480);
        Assert.Equal(['5', '5'], reported);
    }

    [Fact]
    public void An_event_whose_end_packets_were_lost_is_reported_when_the_next_starts()
    {
        var detector = new TelephoneEventDetector();
        var reported = new List<char>();
        void Feed(uint ts, byte code, bool end)
        {
            if (detector.Feed(ts, new TelephoneEvent(code, end, 10, 160), out var d)) reported.Add(d);
        }
        Feed(100, 1, false);
        Feed(900, 2, false);
        Feed(900, 2, true);
        Feed(900, 2, true);
        Assert.Equal(['1', '2'], reported);
    }
}
