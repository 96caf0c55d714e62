using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace Lineup.Server.Tests;

/// <summary>
/// The server's layers, read from its sources (docs/design/server.md, "Layers"): the layers beside and below the
/// application (Tenancy, Events, Storage, Telephony, Records, Application) never reference the HTTP layer; endpoints
/// and dialects reach storage only through the application layer; no vendor is named outside <c>Api/Dialects</c>. The scanner is
/// tested on planted violations, so a scan that finds nothing cannot pass by accident.
/// </summary>
public sealed partial class ArchitectureTests
{
    private static readonly string[] s_belowApi = ["Tenancy", "Events", "Storage", "Telephony", "Records", "Application"];

    [GeneratedRegex(@"\bLineup\s*\.\s*Server\s*\.\s*Api\b|(?<![\w.])Api\s*\.\s*[A-Z]")]
    private static partial Regex ApiReference();

    [GeneratedRegex(@"\bLineup\s*\.\s*Server\s*\.\s*Storage\b|(?<![\w.])Storage\s*\.\s*[A-Z]")]
    private static partial Regex StorageReference();

    [GeneratedRegex(@"\bLineup\s*\.\s*Server\s*\.\s*Application\b")]
    private static partial Regex ApplicationReference();

    /// <summary>The in-process tenant host by name (its default tenant's name aside): what only Tenancy and the
    /// composition may know, so that the cluster's gateway can take its place.</summary>
    [GeneratedRegex(@"\bTenantHost\b|\bTenantRegistry\b(?!\s*\.\s*DefaultTenant\b)")]
    private static partial Regex TenantHostReference();

    [GeneratedRegex(@"\bfono\s*uc|\bport\s*sip|kazoo|qubicle|telphin", RegexOptions.IgnoreCase)]
    private static partial Regex VendorName();

    [Fact]
    public void Every_log_message_has_its_own_event_id()
    {
        // An operator filters and alerts on event ids: two messages sharing one would be mistaken for each other.
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        var messages = new[] { typeof(Lineup.Server.Telephony.SipFrontEnd).Assembly, typeof(Lineup.Sip.Stack.SipStack).Assembly }
            .SelectMany(a => a.GetTypes()).SelectMany(t => t.GetMethods(all))
            .Select(m => (Method: $"{m.DeclaringType!.Name}.{m.Name}", Attribute: m.GetCustomAttribute<Microsoft.Extensions.Logging.LoggerMessageAttribute>()))
            .Where(m => m.Attribute != null).ToList();
        Assert.True(messages.Count > 50, $"only {messages.Count} log messages found: the scan is broken");
        Assert.All(messages, m => Assert.True(m.Attribute!.EventId > 0, $"{m.Method} has no event id"));
        var shared = messages.GroupBy(m => m.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}").ToList();
        Assert.True(shared.Count == 0, "event ids used twice: " + string.Join("; ", shared));
    }

    [Fact]
    public void Layers_below_the_api_never_reference_it()
    {
        var files = s_belowApi.SelectMany(d => Sources(d)).ToList();
        Assert.True(files.Count >= 30, $"found only {files.Count} files below the API");
        foreach (var dir in s_belowApi) Assert.NotEmpty(Sources(dir));
        Assert.Empty(Violations(files, ApiReference()));
    }

    [Fact]
    public void Endpoints_and_dialects_reach_storage_only_through_the_application_layer()
    {
        var files = Sources(Path.Combine("Api", "Dialects")).ToList();
        Assert.True(files.Count >= 15, $"found only {files.Count} dialect files");
        var all = Sources("Api").ToList();
        Assert.True(all.Count >= files.Count + 15, $"found only {all.Count - files.Count} native API files");
        // Native endpoints too: an endpoint that reads a storage row answers with storage's shape.
        Assert.Empty(Violations(all, StorageReference()));
        // Each vendor's folder uses the application layer's services.
        foreach (var vendor in Directory.GetDirectories(Path.Combine(ServerDirectory(), "Api", "Dialects")))
            Assert.Contains(Directory.GetFiles(vendor, "*.cs"), f => ApplicationReference().IsMatch(Code(File.ReadAllText(f))));
    }

    [Fact]
    public void Endpoints_services_and_telephony_reach_tenants_only_through_the_gateway()
    {
        var files = new[] { "Api", "Application", "Telephony", "Events" }.SelectMany(d => Sources(d)).ToList();
        Assert.True(files.Count >= 40, $"found only {files.Count} files");
        Assert.Empty(Violations(files, TenantHostReference()));
    }

    [Theory]
    [InlineData("TenantRegistry tenants,")]
    [InlineData("internal TenantHost? ResolveTenant(SipMessage request)")]
    [InlineData("var t = (Tenancy.TenantHost)tenant;")]
    public void The_scan_catches_a_planted_tenant_host_reference(string line) =>
        Assert.NotEmpty(Violations("namespace Lineup.Server.Telephony;\n" + line + "\n", TenantHostReference()));

    [Fact]
    public void The_default_tenants_name_may_be_used_anywhere() =>
        Assert.Empty(Violations("namespace X;\nvar name = TenantRegistry.DefaultTenant;\n", TenantHostReference()));

    [Fact]
    public void No_vendor_is_named_outside_the_dialects()
    {
        var dialects = Path.Combine(ServerDirectory(), "Api", "Dialects") + Path.DirectorySeparatorChar;
        var files = Directory.GetFiles(ServerDirectory(), "*.cs", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(EngineDirectory(), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.StartsWith(dialects, StringComparison.Ordinal) && !IsBuildOutput(f)).ToList();
        Assert.True(files.Count >= 60, $"found only {files.Count} files");
        Assert.Empty(Violations(files, VendorName()));
        // Nor in the shared migrations: a dialect's tables come with its own.
        var migrations = Directory.GetFiles(Path.Combine(ServerDirectory(), "Storage", "Migrations"), "*.sql", SearchOption.AllDirectories);
        Assert.NotEmpty(migrations);
        Assert.DoesNotContain(migrations, m => VendorName().IsMatch(Path.GetFileName(m)) || VendorName().IsMatch(File.ReadAllText(m)));
    }

    [Theory]
    [InlineData("using Lineup.Server.Api;")]
    [InlineData("var x = Api.Dto.Time(0);")]
    [InlineData("global::Lineup.Server.Api.Json.Options")]
    public void The_scan_catches_a_planted_api_reference(string line) =>
        Assert.NotEmpty(Violations("namespace Lineup.Server.Tenancy;\n" + line + "\n", ApiReference()));

    [Theory]
    [InlineData("using Lineup.Server.Storage;")]
    [InlineData("Storage.AccountStore store = null!;")]
    public void The_scan_catches_a_planted_storage_reference(string line) =>
        Assert.NotEmpty(Violations("namespace Lineup.Server.Api.Dialects.X;\n" + line + "\n", StorageReference()));

    [Theory]
    [InlineData("var source = \"telphin\";")]
    [InlineData("if (hook.Source == Dialects.PortSip.Key) { }")]
    [InlineData("headers.TryGetValue(KazooHeader, out _);")]
    [InlineData("var fonoUc = 1;")]
    public void The_scan_catches_a_planted_vendor_name(string line) =>
        Assert.NotEmpty(Violations("namespace Lineup.Server.Events;\n" + line + "\n", VendorName()));

    [Theory]
    [InlineData("/// <summary>As PortSIP's CYCLIC_HUNT.</summary>")]
    [InlineData("// Telphin's shape, and Api.Dto: comments do not count")]
    [InlineData("var apiKey = MyApi.Value; var storage = new StorageOptions();")]
    public void Comments_and_lookalikes_are_not_flagged(string line)
    {
        var source = "namespace X;\n" + line + "\n";
        Assert.Empty(Violations(source, VendorName()).Concat(Violations(source, ApiReference())).Concat(Violations(source, StorageReference())));
    }

    private static List<string> Violations(IEnumerable<string> files, Regex pattern) =>
        [.. files.SelectMany(f => Violations(File.ReadAllText(f), pattern).Select(v => $"{Path.GetRelativePath(ServerDirectory(), f)}:{v}"))];

    private static List<string> Violations(string source, Regex pattern)
    {
        var lines = Code(source).Split('\n');
        var found = new List<string>();
        for (var i = 0; i < lines.Length; i++)
            if (pattern.IsMatch(lines[i])) found.Add($"{i + 1}: {lines[i].Trim()}");
        return found;
    }

    /// <summary>The source without its comments (line breaks kept); string literals stay, since they are code.</summary>
    private static string Code(string source)
    {
        var sb = new StringBuilder(source.Length);
        for (var i = 0; i < source.Length; i++)
        {
            var ch = source[i];
            var next = i + 1 < source.Length ? source[i + 1] : '\0';
            if (ch == '/' && next == '/')
            {
                while (i < source.Length && source[i] != '\n') i++;
                if (i < source.Length) sb.Append('\n');
            }
            else if (ch == '/' && next == '*')
            {
                for (i += 2; i < source.Length && !(source[i] == '*' && i + 1 < source.Length && source[i + 1] == '/'); i++)
                    if (source[i] == '\n') sb.Append('\n');
                i++;
            }
            else if (ch == '"')
            {
                sb.Append(ch);
                for (i++; i < source.Length && source[i] != '"' && source[i] != '\n'; i++)
                {
                    if (source[i] == '\\' && i + 1 < source.Length) sb.Append(source[i++]);
                    sb.Append(source[i]);
                }
                if (i < source.Length) sb.Append(source[i]);
            }
            else sb.Append(ch);
        }
        return sb.ToString();
    }

    private static IEnumerable<string> Sources(string folder) =>
        Directory.GetFiles(Path.Combine(ServerDirectory(), folder), "*.cs", SearchOption.AllDirectories).Where(f => !IsBuildOutput(f));

    private static bool IsBuildOutput(string path) =>
        path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        || path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal);

    private static string ServerDirectory() => Path.Combine(ServerProcess.RepositoryRoot, "src", "Lineup.Server");

    private static string EngineDirectory() => Path.Combine(ServerProcess.RepositoryRoot, "src", "Lineup.Engine");
}
