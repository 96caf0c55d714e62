using System.Globalization;
using System.Text;

namespace Lineup.Server.Api.Dialects.PortSip;

/// <summary>
/// PortSIP's resource ids: the base64 text of a 64-bit number's decimal digits ("NzAwNTUxOTA5NzczMTQ4MTYw" is
/// "700551909773148160"). Lineup's numeric ids map to them and back without a table.
/// </summary>
public static class PortSipIds
{
    /// <summary>The PortSIP id of a Lineup id.</summary>
    public static string Encode(long id) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(id.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Reads a PortSIP id; only the canonical spelling of a positive number maps (anything else cannot
    /// name a Lineup object, so the caller answers 404).</summary>
    public static bool TryDecode(string? text, out long id)
    {
        id = 0;
        if (string.IsNullOrEmpty(text) || text.Length > 40) return false;
        Span<byte> bytes = stackalloc byte[30];
        if (!Convert.TryFromBase64String(text, bytes, out var n) || n is 0 or > 19) return false;
        var digits = bytes[..n];
        foreach (var b in digits)
            if (b is < (byte)'0' or > (byte)'9') return false;
        if (digits[0] == (byte)'0') return false;
        if (!long.TryParse(Encoding.ASCII.GetString(digits), NumberStyles.None, CultureInfo.InvariantCulture, out id) || id <= 0) return false;
        // One spelling per id: padding or trailing bits that decode to the same digits do not count.
        return string.Equals(Encode(id), text, StringComparison.Ordinal);
    }

    /// <summary>An id that must name an engine object (queues and agents are ints in the engine).</summary>
    public static bool TryDecodeEngineId(string? text, out int id)
    {
        id = TryDecode(text, out var value) && value <= int.MaxValue ? (int)value : 0;
        return id > 0;
    }
}
