namespace Lineup.Engine;

/// <summary>Lineup's routing strategies (named in <see cref="StrategyNames"/>); every vendor name maps onto one of these in its dialect.</summary>
public enum Strategy
{
    /// <summary>Every eligible agent of the allowed tiers rings at once.</summary>
    RingAll,
    /// <summary>The agent idle longest since its last queue call ended.</summary>
    LongestIdle,
    /// <summary>By position, continuing after the agent offered last in this queue.</summary>
    RoundRobin,
    /// <summary>By position, every call starting from the first.</summary>
    TopDown,
    /// <summary>The agent with the least talk time today.</summary>
    LeastTalkTime,
    /// <summary>The agent with the fewest answered calls today.</summary>
    FewestCalls,
    /// <summary>By level, then position; the lowest level and position first.</summary>
    SequentialByAgentOrder,
    /// <summary>Uniformly at random (from the engine's seeded generator, so replay is exact).</summary>
    Random,
    /// <summary>The agent not offered a call from this queue for the longest time.</summary>
    LeastRecentlyOffered,
    /// <summary>The agent that has not answered a call from this queue for the longest time.</summary>
    LeastRecentlyAnswered,
}

/// <summary>An agent's status, the part an agent or supervisor sets.</summary>
public enum AgentStatus
{
    LoggedOut,
    Ready,
    NotReady,
    WrapUp,
}

/// <summary>What an agent is doing right now, independent of its status.</summary>
public enum AgentActivity
{
    Idle,
    /// <summary>Reserved for, or ringing with, exactly one queue call.</summary>
    Ringing,
    /// <summary>On exactly one queue call (or dialing a callback customer for it).</summary>
    Talking,
    /// <summary>On a call that did not come from a queue.</summary>
    BusyNonQueue,
}

public enum AgentKind
{
    /// <summary>A user's own extension or phone.</summary>
    Local,
    /// <summary>An external number reached through a trunk.</summary>
    Remote,
}

/// <summary>How one offer (one agent ringing for one call) ended.</summary>
public enum AttemptOutcome
{
    Pending,
    Answered,
    NoAnswer,
    Rejected,
    Busy,
    Cancelled,
}

public enum CallState
{
    /// <summary>In a queue with the caller on the line, possibly ringing agents.</summary>
    Waiting,
    /// <summary>The caller hung up asking to be called back; the call keeps its place.</summary>
    CallbackWaiting,
    /// <summary>An agent accepted a callback and the customer is being dialled.</summary>
    CallbackDialing,
    Connected,
    WrapUp,
    Ended,
    /// <summary>Talk and wrap-up are over; the caller is still answering the post-call survey.</summary>
    Survey,
}

/// <summary>How a call's stay in Lineup finished (the CDR's disposition).</summary>
public enum Disposition
{
    None,
    /// <summary>Talked to an agent.</summary>
    Answered,
    /// <summary>The caller hung up while waiting.</summary>
    Abandoned,
    /// <summary>Sent to a number or extension.</summary>
    Transferred,
    Voicemail,
    /// <summary>Lineup hung up (a hang-up destination, a blacklisted number, a removed queue).</summary>
    HungUp,
    /// <summary>A callback whose customer could not be reached.</summary>
    CallbackFailed,
    /// <summary>Cancelled by a supervisor or the host before anyone answered.</summary>
    Cancelled,
    /// <summary>The node that carried the call's media (its SIP legs) died: the caller was cut off.</summary>
    LostOnNodeFailure,
}

/// <summary>Why a call left a queue without being answered there.</summary>
public enum ExitReason
{
    None,
    /// <summary>Waited <c>max_wait</c>.</summary>
    Timeout,
    /// <summary>No agent logged in (at entry, or for <c>max_wait_no_agent</c>).</summary>
    NoAgents,
    /// <summary><c>max_callers</c> already waiting at entry.</summary>
    QueueFull,
    /// <summary><c>no_answer_max_attempts</c> offers went unanswered.</summary>
    NoAnswer,
    /// <summary>The caller pressed the exit key.</summary>
    ExitKey,
    /// <summary>The queue was in night mode at entry.</summary>
    NightMode,
    Blacklisted,
    Abandoned,
    Cancelled,
    /// <summary>The queue was inactive at entry.</summary>
    Inactive,
    /// <summary>The node that carried the call's media died while the caller waited.</summary>
    LostOnNodeFailure,
}

public enum DestinationKind
{
    /// <summary>Lineup hangs up the caller.</summary>
    Hangup,
    /// <summary>Another queue; the call keeps its history and original entry time.</summary>
    Queue,
    /// <summary>Transfer to a number or extension.</summary>
    Number,
    Voicemail,
    /// <summary>The caller leaves and is called back, keeping its place.</summary>
    Callback,
}

/// <summary>Where a connected call is transferred: <see cref="EventKind.CallTransferStarted"/>'s code. Queue and number
/// have <see cref="DestinationKind"/>'s values.</summary>
public enum TransferTarget
{
    /// <summary>Another queue (<see cref="CallCenter.TransferCall"/>).</summary>
    Queue = DestinationKind.Queue,
    /// <summary>A number (<see cref="CallCenter.TransferCall"/>).</summary>
    Number = DestinationKind.Number,
    /// <summary>One agent (<see cref="CallCenter.TransferToAgent"/>, and the caller's side of
    /// <see cref="CallCenter.CompleteAttendedTransfer"/>).</summary>
    Agent = 5,
    /// <summary>The consultation's side of <see cref="CallCenter.CompleteAttendedTransfer"/>: its agent goes on with
    /// another call (<see cref="EngineEvent.Value"/>) and its caller (the transferring agent) leaves.</summary>
    Call = 6,
}

/// <summary>Where a call goes when it leaves a queue for a reason.</summary>
public readonly record struct Destination(DestinationKind Kind, QueueId Queue = default, string? Target = null)
{
    public static Destination Hangup => new(DestinationKind.Hangup);
    public static Destination ToQueue(QueueId queue) => new(DestinationKind.Queue, queue);
    public static Destination ToNumber(string number) => new(DestinationKind.Number, default, number);
    public static Destination ToVoicemail(string? box = null) => new(DestinationKind.Voicemail, default, box);
    public static Destination Callback => new(DestinationKind.Callback);
}

public enum PositionAnnouncement
{
    Disabled,
    /// <summary>Every interval, starting one interval after entry.</summary>
    Periodically,
    /// <summary>At entry, then every interval.</summary>
    OnEntryThenPeriodically,
}

public enum CallbackMode
{
    /// <summary>The caller may ask at any time by pressing the callback key.</summary>
    Active,
    /// <summary>Offered to the caller after <c>OfferAfterSeconds</c> of waiting.</summary>
    Timeout,
}

/// <summary>Media the host plays to a waiting caller.</summary>
public enum AnnouncementKind
{
    Intro,
    Periodic,
    Position,
    /// <summary>"Press the callback key to be called back."</summary>
    CallbackOffer,
}

/// <summary>Which estimator a queue uses for a new caller's expected wait.</summary>
public enum WaitEstimatorKind
{
    /// <summary>(calls ahead − free agents + 1) × recent handle time ÷ staffed agents.</summary>
    QueueLength,
    /// <summary>The wait of the last caller to reach an agent in this queue.</summary>
    LastToEnterService,
    /// <summary>The current wait of the caller at the head of the queue.</summary>
    HeadOfLine,
}
