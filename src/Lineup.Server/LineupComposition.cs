using System.Buffers;
using System.Diagnostics;
using Lineup.Server.Api;
using Lineup.Server.Api.Dialects;
using Lineup.Server.Application;
using Lineup.Server.Auth;
using Lineup.Server.Cluster;
using Lineup.Server.Events;
using Lineup.Server.Hosting;
using Lineup.Server.Storage;
using Lineup.Server.Telephony;
using Lineup.Server.Tenancy;
using Lineup.Server.Wallboard;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Diagnostics;

namespace Lineup.Server;

/// <summary>The whole server, composed in one place: <see cref="AddLineup"/> registers every layer (docs/design/server.md),
/// <see cref="MapLineup"/> sets up the pipeline and maps every API.</summary>
public static class LineupComposition
{
    public const string DataDirKey = "data-dir";
    public const string DataDirVariable = "LINEUP_DATA_DIR";
    public const string DatabaseKey = "db";
    public const string DatabaseVariable = "LINEUP_DB";
    public const string AdminPasswordVariable = "LINEUP_ADMIN_PASSWORD";

    public static WebApplicationBuilder AddLineup(this WebApplicationBuilder builder)
    {
        // --urls is ASP.NET Core's own; --data-dir and --db (or LINEUP_DB) are Lineup's. A relative data directory is
        // the current directory's: `dotnet run` starts the server where the command was typed (RunWorkingDirectory in
        // the project file), so `./data` is where the README says.
        var config = builder.Configuration;
        var dataDir = Path.GetFullPath(config[DataDirKey] ?? config[DataDirVariable] ?? "data");
        var connection = config[DatabaseKey] ?? config[DatabaseVariable];
        // Vendor dialects may also answer on their vendors' usual ports (Dialects:<Name>:Url), beside the main URL.
        var urls = config["urls"] ?? config["ASPNETCORE_URLS"];
        var dialectUrls = Dialect.ExtraUrls(config).ToList();
        if (string.IsNullOrEmpty(urls) || dialectUrls.Count > 0)
            builder.WebHost.UseUrls([.. (string.IsNullOrEmpty(urls) ? "http://127.0.0.1:8080" : urls).Split(';'), .. dialectUrls]);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1024 * 1024);

        var services = builder.Services;
        services.ConfigureHttpJsonOptions(o => Json.Configure(o.SerializerOptions));
        services.AddProblemDetails();
        services.AddOpenApi(o => o.AddLineupSecurity());
        services.AddSingleton(TimeProvider.System);

        // Options: bound from configuration and checked at start-up, so a bad value stops the server naming its key.
        services.AddWebhookOptions();
        services.AddTelephonyOptions(dataDir);
        services.AddOptions<SmtpOptions>().BindConfiguration(SmtpOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SnapshotOptions>().BindConfiguration(SnapshotOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<MemoryOptions>().BindConfiguration(MemoryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddHostedService<NativeMemoryTrimmer>();
        var cluster = ClusterHosting.Settings(config, postgres: !string.IsNullOrWhiteSpace(connection));

        // Storage: one connection factory, one store per aggregate.
        services.AddSingleton(_ => Database.Create(connection, dataDir));
        services.AddSingleton<IdSequence>();
        services.AddSingleton<AccountStore>();
        services.AddSingleton<CommandLog>();
        services.AddSingleton<CdrStore>();
        services.AddSingleton<EventStore>();
        services.AddSingleton<CredentialStore>();
        services.AddSingleton<LeaseStore>();
        services.AddSingleton<SnapshotStore>();

        // Authentication and authorization: every endpoint needs a signed-in caller unless it says AllowAnonymous.
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<AuthService>();
        // The core only: AddAuthentication would add Data Protection, whose hosted service creates and reads an XML
        // key ring at start-up (loading the XML stack) for cookies and tokens Lineup does not use.
        services.AddAuthenticationCore(o => o.AddScheme<LineupAuthentication>(LineupAuthentication.SchemeName, null));
        services.AddTransient<LineupAuthentication>();
        services.AddSingleton<IAuthenticationSchemeProvider, LineupAuthentication.Schemes>();
        services.AddAuthorization(LineupAuthentication.AddPolicies);
        services.AddSingleton<IPolicyEvaluator, LineupAuthentication.Evaluator>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, LineupAuthentication.Answer>();

        // Tenants, events, telephony. The hosted services start in this order: tenants (migrations, replay), then
        // SIP credentials, the webhook relay and the SIP front-end, which all need the schema and the tenants.
        services.AddSingleton<ServerMetrics>();
        services.AddSingleton<TenantServices>();
        services.AddLineupTelemetry(config);
        services.AddSingleton<TenantRegistry>();
        services.AddSingleton<MediaEffects>();
        // Registered in every mode, so the settings catalog (--help, the start-up key check) knows the Cluster section.
        services.AddSingleton(cluster);
        if (cluster.Enabled)
        {
            // A node of a cluster (docs/cluster.md): tenants run as Orleans grains, wherever the cluster places them.
            builder.AddLineupCluster(cluster, string.IsNullOrEmpty(urls) ? "http://127.0.0.1:8080" : urls);
        }
        else
        {
            services.AddSingleton<ITenantGateway>(sp => sp.GetRequiredService<TenantRegistry>());
            services.AddSingleton<ILocalTenants>(sp => sp.GetRequiredService<TenantRegistry>());
            services.AddHostedService<TenantStartup>();
        }
        services.AddHostedService(sp => new LeaseWatcher(sp.GetRequiredService<LeaseStore>(), () => sp.GetRequiredService<ILocalTenants>().Hosts,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<LeaseWatcher>>()));
        services.AddSingleton(new DataLocation(dataDir, connection));
        services.AddHostedService<StartupReport>();
        services.AddSingleton<SipCredentialStore>();
        services.AddHostedService(sp => sp.GetRequiredService<SipCredentialStore>());
        services.AddSingleton(new WebhookPayloads(Dialect.All.Where(d => d.Payload != null).ToDictionary(d => d.Name, d => d.Payload!, StringComparer.Ordinal)));
        services.AddSingleton<EventHub>();
        services.AddSingleton<WebhookRelay>();
        services.AddSingleton<EventBus>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookRelay>());
        services.AddSingleton<MediaLibrary>();
        services.AddSingleton<VoicemailBox>();
        services.AddSingleton<VoicemailMailer>();
        services.AddHostedService(sp => sp.GetRequiredService<VoicemailMailer>());
        services.AddSingleton<SipFrontEnd>();
        services.AddHostedService(sp => sp.GetRequiredService<SipFrontEnd>());

        // The application layer: every API's use cases.
        services.AddSingleton<SignInService>();
        services.AddSingleton<AccountService>();
        services.AddSingleton<AgentService>();
        services.AddSingleton<QueueService>();
        services.AddSingleton<CallService>();
        services.AddSingleton<ReportService>();
        services.AddSingleton<ContactCenterService>();
        services.AddSingleton<WebhookService>();
        services.AddSingleton<SipCredentialService>();
        services.AddSingleton<DialectStorage>();
        foreach (var d in Dialect.All) d.AddServices(services);
        return builder;
    }

    public static WebApplication MapLineup(this WebApplication app)
    {
        // Outermost, so that it also sees the problem answers of the handlers below (and the exception handler's): every
        // request is counted by route and status, and a JSON answer ends with a newline, so in a terminal the shell's
        // prompt does not run into it. One middleware for both: each async middleware costs an allocation per request.
        var metrics = app.Services.GetRequiredService<ServerMetrics>();
        app.Use(async (http, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            await next();
            // Written without a flush of its own: the server sends it with the end of the answer.
            if (EndsWithNewline(http)) http.Response.BodyWriter.Write("\n"u8);
            var route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            metrics.Request(http.Request.Method, route, http.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalSeconds);
        });
        app.UseExceptionHandler(error => error.Run(async http =>
        {
            // Anything a client can send is handled before this point; what reaches here is a client's broken request
            // (a 4xx from the framework) or a fault of ours, answered without internals.
            var ex = http.Features.Get<IExceptionHandlerFeature>()?.Error;
            var status = ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError;
            if (ex is OperationCanceledException) status = 499;
            if (ex is TenantUnavailableException unavailable)
            {
                // The tenant moved to another process or node, or is moving: nothing was stored; the client may retry.
                http.Response.Headers.RetryAfter = "1";
                await Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, detail: unavailable.Message, title: "Tenant unavailable here").ExecuteAsync(http);
                return;
            }
            await Results.Problem(statusCode: status, detail: status < 500 ? ex?.Message : "An internal error occurred.").ExecuteAsync(http);
        }));
        app.UseStatusCodePages();

        metrics.ObserveServices(app.Services.GetRequiredService<ILocalTenants>(), app.Services.GetRequiredService<WebhookRelay>(),
            app.Services.GetRequiredService<EventHub>(), app.Services.GetRequiredService<SipFrontEnd>());
        if (app.Services.GetService<ClusterGateway>() is { } cluster) metrics.ObserveCluster(() => cluster.Nodes, () => cluster.Failovers);
        // The browsable API page is static: before authorization. Only requests under /docs pass through it (its
        // middleware matches every request's path against regular expressions, an API request included).
        app.UseWhen(http => http.Request.Path.StartsWithSegments("/docs"), docs => docs.UseSwaggerUI(o =>
        {
            o.RoutePrefix = "docs";
            o.SwaggerEndpoint("/openapi/v1.json", "Lineup API v1");
            o.DocumentTitle = "Lineup API";
        }));
        // Credentials are read where a policy asks for them (LineupAuthentication.Evaluator): not for anonymous endpoints.
        // The framework's authentication middleware is left out: it only runs remote sign-in callbacks and a default
        // scheme, and Lineup has neither, yet it cost every request an async step. WebApplication adds it by itself
        // unless the pipeline says it is set, under this key (AuthAppBuilderExtensions); were the key ever renamed,
        // the middleware would come back and find nothing to do, as before.
        ((IApplicationBuilder)app).Properties["__AuthenticationMiddlewareSet"] = true;
        app.UseAuthorization();
        // Cluster mode: a request for a tenant that runs on another node goes there, before its handler.
        if (app.Services.GetService<Cluster.ClusterGateway>() != null) app.UseMiddleware<TenantForwarding>();

        app.MapOpenApi("/openapi/v1.json").AllowAnonymous();
        app.MapOpsApi();
        app.MapWallboardPages();

        var api = app.MapGroup("/api/v1");
        api.MapAuthApi();
        api.MapTenantsApi();
        api.MapAgentsApi();
        api.MapSipCredentialsApi();
        api.MapQueuesApi();
        api.MapCallsApi();
        api.MapContactCenterApi();
        api.MapWebhooksApi();
        api.MapEventsApi();
        api.MapTelephonyApi();
        api.MapMediaApi();
        api.MapVoicemailsApi();
        api.MapSipBlockedApi();
        app.MapDialects();
        return app;
    }

    /// <summary>Whether a newline is appended to the answer: JSON (problem details too) streamed without a declared length.</summary>
    private static bool EndsWithNewline(HttpContext http)
    {
        var response = http.Response;
        if (response.ContentLength != null || HttpMethods.IsHead(http.Request.Method) || response.StatusCode is 204 or 304) return false;
        var type = response.ContentType;
        return type != null && (type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
                                || type.StartsWith("application/problem+json", StringComparison.OrdinalIgnoreCase));
    }
}
