using System.Diagnostics.Metrics;
using Lineup.Engine;
using Lineup.Server.Events;
using Lineup.Server.Telephony;
using Lineup.Server.Tenancy;

namespace Lineup.Server;

/// <summary>
/// Every figure Lineup publishes, as System.Diagnostics.Metrics instruments on the <c>Lineup.Server</c> meter (the
/// catalogue: docs/metrics.md). OpenTelemetry reads them: <c>/metrics</c> (Prometheus text) and OTLP when configured.
/// Hot paths only bump a counter or record a histogram; gauges and totals kept elsewhere are observed when collected.
/// </summary>
public sealed class ServerMetrics
{
    public const string MeterName = "Lineup.Server";

    /// <summary>How old a queue snapshot may be when a collection reads it (see <see cref="RefreshQueuesAsync"/>).</summary>
    private static readonly TimeSpan s_queueSnapshotAge = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_queueReadTimeout = TimeSpan.FromSeconds(5);

    // The media clock's histograms: fine around 20 ms, where a 20 ms packet stream's intervals fall.
    private static readonly double[] s_intervalBuckets =
        [0.001, 0.005, 0.01, 0.015, 0.018, 0.019, 0.0195, 0.02, 0.0205, 0.021, 0.022, 0.023, 0.025, 0.03, 0.04, 0.06, 0.1, 0.25, 0.5];

    private static readonly double[] s_httpBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

    private readonly Meter _meter;
    private readonly TimeProvider _time;
    private long _callsQueued;
    private long _callsAnswered;
    private long _callsEnded;
    private long _offers;
    private long _batchFailures;
    private readonly Counter<long> _httpRequests;
    private readonly Histogram<double> _httpDuration;
    private readonly SemaphoreSlim _queueRefresh = new(1, 1);
    private QueueSnapshot _queues = new([], long.MinValue);
    private ILocalTenants? _tenants;

    public ServerMetrics(IMeterFactory meters, TimeProvider time)
    {
        // A meter from the host's factory: two servers in one process (the tests) each publish only their own.
        _meter = meters.Create(MeterName);
        _time = time;
        // Engine events are counted in the tenants' turns with one interlocked add, and observed when collected
        // (so they also show 0 before the first call).
        _meter.CreateObservableCounter("lineup_calls_queued_total", () => Interlocked.Read(ref _callsQueued), description: "Calls that entered a queue.");
        _meter.CreateObservableCounter("lineup_calls_answered_total", () => Interlocked.Read(ref _callsAnswered), description: "Calls answered by an agent.");
        _meter.CreateObservableCounter("lineup_calls_ended_total", () => Interlocked.Read(ref _callsEnded), description: "Calls ended (CDRs written).");
        _meter.CreateObservableCounter("lineup_offers_total", () => Interlocked.Read(ref _offers), description: "Offers (agent ringing).");
        _meter.CreateObservableCounter("lineup_batch_failures_total", () => Interlocked.Read(ref _batchFailures),
            description: "Tenant batches whose commit failed (the tenant was rebuilt from its log).");
        CommitSeconds = _meter.CreateHistogram("lineup_commit_seconds", unit: null,
            description: "Duration of one tenant batch's commit (group commit).", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] });
        _httpRequests = _meter.CreateCounter<long>("lineup_http_requests_total", description: "HTTP requests by method, route and status.");
        _httpDuration = _meter.CreateHistogram("lineup_http_request_duration_seconds", unit: null, description: "HTTP request latency.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_httpBuckets });
        RtpSendInterval = _meter.CreateHistogram("lineup_rtp_send_interval_seconds", unit: null,
            description: "Interval between consecutive played packets of one stream.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_intervalBuckets });
        RtpTickLateness = _meter.CreateHistogram("lineup_rtp_tick_lateness_seconds", unit: null,
            description: "How late the media clock's ticks ran.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_intervalBuckets });
        LegQuality = new Lineup.Sip.Media.LegQualityInstruments(
            _meter.CreateHistogram("lineup_rtp_leg_loss_ratio", unit: null,
                description: "Per RTP leg at its end: the peer's packets lost over those expected (0-1).", tags: null,
                advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5] }),
            _meter.CreateHistogram("lineup_rtp_leg_jitter_seconds", unit: null,
                description: "Per RTP leg at its end: the highest interarrival jitter of the peer's packets (RFC 3550 A.8).", tags: null,
                advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5] }),
            _meter.CreateHistogram("lineup_rtp_leg_rtt_seconds", unit: null,
                description: "Per RTP leg at its end: the mean round trip from the peer's RTCP reports (LSR/DLSR).", tags: null,
                advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.01, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1] }));
    }

    public Meter Meter => _meter;

    public Histogram<double> CommitSeconds { get; }

    /// <summary>Recorded by the media engine's pacing thread (<see cref="Lineup.Sip.Media.MediaOptions"/>).</summary>
    public Histogram<double> RtpSendInterval { get; }

    public Histogram<double> RtpTickLateness { get; }

    /// <summary>Recorded by the media engine when a leg closes.</summary>
    public Lineup.Sip.Media.LegQualityInstruments LegQuality { get; }

    /// <summary>Counts an engine event (in the tenant's turn: one interlocked add, no allocation).</summary>
    public void Observe(in EngineEvent e)
    {
        switch (e.Kind)
        {
            case EventKind.CallQueued: Interlocked.Increment(ref _callsQueued); break;
            case EventKind.CallAnswered: Interlocked.Increment(ref _callsAnswered); break;
            case EventKind.CallEnded: Interlocked.Increment(ref _callsEnded); break;
            case EventKind.CallOffered: Interlocked.Increment(ref _offers); break;
            default: break;
        }
    }

    public void BatchFailed() => Interlocked.Increment(ref _batchFailures);

    /// <summary>Counts one HTTP request by method, route template (not the path: ids would make a series each) and status.</summary>
    public void Request(string method, string route, int status, double seconds)
    {
        _httpRequests.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("route", route),
            new KeyValuePair<string, object?>("status", StatusText(status)));
        _httpDuration.Record(seconds);
    }

    private static readonly string[] s_statusTexts = [.. Enumerable.Range(0, 600).Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static string StatusText(int status) =>
        (uint)status < (uint)s_statusTexts.Length ? s_statusTexts[status] : status.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The figures kept by other parts, observed when a collection runs: tenants, live queues, webhooks, the
    /// event stream, SIP and RTP. Called once the services exist.</summary>
    /// <summary>Observes this process's tenants (in a cluster: the node's share) and services.</summary>
    public void ObserveServices(ILocalTenants tenants, WebhookRelay relay, EventHub hub, SipFrontEnd sip)
    {
        _tenants = tenants;
        _meter.CreateObservableGauge("lineup_tenants", () => tenants.Hosts.Count(), description: "Tenants loaded in this process.");
        _meter.CreateObservableCounter("lineup_webhook_deliveries_total", () => relay.DeliveredCount, description: "Webhook deliveries answered 2xx.");
        _meter.CreateObservableCounter("lineup_webhook_failed_attempts_total", () => relay.FailedAttemptCount,
            description: "Webhook attempts that failed (to be retried or dead).");
        _meter.CreateObservableCounter("lineup_webhook_dead_letters_total", () => relay.DeadCount, description: "Webhook deliveries given up (dead letters).");
        _meter.CreateObservableGauge("lineup_webhook_pending", () => relay.InMemoryCount, description: "Webhook deliveries waiting in memory.");
        _meter.CreateObservableGauge("lineup_event_stream_clients", () => hub.Clients, description: "Connected event stream clients.");
        _meter.CreateObservableGauge("lineup_snapshot_age_seconds", () => SnapshotAge(tenants), unit: "s",
            description: "Age of the oldest of this process's tenants' latest snapshots (0: none stored yet).");

        // SIP and RTP: only while the SIP front-end runs (no sample otherwise).
        _meter.CreateObservableGauge("lineup_sip_calls", () => Sip(sip, s => s.ActiveCalls), description: "Engine calls with a live SIP leg.");
        _meter.CreateObservableCounter("lineup_sip_dropped_messages_total", () => Sip(sip, s => s.DroppedMessages),
            description: "SIP messages dropped (unparseable and unanswerable).");
        _meter.CreateObservableCounter("lineup_sip_invites_shed_total", () => sip.Media is null ? [] : s_shedReasons.Select(r =>
            new Measurement<long>(sip.ShedInvites(r.Reason), new KeyValuePair<string, object?>("reason", r.Label))),
            description: "New INVITEs refused with 503 and Retry-After by overload control, by the signal that refused them.");
        _meter.CreateObservableGauge("lineup_rtp_legs", () => Sip(sip, s => s.Media!.LegCount), description: "Open RTP legs (one UDP port each).");
        _meter.CreateObservableCounter("lineup_rtp_packets_sent_total", () => Sip(sip, s => s.Media!.Statistics.PacketsSent),
            description: "RTP packets played (prompts, hold music).");
        _meter.CreateObservableCounter("lineup_rtp_packets_received_total", () => Sip(sip, s => s.Media!.Statistics.PacketsReceived),
            description: "RTP packets received.");
        _meter.CreateObservableCounter("lineup_rtp_packets_relayed_total", () => Sip(sip, s => s.Media!.Statistics.PacketsRelayed),
            description: "RTP packets relayed between bridged legs.");
        _meter.CreateObservableCounter("lineup_rtp_packets_dropped_total", () => Sip(sip, s => s.Media!.Statistics.PacketsDropped),
            description: "RTP packets dropped (malformed, unknown payload).");
        _meter.CreateObservableCounter("lineup_rtp_send_errors_total", () => Sip(sip, s => s.Media!.Statistics.SendErrors),
            description: "RTP sends that failed.");
        _meter.CreateObservableCounter("lineup_rtcp_packets_sent_total", () => Sip(sip, s => s.Media!.Statistics.RtcpSent),
            description: "RTCP compound packets sent (SR/RR with SDES, BYE).");
        _meter.CreateObservableCounter("lineup_rtcp_packets_received_total", () => Sip(sip, s => s.Media!.Statistics.RtcpReceived),
            description: "RTCP compound packets received and accepted.");
        _meter.CreateObservableCounter("lineup_rtcp_packets_dropped_total", () => Sip(sip, s => s.Media!.Statistics.RtcpDropped),
            description: "RTCP datagrams dropped (malformed, from an unexpected source, or on an SRTP leg).");
        _meter.CreateObservableCounter("lineup_srtp_auth_failures_total", () => Sip(sip, s => s.Media!.Statistics.SrtpAuthenticationFailures),
            description: "SRTP packets dropped: authentication tag wrong (tampered or forged).");
        _meter.CreateObservableCounter("lineup_srtp_replays_total", () => Sip(sip, s => s.Media!.Statistics.SrtpReplays),
            description: "SRTP packets dropped as replays.");

        // Live queue figures, one series per (tenant, queue).
        QueueGauge("lineup_queue_waiting", "Callers waiting in the queue.", q => q.Waiting);
        QueueGauge("lineup_queue_ringing", "Calls ringing an agent.", q => q.Ringing);
        QueueGauge("lineup_queue_talking", "Calls connected to an agent.", q => q.Talking);
        QueueGauge("lineup_queue_agents_logged_in", "Agents logged in to the queue.", q => q.LoggedIn);
        QueueGauge("lineup_queue_agents_available", "Agents ready and idle.", q => q.Available);
        QueueGauge("lineup_queue_longest_wait_seconds", "Wait of the longest-waiting caller.", q => q.LongestWaitSeconds);
    }

    private static readonly (Lineup.Sip.Stack.SipOverloadReason Reason, string Label)[] s_shedReasons =
    [
        (Lineup.Sip.Stack.SipOverloadReason.Transactions, "transactions"),
        (Lineup.Sip.Stack.SipOverloadReason.Sessions, "dialogs"),
        (Lineup.Sip.Stack.SipOverloadReason.ReceiveDelay, "receive_delay"),
    ];

    private static IEnumerable<Measurement<long>> Sip(SipFrontEnd sip, Func<SipFrontEnd, long> read) =>
        sip.Media is null ? [] : [new Measurement<long>(read(sip))];

    private void QueueGauge(string name, string description, Func<QueueFigures, double> value) =>
        _meter.CreateObservableGauge(name, () => Queues().Select(q => new Measurement<double>(value(q),
            new KeyValuePair<string, object?>("tenant", q.Tenant), new KeyValuePair<string, object?>("queue", q.Queue))), description: description);

    /// <summary>
    /// Reads every tenant's queues (in each tenant's turn) into the snapshot the queue gauges report. <c>/metrics</c>
    /// calls it before collecting, so a scrape shows the queues as they are; a collection that finds the snapshot
    /// older than a second (an OTLP export on its own timer) reads the tenants itself.
    /// </summary>
    /// <summary>Cluster mode's figures: active nodes as this node sees them, and tenants this node took over from a
    /// node that died or left (its tenant activations are <c>lineup_tenants</c>).</summary>
    public void ObserveCluster(Func<int> nodes, Func<long> failovers)
    {
        _meter.CreateObservableGauge("lineup_cluster_nodes", nodes, description: "Active nodes of the cluster, as this node sees them.");
        _meter.CreateObservableCounter("lineup_cluster_failovers_total", failovers, description: "Tenants this node took over from another node.");
    }

    private double SnapshotAge(ILocalTenants tenants)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var oldest = tenants.Hosts.Select(h => h.SnapshotAt).Where(at => at > 0).DefaultIfEmpty(now).Min();
        return Math.Max(0, now - oldest) / 1000.0;
    }

    public async Task RefreshQueuesAsync()
    {
        if (_tenants is not { } tenants) return;
        await _queueRefresh.WaitAsync();
        try
        {
            var started = _time.GetTimestamp();
            var reads = tenants.Hosts.Select(t => t.QueryAsync(engine => engine.Queues.Select(q => QueueFigures.Of(t.TenantId, engine, q)).ToList())).ToList();
            var rows = new List<QueueFigures>();
            foreach (var read in reads) rows.AddRange(await read);
            Volatile.Write(ref _queues, new QueueSnapshot(rows, started));
        }
        finally
        {
            _queueRefresh.Release();
        }
    }

    private IReadOnlyList<QueueFigures> Queues()
    {
        var snapshot = Volatile.Read(ref _queues);
        if (snapshot.At != long.MinValue && _time.GetElapsedTime(snapshot.At) < s_queueSnapshotAge) return snapshot.Rows;
        // Collected without a fresh snapshot: by an exporter's own thread (OTLP), never by a request, which refreshes
        // first. The tenants answer on other threads, so waiting here cannot deadlock; a tenant that does not answer in
        // time leaves the previous figures.
        try
        {
            if (!RefreshQueuesAsync().Wait(s_queueReadTimeout)) return snapshot.Rows;
        }
        catch (AggregateException)
        {
            return snapshot.Rows;
        }
        return Volatile.Read(ref _queues).Rows;
    }

    private sealed record QueueSnapshot(IReadOnlyList<QueueFigures> Rows, long At);

    private readonly record struct QueueFigures(long Tenant, long Queue, int Waiting, int Ringing, int Talking, int LoggedIn, int Available, double LongestWaitSeconds)
    {
        public static QueueFigures Of(long tenant, CallCenter engine, Queue q) => new(tenant, q.Id.Value, q.WaitingCount, q.RingingCount,
            q.TalkingCount, q.LoggedInAgents, q.AvailableAgents, q.OldestEntry is { } oldest ? Math.Max(0, engine.Now - oldest) / 1000.0 : 0);
    }
}
