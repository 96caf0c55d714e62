namespace Lineup.Engine.Tests;

/// <summary>The README's engine example, kept runnable: if this breaks, the README is wrong.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void Readme_engine_example_answers_and_ends_the_call()
    {
        var engine = new CallCenter(new EngineOptions { TimeZone = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin") });
        long now = 1_767_603_600_000;
        engine.UpsertQueue(new QueueConfig
        {
            Id = new QueueId(1),
            Name = "support",
            Strategy = Strategy.LongestIdle,
            MaxWaitSeconds = 300,
            TimeoutDestination = Destination.ToVoicemail("support"),
        }, now);
        engine.UpsertAgent(new AgentConfig { Id = new AgentId(7), Name = "Ana", NoAnswerDelaySeconds = 10 }, now);
        engine.SetMember(new QueueId(1), new AgentId(7), new MemberConfig { Level = 0, Position = 1 }, now);
        engine.Login(new AgentId(7), queues: null, now);
        var call = engine.Enqueue(new QueueId(1), new CallerInfo("+14155550100"), now).Call;
        var kinds = engine.TakeEvents().Select(e => e.Kind).ToList();
        Assert.Contains(EventKind.CallQueued, kinds);
        Assert.Contains(EventKind.CallOffered, kinds);
        Assert.Equal(CommandResult.Ok, engine.AgentAnswered(call, new AgentId(7), now + 4_000));
        Assert.Equal(CommandResult.Ok, engine.CallerHangup(call, now + 64_000));
        var ended = engine.TakeEvents().Single(e => e.Kind == EventKind.CallEnded);
        Assert.Equal(Disposition.Answered, ended.Record!.Disposition);
        Assert.Equal(4, ended.Record.WaitSeconds);
        Assert.Equal(60, ended.Record.TalkSeconds);
    }
}
