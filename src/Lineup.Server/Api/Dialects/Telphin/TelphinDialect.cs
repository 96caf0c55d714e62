using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lineup.Engine;
using Lineup.Server.Auth;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Api.Dialects.Telphin;

/// <summary>
/// The Telphin-style queue API (seed 003, docs/dialects/telphin.md) under <c>/api/ver1.0</c>: queue extensions,
/// queue parameters, status and members, local and remote agents, their queue memberships, and agent-login /
/// agent-logout HTTP events delivered by the webhook outbox.
/// </summary>
public sealed class TelphinDialect : Dialect
{
    /// <summary>The dialect's name: its configuration section and its key in queues' and agents' DialectData.</summary>
    public const string DialectName = "telphin";

    public override string Name => DialectName;

    /// <inheritdoc/>
    public override StrategySpelling Strategies => TelphinQueues.Strategies;

    /// <summary>The agent events carry the seed's form fields, not Lineup's envelope.</summary>
    public override Events.WebhookPayload? Payload => TelphinEvents.Payload;

    public override void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/ver1.0").WithTags("Telphin dialect").ExcludeFromDescription();
        TelphinQueues.Map(api);
        TelphinAgents.Map(api);
        TelphinMembers.Map(api);
        TelphinEvents.Map(api);
    }
}

internal static class TelphinAuth
{
    /// <summary>The auth and tenant filter with Telphin's error shape.</summary>
    public static TBuilder Require<TBuilder>(this TBuilder builder, Role role) where TBuilder : IEndpointConventionBuilder =>
        RequestContext.Require(builder, role, problem: TelphinErrors.Error).WithMetadata(s_client);

    /// <summary>The tenant a request works on is {client_id} when the URL has one ("@me": the caller's), else the caller's.</summary>
    private static readonly TenantRoute s_client = TenantRoute.FromRouteValue("client_id",
        id => long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var tenantId) ? tenantId : null, self: "@me");
}

/// <summary>
/// Telphin ids are integers; Lineup's engine ids are positive ints drawn from one server-wide sequence, so the
/// Telphin id of a queue extension, an agent or an event is Lineup's id itself. Anything that is not such a number
/// (or names another tenant's object) does not exist.
/// </summary>
internal static class TelphinIds
{
    public static long ToTelphin(int engineId) => engineId;

    public static bool TryEngineId(string? text, out int id)
    {
        id = 0;
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && Application.EngineIds.TryInt(v, out id);
    }

    /// <summary>Resolves <c>{client_id}</c>: "@me" or the caller's own tenant id; a system administrator may name
    /// any tenant. Null when it names no tenant the caller may use.</summary>
    public static ITenant? Client(HttpContext http, string clientId)
    {
        var own = http.Tenant();
        if (clientId == "@me") return own;
        if (!long.TryParse(clientId, NumberStyles.None, CultureInfo.InvariantCulture, out var id)) return null;
        if (id == own.TenantId) return own;
        return http.RequiredCaller().Role == Role.SystemAdmin ? http.RequestServices.GetRequiredService<ITenantGateway>().Get(id) : null;
    }

    /// <summary>Telphin's date-time text ("2020-03-16 12:11:13", UTC).</summary>
    public static string Time(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}

/// <summary>
/// Telphin's error body. The seed documents none; Telphin's API is a Flask-RESTPlus service, whose shape is
/// <c>{"message": …}</c>, with <c>"errors": {field: message}</c> when the input fails validation.
/// </summary>
internal static class TelphinErrors
{
    public static IResult Error(int status, string message) => TelphinJson.Result(new JsonObject { ["message"] = message }, status);

    public static IResult Invalid(Errors e)
    {
        var errors = new JsonObject();
        foreach (var (field, messages) in e.All) errors[field] = string.Join(" ", messages.Distinct(StringComparer.Ordinal));
        return TelphinJson.Result(new JsonObject { ["errors"] = errors, ["message"] = "Input payload validation failed" }, 400);
    }

    public static IResult NotFound(string what) => Error(404, $"{what} not found.");

    /// <summary>A use case's failure in Telphin's shape.</summary>
    public static IResult Fail(Application.AppError error, string what) =>
        error.Fields is { Count: > 0 } ? Invalid(Errors.From(error))
        : error.Engine is { } engine ? Fail(engine, what)
        : error.Kind == Application.Failure.NotFound ? NotFound(what) : Error(409, error.Message);

    /// <summary>An engine rejection in Telphin's shape.</summary>
    public static IResult Fail(CommandResult result, string what) => result switch
    {
        CommandResult.UnknownQueue => NotFound("Extension"),
        CommandResult.UnknownAgent => NotFound("Agent"),
        CommandResult.NotMember => NotFound("Queue agent"),
        CommandResult.Conflict => Error(409, $"Another {what} already uses that number."),
        CommandResult.AgentBusy => Error(409, "The agent is on a call."),
        CommandResult.QueueHasCalls => Error(409, "The queue still has calls."),
        CommandResult.InvalidArgument => Error(400, "Invalid argument."),
        _ => Error(409, $"The {what} is not in a state where this applies."),
    };
}

internal static class TelphinJson
{
    /// <summary>Writes the node as built: field order and explicit nulls exactly as Telphin shows them.</summary>
    public static IResult Result(JsonNode node, int status = 200) =>
        Results.Content(node.ToJsonString(), "application/json", Encoding.UTF8, status);

    public static JsonObject Data(IReadOnlyDictionary<string, string> dialectData) =>
        dialectData.TryGetValue(TelphinDialect.DialectName, out var text) && JsonNode.Parse(text) is JsonObject o ? o : new JsonObject();

    public static IReadOnlyDictionary<string, string> WithData(IReadOnlyDictionary<string, string> dialectData, JsonObject data)
    {
        var copy = new Dictionary<string, string>(dialectData, StringComparer.Ordinal) { [TelphinDialect.DialectName] = data.ToJsonString() };
        return copy;
    }

    public static JsonNode? Long(long? v) => v is { } x ? JsonValue.Create(x) : null;
}

/// <summary>Reads a Telphin JSON body strictly: each field's type is checked and named in the error; fields the
/// resource does not document are refused.</summary>
internal sealed class TelphinBody(JsonObject body, Errors errors)
{
    public JsonObject Node => body;
    public Errors Errors => errors;

    public static async Task<(TelphinBody? Body, IResult? Error)> ReadAsync(HttpRequest request, IReadOnlyCollection<string> allowed)
    {
        var (node, e) = await Body.ReadNodeAsync(request);
        if (e != null) return (null, TelphinErrors.Invalid(e));
        var o = (JsonObject)node!;
        var errors = new Errors();
        foreach (var (key, _) in o)
            if (!allowed.Contains(key)) errors.Add(key, $"Unknown field '{key}'.");
        return (new TelphinBody(o, errors), null);
    }

    public bool Has(string name) => body.ContainsKey(name);

    public bool IsNull(string name) => body.TryGetPropertyValue(name, out var v) && v == null;

    public long? Long(string name, long min, long max)
    {
        if (!body.TryGetPropertyValue(name, out var v) || v == null) return null;
        if (v is JsonValue jv && jv.GetValueKind() == JsonValueKind.Number && jv.TryGetValue<long>(out var n))
        {
            if (n < min || n > max) errors.Add(name, $"{name} must be between {min} and {max}.");
            return n;
        }
        errors.Add(name, $"{name} must be an integer.");
        return null;
    }

    public bool? Bool(string name)
    {
        if (!body.TryGetPropertyValue(name, out var v) || v == null) return null;
        if (v.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return v.GetValue<bool>();
        errors.Add(name, $"{name} must be a boolean.");
        return null;
    }

    public string? Str(string name, int max = 256)
    {
        if (!body.TryGetPropertyValue(name, out var v) || v == null) return null;
        if (v.GetValueKind() != JsonValueKind.String)
        {
            errors.Add(name, $"{name} must be a string.");
            return null;
        }
        var s = v.GetValue<string>();
        if (s.Length > max) errors.Add(name, $"{name} must be at most {max} characters long.");
        return s;
    }

    /// <summary>A string that must be one of <paramref name="values"/>.</summary>
    public string? OneOf(string name, params string[] values)
    {
        var s = Str(name);
        if (s != null && !values.Contains(s, StringComparer.Ordinal)) errors.Add(name, $"{name} must be one of: {string.Join(", ", values)}.");
        return s;
    }
}
