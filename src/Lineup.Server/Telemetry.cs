using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Lineup.Server;

/// <summary>The <c>Telemetry</c> configuration section: where metrics and traces are exported over OTLP.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>An OpenTelemetry collector (e.g. <c>http://127.0.0.1:4317</c> for gRPC, <c>http://127.0.0.1:4318</c>
    /// for HTTP). Empty: the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable decides; neither set, nothing is
    /// exported (metrics are still served on <c>/metrics</c>) and no traces are recorded.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>Grpc</c> (default) or <c>HttpProtobuf</c>; for HTTP the signal's path (<c>/v1/metrics</c>,
    /// <c>/v1/traces</c>) is added to <see cref="OtlpEndpoint"/>.</summary>
    public OtlpExportProtocol OtlpProtocol { get; set; } = OtlpExportProtocol.Grpc;

    /// <summary>How often metrics are pushed over OTLP.</summary>
    public double ExportIntervalSeconds { get; set; } = 60;

    public sealed class Validator : IValidateOptions<TelemetryOptions>
    {
        public ValidateOptionsResult Validate(string? name, TelemetryOptions o)
        {
            var errors = new List<string>();
            if (!string.IsNullOrEmpty(o.OtlpEndpoint) && (!Uri.TryCreate(o.OtlpEndpoint, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
                errors.Add($"{Section}:{nameof(OtlpEndpoint)} must be an absolute http or https URL.");
            if (!Enum.IsDefined(o.OtlpProtocol)) errors.Add($"{Section}:{nameof(OtlpProtocol)} must be Grpc or HttpProtobuf.");
            if (o.ExportIntervalSeconds is < 0.1 or > 86400 || double.IsNaN(o.ExportIntervalSeconds))
                errors.Add($"{Section}:{nameof(ExportIntervalSeconds)} must be between 0.1 and 86400.");
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}

/// <summary>Metrics and traces through OpenTelemetry: <see cref="ServerMetrics"/>' meter served as Prometheus text on
/// <c>/metrics</c> and, when a collector is configured, pushed over OTLP together with traces (ASP.NET Core's request
/// spans and a span per tenant batch, <see cref="Tenancy.TenantHost.ActivitySourceName"/>).</summary>
public static class Telemetry
{
    public const string ServiceName = "lineup";

    public static void AddLineupTelemetry(this IServiceCollection services, IConfiguration config)
    {
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TelemetryOptions>, TelemetryOptions.Validator>();

        // Read here because whether traces are recorded at all is decided while registering; bad values are still
        // reported by the validation above, naming the key.
        var settings = config.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var lineupEndpoint = Uri.TryCreate(settings.OtlpEndpoint, UriKind.Absolute, out var uri) ? uri : null;
        var otlp = lineupEndpoint != null || !string.IsNullOrEmpty(config["OTEL_EXPORTER_OTLP_ENDPOINT"]);

        // Meters are matched by name across the process: keep only this host's (made by its IMeterFactory), so that
        // two servers in one process (the tests) do not report each other's figures.
        services.ConfigureOpenTelemetryMeterProvider((sp, metrics) =>
        {
            var own = sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
            metrics.AddView(i => i.Meter.Scope is { } scope && !ReferenceEquals(scope, own) ? MetricStreamConfiguration.Drop : null);
        });
        var builder = services.AddOpenTelemetry().ConfigureResource(r => r.AddService(ServiceName));
        builder.WithMetrics(metrics =>
        {
            metrics.AddMeter(ServerMetrics.MeterName);
            // The runtime's own meter (.NET 9+): GC collections, pause time, heap sizes, thread pool, for the whole
            // process. The media benchmark reads the GC pause time beside the music's packet intervals.
            metrics.AddMeter("System.Runtime");
            // The live queue figures are read just before each scrape (OpsApi), so a cached answer would be stale.
            metrics.AddPrometheusExporter(o =>
            {
                o.ScrapeResponseCacheDurationMilliseconds = 0;
                o.ScopeInfoEnabled = false;
            });
            if (otlp)
            {
                metrics.AddOtlpExporter((exporter, reader) =>
                {
                    Configure(exporter, settings, lineupEndpoint, "/v1/metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)(settings.ExportIntervalSeconds * 1000);
                });
            }
        });
        // Traces only when they go somewhere: without a collector no span is even created.
        if (otlp)
        {
            builder.WithTracing(tracing => tracing
                .AddSource(Tenancy.TenantHost.ActivitySourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/metrics"))
                .AddOtlpExporter(exporter => Configure(exporter, settings, lineupEndpoint, "/v1/traces")));
        }
    }

    /// <summary>Lineup's own setting wins over the standard variables, which the exporter reads itself otherwise.</summary>
    private static void Configure(OtlpExporterOptions exporter, TelemetryOptions settings, Uri? endpoint, string signalPath)
    {
        if (endpoint == null) return;
        exporter.Protocol = settings.OtlpProtocol;
        exporter.Endpoint = settings.OtlpProtocol == OtlpExportProtocol.HttpProtobuf
            ? new Uri(endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/') + signalPath)
            : endpoint;
    }
}
