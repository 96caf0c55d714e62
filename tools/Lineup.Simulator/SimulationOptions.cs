using Lineup.Engine;

namespace Lineup.Simulator;

/// <summary>
/// One simulation run: a single queue staffed by <see cref="Agents"/> agents, Poisson arrivals, exponential talk
/// times. Times are in seconds. Build it with <see cref="CommandLine.Parse"/> or directly in a test.
/// </summary>
public sealed record SimulationOptions
{
    public const double DefaultSlaSeconds = 20;

    /// <summary>Agents logged in Ready for the whole run, wrap-up 0.</summary>
    public required int Agents { get; init; }

    /// <summary>Mean arrival rate of the Poisson process.</summary>
    public required double ArrivalsPerHour { get; init; }

    /// <summary>Mean of the exponential talk (handle) time.</summary>
    public required double AhtSeconds { get; init; }

    /// <summary>Calls arrive during this many simulated hours; calls still in the system then are played out.</summary>
    public required double Hours { get; init; }

    /// <summary>The name as given (Lineup's or a vendor's); <see cref="Strategy"/> is what it maps to.</summary>
    public string StrategyName { get; init; } = "longest_idle";
    public Strategy Strategy { get; init; } = Strategy.LongestIdle;
    public bool SkillsRouting { get; init; }

    public long Seed { get; init; } = 1;

    /// <summary>Mean of the callers' exponential patience; null: callers never hang up before an answer.</summary>
    public double? PatienceSeconds { get; init; }

    /// <summary>A call counts within service level when answered within this many seconds.</summary>
    public double SlaSeconds { get; init; } = DefaultSlaSeconds;

    /// <summary>Seconds from CallOffered until the agent answers; 0: in the same instant.</summary>
    public double AnswerDelaySeconds { get; init; }

    /// <summary>
    /// Calls arriving in the first hour are simulated but not measured when the run is longer than two hours, so
    /// the figures describe the queue in steady state rather than starting empty; shorter runs measure every call.
    /// </summary>
    public double WarmupHours => Hours > 2 ? 1 : 0;

    /// <summary>Ring timeout the queue uses: always longer than the answer delay, so no offer times out.</summary>
    public int RingTimeoutSeconds => Math.Max(20, (int)Math.Ceiling(AnswerDelaySeconds) + 10);
}
