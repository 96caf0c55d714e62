namespace Lineup.Engine;

/// <summary>An agent's live state. Read it only inside the tenant's mailbox; the engine mutates it.</summary>
public sealed class Agent
{
    internal Agent(AgentConfig config, long now)
    {
        Config = config;
        StatusSince = now;
        StatusAccountedAt = now;
        LastIdleSince = now;
    }

    public AgentId Id => Config.Id;
    public AgentConfig Config { get; internal set; }
    public AgentStatus Status { get; internal set; }
    public string? Reason { get; internal set; }
    public long StatusSince { get; internal set; }
    public AgentActivity Activity { get; internal set; }

    /// <summary>The call this agent is offered (ringing) or on, if any. Never more than one.</summary>
    public CallId? CurrentCall => (OfferCall ?? TalkCall ?? WrapCall)?.Id;

    /// <summary>The call ringing this agent (offered, any ring delay over), if any: what the agent's screen shows.</summary>
    public Call? RingingCall => OfferRinging ? OfferCall : null;

    /// <summary>How long <see cref="RingingCall"/> rings before its offer goes unanswered, in seconds; 0 without one.</summary>
    public int RingingTimeoutSeconds => OfferRinging ? OfferTimeoutSeconds : 0;

    /// <summary>Unavailable until this time after a busy, rejected or unanswered offer.</summary>
    public long DelayUntil { get; internal set; }
    public int ConsecutiveNoAnswers { get; internal set; }
    public AgentDayStats Today { get; } = new();

    /// <summary>When the agent last became free of a queue call (longest-idle strategy).</summary>
    public long LastIdleSince { get; internal set; }

    public IReadOnlyList<Member> Memberships => MemberList;
    public int LoggedInQueueCount { get; internal set; }

    internal readonly List<Member> MemberList = new(2);
    internal Call? OfferCall;
    internal int OfferAttempt = -1;
    internal long OfferSeq;
    internal bool OfferRinging;
    internal Call? TalkCall;
    internal Call? WrapCall;
    internal bool NonQueueBusy;
    internal long StatusAccountedAt;
    internal int OfferTimeoutSeconds;
    internal long WrapSeq;
    internal AgentStatus StatusAfterWrap;
    internal string? ReasonAfterWrap;
    internal bool InDelay;

    internal Member? FindMember(QueueId queue)
    {
        foreach (var m in MemberList)
            if (m.Queue.Id == queue) return m;
        return null;
    }

    internal int WrapUpSecondsFor(Queue queue) => Config.WrapUpSeconds ?? queue.Config.WrapUpSeconds;
}

/// <summary>An agent's membership of one queue, with its login and per-queue routing memory.</summary>
public sealed class Member
{
    internal Member(Queue queue, Agent agent, MemberConfig config)
    {
        Queue = queue;
        Agent = agent;
        Config = config;
    }

    public Queue Queue { get; }
    public Agent Agent { get; }
    public MemberConfig Config { get; internal set; }
    public bool LoggedIn { get; internal set; }
    public long LastOfferedAt { get; internal set; } = long.MinValue;
    public long LastAnsweredAt { get; internal set; } = long.MinValue;

    /// <summary>Index in the queue's available list, or -1.</summary>
    internal int AvailableIndex = -1;
    internal MemberCategory Category = MemberCategory.LoggedOut;
}

/// <summary>Where a membership counts in the queue's live agent figures; exactly one at a time.</summary>
internal enum MemberCategory
{
    LoggedOut,
    Available,
    /// <summary>Ready but ringing, talking, busy elsewhere or in a delay.</summary>
    Busy,
    NotReady,
    WrapUp,
}
