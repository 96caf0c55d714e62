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
        // Prometheus text from the OpenTelemetry meters (ServerMetrics); the live queue figures are read first.
        var metrics = app.Services.GetRequiredService<ServerMetrics>();
        app.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null, configureBranchedPipeline: pipeline => pipeline.Use(async (http, next) =>
        {
            await metrics.RefreshQueuesAsync();
            await next(http);
        }), optionsName: null).WithTags("Operations").WithSummary("Prometheus metrics").AllowAnonymous()
            .WithMetadata(new ProducesResponseTypeMetadata(200, typeof(string), ["text/plain"]));
    }
}
