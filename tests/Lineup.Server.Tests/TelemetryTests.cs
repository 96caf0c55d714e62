using System.Text.RegularExpressions;

namespace Lineup.Server.Tests;

/// <summary>OpenTelemetry: OTLP export of metrics and traces when a collector is configured, each server's meters its
/// own, and a bad setting stopping start-up.</summary>
public sealed partial class TelemetryTests
{
    [Fact]
    public async Task Metrics_and_traces_go_to_the_configured_otlp_collector()
    {
        await using var collector = await WebhookReceiver.StartAsync();
        using var fx = new TelemetryFixture(new Dictionary<string, string?>
        {
            ["Telemetry:OtlpEndpoint"] = collector.BaseUrl,
            ["Telemetry:OtlpProtocol"] = "HttpProtobuf",
            ["Telemetry:ExportIntervalSeconds"] = "0.2",
        });
        await fx.InitializeAsync();
        var queue = await fx.Tenant.QueueAsync();
        await fx.Tenant.CallAsync(queue);

        // The protobuf bodies carry names as plain UTF-8: the queue gauge of this tenant, the request's route, the batch span.
        await collector.WaitForAsync(1, r => r.Path == "/v1/metrics" && r.Body.Contains("lineup_calls_queued_total", StringComparison.Ordinal)
            && r.Body.Contains("lineup_queue_waiting", StringComparison.Ordinal), what: "metrics with the call counters and queue gauges");
        await collector.WaitForAsync(1, r => r.Path == "/v1/traces" && r.Body.Contains("/api/v1/calls", StringComparison.Ordinal),
            what: "a request span");
        await collector.WaitForAsync(1, r => r.Path == "/v1/traces" && r.Body.Contains("tenant batch", StringComparison.Ordinal)
            && r.Body.Contains("lineup.batch.commands", StringComparison.Ordinal), what: "a tenant batch span");
        Assert.All(collector.Requests, r => Assert.Equal("application/x-protobuf", r.Headers["Content-Type"]));
    }

    [Fact]
    public async Task Each_server_in_a_process_publishes_only_its_own_figures()
    {
        using var busy = new TelemetryFixture([]);
        using var idle = new TelemetryFixture([]);
        await busy.InitializeAsync();
        await idle.InitializeAsync();
        var queue = await busy.Tenant.QueueAsync();
        await busy.Tenant.CallAsync(queue);

        var busyText = await (await busy.Anonymous().GetAsync("/metrics")).Content.ReadAsStringAsync();
        var idleText = await (await idle.Anonymous().GetAsync("/metrics")).Content.ReadAsStringAsync();
        var both = $"busy:\n{busyText}\nidle:\n{idleText}";
        Assert.True(Sample("lineup_calls_queued_total", "1").IsMatch(busyText), both);
        Assert.True(Sample("lineup_calls_queued_total", "0").IsMatch(idleText), both);
        // The idle server's only tenants are its default one and the fixture's, with no queue.
        Assert.True(busyText.Contains("lineup_queue_waiting{", StringComparison.Ordinal), both);
        Assert.False(idleText.Contains("lineup_queue_waiting{", StringComparison.Ordinal), both);
        Assert.True(Sample("lineup_tenants", "2").IsMatch(idleText), both);
    }

    [Theory]
    [InlineData("Telemetry:OtlpEndpoint", "collector:4317", "Telemetry:OtlpEndpoint")]
    [InlineData("Telemetry:OtlpEndpoint", "ftp://collector", "Telemetry:OtlpEndpoint")]
    [InlineData("Telemetry:OtlpProtocol", "carrier-pigeon", "Telemetry:OtlpProtocol")]
    [InlineData("Telemetry:ExportIntervalSeconds", "0", "Telemetry:ExportIntervalSeconds")]
    public async Task A_bad_setting_stops_start_up_naming_the_key(string key, string value, string named)
    {
        // Through the entry point as a user runs it: one line on stderr naming the key, exit code 2, nothing served.
        var dataDir = Directory.CreateTempSubdirectory("lineup-telemetry-").FullName;
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var code = await Lineup.Server.Hosting.LineupProgram.RunAsync(
                ["--urls", "http://127.0.0.1:0", "--data-dir", dataDir, $"--{key}={value}"], stdout, stderr);
            Assert.Equal(Lineup.Server.Hosting.LineupProgram.UsageError, code);
            Assert.Contains(named, stderr.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static Regex Sample(string name, string value) => new($"(?m)^{name}(\\{{\\}})? {value}$");

    private sealed class TelemetryFixture : ApiFixture, IDisposable
    {
        public TelemetryFixture(Dictionary<string, string?> settings)
        {
            foreach (var (k, v) in settings) Factory.Settings[k] = v;
        }

        public void Dispose() => Factory.Dispose();
    }
}
