using Lineup.Server.Auth;

namespace Lineup.Server.Api.Dialects.PortSip;

/// <summary>
/// PortSIP PBX's call queue REST API (v22.2): call queue servers, call queues, waiting callers, pickup and queue
/// agents under <c>/api</c>, with PortSIP's ids, enum spellings and bodies (docs/dialects/portsip.md). The vendor's
/// port, 8887, is opened with <c>Dialects:PortSip:Url</c>.
/// </summary>
public sealed class PortSipDialect : Dialect
{
    /// <inheritdoc/>
    public override string Name => "portsip";

    /// <summary>CPU figures are measured between two status reads; one sampler for the process.</summary>
    internal ProcessUsage Usage { get; } = new(TimeProvider.System);

    /// <inheritdoc/>
    public override StrategySpelling Strategies => PortSipQueueMapping.Spelling;

    /// <inheritdoc/>
    public override void AddServices(IServiceCollection services) => services.AddSingleton<PortSipServers>();

    /// <inheritdoc/>
    public override void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("PortSIP dialect").ExcludeFromDescription();
        PortSipCallQueues.Map(api);
        PortSipQueueServers.Map(api, Usage);
    }
}

/// <summary>Role checks answered in PortSIP's error shape.</summary>
internal static class PortSipAuth
{
    public static TBuilder Require<TBuilder>(this TBuilder builder, Role role) where TBuilder : IEndpointConventionBuilder =>
        builder.Require(role, problem: PortSipErrors.Auth);
}
