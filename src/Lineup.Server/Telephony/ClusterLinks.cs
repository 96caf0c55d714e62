using Lineup.Engine;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Telephony;

/// <summary>
/// One media effect of the engine, made ready on the tenant's node for the node that carries the call's SIP legs
/// (in a cluster the two may differ): the event's fields plus what only the engine knew (the agent's number and
/// kind, whether the queue records). Plain data, so it crosses nodes.
/// </summary>
public sealed record MediaAction(EventKind Kind, long Call, int Agent, int Code, long Value, long Value2, string? Text)
{
    /// <summary>The agent's number; null when the engine knows no such agent or it has none.</summary>
    public string? AgentNumber { get; init; }

    /// <summary>A remote agent: rung at its number through the outbound proxy.</summary>
    public bool RemoteAgent { get; init; }

    /// <summary>CallAnswered: the queue records its calls.</summary>
    public bool Record { get; init; }

    /// <summary>CallQueued, CallMoved (issue 15): the queue the call now waits in has this hold music and prompt
    /// language.</summary>
    public string? HoldMusic { get; init; }
    public string? Language { get; init; }

    /// <summary>CallToVoicemail: the box that records the message (the queue's, or the one the destination names), when
    /// it is Lineup's own (enabled); null: the external voicemail server, or hang up.</summary>
    public VoicemailSettings? Voicemail { get; init; }
    public int VoicemailQueue { get; init; }
    /// <summary>CallAnswered (issue 15): what the agent alone hears before the bridge, the queue's prompt (a media
    /// reference) and the caller's wait in seconds when the queue tells it; the queue's language for both.</summary>
    public string? AgentAnnounce { get; init; }
    public long? AgentAnnounceWait { get; init; }
}

/// <summary>A phone registered through a SIP proxy (RFC 3327): reached by sending to <see cref="Path"/>'s first hop
/// with the Path as the Route set; stored in the database so that every node of a cluster can ring it.</summary>
public sealed record StoredBinding(string Contact, IReadOnlyList<string> Path, string Transport, string Source, DateTimeOffset ExpiresAt);

/// <summary>A supervisor's phone to ring into a call whose SIP legs are on another node (the tenant's node resolved it):
/// the URI, where to send the INVITE (a transport and an endpoint, or none: the URI's host) and its Route set.</summary>
public sealed record MonitorOrder(long Call, string Uri, string? Transport, string? EndPoint, IReadOnlyList<string> Route, string Supervisor,
    SupervisionMode Mode);

/// <summary>
/// What the SIP front-end needs from the cluster (docs/cluster.md, "Telephony"): null on a single node. The tenant's
/// engine may run on another node than the one that received a call's INVITE; the call's SIP legs and media stay on
/// the receiving node (the media node), commands go to the tenant's node, and the tenant's node sends the call's
/// media effects back to the media node (<see cref="IMediaNode"/>).
/// </summary>
public interface ITelephonyCluster
{
    /// <summary>Called once by the front-end when SIP starts on this node.</summary>
    void Start(IMediaNode local);

    /// <summary>The queue whose extension is <paramref name="number"/>, asked of the tenant's node; null when none.</summary>
    Task<int?> QueueOfExtensionAsync(long tenantId, string number);

    /// <summary>Enqueues a call whose media is on this node; the tenant's node remembers that (durably) before the
    /// call's first effect is sent here, and <paramref name="token"/> comes back with those effects.</summary>
    Task<(CommandResult Result, long Call)> EnqueueAsync(long tenantId, EnqueueCommand command, long token);

    /// <summary>A SIP outcome as a command on the tenant's node (retried while the tenant moves between nodes).</summary>
    Task<CommandResult> ExecuteAsync(long tenantId, TenantCommand command);

    /// <summary>Stores (or, with <paramref name="expiresAt"/> null, removes) a registration made through this node.</summary>
    Task SaveBindingAsync(long tenantId, string username, string contact, IReadOnlyList<string> path, string transport, string source,
        DateTimeOffset? expiresAt);

    /// <summary>Removes every stored registration of the user (<c>Contact: *</c>).</summary>
    Task RemoveBindingsAsync(long tenantId, string username);

    /// <summary>The user's live registrations, through whichever node they were made (cached on this node, and dropped
    /// from the cache when any node changes them).</summary>
    Task<IReadOnlyList<StoredBinding>> BindingsAsync(long tenantId, string username);

    /// <summary>Makes sure this node knows the agent's current SIP credential (its username may have been set through
    /// another node); cached like the registrations.</summary>
    Task RefreshCredentialAsync(long tenantId, long agentId);

    /// <summary>True when the call (of a tenant that runs on this node) has its SIP legs on some node.</summary>
    bool CarriesCall(long tenantId, long call);

    /// <summary>Rings a supervisor into a call whose SIP legs are on another node, or changes its mode there.</summary>
    Task<SipFrontEnd.MonitorResult> MonitorAsync(long tenantId, MonitorOrder order);

    /// <summary>The supervisor leaves a call whose SIP legs are on another node.</summary>
    Task<SipFrontEnd.MonitorResult> StopMonitorAsync(long tenantId, long call);
}

/// <summary>A node's SIP front-end as the cluster drives it.</summary>
public interface IMediaNode
{
    /// <summary>Makes an effect ready for the media node, in the tenant's turn (reads the engine).</summary>
    MediaAction Plan(CallCenter engine, in EngineEvent e);

    /// <summary>Carries out the actions for calls whose media is on this node, in order; the token is the one given
    /// to <see cref="ITelephonyCluster.EnqueueAsync"/> for the call's first effects.</summary>
    Task ApplyAsync(long tenantId, IReadOnlyList<(long Token, MediaAction Action)> actions);

    /// <summary>Rings the supervisor of <paramref name="order"/> into a call whose SIP legs are here.</summary>
    SipFrontEnd.MonitorResult MonitorHere(long tenantId, MonitorOrder order);

    /// <summary>The supervisor leaves a call whose SIP legs are here.</summary>
    SipFrontEnd.MonitorResult StopMonitorHere(long tenantId, long call);
}
