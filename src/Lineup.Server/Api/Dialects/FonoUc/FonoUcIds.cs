using System.Globalization;

namespace Lineup.Server.Api.Dialects.FonoUc;

/// <summary>
/// Lineup's numeric ids in FonoUC's formats, and back. Users (agents and accounts) are 32 lowercase hex digits as in
/// FonoUC's user ids; queues and calls are UUIDs whose first group names the kind, so that a queue id can never be
/// taken for a call id. Pure and reversible: anything that does not parse is an id that cannot exist.
/// </summary>
public static class FonoUcIds
{
    private const long QueueKind = 1;
    private const long CallKind = 2;

    /// <summary>A user (agent or account) id as FonoUC writes it: 32 lowercase hex digits.</summary>
    public static string User(long id) => id.ToString("x32", CultureInfo.InvariantCulture);

    public static bool TryUser(string? text, out long id)
    {
        id = 0;
        if (text is not { Length: 32 } || !IsLowerHex(text) || text.AsSpan(0, 16).ContainsAnyExcept('0')) return false;
        return long.TryParse(text.AsSpan(16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out id) && id > 0;
    }

    public static string Queue(long id) => Uuid(QueueKind, id);

    public static bool TryQueue(string? text, out long id) => TryUuid(text, QueueKind, out id);

    public static string Call(long id) => Uuid(CallKind, id);

    public static bool TryCall(string? text, out long id) => TryUuid(text, CallKind, out id);

    /// <summary>A call's recording as FonoUC's CDR names it in <c>media_recording_id</c> (the seed's "202507-Qhz4..."):
    /// the year and month the call entered (UTC), a dash, the call id in 16 lowercase hex digits.</summary>
    public static string Recording(long callId, DateTimeOffset enteredAt) =>
        enteredAt.UtcDateTime.ToString("yyyyMM", CultureInfo.InvariantCulture) + "-" + callId.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>The call id of a <see cref="Recording"/> id; the month is checked by its caller against the call's.</summary>
    public static bool TryRecording(string? text, out long callId)
    {
        callId = 0;
        if (text is not { Length: 23 } || text[6] != '-' || text.AsSpan(0, 6).ContainsAnyExceptInRange('0', '9') || !IsLowerHex(text[7..])) return false;
        return long.TryParse(text.AsSpan(7), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out callId) && callId > 0;
    }

    /// <summary>The file name a call's recording is served under (<c>recording_filename</c>): the call's FonoUC id and the
    /// stored file's extension, as the seed's "&lt;uuid&gt;_OKDX.mp3" names the file after the call.</summary>
    public static string RecordingFile(long callId, string recordingId) => Call(callId) + Path.GetExtension(recordingId);

    private static string Uuid(long kind, long id)
    {
        var hex = kind.ToString("x8", CultureInfo.InvariantCulture) + "00000000" + id.ToString("x16", CultureInfo.InvariantCulture);
        return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }

    private static bool TryUuid(string? text, long kind, out long id)
    {
        id = 0;
        if (text is not { Length: 36 } || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-') return false;
        var hex = text.Replace("-", "", StringComparison.Ordinal);
        if (hex.Length != 32 || !IsLowerHex(hex)) return false;
        if (!hex.StartsWith(kind.ToString("x8", CultureInfo.InvariantCulture) + "00000000", StringComparison.Ordinal)) return false;
        return long.TryParse(hex.AsSpan(16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out id) && id > 0;
    }

    private static bool IsLowerHex(string s)
    {
        foreach (var c in s)
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f'))) return false;
        return true;
    }
}
