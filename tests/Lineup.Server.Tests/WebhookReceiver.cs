using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Lineup.Server.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;

namespace Lineup.Server.Tests;

/// <summary>
/// A webhook destination for tests: Kestrel on a free port of 127.0.0.1 that records every request it gets (in
/// arrival order) and answers with a status the test sets — or chooses per request — optionally after a delay.
/// Waiting is by predicate with a generous timeout; a timeout fails with everything that did arrive.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    /// <summary>How long <see cref="WaitForAsync"/> waits by default: long enough for a loaded CI machine.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;
    private readonly List<Received> _requests = new();
    private int _status = 200;
    private Func<Received, int>? _responder;
    private Func<Received, TimeSpan>? _delay;

    private WebhookReceiver(WebApplication app)
    {
        _app = app;
        app.Run(HandleAsync);
    }

    /// <summary>The receiver's base address, e.g. <c>http://127.0.0.1:41234</c> (no trailing slash).</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>The status answered when no <see cref="Respond"/> function is set. May change at any time.</summary>
    public HttpStatusCode Status
    {
        get => (HttpStatusCode)Volatile.Read(ref _status);
        set => Volatile.Write(ref _status, (int)value);
    }

    /// <summary>Chooses the status of each request (null: <see cref="Status"/>). May change at any time.</summary>
    public void Respond(Func<Received, int>? responder) => Volatile.Write(ref _responder, responder);

    /// <summary>Waits this long (per request) before answering (null: answer at once). May change at any time.</summary>
    public void DelayBy(Func<Received, TimeSpan>? delay) => Volatile.Write(ref _delay, delay);

    /// <summary>Every request so far, in arrival order.</summary>
    public IReadOnlyList<Received> Requests
    {
        get
        {
            lock (_requests) return [.. _requests];
        }
    }

    /// <summary>A URL on this receiver; give each subscription its own path to tell their requests apart.</summary>
    public string Url(string path) => BaseUrl + (path.StartsWith('/') ? path : "/" + path);

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var receiver = new WebhookReceiver(builder.Build());
        await receiver._app.StartAsync();
        // Kestrel writes the port it bound into the addresses once it listens.
        receiver.BaseUrl = receiver._app.Urls.Single().TrimEnd('/');
        return receiver;
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(http.RequestAborted);
        var headers = http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        Received request;
        lock (_requests)
        {
            request = new Received(_requests.Count, http.Request.Method, http.Request.Path.Value ?? "",
                http.Request.QueryString.Value ?? "", headers, body, DateTimeOffset.UtcNow);
            _requests.Add(request);
        }
        var status = Volatile.Read(ref _responder) is { } respond ? respond(request) : Volatile.Read(ref _status);
        request.Answered = status;
        if (Volatile.Read(ref _delay) is { } delay && delay(request) is { } wait && wait > TimeSpan.Zero)
            await Task.Delay(wait, http.RequestAborted);
        http.Response.StatusCode = status;
    }

    /// <summary>Waits until at least <paramref name="count"/> requests match <paramref name="match"/> and returns them
    /// (in arrival order). Fails after <paramref name="timeout"/> listing what arrived.</summary>
    public async Task<IReadOnlyList<Received>> WaitForAsync(int count, Func<Received, bool> match, TimeSpan? timeout = null, string what = "requests")
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var matching = Requests.Where(match).ToList();
            if (matching.Count >= count) return matching;
            if (clock.Elapsed > limit)
            {
                var all = Requests;
                Assert.Fail($"Waited {limit.TotalSeconds:0} s for {count} {what}, {matching.Count} arrived; all {all.Count} requests:\n"
                    + string.Join('\n', all.TakeLast(60).Select(r => r.ToString())));
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Waits until <paramref name="count"/> requests arrived at <paramref name="path"/>.</summary>
    public Task<IReadOnlyList<Received>> WaitForPathAsync(string path, int count, TimeSpan? timeout = null) =>
        WaitForAsync(count, r => r.Path == path, timeout, $"requests at {path}");

    /// <summary>Waits until every one of <paramref name="eventIds"/> arrived (X-Lineup-Event-Id) at least once; fails
    /// after <paramref name="timeout"/> naming the missing ones.</summary>
    public async Task WaitForEventsAsync(IReadOnlyCollection<string> eventIds, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var arrived = Requests.Select(r => r.EventId).OfType<string>().ToHashSet(StringComparer.Ordinal);
            var missing = eventIds.Where(id => !arrived.Contains(id)).ToList();
            if (missing.Count == 0) return;
            if (clock.Elapsed > limit)
                Assert.Fail($"Waited {limit.TotalSeconds:0} s: {missing.Count} of {eventIds.Count} events never arrived: "
                    + string.Join(", ", missing.Take(50)) + $" ({arrived.Count} distinct events arrived in {Requests.Count} requests)");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>One request as it arrived.</summary>
    public sealed record Received(int Index, string Method, string Path, string QueryString, IReadOnlyDictionary<string, string> Headers,
        string Body, DateTimeOffset At)
    {
        /// <summary>The status the receiver answered (set once it decided).</summary>
        public int Answered { get; set; }

        public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;

        /// <summary>The query string without the leading '?'.</summary>
        public string Query => QueryString.StartsWith('?') ? QueryString[1..] : QueryString;

        /// <summary>The JSON body (JSON format).</summary>
        public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();

        /// <summary>The fields of a form body, or of the query string for a GET.</summary>
        public IReadOnlyDictionary<string, string> Fields =>
            QueryHelpers.ParseQuery(Method == "GET" ? Query : Body).ToDictionary(kv => kv.Key, kv => kv.Value.ToString(), StringComparer.Ordinal);

        /// <summary>The event id from X-Lineup-Event-Id.</summary>
        public string? EventId => Header(WebhookRequests.EventIdHeader);

        /// <summary>The event's seq: the part of the event id after the tenant ("7-42" → 42).</summary>
        public long Seq => long.Parse(EventId![(EventId!.IndexOf('-', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);

        /// <summary>True when X-Lineup-Signature is <c>t=&lt;X-Lineup-Timestamp&gt;,v1=&lt;HMAC-SHA256(secret, t + "." + payload)&gt;</c>
        /// where the payload is the body, or the query string for a GET. Computed here independently of the server's code.</summary>
        public bool SignatureValid(string secret)
        {
            var header = Header(WebhookRequests.SignatureHeader);
            var t = Header(WebhookRequests.TimestampHeader);
            if (header == null || t == null) return false;
            var payload = Method == "GET" ? Query : Body;
            var mac = System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(t + "." + payload));
            return header == $"t={t},v1={Convert.ToHexStringLower(mac)}";
        }

        public override string ToString() =>
            $"#{Index} {At:HH:mm:ss.fff} {Method} {Path}{QueryString} -> {Answered} [{EventId} {Header(WebhookRequests.EventTypeHeader)}] "
            + (Body.Length > 200 ? Body[..200] + "…" : Body);
    }
}
