using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;

namespace Lineup.Server.Cluster;

/// <summary>
/// Cluster mode (configuration section <c>Cluster</c>, docs/cluster.md): this process is one node of a Lineup cluster
/// on Microsoft Orleans, its membership kept in the PostgreSQL database that holds Lineup's data. Off by default:
/// one process, nothing else to run.
/// </summary>
public sealed class ClusterSettings
{
    public const string Section = "Cluster";

    /// <summary>Run as a node of a cluster (needs PostgreSQL: <c>--db</c>).</summary>
    public bool Enabled { get; set; }

    /// <summary>The cluster's name: nodes with the same name on the same database form one cluster.</summary>
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,64}$", ErrorMessage = "Cluster:ClusterId must be 1-64 letters, digits, '.', '_' or '-'.")]
    public string ClusterId { get; set; } = "lineup";

    /// <summary>This node's IP address as the other nodes reach it (the silo listens on it too).</summary>
    [Required]
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>The port nodes talk to one another on (Orleans's silo port).</summary>
    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Orleans's client gateway port; 0 (the default) opens none: Lineup's nodes host their own clients.</summary>
    [Range(0, 65535)]
    public int GatewayPort { get; set; }

    /// <summary>The URL other nodes forward this node's tenants' requests to; by default http://AdvertisedAddress:port of
    /// the first <c>--urls</c> entry.</summary>
    public string? HttpUrl { get; set; }

    /// <summary>How long a node waits for a probe's answer before counting it missed.</summary>
    [Range(0.1, 60)]
    public double ProbeTimeoutSeconds { get; set; } = 1;

    /// <summary>Missed probes in a row before a node suspects another.</summary>
    [Range(1, 10)]
    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>Suspicions (from different nodes) that declare a node dead; capped by the number of nodes alive.</summary>
    [Range(1, 10)]
    public int DeathVotes { get; set; } = 2;

    /// <summary>How often every node looks for tenants whose node is gone (or that were never started) and starts them.</summary>
    [Range(0.1, 60)]
    public double KeeperIntervalSeconds { get; set; } = 1;

    /// <summary>How long a node keeps agents' registrations and SIP credentials it read (for ringing phones) at most;
    /// a change made through any node drops them at once (PostgreSQL NOTIFY). 0: read them for every offer.</summary>
    [Range(0, 3600)]
    public double SipCacheSeconds { get; set; } = 10;

    /// <summary>The checks that need more than one key: cluster mode needs PostgreSQL, and the address must be one.
    /// Returns the problem, or null.</summary>
    public string? Check(bool postgres)
    {
        if (!Enabled) return null;
        if (!postgres)
            return "Cluster mode needs PostgreSQL (--db \"Host=...;Database=...\"): the nodes share one database; SQLite is a file on one machine.";
        if (!IPAddress.TryParse(AdvertisedAddress, out var ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any))
            return $"Cluster:AdvertisedAddress must be this node's IP address as the others reach it (not '{AdvertisedAddress}').";
        if (HttpUrl != null && !Uri.TryCreate(HttpUrl, UriKind.Absolute, out _))
            return $"Cluster:HttpUrl must be an absolute URL (not '{HttpUrl}').";
        return null;
    }

    /// <summary>Where other nodes send this node's requests: <see cref="HttpUrl"/>, or the advertised address with the
    /// port of the first of <paramref name="urls"/> (ASP.NET Core's <c>--urls</c>).</summary>
    public string ForwardingUrl(string urls)
    {
        if (!string.IsNullOrEmpty(HttpUrl)) return HttpUrl.TrimEnd('/');
        var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        // "http://*:8080" and "http://+:8080" are not URIs: read the port after the last colon.
        var port = first[(first.LastIndexOf(':') + 1)..].TrimEnd('/');
        var scheme = first.StartsWith("https", StringComparison.OrdinalIgnoreCase) ? "https" : "http";
        var host = AdvertisedAddress.Contains(':', StringComparison.Ordinal) ? $"[{AdvertisedAddress}]" : AdvertisedAddress;
        return string.Create(CultureInfo.InvariantCulture, $"{scheme}://{host}:{port}");
    }
}
