using Lineup.Server.Cluster;
using Microsoft.Extensions.Configuration;

namespace Lineup.Server.Tests.Cluster;

/// <summary>Cluster mode's settings: what an operator is told when they cannot work, and where other nodes forward.</summary>
public sealed class ClusterSettingsTests
{
    private static ClusterSettings Settings(bool postgres, params (string Key, string Value)[] values)
    {
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>($"Cluster:{v.Key}", v.Value)))
            .Build();
        return ClusterHosting.Settings(config, postgres);
    }

    [Fact]
    public void Off_by_default_and_then_nothing_is_checked()
    {
        var settings = Settings(postgres: false);
        Assert.False(settings.Enabled);
    }

    [Fact]
    public void Cluster_mode_on_SQLite_is_refused_naming_PostgreSQL()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Settings(postgres: false, ("Enabled", "true")));
        Assert.Contains("needs PostgreSQL", e.Message, StringComparison.Ordinal);
        Assert.Contains("--db", e.Message, StringComparison.Ordinal);
    }


    [Theory]
    [InlineData("AdvertisedAddress", "node-a", "Cluster:AdvertisedAddress")]
    [InlineData("AdvertisedAddress", "0.0.0.0", "Cluster:AdvertisedAddress")]
    [InlineData("ClusterId", "a b", "Cluster:ClusterId")]
    [InlineData("HttpUrl", "not a url", "Cluster:HttpUrl")]
    public void A_bad_value_is_refused_naming_its_key(string key, string value, string named)
    {
        var e = Assert.Throws<InvalidOperationException>(() => Settings(postgres: true, ("Enabled", "true"), (key, value)));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_out_of_range_number_is_refused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Settings(postgres: true, ("Enabled", "true"), ("SiloPort", "70000")));
        Assert.Contains("SiloPort", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.2:8080", "127.0.0.2", null, "http://127.0.0.2:8080")]
    [InlineData("http://*:5000;https://*:5001", "10.0.0.7", null, "http://10.0.0.7:5000")]
    [InlineData("http://+:8080/", "10.0.0.7", null, "http://10.0.0.7:8080")]
    [InlineData("http://0.0.0.0:8080", "::1", null, "http://[::1]:8080")]
    [InlineData("http://127.0.0.1:8080", "127.0.0.1", "https://lineup-3.example/", "https://lineup-3.example")]
    public void Other_nodes_forward_to_the_advertised_address_and_the_first_url_port(string urls, string address, string? httpUrl, string expected)
    {
        var settings = new ClusterSettings { Enabled = true, AdvertisedAddress = address, HttpUrl = httpUrl };
        Assert.Equal(expected, settings.ForwardingUrl(urls));
    }

    [Fact]
    public async Task A_server_started_in_cluster_mode_on_SQLite_exits_saying_why()
    {
        var dir = Path.Combine(Path.GetTempPath(), "lineup-cluster-sqlite-" + Guid.NewGuid().ToString("N"));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync(dir, extraArguments: ["--Cluster:Enabled=true"]));
        Assert.Contains("exited with code", e.Message, StringComparison.Ordinal);
        Assert.Contains("Cluster mode needs PostgreSQL", e.Message, StringComparison.Ordinal);
    }
}
