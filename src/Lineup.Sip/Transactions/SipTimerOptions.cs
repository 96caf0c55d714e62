namespace Lineup.Sip.Transactions;

/// <summary>
/// RFC 3261 timer values (§17.1.1.1, Table 4 in Appendix A). Every transaction timer is derived from these three,
/// so a test or a high-latency deployment changes them in one place.
/// </summary>
public sealed record SipTimerOptions
{
    /// <summary>The defaults of RFC 3261 Appendix A.</summary>
    public static SipTimerOptions Default { get; } = new();

    /// <summary>T1, RTT estimate: 500 ms.</summary>
    public TimeSpan T1 { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>T2, longest retransmit interval for non-INVITE requests and INVITE responses: 4 s.</summary>
    public TimeSpan T2 { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>T4, longest time a message stays in the network: 5 s.</summary>
    public TimeSpan T4 { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Timers B, F, H and J: 64*T1, the transaction timeout.</summary>
    public TimeSpan TransactionTimeout => T1 * 64;

    /// <summary>Timer D on unreliable transports: at least 32 s (§17.1.1.2).</summary>
    public TimeSpan TimerD => TimeSpan.FromSeconds(32) > T1 * 64 ? TimeSpan.FromSeconds(32) : T1 * 64;
}
