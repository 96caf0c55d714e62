using System.ComponentModel.DataAnnotations;
using System.Net;
using Lineup.Server.Storage;
using Lineup.Server.Tenancy;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Lineup.Server.Cluster;

/// <summary>Cluster mode's composition: the Orleans silo co-hosted in this process, its membership in Lineup's
/// PostgreSQL tables, the cluster gateway in place of the single node's registry, the keeper.</summary>
public static class ClusterHosting
{
    /// <summary>The cluster settings from configuration, checked: throws <see cref="InvalidOperationException"/> with a
    /// message for the operator when they cannot work (cluster mode on SQLite, without an address).</summary>
    public static ClusterSettings Settings(IConfiguration config, bool postgres)
    {
        var settings = new ClusterSettings();
        config.GetSection(ClusterSettings.Section).Bind(settings);
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(settings, new ValidationContext(settings), results, validateAllProperties: true))
            throw new InvalidOperationException(string.Join(" ", results.Select(r => r.ErrorMessage)));
        if (settings.Check(postgres) is { } problem) throw new InvalidOperationException(problem);
        return settings;
    }

    /// <summary>Registers the cluster node: call where the single node would register its tenant start-up, so that the
    /// schema is migrated before the silo joins and the webhook relay starts after it.</summary>
    public static void AddLineupCluster(this WebApplicationBuilder builder, ClusterSettings settings, string urls)
    {
        var services = builder.Services;
        services.AddSingleton(new ForwardingAddress(settings.ForwardingUrl(urls)));
        services.AddSingleton<ClusterGateway>();
        services.AddSingleton<ITenantGateway>(sp => sp.GetRequiredService<ClusterGateway>());
        services.AddSingleton<ILocalTenants>(sp => sp.GetRequiredService<ClusterGateway>());
        services.AddHostedService<ClusterStartup>();
        // Telephony across the nodes (docs/cluster.md, "Telephony"): the SIP front-end finds it when SIP is on.
        services.AddSingleton<ClusterTelephony>();
        services.AddSingleton<Telephony.ITelephonyCluster>(sp => sp.GetRequiredService<ClusterTelephony>());
        services.AddHttpForwarder();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (settings.ClusterId, "lineup"));
            silo.ConfigureEndpoints(IPAddress.Parse(settings.AdvertisedAddress), settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: false);
            silo.Configure<SiloOptions>(o => o.SiloName = $"lineup-{settings.AdvertisedAddress}-{settings.SiloPort}");
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                // A node that stops answering is declared dead within seconds, not Orleans's default tens of seconds:
                // its tenants are started elsewhere only then. A node declared dead by mistake (a long pause) loses
                // its tenants to the fence and rejoins as a new member; it never writes beside their new owner.
                o.ProbeTimeout = TimeSpan.FromSeconds(settings.ProbeTimeoutSeconds);
                o.NumMissedProbesLimit = settings.MissedProbesLimit;
                o.NumVotesForDeathDeclaration = settings.DeathVotes;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
            });
            // Grain calls here are short (where does a tenant run); a node that died fails them fast, a stuck one in this.
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(15));
            silo.Services.AddSingleton(sp => sp.GetRequiredService<Database>().Postgres!);
            silo.Services.AddSingleton<PostgresMembershipTable>();
            silo.AddPlacementDirector<NodePlacement, NodePlacementDirector>();
            silo.Services.AddSingleton<IMembershipTable>(sp => sp.GetRequiredService<PostgresMembershipTable>());
        });
        services.AddHostedService<ClusterKeeper>();
    }
}

/// <summary>Before the silo joins: the storage and cluster schemas, and on a new database the first tenant and the
/// system administrator (nodes starting together do each step one at a time).</summary>
public sealed class ClusterStartup(Database db, IdSequence ids, AccountStore accounts, TimeProvider time, IConfiguration config) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await db.MigrateAsync(cancellationToken);
        await ClusterSchema.MigrateAsync(db.Postgres!, cancellationToken);
        var (_, generated) = await Bootstrap.FirstRunAsync(db, ids, accounts, time, config["LINEUP_ADMIN_PASSWORD"], cancellationToken);
        TenantStartup.Announce(generated);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
