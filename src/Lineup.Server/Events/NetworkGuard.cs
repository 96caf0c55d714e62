using System.Net;
using System.Net.Sockets;

namespace Lineup.Server.Events;

/// <summary>
/// Keeps webhooks away from the server's own network (SSRF): loopback, private, link-local, unique-local,
/// carrier-grade NAT, multicast and unspecified addresses are refused unless the operator lists them in
/// <c>Webhooks:AllowedNetworks</c>. Checked when a subscription is saved and again for every address a host name
/// resolves to when the relay connects, so a DNS answer that changes later cannot get past it.
/// </summary>
public sealed class NetworkGuard
{
    private static readonly IPNetwork[] s_internal =
    [
        IPNetwork.Parse("0.0.0.0/8"), IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("100.64.0.0/10"),
        IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("169.254.0.0/16"), IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.0.0.0/24"), IPNetwork.Parse("192.168.0.0/16"), IPNetwork.Parse("198.18.0.0/15"),
        IPNetwork.Parse("224.0.0.0/4"), IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/128"), IPNetwork.Parse("::1/128"), IPNetwork.Parse("fc00::/7"), IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("ff00::/8"), IPNetwork.Parse("64:ff9b::/96"),
    ];

    private readonly IPNetwork[] _allowed;

    /// <summary>With <c>Webhooks:RequireHttps=true</c> webhooks may only use https URLs: plain-http ones are refused when
    /// saved (400 naming the url field) and, if saved before the setting was turned on, when the relay connects.</summary>
    public bool RequireHttps { get; }

    public NetworkGuard(IEnumerable<string> allowedNetworks, bool requireHttps = false)
    {
        RequireHttps = requireHttps;
        var list = new List<IPNetwork>();
        foreach (var text in allowedNetworks)
            list.Add(TryParseNetwork(text, out var n) ? n : throw new ArgumentException($"Webhooks:AllowedNetworks: '{text}' is not an address or a CIDR network."));
        _allowed = [.. list];
    }

    /// <summary>The guard the <c>Webhooks</c> options ask for (<see cref="WebhookOptions.AllowedNetworks"/>, <see cref="WebhookOptions.RequireHttps"/>).</summary>
    public static NetworkGuard From(WebhookOptions options) => new(options.AllowedNetworks, options.RequireHttps);

    /// <summary>A CIDR network, or one address as a network of its own.</summary>
    public static bool TryParseNetwork(string text, out IPNetwork network)
    {
        if (IPNetwork.TryParse(text, out network)) return true;
        if (!IPAddress.TryParse(text, out var a)) return false;
        network = new IPNetwork(a, a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
        return true;
    }

    /// <summary>True when Lineup may send to <paramref name="address"/>.</summary>
    public bool IsAllowed(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (var n in _allowed)
            if (n.Contains(address)) return true;
        foreach (var n in s_internal)
            if (n.Contains(address)) return false;
        return true;
    }

    /// <summary>Why <paramref name="url"/> cannot be a webhook destination, or null. Host names are checked here
    /// only when they are literal addresses or "localhost"; the rest at connection time.</summary>
    public string? Check(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            return "url must be an absolute http or https URL.";
        if (RequireHttps && uri.Scheme != Uri.UriSchemeHttps) return "url must be an https URL (Webhooks:RequireHttps is on).";
        if (!string.IsNullOrEmpty(uri.UserInfo)) return "url must not carry credentials.";
        if (!string.IsNullOrEmpty(uri.Fragment)) return "url must not have a fragment.";
        var host = uri.IdnHost.Trim('[', ']');
        if (IPAddress.TryParse(host, out var ip))
            return IsAllowed(ip) ? null : $"url points to an internal address ({ip}); allow it in Webhooks:AllowedNetworks.";
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
            return IsAllowed(IPAddress.Loopback) ? null : "url points to localhost; allow 127.0.0.1 in Webhooks:AllowedNetworks.";
        return null;
    }

    /// <summary>A connect callback for <see cref="SocketsHttpHandler"/> that resolves the host and connects only to
    /// allowed addresses.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var endpoint = context.DnsEndPoint;
        if (RequireHttps && context.InitialRequestMessage.RequestUri?.Scheme != Uri.UriSchemeHttps)
            throw new BlockedDestinationException("plain http is refused: Webhooks:RequireHttps is on.");
        var addresses = IPAddress.TryParse(endpoint.Host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(endpoint.Host, ct);
        var allowed = addresses.Where(IsAllowed).ToArray();
        if (allowed.Length == 0)
            throw new BlockedDestinationException($"{endpoint.Host} resolves only to internal addresses ({string.Join(", ", addresses.Select(a => a.ToString()))}).");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, endpoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>A webhook destination refused by <see cref="NetworkGuard"/> at connection time (not retried).</summary>
public sealed class BlockedDestinationException(string message) : Exception(message);
