using Lineup.Engine.Staffing;

namespace Lineup.Engine.Tests;

public class ErlangCTests
{
    private const double Tight = 1e-12;

    // Textbook forms, computed independently of the recursion under test. The terms Aᵏ/k! are built up one
    // factor at a time; for n ≤ 30 and A < 30 every value stays well inside double range.
    private static double DirectErlangB(int n, double a)
    {
        var term = 1.0;
        var sum = 1.0;
        for (var k = 1; k <= n; k++)
        {
            term *= a / k;
            sum += term;
        }
        return term / sum;
    }

    // C = (Aⁿ/n! · n/(n−A)) / (Σ_{k<n} Aᵏ/k! + Aⁿ/n! · n/(n−A)).
    private static double DirectErlangC(int n, double a)
    {
        var term = 1.0;
        var sumBelowN = 0.0;
        for (var k = 0; k < n; k++)
        {
            sumBelowN += term;
            term *= a / (k + 1);
        }
        var top = term * n / (n - a);
        return top / (sumBelowN + top);
    }

    [Fact]
    public void Hand_computed_small_cases()
    {
        // n = 3, A = 2: B(3) = 4/19, so C = 3·(4/19) / (3 − 2·15/19) = 4/9.
        Assert.Equal(4.0 / 9.0, ErlangC.ProbabilityOfWaiting(3, 2.0), Tight);
        Assert.Equal(0.5, ErlangC.ErlangB(1, 1.0), Tight);
        Assert.Equal(0.2, ErlangC.ErlangB(2, 1.0), Tight);
        Assert.Equal(4.0 / 19.0, ErlangC.ErlangB(3, 2.0), Tight);
        Assert.Equal(1.0, ErlangC.ErlangB(0, 5.0), Tight);
        // One agent (M/M/1): P(wait) is the utilisation ρ = A.
        Assert.Equal(0.3, ErlangC.ProbabilityOfWaiting(1, 0.3), Tight);
    }

    [Fact]
    public void Classic_example_100_calls_per_half_hour_180s_aht_80_in_20()
    {
        // 200 calls/h × 180 s = 10 Erlangs. Expected values computed with exact rational arithmetic from the
        // factorial-sum formula; 14 agents is the textbook answer for an 80/20 target.
        var traffic = ErlangC.TrafficErlangs(200, 180);
        Assert.Equal(10.0, traffic, Tight);

        Assert.Equal(0.682118, ErlangC.ProbabilityOfWaiting(11, traffic), 1e-6);
        Assert.Equal(0.389614, ErlangC.ServiceLevel(11, traffic, 180, 20), 1e-6);
        Assert.Equal(122.7813, ErlangC.AverageSpeedOfAnswer(11, traffic, 180), 1e-4);

        Assert.Equal(0.285270, ErlangC.ProbabilityOfWaiting(13, traffic), 1e-6);
        Assert.Equal(0.795595, ErlangC.ServiceLevel(13, traffic, 180, 20), 1e-6);

        Assert.Equal(0.174132, ErlangC.ProbabilityOfWaiting(14, traffic), 1e-6);
        Assert.Equal(0.888350, ErlangC.ServiceLevel(14, traffic, 180, 20), 1e-6);
        Assert.Equal(7.835937, ErlangC.AverageSpeedOfAnswer(14, traffic, 180), 1e-6);

        Assert.Equal(14, ErlangC.AgentsForServiceLevel(traffic, 180, 20, 0.80));
        // ASA at 12 agents is 40.44 s and at 13 it is 17.12 s.
        Assert.Equal(13, ErlangC.AgentsForAsa(traffic, 180, 20));
    }

    [Fact]
    public void Recursion_matches_the_direct_factorial_formulas_over_a_grid()
    {
        double[] fractions = [0.0, 0.05, 0.3, 0.5, 0.75, 0.9, 0.99];
        for (var n = 1; n <= 30; n++)
        {
            foreach (var f in fractions)
            {
                var a = f * n;
                Assert.Equal(DirectErlangB(n, a), ErlangC.ErlangB(n, a), 1e-12);
                var expected = DirectErlangC(n, a);
                var actual = ErlangC.ProbabilityOfWaiting(n, a);
                Assert.True(Math.Abs(expected - actual) <= 1e-12 * Math.Max(1.0, expected),
                    $"n={n}, A={a}: direct {expected}, recursion {actual}");
            }
            // Erlang B is also defined for offered load at or above capacity.
            Assert.Equal(DirectErlangB(n, 1.5 * n), ErlangC.ErlangB(n, 1.5 * n), 1e-12);
        }
    }

    [Fact]
    public void Service_level_and_asa_follow_from_probability_of_waiting()
    {
        const double aht = 240;
        foreach (var (n, a) in new[] { (5, 3.2), (20, 17.5), (50, 41.0) })
        {
            var c = DirectErlangC(n, a);
            Assert.Equal(1 - (c * Math.Exp(-(n - a) * 30 / aht)), ErlangC.ServiceLevel(n, a, aht, 30), 1e-12);
            Assert.Equal(1 - c, ErlangC.ServiceLevel(n, a, aht, 0), 1e-12);
            Assert.Equal(c * aht / (n - a), ErlangC.AverageSpeedOfAnswer(n, a, aht), 1e-9);
        }
    }

    [Theory]
    [InlineData(10.0, 180.0, 20.0, 0.80)]
    [InlineData(2.5, 300.0, 15.0, 0.90)]
    [InlineData(0.4, 120.0, 10.0, 0.95)]
    [InlineData(57.3, 240.0, 30.0, 0.80)]
    [InlineData(950.0, 300.0, 20.0, 0.90)]
    [InlineData(3.0, 60.0, 0.0, 0.50)]
    public void AgentsForServiceLevel_returns_the_minimal_staffing(double a, double aht, double target, double sl)
    {
        var n = ErlangC.AgentsForServiceLevel(a, aht, target, sl);
        Assert.True(n > a);
        Assert.True(ErlangC.ServiceLevel(n, a, aht, target) >= sl);
        Assert.True(n - 1 <= a || ErlangC.ServiceLevel(n - 1, a, aht, target) < sl,
            $"{n - 1} agents already reach {sl}");
    }

    [Theory]
    [InlineData(10.0, 180.0, 20.0)]
    [InlineData(2.5, 300.0, 5.0)]
    [InlineData(57.3, 240.0, 1.0)]
    [InlineData(950.0, 300.0, 10.0)]
    public void AgentsForAsa_returns_the_minimal_staffing(double a, double aht, double targetAsa)
    {
        var n = ErlangC.AgentsForAsa(a, aht, targetAsa);
        Assert.True(n > a);
        Assert.True(ErlangC.AverageSpeedOfAnswer(n, a, aht) <= targetAsa);
        Assert.True(ErlangC.AverageSpeedOfAnswer(n - 1, a, aht) > targetAsa);
    }

    [Fact]
    public void Zero_traffic_needs_one_agent_and_never_waits()
    {
        Assert.Equal(0.0, ErlangC.ProbabilityOfWaiting(1, 0));
        Assert.Equal(1.0, ErlangC.ServiceLevel(1, 0, 180, 0));
        Assert.Equal(0.0, ErlangC.AverageSpeedOfAnswer(1, 0, 180));
        Assert.Equal(1, ErlangC.AgentsForServiceLevel(0, 180, 20, 1.0));
        Assert.Equal(1, ErlangC.AgentsForAsa(0, 180, 0));
        Assert.Equal(0.0, ErlangC.ErlangB(3, 0));
    }

    [Theory]
    [InlineData(1, 1.0)]
    [InlineData(10, 10.0)]
    [InlineData(10, 12.5)]
    [InlineData(1000, 1000.0)]
    public void Unstable_queues_always_wait(int agents, double a)
    {
        Assert.Equal(1.0, ErlangC.ProbabilityOfWaiting(agents, a));
        Assert.Equal(0.0, ErlangC.ServiceLevel(agents, a, 180, 20));
        Assert.Equal(double.PositiveInfinity, ErlangC.AverageSpeedOfAnswer(agents, a, 180));
        Assert.Equal(1.0, ErlangC.Occupancy(agents, a));
    }

    [Fact]
    public void Targets_out_of_reach_return_minus_one()
    {
        // The load alone needs more agents than allowed.
        Assert.Equal(-1, ErlangC.AgentsForServiceLevel(150, 180, 20, 0.8, maxAgents: 100));
        Assert.Equal(-1, ErlangC.AgentsForAsa(150, 180, 20, maxAgents: 150));
        // Stable within the cap, but the target needs more: 10 Erlangs at 80/20 needs 14.
        Assert.Equal(-1, ErlangC.AgentsForServiceLevel(10, 180, 20, 0.8, maxAgents: 13));
        Assert.Equal(14, ErlangC.AgentsForServiceLevel(10, 180, 20, 0.8, maxAgents: 14));
        // A zero ASA is never reached with any load, as some calls always wait.
        Assert.Equal(-1, ErlangC.AgentsForAsa(10, 180, 0, maxAgents: 12));
    }

    [Fact]
    public void Large_teams_are_numerically_stable()
    {
        var c = ErlangC.ProbabilityOfWaiting(1000, 950);
        Assert.False(double.IsNaN(c));
        Assert.InRange(c, 0.0, 1.0);
        Assert.InRange(c, 0.01, 0.99);

        var b = ErlangC.ErlangB(1000, 950);
        Assert.InRange(b, 0.0, 1.0);
        Assert.True(b < c, "Erlang C always exceeds Erlang B for a stable queue");

        var sl = ErlangC.ServiceLevel(1000, 950, 300, 20);
        Assert.InRange(sl, 0.0, 1.0);
        var asa = ErlangC.AverageSpeedOfAnswer(1000, 950, 300);
        Assert.True(double.IsFinite(asa) && asa >= 0);

        // Far beyond double's factorial range, still finite and sensible.
        Assert.InRange(ErlangC.ProbabilityOfWaiting(100_000, 99_000), 0.0, 1.0);
    }

    [Fact]
    public void Probability_of_waiting_falls_as_agents_are_added()
    {
        var previous = 1.0;
        for (var n = 96; n <= 130; n++)
        {
            var c = ErlangC.ProbabilityOfWaiting(n, 95.5);
            Assert.True(c < previous, $"C({n}) = {c} is not below C({n - 1}) = {previous}");
            previous = c;
        }
    }

    [Fact]
    public void Occupancy_and_traffic()
    {
        Assert.Equal(0.8, ErlangC.Occupancy(10, 8), Tight);
        Assert.Equal(0.0, ErlangC.Occupancy(3, 0));
        Assert.Equal(5.0, ErlangC.TrafficErlangs(100, 180), Tight);
        Assert.Equal(0.0, ErlangC.TrafficErlangs(0, 180));
    }

    [Fact]
    public void Estimate_combines_the_figures()
    {
        var e = ErlangC.Estimate(14, 200, 180, 20);
        Assert.Equal(14, e.Agents);
        Assert.Equal(10.0, e.TrafficErlangs, Tight);
        Assert.Equal(ErlangC.ProbabilityOfWaiting(14, 10), e.ProbabilityOfWaiting, Tight);
        Assert.Equal(ErlangC.ServiceLevel(14, 10, 180, 20), e.ServiceLevel, Tight);
        Assert.Equal(ErlangC.AverageSpeedOfAnswer(14, 10, 180), e.AverageSpeedOfAnswerSeconds, Tight);
        Assert.Equal(10.0 / 14.0, e.Occupancy, Tight);

        var overloaded = ErlangC.Estimate(5, 200, 180, 20);
        Assert.Equal(1.0, overloaded.ProbabilityOfWaiting);
        Assert.Equal(0.0, overloaded.ServiceLevel);
        Assert.Equal(double.PositiveInfinity, overloaded.AverageSpeedOfAnswerSeconds);
        Assert.Equal(1.0, overloaded.Occupancy);
    }

    [Fact]
    public void Invalid_arguments_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.ProbabilityOfWaiting(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.ProbabilityOfWaiting(-3, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.ProbabilityOfWaiting(5, -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.ProbabilityOfWaiting(5, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.ProbabilityOfWaiting(5, double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.ErlangB(-1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.ErlangB(1, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.ServiceLevel(5, 2, 0, 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.ServiceLevel(5, 2, 180, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.ServiceLevel(0, 2, 180, 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.AverageSpeedOfAnswer(5, 2, -180));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.AgentsForServiceLevel(-1, 180, 20, 0.8));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.AgentsForServiceLevel(2, 180, 20, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.AgentsForServiceLevel(2, 180, 20, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.AgentsForServiceLevel(2, 180, 20, 0.8, maxAgents: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.AgentsForAsa(2, 180, -5));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.AgentsForAsa(2, 0, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.Occupancy(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.TrafficErlangs(-1, 180));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.Estimate(0, 100, 180, 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.Estimate(5, 100, 0, 20));

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.ServiceLevel(5, 2, 180, -1));
        Assert.Equal("targetSeconds", ex.ParamName);
    }
}
