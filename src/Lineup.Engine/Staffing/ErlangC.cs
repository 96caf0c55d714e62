using System.Runtime.CompilerServices;

namespace Lineup.Engine.Staffing;

/// <summary>
/// Staffing math for an M/M/n queue: Poisson arrivals, exponential handle times, n identical agents, FIFO,
/// no abandonment and infinite caller patience. Real queues lose impatient callers, so these figures are a
/// conservative (pessimistic) estimate of waiting and a slight over-estimate of the agents needed.
/// </summary>
/// <remarks>
/// The textbook closed forms need Aⁿ/n!, which overflows a double beyond roughly 170 agents. Everything here
/// goes through the Erlang B recursion instead, whose intermediate values stay in [0, 1] for any n.
/// Invalid arguments are programmer errors and throw <see cref="ArgumentOutOfRangeException"/>.
/// </remarks>
public static class ErlangC
{
    /// <summary>
    /// Erlang B: the probability that a call finds all <paramref name="servers"/> busy when blocked calls are
    /// lost (no queue). B(0) = 1 and B(n) = A·B(n−1) / (n + A·B(n−1)).
    /// </summary>
    public static double ErlangB(int servers, double trafficErlangs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(servers);
        RequireTraffic(trafficErlangs);
        var b = 1.0;
        for (var n = 1; n <= servers; n++)
        {
            b = NextErlangB(n, trafficErlangs, b);
        }
        return b;
    }

    /// <summary>
    /// Erlang C: the probability that a call has to wait at all, C = n·B / (n − A·(1 − B)) with B = Erlang B.
    /// With <paramref name="agents"/> ≤ A the queue grows without bound, so every call waits: returns 1.
    /// </summary>
    public static double ProbabilityOfWaiting(int agents, double trafficErlangs)
    {
        RequireAgents(agents);
        RequireTraffic(trafficErlangs);
        return agents <= trafficErlangs ? 1.0 : ErlangCFromB(agents, trafficErlangs, ErlangB(agents, trafficErlangs));
    }

    /// <summary>
    /// The fraction of calls answered within <paramref name="targetSeconds"/>: 1 − C·e^(−(n−A)·t/AHT),
    /// because in M/M/n the wait of a call that does wait is exponential with rate (n − A)/AHT. 0 when unstable.
    /// </summary>
    public static double ServiceLevel(int agents, double trafficErlangs, double ahtSeconds, double targetSeconds)
    {
        RequireAgents(agents);
        RequireTraffic(trafficErlangs);
        RequirePositive(ahtSeconds);
        RequireNonNegative(targetSeconds);
        return agents <= trafficErlangs
            ? 0.0
            : ServiceLevelFromC(agents, trafficErlangs, ahtSeconds, targetSeconds, ProbabilityOfWaiting(agents, trafficErlangs));
    }

    /// <summary>
    /// Average speed of answer over all calls (including those answered at once): C·AHT / (n − A).
    /// <see cref="double.PositiveInfinity"/> when unstable, since the queue then grows without bound.
    /// </summary>
    public static double AverageSpeedOfAnswer(int agents, double trafficErlangs, double ahtSeconds)
    {
        RequireAgents(agents);
        RequireTraffic(trafficErlangs);
        RequirePositive(ahtSeconds);
        return agents <= trafficErlangs
            ? double.PositiveInfinity
            : AsaFromC(agents, trafficErlangs, ahtSeconds, ProbabilityOfWaiting(agents, trafficErlangs));
    }

    /// <summary>
    /// The smallest number of agents whose <see cref="ServiceLevel"/> reaches <paramref name="targetServiceLevel"/>
    /// (a fraction in [0, 1]), or −1 if more than <paramref name="maxAgents"/> would be needed.
    /// </summary>
    /// <remarks>Service level rises with n, so a linear scan from ⌊A⌋ + 1 finds the minimum; B is carried along
    /// the scan, which keeps the whole search O(n) instead of O(n²).</remarks>
    public static int AgentsForServiceLevel(
        double trafficErlangs, double ahtSeconds, double targetSeconds, double targetServiceLevel, int maxAgents = 100_000)
    {
        RequireTraffic(trafficErlangs);
        RequirePositive(ahtSeconds);
        RequireNonNegative(targetSeconds);
        if (!(targetServiceLevel is >= 0.0 and <= 1.0))
        {
            throw new ArgumentOutOfRangeException(nameof(targetServiceLevel), targetServiceLevel, "Must be a fraction in [0, 1].");
        }
        RequireAgents(maxAgents);
        return FirstStableAgents(trafficErlangs, maxAgents, (n, c) =>
            ServiceLevelFromC(n, trafficErlangs, ahtSeconds, targetSeconds, c) >= targetServiceLevel);
    }

    /// <summary>
    /// The smallest number of agents whose <see cref="AverageSpeedOfAnswer"/> is at most
    /// <paramref name="targetAsaSeconds"/>, or −1 if more than <paramref name="maxAgents"/> would be needed.
    /// </summary>
    public static int AgentsForAsa(double trafficErlangs, double ahtSeconds, double targetAsaSeconds, int maxAgents = 100_000)
    {
        RequireTraffic(trafficErlangs);
        RequirePositive(ahtSeconds);
        RequireNonNegative(targetAsaSeconds);
        RequireAgents(maxAgents);
        return FirstStableAgents(trafficErlangs, maxAgents, (n, c) =>
            AsaFromC(n, trafficErlangs, ahtSeconds, c) <= targetAsaSeconds);
    }

    /// <summary>
    /// The fraction of time agents spend handling calls, A / n, capped at 1: an overloaded team is simply
    /// always busy while the queue grows.
    /// </summary>
    public static double Occupancy(int agents, double trafficErlangs)
    {
        RequireAgents(agents);
        RequireTraffic(trafficErlangs);
        return Math.Min(1.0, trafficErlangs / agents);
    }

    /// <summary>
    /// Offered load in Erlangs (agent-hours of work per hour): calls per hour × AHT / 3600.
    /// </summary>
    public static double TrafficErlangs(double callsPerHour, double ahtSeconds)
    {
        RequireNonNegative(callsPerHour);
        RequireNonNegative(ahtSeconds);
        return callsPerHour * ahtSeconds / 3600.0;
    }

    /// <summary>
    /// All the figures for one staffing level at once, from an hourly call rate.
    /// </summary>
    public static StaffingEstimate Estimate(int agents, double callsPerHour, double ahtSeconds, double targetSeconds)
    {
        RequirePositive(ahtSeconds);
        var traffic = TrafficErlangs(callsPerHour, ahtSeconds);
        return new StaffingEstimate(
            agents,
            traffic,
            ProbabilityOfWaiting(agents, traffic),
            ServiceLevel(agents, traffic, ahtSeconds, targetSeconds),
            AverageSpeedOfAnswer(agents, traffic, ahtSeconds),
            Occupancy(agents, traffic));
    }

    // The single step of the Erlang B recursion; every caller goes through it so a scan and a direct call
    // produce bit-identical values for the same n.
    private static double NextErlangB(int n, double a, double previous) => a * previous / (n + (a * previous));

    // Requires n > a. C ≤ 1 mathematically; the clamp only absorbs rounding.
    private static double ErlangCFromB(int n, double a, double b) => Math.Min(1.0, n * b / (n - (a * (1.0 - b))));

    private static double ServiceLevelFromC(int n, double a, double aht, double target, double c) =>
        Math.Clamp(1.0 - (c * Math.Exp(-(n - a) * target / aht)), 0.0, 1.0);

    private static double AsaFromC(int n, double a, double aht, double c) => c * aht / (n - a);

    // Scans n = 1..maxAgents carrying Erlang B, testing only stable n (n > a); returns the first n that
    // satisfies the predicate on (n, Erlang C), or −1.
    private static int FirstStableAgents(double a, int maxAgents, Func<int, double, bool> meetsTarget)
    {
        if (a >= maxAgents)
        {
            return -1;
        }
        var b = 1.0;
        for (var n = 1; n <= maxAgents; n++)
        {
            b = NextErlangB(n, a, b);
            if (n > a && meetsTarget(n, ErlangCFromB(n, a, b)))
            {
                return n;
            }
        }
        return -1;
    }

    private static void RequireAgents(int agents, [CallerArgumentExpression(nameof(agents))] string? name = null)
    {
        if (agents < 1)
        {
            throw new ArgumentOutOfRangeException(name, agents, "Must be at least 1.");
        }
    }

    private static void RequireTraffic(double trafficErlangs, [CallerArgumentExpression(nameof(trafficErlangs))] string? name = null)
    {
        if (!(trafficErlangs >= 0.0) || double.IsPositiveInfinity(trafficErlangs))
        {
            throw new ArgumentOutOfRangeException(name, trafficErlangs, "Must be a finite, non-negative number of Erlangs.");
        }
    }

    private static void RequirePositive(double value, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (!(value > 0.0) || double.IsPositiveInfinity(value))
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be a finite, positive number.");
        }
    }

    private static void RequireNonNegative(double value, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (!(value >= 0.0) || double.IsPositiveInfinity(value))
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be a finite, non-negative number.");
        }
    }
}

/// <summary>
/// One staffing level and what it buys under M/M/n (see <see cref="ErlangC"/>). Service level and
/// probability of waiting are fractions in [0, 1]; the average speed of answer is infinite when unstable.
/// </summary>
public readonly record struct StaffingEstimate(
    int Agents,
    double TrafficErlangs,
    double ProbabilityOfWaiting,
    double ServiceLevel,
    double AverageSpeedOfAnswerSeconds,
    double Occupancy);
