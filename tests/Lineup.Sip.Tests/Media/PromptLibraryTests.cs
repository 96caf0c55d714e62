using Lineup.Sip.Media;

namespace Lineup.Sip.Tests.Media;

public class PromptLibraryTests
{
    private static readonly string[] Ids =
    [
        .. Enumerable.Range(0, 21).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        "30", "40", "50", "60", "70", "80", "90", "100", "hundred",
        "your-position-is", "estimated-wait", "minutes", "minute", "seconds", "second", "less-than-a-minute",
        "thank-you-for-waiting", "welcome", "press-to-leave", "callback-offer", "callback-confirmed", "all-agents-busy",
        "survey-question", "survey-thanks", "caller-waited", "voicemail-greeting",
    ];

    private static PromptLibrary Fake(params string[] names) =>
        new((names.Length == 0 ? Ids : names).Select(n => AudioClip.FromSamples(n, [1])));

    private static string[] Say(IReadOnlyList<AudioClip> clips) => [.. clips.Select(c => c.Name)];

    [Theory]
    [InlineData(0, new[] { "0" })]
    [InlineData(7, new[] { "7" })]
    [InlineData(20, new[] { "20" })]
    [InlineData(21, new[] { "20", "1" })]
    [InlineData(90, new[] { "90" })]
    [InlineData(100, new[] { "1", "hundred" })]
    [InlineData(247, new[] { "2", "hundred", "40", "7" })]
    [InlineData(315, new[] { "3", "hundred", "15" })]
    [InlineData(999, new[] { "9", "hundred", "90", "9" })]
    [InlineData(5000, new[] { "9", "hundred", "90", "9" })]
    public void Numbers_are_composed_from_the_files(int n, string[] expected) =>
        Assert.Equal(expected, PromptLibrary.NumberNames(n));

    [Fact]
    public void Position_and_wait_announcements()
    {
        var library = Fake();
        Assert.Equal(["your-position-is", "2", "hundred", "40", "7"], Say(library.Position(247)));
        Assert.Equal(["estimated-wait", "less-than-a-minute"], Say(library.Wait(45)));
        Assert.Equal(["estimated-wait", "1", "minute"], Say(library.Wait(80)));
        Assert.Equal(["estimated-wait", "3", "minutes"], Say(library.Wait(150)));
        Assert.Equal(["your-position-is", "3", "estimated-wait", "2", "minutes"],
            Say(library.Compose(PromptKind.Position, position: 3, estimatedWaitSeconds: 120)));
    }

    [Fact]
    public void An_agent_is_told_the_caller_s_wait_in_seconds_then_minutes_past_999_seconds()
    {
        var library = Fake();
        Assert.Equal(["caller-waited", "0", "seconds"], Say(library.Waited(0)));
        Assert.Equal(["caller-waited", "1", "second"], Say(library.Waited(1)));
        Assert.Equal(["caller-waited", "40", "2", "seconds"], Say(library.Waited(42)));
        Assert.Equal(["caller-waited", "9", "hundred", "90", "9", "seconds"], Say(library.Waited(999)));
        Assert.Equal(["caller-waited", "17", "minutes"], Say(library.Waited(1000)));
        Assert.Equal(["caller-waited", "0", "seconds"], Say(library.Waited(-5)));
    }

    [Fact]
    public void Intro_and_periodic_use_the_configured_prompt_or_the_default()
    {
        var library = Fake();
        Assert.Equal(["welcome"], Say(library.Compose(PromptKind.Intro)));
        Assert.Equal(["all-agents-busy"], Say(library.Compose(PromptKind.Intro, promptId: "all-agents-busy")));
        Assert.Equal(["welcome"], Say(library.Compose(PromptKind.Intro, promptId: "no-such-file")));
        Assert.Equal(["thank-you-for-waiting"], Say(library.Compose(PromptKind.Periodic)));
        Assert.Equal(["callback-offer"], Say(library.Compose(PromptKind.CallbackOffer)));
    }

    [Fact]
    public void Missing_files_are_skipped()
    {
        var library = Fake("your-position-is", "5");
        Assert.Equal(["your-position-is", "5"], Say(library.Compose(PromptKind.Position, position: 5, estimatedWaitSeconds: 120)));
    }

    [Fact]
    public void The_shipped_prompts_load_and_cover_every_id()
    {
        var directory = AppContext.BaseDirectory;
        while (directory is not null && !Directory.Exists(Path.Combine(directory, "assets", "prompts"))) directory = Path.GetDirectoryName(directory);
        Assert.NotNull(directory);
        var library = PromptLibrary.Load(Path.Combine(directory, "assets", "prompts"));
        foreach (var id in Ids)
        {
            var clip = library.Find(id);
            Assert.True(clip is not null, $"missing prompt {id}");
            Assert.InRange(clip.Duration.TotalSeconds, 0.1, 10);
        }
        Assert.Equal(Ids.Order(StringComparer.Ordinal), library.Names.Order(StringComparer.Ordinal));
    }
}
