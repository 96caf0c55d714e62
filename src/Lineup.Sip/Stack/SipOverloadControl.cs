using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Lineup.Sip.Stack;

/// <summary>
/// When the stack refuses new calls to protect the ones it has (<see cref="SipStackOptions.Overload"/>). A server that
/// takes on more INVITEs than it can finish fails all of them slowly: callers retransmit every T1, then 2·T1..., each
/// retransmission waits behind the others, and the throughput of good calls collapses (RFC 6357 §2-3). Refusing a new
/// INVITE at once with 503 and Retry-After (RFC 3261 §21.5.4) costs one response and no state, so the calls already
/// admitted keep the server's time; ACK, BYE, re-INVITE and CANCEL are never refused this way.
/// </summary>
public sealed record SipOverloadOptions
{
    /// <summary>New INVITEs are refused once live transactions reach this fraction of
    /// <see cref="SipStackOptions.MaxTransactions"/> (and live dialogs this fraction of
    /// <see cref="SipStackOptions.MaxSessions"/>): the rest of the table is kept for the admitted calls' BYEs, re-INVITEs
    /// and agent legs. 1 refuses only at the bound itself.</summary>
    public double Fraction { get; init; } = 0.9;

    /// <summary>New INVITEs start being refused when they wait this long in the UDP socket's receive queue (the
    /// kernel's receive timestamp against the time each was read, smoothed over the last several by the transport's
    /// <c>ReceiveDelay</c>), in proportion to the excess: none at this
    /// delay, all of them from twice it. A server that far behind will soon have callers retransmitting (T1 is 500 ms),
    /// each retransmission queueing behind the rest; refusing a share rather than everything at once avoids the on/off
    /// swings of a single threshold (a GC pause leaves a short backlog that need not empty the server). Zero turns
    /// the signal off. Measured on Linux only (elsewhere the delay reads as zero). 500 ms, the T1 at which callers
    /// start retransmitting: at 200 ms a quiet 2-core server taking 1,000 calls/s refused 109 of 30,000 calls it then
    /// completed with 500 (docs/benchmarks.md, "SIP overload control").</summary>
    public TimeSpan MaxReceiveDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The Retry-After of the 503 (whole seconds, at least one): how long the caller's side should wait before
    /// trying this server again. Short, because an upstream proxy that honours it sends nothing at all here meanwhile
    /// (RFC 6357 §3 warns of the on/off swings a long one causes).</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>Why a new INVITE was refused.</summary>
public enum SipOverloadReason
{
    /// <summary>Admitted.</summary>
    None,
    /// <summary>Live transactions at or above <see cref="SipOverloadOptions.Fraction"/> of the bound.</summary>
    Transactions,
    /// <summary>Live dialogs at or above <see cref="SipOverloadOptions.Fraction"/> of the bound.</summary>
    Sessions,
    /// <summary>The request waited <see cref="SipOverloadOptions.MaxReceiveDelay"/> or more to be read (and fell in the
    /// refused share).</summary>
    ReceiveDelay,
}

/// <summary>What the admission decision looks at, read when a new INVITE arrives.</summary>
/// <param name="Transactions">Live transactions.</param>
/// <param name="Sessions">Live INVITE dialogs.</param>
/// <param name="ReceiveDelay">How long new INVITEs wait in the transport's receive queue (smoothed).</param>
public readonly record struct SipLoad(int Transactions, int Sessions, TimeSpan ReceiveDelay);

/// <summary>
/// The admission decision for new INVITEs (a pure function of the load, <see cref="Decide"/>), the count of refusals
/// by reason, and a warning logged at most once per <see cref="LogInterval"/> while refusals go on.
/// </summary>
public sealed partial class SipOverloadControl
{
    /// <summary>Shortest time between two overload warnings: under overload the log must not become more work.</summary>
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly SipOverloadOptions _options;
    private readonly int _transactionLimit;
    private readonly int _sessionLimit;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long[] _shed = new long[4];
    private long _unlogged;
    private long _nextLog;

    /// <summary>Control for a stack bounded at <paramref name="maxTransactions"/> and <paramref name="maxSessions"/>.</summary>
    public SipOverloadControl(SipOverloadOptions options, int maxTransactions, int maxSessions, TimeProvider time, ILogger logger)
    {
        Validate(options);
        _options = options;
        _transactionLimit = Threshold(options.Fraction, maxTransactions);
        _sessionLimit = Threshold(options.Fraction, maxSessions);
        _time = time;
        _logger = logger;
        _nextLog = long.MinValue;
        RetryAfterValue = ((int)Math.Ceiling(options.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The Retry-After header's value, in seconds.</summary>
    public string RetryAfterValue { get; }

    /// <summary>Live transactions from which new INVITEs are refused.</summary>
    public int TransactionLimit => _transactionLimit;

    /// <summary>Live dialogs from which new INVITEs are refused.</summary>
    public int SessionLimit => _sessionLimit;

    /// <summary>New INVITEs refused so far, all reasons.</summary>
    public long ShedTotal => Shed(SipOverloadReason.Transactions) + Shed(SipOverloadReason.Sessions) + Shed(SipOverloadReason.ReceiveDelay);

    /// <summary>New INVITEs refused so far for <paramref name="reason"/>.</summary>
    public long Shed(SipOverloadReason reason) => Interlocked.Read(ref _shed[(int)reason]);

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that is out of range.</summary>
    public static void Validate(SipOverloadOptions options)
    {
        if (!(options.Fraction is > 0 and <= 1))
        {
            throw new ArgumentException("Fraction must be above 0 and at most 1.", nameof(options));
        }
        if (options.MaxReceiveDelay < TimeSpan.Zero)
        {
            throw new ArgumentException("MaxReceiveDelay must not be negative.", nameof(options));
        }
        if (options.RetryAfter < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException("RetryAfter must be at least one second.", nameof(options));
        }
    }

    /// <summary>Whether a new INVITE arriving under <paramref name="load"/> is refused, and why (the first reason that
    /// holds: the table bounds, then the delay). <paramref name="draw"/>, uniform in [0, 1), picks the INVITEs refused
    /// for a delay between <see cref="SipOverloadOptions.MaxReceiveDelay"/> and twice it: those whose draw is below the
    /// excess (0 at the limit, 1 at twice it).</summary>
    public SipOverloadReason Decide(SipLoad load, double draw)
    {
        if (load.Transactions >= _transactionLimit)
        {
            return SipOverloadReason.Transactions;
        }
        if (load.Sessions >= _sessionLimit)
        {
            return SipOverloadReason.Sessions;
        }
        if (_options.MaxReceiveDelay > TimeSpan.Zero && load.ReceiveDelay >= _options.MaxReceiveDelay
            && draw < (load.ReceiveDelay - _options.MaxReceiveDelay) / _options.MaxReceiveDelay)
        {
            return SipOverloadReason.ReceiveDelay;
        }
        return SipOverloadReason.None;
    }

    /// <summary>Counts a refusal; logs a warning with the refusals since the last one when <see cref="LogInterval"/> has
    /// passed (the first refusal logs at once).</summary>
    public void OnShed(SipOverloadReason reason, SipLoad load)
    {
        Interlocked.Increment(ref _shed[(int)reason]);
        Interlocked.Increment(ref _unlogged);
        var now = _time.GetTimestamp();
        var next = Interlocked.Read(ref _nextLog);
        if (now < next || Interlocked.CompareExchange(ref _nextLog, now + (long)(LogInterval.TotalSeconds * _time.TimestampFrequency), next) != next)
        {
            return;
        }
        LogShedding(_logger, Interlocked.Exchange(ref _unlogged, 0), reason, load.Transactions, _transactionLimit,
            load.Sessions, _sessionLimit, (long)load.ReceiveDelay.TotalMilliseconds, (long)_options.MaxReceiveDelay.TotalMilliseconds);
    }

    private static int Threshold(double fraction, int bound) => Math.Max(1, (int)Math.Ceiling(fraction * bound));

    [LoggerMessage(EventId = 5008, Level = LogLevel.Warning, Message = "SIP overload: refused {Count} new calls with 503 since the last warning; now {Reason} (transactions {Transactions}/{TransactionLimit}, dialogs {Sessions}/{SessionLimit}, receive delay {DelayMs}/{MaxDelayMs} ms)")]
    private static partial void LogShedding(ILogger logger, long count, SipOverloadReason reason, int transactions, int transactionLimit,
        int sessions, int sessionLimit, long delayMs, long maxDelayMs);
}
