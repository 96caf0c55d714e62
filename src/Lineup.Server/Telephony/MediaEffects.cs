using Lineup.Engine;
using Lineup.Server.Tenancy;

namespace Lineup.Server.Telephony;

/// <summary>
/// Hands the engine's media effects (ring, cancel, bridge, play, transfer, hang up) to the telephony front-end.
/// A tenant host calls <see cref="Deliver"/> in its mailbox after the batch that produced them is durable, in the
/// order the engine emitted them; the handler may read the engine there and must not block.
/// </summary>
public sealed class MediaEffects
{
    private Action<ITenant, CallCenter, IReadOnlyList<EngineEvent>>? _handler;
    private Func<ITenant, CallId, Records.CdrMediaQualityRecord?>? _quality;

    /// <summary>True once a front-end listens; hosts skip collecting effects otherwise.</summary>
    public bool Enabled => Volatile.Read(ref _handler) != null;

    /// <summary>Listens for effects; <paramref name="quality"/>, when given, tells a call's media quality for its CDR
    /// (a front-end that holds the call's legs).</summary>
    public void Attach(Action<ITenant, CallCenter, IReadOnlyList<EngineEvent>> handler,
        Func<ITenant, CallId, Records.CdrMediaQualityRecord?>? quality = null)
    {
        Volatile.Write(ref _quality, quality);
        Volatile.Write(ref _handler, handler);
    }

    public void Detach()
    {
        Volatile.Write(ref _handler, null);
        Volatile.Write(ref _quality, null);
    }

    /// <summary>The media quality of a call that ends now, for its CDR (in the tenant's mailbox, before the effects
    /// that hang its legs up); null when no front-end here holds its legs.</summary>
    internal Records.CdrMediaQualityRecord? Quality(ITenant host, CallId call) => Volatile.Read(ref _quality)?.Invoke(host, call);

    /// <summary>The kinds a telephony front-end acts on.</summary>
    public static bool IsMedia(EventKind kind) => kind is EventKind.CallQueued or EventKind.CallOffered or EventKind.OfferEnded
        or EventKind.CallAnswered or EventKind.CallbackDial or EventKind.CallbackScheduled or EventKind.CallMoved
        or EventKind.CallTransferred or EventKind.CallToVoicemail or EventKind.CallHangup or EventKind.CallWrapUp
        or EventKind.CallEnded or EventKind.Announcement or EventKind.CallSurvey or EventKind.CallRated or EventKind.CallTransferStarted;

    internal void Deliver(ITenant host, CallCenter engine, IReadOnlyList<EngineEvent> effects) =>
        Volatile.Read(ref _handler)?.Invoke(host, engine, effects);
}
