using System.Globalization;
using System.Text;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api;

public sealed record HealthDto(string Status);

/// <summary>Health, readiness and Prometheus metrics.</summary>
public static class OpsApi
{
    public static void MapOpsApi(this WebApplication app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new HealthDto("ok"))).WithTags("Operations").AllowAnonymous()
            .WithSummary("Liveness");
        app.MapGet("/readyz", (ITenantGateway tenants) => tenants.Ready
            ? Results.Ok(new HealthDto("ready"))
            : Results.Problem(detail: "Starting: tenants are being loaded.", statusCode: 503)).WithTags("Operations")
            .WithSummary("Readiness").Produces<HealthDto>().ProducesProblems(503).AllowAnonymous();
        app.MapGet("/metrics", MetricsAsync).WithTags("Operations").WithSummary("Prometheus metrics").AllowAnonymous()
            .Produces<string>(200, "text/plain");
    }

    private static async Task<IResult> MetricsAsync(ILocalTenants registry, ServerMetrics metrics, Events.WebhookRelay relay, Events.EventHub hub,
        Telephony.SipFrontEnd sip)
    {
        var sb = new StringBuilder();
        Gauge(sb, "lineup_tenants", "Tenants loaded.", registry.Hosts.Count());
        Counter(sb, "lineup_calls_queued_total", "Calls that entered a queue.", metrics.CallsQueued);
        Counter(sb, "lineup_calls_answered_total", "Calls answered by an agent.", metrics.CallsAnswered);
        Counter(sb, "lineup_calls_ended_total", "Calls ended (CDRs written).", metrics.CallsEnded);
        Counter(sb, "lineup_offers_total", "Offers (agent ringing).", metrics.Offers);
        Counter(sb, "lineup_webhook_deliveries_total", "Webhook deliveries answered 2xx.", relay.DeliveredCount);
        Counter(sb, "lineup_webhook_failed_attempts_total", "Webhook attempts that failed (to be retried or dead).", relay.FailedAttemptCount);
        Counter(sb, "lineup_webhook_dead_letters_total", "Webhook deliveries given up (dead letters).", relay.DeadCount);
        Gauge(sb, "lineup_webhook_pending", "Webhook deliveries waiting in memory.", relay.InMemoryCount);
        Gauge(sb, "lineup_event_stream_clients", "Connected event stream clients.", hub.Clients);

        if (sip.Media is { } media)
        {
            var st = media.Statistics;
            Gauge(sb, "lineup_sip_calls", "Engine calls with a live SIP leg.", sip.ActiveCalls);
            Gauge(sb, "lineup_rtp_legs", "Open RTP legs (one UDP port each).", media.LegCount);
            Counter(sb, "lineup_rtp_packets_sent_total", "RTP packets played (prompts, hold music).", st.PacketsSent);
            Counter(sb, "lineup_rtp_packets_received_total", "RTP packets received.", st.PacketsReceived);
            Counter(sb, "lineup_rtp_packets_relayed_total", "RTP packets relayed between bridged legs.", st.PacketsRelayed);
            Counter(sb, "lineup_rtp_packets_dropped_total", "RTP packets dropped (malformed, unknown payload).", st.PacketsDropped);
            Counter(sb, "lineup_rtp_send_errors_total", "RTP sends that failed.", st.SendErrors);
            Counter(sb, "lineup_srtp_auth_failures_total", "SRTP packets dropped: authentication tag wrong (tampered or forged).", st.SrtpAuthenticationFailures);
            Counter(sb, "lineup_srtp_replays_total", "SRTP packets dropped as replays.", st.SrtpReplays);
            Counter(sb, "lineup_sip_dropped_messages_total", "SIP messages dropped (unparseable and unanswerable).", sip.DroppedMessages);
            Histogram(sb, "lineup_rtp_send_interval_seconds", "Interval between consecutive played packets of one stream.", st.PlayInterval);
            Histogram(sb, "lineup_rtp_tick_lateness_seconds", "How late the media clock's ticks ran.", st.TickLateness);
        }

        string[] gauges = ["waiting", "ringing", "talking", "agents_logged_in", "agents_available", "longest_wait_seconds"];
        foreach (var g in gauges) sb.Append(CultureInfo.InvariantCulture, $"# TYPE lineup_queue_{g} gauge\n");
        foreach (var host in registry.Hosts)
        {
            var rows = await host.QueryAsync(engine => engine.Queues.Select(q => Dto.QueueStatus(engine, q)).ToList());
            foreach (var q in rows)
            {
                var labels = $"{{tenant=\"{host.TenantId}\",queue=\"{q.QueueId}\"}}";
                Line(sb, "lineup_queue_waiting", labels, q.Waiting);
                Line(sb, "lineup_queue_ringing", labels, q.Ringing);
                Line(sb, "lineup_queue_talking", labels, q.Talking);
                Line(sb, "lineup_queue_agents_logged_in", labels, q.LoggedInAgents);
                Line(sb, "lineup_queue_agents_available", labels, q.AvailableAgents);
                Line(sb, "lineup_queue_longest_wait_seconds", labels, q.LongestWaitSeconds);
            }
        }

        sb.Append("# HELP lineup_http_requests_total HTTP requests by method, route and status.\n# TYPE lineup_http_requests_total counter\n");
        foreach (var ((method, route, status), count) in metrics.Http.Counts.OrderBy(x => x.Key.Route).ThenBy(x => x.Key.Status))
            sb.Append(CultureInfo.InvariantCulture, $"lineup_http_requests_total{{method=\"{method}\",route=\"{Escape(route)}\",status=\"{status}\"}} {count}\n");
        sb.Append("# HELP lineup_http_request_duration_seconds HTTP request latency.\n# TYPE lineup_http_request_duration_seconds histogram\n");
        var buckets = metrics.Http.LatencyBuckets;
        long cumulative = 0;
        for (var i = 0; i < ServerMetrics.HttpStats.Buckets.Length; i++)
        {
            cumulative += buckets[i];
            sb.Append(CultureInfo.InvariantCulture, $"lineup_http_request_duration_seconds_bucket{{le=\"{ServerMetrics.HttpStats.Buckets[i]}\"}} {cumulative}\n");
        }
        cumulative += buckets[^1];
        sb.Append(CultureInfo.InvariantCulture, $"lineup_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}\n");
        sb.Append(CultureInfo.InvariantCulture, $"lineup_http_request_duration_seconds_sum {metrics.Http.LatencySumSeconds}\n");
        sb.Append(CultureInfo.InvariantCulture, $"lineup_http_request_duration_seconds_count {metrics.Http.LatencyCount}\n");
        return TypedResults.Text(sb.ToString(), "text/plain; version=0.0.4; charset=utf-8");
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    private static void Gauge(StringBuilder sb, string name, string help, double value) =>
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");

    private static void Counter(StringBuilder sb, string name, string help, long value) =>
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

    // Fine around 20 ms, where a 20 ms packet stream's intervals fall.
    private static readonly double[] IntervalBucketsMs = [1, 5, 10, 15, 18, 19, 19.5, 20, 20.5, 21, 22, 23, 25, 30, 40, 60, 100, 250, 500];

    private static void Histogram(StringBuilder sb, string name, string help, Lineup.Sip.Media.IntervalHistogram h)
    {
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
        foreach (var ms in IntervalBucketsMs)
            sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"{ms / 1000}\"}} {h.CountAtMost(ms)}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"+Inf\"}} {h.Count}\n{name}_count {h.Count}\n");
    }

    private static void Line(StringBuilder sb, string name, string labels, double value) =>
        sb.Append(CultureInfo.InvariantCulture, $"{name}{labels} {value}\n");
}
