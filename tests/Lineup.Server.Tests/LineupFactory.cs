using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Lineup.Server.Tests;

/// <summary>The real server in memory, on its own SQLite data directory (deleted afterwards). The system
/// administrator's password is <see cref="AdminPassword"/>.</summary>
public sealed class LineupFactory : WebApplicationFactory<Program>
{
    public const string AdminPassword = "admin-password-1";
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "lineup-test-" + Guid.NewGuid().ToString("N"));

    /// <summary>The server's data folder (its SQLite file): a new one unless given, e.g. to run two servers on one file.</summary>
    public string DataDir
    {
        get => _dataDir;
        init => _dataDir = value;
    }

    public string? Database { get; init; }

    /// <summary>More configuration for this server (e.g. <c>Webhooks:AllowedNetworks</c>), applied last.</summary>
    public IDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("data-dir", _dataDir);
        builder.UseSetting("LINEUP_ADMIN_PASSWORD", AdminPassword);
        if (Database != null) builder.UseSetting("db", Database);
        foreach (var (key, value) in Settings) builder.UseSetting(key, value);
    }

    /// <summary>A client signed in as <paramref name="username"/> (default: the system administrator).</summary>
    public async Task<HttpClient> SignInAsync(string username = "admin", string password = AdminPassword, string? tenant = null)
    {
        var client = CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { username, password, tenant });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.GetProperty("access_token").GetString());
        return client;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
