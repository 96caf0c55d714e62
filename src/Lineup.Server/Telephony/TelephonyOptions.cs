using System.Net;
using System.Net.Sockets;
using Lineup.Sip.Media;
using Lineup.Sip.Transport;
using Microsoft.Extensions.Options;

namespace Lineup.Server.Telephony;

/// <summary>
/// The <c>Sip</c> configuration section: where the SIP/RTP front-end listens and how it reaches the outside. Bound by
/// <see cref="TelephonyOptionsSetup.AddTelephonyOptions"/> (the configuration binder sets the settable properties, each
/// named as its key), then resolved: addresses, endpoints and lists written as text are parsed into the read-only
/// properties the front-end uses, and a bad value stops start-up naming its key.
/// </summary>
public sealed class TelephonyOptions
{
    public const string Section = "Sip";

    // The overload settings' defaults are the stack's own: one place to change them.
    private static readonly Lineup.Sip.Stack.SipOverloadOptions s_overload = new();

    /// <summary>Off unless asked for: a SIP server on port 5060 is something an operator turns on.</summary>
    public bool Enabled { get; set; }

    /// <summary>SIP over UDP and TCP listens here: ip:port, an ip (port 5060) or host:port.</summary>
    [ConfigurationKeyName("Listen")]
    public string ListenSetting { get; set; } = "0.0.0.0:5060";

    /// <summary>The address written in SDP and Contact headers: what phones and trunks can reach. Default: the listen
    /// address, or this machine's first IPv4 address when listening on all interfaces.</summary>
    [ConfigurationKeyName("PublicAddress")]
    public string? PublicAddressSetting { get; set; }

    /// <summary>The lowest RTP port (one even port per call leg).</summary>
    public int RtpPortMin { get; set; } = 20000;

    /// <summary>The highest RTP port.</summary>
    public int RtpPortMax { get; set; } = 30000;

    /// <summary>Real-time scheduling (SCHED_RR, 1-99) for the media threads on Linux, so that hold music keeps its
    /// 20 ms pace on a busy machine; 0 (the default): ordinary threads. Needs root or CAP_SYS_NICE (else ignored).</summary>
    public int MediaRealtimePriority { get; set; }

    /// <summary>Remote agents, transfers and callbacks are sent here (host:port of a trunk or proxy).</summary>
    [ConfigurationKeyName("OutboundProxy")]
    public string? OutboundProxySetting { get; set; }

    /// <summary>The tenant of a request whose Request-URI host names no tenant (an IP address, say).</summary>
    public string DefaultTenant { get; set; } = Tenancy.TenantRegistry.DefaultTenant;

    /// <summary>Where call recordings are written. Empty (the default): <c>recordings</c> in the data directory.</summary>
    public string RecordingsPath { get; set; } = "";

    /// <summary>Where each tenant's media library (uploaded hold music and prompts, converted to 8 kHz) is kept. Empty (the
    /// default): <c>media</c> in the data directory.</summary>
    public string MediaPath { get; set; } = "";

    /// <summary>The largest sound file accepted by <c>POST /api/v1/media</c>, in bytes (16 MB: three minutes of CD-quality
    /// stereo WAV).</summary>
    public long MediaMaxBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Directory of 8 kHz WAV prompts (file name without .wav is the prompt id).</summary>
    public string PromptsPath { get; set; } = Path.Combine(AppContext.BaseDirectory, "prompts");

    /// <summary>Digest algorithms REGISTER is challenged with, comma-separated, first preferred (one WWW-Authenticate
    /// each). MD5 only by default: many phones answer only the first challenge and know only MD5, and some (baresip on
    /// libre 1.1) refuse the whole 401 when any challenge names another algorithm. <c>SHA-256,MD5</c> suits phones that
    /// know RFC 7616.</summary>
    [ConfigurationKeyName("DigestAlgorithms")]
    public string DigestAlgorithmsSetting { get; set; } = "MD5";

    /// <summary>Where "send to voicemail" transfers the caller (the box number becomes the user part); none: hang up.</summary>
    public string? VoicemailUri { get; set; }

    /// <summary>Transport to the outbound proxy: udp, tcp or tls.</summary>
    public SipTransportKind OutboundProxyTransport { get; set; } = SipTransportKind.Udp;

    /// <summary>SIP over TLS listens here when a certificate is configured (<c>Sip:Tls:Listen</c>, default port 5061).</summary>
    [ConfigurationKeyName("Tls:Listen")]
    public string TlsListenSetting { get; set; } = "0.0.0.0:5061";

    /// <summary>PEM certificate (leaf first, then any intermediates) for the TLS listener (<c>Sip:Tls:Certificate</c>).</summary>
    [ConfigurationKeyName("Tls:Certificate")]
    public string? TlsCertificate { get; set; }

    /// <summary>PEM private key of <see cref="TlsCertificate"/> (<c>Sip:Tls:Key</c>).</summary>
    [ConfigurationKeyName("Tls:Key")]
    public string? TlsKey { get; set; }

    /// <summary>PEM file of the only CA(s) trusted for outbound TLS (<c>Sip:Tls:CaFile</c>, a private CA); else the system's roots.</summary>
    [ConfigurationKeyName("Tls:CaFile")]
    public string? TlsCaFile { get; set; }

    /// <summary>SHA-256 hashes of server certificates accepted for outbound TLS whatever their chain (<c>Sip:Tls:Pins</c>, comma-separated hex).</summary>
    [ConfigurationKeyName("Tls:Pins")]
    public string? TlsPinsSetting { get; set; }

    /// <summary>SRTP for every leg (<c>Sip:Srtp</c>: off, optional or required).</summary>
    public SrtpPolicy Srtp { get; set; } = SrtpPolicy.Off;

    /// <summary>Per-queue SRTP for callers' legs, by queue extension (<c>Sip:SrtpQueues:700=required</c>).</summary>
    [ConfigurationKeyName("SrtpQueues")]
    public Dictionary<string, string> SrtpQueuesSetting { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per-agent SRTP for their phones' legs, by SIP user name (<c>Sip:SrtpAgents:1001=required</c>).</summary>
    [ConfigurationKeyName("SrtpAgents")]
    public Dictionary<string, string> SrtpAgentsSetting { get; set; } = new(StringComparer.Ordinal);

    // ---- Phone feature codes and hot desking (issue 15) ----

    /// <summary>An agent's phone dials this to log in to all its queues (<c>Sip:FeatureCodes:Login</c>); empty: off.</summary>
    [ConfigurationKeyName("FeatureCodes:Login")]
    public string FeatureCodeLogin { get; set; } = "*45";

    /// <summary>... to log out of all its queues (<c>Sip:FeatureCodes:Logout</c>).</summary>
    [ConfigurationKeyName("FeatureCodes:Logout")]
    public string FeatureCodeLogout { get; set; } = "*46";

    /// <summary>... to become Ready (<c>Sip:FeatureCodes:Ready</c>).</summary>
    [ConfigurationKeyName("FeatureCodes:Ready")]
    public string FeatureCodeReady { get; set; } = "*47";

    /// <summary>... to become Not Ready; one more digit N picks the Nth of <see cref="FeatureCodeReasons"/>
    /// (<c>Sip:FeatureCodes:NotReady</c>).</summary>
    [ConfigurationKeyName("FeatureCodes:NotReady")]
    public string FeatureCodeNotReady { get; set; } = "*48";

    /// <summary>Not Ready reasons by digit, comma-separated, the first for digit 1 (<c>Sip:FeatureCodes:Reasons</c>).</summary>
    [ConfigurationKeyName("FeatureCodes:Reasons")]
    public string FeatureCodeReasons { get; set; } = "break,lunch,meeting,training";

    /// <summary>A phone's REGISTER logs its agent in to all its queues (hot desking: the agent signs in by
    /// registering a phone with its SIP credentials).</summary>
    public bool LoginOnRegister { get; set; }

    /// <summary>Seconds after which a talking leg whose phone or trunk sends nothing at all (no RTP, no RTCP) is hung up
    /// as if it had hung up itself (<c>Sip:MediaTimeoutSeconds</c>; 0: off, the default, as in most PBXs). A phone that
    /// crashed or lost its network otherwise holds its caller, or its agent, until someone notices. A leg the agent's
    /// phone holds is not watched.</summary>
    public int MediaTimeoutSeconds { get; set; }

    // ---- Bounds and overload control ----

    /// <summary>Most live SIP transactions (<c>Sip:MaxTransactions</c>); over UDP each call keeps about two for 32 s
    /// after it ends, so this bounds the sustained call rate at about a sixty-fourth of it per second.</summary>
    public int MaxTransactions { get; set; } = 100_000;

    /// <summary>Most live INVITE dialogs (<c>Sip:MaxSessions</c>; a bridged call is two).</summary>
    public int MaxSessions { get; set; } = 20_000;

    /// <summary>New INVITEs get 503 once transactions (or dialogs) reach this fraction of their bound
    /// (<c>Sip:Overload:Fraction</c>, above 0, at most 1).</summary>
    [ConfigurationKeyName("Overload:Fraction")]
    public double OverloadFraction { get; set; } = s_overload.Fraction;

    /// <summary>New INVITEs get 503 when the INVITE just read waited this long in the UDP receive queue
    /// (<c>Sip:Overload:MaxReceiveDelayMs</c>; 0: off).</summary>
    [ConfigurationKeyName("Overload:MaxReceiveDelayMs")]
    public int OverloadMaxReceiveDelayMs { get; set; } = (int)s_overload.MaxReceiveDelay.TotalMilliseconds;

    /// <summary>The Retry-After of an overload 503, in seconds (<c>Sip:Overload:RetryAfterSeconds</c>).</summary>
    [ConfigurationKeyName("Overload:RetryAfterSeconds")]
    public int OverloadRetryAfterSeconds { get; set; } = (int)s_overload.RetryAfter.TotalSeconds;

    // What the settings resolve to (Resolve, once, before validation).

    /// <summary>Where SIP over UDP and TCP listens (<c>Sip:Listen</c>).</summary>
    public IPEndPoint Listen { get; private set; } = new(IPAddress.Any, 5060);

    /// <summary><c>Sip:PublicAddress</c>, when set.</summary>
    public IPAddress? PublicAddress { get; private set; }

    /// <summary><c>Sip:OutboundProxy</c>, when set.</summary>
    public IPEndPoint? OutboundProxy { get; private set; }

    /// <summary>The outbound proxy's host as configured: the name its TLS certificate must carry.</summary>
    public string? OutboundProxyHost { get; private set; }

    /// <summary><c>Sip:DigestAlgorithms</c>, first preferred.</summary>
    public IReadOnlyList<Lineup.Sip.Registrar.DigestAlgorithm> DigestAlgorithms { get; private set; } = [Lineup.Sip.Registrar.DigestAlgorithm.Md5];

    /// <summary>Where SIP over TLS listens (<c>Sip:Tls:Listen</c>).</summary>
    public IPEndPoint TlsListen { get; private set; } = new(IPAddress.Any, 5061);

    /// <summary><c>Sip:SrtpQueues</c>: the SRTP policy of callers' legs by queue extension.</summary>
    public IReadOnlyDictionary<string, SrtpPolicy> SrtpQueues { get; private set; } = new Dictionary<string, SrtpPolicy>();

    /// <summary><c>Sip:SrtpAgents</c>: the SRTP policy of agent phones' legs by SIP user name.</summary>
    public IReadOnlyDictionary<string, SrtpPolicy> SrtpAgents { get; private set; } = new Dictionary<string, SrtpPolicy>();

    /// <summary><c>Sip:Tls:Pins</c>, without separators.</summary>
    public IReadOnlyList<string> TlsPins { get; private set; } = [];

    /// <summary>What was wrong with the settings, each naming its key (reported by <see cref="TelephonyOptionsSetup.Validator"/>).</summary>
    internal IReadOnlyList<string> Problems { get; private set; } = [];

    /// <summary>True when SIP over TLS listens (a certificate and key are configured).</summary>
    public bool TlsEnabled => TlsCertificate is not null;

    /// <summary>Parses the settings written as text into <see cref="Listen"/>, <see cref="OutboundProxy"/> and the other
    /// read-only properties, and checks every setting; what is wrong goes to <see cref="Problems"/>.</summary>
    internal void Resolve(string dataDir)
    {
        var problems = new List<string>();
        T Parse<T>(Func<T> parse, T fallback)
        {
            try
            {
                return parse();
            }
            catch (FormatException e)
            {
                problems.Add(e.Message);
                return fallback;
            }
        }

        // An empty value (an environment variable set to nothing, say) leaves a setting at its default, as it always has.
        if (ListenSetting is { Length: > 0 } listen) Listen = Parse(() => EndPoint(listen, 5060, "Sip:Listen"), Listen);
        if (PublicAddressSetting is { Length: > 0 } pub)
            PublicAddress = IPAddress.TryParse(pub, out var a) ? a : Parse<IPAddress?>(() => throw new FormatException("Sip:PublicAddress must be an IP address."), null);
        if (RtpPortMin is <= 0 or >= 65536) problems.Add("Sip:RtpPortMin must be a port number (1-65535).");
        if (RtpPortMax is <= 0 or >= 65536) problems.Add("Sip:RtpPortMax must be a port number (1-65535).");
        if (RtpPortMax - RtpPortMin < 3) problems.Add("Sip:RtpPortMax must be at least Sip:RtpPortMin + 3.");
        if (MediaRealtimePriority is < 0 or > 99) problems.Add("Sip:MediaRealtimePriority must be 0 (off) or 1-99.");
        if (OutboundProxySetting is { Length: > 0 } proxy)
        {
            OutboundProxy = Parse<IPEndPoint?>(() => EndPoint(proxy, 5060, "Sip:OutboundProxy"), null);
            OutboundProxyHost = HostOf(proxy);
        }
        if (string.IsNullOrEmpty(DefaultTenant)) DefaultTenant = Tenancy.TenantRegistry.DefaultTenant;
        if (string.IsNullOrEmpty(PromptsPath)) PromptsPath = Path.Combine(AppContext.BaseDirectory, "prompts");
        if (string.IsNullOrEmpty(VoicemailUri)) VoicemailUri = null;
        if (string.IsNullOrEmpty(RecordingsPath)) RecordingsPath = Path.Combine(dataDir, "recordings");
        if (string.IsNullOrEmpty(MediaPath)) MediaPath = Path.Combine(dataDir, "media");
        if (MediaMaxBytes is < 1024 or > 1024L * 1024 * 1024) problems.Add("Sip:MediaMaxBytes must be between 1024 and 1073741824.");
        if (DigestAlgorithmsSetting is { Length: > 0 } algorithms)
            DigestAlgorithms = Parse(() => (IReadOnlyList<Lineup.Sip.Registrar.DigestAlgorithm>)[.. algorithms.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(Algorithm)], DigestAlgorithms);
        if (DigestAlgorithms.Count == 0) problems.Add("Sip:DigestAlgorithms must name MD5, SHA-256 or both.");
        if (!Enum.IsDefined(OutboundProxyTransport)) problems.Add("Sip:OutboundProxyTransport must be udp, tcp or tls.");
        if (TlsListenSetting is { Length: > 0 } tlsListen) TlsListen = Parse(() => EndPoint(tlsListen, 5061, "Sip:Tls:Listen"), TlsListen);
        if (string.IsNullOrEmpty(TlsCertificate)) TlsCertificate = null;
        if (string.IsNullOrEmpty(TlsKey)) TlsKey = null;
        if ((TlsCertificate is null) != (TlsKey is null)) problems.Add("Sip:Tls:Certificate and Sip:Tls:Key go together.");
        if (string.IsNullOrEmpty(TlsCaFile)) TlsCaFile = null;
        else if (!File.Exists(TlsCaFile)) problems.Add($"Sip:Tls:CaFile: {TlsCaFile} does not exist.");
        if (TlsPinsSetting is { Length: > 0 } pins)
        {
            var list = pins.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(p => p.Replace(":", "", StringComparison.Ordinal)).ToList();
            if (list.Any(p => p.Length != 64 || !p.All(char.IsAsciiHexDigit))) problems.Add("Sip:Tls:Pins must be SHA-256 certificate hashes (64 hex digits), comma-separated.");
            else TlsPins = list;
        }
        if (!Enum.IsDefined(Srtp)) problems.Add("Sip:Srtp must be off, optional or required.");
        Dictionary<string, SrtpPolicy> Policies(Dictionary<string, string> settings, string key)
        {
            var policies = new Dictionary<string, SrtpPolicy>(StringComparer.Ordinal);
            foreach (var (name, value) in settings)
            {
                if (Enum.TryParse<SrtpPolicy>(value, ignoreCase: true, out var p) && Enum.IsDefined(p) && !int.TryParse(value, out _)) policies[name] = p;
                else problems.Add($"Sip:{key}:{name} must be off, optional or required.");
            }
            return policies;
        }
        if (MaxTransactions is < 10 or > 10_000_000) problems.Add("Sip:MaxTransactions must be between 10 and 10000000.");
        if (MaxSessions is < 2 or > 1_000_000) problems.Add("Sip:MaxSessions must be between 2 and 1000000.");
        if (MediaTimeoutSeconds is < 0 or > 86_400 || MediaTimeoutSeconds is > 0 and < 2)
            problems.Add("Sip:MediaTimeoutSeconds must be 0 (off) or between 2 and 86400.");
        if (!(OverloadFraction is > 0 and <= 1)) problems.Add("Sip:Overload:Fraction must be above 0 and at most 1 (e.g. 0.9).");
        if (OverloadMaxReceiveDelayMs is < 0 or > 60_000) problems.Add("Sip:Overload:MaxReceiveDelayMs must be 0 (off) to 60000.");
        if (OverloadRetryAfterSeconds is < 1 or > 3600) problems.Add("Sip:Overload:RetryAfterSeconds must be between 1 and 3600.");
        SrtpQueues = Policies(SrtpQueuesSetting, "SrtpQueues");
        SrtpAgents = Policies(SrtpAgentsSetting, "SrtpAgents");
        Problems = problems;
    }

    /// <summary>The TLS settings of the SIP stack, or null without TLS: the listener's certificate (reloaded when its
    /// files change) and what outbound connections trust.</summary>
    public SipTlsOptions? TlsOptions()
    {
        if (!TlsEnabled && TlsCaFile is null && TlsPins.Count == 0 && OutboundProxyTransport != SipTransportKind.Tls) return null;
        PemCertificateSource? source = TlsEnabled ? new PemCertificateSource(TlsCertificate!, TlsKey!) : null;
        System.Security.Cryptography.X509Certificates.X509Certificate2Collection? roots = null;
        if (TlsCaFile is not null)
        {
            roots = [];
            roots.ImportFromPemFile(TlsCaFile);
        }
        return new SipTlsOptions { ServerCertificate = source is null ? null : source.Current, TrustedAuthorities = roots, PinnedCertificates = TlsPins };
    }

    /// <summary>The overload control the settings describe (<c>Sip:Overload:*</c>).</summary>
    public Lineup.Sip.Stack.SipOverloadOptions Overload() => new()
    {
        Fraction = OverloadFraction,
        MaxReceiveDelay = TimeSpan.FromMilliseconds(OverloadMaxReceiveDelayMs),
        RetryAfter = TimeSpan.FromSeconds(OverloadRetryAfterSeconds),
    };

    /// <summary>The SRTP policy of a caller's leg into the queue with <paramref name="extension"/>.</summary>
    public SrtpPolicy SrtpForQueue(string? extension) =>
        extension is not null && SrtpQueues.TryGetValue(extension, out var p) ? p : Srtp;

    /// <summary>The SRTP policy of the leg to the agent phone registered as <paramref name="sipUser"/>.</summary>
    public SrtpPolicy SrtpForAgent(string? sipUser) =>
        sipUser is not null && SrtpAgents.TryGetValue(sipUser, out var p) ? p : Srtp;

    private static string HostOf(string v)
    {
        if (IPEndPoint.TryParse(v, out var ep)) return ep.Address.ToString();
        var colon = v.LastIndexOf(':');
        return colon > 0 ? v[..colon] : v;
    }

    /// <summary>The address to advertise: <see cref="PublicAddress"/>, else the listen address, else a local IPv4.</summary>
    public IPAddress Advertised()
    {
        if (PublicAddress != null) return PublicAddress;
        if (!Listen.Address.Equals(IPAddress.Any)) return Listen.Address;
        foreach (var a in Dns.GetHostAddresses(Dns.GetHostName()))
            if (a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a)) return a;
        return IPAddress.Loopback;
    }

    private static Lineup.Sip.Registrar.DigestAlgorithm Algorithm(string name) => name.ToUpperInvariant() switch
    {
        "MD5" => Lineup.Sip.Registrar.DigestAlgorithm.Md5,
        "SHA-256" or "SHA256" => Lineup.Sip.Registrar.DigestAlgorithm.Sha256,
        _ => throw new FormatException($"Sip:DigestAlgorithms: {name} is not MD5 or SHA-256."),
    };

    private static int Port(string v, string key) =>
        int.TryParse(v, out var p) && p is > 0 and < 65536 ? p : throw new FormatException($"{key} must be a port number (1-65535).");

    private static IPEndPoint EndPoint(string v, int defaultPort, string key)
    {
        if (IPEndPoint.TryParse(v, out var ep) && (ep.Port != 0 || v.EndsWith(":0", StringComparison.Ordinal)))
            return ep;
        if (IPAddress.TryParse(v, out var addr)) return new IPEndPoint(addr, defaultPort);
        var colon = v.LastIndexOf(':');
        var host = colon > 0 ? v[..colon] : v;
        var port = colon > 0 ? Port(v[(colon + 1)..], key) : defaultPort;
        try
        {
            var resolved = Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
            return resolved != null ? new IPEndPoint(resolved, port) : throw new FormatException($"{key}: {host} has no IPv4 address.");
        }
        catch (SocketException)
        {
            throw new FormatException($"{key} must be host:port or ip:port; {host} does not resolve.");
        }
    }
}

/// <summary>Registers <see cref="TelephonyOptions"/>: bound from the <c>Sip</c> section, resolved, validated at start-up.</summary>
public static class TelephonyOptionsSetup
{
    public static IServiceCollection AddTelephonyOptions(this IServiceCollection services, string dataDir)
    {
        services.AddOptions<TelephonyOptions>().BindConfiguration(TelephonyOptions.Section)
            .PostConfigure(o => o.Resolve(dataDir)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TelephonyOptions>, Validator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<TelephonyOptions>>().Value);
        return services;
    }

    /// <summary>Reports what <see cref="TelephonyOptions.Resolve"/> found wrong, each problem naming its key.</summary>
    public sealed class Validator : IValidateOptions<TelephonyOptions>
    {
        public ValidateOptionsResult Validate(string? name, TelephonyOptions options) =>
            options.Problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(options.Problems);
    }
}
