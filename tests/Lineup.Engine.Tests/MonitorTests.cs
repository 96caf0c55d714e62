namespace Lineup.Engine.Tests;

/// <summary>The engine's side of monitoring: who monitors which connected call, its events, and its end.</summary>
public sealed class MonitorTests
{
    [Fact]
    public void A_supervisor_joins_a_connected_call_changes_mode_and_leaves_with_the_talk()
    {
        var h = new Harness().Queue(1).Staff(1, 1);
        var c = h.Call(1);
        Assert.Equal(CommandResult.InvalidState, h.Try(h.Engine.SetMonitor(c, SupervisionMode.Listen, "1002", h.Now))); // still waiting
        h.Answer(c, 1);
        h.Do(h.Engine.SetMonitor(c, SupervisionMode.Listen, "1002", h.Now));
        Assert.Equal(CommandResult.Ignored, h.Try(h.Engine.SetMonitor(c, SupervisionMode.Listen, "1002", h.Now)));
        h.Do(h.Engine.SetMonitor(c, SupervisionMode.Whisper, "1002", h.Now));
        Assert.Equal(("1002", SupervisionMode.Whisper), (h.CallState(c).Supervisor, h.CallState(c).SupervisionMode));

        // A snapshot keeps it.
        var restored = CallCenter.Restore(h.Engine.Capture(), h.Engine.Options);
        Assert.True(restored.TryGetCall(c, out var copy) && copy.Supervisor == "1002" && copy.SupervisionMode == SupervisionMode.Whisper);

        h.CallerHangup(c);
        var started = h.Of(EventKind.CallMonitorStarted).Select(e => ((SupervisionMode)e.Code, e.Text, e.Agent.Value)).ToArray();
        Assert.Equal([(SupervisionMode.Listen, "1002", 1), (SupervisionMode.Whisper, "1002", 1)], started);
        var ended = Assert.Single(h.Of(EventKind.CallMonitorEnded));
        Assert.Equal(("1002", c), (ended.Text, ended.Call));
        Assert.True(ended.At <= Assert.Single(h.Of(EventKind.CallEnded)).At);
        Assert.Equal(CommandResult.UnknownCall, h.Try(h.Engine.SetMonitor(c, null, null, h.Now)));
    }

    [Fact]
    public void Leaving_ends_only_the_monitoring()
    {
        var h = new Harness().Queue(1).Staff(1, 1);
        var c = h.Call(1);
        h.Answer(c, 1);
        h.Do(h.Engine.SetMonitor(c, SupervisionMode.Barge, "sip:boss@example.com", h.Now));
        h.Do(h.Engine.SetMonitor(c, null, null, h.Now));
        Assert.Single(h.Of(EventKind.CallMonitorEnded));
        Assert.Equal(CallState.Connected, h.CallState(c).State);
        Assert.Null(h.CallState(c).Supervisor);
        Assert.Equal(CommandResult.Ignored, h.Try(h.Engine.SetMonitor(c, null, null, h.Now)));
    }
}
