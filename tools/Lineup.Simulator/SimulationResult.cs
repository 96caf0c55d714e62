using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lineup.Simulator;

/// <summary>
/// What a run measured, printed as one snake_case JSON object. Counts and averages cover the calls that arrived
/// after the warm-up (<see cref="MeasuredFromHour"/>); every one of them is followed until it ends.
/// </summary>
public sealed record SimulationResult
{
    public required int Agents { get; init; }
    public required double ArrivalsPerHour { get; init; }
    public required double AhtSeconds { get; init; }
    public required double Hours { get; init; }
    public required string Strategy { get; init; }
    public required long Seed { get; init; }
    public double? PatienceSeconds { get; init; }
    public required double SlaSeconds { get; init; }
    public required double AnswerDelaySeconds { get; init; }
    /// <summary>Calls that arrived before this hour were simulated but not counted.</summary>
    public required double MeasuredFromHour { get; init; }

    public required long Offered { get; init; }
    public required long Answered { get; init; }
    public required long Abandoned { get; init; }
    /// <summary>Offered calls answered within the SLA time ÷ offered calls.</summary>
    public required double ServiceLevel { get; init; }
    /// <summary>Mean wait of answered calls, from entry to answer.</summary>
    public required double AsaSeconds { get; init; }
    /// <summary>Mean wait of every offered call: to the answer, or to the caller hanging up.</summary>
    public required double MeanWaitSeconds { get; init; }
    public required double MaxWaitSeconds { get; init; }
    /// <summary>Answered calls that waited at all (wait &gt; 0) ÷ answered calls: compare with Erlang C's P(wait).</summary>
    public required double ProbabilityOfWaiting { get; init; }
    /// <summary>Agents' talk time inside the measured window ÷ (agents × the window's length).</summary>
    public required double Occupancy { get; init; }

    public required ErlangCPrediction ErlangC { get; init; }
    public required WaitEstimateErrors WaitEstimateErrors { get; init; }

    /// <summary>How far the service level, ASA and abandonment rate may be from the queue's long-run figures (batch
    /// means); null when the run is too short to say.</summary>
    public required ConfidenceIntervals? ConfidenceIntervals { get; init; }

    /// <summary>Why the figures are not to be trusted yet (intervals too wide, batches correlated, too few calls);
    /// empty for a run long enough. Also printed on stderr.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>Every call the run enqueued, warm-up included.</summary>
    public required long SimulatedCalls { get; init; }
    public required double WallSeconds { get; init; }
    public required double CallsPerSecond { get; init; }

    /// <summary>The result without its wall-clock figures: equal for equal options, on any machine.</summary>
    public SimulationResult WithoutTiming() => this with { WallSeconds = 0, CallsPerSecond = 0 };

    public string ToJson() => JsonSerializer.Serialize(this, SimulationJsonContext.Default.SimulationResult);
}

/// <summary>Erlang C's prediction for the same agents, traffic and SLA time (no abandonment, no answer delay).
/// For an overloaded queue (traffic ≥ agents) every call waits, the service level is 0 and the ASA (infinite) is null.</summary>
public sealed record ErlangCPrediction
{
    public required double TrafficErlangs { get; init; }
    public required double ProbabilityOfWaiting { get; init; }
    public required double ServiceLevel { get; init; }
    public double? AsaSeconds { get; init; }
    /// <summary>Traffic ÷ agents, capped at 1.</summary>
    public required double Occupancy { get; init; }
}

/// <summary>A list of texts equal to another with the same texts in the same order (so that results compare by value).</summary>
internal sealed class TextList(IList<string> items) : System.Collections.ObjectModel.ReadOnlyCollection<string>(items)
{
    public override bool Equals(object? obj) => obj is TextList other && this.SequenceEqual(other, StringComparer.Ordinal);

    public override int GetHashCode() => Count;
}

/// <summary>95 % confidence intervals of a run's figures by the method of batch means.</summary>
public sealed record ConfidenceIntervals
{
    public required int Batches { get; init; }
    public required double Level { get; init; }
    public required Interval ServiceLevel { get; init; }
    public required Interval AsaSeconds { get; init; }
    /// <summary>Abandoned calls ÷ offered calls.</summary>
    public required Interval AbandonmentRate { get; init; }
}

/// <summary>The mean of the batch figures and the interval around it. The mean may differ a little from the run's
/// own figure (a ratio over all calls), since every batch weighs the same.</summary>
public sealed record Interval
{
    public required double Mean { get; init; }
    public required double HalfWidth { get; init; }
    public required double Low { get; init; }
    public required double High { get; init; }
    /// <summary>Of the batch figures, in time order: near 0 when the batches are long enough to be independent.</summary>
    public required double Lag1Autocorrelation { get; init; }
}

/// <summary>Error of each estimated-wait estimator over the measured answered calls.</summary>
public sealed record WaitEstimateErrors
{
    public required EstimatorError QueueLength { get; init; }
    public required EstimatorError LastToEnterService { get; init; }
    public required EstimatorError HeadOfLine { get; init; }
}

/// <summary>Estimate asked at the call's arrival (before it joined) minus its actual wait to answer, in seconds.</summary>
public sealed record EstimatorError
{
    public required long Samples { get; init; }
    public required double MaeSeconds { get; init; }
    public required double RmseSeconds { get; init; }
    /// <summary>Mean signed error: positive when the estimator promises longer waits than callers get.</summary>
    public required double BiasSeconds { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(SimulationResult))]
internal sealed partial class SimulationJsonContext : JsonSerializerContext;
