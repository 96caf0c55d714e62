namespace Lineup.Engine;

/// <summary>What happened, and what the host must do. Media effects (ring, bridge, play, transfer…) are events too.</summary>
public enum EventKind : byte
{
    /// <summary>Agent logged in to <c>Queue</c>.</summary>
    AgentLoggedIn,
    /// <summary>Agent logged out of <c>Queue</c>.</summary>
    AgentLoggedOut,
    /// <summary><c>Code</c> is the new <see cref="AgentStatus"/>, <c>Text</c> the reason.</summary>
    AgentStatusChanged,
    /// <summary><c>Code</c> is the new <see cref="AgentActivity"/>.</summary>
    AgentActivityChanged,

    /// <summary>The call entered <c>Queue</c>; <c>Value</c> is its position.</summary>
    CallQueued,
    /// <summary>Ring <c>Agent</c> for the call now; <c>Value</c> is the ring timeout in seconds.</summary>
    CallOffered,
    /// <summary>An offer ended; <c>Code</c> is the <see cref="AttemptOutcome"/>. Stop ringing the agent if it still rings.</summary>
    OfferEnded,
    /// <summary><c>Agent</c> answered: bridge caller and agent. <c>Value</c> is the wait in this queue in ms.</summary>
    CallAnswered,
    /// <summary>A callback reached its turn and <c>Agent</c> accepted it: dial the customer (<c>Text</c>).</summary>
    CallbackDial,
    /// <summary>The caller left and will be called back; <c>Text</c> is the number to call.</summary>
    CallbackScheduled,
    /// <summary>The call left <c>Queue</c> for queue <c>Value</c>; <c>Code</c> is the <see cref="ExitReason"/>.</summary>
    CallMoved,
    /// <summary>The call left <c>Queue</c> unanswered; <c>Code</c> is the <see cref="ExitReason"/>.</summary>
    CallLeftQueue,
    /// <summary>Transfer the caller to <c>Text</c>.</summary>
    CallTransferred,
    /// <summary>Send the caller to voicemail box <c>Text</c>.</summary>
    CallToVoicemail,
    /// <summary>Hang up the caller.</summary>
    CallHangup,
    /// <summary>Talk ended; the agent is in wrap-up for <c>Value</c> seconds.</summary>
    CallWrapUp,
    /// <summary>The call ended; <c>Record</c> is its complete CDR. Emitted exactly once per call.</summary>
    CallEnded,
    /// <summary>Play to the caller: <c>Code</c> is the <see cref="AnnouncementKind"/>, <c>Value</c> the position,
    /// <c>Value2</c> the estimated wait in seconds, <c>Text</c> the prompt id.</summary>
    Announcement,
    /// <summary>A queue's night mode changed; <c>Code</c> is 1 when on.</summary>
    QueueNightModeChanged,
    /// <summary>A supervisor joined the call, or changed mode: <c>Code</c> is the <see cref="SupervisionMode"/>,
    /// <c>Text</c> the supervisor.</summary>
    CallMonitorStarted,
    /// <summary>The supervisor left the call; <c>Text</c> is the supervisor.</summary>
    CallMonitorEnded,
    /// <summary>The agent hung up first and the queue surveys: ask the caller to rate the call from 1 to <c>Value</c>
    /// (<c>Text</c> the question's prompt id). The call ends when the caller rates, hangs up, or after
    /// <see cref="CallCenter.SurveySeconds"/>.</summary>
    CallSurvey,
    /// <summary>The caller rated the call <c>Code</c> (1 to the queue's maximum); <c>Text</c> the thanks prompt id.</summary>
    CallRated,
    /// <summary>A caller sent to voicemail left a message in <c>Queue</c>'s box (<see cref="CallCenter.VoicemailLeft"/>):
    /// <c>Value</c> is the voicemail id, <c>Value2</c> its length in ms, <c>Text</c> the caller's number.</summary>
    VoicemailLeft,
    /// <summary>The connected call is being transferred (<see cref="CallCenter.TransferCall"/>,
    /// <see cref="CallCenter.TransferToAgent"/>): release <c>Agent</c>'s leg and keep the caller. <c>Code</c> is the
    /// <see cref="TransferTarget"/>: a number (<c>Text</c>; a <see cref="CallTransferred"/> follows), a queue
    /// (<c>Value</c>; the call is queued there next) or one agent (<c>Value</c>; the call is queued again in its queue and
    /// offered to that agent next).</summary>
    CallTransferStarted,
}

/// <summary>How a supervisor takes part in a call: hears both and is heard by none (listen), is heard by the agent
/// only (whisper), or by both (barge).</summary>
public enum SupervisionMode
{
    Listen,
    Whisper,
    Barge,
}

/// <summary>One engine output. A flat struct so that emitting events allocates nothing.</summary>
public readonly record struct EngineEvent(
    EventKind Kind,
    long At,
    QueueId Queue = default,
    AgentId Agent = default,
    CallId Call = default,
    int Code = 0,
    long Value = 0,
    long Value2 = 0,
    string? Text = null,
    CallRecord? Record = null);

/// <summary>One offer of a call to an agent, as kept in the CDR.</summary>
public readonly record struct CallAttempt(
    AgentId Agent,
    QueueId Queue,
    long OfferedAt,
    long EndedAt,
    AttemptOutcome Outcome,
    bool Pickup = false);

/// <summary>One queue a call visited.</summary>
public readonly record struct QueueVisit(QueueId Queue, long EnteredAt, long LeftAt, ExitReason ExitReason);

/// <summary>
/// A call's full history; complete once <see cref="EndedAt"/> is set, and then it is the CDR. Times are Unix
/// milliseconds. Owned by the engine until <see cref="EventKind.CallEnded"/>; read it only in the tenant's mailbox.
/// </summary>
public sealed class CallRecord
{
    internal readonly List<QueueVisit> VisitList = new(1);
    internal readonly List<CallAttempt> AttemptList = new(2);

    public required CallId Id { get; init; }
    public required string CallerNumber { get; init; }
    public string? CallerName { get; init; }
    public string? ExternalId { get; init; }
    public int Priority { get; internal set; }
    public required long EnteredAt { get; init; }

    public IReadOnlyList<QueueVisit> Queues => VisitList;
    public IReadOnlyList<CallAttempt> Attempts => AttemptList;

    public long? AnsweredAt { get; internal set; }
    public AgentId? AnsweredBy { get; internal set; }
    public QueueId? AnsweredIn { get; internal set; }
    public long? TalkEndedAt { get; internal set; }
    public long? EndedAt { get; internal set; }
    public Disposition Disposition { get; internal set; }
    public ExitReason ExitReason { get; internal set; }

    /// <summary>Transfer number or voicemail box for those dispositions.</summary>
    public string? DestinationTarget { get; internal set; }
    public bool WasCallback { get; internal set; }
    public string? CallbackNumber { get; internal set; }
    public string? RecordingId { get; set; }

    /// <summary>The code the answering agent gave the call (<see cref="CallCenter.SetDisposition"/>).</summary>
    public string? DispositionCode { get; internal set; }
    /// <summary>The caller's post-call survey answer (1 to the queue's maximum), if any.</summary>
    public int? Rating { get; internal set; }

    /// <summary>From entry to answer, or to leaving Lineup unanswered, across every queue visited.</summary>
    public double WaitSeconds => ((AnsweredAt ?? EndedAt ?? EnteredAt) - EnteredAt) / 1000.0;
    public double TalkSeconds => AnsweredAt is { } a && TalkEndedAt is { } t ? (t - a) / 1000.0 : 0;
    public double WrapUpSeconds => TalkEndedAt is { } t && EndedAt is { } e ? (e - t) / 1000.0 : 0;
}
