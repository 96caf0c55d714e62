using System.Globalization;
using Lineup.Engine;

namespace Lineup.Server.Api;

/// <summary>Office hours as the API writes them ("monday", "09:00", "2026-12-25") and as the engine keeps them.</summary>
public static class OfficeHoursText
{
    private static readonly string[] Days = [.. Enum.GetNames<DayOfWeek>().Select(d => d.ToLowerInvariant())];

    /// <summary>The engine's calendar from <paramref name="b"/>; with <paramref name="e"/>, every fault is reported
    /// there by field (<c>office_hours.weekly[0].open</c>) and the result is null when there was one.</summary>
    public static OfficeHours? Parse(OfficeHoursBody b, Errors? e)
    {
        var weekly = new List<OpeningInterval>();
        var list = b.Weekly ?? [];
        if (list.Count > 100) e?.Add("office_hours.weekly", "office_hours.weekly may hold at most 100 intervals.");
        for (var i = 0; i < list.Count; i++)
        {
            var w = list[i];
            var field = $"office_hours.weekly[{i}]";
            if (w is null)
            {
                e?.Add(field, "each interval is {day, open, close}.");
                continue;
            }
            var day = Array.IndexOf(Days, w.Day ?? "");
            if (day < 0) e?.Add(field + ".day", "day must be one of " + string.Join(", ", Days) + ".");
            var open = Minute(w.Open);
            var close = Minute(w.Close);
            if (open is not (>= 0 and < 1440)) e?.Add(field + ".open", "open must be a time of day HH:mm (00:00 to 23:59).");
            if (close is not (> 0 and <= 1440)) e?.Add(field + ".close", "close must be a time of day HH:mm (00:01 to 24:00).");
            else if (open is { } o && close <= o) e?.Add(field + ".close", "close must be after open.");
            if (day >= 0 && open is { } from && close is { } to) weekly.Add(new OpeningInterval((DayOfWeek)day, from, to));
        }
        var holidays = new List<DateOnly>();
        var dates = b.Holidays ?? [];
        if (dates.Count > 1000) e?.Add("office_hours.holidays", "office_hours.holidays may hold at most 1000 dates.");
        for (var i = 0; i < dates.Count; i++)
        {
            if (DateOnly.TryParseExact(dates[i], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)) holidays.Add(date);
            else e?.Add($"office_hours.holidays[{i}]", "each holiday is a date yyyy-MM-dd.");
        }
        if (e is { Any: true }) return null;
        return new OfficeHours { Weekly = weekly, Holidays = [.. holidays.Distinct().Order()] };
    }

    public static OfficeHoursBody Body(OfficeHours h) => new(
        [.. h.Weekly.Select(w => new OpeningBody(Days[(int)w.Day], Time(w.OpenMinute), Time(w.CloseMinute)))],
        [.. h.Holidays.Select(d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))]);

    private static int? Minute(string? hhmm)
    {
        if (hhmm is not { Length: 5 } || hhmm[2] != ':') return null;
        if (!int.TryParse(hhmm.AsSpan(0, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var h)) return null;
        if (!int.TryParse(hhmm.AsSpan(3, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var m) || m > 59) return null;
        return h * 60 + m;
    }

    private static string Time(int minute) => string.Create(CultureInfo.InvariantCulture, $"{minute / 60:D2}:{minute % 60:D2}");
}
