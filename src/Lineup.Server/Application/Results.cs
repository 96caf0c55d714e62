using Lineup.Engine;

namespace Lineup.Server.Application;

/// <summary>What kind of expected failure a use case met; each API words and codes it its own way.</summary>
public enum Failure
{
    /// <summary>The input is wrong; <see cref="AppError.Fields"/> says which field and why.</summary>
    Invalid,
    /// <summary>An id names nothing in this tenant (or names another tenant's object).</summary>
    NotFound,
    /// <summary>The caller may not do this.</summary>
    Forbidden,
    /// <summary>The state does not allow it (a number in use, a busy agent, a limit reached).</summary>
    Conflict,
    /// <summary>Credentials are wrong or missing.</summary>
    Unauthorized,
    /// <summary>Too many failed attempts; <see cref="AppError.RetryAfter"/> says for how long.</summary>
    Throttled,
}

/// <summary>A use case's expected failure: never an exception. <paramref name="Fields"/> maps each field at fault,
/// named as the calling API names it, to its messages.</summary>
public sealed record AppError(Failure Kind, string Message, IReadOnlyDictionary<string, string[]>? Fields = null)
{
    /// <summary>The engine's rejection, when the engine refused the command.</summary>
    public CommandResult? Engine { get; init; }

    /// <summary>How long a throttled caller must wait.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>What the engine's rejection means; <paramref name="what"/> names the object ("queue", "agent").</summary>
    public static AppError FromEngine(CommandResult result, string what) => result switch
    {
        CommandResult.UnknownQueue => new(Failure.NotFound, "No such queue.") { Engine = result },
        CommandResult.UnknownAgent => new(Failure.NotFound, "No such agent.") { Engine = result },
        CommandResult.UnknownCall => new(Failure.NotFound, "No such call (or it has ended).") { Engine = result },
        CommandResult.NotMember => new(Failure.NotFound, "The agent is not a member of that queue.") { Engine = result },
        CommandResult.NoSuchOffer => new(Failure.Conflict, "That agent has no offer for this call (it timed out, was cancelled or went to another agent).") { Engine = result },
        CommandResult.AgentBusy => new(Failure.Conflict, "The agent is on, or ringing for, another call.") { Engine = result },
        CommandResult.NotLoggedIn => new(Failure.Conflict, "The agent must be logged in first.") { Engine = result },
        CommandResult.AgentUnavailable => new(Failure.Conflict, "The agent is not Ready and idle.") { Engine = result },
        CommandResult.QueueHasCalls => new(Failure.Conflict, "The queue still has calls.") { Engine = result },
        CommandResult.CallbackUnavailable => new(Failure.Conflict, "This queue does not offer callbacks, or there is no number to call.") { Engine = result },
        CommandResult.Conflict => new(Failure.Conflict, $"Another {what} already uses that number.") { Engine = result },
        CommandResult.InvalidArgument => new(Failure.Invalid, "Invalid argument.") { Engine = result },
        CommandResult.DispositionRequired => new(Failure.Conflict, "The queue requires a disposition code before the wrap-up ends: POST /api/v1/calls/{id}/disposition first.") { Engine = result },
        _ => new(Failure.Conflict, $"The {what} is not in a state where this applies.") { Engine = result },
    };

    public static AppError NotFound(string message) => new(Failure.NotFound, message);

    public static AppError Conflict(string message) => new(Failure.Conflict, message);

    public static AppError Forbidden(string message) => new(Failure.Forbidden, message);

    /// <summary>One field at fault.</summary>
    public static AppError Invalid(string field, string message) =>
        new(Failure.Invalid, message, new Dictionary<string, string[]>(StringComparer.Ordinal) { [field] = [message] });

    /// <summary>Several fields at fault (an empty list is not an error: check <see cref="FieldErrors.Any"/> first).</summary>
    public static AppError Invalid(FieldErrors errors) =>
        new(Failure.Invalid, errors.First ?? "Invalid request.", errors.ToDictionary());
}

/// <summary>The outcome of a use case: a value, or an <see cref="AppError"/>.</summary>
public readonly record struct Result<T>
{
    private Result(T? value, AppError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }
    public AppError? Error { get; }
    public bool Ok => Error == null;

    public static Result<T> Success(T value) => new(value, null);

    public static implicit operator Result<T>(T value) => new(value, null);

    public static implicit operator Result<T>(AppError error) => new(default, error);
}

/// <summary>Field errors gathered while checking input, keyed by the calling API's field names, in order.</summary>
public sealed class FieldErrors
{
    private readonly List<(string Field, string Message)> _errors = [];

    public bool Any => _errors.Count > 0;

    public string? First => _errors.Count > 0 ? _errors[0].Message : null;

    public IEnumerable<(string Field, string Message)> All => _errors;

    public FieldErrors Add(string field, string message)
    {
        _errors.Add((field, message));
        return this;
    }

    public IReadOnlyDictionary<string, string[]> ToDictionary() =>
        _errors.GroupBy(e => e.Field, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray(), StringComparer.Ordinal);
}
