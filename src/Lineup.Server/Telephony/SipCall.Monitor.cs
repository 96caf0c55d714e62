using Lineup.Engine;
using Lineup.Server.Tenancy;
using Lineup.Sip.Media;
using Lineup.Sip.Stack;

namespace Lineup.Server.Telephony;

/// <summary>A supervisor's leg on a bridged call: silent monitoring, whisper and barge (<see cref="ThreePartyMix"/>).</summary>
internal sealed partial class SipCall
{
    private Leg? _supervisor;
    private string? _supervisorName;
    private SupervisionMode _supervisionMode;
    private ThreePartyMix? _mix;

    /// <summary>What <see cref="Monitor"/> did.</summary>
    public enum MonitorOutcome { Ringing, ModeChanged, NotConnected, AnotherSupervisor, NoMediaPort }

    /// <summary>Rings the supervisor at <paramref name="target"/> and, once it answers, joins it to the bridge in
    /// <paramref name="mode"/>; for the supervisor already on the call, changes the mode.</summary>
    public MonitorOutcome Monitor(SipTarget target, string supervisor, SupervisionMode mode)
    {
        var outcome = MonitorOutcome.NotConnected;
        var report = false;
        Locked(later =>
        {
            if (_connected is not { Answered: not null } || _callerDone || _callerMedia is null) return;
            if (_supervisor is { } current)
            {
                if (_supervisorName != supervisor)
                {
                    outcome = MonitorOutcome.AnotherSupervisor;
                    return;
                }
                _supervisionMode = mode;
                if (_mix is { } mix)
                {
                    mix.Mode = (MonitorMode)(int)mode;
                    report = true;
                }
                outcome = MonitorOutcome.ModeChanged;
                return;
            }
            if (!_fe.TryCreateLeg(out var media))
            {
                outcome = MonitorOutcome.NoMediaPort;
                return;
            }
            var leg = new Leg(media);
            _supervisor = leg;
            _supervisorName = supervisor;
            _supervisionMode = mode;
            var session = _fe.Stack.Invite(new InviteRequest(target.Uri, CallerNumber, CallerName, media.CreateOffer(), target.Destination, target.Headers), s =>
            {
                s.Answered += x => SupervisorAnswered(leg, x);
                s.Failed += (x, _) => SupervisorGone(leg);
                s.Ended += (x, _) => SupervisorGone(leg);
            });
            leg.Forks.Add(session);
            outcome = MonitorOutcome.Ringing;
        });
        if (report) ReportMonitor();
        return outcome;
    }

    /// <summary>The supervisor leaves (BYE, or CANCEL while it rings); false when no supervisor is on the call.</summary>
    public bool StopMonitor()
    {
        var stopped = false;
        Locked(later => stopped = EndMonitorLocked(later));
        if (stopped) _fe.Post(Host, new SetMonitorCommand(Id.Value, null, null));
        return stopped;
    }

    private void SupervisorAnswered(Leg leg, InviteSession session)
    {
        var joined = false;
        Locked(later =>
        {
            if (leg != _supervisor || leg.Done || _connected is not { } agent || _callerMedia is not { } caller)
            {
                later.Add(session.Hangup);
                return;
            }
            leg.Answered = session;
            leg.Media.AcceptAnswer(session.RemoteSdp.Span);
            var mode = (MonitorMode)(int)_supervisionMode;
            later.Add(() => _mix = ThreePartyMix.Start(caller, agent.Media, leg.Media, mode));
            joined = true;
        });
        if (joined) ReportMonitor();
    }

    private void ReportMonitor() => _fe.Post(Host, new SetMonitorCommand(Id.Value, _supervisionMode, _supervisorName));

    private void SupervisorGone(Leg leg)
    {
        var report = false;
        Locked(later =>
        {
            if (leg != _supervisor) return;
            report = leg.Answered != null;
            EndMonitorLocked(later);
        });
        if (report) _fe.Post(Host, new SetMonitorCommand(Id.Value, null, null));
    }

    /// <summary>Stops the mix and hangs the supervisor up; the caller and the agent stay bridged.</summary>
    private bool EndMonitorLocked(List<Action> later)
    {
        if (_supervisor is not { } leg) return false;
        _supervisor = null;
        _supervisorName = null;
        var mix = _mix;
        _mix = null;
        later.Add(() => mix?.Stop());
        End(later, leg);
        return true;
    }
}
