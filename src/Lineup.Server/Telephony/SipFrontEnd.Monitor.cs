using Lineup.Engine;
using Lineup.Server.Tenancy;
using Lineup.Sip;
using Lineup.Sip.Transport;

namespace Lineup.Server.Telephony;

/// <summary>Silent monitoring, whisper and barge: a supervisor's phone joins a bridged SIP call.</summary>
public sealed partial class SipFrontEnd
{
    /// <summary>What a monitoring request did.</summary>
    public enum MonitorResult { Ringing, ModeChanged, Stopped, NoSuchCall, NotConnected, AnotherSupervisor, NoRoute, NoMediaPort, NotMonitored }

    /// <summary>Rings <paramref name="supervisor"/> (a <c>sip:</c> URI, the number of an agent whose phone is registered,
    /// or a number behind <c>Sip:OutboundProxy</c>) into call <paramref name="callId"/>, or changes the mode of the
    /// supervisor already on it. Runs where the tenant runs; in a cluster the call's SIP legs may be on another node,
    /// which then rings the supervisor as resolved here.</summary>
    public async Task<MonitorResult> MonitorAsync(ITenant host, long callId, string supervisor, SupervisionMode mode)
    {
        if (_registrar == null) return MonitorResult.NoSuchCall;
        var here = _calls.TryGetValue((host.TenantId, callId), out var call);
        if (!here && (_cluster == null || !_cluster.CarriesCall(host.TenantId, callId))) return MonitorResult.NoSuchCall;
        if (await SupervisorTargetAsync(host, callId, supervisor) is not { } target) return MonitorResult.NoRoute;
        if (call != null) return Monitor(call, target, supervisor, mode);
        var order = new MonitorOrder(callId, target.Uri, target.Destination?.Transport.ToString(), target.Destination?.EndPoint.ToString(),
            [.. (target.Headers ?? []).Select(h => h.Value)], supervisor, mode);
        return await _cluster!.MonitorAsync(host.TenantId, order);
    }

    /// <summary>The supervisor leaves call <paramref name="callId"/>; only its leg ends.</summary>
    public async Task<MonitorResult> StopMonitorAsync(ITenant host, long callId)
    {
        if (_calls.TryGetValue((host.TenantId, callId), out var call)) return call.StopMonitor() ? MonitorResult.Stopped : MonitorResult.NotMonitored;
        if (_cluster == null || !_cluster.CarriesCall(host.TenantId, callId)) return MonitorResult.NoSuchCall;
        return await _cluster.StopMonitorAsync(host.TenantId, callId);
    }

    /// <summary>Cluster mode: a supervisor resolved by the tenant's node, rung into a call whose legs are here.</summary>
    public MonitorResult MonitorHere(long tenantId, MonitorOrder order)
    {
        if (!_calls.TryGetValue((tenantId, order.Call), out var call)) return MonitorResult.NoSuchCall;
        SipRemote? destination = order.Transport != null && Enum.TryParse<SipTransportKind>(order.Transport, out var kind)
            && System.Net.IPEndPoint.TryParse(order.EndPoint ?? "", out var endPoint) ? new SipRemote(kind, endPoint) : null;
        return Monitor(call, new SipTarget(order.Uri, destination, [.. order.Route.Select(r => new SipHeader("Route", r))]), order.Supervisor, order.Mode);
    }

    /// <summary>Cluster mode: the supervisor leaves a call whose legs are here.</summary>
    public MonitorResult StopMonitorHere(long tenantId, long callId) =>
        !_calls.TryGetValue((tenantId, callId), out var call) ? MonitorResult.NoSuchCall
        : call.StopMonitor() ? MonitorResult.Stopped : MonitorResult.NotMonitored;

    private static MonitorResult Monitor(SipCall call, SipTarget target, string supervisor, SupervisionMode mode) =>
        call.Monitor(target, supervisor, mode) switch
        {
            SipCall.MonitorOutcome.Ringing => MonitorResult.Ringing,
            SipCall.MonitorOutcome.ModeChanged => MonitorResult.ModeChanged,
            SipCall.MonitorOutcome.AnotherSupervisor => MonitorResult.AnotherSupervisor,
            SipCall.MonitorOutcome.NoMediaPort => MonitorResult.NoMediaPort,
            _ => MonitorResult.NotConnected,
        };

    /// <summary>Where to ring the supervisor: a <c>sip:</c> URI as given; an agent's number at its registered phone (in a
    /// cluster, registered through any node); else the number behind the outbound proxy; null when none of these.</summary>
    private async Task<SipTarget?> SupervisorTargetAsync(ITenant host, long callId, string supervisor)
    {
        if (supervisor.StartsWith("sip:", StringComparison.OrdinalIgnoreCase)) return new SipTarget(supervisor, null);
        var agent = await host.QueryAsync(engine =>
            engine.Agents.FirstOrDefault(a => a.Config.Kind == AgentKind.Local && a.Config.Number == supervisor)?.Id.Value);
        if (agent is { } id)
        {
            var phone = new MediaAction(EventKind.CallOffered, callId, id, 0, 0, 0, null) { AgentNumber = supervisor };
            var (targets, _) = _cluster != null ? await StoredTargetsAsync(host, phone) : LocalTargets(host, phone);
            if (targets.Count > 0) return targets[0];
        }
        return _options.OutboundProxy is { } proxy ? new SipTarget($"sip:{supervisor}@{proxy}", null) : null;
    }
}
