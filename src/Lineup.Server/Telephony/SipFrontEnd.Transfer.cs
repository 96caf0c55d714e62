using Lineup.Engine;
using Lineup.Server.Tenancy;
using Lineup.Sip.Stack;

namespace Lineup.Server.Telephony;

/// <summary>A transfer asked for by the agent's phone: a REFER in the agent's dialog (RFC 3515), blind to a queue, an
/// agent or a number, or attended (its Refer-To names the consultation to join, <see cref="AttendedAsync"/>).</summary>
public sealed partial class SipFrontEnd
{
    /// <summary>
    /// Checks the REFER's target and carries out the transfer as <c>POST /api/v1/calls/{id}/transfer</c> does. The
    /// Refer-To's user part names the destination: a queue of the call's tenant by its extension, else a number dialled
    /// through <c>Sip:OutboundProxy</c> (its host is not used: Lineup does not call arbitrary SIP domains for a phone); the
    /// number of one of the tenant's agents (single node) transfers the call to that agent (<see cref="ReferToAgentAsync"/>).
    /// Refused before anything changes: another scheme (416), no number or an
    /// unknown one without a proxy (404), the queue the call is already in or a call no longer talking (403). Accepted:
    /// 202 and NOTIFY "100 Trying", then the final NOTIFY when the engine releases the agent (200) or refuses (503).
    /// </summary>
    internal async Task ReferAsync(SipCall call, AgentId agent, SipRefer refer)
    {
        try
        {
            if (refer.Target is not { } target)
            {
                RefuseRefer(call, refer, 416, "Unsupported URI Scheme", "Refer-To must be a sip: or sips: URI");
                return;
            }
            if (target.Headers.FirstOrDefault(h => string.Equals(h.Key, "Replaces", StringComparison.OrdinalIgnoreCase)) is { Key: not null } replaces)
            {
                await AttendedAsync(call, agent, refer, replaces.Value);
                return;
            }
            if (target.User is not { Length: > 0 and <= 32 } number || !number.All(c => char.IsAsciiDigit(c) || c is '*' or '#' or '+'))
            {
                RefuseRefer(call, refer, 404, "Not Found", "the Refer-To user must be a queue extension or a number (0-9 * # +)");
                return;
            }
            var host = call.Host;
            int? queue = _cluster != null ? await _cluster.QueueOfExtensionAsync(host.TenantId, number)
                : await host.QueryAsync(engine => engine.Queues.FirstOrDefault(q => q.Config.Extension == number)?.Id.Value);
            if (queue == null && _cluster == null && await ReferToAgentAsync(call, agent, refer, number)) return;
            if (queue == null && _options.OutboundProxy == null)
            {
                RefuseRefer(call, refer, 404, "Not Found", $"no queue has the extension {number}, and there is no Sip:OutboundProxy to call a number through");
                return;
            }
            if (queue is { } q && _cluster == null)
            {
                var (state, current) = await host.QueryAsync(engine => engine.TryGetCall(call.Id, out var c) ? (c.State, c.Queue?.Id.Value) : (CallState.Ended, null));
                if (state != CallState.Connected || current == q)
                {
                    RefuseRefer(call, refer, 403, "Forbidden", state != CallState.Connected ? "the call is no longer talking" : "the call is already in that queue");
                    return;
                }
            }
            if (!refer.Accept()) return;
            call.ReferAccepted(refer);
            SipLog.ReferAccepted(_log, call.Id.Value, agent.Value, refer.ReferTo, queue is { } to ? $"queue {to}" : $"number {number}");
            Post(host, new TransferCallCommand(call.Id.Value, queue, queue == null ? number : null), result =>
            {
                if (result != CommandResult.Ok) call.ReferFailed(refer);
            });
        }
        catch (Exception ex)
        {
            LogCommandFailed(_log, ex, "REFER");
            refer.Reject(500, "Server Internal Error");
        }
    }

    /// <summary>
    /// A REFER whose target is the number of one of the tenant's agents (a local agent's extension, a remote agent's
    /// number): the transfer to that agent (<see cref="CallCenter.TransferToAgent"/>) instead of a call through the proxy.
    /// False when no agent has that number. Refused before anything changes: the agent already on the call (403), an
    /// agent logged out or otherwise not Ready and idle (480), ringing or talking (486); else accepted as a blind
    /// transfer to a queue is. With no fallback, a caller the agent does not answer goes back to its place in its queue.
    /// </summary>
    private async Task<bool> ReferToAgentAsync(SipCall call, AgentId agent, SipRefer refer, string number)
    {
        var host = call.Host;
        var (target, check) = await host.QueryAsync(engine =>
        {
            var found = engine.Agents.Where(a => a.Config.Number == number).OrderBy(a => a.Id.Value).FirstOrDefault();
            return found == null ? ((AgentId?)null, CommandResult.UnknownAgent) : (found.Id, engine.CanTransferToAgent(call.Id, found.Id));
        });
        if (target is not { } to) return false;
        switch (check)
        {
            case CommandResult.Ok:
                break;
            case CommandResult.InvalidState or CommandResult.UnknownCall:
                RefuseRefer(call, refer, 403, "Forbidden", "the call is no longer talking");
                return true;
            case CommandResult.InvalidDestination:
                RefuseRefer(call, refer, 403, "Forbidden", "the call is already with that agent");
                return true;
            case CommandResult.AgentBusy:
                RefuseRefer(call, refer, 486, "Busy Here", $"agent {to.Value} is on, or ringing for, another call");
                return true;
            default:
                RefuseRefer(call, refer, 480, "Temporarily Unavailable", $"agent {to.Value} is not available (logged out, Not Ready or wrapping up)");
                return true;
        }
        if (!refer.Accept()) return true;
        call.ReferAccepted(refer);
        SipLog.ReferAccepted(_log, call.Id.Value, agent.Value, refer.ReferTo, $"agent {to.Value}");
        Post(host, new TransferToAgentCommand(call.Id.Value, to.Value, null), result =>
        {
            if (result != CommandResult.Ok) call.ReferFailed(refer);
        });
        return true;
    }

    /// <summary>
    /// An attended transfer (RFC 5589 §7): the Refer-To carries a Replaces header naming the consultation dialog, the
    /// call the agent's phone placed into one of the tenant's queues and an agent answered there. Lineup is both the
    /// transferee and the transfer target, so it joins them itself: the engine's <see cref="AttendedTransferCommand"/>,
    /// whose effects release the first agent (final NOTIFY 200, then BYE), end the consultation (BYE to the phone's
    /// second dialog) and bridge the caller to the consulted agent's answered leg. Refused before anything changes: a
    /// Replaces that does not parse (400); one naming no dialog Lineup has (481, RFC 3891 §3); a dialog that is not a
    /// consultation of this tenant placed from the same address as the REFER (403); a consultation not answered yet, or
    /// answered by the same agent (403; in a cluster the engine checks these after the 202). A refusal by the engine after
    /// the 202: final NOTIFY 503.
    /// </summary>
    private async Task AttendedAsync(SipCall call, AgentId agent, SipRefer refer, string value)
    {
        if (SipReplaces.Parse(value) is not { } named)
        {
            RefuseRefer(call, refer, 400, "Bad Replaces", "Replaces must be callid;to-tag=...;from-tag=... (RFC 3891)");
            return;
        }
        if (Stack.FindDialog(named) is not { } dialog)
        {
            RefuseRefer(call, refer, 481, "Call/Transaction Does Not Exist", $"Replaces names no dialog of Lineup's (Call-ID {named.CallId})");
            return;
        }
        // Only the phone that placed the consultation may join it (RFC 3891 §4 asks for such a check): same tenant, and
        // the consultation came from the address the REFER came from.
        var consultation = _calls.Values.FirstOrDefault(c => c != call && c.Host.TenantId == call.Host.TenantId && c.HasCaller(dialog));
        if (consultation == null || !dialog.Peer.EndPoint.Address.Equals(refer.Remote.EndPoint.Address))
        {
            RefuseRefer(call, refer, 403, "Forbidden", "Replaces must name a call this phone placed into one of the tenant's queues");
            return;
        }
        // The engine checks both calls again; this node can ask it first only when it runs the tenant (single node).
        AgentId? consulted = null;
        if (_cluster == null)
        {
            var (state, to) = await call.Host.QueryAsync(engine =>
                engine.TryGetCall(consultation.Id, out var k) ? (k.State, k.Agent) : (CallState.Ended, (AgentId?)null));
            if (state != CallState.Connected || to == null)
            {
                RefuseRefer(call, refer, 403, "Forbidden", "the consultation call is not talking to an agent (yet)");
                return;
            }
            if (to == agent)
            {
                RefuseRefer(call, refer, 403, "Forbidden", "the consultation call is answered by the transferring agent itself");
                return;
            }
            consulted = to;
        }
        if (!refer.Accept()) return;
        call.ReferAccepted(refer);
        SipLog.ReferAccepted(_log, call.Id.Value, agent.Value, refer.ReferTo, consulted is { } b ? $"agent {b.Value} of consultation {consultation.Id.Value}" : $"consultation {consultation.Id.Value}");
        Post(call.Host, new AttendedTransferCommand(call.Id.Value, consultation.Id.Value), result =>
        {
            if (result != CommandResult.Ok) call.ReferFailed(refer);
        });
    }

    internal void RefuseRefer(SipCall call, SipRefer refer, int status, string reason, string why)
    {
        SipLog.ReferRefused(_log, call.Id.Value, refer.ReferTo, status, why);
        refer.Reject(status, reason, why);
    }
}
