using System.Text.RegularExpressions;
using Lineup.Server.Hosting;

namespace Lineup.Server.Tests;

/// <summary>
/// The server's command line as a newcomer meets it, through the README's own command (<c>dotnet run --project
/// src/Lineup.Server</c>): <c>--help</c> prints the options and settings and exits; a mistyped option or a setting
/// that nothing reads stops start-up naming it; a relative data directory is the current directory's and the start-up
/// says where; a <c>LINEUP_ADMIN_PASSWORD</c> that an existing administrator ignores is said, and
/// <c>--reset-admin-password</c> applies it. And every setting the README's configuration table documents is accepted,
/// so the table and the binder cannot drift apart.
/// </summary>
public sealed partial class StartupOptionsTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Help_prints_the_options_and_every_setting_and_exits()
    {
        var (code, stdout, stderr) = await ServerProcess.RunToExitAsync(["--help"], Limit);

        Assert.True(code == 0, $"exit {code}: {stderr}");
        foreach (var option in new[] { "--urls", "--data-dir", "--db", "--reset-admin-password", "--help", "LINEUP_ADMIN_PASSWORD" })
            Assert.Contains(option, stdout, StringComparison.Ordinal);
        // The settings table: every key the catalog accepts under Lineup's sections, with its default.
        var catalog = SettingsCatalog.From(LineupProgram.Compose([]).Services);
        Assert.True(catalog.Lineup.Count >= 20, $"only {catalog.Lineup.Count} settings");
        foreach (var s in catalog.Lineup) Assert.Contains(s.Key, stdout, StringComparison.Ordinal);
        Assert.Contains("Webhooks:MaxPerTenant", stdout, StringComparison.Ordinal);
        Assert.Contains("[default: 20]", stdout, StringComparison.Ordinal);
        Assert.Contains("Sip:Enabled", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Foo:Bar=1", "'--Foo:Bar=1'", null)]
    [InlineData("--Foo:Bar 1", "'--Foo:Bar'", null)]
    [InlineData("--data-dirr /tmp/x", "'--data-dirr'", "did you mean --data-dir?")]
    [InlineData("--Webhooks:MaxPerTennant=5", "'--Webhooks:MaxPerTennant=5'", "did you mean --Webhooks:MaxPerTenant?")]
    [InlineData("--sip:enabeld=true", "'--sip:enabeld=true'", "did you mean --Sip:Enabled?")]
    [InlineData("-urls http://127.0.0.1:9000", "'-urls'", "two dashes")]
    [InlineData("serve", "'serve'", "unexpected argument")]
    [InlineData("--db", "--db needs a value", null)]
    public async Task An_option_nothing_reads_stops_start_up_naming_it(string arguments, string named, string? hint)
    {
        var dataDir = Directory.CreateTempSubdirectory("lineup-opt-").FullName;
        try
        {
            var (code, stdout, stderr) = await ServerProcess.RunToExitAsync(["--data-dir", dataDir, .. arguments.Split(' ')], Limit);

            Assert.True(code == LineupProgram.UsageError, $"exit {code}\n{stdout}\n{stderr}");
            Assert.Contains(named, stderr, StringComparison.Ordinal);
            if (hint != null) Assert.Contains(hint, stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Now listening", stdout, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(dataDir)); // stopped before touching the data
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task A_misspelt_setting_in_the_environment_stops_start_up_too()
    {
        var dataDir = Directory.CreateTempSubdirectory("lineup-opt-").FullName;
        try
        {
            var (code, _, stderr) = await ServerProcess.RunToExitAsync(["--data-dir", dataDir], Limit,
                environment: new Dictionary<string, string> { ["Webhooks__RetentionDay"] = "3" });

            Assert.Equal(LineupProgram.UsageError, code);
            Assert.Contains("Webhooks__RetentionDay", stderr, StringComparison.Ordinal);
            Assert.Contains("did you mean Webhooks:RetentionDays?", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task A_bad_value_stops_start_up_in_one_line_naming_the_key()
    {
        var (code, stdout, stderr) = await ServerProcess.RunToExitAsync(["--data-dir", Path.GetTempPath(), "--Sip:RtpPortMin=abc"], Limit);

        Assert.Equal(LineupProgram.UsageError, code);
        Assert.Contains("Sip:RtpPortMin", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stdout, StringComparison.Ordinal); // no stack trace
    }

    [Theory]
    [InlineData("--Sip:Overload:Fraction=1.5", "Sip:Overload:Fraction must be above 0 and at most 1")]
    [InlineData("--Sip:Overload:RetryAfterSeconds=0", "Sip:Overload:RetryAfterSeconds must be between 1 and 3600")]
    [InlineData("--Sip:MaxTransactions=many", "Sip:MaxTransactions")]
    [InlineData("--Sip:MediaTimeoutSeconds=1", "Sip:MediaTimeoutSeconds must be 0 (off) or between 2 and 86400")]
    public async Task A_bad_overload_setting_stops_start_up_naming_the_key(string argument, string expected)
    {
        var (code, stdout, stderr) = await ServerProcess.RunToExitAsync(["--data-dir", Path.GetTempPath(), "--Sip:Enabled=true", argument], Limit);

        Assert.Equal(LineupProgram.UsageError, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_relative_data_dir_is_the_current_directorys_and_start_up_says_where()
    {
        var cwd = Directory.CreateTempSubdirectory("lineup-cwd-").FullName;
        try
        {
            await using (var server = await ServerProcess.StartAsync(new ServerProcess.Start { WorkingDirectory = cwd, Arguments = ["--data-dir", "mine"] }))
            {
                Assert.True(File.Exists(Path.Combine(cwd, "mine", "lineup.db")), $"no database in {cwd}/mine:\n{server.Output}");
                Assert.Contains($"Lineup keeps its data in {Path.Combine(cwd, "mine", "lineup.db")} (SQLite)", server.Output, StringComparison.Ordinal);
            }
            // And the default, ./data, is the current directory's too (not the project's).
            await using (var server = await ServerProcess.StartAsync(new ServerProcess.Start { WorkingDirectory = cwd }))
                Assert.True(File.Exists(Path.Combine(cwd, "data", "lineup.db")), $"no database in {cwd}/data:\n{server.Output}");
            Assert.False(Directory.Exists(Path.Combine(ServerProcess.RepositoryRoot, "src", "Lineup.Server", "data")), "data was written in the project");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(cwd, recursive: true);
        }
    }

    [Fact]
    public async Task An_ignored_admin_password_is_said_and_reset_admin_password_applies_it()
    {
        var dataDir = Directory.CreateTempSubdirectory("lineup-admin-").FullName;
        try
        {
            // First start without the variable: a generated password, printed once.
            await using (var first = await ServerProcess.StartAsync(new ServerProcess.Start { DataDir = dataDir, AdminPassword = null }))
                Assert.Contains("created system administrator 'admin' with password", first.Output, StringComparison.Ordinal);

            // Then the walkthrough's password: ignored, and said so in one warning that tells how to reset it.
            await using (var second = await ServerProcess.StartAsync(new ServerProcess.Start { DataDir = dataDir, AdminPassword = "change-me" }))
            {
                var warning = Assert.Single(second.Output.Split('\n'), l => l.Contains("LINEUP_ADMIN_PASSWORD is ignored", StringComparison.Ordinal));
                Assert.Contains("--reset-admin-password", warning, StringComparison.Ordinal);
                // And the README shows the command that does it.
                var readme = await File.ReadAllTextAsync(Path.Combine(ServerProcess.RepositoryRoot, "README.md"));
                Assert.Contains("`LINEUP_ADMIN_PASSWORD=change-me dotnet run --project src/Lineup.Server -- --reset-admin-password`", readme, StringComparison.Ordinal);
                Assert.Contains(dataDir, warning, StringComparison.Ordinal);
                using var api = second.CreateClient();
                Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await Login(api, "change-me")).StatusCode);
            }

            var (code, stdout, stderr) = await ServerProcess.RunToExitAsync(["--data-dir", dataDir, "--reset-admin-password"], Limit, adminPassword: "change-me");
            Assert.True(code == 0, $"exit {code}: {stdout}\n{stderr}");
            Assert.Contains("now has the password in LINEUP_ADMIN_PASSWORD", stdout, StringComparison.Ordinal);

            await using var third = await ServerProcess.StartAsync(new ServerProcess.Start { DataDir = dataDir, AdminPassword = "change-me" });
            Assert.DoesNotContain("is ignored", third.Output, StringComparison.Ordinal);
            using var client = third.CreateClient();
            Assert.Equal(System.Net.HttpStatusCode.OK, (await Login(client, "change-me")).StatusCode);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static Task<HttpResponseMessage> Login(HttpClient api, string password) =>
        api.PostAsync(new Uri("/api/v1/auth/login", UriKind.Relative), new StringContent(
            $$"""{"username":"admin","password":"{{password}}","tenant":"default"}""", System.Text.Encoding.UTF8, "application/json"));

    [GeneratedRegex(@"`(?<text>[^`]+)`")]
    private static partial Regex Code();

    /// <summary>Every setting of the README's "Configuration" table and the sentence under it, exactly as written there,
    /// passes the start-up check of the composed server.</summary>
    [Fact]
    public void Every_setting_the_readme_documents_is_accepted()
    {
        var readme = File.ReadAllText(Path.Combine(ServerProcess.RepositoryRoot, "README.md"));
        var start = readme.IndexOf("\n## Configuration\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "the README has no Configuration section");
        var end = readme.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        var section = readme[start..end];
        var builder = LineupProgram.Compose([]);
        var catalog = SettingsCatalog.From(builder.Services);

        var options = 0;
        var variables = 0;
        foreach (Match m in Code().Matches(section))
        {
            var text = m.Groups["text"].Value;
            if (text.StartsWith("--", StringComparison.Ordinal))
            {
                // "--Sip:RtpPortMin=20000 --Sip:RtpPortMax=30000", "--data-dir PATH", or a bare "--Webhooks:RetryCapSeconds".
                var args = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
                if (!args[^1].Contains('=', StringComparison.Ordinal) && args.Count % 2 == 1) args.Add("1");
                var commandLine = ServerCommandLine.Parse(args);
                Assert.True(commandLine.Error == null, $"`{text}`: {commandLine.Error}");
                Assert.True(catalog.Check(commandLine, builder.Configuration) == null, $"`{text}`: {catalog.Check(commandLine, builder.Configuration)}");
                options += commandLine.Settings.Count;
            }
            else if (EnvironmentSetting().Match(text) is { Success: true } env)
            {
                Assert.True(catalog.IsKnown(env.Groups["key"].Value.Replace("__", ":", StringComparison.Ordinal)), $"`{text}` is not a setting");
                variables++;
            }
        }
        Assert.True(options >= 15, $"only {options} options found in the README's Configuration section");
        Assert.True(variables >= 4, $"only {variables} environment variables found in the README's Configuration section");
    }

    [GeneratedRegex(@"(?<![A-Za-z0-9-])--(?<key>[A-Z][A-Za-z]*(:[A-Za-z0-9]+)+)")]
    private static partial Regex SectionOption();

    /// <summary>Every --Section:Key option written anywhere in the README or docs/ (prose, tables, examples) is one the
    /// server accepts: a documented option that stops start-up as unknown is the worst first impression.</summary>
    [Fact]
    public void Every_section_option_the_readme_and_docs_mention_is_accepted()
    {
        var catalog = SettingsCatalog.From(LineupProgram.Compose([]).Services);
        var files = Directory.GetFiles(Path.Combine(ServerProcess.RepositoryRoot, "docs"), "*.md", SearchOption.AllDirectories)
            .Append(Path.Combine(ServerProcess.RepositoryRoot, "README.md"));
        var keys = files.SelectMany(f => SectionOption().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetFileName(f), Key: m.Groups["key"].Value)))
            .Distinct().ToList();
        Assert.True(keys.Count >= 30, $"only {keys.Count} options found");
        Assert.Equal([], keys.Where(k => !catalog.IsKnown(k.Key)).Select(k => $"{k.File}: --{k.Key}").ToArray());
    }

    /// <summary>The in-memory test host passes its settings' sections too (--Dialects= --Dialects:PortSip=): an empty
    /// section sets nothing and is accepted, while an empty value of a key that is no section still stops start-up.</summary>
    [Fact]
    public void An_empty_section_is_accepted_and_an_unknown_one_is_not()
    {
        var builder = LineupProgram.Compose([]);
        var catalog = SettingsCatalog.From(builder.Services);
        string? Check(params string[] args) => catalog.Check(ServerCommandLine.Parse(args), builder.Configuration);
        Assert.Null(Check("--Dialects=", "--Dialects:PortSip=", "--Dialects:PortSip:Url=http://127.0.0.1:8887", "--Sip="));
        Assert.Contains("'--Dialect='", Check("--Dialect="), StringComparison.Ordinal);
        Assert.Contains("'--Dialects:Foo='", Check("--Dialects:Foo="), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\bSip:[A-Za-z]+(:[A-Za-z]+|:<[^>]+>|:[0-9]+)*")]
    private static partial Regex SipKey();

    /// <summary>The same for the telephony settings docs/sip.md documents (its table and its examples).</summary>
    [Fact]
    public void Every_setting_the_sip_doc_documents_is_accepted()
    {
        var doc = File.ReadAllText(Path.Combine(ServerProcess.RepositoryRoot, "docs", "sip.md"));
        var catalog = SettingsCatalog.From(LineupProgram.Compose([]).Services);
        var keys = SipKey().Matches(doc).Select(m => Regex.Replace(m.Value, "<[^>]+>", "x")).Distinct(StringComparer.Ordinal).ToList();
        Assert.True(keys.Count >= 20, $"only {keys.Count} Sip: keys in docs/sip.md");
        Assert.Equal([], keys.Where(k => !catalog.IsKnown(k)).ToArray());
    }

    [GeneratedRegex(@"^(?<key>(LINEUP_[A-Z_]+)|([A-Za-z]+__[A-Za-z_]+))(=.*)?$")]
    private static partial Regex EnvironmentSetting();
}
