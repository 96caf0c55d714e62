namespace Lineup.Engine;

/// <summary>A call's live state. Read it only inside the tenant's mailbox; the engine mutates it.</summary>
public sealed class Call
{
    internal Call(CallRecord record, int priority, long now)
    {
        Record = record;
        Priority = priority;
        OrderTime = now;
    }

    public CallId Id => Record.Id;
    public CallRecord Record { get; }
    public CallState State { get; internal set; }
    public Queue? Queue { get; internal set; }
    public int Priority { get; internal set; }
    /// <summary>Original entry time: kept when the call moves, so it keeps its seniority.</summary>
    public long OrderTime { get; }
    public long QueueEnteredAt { get; internal set; }
    public AgentId? Agent => ConnectedAgent?.Id;
    public int ActiveOffers => Offers.Count;

    /// <summary>The supervisor monitoring the call (as the host named it), or null.</summary>
    public string? Supervisor { get; internal set; }
    public SupervisionMode SupervisionMode { get; internal set; }

    /// <summary>Waiting or keeping its place as a callback: the routing engine may offer it.</summary>
    public bool IsQueued => State is CallState.Waiting or CallState.CallbackWaiting;

    internal Agent? ConnectedAgent;
    internal readonly List<Agent> Offers = new(1);
    internal List<AgentId>? Tried;
    internal int UnansweredAttempts;
    internal int Hops;
    internal int CallbackAttempts;
    internal long NotBefore;
    internal long VisitSeq;
    internal bool StickyPending;
    internal bool StickyRinging;
    internal bool CallbackOffered;

    /// <summary>The call was transferred to one agent, whose offer is still open: it takes nobody else meanwhile, and
    /// when that offer fails it goes to <see cref="TransferFallback"/> (or stays in its queue when there is none).</summary>
    internal bool TransferRinging;
    internal Destination? TransferFallback;

    /// <summary>The caller is being surveyed: the call does not end with the wrap-up but when the survey does.</summary>
    internal bool SurveyPending;

    // Intrusive links: priority bucket (order) and the queue's arrival list (entry time).
    internal WaitBucket? Bucket;
    internal Call? Prev, Next;
    internal Call? ArrivalPrev, ArrivalNext;
    internal bool InArrivalList;

    internal bool WasTried(AgentId agent)
    {
        if (Tried == null) return false;
        foreach (var a in Tried)
            if (a == agent) return true;
        return false;
    }
}
