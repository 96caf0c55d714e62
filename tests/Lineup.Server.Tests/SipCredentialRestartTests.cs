using System.Net.Http.Json;
using Lineup.Server.Telephony;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Lineup.Server.Tests;

/// <summary>SIP credentials survive a restart: the registrar's credential source is loaded from the database at
/// start-up, on SQLite and on PostgreSQL (<c>LINEUP_TEST_PG</c>).</summary>
public sealed class SipCredentialRestartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Credentials_are_loaded_at_start_on_sqlite()
    {
        var dir = Path.Combine(Path.GetTempPath(), "lineup-sip-" + Guid.NewGuid().ToString("N"));
        try
        {
            await RestartAsync(() => new LineupFactory { Settings = { ["data-dir"] = dir } });
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [PostgresFact]
    public async Task Credentials_are_loaded_at_start_on_postgres()
    {
        await using var pg = await TestPostgres.CreateDatabaseAsync(output);
        await RestartAsync(() => new LineupFactory { Database = pg.ConnectionString });
    }

    private static async Task RestartAsync(Func<LineupFactory> create)
    {
        long agentId;
        using (var first = create())
        {
            var api = await first.SignInAsync();
            var agent = await api.PostAsJsonAsync("/api/v1/agents", new { name = "Ana", number = "1001" });
            agentId = (await agent.JsonAsync(System.Net.HttpStatusCode.Created)).Id();
            await api.PutOkAsync($"/api/v1/agents/{agentId}/sip", new { password = "phone-secret-1" });
            // A second agent whose credential is removed again leaves nothing behind.
            var other = (await api.CreatedAsync("/api/v1/agents", new { name = "Bo", number = "1002" })).Id();
            await api.PutOkAsync($"/api/v1/agents/{other}/sip", new { password = "phone-secret-2" });
            Assert.Equal(System.Net.HttpStatusCode.NoContent, (await api.DeleteAsync($"/api/v1/agents/{other}/sip")).StatusCode);
        }
        using var second = create();
        var again = await second.SignInAsync();
        var read = await again.OkAsync($"/api/v1/agents/{agentId}/sip");
        Assert.Equal("1001", read.Str("username"));
        var store = second.Services.GetRequiredService<SipCredentialStore>();
        Assert.Equal(1, store.Count);
        var credential = store.Find("default", "1001");
        Assert.NotNull(credential);
        Assert.Equal(Lineup.Sip.Registrar.SipCredential.Create("1001", "default", "phone-secret-1"), credential);
        Assert.Null(store.Find("default", "1002"));
    }
}
