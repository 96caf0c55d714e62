using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Lineup.Server.Tests.Telephony;

namespace Lineup.Server.Tests;

/// <summary>
/// The README's walkthrough ("Use it") and its dialect example ("Vendor dialects"), read from README.md and run as
/// printed with bash and curl against a fresh server started with the README's command: every curl must get a 2xx
/// (each is run with --fail-with-body under <c>set -euo pipefail</c>), and the state it leaves is what the README says.
/// Only the address and the admin password are the test's own.
/// </summary>
public sealed class ReadmeWalkthroughTests
{
    private static string Block(string readme, string heading)
    {
        var start = readme.IndexOf(heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"the README has no \"{heading}\"");
        var open = readme.IndexOf("```sh\n", start, StringComparison.Ordinal);
        var close = readme.IndexOf("\n```", open + 6, StringComparison.Ordinal);
        Assert.True(open >= 0 && close > open, $"no sh block under \"{heading}\"");
        return readme[(open + 6)..close];
    }

    [Fact]
    public async Task The_readme_walkthrough_works_as_printed()
    {
        var bash = ExternalTool.Find("bash", "bash is needed to run the README's walkthrough.");
        ExternalTool.Find("curl", "curl is needed to run the README's walkthrough (apt-get install -y curl).");
        var readme = await File.ReadAllTextAsync(Path.Combine(ServerProcess.RepositoryRoot, "README.md"));
        var walkthrough = Block(readme, "## Use it");
        var dialect = Block(readme, "### Vendor dialects");
        var media = Block(readme, "### Hold music and prompts")
            .Replace("@assets/", "@" + Path.Combine(ServerProcess.RepositoryRoot, "assets") + "/", StringComparison.Ordinal);
        var voicemail = Block(readme, "### Voicemail");
        ExternalTool.Find("sox", "sox makes the README's hold music (apt-get install -y sox; .ci/run installs it).");
        Assert.Contains("http://127.0.0.1:8080", walkthrough, StringComparison.Ordinal);
        Assert.Contains("\"password\":\"change-me\"", walkthrough, StringComparison.Ordinal);

        var dataDir = Directory.CreateTempSubdirectory("lineup-readme-").FullName;
        try
        {
            await using var server = await ServerProcess.StartAsync(dataDir);
            var script = ("set -euo pipefail\ncurl() { command curl --fail-with-body \"$@\"; }\n" + walkthrough + "\n" + dialect + "\n" + media + "\n" + voicemail + "\n")
                .Replace("http://127.0.0.1:8080", server.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal)
                .Replace("\"password\":\"change-me\"", $"\"password\":\"{ServerProcess.AdminPassword}\"", StringComparison.Ordinal);
            var (code, output) = await RunAsync(bash, script, TimeSpan.FromMinutes(2), dataDir);
            Assert.True(code == 0, $"the walkthrough stopped with {code}:\n{output}\n--- server ---\n{server.Output}");

            // What the README says each step shows.
            Assert.Contains("\"state\":\"waiting\"", output, StringComparison.Ordinal);
            Assert.Contains("\"disposition\":\"transferred\"", output, StringComparison.Ordinal); // the transfer's answer
            Assert.Contains("\"state\":\"waiting\"", output[output.IndexOf("\"disposition\":\"transferred\"", StringComparison.Ordinal)..], StringComparison.Ordinal); // to Ben
            Assert.Contains("{\"items\":[],\"next_cursor\":null}", output, StringComparison.Ordinal); // the voicemail list, empty
            Assert.Contains("\"name\":\"support\"", output[output.LastIndexOf("\"page_size\"", StringComparison.Ordinal)..], StringComparison.Ordinal); // Kazoo lists the queue
            using var api = server.CreateClient();
            var login = await api.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = ServerProcess.AdminPassword, tenant = "default" });
            var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString();
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var agents = (await api.GetFromJsonAsync<JsonElement>("/api/v1/agents")).GetProperty("items").EnumerateArray().ToList();
            var ana = agents.Single(a => a.GetProperty("name").GetString() == "Ana").GetProperty("id").GetInt64();
            var ben = agents.Single(a => a.GetProperty("name").GetString() == "Ben").GetProperty("id").GetInt64();
            var cdrs = (await api.GetFromJsonAsync<JsonElement>("/api/v1/cdrs")).GetProperty("items").EnumerateArray().ToList();
            Assert.Equal(3, cdrs.Count);
            // The call Ana transferred to Ben: one CDR, answered by Ben, both answers among its attempts.
            var toBen = cdrs[2];
            Assert.Equal(("answered", ben), (toBen.GetProperty("disposition").GetString(), toBen.GetProperty("agent_id").GetInt64()));
            Assert.Equal([ana, ben], toBen.GetProperty("attempts").EnumerateArray()
                .Where(x => x.GetProperty("outcome").GetString() == "answered").Select(x => x.GetProperty("agent_id").GetInt64()));
            var transferred = cdrs[1];
            Assert.Equal(("transferred", "+14155550123", ana), (transferred.GetProperty("disposition").GetString(),
                transferred.GetProperty("destination_target").GetString(), transferred.GetProperty("agent_id").GetInt64()));
            var cdr = cdrs[0];
            Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
            Assert.Equal(ana, cdr.GetProperty("agent_id").GetInt64());
            Assert.Equal("+14155550100", cdr.GetProperty("caller_number").GetString());
            var status = await api.GetFromJsonAsync<JsonElement>($"/api/v1/agents/{ben}/status");
            Assert.Equal(("not_ready", "BREAK"), (status.GetProperty("status").GetString(), status.GetProperty("reason").GetString()));

            // The hold-music section: two media, converted, and the queue naming them.
            var library = (await api.GetFromJsonAsync<JsonElement>("/api/v1/media")).EnumerateArray().ToList();
            Assert.Equal(["chime", "greeting"], library.Select(m => m.GetProperty("name").GetString()));
            Assert.Equal(20.0, library[0].GetProperty("duration_seconds").GetDouble(), 1);
            var queue = (await api.GetFromJsonAsync<JsonElement>("/api/v1/queues")).GetProperty("items")[0];
            Assert.Equal(("chime", "greeting", "en"), (queue.GetProperty("hold_music").GetString(), queue.GetProperty("intro_prompt").GetString(), queue.GetProperty("language").GetString()));

            // Ana's user signs in to the agent panel with what the README tells the reader to type there.
            Assert.Contains("sign in as `ana`, password\n`ana-password`, tenant `default`", readme, StringComparison.Ordinal);
            using var panel = server.CreateClient();
            var agentLogin = await panel.PostAsJsonAsync("/api/v1/auth/login", new { username = "ana", password = "ana-password", tenant = "default" });
            Assert.True(agentLogin.IsSuccessStatusCode, await agentLogin.Content.ReadAsStringAsync());
            var user = (await agentLogin.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("user");
            Assert.Equal(("agent", ana), (user.GetProperty("role").GetString(), user.GetProperty("agent_id").GetInt64()));

            // The walkthrough ends by renewing the tokens, and the Kazoo example after it ran with the renewed access token
            // (a 401 would have stopped the script).
            Assert.Contains("/auth/refresh", walkthrough, StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string bash, string script, TimeSpan limit, string workingDirectory)
    {
        var start = new ProcessStartInfo(bash)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("-s");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(script);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the walkthrough still ran after {limit.TotalSeconds} s:\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout + "\n" + await stderr);
    }
}
