using System.Text.Json.Serialization;
using Lineup.Engine;

namespace Lineup.Server.Api.Dialects.PortSip;

/// <summary>The body of every PortSIP error answer. The seed names only "4XX Error" without a body, so Lineup keeps
/// it small: the HTTP status again, a message, and the field at fault when there is one (docs/dialects/portsip.md).</summary>
public sealed record PortSipError(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("field"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Field = null);

/// <summary>PortSIP-shaped failures: auth (through RequestContext.Require), bad fields, unknown ids, engine refusals.</summary>
public static class PortSipErrors
{
    public static IResult Error(int status, string message, string? field = null) =>
        TypedResults.Json(new PortSipError(status, message, field), statusCode: status);

    /// <summary>For <see cref="RequestContext.Require{TBuilder}"/>: its refusals in this dialect's shape.</summary>
    public static IResult Auth(int status, string message) => Error(status, message);

    public static IResult BadField(string field, string message) => Error(400, message, field);

    /// <summary>The first field error of a body the shared reader refused (malformed JSON, wrong types, NUL).</summary>
    public static IResult FromErrors(Errors errors)
    {
        var (field, messages) = errors.All.First();
        return BadField(field, messages[0]);
    }

    public static IResult NotFound(string what) => Error(404, $"{what} not found.");

    /// <summary>A use case's failure in this dialect's shape: the first field at fault, or the engine's refusal.</summary>
    public static IResult Fail(Application.AppError error, string what) =>
        error.Fields is { Count: > 0 } fields ? BadField(fields.First().Key, fields.First().Value[0])
        : error.Engine is { } engine ? Fail(engine, what)
        : error.Kind == Application.Failure.NotFound ? NotFound(what) : Error(409, error.Message);

    public static IResult Fail(CommandResult result, string what) => result switch
    {
        CommandResult.UnknownQueue => NotFound("Call queue"),
        CommandResult.UnknownAgent => NotFound("Agent"),
        CommandResult.UnknownCall => NotFound("Session"),
        CommandResult.NotMember => NotFound("Call queue agent"),
        CommandResult.AgentBusy => Error(409, "The agent is on, or ringing for, another call."),
        CommandResult.NotLoggedIn => Error(409, "The agent must be logged in to the call queue first (status LOGGED_IN)."),
        CommandResult.QueueHasCalls => Error(409, "The call queue still has calls."),
        CommandResult.Conflict => Error(409, $"Another {what} already uses that extension number.", "extension_number"),
        CommandResult.InvalidArgument => Error(400, "Invalid argument."),
        _ => Error(409, $"The {what} is not in a state where this applies."),
    };
}
