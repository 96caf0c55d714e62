namespace Lineup.Engine;

/// <summary>
/// A queue's office hours: weekly opening intervals and dated
/// holidays, in the tenant's time zone (<see cref="EngineOptions.TimeZone"/>). Outside them the queue is in night mode,
/// switched on and off by the engine itself at each boundary; a manual override (<see cref="CallCenter.OverrideNightMode"/>)
/// wins until it is cleared. Pure: every question takes the time as a parameter.
/// </summary>
public sealed record OfficeHours
{
    /// <summary>Opening intervals; none: open every day (holidays aside).</summary>
    public IReadOnlyList<OpeningInterval> Weekly { get; init; } = [];

    /// <summary>Whole local days closed.</summary>
    public IReadOnlyList<DateOnly> Holidays { get; init; } = [];

    /// <summary>Closed (night mode) at <paramref name="unixMs"/>.</summary>
    public bool IsClosed(long unixMs, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(unixMs), zone).DateTime;
        var day = DateOnly.FromDateTime(local);
        if (Holidays.Contains(day)) return true;
        if (Weekly.Count == 0) return false;
        var minute = local.Hour * 60 + local.Minute;
        foreach (var w in Weekly)
            if (w.Day == local.DayOfWeek && minute >= w.OpenMinute && minute < w.CloseMinute) return false;
        return true;
    }

    /// <summary>The first instant after <paramref name="unixMs"/> at which the open/closed state may change (a local
    /// midnight, an opening or a closing), or null when the calendar is empty.</summary>
    public long? NextBoundary(long unixMs, TimeZoneInfo zone)
    {
        if (Weekly.Count == 0 && Holidays.Count == 0) return null;
        var local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(unixMs), zone).DateTime;
        long? best = null;
        for (var d = 0; d <= 8 && best == null; d++)
        {
            var date = local.Date.AddDays(d);
            Consider(date, zone, unixMs, ref best);
            foreach (var w in Weekly)
            {
                if (w.Day != date.DayOfWeek) continue;
                Consider(date.AddMinutes(w.OpenMinute), zone, unixMs, ref best);
                Consider(date.AddMinutes(w.CloseMinute), zone, unixMs, ref best);
            }
        }
        return best;
    }

    private static void Consider(DateTime local, TimeZoneInfo zone, long after, ref long? best)
    {
        // A local time skipped by a DST change happens at the first valid local time after it.
        while (zone.IsInvalidTime(local)) local = local.AddMinutes(30);
        var at = new DateTimeOffset(local, zone.GetUtcOffset(local)).ToUnixTimeMilliseconds();
        if (at > after && (best == null || at < best)) best = at;
    }
}

/// <summary>Open on <paramref name="Day"/> from <paramref name="OpenMinute"/> to <paramref name="CloseMinute"/>
/// (minutes after local midnight, 0..1440, close after open).</summary>
public readonly record struct OpeningInterval(DayOfWeek Day, int OpenMinute, int CloseMinute);
