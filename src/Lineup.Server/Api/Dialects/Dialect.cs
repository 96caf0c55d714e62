namespace Lineup.Server.Api.Dialects;

/// <summary>
/// A vendor's API served over the same engine and store (docs/dialects.md). Each dialect lives in its own folder,
/// derives from this class and is found at start-up, so adding one touches no shared file. It answers on the main
/// port at its own paths, and also on the vendor's usual port when <c>Dialects:&lt;Name&gt;:Url</c> is configured
/// (for example <c>--Dialects:PortSip:Url=http://127.0.0.1:8887</c>).
/// </summary>
public abstract class Dialect
{
    /// <summary>The configuration name (Dialects:&lt;Name&gt;) and the key of its DialectData (lowercase).</summary>
    public abstract string Name { get; }

    public abstract void Map(IEndpointRouteBuilder app);

    /// <summary>The vendor's strategy names, when its API names strategies.</summary>
    public virtual StrategySpelling? Strategies => null;

    /// <summary>Request headers that carry a token in this vendor's API (besides Authorization and X-API-Key).</summary>
    public virtual IReadOnlyList<string> TokenHeaders => [];

    /// <summary>How this dialect's webhook subscriptions (<see cref="Events.Webhook.Source"/> equal to <see cref="Name"/>)
    /// shape an event for the receiver, or null for Lineup's own envelope.</summary>
    public virtual Events.WebhookPayload? Payload => null;

    /// <summary>Registers the dialect's own services (its storage, for example).</summary>
    public virtual void AddServices(IServiceCollection services)
    {
    }

    /// <summary>Every dialect, listed by hand: finding them by reflection loaded every type of the server, and with
    /// them Orleans, Npgsql, MailKit and YARP, also where nothing used them (a test checks that none is missing).</summary>
    public static IReadOnlyList<Dialect> All { get; } =
        [new FonoUc.FonoUcDialect(), new Kazoo.KazooDialect(), new PortSip.PortSipDialect(), new Telphin.TelphinDialect()];

    /// <summary>The configuration key of the extra listen URL of <paramref name="dialect"/>: Dialects:&lt;Name&gt;:Url.</summary>
    public static string UrlKey(Dialect dialect) => $"Dialects:{dialect.Name}:Url";

    /// <summary>The extra listen URLs the configuration asks for (<see cref="UrlKey"/>).</summary>
    public static IEnumerable<string> ExtraUrls(IConfiguration config) =>
        All.Select(d => config[UrlKey(d)]).OfType<string>().Where(u => u.Length > 0);
}

public static class DialectRegistration
{
    public static void MapDialects(this IEndpointRouteBuilder app)
    {
        foreach (var d in Dialect.All) d.Map(app);
    }
}
