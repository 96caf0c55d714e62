using Lineup.Engine.Snapshots;
using Xunit.Abstractions;

namespace Lineup.Engine.Tests;

/// <summary>
/// Snapshots over random scenarios that also reconfigure the tenant as they run (<see cref="RandomScenario.Reconfiguring"/>):
/// at random steps the engine is captured, written as JSON, read back and restored; the restored engine then takes
/// the remaining commands beside the original. Both must give the same results and the same events at every step,
/// and the same snapshot bytes after every step. Seeds and run counts as in <see cref="PropertyTests"/>.
/// </summary>
public class SnapshotTests(ITestOutputHelper output)
{
    [Fact]
    public void A_restored_engine_goes_on_exactly_as_the_original()
    {
        var forks = 0;
        var forksWithCalls = 0;
        var forksLeavingSpentTimersOut = 0;
        var reconfigurations = 0;
        var comparedEvents = 0L;
        PropertyTests.ForAllScenarios(20, s =>
        {
            var options = new EngineOptions { Seed = s.Seed };
            var original = new ScenarioRun(s);
            // Up to three points, chosen from the scenario's own seed so a shrunk scenario keeps them where it can.
            var pick = new Random(s.Origin.Seed);
            var points = new SortedSet<int> { 0, pick.Next(s.Steps.Count + 1), pick.Next(s.Steps.Count + 1) };
            var running = new List<ScenarioRun>();
            for (var i = 0; i <= s.Steps.Count; i++)
            {
                if (points.Contains(i))
                {
                    var snapshot = original.Engine.Capture();
                    var bytes = snapshot.ToUtf8Json();
                    var restored = CallCenter.Restore(EngineSnapshot.FromUtf8Json(bytes), options);
                    original.Require(restored.Capture().ToUtf8Json().AsSpan().SequenceEqual(bytes),
                        $"restoring the snapshot taken before step #{i} and taking it again changed it");
                    running.Add(original.Fork(restored));
                    forks++;
                    if (snapshot.Calls.Count > 0) forksWithCalls++;
                    if (snapshot.Timers.Count < original.Engine.HeldTimers) forksLeavingSpentTimersOut++;
                }
                if (i == s.Steps.Count) break;
                var expected = original.RunStep(i).ToList();
                if (s.Steps[i].Command is ChangeQueue or DropQueue or ChangeAgent or DropAgent or ChangeMember or DropMember
                    && original.Results[^1] == CommandResult.Ok) reconfigurations++;
                // Events at every step; whole states every few steps (a capture costs more than the step itself).
                var state = i % 8 == 0 ? original.Engine.Capture().ToUtf8Json() : null;
                foreach (var fork in running)
                {
                    var actual = fork.RunStep(i);
                    comparedEvents += Compare(original, fork, expected, actual, state, $"step #{i} ({s.Steps[i]})");
                }
            }
            var drained = new List<EngineEvent>();
            original.Drain((_, events) => drained.AddRange(events));
            foreach (var fork in running)
            {
                var actual = new List<EngineEvent>();
                fork.Drain((_, events) => actual.AddRange(events));
                comparedEvents += Compare(original, fork, drained, actual, original.Engine.Capture().ToUtf8Json(), "the drain");
            }
        }, RandomScenario.Reconfiguring);
        output.WriteLine($"snapshots restored: {forks}, with calls in progress: {forksWithCalls}, that left spent timers out: {forksLeavingSpentTimersOut}; " +
            $"configuration changes accepted: {reconfigurations}; events compared: {comparedEvents}");
        Assert.True(forksWithCalls > PropertyTests.Scaled(500), $"only {forksWithCalls} snapshots had calls in progress");
        Assert.True(forksLeavingSpentTimersOut > PropertyTests.Scaled(200), $"only {forksLeavingSpentTimersOut} snapshots left spent timers out");
        Assert.True(reconfigurations > PropertyTests.Scaled(1_200), $"only {reconfigurations} configuration changes were accepted");
    }

    /// <summary>Same results, same events, the same next deadline and (when <paramref name="state"/> is given) the same
    /// snapshot after a step; returns the events compared.</summary>
    private static int Compare(ScenarioRun original, ScenarioRun fork, IReadOnlyList<EngineEvent> expected, IReadOnlyList<EngineEvent> actual,
        byte[]? state, string where)
    {
        if (fork.Results.Count > 0 && fork.Results[^1] != original.Results[^1])
            original.Require(false, $"after {where} the restored engine returned {fork.Results[^1]}, the original {original.Results[^1]}");
        for (var k = 0; k < Math.Min(expected.Count, actual.Count); k++)
        {
            original.Require(PropertyTests.SameEvent(expected[k], actual[k]),
                $"after {where} event {k} of the restored engine was {PropertyTests.Text(actual[k])}, the original's {PropertyTests.Text(expected[k])}");
        }
        original.Require(expected.Count == actual.Count, $"after {where} the restored engine emitted {actual.Count} events, the original {expected.Count}");
        if (state != null)
        {
            var b = fork.Engine.Capture().ToUtf8Json();
            original.Require(state.AsSpan().SequenceEqual(b), $"after {where} the states differ:\n{FirstDifference(state, b)}");
        }
        original.Require(original.Engine.NextDeadline == fork.Engine.NextDeadline,
            $"after {where} the next deadline is {fork.Engine.NextDeadline}, the original's {original.Engine.NextDeadline}");
        return expected.Count;
    }

    /// <summary>Where two snapshots' JSON first differ, with some context.</summary>
    internal static string FirstDifference(byte[] a, byte[] b)
    {
        var i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i]) i++;
        var from = Math.Max(0, i - 200);
        string Part(byte[] x) => System.Text.Encoding.UTF8.GetString(x, from, Math.Min(x.Length, i + 200) - from);
        return $"original: …{Part(a)}…\nrestored: …{Part(b)}…";
    }

    /// <summary>
    /// A host fires timers on its own clock (ticks) and logs only commands, so a snapshot may be taken at a time no
    /// command has. Starting from it and replaying the later commands must agree with replaying them all: advancing
    /// the clock in two steps must give what one step gives. Checked by a second engine that also advances to a
    /// random time before every step.
    /// </summary>
    [Fact]
    public void Advancing_the_clock_in_two_steps_gives_what_one_step_gives()
    {
        var ticks = 0;
        var ticksThatFired = 0;
        var comparedEvents = 0L;
        PropertyTests.ForAllScenarios(22, s =>
        {
            var plain = new ScenarioRun(s);
            var ticked = new ScenarioRun(s);
            var pick = new Random(s.Origin.Seed);
            var last = s.Start;
            for (var i = 0; i < s.Steps.Count; i++)
            {
                var at = s.Start + s.Steps[i].At;
                if (at > last)
                {
                    ticked.Engine.Advance(last + (long)(pick.NextDouble() * (at - last)));
                    ticks++;
                    if (ticked.Engine.PendingEvents.Length > 0) ticksThatFired++;
                }
                last = at;
                var expected = plain.RunStep(i).ToList();
                var state = i % 8 == 0 ? plain.Engine.Capture().ToUtf8Json() : null;
                comparedEvents += Compare(plain, ticked, expected, ticked.RunStep(i), state, $"step #{i} ({s.Steps[i]})");
            }
        }, RandomScenario.Reconfiguring);
        output.WriteLine($"extra ticks: {ticks}, of which fired timers: {ticksThatFired}; events compared: {comparedEvents}");
        Assert.True(ticksThatFired > PropertyTests.Scaled(1_000), $"only {ticksThatFired} extra ticks fired a timer");
    }

    [Fact]
    public void Taking_restoring_and_taking_again_gives_the_same_bytes_at_every_step()
    {
        var compared = 0;
        PropertyTests.ForAllScenarios(21, s =>
        {
            var options = new EngineOptions { Seed = s.Seed };
            void Check(ScenarioRun run, IReadOnlyList<EngineEvent> _)
            {
                var bytes = run.Engine.Capture().ToUtf8Json();
                var again = CallCenter.Restore(EngineSnapshot.FromUtf8Json(bytes), options).Capture().ToUtf8Json();
                run.Require(bytes.AsSpan().SequenceEqual(again), $"the snapshot changed through a restore:\n{FirstDifference(bytes, again)}");
                compared++;
            }
            new ScenarioRun(s).Run(Check).Drain(Check);
        }, RandomScenario.Reconfiguring);
        output.WriteLine($"snapshots compared: {compared}");
        Assert.True(compared > PropertyTests.Scaled(30_000), $"only {compared} snapshots compared");
    }
}
