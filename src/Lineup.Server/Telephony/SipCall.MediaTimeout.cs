using Lineup.Sip.Media;
using Lineup.Sip.Stack;

namespace Lineup.Server.Telephony;

/// <summary>
/// <c>Sip:MediaTimeoutSeconds</c>: a talking leg whose far end has sent nothing at all for that long (no RTP, no RTCP)
/// is hung up as if it had hung up itself, so a crashed phone or a lost network does not hold a caller or an agent
/// forever. The front-end's sweep calls <see cref="CheckMedia"/> a few times per timeout.
/// </summary>
internal sealed partial class SipCall
{
    private MediaWatch? _callerWatch;

    /// <summary>What a leg had received at the last sweep, and since when.</summary>
    private sealed class MediaWatch
    {
        private long _packets = -1;
        private long _rtcpAt;
        private long _since;

        /// <summary>Whether <paramref name="leg"/> has received nothing new for <paramref name="timeout"/>, as seen by
        /// successive sweeps (the first sweep that sees a leg starts its clock).</summary>
        public bool Quiet(RtpLeg leg, long now, TimeSpan timeout, TimeProvider time)
        {
            var (packets, rtcpAt) = (leg.PacketsReceived, leg.LastRtcpReceivedAt);
            if (packets != _packets || rtcpAt != _rtcpAt)
            {
                (_packets, _rtcpAt, _since) = (packets, rtcpAt, now);
                return false;
            }
            return time.GetElapsedTime(_since, now) >= timeout;
        }
    }

    /// <summary>Hangs up (BYE) each answered leg of this call whose far end has been silent for
    /// <paramref name="timeout"/>: the caller, the connected agent (unless its phone holds the call) and a transfer's
    /// far end. The session's end then takes the path of a hang-up by that party (the engine is told).</summary>
    public void CheckMedia(long now, TimeSpan timeout, TimeProvider time)
    {
        List<(InviteSession Session, string Who)>? quiet = null;
        Locked(_ =>
        {
            if (!_callerDone && _caller is { State: InviteState.Established } caller && _callerMedia is { } media
                && (_callerWatch ??= new()).Quiet(media, now, timeout, time))
                (quiet ??= []).Add((caller, "the caller"));
            if (_connected is { Answered: { } agent, Done: false, Held: false } leg && (leg.Watch ??= new()).Quiet(leg.Media, now, timeout, time))
                (quiet ??= []).Add((agent, $"agent {leg.Agent.Value}"));
            if (_transfer is { Answered: { } far, Done: false } transfer && (transfer.Watch ??= new()).Quiet(transfer.Media, now, timeout, time))
                (quiet ??= []).Add((far, "the transfer's far end"));
        });
        if (quiet == null) return;
        foreach (var (session, who) in quiet)
        {
            SipLog.MediaTimeout(_fe.Log, Id.Value, who, timeout.TotalSeconds, session.CallId);
            session.Hangup();
        }
    }
}
