namespace Lineup.Engine.Tests;

/// <summary>Issue 15's voicemail as the engine sees it: a queue's box settings are kept (also by a snapshot) but never
/// read, a voicemail destination ends the call as voicemail, and a stored message is published as VoicemailLeft.</summary>
public sealed class VoicemailTests
{
    private static readonly VoicemailSettings Box = new()
    {
        Enabled = true,
        Greeting = "7",
        MailTo = "sales@example.com",
        AttachAudio = false,
        MaxSeconds = 60,
        SilenceSeconds = 0,
    };

    [Fact]
    public void A_message_left_after_the_call_went_to_voicemail_is_published_once_with_its_id_and_length()
    {
        var h = new Harness().Queue(1, q => q with { LeaveWhenNoAgents = true, NoAgentsDestination = Destination.ToVoicemail(), Voicemail = Box });
        var call = h.Call(1, "5550123");
        Assert.Equal(Disposition.Voicemail, h.Cdr(call).Disposition);

        h.Wait(20).Do(h.Engine.VoicemailLeft(new QueueId(1), call, 3, 14_500, "5550123", h.Now));
        var left = Assert.Single(h.Of(EventKind.VoicemailLeft));
        Assert.Equal((new QueueId(1), call, 3L, 14_500L, "5550123", h.Now), (left.Queue, left.Call, left.Value, left.Value2, left.Text, left.At));
    }

    [Fact]
    public void A_call_still_in_a_queue_an_unknown_queue_or_bad_values_are_refused_and_publish_nothing()
    {
        var h = new Harness().Queue(1, q => q with { Voicemail = Box }).Staff(1, 1);
        var waiting = h.Call(1);
        Assert.Equal(CommandResult.InvalidState, h.Try(h.Engine.VoicemailLeft(new QueueId(1), waiting, 1, 1000, "5550123", h.Now)));
        Assert.Equal(CommandResult.UnknownQueue, h.Try(h.Engine.VoicemailLeft(new QueueId(9), new CallId(99), 1, 1000, "5550123", h.Now)));
        Assert.Equal(CommandResult.InvalidArgument, h.Try(h.Engine.VoicemailLeft(new QueueId(1), new CallId(99), 0, 1000, "5550123", h.Now)));
        Assert.Equal(CommandResult.InvalidArgument, h.Try(h.Engine.VoicemailLeft(new QueueId(1), new CallId(99), 1, -1, "5550123", h.Now)));
        Assert.Equal(CommandResult.InvalidArgument, h.Try(h.Engine.VoicemailLeft(new QueueId(1), new CallId(99), 1, 1000, "", h.Now)));
        Assert.Empty(h.Of(EventKind.VoicemailLeft));
    }

    [Fact]
    public void A_snapshot_keeps_the_box_settings_and_the_defaults_stay_out_of_it()
    {
        var h = new Harness().Queue(1, q => q with { Voicemail = Box }).Queue(2);
        var restored = CallCenter.Restore(h.Engine.Capture(), h.Engine.Options);
        Assert.True(restored.TryGetQueue(new QueueId(1), out var q1) && q1.Config.Voicemail == Box);
        Assert.True(restored.TryGetQueue(new QueueId(2), out var q2) && q2.Config.Voicemail == VoicemailSettings.Off);
        var json = System.Text.Encoding.UTF8.GetString(h.Engine.Capture().ToUtf8Json());
        Assert.Equal(1, CountOf(json, "voicemailEnabled")); // queue 2's defaults are not written
        Assert.Contains("\"voicemailSilenceSeconds\":0", json, StringComparison.Ordinal); // 0 (off) is not the default
    }

    private static int CountOf(string text, string what)
    {
        var n = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
