using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Tenancy;

/// <summary>
/// The deployment mistake: two single-node servers started on one database (one SQLite file, or one PostgreSQL).
/// The one started last serves the tenants; the other answers 503 for them, never a success it did not store.
/// </summary>
public sealed class TwoServersTests(ITestOutputHelper output)
{
    [Fact]
    public Task On_one_sqlite_file_only_the_server_started_last_writes() => RunAsync(database: null);

    [PostgresFact]
    public async Task On_one_postgres_database_only_the_server_started_last_writes()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync(output);
        await RunAsync(db.ConnectionString);
    }

    private static async Task<HttpResponseMessage> CreateQueueAsync(HttpClient client, string name) =>
        await client.PostAsJsonAsync("/api/v1/queues", new { name });

    private async Task RunAsync(string? database)
    {
        var dir = Path.Combine(Path.GetTempPath(), "lineup-two-" + Guid.NewGuid().ToString("N"));
        using var first = new LineupFactory { DataDir = dir, Database = database };
        var viaFirst = await first.SignInAsync();
        Assert.Equal(HttpStatusCode.Created, (await CreateQueueAsync(viaFirst, "before")).StatusCode);

        using var second = new LineupFactory { DataDir = dir, Database = database };
        var viaSecond = await second.SignInAsync();

        var refused = await CreateQueueAsync(viaFirst, "refused");
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        output.WriteLine($"{(int)refused.StatusCode} {problem}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains("is now served by", problem.GetProperty("detail").GetString());
        Assert.NotNull(refused.Headers.RetryAfter);

        Assert.Equal(HttpStatusCode.Created, (await CreateQueueAsync(viaSecond, "after")).StatusCode);
        var names = (await viaSecond.GetFromJsonAsync<JsonElement>("/api/v1/queues")).GetProperty("items").EnumerateArray()
            .Select(q => q.GetProperty("name").GetString()).Order().ToArray();
        Assert.Equal(new[] { "after", "before" }, names);

        // Reads through the first server stop too (it was told by its failed commit; it would also learn from its
        // lease watcher within seconds without one).
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await viaFirst.GetAsync(new Uri("/api/v1/queues", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viaSecond.GetAsync(new Uri("/api/v1/queues", UriKind.Relative))).StatusCode);
    }
}
