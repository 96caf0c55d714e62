using System.Globalization;
using Lineup.Server.Auth;
using Lineup.Server.Events;

namespace Lineup.Server.Api;

public sealed record EventPage(IReadOnlyList<System.Text.Json.JsonElement> Items, long LastSeq);

/// <summary>The live event stream (Server-Sent Events) and recent events as JSON.</summary>
public static class EventsApi
{
    public static void MapEventsApi(this RouteGroupBuilder api)
    {
        var events = api.MapGroup("/events").WithTags("Events");
        events.MapGet("/stream", StreamAsync).Require(Role.Agent)
            .WithSummary("Live events as Server-Sent Events (resume with Last-Event-ID)")
            .Produces<string>(200, "text/event-stream").ProducesProblems(400);
        events.MapGet("", Recent).Require(Role.Agent).WithSummary("Recent events after a sequence number")
            .Produces<EventPage>().ProducesProblems(400);
    }

    /// <summary>The filter from the query (types, queue_id, agent_id); an agent sees only events about itself.</summary>
    private static Func<EventHub.Frame, bool>? Filter(HttpContext http, out IResult? error)
    {
        error = null;
        var q = http.Request.Query;
        var e = new Errors();
        var types = q["types"].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.Ordinal);
        foreach (var t in types)
            if (!EventTypes.IsKnown(t)) e.Add("types", $"'{t}' is not an event type.");
        var queues = Ids(q["queue_id"], "queue_id", e);
        var agents = Ids(q["agent_id"], "agent_id", e);
        if (e.Any)
        {
            error = e.Problem();
            return null;
        }
        var caller = http.RequiredCaller();
        long? self = caller.Role == Role.Agent ? caller.AgentId ?? -1 : null;
        return f =>
        {
            var ev = f.Event;
            if (self is { } me && ev.AgentId != me) return false;
            if (types.Count > 0 && !types.Contains(ev.Type)) return false;
            if (queues.Count > 0 && (ev.QueueId is not { } qid || !queues.Contains(qid))) return false;
            if (agents.Count > 0 && (ev.AgentId is not { } aid || !agents.Contains(aid))) return false;
            return true;
        };
    }

    private static HashSet<long> Ids(Microsoft.Extensions.Primitives.StringValues values, string field, Errors e)
    {
        var set = new HashSet<long>();
        foreach (var part in values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var id)) set.Add(id);
            else e.Add(field, $"{field} must be a list of ids.");
        }
        return set;
    }

    private static async Task StreamAsync(HttpContext http, EventHub hub)
    {
        var filter = Filter(http, out var error);
        long? last = null;
        var lastText = http.Request.Headers["Last-Event-ID"].ToString();
        if (lastText.Length == 0) lastText = http.Request.Query["last_event_id"].ToString();
        if (lastText.Length > 0)
        {
            if (long.TryParse(lastText, NumberStyles.None, CultureInfo.InvariantCulture, out var l)) last = l;
            else error ??= new Errors().Add("Last-Event-ID", "Last-Event-ID must be the id of an event this stream sent.").Problem();
        }
        if (error != null)
        {
            await error.ExecuteAsync(http);
            return;
        }
        var ct = http.RequestAborted;
        using var sub = hub.Subscribe(http.Tenant().TenantId, last, filter!, out var gap);
        if (sub == null)
        {
            // The tenant's host stopped here a moment ago (it is moving to another node): the client comes back with
            // Last-Event-ID and is served wherever it runs then.
            http.Response.Headers.RetryAfter = "1";
            await RequestContext.Problem(503, "The tenant is moving between nodes; reconnect with Last-Event-ID.").ExecuteAsync(http);
            return;
        }
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        var body = http.Response.Body;
        await body.WriteAsync("retry: 2000\n\n"u8.ToArray(), ct);
        // The client asked to resume from an event that is no longer retained: say so, then go on.
        if (gap) await body.WriteAsync("event: lineup.gap\ndata: {}\n\n"u8.ToArray(), ct);
        await body.FlushAsync(ct);
        try
        {
            var reader = sub.Reader;
            while (await reader.WaitToReadAsync(ct))
            {
                while (reader.TryRead(out var frame)) await body.WriteAsync(frame.Bytes, ct);
                await body.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
            // Too slow a reader: the hub cut it off; ending the response lets it reconnect with Last-Event-ID.
        }
    }

    private static IResult Recent(HttpContext http, EventHub hub)
    {
        var filter = Filter(http, out var error);
        if (error != null) return error;
        var afterText = http.Request.Query["after"].ToString();
        long after = 0;
        if (afterText.Length > 0 && !long.TryParse(afterText, NumberStyles.None, CultureInfo.InvariantCulture, out after))
            return new Errors().Add("after", "after must be an event sequence number.").Problem();
        var limitText = http.Request.Query["limit"].ToString();
        var limit = 100;
        if (limitText.Length > 0 && (!int.TryParse(limitText, out limit) || limit is < 1 or > 1000))
            return new Errors().Add("limit", "limit must be between 1 and 1000.").Problem();
        var (frames, lastSeq) = hub.Recent(http.Tenant().TenantId, after, limit, filter!);
        var items = frames.Select(f => System.Text.Json.JsonDocument.Parse(f.Event.Json).RootElement.Clone()).ToList();
        return TypedResults.Ok(new EventPage(items, lastSeq));
    }
}
