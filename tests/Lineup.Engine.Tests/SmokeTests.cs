namespace Lineup.Engine.Tests;

public class SmokeTests
{
    [Fact]
    public void Ids_format_invariant() => Assert.Equal("42", new QueueId(42).ToString());
}
