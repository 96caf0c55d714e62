using System.Buffers.Binary;

namespace Lineup.Sip.Media;

/// <summary>
/// One RFC 4733 telephone-event payload (§2.3): event code, end bit, volume (0–63, −dBm0) and duration in timestamp
/// units since the event's start. DTMF events 0–15 (§3.2) map to 0–9, *, #, A–D; 16 is flash.
/// </summary>
public readonly record struct TelephoneEvent(byte Event, bool End, byte Volume, ushort Duration)
{
    /// <summary>Payload length of one event.</summary>
    public const int Length = 4;

    /// <summary>Parses the first four bytes; false when the payload is shorter. Never throws.</summary>
    public static bool TryParse(ReadOnlySpan<byte> payload, out TelephoneEvent value)
    {
        if (payload.Length < Length)
        {
            value = default;
            return false;
        }
        value = new TelephoneEvent(payload[0], (payload[1] & 0x80) != 0, (byte)(payload[1] & 0x3F),
            BinaryPrimitives.ReadUInt16BigEndian(payload[2..]));
        return true;
    }

    /// <summary>Writes the four payload bytes (the R bit is zero).</summary>
    public void Write(Span<byte> destination)
    {
        destination[0] = Event;
        destination[1] = (byte)((End ? 0x80 : 0) | (Volume & 0x3F));
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], Duration);
    }

    /// <summary>The DTMF character of an event code (§3.2), or null for codes that are not DTMF.</summary>
    public static char? ToDigit(int code) => code switch
    {
        >= 0 and <= 9 => (char)('0' + code),
        10 => '*',
        11 => '#',
        >= 12 and <= 15 => (char)('A' + code - 12),
        16 => '!',
        _ => null,
    };

    /// <summary>The event code of a DTMF character ('0'–'9', '*', '#', 'A'–'D', '!' for flash), or −1.</summary>
    public static int FromDigit(char digit) => digit switch
    {
        >= '0' and <= '9' => digit - '0',
        '*' => 10,
        '#' => 11,
        >= 'A' and <= 'D' => digit - 'A' + 12,
        >= 'a' and <= 'd' => digit - 'a' + 12,
        '!' => 16,
        _ => -1,
    };
}

/// <summary>
/// Turns a stream of RFC 4733 packets into one report per event. An event is identified by its RTP timestamp (§2.5.1:
/// every packet of one event carries the event's start timestamp), so the three retransmitted end packets (§2.5.1.4)
/// and duplicated packets report nothing new. The event is reported at its first end packet; when a new event starts
/// before the previous one's end was seen (the end packets were lost), the previous one is reported then.
/// </summary>
public sealed class TelephoneEventDetector
{
    private bool _haveCurrent;
    private uint _currentTimestamp;
    private byte _currentEvent;
    private bool _currentReported;

    /// <summary>Feeds one packet; true with the digit when an event is to be reported now.</summary>
    public bool Feed(uint rtpTimestamp, in TelephoneEvent ev, out char digit)
    {
        digit = default;
        if (!_haveCurrent || rtpTimestamp != _currentTimestamp)
        {
            var lostEnd = _haveCurrent && !_currentReported ? TelephoneEvent.ToDigit(_currentEvent) : null;
            _haveCurrent = true;
            _currentTimestamp = rtpTimestamp;
            _currentEvent = ev.Event;
            _currentReported = false;
            if (lostEnd is { } previous)
            {
                // The previous event ended unseen: report it now; this one is reported at its (retransmitted) end.
                digit = previous;
                return true;
            }
        }
        if (ev.End && !_currentReported)
        {
            _currentReported = true;
            if (TelephoneEvent.ToDigit(ev.Event) is { } d)
            {
                digit = d;
                return true;
            }
        }
        return false;
    }
}
