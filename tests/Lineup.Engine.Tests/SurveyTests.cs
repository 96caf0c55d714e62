namespace Lineup.Engine.Tests;

/// <summary>Issue 15's post-call survey: when the agent hangs up first the call stays open for the caller's key, which
/// lands in the CDR, the queue's statistics and a CallRated event; the agent is freed at once either way.</summary>
public class SurveyTests
{
    private static Harness Surveyed(int wrapUp = 0) =>
        new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown, SurveyMaxRating = 5, SurveyPrompt = "12", WrapUpSeconds = wrapUp }).Staff(1, 1);

    private static CallId Talked(Harness h)
    {
        var call = h.Call(1);
        h.Wait(1).Answer(call, 1);
        h.Wait(60).AgentHangup(call);
        return call;
    }

    [Fact]
    public void The_caller_s_key_rates_the_call_and_ends_it()
    {
        var h = Surveyed();
        var call = Talked(h);
        var ask = Assert.Single(h.Of(EventKind.CallSurvey));
        Assert.Equal((5L, "12"), (ask.Value, ask.Text));
        Assert.Equal(CallState.Survey, h.CallState(call).State);
        Assert.Equal(AgentStatus.Ready, h.AgentState(1).Status); // the agent does not wait for the survey
        Assert.Empty(h.Of(EventKind.CallEnded));

        Assert.Equal(CommandResult.Ignored, h.Try(h.Engine.CallerDigits(call, "7", h.Now))); // over the maximum
        h.Wait(3).Do(h.Engine.CallerDigits(call, "4", h.Now));
        Assert.Equal(4, Assert.Single(h.Of(EventKind.CallRated)).Code);
        var cdr = h.Cdr(call);
        Assert.Equal((4, Disposition.Answered), (cdr.Rating, cdr.Disposition));
        Assert.Equal(60, cdr.TalkSeconds);
        Assert.Equal((1, 4.0), (h.QueueState(1).Today.Ratings, h.QueueState(1).Today.AverageRating));
    }

    [Fact]
    public void Without_a_key_the_call_ends_unrated_after_the_survey_time_or_when_the_caller_hangs_up()
    {
        var h = Surveyed();
        var silent = Talked(h);
        h.Wait(CallCenter.SurveySeconds - 1);
        Assert.Empty(h.Of(EventKind.CallEnded));
        h.Wait(2);
        Assert.Null(h.Cdr(silent).Rating);

        var gone = h.Call(1);
        h.Wait(1).Answer(gone, 1);
        h.Wait(5).AgentHangup(gone);
        h.Wait(2).CallerHangup(gone);
        Assert.Equal(Disposition.Answered, h.Cdr(gone).Disposition);
        Assert.Equal(0, h.QueueState(1).Today.Ratings);
    }

    [Fact]
    public void A_rating_during_the_wrap_up_is_kept_and_the_call_ends_with_the_wrap_up()
    {
        var h = Surveyed(wrapUp: 10);
        var call = Talked(h);
        h.Wait(2).Do(h.Engine.CallerDigits(call, "5", h.Now));
        Assert.Empty(h.Of(EventKind.CallEnded));
        h.Wait(9);
        Assert.Equal((5, 10.0), (h.Cdr(call).Rating, h.Cdr(call).WrapUpSeconds));
    }

    [Fact]
    public void No_survey_when_the_caller_hangs_up_first_or_the_queue_has_none()
    {
        var h = Surveyed();
        var call = h.Call(1);
        h.Wait(1).Answer(call, 1);
        h.Wait(5).CallerHangup(call);
        Assert.Empty(h.Of(EventKind.CallSurvey));
        Assert.Equal(Disposition.Answered, h.Cdr(call).Disposition);

        var plain = new Harness().Queue(1, q => q with { Strategy = Strategy.TopDown }).Staff(1, 1);
        var other = plain.Call(1);
        plain.Wait(1).Answer(other, 1);
        plain.Wait(5).AgentHangup(other);
        Assert.Empty(plain.Of(EventKind.CallSurvey));
        Assert.Equal(CommandResult.UnknownCall, plain.Try(plain.Engine.RateCall(other, 3, plain.Now)));
    }
}
