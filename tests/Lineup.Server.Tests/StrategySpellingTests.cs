using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Lineup.Engine;
using Lineup.Server.Api.Dialects;

namespace Lineup.Server.Tests;

/// <summary>Strategy names in every spelling: docs/engine.md lists each dialect's, and the native API takes any of them
/// (leniently: no case, no separators) and answers with Lineup's own.</summary>
public sealed partial class StrategySpellingTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    [GeneratedRegex(@"^\| (?<vendor>[A-Za-z]+) \| `(?<name>[^`]+)` \| `(?<strategy>[a-z_]+)` \| (?<skills>[^|]+) \|$", RegexOptions.Multiline)]
    private static partial Regex Row();

    [Fact]
    public void The_engine_doc_lists_every_dialects_spelling_and_nothing_else()
    {
        var doc = File.ReadAllText(Path.Combine(ServerProcess.RepositoryRoot, "docs", "engine.md"));
        var documented = Row().Matches(doc)
            .Select(m => (Vendor: m.Groups["vendor"].Value.ToLowerInvariant(), Name: m.Groups["name"].Value, Strategy: m.Groups["strategy"].Value,
                Skills: m.Groups["skills"].Value.Trim() == "yes"))
            .Order().ToList();
        var declared = AnyStrategySpelling.All.Where(s => s.Source != "lineup")
            .Select(s => (Vendor: s.Source, s.Name, Strategy: StrategyNames.NameOf(s.Strategy), s.Skills))
            .Order().ToList();

        Assert.True(declared.Count >= 15, $"only {declared.Count} dialect spellings");
        Assert.Equal(declared, documented);
    }

    [Theory]
    [InlineData("ringall", "ring_all", false)]
    [InlineData("RING_ALL", "ring_all", false)]
    [InlineData("simultaneous", "ring_all", false)]
    [InlineData("RING_SIMULTANEOUSLY", "ring_all", false)]
    [InlineData("longest-idle-agent", "longest_idle", false)]
    [InlineData("route_round_robin", "round_robin", false)]
    [InlineData("CYCLIC_HUNT", "least_recently_offered", false)]
    [InlineData("SKILL_BASED_ROUTING_CYCLIC_HUNT", "least_recently_offered", true)]
    public async Task The_native_api_takes_any_spelling_and_answers_with_lineups(string spelling, string lineup, bool skills)
    {
        var api = fx.Tenant.Admin;
        var queue = await api.CreatedAsync("/api/v1/queues", new { name = "spelt " + spelling, strategy = spelling });
        Assert.Equal((lineup, skills), (queue.Str("strategy"), queue.GetProperty("skills_routing").GetBoolean()));

        // And through PATCH, from another strategy.
        var other = await api.CreatedAsync("/api/v1/queues", new { name = "patched " + spelling, strategy = "top_down" });
        var patched = await api.PatchOkAsync($"/api/v1/queues/{other.Id()}", new { strategy = spelling });
        Assert.Equal((lineup, skills), (patched.Str("strategy"), patched.GetProperty("skills_routing").GetBoolean()));
    }

    [Fact]
    public async Task An_unknown_name_or_a_contradiction_is_400_naming_the_strategy()
    {
        var api = fx.Tenant.Admin;
        await api.PostAsJsonAsync("/api/v1/queues", new { name = "bad", strategy = "fastest" }).ProblemAsync(HttpStatusCode.BadRequest, "strategy");
        await api.PostAsJsonAsync("/api/v1/queues", new { name = "bad", strategy = "SKILL_BASED_ROUTING_CYCLIC_HUNT", skills_routing = false })
            .ProblemAsync(HttpStatusCode.BadRequest, "strategy");
    }
}
