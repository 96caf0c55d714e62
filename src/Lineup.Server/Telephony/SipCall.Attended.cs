using Lineup.Engine;
using Lineup.Sip.Stack;

namespace Lineup.Server.Telephony;

/// <summary>
/// The end of an attended transfer (RFC 5589 §7) when both calls are carried here: the consultation's agent leg, already
/// answered, moves to the caller's call instead of being hung up and rung again. The engine's effects drive it in their
/// order: the caller's call releases the first agent (<see cref="ReleaseAgent"/>), the consultation hands its agent's leg
/// over (<see cref="HandOver"/>) and ends, then the caller's call is told the consulted agent answered and bridges the
/// leg it now holds (<see cref="Connect"/>).
/// </summary>
internal sealed partial class SipCall
{
    /// <summary>Whether <paramref name="session"/> is this call's caller leg, still up (a consultation the agent's
    /// phone placed into a queue is such a leg).</summary>
    public bool HasCaller(InviteSession session)
    {
        lock (_gate) return _caller == session && !_callerDone;
    }

    /// <summary>This consultation ends for an attended transfer and its agent goes on with the caller of
    /// <paramref name="into"/>: the agent's answered leg leaves this call (unbridged, no longer recorded or monitored
    /// here) and joins <paramref name="into"/>. False when this call has no answered leg of that agent: the caller's call
    /// then rings the agent as for a pickup.</summary>
    public bool HandOver(AgentId agent, SipCall into)
    {
        AgentLeg? moved = null;
        Locked(later =>
        {
            if (_connected is not { } leg || leg.Agent != agent || leg.Answered == null || leg.Done) return;
            moved = leg;
            EndMonitorLocked(later);
            _offers.Remove(agent);
            _connected = null;
            // From here on the phone's events (a BYE, a hold, a REFER) belong to the caller's call.
            leg.Owner = into;
            if (_recorder is { } r) later.Add(r.Dispose);
            _recorder = null;
            var consulting = _callerMedia;
            later.Add(() =>
            {
                leg.Media.StopRecording();
                consulting?.StopRecording();
                leg.Media.Unbridge();
            });
        });
        if (moved == null) return false;
        SipLog.HandedOver(_fe.Log, agent.Value, Id.Value, into.Id.Value);
        into.Adopt(moved);
        return true;
    }

    /// <summary>Takes over a consultation's answered agent leg; it is bridged when the engine reports the agent
    /// connected. A caller already gone hangs the leg up (the engine ends the talk on the caller's hang-up).</summary>
    private void Adopt(AgentLeg leg) => Locked(later =>
    {
        if (_callerDone || _engineEnded)
        {
            End(later, leg);
            return;
        }
        if (_offers.Remove(leg.Agent, out var old) && old != leg) End(later, old);
        leg.HandedOver = true;
        leg.Connected = false;
        leg.Whisper = null;
        _offers[leg.Agent] = leg;
    });
}
