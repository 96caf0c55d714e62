using System.Net;
using Lineup.Server.Cluster;
using Yarp.ReverseProxy.Forwarder;

namespace Lineup.Server.Api;

/// <summary>
/// Any node answers (cluster mode): a request for a tenant whose host runs on another node is forwarded there whole,
/// with YARP's <see cref="IHttpForwarder"/>, after authentication and authorization and before its handler. Reads and
/// projections are functions that run next to the engine, so they run where the engine is; every API and dialect
/// works unchanged on every node, at the cost of one hop (docs/design/cluster.md). Streams (SSE) are forwarded as
/// streams. A forwarded request is never forwarded again: a node that no longer has the tenant answers 503 with
/// <see cref="NotHereHeader"/>, and the forwarding node looks the tenant up again and retries once.
/// </summary>
public sealed partial class TenantForwarding(RequestDelegate next, ClusterGateway cluster, IHttpForwarder forwarder, ILogger<TenantForwarding> log)
{
    /// <summary>Set on a forwarded request: the forwarding node's URL.</summary>
    public const string ForwardedHeader = "X-Lineup-Forwarded";

    /// <summary>Set on a forwarded request: the client's address, believed when the request comes from a node.</summary>
    public const string ClientHeader = "X-Lineup-Client";

    /// <summary>Set on the answer of the node that ran the request's tenant (its URL): which node serves it.</summary>
    public const string NodeHeader = "X-Lineup-Node";

    /// <summary>Set on the 503 of a node that received a forwarded request for a tenant it does not run.</summary>
    public const string NotHereHeader = "X-Lineup-Not-Here";

    private static readonly HttpMessageInvoker s_client = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(2),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        // The forwarding node's own trace context is not the client's: the request's headers carry the client's.
        ActivityHeadersPropagator = null,
    });

    // HTTP/1.1 between nodes (plain HTTP has no HTTP/2 negotiation); streams may stay quiet between heartbeats.
    private static readonly ForwarderRequestConfig s_config = new()
    {
        ActivityTimeout = TimeSpan.FromMinutes(10),
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    public async Task InvokeAsync(HttpContext http)
    {
        var route = http.GetEndpoint()?.Metadata.GetMetadata<TenantRoute>();
        var forwarded = http.Request.Headers.ContainsKey(ForwardedHeader);
        if (forwarded && cluster.IsPeer(http.Connection.RemoteIpAddress)
            && IPAddress.TryParse(http.Request.Headers[ClientHeader].ToString(), out var client))
            http.Connection.RemoteIpAddress = client;
        if (route == null || await route.ResolveAsync(http, cluster) is not { } tenantId)
        {
            await next(http);
            return;
        }
        if (cluster.IsHere(tenantId))
        {
            await ServeAsync(http);
            return;
        }
        for (var attempt = 0; ; attempt++)
        {
            TenantLocation location;
            try
            {
                location = await cluster.LocateAsync(tenantId, refresh: forwarded || attempt > 0);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
            {
                // Its grain could not be reached: its node died and the cluster has not noticed yet.
                LogLocateFailed(log, ex, tenantId);
                await UnavailableAsync(http, tenantId, "its node is not answering; it moves to another node within seconds", notHere: false);
                return;
            }
            if (location.Where == Whereabouts.Here)
            {
                await ServeAsync(http);
                return;
            }
            if (location.Where == Whereabouts.Missing)
            {
                // The handler answers 404 in its API's shape.
                await next(http);
                return;
            }
            if (location.Where == Whereabouts.Moving || forwarded)
            {
                await UnavailableAsync(http, tenantId, "it is moving between nodes", notHere: forwarded);
                return;
            }
            if (attempt == 0) http.Request.EnableBuffering();
            else if (http.Request.Body.CanSeek) http.Request.Body.Position = 0;
            var transformer = new Forwarding(http, cluster, tenantId);
            var error = await forwarder.SendAsync(http, location.Url!, s_client, s_config, transformer);
            if (transformer.NotThere && !http.Response.HasStarted)
            {
                http.Response.Clear();
                // The node had just lost the tenant: ask its grain again and send the request where it runs now.
                if (attempt == 0 && http.Request.Body.CanSeek) continue;
                await UnavailableAsync(http, tenantId, "it is moving between nodes", notHere: false);
                return;
            }
            if (error != ForwarderError.None && !http.Response.HasStarted)
            {
                cluster.Forget(tenantId);
                LogForwardFailed(log, tenantId, location.Url!, error);
                http.Response.Clear();
                if (NeverSent(http)) await UnavailableAsync(http, tenantId, "its node is not answering; it moves to another node within seconds", notHere: false);
                else await UnknownAsync(http, tenantId);
            }
            return;
        }
    }

    /// <summary>True when the tenant's node was never reached (the connection was refused or timed out), so the request
    /// was not sent and changed nothing.</summary>
    private static bool NeverSent(HttpContext http) =>
        http.Features.Get<IForwarderErrorFeature>()?.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError };

    /// <summary>The tenant's node failed after it got the request (it died while handling it): whether it was stored is
    /// not known here. The client must look before it repeats a write (a call created twice is two calls).</summary>
    private static async Task UnknownAsync(HttpContext http, long tenantId) =>
        await TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway, title: "Tenant's node failed",
            detail: $"The node running tenant {tenantId} stopped while handling this request: it may or may not have been applied. "
                + "The tenant moves to another node within seconds; check before repeating a write.").ExecuteAsync(http);

    /// <summary>Serves the request on this node, saying so (<see cref="NodeHeader"/>: which node runs the tenant).</summary>
    private Task ServeAsync(HttpContext http)
    {
        http.Response.Headers[NodeHeader] = cluster.Here.HttpUrl;
        return next(http);
    }

    private static async Task UnavailableAsync(HttpContext http, long tenantId, string why, bool notHere)
    {
        http.Response.Headers.RetryAfter = "1";
        if (notHere) http.Response.Headers[NotHereHeader] = "1";
        await TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Tenant unavailable here",
            detail: $"Tenant {tenantId} cannot be served right now: {why}. Nothing was stored; send the request again.").ExecuteAsync(http);
    }

    /// <summary>The request as sent to the tenant's node: the client's headers, plus who forwarded it for whom.</summary>
    private sealed class Forwarding(HttpContext http, ClusterGateway cluster, long tenantId) : HttpTransformer
    {
        public bool NotThere { get; private set; }

        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix,
            CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.Headers.Remove(ForwardedHeader);
            proxyRequest.Headers.Remove(ClientHeader);
            proxyRequest.Headers.TryAddWithoutValidation(ForwardedHeader, cluster.Here.HttpUrl);
            if (http.Connection.RemoteIpAddress is { } client) proxyRequest.Headers.TryAddWithoutValidation(ClientHeader, client.ToString());
        }

        public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse,
            CancellationToken cancellationToken)
        {
            if (proxyResponse != null && proxyResponse.Headers.Contains(NotHereHeader))
            {
                cluster.Forget(tenantId);
                NotThere = true;
                return false;
            }
            return await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        }
    }

    [LoggerMessage(EventId = 440, Level = LogLevel.Warning, Message = "Tenant {TenantId}: its grain could not be reached")]
    private static partial void LogLocateFailed(ILogger logger, Exception ex, long tenantId);

    [LoggerMessage(EventId = 441, Level = LogLevel.Warning, Message = "Tenant {TenantId}: forwarding to {Url} failed ({Error})")]
    private static partial void LogForwardFailed(ILogger logger, long tenantId, string url, ForwarderError error);
}
