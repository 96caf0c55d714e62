namespace Lineup.Sip.Media;

/// <summary>
/// When a participant sends its next RTCP report (RFC 3550 §6.3.1, §6.2): RTCP gets 5 % of the session bandwidth, a
/// quarter of it for senders when they are few; the deterministic interval is the average compound size times the
/// members sharing that bandwidth over it, at least 5 s (2.5 s before the first report); the actual interval is that
/// times a random factor in [0.5, 1.5], divided by e − 3/2 to make up for the timer reconsideration that would
/// otherwise lengthen it (§6.3.1, §A.7). A two-party G.711 call gets about 0.4 s deterministically, so the 5 s
/// minimum rules: reports every 2-6 s.
/// </summary>
public static class RtcpInterval
{
    /// <summary>The minimum deterministic interval (§6.2).</summary>
    public static readonly TimeSpan Minimum = TimeSpan.FromSeconds(5);

    private const double SenderFraction = 0.25;
    private const double ReceiverFraction = 1 - SenderFraction;
    private const double Compensation = 2.71828 - 1.5;

    /// <summary>RTCP bandwidth for a session of <paramref name="sessionBitsPerSecond"/> (5 %, §6.2), in octets per second.</summary>
    public static double RtcpOctetsPerSecond(double sessionBitsPerSecond) => sessionBitsPerSecond * 0.05 / 8;

    /// <summary>The deterministic interval (before randomisation) for <paramref name="members"/> participants of which
    /// <paramref name="senders"/> sent RTP lately; <paramref name="weSent"/> when this participant is one of them.</summary>
    public static TimeSpan Deterministic(int members, int senders, double rtcpOctetsPerSecond, bool weSent, double averageRtcpSize, bool initial)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(members, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rtcpOctetsPerSecond);
        var minimum = initial ? Minimum.TotalSeconds / 2 : Minimum.TotalSeconds;
        double n = members;
        var bandwidth = rtcpOctetsPerSecond;
        if (senders <= members * SenderFraction)
        {
            if (weSent)
            {
                bandwidth *= SenderFraction;
                n = senders;
            }
            else
            {
                bandwidth *= ReceiverFraction;
                n -= senders;
            }
        }
        var t = averageRtcpSize * n / bandwidth;
        return TimeSpan.FromSeconds(Math.Max(t, minimum));
    }

    /// <summary>The interval to the next report: <see cref="Deterministic"/> (same parameters) times
    /// <paramref name="random01"/>, a uniform draw in [0, 1) from the caller's random source (so tests can fix it), mapped
    /// to [0.5, 1.5], over the compensation e − 3/2.</summary>
    public static TimeSpan Next(int members, int senders, double rtcpOctetsPerSecond, bool weSent, double averageRtcpSize, bool initial, double random01)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(random01);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(random01, 1);
        var t = Deterministic(members, senders, rtcpOctetsPerSecond, weSent, averageRtcpSize, initial).TotalSeconds;
        return TimeSpan.FromSeconds(t * (random01 + 0.5) / Compensation);
    }

    /// <summary>The running average compound packet size (§6.3.3): 1/16 of the new size, counting the 28 octets of
    /// the UDP and IPv4 headers.</summary>
    public static double UpdateAverageSize(double average, int packetLength) => average + ((packetLength + 28 - average) / 16);
}
