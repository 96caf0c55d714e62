namespace Lineup.Engine;

/// <summary>
/// Today's figures for one queue, updated in O(1) per event. A call counts on the day each event happens
/// (offered on the day it entered, answered on the day it was answered). See docs/engine.md for the
/// service-level definition.
/// </summary>
public sealed class QueueDayStats
{
    public int Offered { get; internal set; }
    public int Answered { get; internal set; }
    public int Abandoned { get; internal set; }
    /// <summary>Abandoned within the service-level time; left out of the service level.</summary>
    public int ShortAbandoned { get; internal set; }
    /// <summary>Left because <c>max_wait</c> ran out.</summary>
    public int TimedOut { get; internal set; }
    /// <summary>Sent elsewhere at entry or while waiting: queue full, no agents, night mode, no-answer rule.</summary>
    public int Overflowed { get; internal set; }
    public int ExitedByKey { get; internal set; }
    public int CallbacksRequested { get; internal set; }
    /// <summary>Refused at entry (blacklisted); not offered.</summary>
    public int Rejected { get; internal set; }
    public int AnsweredWithinSla { get; internal set; }
    /// <summary>Calls that count in the service level: answered, plus unanswered calls that waited longer than the SLA time.</summary>
    public int SlaEligible { get; internal set; }
    public long SumWaitAnsweredMs { get; internal set; }
    /// <summary>Wait of every call that left the queue today, answered or not.</summary>
    public long SumWaitAllMs { get; internal set; }
    public int Left { get; internal set; }
    public long MaxWaitMs { get; internal set; }
    public long SumTalkMs { get; internal set; }
    public long SumHandleMs { get; internal set; }
    /// <summary>Calls whose talk and wrap-up both ended today (denominator of the handle-time averages).</summary>
    public int Handled { get; internal set; }

    /// <summary>Post-call survey answers and their sum.</summary>
    public int Ratings { get; internal set; }
    public long SumRatings { get; internal set; }
    public double AverageRating => Ratings == 0 ? 0 : (double)SumRatings / Ratings;

    public double AverageWaitAnsweredSeconds => Answered == 0 ? 0 : SumWaitAnsweredMs / 1000.0 / Answered;
    public double AverageWaitSeconds => Left == 0 ? 0 : SumWaitAllMs / 1000.0 / Left;
    public double AverageTalkSeconds => Handled == 0 ? 0 : SumTalkMs / 1000.0 / Handled;
    public double AverageHandleSeconds => Handled == 0 ? 0 : SumHandleMs / 1000.0 / Handled;
    /// <summary>Answered within the SLA time ÷ (answered + unanswered that waited past it); 1 when nothing counts yet.</summary>
    public double ServiceLevel => SlaEligible == 0 ? 1.0 : (double)AnsweredWithinSla / SlaEligible;

    internal void Reset()
    {
        Offered = Answered = Abandoned = ShortAbandoned = TimedOut = Overflowed = ExitedByKey = 0;
        CallbacksRequested = Rejected = AnsweredWithinSla = SlaEligible = Left = Handled = 0;
        SumWaitAnsweredMs = SumWaitAllMs = MaxWaitMs = SumTalkMs = SumHandleMs = 0;
    }

    internal void RecordLeft(long waitMs, bool answered, long slaMs)
    {
        Left++;
        SumWaitAllMs += waitMs;
        if (waitMs > MaxWaitMs) MaxWaitMs = waitMs;
        if (answered)
        {
            Answered++;
            SumWaitAnsweredMs += waitMs;
            SlaEligible++;
            if (waitMs <= slaMs) AnsweredWithinSla++;
        }
        else if (waitMs > slaMs)
        {
            SlaEligible++;
        }
    }
}

/// <summary>Today's figures for one agent.</summary>
public sealed class AgentDayStats
{
    internal readonly long[] StatusMs = new long[4];

    public int Offered { get; internal set; }
    public int Answered { get; internal set; }
    /// <summary>Offers that ended without an answer through the agent: no answer, rejected or busy.</summary>
    public int Missed { get; internal set; }
    public int Rejected { get; internal set; }
    public long TalkMs { get; internal set; }

    /// <summary>Time spent today in <paramref name="status"/>, counted up to the agent's last status change.</summary>
    public TimeSpan TimeIn(AgentStatus status) => TimeSpan.FromMilliseconds(StatusMs[(int)status]);

    internal void Reset()
    {
        Offered = Answered = Missed = Rejected = 0;
        TalkMs = 0;
        Array.Clear(StatusMs);
    }
}
