using System.Diagnostics.Metrics;
using Lineup.Engine;

namespace Lineup.Server;

/// <summary>Lineup's instruments (System.Diagnostics.Metrics); <see cref="Api.OpsApi"/> renders them as
/// Prometheus text together with live queue gauges.</summary>
public sealed class ServerMetrics : IDisposable
{
    public const string MeterName = "Lineup.Server";
    private readonly Meter _meter = new(MeterName);
    private long _callsOffered;
    private long _callsAnswered;
    private long _callsEnded;
    private long _offers;

    public ServerMetrics()
    {
        BatchFailures = _meter.CreateCounter<long>("lineup_batch_failures_total");
        CommitSeconds = _meter.CreateHistogram<double>("lineup_commit_seconds");
    }

    public Counter<long> BatchFailures { get; }
    public Histogram<double> CommitSeconds { get; }

    public long CallsQueued => Interlocked.Read(ref _callsOffered);
    public long CallsAnswered => Interlocked.Read(ref _callsAnswered);
    public long CallsEnded => Interlocked.Read(ref _callsEnded);
    public long Offers => Interlocked.Read(ref _offers);

    public readonly HttpStats Http = new();

    public void Observe(in EngineEvent e)
    {
        switch (e.Kind)
        {
            case EventKind.CallQueued: Interlocked.Increment(ref _callsOffered); break;
            case EventKind.CallAnswered: Interlocked.Increment(ref _callsAnswered); break;
            case EventKind.CallEnded: Interlocked.Increment(ref _callsEnded); break;
            case EventKind.CallOffered: Interlocked.Increment(ref _offers); break;
            default: break;
        }
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>Request counts by (method, route, status) and a latency histogram, lock-free on the hot path.</summary>
    public sealed class HttpStats
    {
        public static readonly double[] Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
        private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Method, string Route, int Status), long[]> _counts = new();
        private readonly long[] _latency = new long[Buckets.Length + 1];
        private long _latencySumMicros;
        private long _latencyCount;

        public void Record(string method, string route, int status, double seconds)
        {
            var cell = _counts.GetOrAdd((method, route, status), _ => new long[1]);
            Interlocked.Increment(ref cell[0]);
            var i = 0;
            while (i < Buckets.Length && seconds > Buckets[i]) i++;
            Interlocked.Increment(ref _latency[i]);
            Interlocked.Add(ref _latencySumMicros, (long)(seconds * 1_000_000));
            Interlocked.Increment(ref _latencyCount);
        }

        public IEnumerable<((string Method, string Route, int Status) Key, long Count)> Counts =>
            _counts.Select(kv => (kv.Key, Interlocked.Read(ref kv.Value[0])));

        public long[] LatencyBuckets => _latency.Select((_, i) => Interlocked.Read(ref _latency[i])).ToArray();
        public double LatencySumSeconds => Interlocked.Read(ref _latencySumMicros) / 1_000_000.0;
        public long LatencyCount => Interlocked.Read(ref _latencyCount);
    }
}
