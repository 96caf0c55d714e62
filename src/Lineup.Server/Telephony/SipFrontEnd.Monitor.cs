using Lineup.Engine;
using Lineup.Server.Tenancy;
using Lineup.Sip.Transport;

namespace Lineup.Server.Telephony;

/// <summary>Silent monitoring, whisper and barge: a supervisor's phone joins a bridged SIP call.</summary>
public sealed partial class SipFrontEnd
{
    /// <summary>What a monitoring request did.</summary>
    public enum MonitorResult { Ringing, ModeChanged, Stopped, NoSuchCall, NotConnected, AnotherSupervisor, NoRoute, NoMediaPort, NotMonitored }

    /// <summary>Rings <paramref name="supervisor"/> (a <c>sip:</c> URI, the number of an agent whose phone is registered
    /// here, or a number behind <c>Sip:OutboundProxy</c>) into call <paramref name="callId"/>, or changes the mode of the
    /// supervisor already on it.</summary>
    public async Task<MonitorResult> MonitorAsync(ITenant host, long callId, string supervisor, SupervisionMode mode)
    {
        if (_registrar == null || !_calls.TryGetValue((host.TenantId, callId), out var call)) return MonitorResult.NoSuchCall;
        string? uri = null;
        SipRemote? destination = null;
        if (supervisor.StartsWith("sip:", StringComparison.OrdinalIgnoreCase))
        {
            uri = supervisor;
        }
        else
        {
            var agent = await host.QueryAsync(engine =>
                engine.Agents.FirstOrDefault(a => a.Config.Kind == AgentKind.Local && a.Config.Number == supervisor)?.Id.Value);
            if (agent is { } id && SipUser(host, id, supervisor) is { } user && _registrar.Lookup(host.Name, user).FirstOrDefault() is { } binding)
            {
                uri = binding.ContactUri;
                destination = Destination(binding);
            }
            else if (_options.OutboundProxy is { } proxy)
            {
                uri = $"sip:{supervisor}@{proxy}";
            }
        }
        if (uri == null) return MonitorResult.NoRoute;
        return call.Monitor(uri, destination, supervisor, mode) switch
        {
            SipCall.MonitorOutcome.Ringing => MonitorResult.Ringing,
            SipCall.MonitorOutcome.ModeChanged => MonitorResult.ModeChanged,
            SipCall.MonitorOutcome.AnotherSupervisor => MonitorResult.AnotherSupervisor,
            SipCall.MonitorOutcome.NoMediaPort => MonitorResult.NoMediaPort,
            _ => MonitorResult.NotConnected,
        };
    }

    /// <summary>The supervisor leaves call <paramref name="callId"/>; only its leg ends.</summary>
    public MonitorResult StopMonitor(ITenant host, long callId)
    {
        if (!_calls.TryGetValue((host.TenantId, callId), out var call)) return MonitorResult.NoSuchCall;
        return call.StopMonitor() ? MonitorResult.Stopped : MonitorResult.NotMonitored;
    }
}
