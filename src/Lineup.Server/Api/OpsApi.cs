using Lineup.Server.Tenancy;

namespace Lineup.Server.Api;

public sealed record HealthDto(string Status);

/// <summary>Health, readiness and Prometheus metrics (the catalogue: <see cref="ServerMetrics"/>).</summary>
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
        // Prometheus text from the OpenTelemetry meters (ServerMetrics), written by the exporter's middleware in a
        // pipeline of its own; the live queue figures are read first.
        var exporter = ((IApplicationBuilder)app).New();
        exporter.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider: null, predicate: _ => true, path: null, configureBranchedPipeline: null, optionsName: null);
        var scrape = exporter.Build();
        app.MapGet("/metrics", async (HttpContext http, ServerMetrics metrics) =>
        {
            await metrics.RefreshQueuesAsync();
            await scrape(http);
        }).WithTags("Operations").WithSummary("Prometheus metrics").AllowAnonymous().Produces<string>(200, "text/plain");
    }
}
