using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Xml.Linq;
using Lineup.Server.Api.Dialects;
using Microsoft.Extensions.Options;

namespace Lineup.Server.Hosting;

/// <summary>One setting Lineup reads: its configuration key, its default and what it does. What it does is read from
/// the doc comments only when asked (--help): the start-up check needs the keys alone.</summary>
public sealed record Setting(string Key, string Default, Lazy<string> About, bool AnySubkey = false)
{
    public Setting(string key, string @default, string description, bool anySubkey = false)
        : this(key, @default, new Lazy<string>(description), anySubkey)
    {
    }

    public string Description => About.Value;
}

/// <summary>
/// Every configuration key the server accepts, derived from what it actually reads rather than kept by hand:
/// <list type="bullet">
/// <item>the options classes registered in the service collection (bound with <c>AddOptions&lt;T&gt;().BindConfiguration</c>,
/// or built from the configuration and registered as an instance) that name their section in a <c>Section</c>
/// constant: each settable property is a key (its name, or its <see cref="ConfigurationKeyNameAttribute"/>), its initial
/// value the default and its doc comment the description;</item>
/// <item>the keys read directly by the code that reads them (each dialect's
/// <see cref="Dialect.UrlKey"/>) and Lineup's own top-level options;</item>
/// <item>the framework's: the host's and the web host's keys (<see cref="HostDefaults"/>, <see cref="WebHostDefaults"/>)
/// and the sections it binds (Kestrel, Logging, AllowedHosts).</item>
/// </list>
/// A key under one of Lineup's sections, or any key on the command line, that is none of these stops start-up
/// (<see cref="Check"/>), naming it and the nearest known key.
/// </summary>
public sealed class SettingsCatalog
{
    /// <summary>Lineup's own top-level options.</summary>
    public static readonly IReadOnlyList<Setting> TopLevel =
    [
        new(WebHostDefaults.ServerUrlsKey, "http://127.0.0.1:8080", "where HTTP listens (several: separated by ';')"),
        new(LineupComposition.DataDirKey, "./data",
            $"the SQLite data directory, relative to the current directory (or {LineupComposition.DataDirVariable})"),
        new(LineupComposition.DatabaseKey, "(none: SQLite)",
            $"a PostgreSQL connection string \"Host=...;Username=...;Password=...;Database=...\" (or {LineupComposition.DatabaseVariable})"),
    ];

    /// <summary>Lineup's environment variables (read through the configuration, so also accepted as options).</summary>
    public static readonly IReadOnlyList<Setting> Variables =
    [
        new(LineupComposition.AdminPasswordVariable, "(generated, printed once)",
            "the system administrator's password when the data is new; with --reset-admin-password, the new one"),
        new(LineupComposition.DataDirVariable, "./data", "as --data-dir"),
        new(LineupComposition.DatabaseVariable, "(none: SQLite)", "as --db"),
    ];

    /// <summary>Sections the framework binds, whose keys are the framework's business.</summary>
    private static readonly string[] s_frameworkSections = ["Kestrel", "Logging", "AllowedHosts", "https_port"];

    private readonly Dictionary<string, Setting> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _openPrefixes = [];

    private SettingsCatalog(IReadOnlyList<Setting> lineup, IReadOnlyList<string> framework)
    {
        Lineup = lineup;
        Sections = [.. lineup.Select(s => s.Key.Split(':')[0]).Distinct(StringComparer.OrdinalIgnoreCase)];
        foreach (var s in TopLevel.Concat(Variables).Concat(lineup))
        {
            _exact[s.Key] = s;
            if (s.AnySubkey) _openPrefixes.Add(s.Key + ":");
        }
        foreach (var key in framework) _exact.TryAdd(key, new Setting(key, "", "the framework's"));
        foreach (var section in s_frameworkSections)
        {
            _exact.TryAdd(section, new Setting(section, "", "the framework's"));
            _openPrefixes.Add(section + ":");
        }
    }

    /// <summary>The settings of Lineup's sections (Webhooks:..., Sip:..., Dialects:...), in the order found.</summary>
    public IReadOnlyList<Setting> Lineup { get; }

    /// <summary>The first segments of <see cref="Lineup"/>'s keys: any key under these, from any source, is checked.</summary>
    public IReadOnlyList<string> Sections { get; }

    /// <summary>Whether <paramref name="key"/> is a section of known keys (Sip, or a dialect's Dialects:&lt;Name&gt;), not a key itself.</summary>
    private bool IsSection(string key) =>
        _exact.Keys.Concat(_openPrefixes).Any(k => k.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase));

    public bool IsKnown(string key) =>
        _exact.ContainsKey(key) || _openPrefixes.Exists(p => key.StartsWith(p, StringComparison.OrdinalIgnoreCase));

    /// <summary>The catalog of the server composed in <paramref name="services"/>.</summary>
    public static SettingsCatalog From(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var lineup = new List<Setting>();
        foreach (var type in BoundOptionsTypes(services))
        {
            var section = (string)type.GetField("Section", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
            lineup.AddRange(Properties(type, section, Instance(type)));
        }
        foreach (var d in Dialect.All)
            lineup.Add(new Setting(Dialect.UrlKey(d), "(main port only)", $"also serve the {d.Name} dialect on this URL"));
        var framework = new[] { typeof(HostDefaults), typeof(WebHostDefaults) }
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(f => f.FieldType == typeof(string))
            .Select(f => (string)f.GetValue(null)!)
            .ToList();
        return new SettingsCatalog(lineup, framework);
    }

    /// <summary>
    /// What stops start-up, or null: a command-line setting that is no known key, or a key under one of Lineup's
    /// sections, from any configuration source (environment, appsettings.json), that no option binds.
    /// </summary>
    public string? Check(ServerCommandLine commandLine, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        ArgumentNullException.ThrowIfNull(configuration);
        foreach (var (key, value, argument) in commandLine.Settings)
        {
            // An empty section (--Dialects=) sets nothing; the test host passes the sections of its settings so.
            if (value.Length == 0 && IsSection(key)) continue;
            if (!IsKnown(key))
                return $"unknown option '{argument}'{Suggestion(key, "--")}; see --help for the options and settings";
        }
        foreach (var section in Sections)
        {
            foreach (var (key, value) in configuration.GetSection(section).AsEnumerable())
            {
                if (value == null || IsKnown(key) || (value.Length == 0 && IsSection(key))) continue;
                return $"unknown setting '{key}'{Suggestion(key, "")} (from the command line, the environment as " +
                       $"{key.Replace(":", "__", StringComparison.Ordinal)} or appsettings.json); see --help for the settings";
            }
        }
        return null;
    }

    /// <summary>" (did you mean --data-dir?)" for the known key nearest to <paramref name="key"/>, when one is near.</summary>
    private string Suggestion(string key, string prefix)
    {
        var best = _exact.Keys.Select(k => (Key: k, Distance: Distance(key.ToUpperInvariant(), k.ToUpperInvariant())))
            .OrderBy(x => x.Distance).ThenBy(x => x.Key, StringComparer.Ordinal).FirstOrDefault();
        return best.Key != null && best.Distance <= Math.Max(2, key.Length / 4) ? $" (did you mean {prefix}{_exact[best.Key].Key}?)" : "";
    }

    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    /// <summary>Lineup's options types in the service collection: those configured through the options pattern
    /// (IConfigureOptions&lt;T&gt; and friends) and those registered as built instances, that declare a <c>Section</c>.</summary>
    private static IEnumerable<Type> BoundOptionsTypes(IServiceCollection services)
    {
        var seen = new HashSet<Type>();
        foreach (var d in services)
        {
            var candidate = d.ServiceType.IsGenericType && d.ServiceType.Namespace == typeof(IConfigureOptions<>).Namespace
                ? d.ServiceType.GetGenericArguments()[0]
                : d.ServiceType;
            if (candidate.Assembly != typeof(SettingsCatalog).Assembly) continue;
            if (candidate.GetField("Section", BindingFlags.Public | BindingFlags.Static) is not { IsLiteral: true } field || field.FieldType != typeof(string))
                continue;
            if (seen.Add(candidate)) yield return candidate;
        }
    }

    private static object? Instance(Type type) =>
        type.GetConstructor(Type.EmptyTypes) is { } ctor ? ctor.Invoke(null) : null;

    private static IEnumerable<Setting> Properties(Type type, string prefix, object? instance)
    {
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.SetMethod is not { IsPublic: true } || p.GetIndexParameters().Length > 0) continue;
            // The binder's own renaming (ConfigurationKeyName, which may also name a nested key such as "Tls:Listen").
            var key = $"{prefix}:{p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? p.Name}";
            var value = instance == null ? null : p.GetValue(instance);
            var kind = KindOf(p.PropertyType);
            if (kind == Kind.Nested)
            {
                foreach (var s in Properties(p.PropertyType, key, value ?? Instance(p.PropertyType))) yield return s;
                continue;
            }
            yield return new Setting(key, Format(value), new Lazy<string>(() => FirstSentence(Documentation.Summary(p))), AnySubkey: kind == Kind.Collection);
        }
    }

    private enum Kind
    {
        Value,
        Collection,
        Nested,
    }

    private static Kind KindOf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(Uri) || type == typeof(IPAddress) || type == typeof(IPEndPoint))
            return Kind.Value;
        if (typeof(IEnumerable).IsAssignableFrom(type)) return Kind.Collection;
        if (TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string))) return Kind.Value;
        return type.Assembly == typeof(SettingsCatalog).Assembly && type.IsClass ? Kind.Nested : Kind.Value;
    }

    private static string FirstSentence(string text) =>
        text.IndexOf(". ", StringComparison.Ordinal) is var end and > 0 ? text[..end] : text.TrimEnd('.');

    private static string Format(object? value) => value switch
    {
        null => "(none)",
        bool b => b ? "true" : "false",
        string s => s,
        IEnumerable e => string.Join(',', e.Cast<object?>().Select(Format)),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The summaries of the server's doc comments (the XML documentation file built beside the assembly).</summary>
    private static class Documentation
    {
        private static readonly Dictionary<string, string> s_summaries = Load();

        public static string Summary(PropertyInfo p) =>
            s_summaries.GetValueOrDefault($"P:{p.DeclaringType!.FullName!.Replace('+', '.')}.{p.Name}", "");

        private static Dictionary<string, string> Load()
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            var path = Path.ChangeExtension(typeof(SettingsCatalog).Assembly.Location, ".xml");
            if (string.IsNullOrEmpty(path) || !File.Exists(path)) return result;
            foreach (var member in XDocument.Load(path).Descendants("member"))
            {
                if (member.Attribute("name")?.Value is not { } name || member.Element("summary") is not { } summary) continue;
                var text = string.Concat(summary.Nodes().Select(n => n is XElement e ? e.Attribute("cref")?.Value.Split('.')[^1] ?? e.Value : (n as XText)?.Value));
                result[name] = string.Join(' ', text.Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries));
            }
            return result;
        }
    }
}
