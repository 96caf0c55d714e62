namespace Lineup.Engine;

/// <summary>A queue's live state. Read it only inside the tenant's mailbox; the engine mutates it.</summary>
public sealed class Queue
{
    internal Queue(QueueConfig config) => Config = config;

    public QueueId Id => Config.Id;
    public QueueConfig Config { get; internal set; }
    public bool NightMode { get; internal set; }

    /// <summary>Night mode set by hand (wins over the office hours until cleared); null: the office hours decide.</summary>
    public bool? NightOverride { get; internal set; }
    public QueueDayStats Today { get; } = new();
    public IReadOnlyList<Member> Members => MemberList;

    /// <summary>Calls in the queue with the caller on the line (ringing agents or not).</summary>
    public int WaitingCount { get; internal set; }
    /// <summary>Waiting calls with at least one agent ringing.</summary>
    public int RingingCount { get; internal set; }
    /// <summary>Callbacks keeping their place in the queue.</summary>
    public int CallbackCount { get; internal set; }
    public int TalkingCount { get; internal set; }

    public int LoggedInAgents => Counts[(int)MemberCategory.Available] + Counts[(int)MemberCategory.Busy]
        + Counts[(int)MemberCategory.NotReady] + Counts[(int)MemberCategory.WrapUp];
    public int AvailableAgents => Counts[(int)MemberCategory.Available];
    /// <summary>Logged in, Ready, and ringing, talking, on another call or in a delay.</summary>
    public int BusyAgents => Counts[(int)MemberCategory.Busy];
    public int NotReadyAgents => Counts[(int)MemberCategory.NotReady];
    public int WrapUpAgents => Counts[(int)MemberCategory.WrapUp];
    /// <summary>Agents who will take calls: logged in and not Not Ready.</summary>
    public int StaffedAgents => AvailableAgents + BusyAgents + WrapUpAgents;

    /// <summary>Entry time (in this queue) of the caller waiting longest, if any.</summary>
    public long? OldestEntry => ArrivalHead?.QueueEnteredAt;

    /// <summary>Waiting calls, best first (priority, then original entry time).</summary>
    public IEnumerable<Call> WaitingCalls
    {
        get
        {
            foreach (var b in Buckets)
                for (var c = b.Head; c != null; c = c.Next)
                    yield return c;
        }
    }

    /// <summary>Smoothed handle time (talk + wrap-up) in seconds, for the queue-length estimator.</summary>
    public double RecentHandleSeconds { get; internal set; }
    /// <summary>Wait in ms of the last caller answered here (last-to-enter-service estimator), or -1.</summary>
    public long LastServedWaitMs { get; internal set; } = -1;

    internal readonly List<Member> MemberList = new();
    internal readonly List<Member> Available = new();
    internal readonly int[] Counts = new int[5];
    internal readonly List<WaitBucket> Buckets = new(2);
    internal Call? ArrivalHead, ArrivalTail;
    internal int MinLevel;
    internal int[] Levels = [];
    internal long RoundRobinKey = long.MinValue;
    internal long NoAgentSince;
    internal long NoAgentTimerSeq;
    internal readonly Dictionary<string, (AgentId Agent, long At)> Sticky = new(StringComparer.Ordinal);

    internal long SlaMs(EngineOptions options) =>
        (Config.SlaSeconds > 0 ? Config.SlaSeconds : options.DefaultSlaSeconds) * 1000L;

    internal WaitBucket BucketFor(int priority)
    {
        var i = 0;
        for (; i < Buckets.Count; i++)
        {
            if (Buckets[i].Priority == priority) return Buckets[i];
            if (Buckets[i].Priority < priority) break;
        }
        var b = new WaitBucket(priority);
        Buckets.Insert(i, b);
        return b;
    }
}

/// <summary>Calls of one priority in one queue, ordered by (original entry time, arrival sequence); an intrusive list.</summary>
internal sealed class WaitBucket(int priority)
{
    public readonly int Priority = priority;
    public Call? Head, Tail;
    public int Count;

    public void Insert(Call c)
    {
        c.Bucket = this;
        Count++;
        // New arrivals carry the newest entry time: O(1) at the tail. Moved or re-queued calls walk back.
        var after = Tail;
        while (after != null && Precedes(c, after)) after = after.Prev;
        c.Prev = after;
        c.Next = after == null ? Head : after.Next;
        if (c.Next != null) c.Next.Prev = c; else Tail = c;
        if (after != null) after.Next = c; else Head = c;
    }

    /// <summary>Adds a call at the tail as it is, without placing it by order (a restored snapshot's lists are in order).</summary>
    public void Append(Call c)
    {
        c.Bucket = this;
        Count++;
        c.Prev = Tail;
        c.Next = null;
        if (Tail != null) Tail.Next = c; else Head = c;
        Tail = c;
    }

    public void Remove(Call c)
    {
        if (c.Prev != null) c.Prev.Next = c.Next; else Head = c.Next;
        if (c.Next != null) c.Next.Prev = c.Prev; else Tail = c.Prev;
        c.Prev = c.Next = null;
        c.Bucket = null;
        Count--;
    }

    private static bool Precedes(Call a, Call b) =>
        a.OrderTime < b.OrderTime || (a.OrderTime == b.OrderTime && a.Id.Value < b.Id.Value);
}
