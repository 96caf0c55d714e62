using Lineup.Sip.Media;

namespace Lineup.Sip.Stack;

/// <summary>
/// Hold and resume in a re-INVITE (RFC 3264 §8.4): the direction a peer offers for its audio, and our answer's. A peer
/// that holds the call offers <c>sendonly</c> (it will play its own music, or nothing) or <c>inactive</c>; older phones set
/// the connection address to 0.0.0.0 (RFC 2543), read here as <c>inactive</c>. The answer mirrors the offer (§6.1):
/// <c>recvonly</c> to <c>sendonly</c>, <c>inactive</c> to <c>inactive</c>, and back to our own direction on resume, with the
/// origin's version one higher each time it changes (§8).
/// </summary>
public static class HoldAnswer
{
    /// <summary>The direction of the offer's first audio stream, or null when the body is no SDP with audio.</summary>
    public static MediaDirection? Offered(ReadOnlySpan<byte> sdp)
    {
        if (sdp.IsEmpty || Sdp.Parse(sdp, out _) is not { } offer) return null;
        foreach (var m in offer.Media)
        {
            if (m.Media != "audio") continue;
            if (offer.ConnectionOf(m) is { Address: "0.0.0.0" }) return MediaDirection.Inactive;
            return offer.DirectionOf(m);
        }
        return null;
    }

    /// <summary>True for an offer that holds the call: the peer will not receive what we send.</summary>
    public static bool IsHold(MediaDirection offered) => offered is MediaDirection.SendOnly or MediaDirection.Inactive;

    /// <summary>Our answer to <paramref name="offered"/>, from our current description <paramref name="local"/>: the same
    /// description when the direction it states already fits, else a copy with the mirrored direction on every stream and
    /// the origin's version incremented; <paramref name="local"/> itself when it does not parse.</summary>
    public static ReadOnlyMemory<byte> Answer(ReadOnlyMemory<byte> local, MediaDirection offered)
    {
        if (local.IsEmpty || Sdp.Parse(local.Span, out _) is not { } ours) return local;
        var wanted = offered switch
        {
            MediaDirection.SendOnly => MediaDirection.RecvOnly,
            MediaDirection.RecvOnly => MediaDirection.SendOnly,
            MediaDirection.Inactive => MediaDirection.Inactive,
            _ => MediaDirection.SendRecv,
        };
        if (ours.Media.All(m => ours.DirectionOf(m) == wanted)) return local;
        var answer = ours with
        {
            Origin = ours.Origin with { SessionVersion = ours.Origin.SessionVersion + 1 },
            Direction = null,
            Media = [.. ours.Media.Select(m => m with { Direction = wanted })],
        };
        return Sdp.Write(answer);
    }
}
