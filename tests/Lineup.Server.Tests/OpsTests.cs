using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Lineup.Server.Tests;

/// <summary>Health, readiness, metrics, the OpenAPI document and its browsable page.</summary>
public partial class OpsTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Healthz_and_readyz_are_200()
    {
        var anonymous = fx.Anonymous();
        Assert.Equal("ok", (await anonymous.OkAsync("/healthz")).Str("status"));
        Assert.Equal("ready", (await anonymous.OkAsync("/readyz")).Str("status"));
    }

    [Fact]
    public async Task The_root_is_a_landing_page_linking_every_page_and_the_icon_is_served()
    {
        var anonymous = fx.Anonymous();
        var root = await anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, root.StatusCode);
        Assert.Equal("text/html", root.Content.Headers.ContentType?.MediaType);
        var html = await root.Content.ReadAsStringAsync();
        foreach (var link in new[] { "/docs", "/wallboard", "/agent", "/healthz", "/readyz", "/metrics", "/openapi/v1.json" })
        {
            Assert.Contains($"href=\"{link}\"", html, StringComparison.Ordinal);
            Assert.NotEqual(HttpStatusCode.NotFound, (await anonymous.GetAsync(link)).StatusCode);
        }

        foreach (var (path, type) in new[] { ("/favicon.ico", "image/x-icon"), ("/ui/favicon.svg", "image/svg+xml") })
        {
            var icon = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, icon.StatusCode);
            Assert.Equal(type, icon.Content.Headers.ContentType?.MediaType);
        }
        var ico = await (await anonymous.GetAsync("/favicon.ico")).Content.ReadAsByteArrayAsync();
        Assert.Equal(new byte[] { 0, 0, 1, 0 }, ico[..4]); // an ICO header
    }

    [Fact]
    public async Task Json_answers_end_with_a_newline_so_a_shell_prompt_starts_on_its_own_line()
    {
        var anonymous = fx.Anonymous();
        foreach (var path in new[] { "/healthz", "/api/v1/queues", "/api/v1/no-such-thing" })
        {
            var response = await anonymous.GetAsync(path);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(text.EndsWith("}\n", StringComparison.Ordinal), $"{path} ({(int)response.StatusCode}) ends with '{text[^Math.Min(3, text.Length)..]}'");
            using var _ = JsonDocument.Parse(text); // still one JSON document
        }
        var queues = await fx.Tenant.Admin.GetAsync("/api/v1/queues");
        Assert.EndsWith("}\n", await queues.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // A bad body's problem answer too.
        var bad = await fx.Tenant.Admin.PostAsync("/api/v1/queues", new StringContent("{nope", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.EndsWith("}\n", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_show_queue_gauges_and_request_counters_in_prometheus_text()
    {
        var queue = await fx.Tenant.QueueAsync();
        var call = await fx.Tenant.CallAsync(queue);
        await fx.Tenant.Admin.OkAsync($"/api/v1/queues/{queue}/status");

        var response = await fx.Anonymous().GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();

        // OpenTelemetry's exporter writes labels in alphabetical order.
        var labels = string.Create(CultureInfo.InvariantCulture, $"{{queue=\"{queue}\",tenant=\"{fx.Tenant.Id}\"}}");
        Assert.Contains("# TYPE lineup_queue_waiting gauge\n", text, StringComparison.Ordinal);
        Assert.Contains($"lineup_queue_waiting{labels} 1\n", text, StringComparison.Ordinal);
        Assert.Contains($"lineup_queue_talking{labels} 0\n", text, StringComparison.Ordinal);
        Assert.Matches(CallsQueued(), text);
        Assert.Contains("# TYPE lineup_http_requests_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE lineup_snapshot_age_seconds gauge\n", text, StringComparison.Ordinal);
        Assert.Matches(RequestLine(), text);
        Assert.Matches(DurationCount(), text);

        // Every line is a comment or "name{labels} value".
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            Assert.True(line.StartsWith('#') || SampleLine().IsMatch(line), line);

        await fx.Tenant.EventAsync(call.Id(), "caller_hangup");
        var after = await (await fx.Anonymous().GetAsync("/metrics")).Content.ReadAsStringAsync();
        Assert.Contains($"lineup_queue_waiting{labels} 0\n", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApi_document_is_json_with_the_native_paths()
    {
        var response = await fx.Anonymous().GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.StartsWith("3.", doc.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = doc.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/api/v1/queues", "/api/v1/queues/{id}", "/api/v1/calls", "/api/v1/cdrs", "/api/v1/auth/login", "/api/v1/agents/{id}/status" })
            Assert.True(paths.TryGetProperty(path, out _), $"no {path} in the OpenAPI document");
        Assert.True(paths.GetProperty("/api/v1/queues").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/api/v1/queues").TryGetProperty("get", out _));
    }

    [Fact]
    public async Task Docs_page_is_served()
    {
        var response = await fx.Anonymous().GetAsync("/docs/index.html");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Lineup API", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [GeneratedRegex("""lineup_http_requests_total\{method="GET",route="/api/v1/queues/\{id(:long)?\}/status",status="200"\} [1-9][0-9]*\n""")]
    private static partial Regex RequestLine();

    [GeneratedRegex("""lineup_http_request_duration_seconds_count(\{\})? [1-9][0-9]*\n""")]
    private static partial Regex DurationCount();

    [GeneratedRegex("""lineup_calls_queued_total(\{\})? [1-9][0-9]*\n""")]
    private static partial Regex CallsQueued();

    // An unlabelled sample may carry empty braces ("name{} 1"), as OpenTelemetry's exporter writes it.
    [GeneratedRegex("""^[a-z_]+(\{([a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*)?\})? -?[0-9.e+-]+$""")]
    private static partial Regex SampleLine();
}
