using System.Globalization;

namespace Lineup.Simulator;

/// <summary>The measured calls that arrived in one batch (one twentieth of the measured window).</summary>
internal struct Batch
{
    public long Offered, Answered, WithinSla, Abandoned, WaitAnsweredMs;
}

/// <summary>
/// 95 % confidence intervals by the method of batch means: the measured window is cut into <see cref="Batches"/>
/// equal spans of arrival time, each figure is computed per batch, and the batch figures, nearly independent when the
/// batches are long against the queue's memory, give a Student t interval around their mean. Waits in a busy queue
/// are strongly correlated from one caller to the next, so a run of a few hours holds far fewer independent samples
/// than calls: the interval says how far its figures may be from the queue's long-run ones.
/// </summary>
internal static class BatchMeans
{
    public const int Batches = 20;

    /// <summary>Student's t for 95 % two-sided with <see cref="Batches"/> − 1 = 19 degrees of freedom.</summary>
    private const double T95 = 2.093;

    /// <summary>Above this lag-1 autocorrelation of the batch figures, batches are too short to be independent.</summary>
    private const double MaxAutocorrelation = 0.3;

    public static ConfidenceIntervals? Intervals(ReadOnlySpan<Batch> batches, out List<string> warnings)
    {
        warnings = [];
        long offered = 0;
        var empty = 0;
        foreach (var b in batches)
        {
            offered += b.Offered;
            if (b.Answered == 0) empty++;
        }
        if (empty > 0)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"too short for confidence intervals: {offered} measured calls, and {empty} of the {Batches} batches had no answered call; run longer (--hours)"));
            return null;
        }

        var sl = new double[batches.Length];
        var asa = new double[batches.Length];
        var abandoned = new double[batches.Length];
        for (var i = 0; i < batches.Length; i++)
        {
            var b = batches[i];
            sl[i] = (double)b.WithinSla / b.Offered;
            asa[i] = b.WaitAnsweredMs / 1000.0 / b.Answered;
            abandoned[i] = (double)b.Abandoned / b.Offered;
        }
        var result = new ConfidenceIntervals
        {
            Batches = Batches,
            Level = 0.95,
            ServiceLevel = Interval(sl),
            AsaSeconds = Interval(asa),
            AbandonmentRate = Interval(abandoned),
        };

        if (result.ServiceLevel.HalfWidth > 0.02)
            warnings.Add(Loose("service level", result.ServiceLevel, "F3"));
        if (result.AsaSeconds.HalfWidth > Math.Max(1, 0.1 * result.AsaSeconds.Mean))
            warnings.Add(Loose("ASA", result.AsaSeconds, "F1", " s"));
        if (result.AbandonmentRate.HalfWidth > 0.01)
            warnings.Add(Loose("abandonment rate", result.AbandonmentRate, "F3"));
        foreach (var (name, interval) in new[] { ("service level", result.ServiceLevel), ("ASA", result.AsaSeconds), ("abandonment rate", result.AbandonmentRate) })
        {
            if (interval.Lag1Autocorrelation > MaxAutocorrelation)
            {
                warnings.Add(string.Create(CultureInfo.InvariantCulture,
                    $"the {name} of one batch predicts the next (lag-1 autocorrelation {interval.Lag1Autocorrelation:F2}): the batches are too short to be independent and its interval is too narrow; run longer (--hours)"));
            }
        }
        return result;
    }

    private static string Loose(string name, Interval i, string format, string unit = "") =>
        string.Create(CultureInfo.InvariantCulture,
            $"the {name} is known only to ±{i.HalfWidth.ToString(format, CultureInfo.InvariantCulture)}{unit} (95 %: {i.Low.ToString(format, CultureInfo.InvariantCulture)} to {i.High.ToString(format, CultureInfo.InvariantCulture)}{unit}); run longer (--hours) for a tighter figure");

    private static Interval Interval(double[] x)
    {
        var mean = x.Average();
        double squares = 0, lagged = 0;
        for (var i = 0; i < x.Length; i++)
        {
            squares += (x[i] - mean) * (x[i] - mean);
            if (i > 0) lagged += (x[i] - mean) * (x[i - 1] - mean);
        }
        var half = T95 * Math.Sqrt(squares / (x.Length - 1)) / Math.Sqrt(x.Length);
        return new Interval
        {
            Mean = mean,
            HalfWidth = half,
            Low = mean - half,
            High = mean + half,
            Lag1Autocorrelation = squares == 0 ? 0 : lagged / squares,
        };
    }
}
