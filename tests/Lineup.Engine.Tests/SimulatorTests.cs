using System.Text.Json;
using System.Text.RegularExpressions;
using Lineup.Engine.Staffing;
using Lineup.Simulator;

namespace Lineup.Engine.Tests;

/// <summary>
/// The simulator against theory (Erlang C), its determinism, abandonment and answer delay, and its command line.
/// Every run is in-process with a fixed seed, so each assertion is exact for that seed; the tolerances say how
/// far any seed may fall from theory.
/// </summary>
public class SimulatorTests
{
    private const double Aht = 180;

    private static SimulationOptions Options(int agents, double erlangs, double hours, long seed = 42) => new()
    {
        Agents = agents,
        ArrivalsPerHour = erlangs * 3600 / Aht,
        AhtSeconds = Aht,
        Hours = hours,
        Seed = seed,
    };

    /// <summary>
    /// M/M/n with no abandonment is exactly Erlang C's model. Each point runs about 300,000 calls (the first hour
    /// is warm-up). Waits of successive calls are correlated, so the spread of a run's averages was measured
    /// instead of assumed: 20 seeds per point at these lengths gave standard deviations σ(SL) = 0.0057, 0.0067,
    /// 0.0107, 0.0023; σ(ASA) = 1.41 s, 1.14 s, 0.89 s, 0.49 s; σ(P(wait)) = 0.0053, 0.0063, 0.0106, 0.0024,
    /// with no detectable bias (every seed mean within 1.4 standard errors of Erlang C). Each tolerance is about
    /// 4σ: a correct engine passes for practically any seed, while a real error (one agent too few, a call left
    /// waiting beside a free agent) moves these figures by many σ.
    /// </summary>
    [Theory]
    [InlineData(10, 8.0, 1875, 0.025, 6.0, 0.025)]
    [InlineData(20, 17.0, 880, 0.03, 5.0, 0.03)]
    [InlineData(50, 45.0, 333, 0.045, 4.0, 0.045)]
    [InlineData(5, 3.0, 5000, 0.01, 2.0, 0.01)]
    public void Without_abandonment_service_level_and_asa_agree_with_erlang_c(
        int agents, double erlangs, double hours, double slTolerance, double asaToleranceSeconds, double waitTolerance)
    {
        var r = Simulation.Run(Options(agents, erlangs, hours));

        var sl = ErlangC.ServiceLevel(agents, erlangs, Aht, 20);
        var asa = ErlangC.AverageSpeedOfAnswer(agents, erlangs, Aht);
        var pw = ErlangC.ProbabilityOfWaiting(agents, erlangs);
        // The JSON's erlang_c block is Erlang C for exactly the simulated inputs.
        Assert.Equal(erlangs, r.ErlangC.TrafficErlangs, 1e-9);
        Assert.Equal(pw, r.ErlangC.ProbabilityOfWaiting, 1e-9);
        Assert.Equal(sl, r.ErlangC.ServiceLevel, 1e-9);
        Assert.Equal(asa, r.ErlangC.AsaSeconds!.Value, 1e-9);
        Assert.InRange(r.Offered, 250_000, 350_000);
        Assert.Equal((r.Offered, 0L), (r.Answered, r.Abandoned));
        Assert.InRange(r.ServiceLevel, sl - slTolerance, sl + slTolerance);
        Assert.InRange(r.AsaSeconds, asa - asaToleranceSeconds, asa + asaToleranceSeconds);
        Assert.InRange(r.ProbabilityOfWaiting, pw - waitTolerance, pw + waitTolerance);
        // Talk time over staffed time is traffic ÷ agents; its spread is a few thousandths at this length.
        Assert.InRange(r.Occupancy, erlangs / agents - 0.01, erlangs / agents + 0.01);
        Assert.Equal(r.AsaSeconds, r.MeanWaitSeconds);
    }

    [Fact]
    public void Same_seed_gives_the_same_figures_and_another_seed_does_not()
    {
        var options = Options(8, 7.0, 30) with { PatienceSeconds = 120, AnswerDelaySeconds = 2, Strategy = Strategy.Random, StrategyName = "random" };

        var first = Simulation.Run(options).WithoutTiming();
        var second = Simulation.Run(options).WithoutTiming();
        var other = Simulation.Run(options with { Seed = 43 }).WithoutTiming();

        Assert.Equal(first, second);
        Assert.Equal(first.ToJson(), second.ToJson());
        Assert.NotEqual(first.Offered, other.Offered);
        Assert.NotEqual(first.AsaSeconds, other.AsaSeconds);
    }

    /// <summary>
    /// With identical agents, no answer delay and no abandonment, which free agent takes a call cannot change
    /// anyone's wait: every strategy must give exactly the same figures as long as it never leaves a call waiting
    /// beside a free agent (arrivals and talk times come from separate random streams, so they are the same).
    /// </summary>
    [Fact]
    public void Every_strategy_keeps_agents_busy_while_calls_wait_so_waits_are_identical()
    {
        var options = Options(10, 8.5, 30);
        var baseline = Simulation.Run(options);
        Assert.True(baseline.ProbabilityOfWaiting > 0.4, "the load must make calls queue for the comparison to mean anything");

        // Each strategy, and with skills routing the hunts a vendor offers with it (PortSIP's SKILL_BASED_ROUTING_*).
        Strategy[] withSkills = [Strategy.SequentialByAgentOrder, Strategy.LeastRecentlyOffered, Strategy.LeastRecentlyAnswered];
        foreach (var (name, strategy) in StrategyNames.Table)
        {
            foreach (var skills in withSkills.Contains(strategy) ? new[] { false, true } : [false])
            {
                var r = Simulation.Run(options with { StrategyName = name, Strategy = strategy, SkillsRouting = skills });
                Assert.Equal(
                    (name, skills, baseline.Offered, baseline.Answered, baseline.ServiceLevel, baseline.AsaSeconds, baseline.Occupancy),
                    (name, skills, r.Offered, r.Answered, r.ServiceLevel, r.AsaSeconds, r.Occupancy));
            }
        }
    }

    [Fact]
    public void Impatient_callers_abandon_so_fewer_calls_are_answered_and_those_answered_wait_less()
    {
        // 95% load: without abandonment the queue is long.
        var patient = Simulation.Run(Options(10, 9.5, 100));
        var impatient = Simulation.Run(Options(10, 9.5, 100) with { PatienceSeconds = 60 });

        // The same arrivals (separate random streams), so the same calls are offered.
        Assert.Equal(patient.Offered, impatient.Offered);
        Assert.Equal((patient.Offered, 0L), (patient.Answered, patient.Abandoned));
        Assert.Equal(impatient.Offered, impatient.Answered + impatient.Abandoned);
        Assert.True(impatient.Abandoned > impatient.Offered / 20, $"abandoned {impatient.Abandoned} of {impatient.Offered}");
        Assert.True(impatient.Answered < patient.Answered);
        Assert.True(impatient.AsaSeconds < patient.AsaSeconds / 2, $"ASA {impatient.AsaSeconds} vs {patient.AsaSeconds}");
        Assert.True(impatient.Occupancy < patient.Occupancy);
    }

    /// <summary>Ring-all rings every free agent for each call, so while the first one picks up, the others are
    /// held too: with a 5 s answer delay it answers fewer impatient callers than a serial strategy.</summary>
    [Fact]
    public void Ring_all_with_an_answer_delay_holds_every_free_agent_and_answers_fewer_calls()
    {
        var options = Options(10, 9.5, 100) with { PatienceSeconds = 60, AnswerDelaySeconds = 5 };

        var serial = Simulation.Run(options);
        var ringAll = Simulation.Run(options with { Strategy = Strategy.RingAll, StrategyName = "ring_all" });

        Assert.Equal(serial.Offered, ringAll.Offered);
        Assert.Equal(ringAll.Offered, ringAll.Answered + ringAll.Abandoned);
        Assert.True(ringAll.Answered < serial.Answered, $"ring_all {ringAll.Answered}, longest_idle {serial.Answered}");
        Assert.True(ringAll.AsaSeconds > serial.AsaSeconds);
        Assert.InRange(Math.Min(ringAll.AsaSeconds, serial.AsaSeconds), 5, 60);
    }

    [Fact]
    public void Agents_answer_after_the_answer_delay_even_when_it_exceeds_the_default_ring_time()
    {
        // 25 s is longer than a queue's default 20 s ring timeout: the simulator must ring longer, or no call is answered.
        var light = Options(5, 1.0, 200) with { AnswerDelaySeconds = 25 };

        var within20 = Simulation.Run(light);
        var within25 = Simulation.Run(light with { SlaSeconds = 25 });

        Assert.Equal((within20.Offered, 0L), (within20.Answered, within20.Abandoned));
        Assert.Equal(0, within20.ServiceLevel);
        Assert.InRange(within20.AsaSeconds, 25, 26);
        Assert.InRange(within25.ServiceLevel, 0.98, 1);
    }

    [Fact]
    public void Estimators_are_measured_on_every_answered_call()
    {
        var r = Simulation.Run(Options(10, 9.0, 100) with { PatienceSeconds = 300 });

        foreach (var e in new[] { r.WaitEstimateErrors.QueueLength, r.WaitEstimateErrors.LastToEnterService, r.WaitEstimateErrors.HeadOfLine })
        {
            Assert.Equal(r.Answered, e.Samples);
            Assert.True(e.RmseSeconds >= e.MaeSeconds && e.MaeSeconds >= Math.Abs(e.BiasSeconds), $"{e}");
            Assert.True(e.MaeSeconds > 0);
        }
    }

    /// <summary>The default estimator is the one with the smallest error (docs/estimated-wait.md has the full table).</summary>
    [Fact]
    public void Default_estimator_queue_length_has_the_smallest_mean_absolute_error()
    {
        var r = Simulation.Run(Options(10, 9.0, 500)).WaitEstimateErrors;

        Assert.Equal(WaitEstimatorKind.QueueLength, new QueueConfig { Id = new QueueId(1) }.WaitEstimator);
        Assert.True(r.QueueLength.MaeSeconds < r.HeadOfLine.MaeSeconds, $"{r.QueueLength} vs {r.HeadOfLine}");
        Assert.True(r.QueueLength.MaeSeconds < r.LastToEnterService.MaeSeconds, $"{r.QueueLength} vs {r.LastToEnterService}");
    }

    [Theory]
    [InlineData("longest_idle", Strategy.LongestIdle, false)]
    [InlineData("ring_all", Strategy.RingAll, false)]
    [InlineData("least_recently_offered", Strategy.LeastRecentlyOffered, false)]
    [InlineData("fewest_calls", Strategy.FewestCalls, false)]
    public void Parser_accepts_lineup_strategy_names(string name, Strategy strategy, bool skills)
    {
        var parsed = CommandLine.Parse(Args($"--agents 12 --arrivals-per-hour 150.5 --aht 200 --hours 3 --strategy {name} --seed -7 " +
                                            "--patience 90 --sla 15 --answer-delay 2.5"));

        var o = Assert.IsType<SimulationOptions>(parsed.Options);
        Assert.Equal((12, 150.5, 200.0, 3.0, name, strategy, skills, -7L, (double?)90, 15.0, 2.5),
            (o.Agents, o.ArrivalsPerHour, o.AhtSeconds, o.Hours, o.StrategyName, o.Strategy, o.SkillsRouting, o.Seed,
             o.PatienceSeconds, o.SlaSeconds, o.AnswerDelaySeconds));
    }

    [Fact]
    public void Parser_defaults_to_patient_callers_a_20_second_sla_and_no_answer_delay()
    {
        var o = CommandLine.Parse(Args("--seed 1 --strategy top_down --hours 1 --aht 60 --arrivals-per-hour 10 --agents 1")).Options!;

        Assert.Equal(((double?)null, 20.0, 0.0, 0.0), (o.PatienceSeconds, o.SlaSeconds, o.AnswerDelaySeconds, o.WarmupHours));
        Assert.Equal(1.0, (o with { Hours = 3 }).WarmupHours);
    }

    [Theory]
    [InlineData("--arrivals-per-hour 100 --aht 180 --hours 1 --strategy longest_idle --seed 1", "--agents")]
    [InlineData("--agents 0 --arrivals-per-hour 100 --aht 180 --hours 1 --strategy longest_idle --seed 1", "--agents")]
    [InlineData("--agents ten --arrivals-per-hour 100 --aht 180 --hours 1 --strategy longest_idle --seed 1", "--agents")]
    [InlineData("--agents 10 --arrivals-per-hour 0 --aht 180 --hours 1 --strategy longest_idle --seed 1", "--arrivals-per-hour")]
    [InlineData("--agents 10 --arrivals-per-hour 100 --aht -5 --hours 1 --strategy longest_idle --seed 1", "--aht")]
    [InlineData("--agents 10 --arrivals-per-hour 100 --aht 180 --hours NaN --strategy longest_idle --seed 1", "--hours")]
    [InlineData("--agents 10 --arrivals-per-hour 100 --aht 180 --hours 1 --strategy longest-idle --seed 1", "--strategy")]
    [InlineData("--agents 10 --arrivals-per-hour 100 --aht 180 --hours 1 --strategy longest_idle --seed 1.5", "--seed")]
    [InlineData("--agents 10 --arrivals-per-hour 100 --aht 180 --hours 1 --strategy longest_idle --seed 1 --patience 0", "--patience")]
    [InlineData("--agents 10 --arrivals-per-hour 100 --aht 180 --hours 1 --strategy longest_idle --seed 1 --sla -1", "--sla")]
    [InlineData("--agents 10 --arrivals-per-hour 100 --aht 180 --hours 1 --strategy longest_idle --seed 1 --answer-delay x", "--answer-delay")]
    [InlineData("--agent 10 --arrivals-per-hour 100 --aht 180 --hours 1 --strategy longest_idle --seed 1", "--agent")]
    [InlineData("--agents 10 --arrivals-per-hour 100 --aht 180 --hours 1 --strategy longest_idle --seed 1 --seed 2", "--seed")]
    [InlineData("--agents 10 --arrivals-per-hour 100 --aht 180 --hours 1 --strategy longest_idle --seed", "--seed")]
    [InlineData("--agents --arrivals-per-hour 100 --aht 180 --hours 1 --strategy longest_idle --seed 1", "--agents")]
    public void Parser_rejects_bad_arguments_naming_the_argument(string args, string argument)
    {
        var parsed = CommandLine.Parse(Args(args));

        Assert.Null(parsed.Options);
        Assert.Equal(argument, parsed.Argument);
        // The argument itself, not a longer one that starts with it ("--agent" is not "--agents").
        Assert.Matches($@"(?<![\w-]){Regex.Escape(argument)}(?![\w-])", parsed.Error);
    }

    [Fact]
    public void Bad_arguments_exit_2_with_the_message_on_stderr_and_nothing_on_stdout()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = Program.Run(Args("--agents 10 --arrivals-per-hour 100 --aht soon --hours 1 --strategy longest_idle --seed 1"), stdout, stderr);

        Assert.Equal(2, code);
        Assert.Equal("", stdout.ToString());
        Assert.StartsWith("error: --aht must be a number of seconds greater than 0", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("usage:", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Command_line_prints_one_snake_case_json_object_with_the_figures_of_the_run()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = Program.Run(Args("--agents 10 --arrivals-per-hour 160 --aht 180 --hours 3 --strategy least_recently_offered --seed 5 --patience 100"), stdout, stderr);

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout.ToString());
        var root = json.RootElement;
        var expected = Simulation.Run(new SimulationOptions
        {
            Agents = 10,
            ArrivalsPerHour = 160,
            AhtSeconds = 180,
            Hours = 3,
            Seed = 5,
            PatienceSeconds = 100,
            StrategyName = "least_recently_offered",
            Strategy = Strategy.LeastRecentlyOffered,
        });
        Assert.Equal(expected.Offered, root.GetProperty("offered").GetInt64());
        Assert.Equal(expected.Answered, root.GetProperty("answered").GetInt64());
        Assert.Equal(expected.Abandoned, root.GetProperty("abandoned").GetInt64());
        Assert.Equal(expected.ServiceLevel, root.GetProperty("service_level").GetDouble());
        Assert.Equal(expected.AsaSeconds, root.GetProperty("asa_seconds").GetDouble());
        Assert.Equal(expected.MeanWaitSeconds, root.GetProperty("mean_wait_seconds").GetDouble());
        Assert.Equal(expected.Occupancy, root.GetProperty("occupancy").GetDouble());
        Assert.Equal(expected.SimulatedCalls, root.GetProperty("simulated_calls").GetInt64());
        Assert.Equal("least_recently_offered", root.GetProperty("strategy").GetString());
        var erlang = root.GetProperty("erlang_c");
        Assert.Equal(expected.ErlangC.ServiceLevel, erlang.GetProperty("service_level").GetDouble());
        Assert.Equal(expected.ErlangC.AsaSeconds, erlang.GetProperty("asa_seconds").GetDouble());
        Assert.Equal(expected.ErlangC.ProbabilityOfWaiting, erlang.GetProperty("probability_of_waiting").GetDouble());
        foreach (var name in new[] { "queue_length", "last_to_enter_service", "head_of_line" })
        {
            var e = root.GetProperty("wait_estimate_errors").GetProperty(name);
            Assert.Equal(expected.Answered, e.GetProperty("samples").GetInt64());
            foreach (var field in new[] { "mae_seconds", "rmse_seconds", "bias_seconds" })
                Assert.Equal(JsonValueKind.Number, e.GetProperty(field).ValueKind);
        }
        Assert.True(root.GetProperty("wall_seconds").GetDouble() > 0);
        Assert.True(root.GetProperty("calls_per_second").GetDouble() > 0);
        var asa = root.GetProperty("confidence_intervals").GetProperty("asa_seconds");
        Assert.Equal(expected.ConfidenceIntervals!.AsaSeconds.Low, asa.GetProperty("low").GetDouble());
        Assert.Equal(expected.ConfidenceIntervals.AsaSeconds.High, asa.GetProperty("high").GetDouble());
        // Two hours measured are too few for tight figures: the JSON and stderr say so, and stderr says nothing else.
        var warnings = root.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!).ToList();
        Assert.NotEmpty(warnings);
        Assert.Equal(expected.Warnings, warnings);
        Assert.Equal(string.Concat(warnings.Select(w => "warning: " + w + Environment.NewLine)), stderr.ToString());
    }

    /// <summary>
    /// Issue 12: confidence intervals by batch means. The README's queue (10 agents, 100 calls an hour of 300 s: 83 %
    /// occupancy, where successive waits are strongly correlated) simulated for 8 hours gives an ASA of 166 s against
    /// Erlang C's 88 s; its interval is wide, and the run warns that it is loose and, its batches being correlated, even
    /// too narrow (it misses Erlang C). Simulated for 2000 hours, the intervals are tight, include Erlang C's service
    /// level and ASA, and there is no warning.
    /// </summary>
    [Fact]
    public void Confidence_intervals_are_wide_with_a_warning_for_a_short_run_and_tight_around_erlang_c_for_a_long_one()
    {
        SimulationOptions Readme(double hours) => new()
        {
            Agents = 10,
            ArrivalsPerHour = 100,
            AhtSeconds = 300,
            Hours = hours,
            Seed = 1,
        };
        var shortRun = Simulation.Run(Readme(8));
        var ci = shortRun.ConfidenceIntervals!;
        Assert.Equal((20, 0.95), (ci.Batches, ci.Level));
        Assert.True(ci.AsaSeconds.HalfWidth > 0.25 * ci.AsaSeconds.Mean, $"an 8-hour ASA interval of ±{ci.AsaSeconds.HalfWidth:F1} s");
        Assert.Contains(shortRun.Warnings, w => w.StartsWith("the ASA is known only to ±", StringComparison.Ordinal));
        Assert.True(ci.AsaSeconds.Lag1Autocorrelation > 0.3);
        Assert.Contains(shortRun.Warnings, w => w.StartsWith("the ASA of one batch predicts the next", StringComparison.Ordinal));
        Assert.Contains(shortRun.Warnings, w => w.StartsWith("the service level is known only to ±", StringComparison.Ordinal));

        var longRun = Simulation.Run(Readme(2000));
        ci = longRun.ConfidenceIntervals!;
        Assert.Empty(longRun.Warnings);
        Assert.InRange(longRun.ErlangC.ServiceLevel, ci.ServiceLevel.Low, ci.ServiceLevel.High);
        Assert.InRange(longRun.ErlangC.AsaSeconds!.Value, ci.AsaSeconds.Low, ci.AsaSeconds.High);
        Assert.True(ci.AsaSeconds.HalfWidth <= 0.1 * ci.AsaSeconds.Mean && ci.ServiceLevel.HalfWidth <= 0.02);
        // Each interval surrounds the batch mean, which stays near the run's own figure; nobody abandons.
        Assert.Equal(ci.AsaSeconds.Mean, (ci.AsaSeconds.Low + ci.AsaSeconds.High) / 2, 1e-9);
        Assert.InRange(longRun.AsaSeconds, ci.AsaSeconds.Low, ci.AsaSeconds.High);
        Assert.InRange(longRun.ServiceLevel, ci.ServiceLevel.Low, ci.ServiceLevel.High);
        Assert.Equal((0.0, 0.0), (ci.AbandonmentRate.Low, ci.AbandonmentRate.High));
    }

    [Fact]
    public void A_run_too_short_for_every_batch_to_answer_a_call_has_no_intervals_and_says_why()
    {
        var r = Simulation.Run(new SimulationOptions { Agents = 2, ArrivalsPerHour = 5, AhtSeconds = 60, Hours = 1, Seed = 3 });
        Assert.Null(r.ConfidenceIntervals);
        var warning = Assert.Single(r.Warnings);
        Assert.StartsWith($"too short for confidence intervals: {r.Offered} measured calls", warning, StringComparison.Ordinal);
    }

    /// <summary>With impatient callers the abandonment rate has an interval too, around the run's own rate.</summary>
    [Fact]
    public void Abandonment_has_an_interval_when_callers_give_up()
    {
        var r = Simulation.Run(Options(10, 9.5, 300) with { PatienceSeconds = 60 });
        var rate = (double)r.Abandoned / r.Offered;
        var ci = r.ConfidenceIntervals!.AbandonmentRate;
        Assert.True(rate > 0.02, $"abandonment rate {rate}");
        Assert.InRange(rate, ci.Low, ci.High);
        Assert.True(ci.HalfWidth > 0);
    }

    private static string[] Args(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
