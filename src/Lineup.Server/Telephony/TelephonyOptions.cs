using System.Net;
using System.Net.Sockets;
using Lineup.Sip.Media;
using Lineup.Sip.Transport;

namespace Lineup.Server.Telephony;

/// <summary>The <c>Sip</c> configuration section: where the SIP/RTP front-end listens and how it reaches the outside.</summary>
public sealed record TelephonyOptions
{
    public const string Section = "Sip";

    /// <summary>Off unless asked for: a SIP server on port 5060 is something an operator turns on.</summary>
    public bool Enabled { get; init; }

    /// <summary>SIP over UDP and TCP listens here (default 0.0.0.0:5060).</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Any, 5060);

    /// <summary>The address written in SDP and Contact headers: what phones and trunks can reach. Default: the listen
    /// address, or this machine's first IPv4 address when listening on all interfaces.</summary>
    public IPAddress? PublicAddress { get; init; }

    public int RtpPortMin { get; init; } = 20000;
    public int RtpPortMax { get; init; } = 30000;

    /// <summary>Remote agents, transfers and callbacks are sent here (host:port of a trunk or proxy).</summary>
    public IPEndPoint? OutboundProxy { get; init; }

    /// <summary>The tenant of a request whose Request-URI host names no tenant (an IP address, say).</summary>
    public string DefaultTenant { get; init; } = Tenancy.TenantRegistry.DefaultTenant;

    public string RecordingsPath { get; init; } = "data/recordings";

    /// <summary>Directory of 8 kHz WAV prompts (file name without .wav is the prompt id).</summary>
    public string PromptsPath { get; init; } = Path.Combine(AppContext.BaseDirectory, "prompts");

    /// <summary>Digest algorithms REGISTER is challenged with, first preferred (one WWW-Authenticate each). MD5 only by
    /// default: many phones answer only the first challenge and know only MD5, and some (baresip on libre 1.1) refuse
    /// the whole 401 when any challenge names another algorithm. <c>SHA-256,MD5</c> suits phones that know RFC 7616.</summary>
    public IReadOnlyList<Lineup.Sip.Registrar.DigestAlgorithm> DigestAlgorithms { get; init; } = [Lineup.Sip.Registrar.DigestAlgorithm.Md5];

    /// <summary>Where "send to voicemail" transfers the caller (the box number becomes the user part); null: hang up.</summary>
    public string? VoicemailUri { get; init; }

    /// <summary>Transport to the outbound proxy (<c>Sip:OutboundProxyTransport</c>: udp, tcp or tls).</summary>
    public SipTransportKind OutboundProxyTransport { get; init; } = SipTransportKind.Udp;

    /// <summary>The outbound proxy's host as configured: the name its TLS certificate must carry.</summary>
    public string? OutboundProxyHost { get; init; }

    /// <summary>SIP over TLS listens here when a certificate is configured (<c>Sip:Tls:Listen</c>, default port 5061).</summary>
    [ConfigurationKeyName("Tls:Listen")]
    public IPEndPoint TlsListen { get; init; } = new(IPAddress.Any, 5061);

    /// <summary>PEM certificate (leaf first, then any intermediates) for the TLS listener (<c>Sip:Tls:Certificate</c>).</summary>
    [ConfigurationKeyName("Tls:Certificate")]
    public string? TlsCertificate { get; init; }

    /// <summary>PEM private key of <see cref="TlsCertificate"/> (<c>Sip:Tls:Key</c>).</summary>
    [ConfigurationKeyName("Tls:Key")]
    public string? TlsKey { get; init; }

    /// <summary>PEM file of the only CA(s) trusted for outbound TLS (<c>Sip:Tls:CaFile</c>, a private CA); else the system's roots.</summary>
    [ConfigurationKeyName("Tls:CaFile")]
    public string? TlsCaFile { get; init; }

    /// <summary>SHA-256 hashes of server certificates accepted for outbound TLS whatever their chain (<c>Sip:Tls:Pins</c>, comma-separated hex).</summary>
    [ConfigurationKeyName("Tls:Pins")]
    public IReadOnlyList<string> TlsPins { get; init; } = [];

    /// <summary>SRTP for every leg (<c>Sip:Srtp</c>: off, optional or required).</summary>
    public SrtpPolicy Srtp { get; init; } = SrtpPolicy.Off;

    /// <summary>Per-queue SRTP for callers' legs, by queue extension (<c>Sip:SrtpQueues:700=required</c>).</summary>
    public IReadOnlyDictionary<string, SrtpPolicy> SrtpQueues { get; init; } = new Dictionary<string, SrtpPolicy>();

    /// <summary>Per-agent SRTP for their phones' legs, by SIP user name (<c>Sip:SrtpAgents:1001=required</c>).</summary>
    public IReadOnlyDictionary<string, SrtpPolicy> SrtpAgents { get; init; } = new Dictionary<string, SrtpPolicy>();

    /// <summary>True when SIP over TLS listens (a certificate and key are configured).</summary>
    public bool TlsEnabled => TlsCertificate is not null;

    /// <summary>Reads the section; throws <see cref="FormatException"/> naming the key that is wrong, so a bad
    /// configuration stops the server at start-up instead of failing the first call.</summary>
    public static TelephonyOptions FromConfiguration(IConfiguration config, string dataDir)
    {
        var s = config.GetSection(Section);
        var o = new TelephonyOptions { RecordingsPath = Path.Combine(dataDir, "recordings") };
        if (s["Enabled"] is { } enabled) o = o with { Enabled = Bool(enabled, "Sip:Enabled") };
        if (s["Listen"] is { Length: > 0 } listen) o = o with { Listen = EndPoint(listen, 5060, "Sip:Listen") };
        if (s["PublicAddress"] is { Length: > 0 } pub)
            o = o with { PublicAddress = IPAddress.TryParse(pub, out var a) ? a : throw new FormatException("Sip:PublicAddress must be an IP address.") };
        if (s["RtpPortMin"] is { } min) o = o with { RtpPortMin = Port(min, "Sip:RtpPortMin") };
        if (s["RtpPortMax"] is { } max) o = o with { RtpPortMax = Port(max, "Sip:RtpPortMax") };
        if (o.RtpPortMax - o.RtpPortMin < 3) throw new FormatException("Sip:RtpPortMax must be at least Sip:RtpPortMin + 3.");
        if (s["OutboundProxy"] is { Length: > 0 } proxy) o = o with { OutboundProxy = EndPoint(proxy, 5060, "Sip:OutboundProxy") };
        if (s["DefaultTenant"] is { Length: > 0 } tenant) o = o with { DefaultTenant = tenant };
        if (s["RecordingsPath"] is { Length: > 0 } rec) o = o with { RecordingsPath = rec };
        if (s["PromptsPath"] is { Length: > 0 } prompts) o = o with { PromptsPath = prompts };
        if (s["DigestAlgorithms"] is { Length: > 0 } algs) o = o with { DigestAlgorithms = [.. algs.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(Algorithm)] };
        if (s["VoicemailUri"] is { Length: > 0 } vm) o = o with { VoicemailUri = vm };
        if (s["OutboundProxyTransport"] is { Length: > 0 } pt) o = o with { OutboundProxyTransport = Transport(pt) };
        if (s["OutboundProxy"] is { Length: > 0 } proxyHost) o = o with { OutboundProxyHost = HostOf(proxyHost) };
        var tls = s.GetSection("Tls");
        if (tls["Listen"] is { Length: > 0 } tlsListen) o = o with { TlsListen = EndPoint(tlsListen, 5061, "Sip:Tls:Listen") };
        if (tls["Certificate"] is { Length: > 0 } cert) o = o with { TlsCertificate = cert };
        if (tls["Key"] is { Length: > 0 } key) o = o with { TlsKey = key };
        if ((o.TlsCertificate is null) != (o.TlsKey is null)) throw new FormatException("Sip:Tls:Certificate and Sip:Tls:Key go together.");
        if (tls["CaFile"] is { Length: > 0 } ca) o = o with { TlsCaFile = File.Exists(ca) ? ca : throw new FormatException($"Sip:Tls:CaFile: {ca} does not exist.") };
        if (tls["Pins"] is { Length: > 0 } pins)
        {
            var list = pins.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(p => p.Replace(":", "", StringComparison.Ordinal)).ToList();
            if (list.Any(p => p.Length != 64 || !p.All(char.IsAsciiHexDigit))) throw new FormatException("Sip:Tls:Pins must be SHA-256 certificate hashes (64 hex digits), comma-separated.");
            o = o with { TlsPins = list };
        }
        if (s["Srtp"] is { Length: > 0 } srtp) o = o with { Srtp = Policy(srtp, "Sip:Srtp") };
        o = o with
        {
            SrtpQueues = s.GetSection("SrtpQueues").GetChildren().ToDictionary(c => c.Key, c => Policy(c.Value ?? "", "Sip:SrtpQueues:" + c.Key), StringComparer.Ordinal),
            SrtpAgents = s.GetSection("SrtpAgents").GetChildren().ToDictionary(c => c.Key, c => Policy(c.Value ?? "", "Sip:SrtpAgents:" + c.Key), StringComparer.Ordinal),
        };
        return o;
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

    /// <summary>The SRTP policy of a caller's leg into the queue with <paramref name="extension"/>.</summary>
    public SrtpPolicy SrtpForQueue(string? extension) =>
        extension is not null && SrtpQueues.TryGetValue(extension, out var p) ? p : Srtp;

    /// <summary>The SRTP policy of the leg to the agent phone registered as <paramref name="sipUser"/>.</summary>
    public SrtpPolicy SrtpForAgent(string? sipUser) =>
        sipUser is not null && SrtpAgents.TryGetValue(sipUser, out var p) ? p : Srtp;

    private static SrtpPolicy Policy(string v, string key) => v.ToLowerInvariant() switch
    {
        "off" => SrtpPolicy.Off,
        "optional" => SrtpPolicy.Optional,
        "required" => SrtpPolicy.Required,
        _ => throw new FormatException($"{key} must be off, optional or required."),
    };

    private static SipTransportKind Transport(string v) => v.ToLowerInvariant() switch
    {
        "udp" => SipTransportKind.Udp,
        "tcp" => SipTransportKind.Tcp,
        "tls" => SipTransportKind.Tls,
        _ => throw new FormatException("Sip:OutboundProxyTransport must be udp, tcp or tls."),
    };

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

    private static bool Bool(string v, string key) => bool.TryParse(v, out var b) ? b : throw new FormatException($"{key} must be true or false.");

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
