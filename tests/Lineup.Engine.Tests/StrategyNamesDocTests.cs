namespace Lineup.Engine.Tests;

public class StrategyNamesDocTests
{
    private static readonly Dictionary<Vendor, string> VendorTitles = new()
    {
        [Vendor.FonoUC] = "FonoUC",
        [Vendor.PortSip] = "PortSIP",
        [Vendor.Kazoo] = "Kazoo",
        [Vendor.Telphin] = "Telphin",
    };

    [Fact]
    public void Engine_doc_lists_every_vendor_strategy_name_with_its_mapping()
    {
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "engine.md"));
        var rows = StrategyNames.Table.Where(r => r.Vendor != Vendor.Native).ToList();
        Assert.NotEmpty(rows);
        foreach (var row in rows)
        {
            var native = StrategyNames.NameFor(Vendor.Native, row.Strategy)!;
            var line = $"| {VendorTitles[row.Vendor]} | `{row.Name}` | `{native}` |";
            Assert.True(doc.Contains(line, StringComparison.Ordinal), $"docs/engine.md lacks the row: {line}");
        }
    }

    [Fact]
    public void Every_strategy_has_a_native_name_and_names_round_trip()
    {
        foreach (var strategy in Enum.GetValues<Strategy>())
        {
            var name = StrategyNames.NameFor(Vendor.Native, strategy);
            Assert.NotNull(name);
            Assert.True(StrategyNames.TryParse(Vendor.Native, name, out var parsed, out var skills));
            Assert.Equal((strategy, false), (parsed, skills));
        }
        foreach (var row in StrategyNames.Table)
        {
            Assert.True(StrategyNames.TryParse(row.Vendor, row.Name, out var s, out var k));
            Assert.Equal((row.Strategy, row.Skills), (s, k));
        }
        Assert.False(StrategyNames.TryParse(Vendor.PortSip, "ring_all", out _, out _));
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Lineup.slnx"))) return dir.FullName;
        throw new InvalidOperationException("repository root (Lineup.slnx) not found");
    }
}
