using System.Text.Json;
using Xunit.Sdk;

namespace Lineup.Server.Tests.Dialects;

/// <summary>The golden-shape comparer catches each kind of difference it promises to (planted violations).</summary>
public sealed class GoldenShapesTests
{
    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private const string Golden = """{"id": 1, "name": "a", "note": null, "tags": [{"k": "x"}], "by": {"{ID}": {"n": 1}}}""";

    [Fact]
    public void A_matching_answer_passes() =>
        GoldenShapes.AssertShape(J(Golden), J("""{"id": 7, "name": "b", "note": null, "tags": [{"k": "y"}, {"k": "z"}], "by": {"12": {"n": 3}}}"""));

    [Theory]
    [InlineData("""{"id": 7, "name": "b", "note": null, "tags": [{"k": "y"}], "by": {"1": {"n": 3}}, "more": 1}""", "field(s) the document does not show: more")]
    [InlineData("""{"id": 7, "note": null, "tags": [{"k": "y"}], "by": {"1": {"n": 3}}}""", "missing field 'name'")]
    [InlineData("""{"id": 7, "name": "b", "note": "text", "tags": [{"k": "y"}], "by": {"1": {"n": 3}}}""", "the document shows null")]
    [InlineData("""{"id": 7, "name": "b", "note": null, "tags": [], "by": {"1": {"n": 3}}}""", "an empty array")]
    [InlineData("""{"id": 7, "name": "b", "note": null, "tags": [{"k": "y"}, {"k": 2}], "by": {"1": {"n": 3}}}""", "$.tags[1].k")]
    [InlineData("""{"id": 7, "name": "b", "note": null, "tags": [{"k": "y", "v": 1}], "by": {"1": {"n": 3}}}""", "$.tags[0]: field(s) the document does not show: v")]
    [InlineData("""{"id": 7, "name": "b", "note": null, "tags": [{"k": "y"}], "by": {}}""", "an empty object")]
    [InlineData("""{"id": 7.5, "name": "b", "note": null, "tags": [{"k": "y"}], "by": {"1": {"n": 3}}}""", "shows an integer")]
    [InlineData("""{"id": 7, "name": null, "note": null, "tags": [{"k": "y"}], "by": {"1": {"n": 3}}}""", "$.name: expected String")]
    public void Each_difference_fails(string actual, string message)
    {
        var e = Assert.ThrowsAny<XunitException>(() => GoldenShapes.AssertShape(J(Golden), J(actual)));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rules_admit_only_what_they_name()
    {
        var actual = J("""{"id": 7, "name": null, "note": "text", "tags": [{"k": "y"}], "by": {"1": {"n": 3}}, "more": 1}""");
        GoldenShapes.AssertShape(J(Golden), actual, new ShapeRules
        {
            Nullable = ["name"],
            NullTypes = new Dictionary<string, JsonValueKind> { ["note"] = JsonValueKind.String },
            Extras = ["more"],
        });
        var e = Assert.ThrowsAny<XunitException>(() => GoldenShapes.AssertShape(J(Golden), actual, new ShapeRules
        {
            Nullable = ["name"],
            NullTypes = new Dictionary<string, JsonValueKind> { ["note"] = JsonValueKind.Number },
            Extras = ["more"],
        }));
        Assert.Contains("the seed's tables give Number", e.Message, StringComparison.Ordinal);
    }
}
