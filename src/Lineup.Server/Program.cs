using System.Diagnostics;
using Lineup.Server;
using Lineup.Server.Api;
using Lineup.Server.Api.Dialects;
using Lineup.Server.Auth;
using Lineup.Server.Events;
using Lineup.Server.Storage;
using Lineup.Server.Telephony;
using Lineup.Server.Tenancy;
using Lineup.Server.Wallboard;
using Microsoft.AspNetCore.Diagnostics;

var builder = WebApplication.CreateBuilder(args);

// --urls is ASP.NET Core's own; --data-dir and --db (or LINEUP_DB) are Lineup's.
var config = builder.Configuration;
var dataDir = config["data-dir"] ?? config["LINEUP_DATA_DIR"] ?? "data";
var connection = config["db"] ?? config["LINEUP_DB"];
// Vendor dialects may also answer on their vendors' usual ports (Dialects:<Name>:Url), beside the main URL.
var urls = config["urls"] ?? config["ASPNETCORE_URLS"];
var dialectUrls = Dialect.ExtraUrls(config).ToList();
if (string.IsNullOrEmpty(urls) || dialectUrls.Count > 0)
    builder.WebHost.UseUrls([.. (string.IsNullOrEmpty(urls) ? "http://127.0.0.1:8080" : urls).Split(';'), .. dialectUrls]);
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1024 * 1024);

builder.Services.ConfigureHttpJsonOptions(o => Json.Configure(o.SerializerOptions));
builder.Services.AddProblemDetails();
builder.Services.AddOpenApi();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton(_ => Database.Create(connection, dataDir));
builder.Services.AddSingleton<Store>();
builder.Services.AddSingleton<LoginThrottle>();
builder.Services.AddSingleton<AuthService>();
builder.Services.AddSingleton<ServerMetrics>();
builder.Services.AddSingleton<TenantRegistry>();
builder.Services.AddSingleton<Lineup.Server.Telephony.MediaEffects>();
builder.Services.AddHostedService<TenantStartup>();
// After TenantStartup: loads the agents' SIP credentials once the schema is migrated and the tenants are known.
builder.Services.AddSingleton<SipCredentialStore>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<SipCredentialStore>());
builder.Services.AddSingleton(WebhookOptions.FromConfiguration(config));
builder.Services.AddSingleton(NetworkGuard.FromConfiguration(config));
builder.Services.AddSingleton<EventHub>();
builder.Services.AddSingleton<WebhookRelay>();
builder.Services.AddSingleton<EventBus>();
// After TenantStartup: the relay reads the outbox once the schema is migrated.
builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookRelay>());
// After TenantStartup too: SIP answers calls once every tenant is loaded.
builder.Services.AddSingleton(Lineup.Server.Telephony.TelephonyOptions.FromConfiguration(config, dataDir));
builder.Services.AddSingleton<Lineup.Server.Telephony.SipFrontEnd>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<Lineup.Server.Telephony.SipFrontEnd>());

var app = builder.Build();

app.UseExceptionHandler(error => error.Run(async http =>
{
    // Anything a client can send is handled before this point; what reaches here is a client's broken request
    // (a 4xx from the framework) or a fault of ours, answered without internals.
    var ex = http.Features.Get<IExceptionHandlerFeature>()?.Error;
    var status = ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError;
    if (ex is OperationCanceledException) status = 499;
    await Results.Problem(statusCode: status, detail: status < 500 ? ex?.Message : "An internal error occurred.").ExecuteAsync(http);
}));
app.UseStatusCodePages();

var metrics = app.Services.GetRequiredService<ServerMetrics>();
app.Use(async (http, next) =>
{
    var started = Stopwatch.GetTimestamp();
    await next();
    var route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
    metrics.Http.Record(http.Request.Method, route, http.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalSeconds);
});
app.Use((http, next) => RequestContext.AuthenticateAsync(http, () => next(http)));

app.MapOpenApi("/openapi/v1.json");
app.UseSwaggerUI(o =>
{
    o.RoutePrefix = "docs";
    o.SwaggerEndpoint("/openapi/v1.json", "Lineup API v1");
    o.DocumentTitle = "Lineup API";
});
app.MapOpsApi();
app.MapWallboardPages();

var api = app.MapGroup("/api/v1");
api.MapAuthApi();
api.MapTenantsApi();
api.MapAgentsApi();
api.MapSipCredentialsApi();
api.MapQueuesApi();
api.MapCallsApi();
api.MapWebhooksApi();
api.MapEventsApi();
api.MapTelephonyApi();
api.MapSipBlockedApi();
app.MapDialects();

await app.RunAsync();

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
