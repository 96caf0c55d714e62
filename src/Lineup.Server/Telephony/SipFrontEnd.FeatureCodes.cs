using Lineup.Engine;
using Lineup.Server.Tenancy;
using Lineup.Sip;
using Lineup.Sip.Media;
using Lineup.Sip.Stack;

namespace Lineup.Server.Telephony;

/// <summary>
/// Phone feature codes and hot desking: an agent's registered phone dials a code (<c>*45</c> log in, <c>*46</c> log
/// out, <c>*47</c> ready, <c>*48</c>[digit] not ready with a reason; <c>Sip:FeatureCodes:*</c>), Lineup answers,
/// plays a confirmation (two short high beeps: done; one long low tone: refused) and hangs up. With
/// <c>Sip:LoginOnRegister</c> a phone's REGISTER logs its agent in. Logins and logouts from the phone carry
/// <c>source: phone</c> in their events.
/// </summary>
public sealed partial class SipFrontEnd
{
    private enum FeatureCode { Login, Logout, Ready, NotReady }

    /// <summary>The confirmation tones, generated (no prompt files): done, and refused.</summary>
    private static readonly AudioClip s_done = Beeps("feature-done", 1400, [(150, true), (100, false), (150, true), (300, false)]);
    private static readonly AudioClip s_refused = Beeps("feature-refused", 400, [(700, true), (300, false)]);

    private static AudioClip Beeps(string name, int hz, (int Ms, bool On)[] parts)
    {
        var samples = new List<short>();
        foreach (var (ms, on) in parts)
            for (var i = 0; i < ms * 8; i++)
                samples.Add(on ? (short)(6000 * Math.Sin(2 * Math.PI * hz * samples.Count / 8000.0)) : (short)0);
        return AudioClip.FromSamples(name, [.. samples]);
    }

    private (FeatureCode Code, string? Reason)? ParseFeatureCode(string number)
    {
        (string Prefix, FeatureCode Code)[] codes =
        [
            (_options.FeatureCodeLogin, FeatureCode.Login), (_options.FeatureCodeLogout, FeatureCode.Logout),
            (_options.FeatureCodeReady, FeatureCode.Ready), (_options.FeatureCodeNotReady, FeatureCode.NotReady),
        ];
        foreach (var (prefix, code) in codes)
        {
            if (string.IsNullOrEmpty(prefix)) continue;
            if (number == prefix) return (code, null);
            if (code != FeatureCode.NotReady || number.Length != prefix.Length + 1 || !number.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var reasons = _options.FeatureCodeReasons.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var digit = number[^1] - '0';
            return digit >= 1 && digit <= reasons.Length ? (code, reasons[digit - 1]) : (code, $"reason {number[^1]}");
        }
        return null;
    }

    /// <summary>Handles an INVITE to a feature code; false when <paramref name="number"/> is not one.</summary>
    private async Task<bool> TryFeatureCodeAsync(SipIncomingRequest request, ITenant host, string number, string caller)
    {
        if (ParseFeatureCode(number) is not { } feature) return false;
        // Only an agent's own phone: the From user is an agent's SIP user registered from the INVITE's address.
        var agent = _credentials.AgentOf(host.Name, caller);
        var registered = _registrar!.Lookup(host.Name, caller).Any(b => b.Source.EndPoint.Address.Equals(request.Remote.EndPoint.Address));
        if (agent is not (> 0 and <= int.MaxValue and var id) || !registered)
        {
            request.Respond(403, "Not A Registered Agent Phone");
            SipLog.InviteRefused(_log, caller, request.Remote, number, 403, $"feature code {number} from a phone not registered here as an agent", request.Request.CallId ?? "");
            return true;
        }
        var agentId = (int)id;
        TenantCommand command = feature.Code switch
        {
            FeatureCode.Login => new LoginCommand(agentId, null, "phone"),
            FeatureCode.Logout => new LogoutCommand(agentId, null, "phone"),
            FeatureCode.Ready => new SetStatusCommand(agentId, AgentStatus.Ready, null),
            _ => new SetStatusCommand(agentId, AgentStatus.NotReady, feature.Reason),
        };
        CommandResult result;
        try
        {
            result = await host.ExecuteAsync(command, (_, r) => r);
        }
        catch (Exception ex)
        {
            LogCommandFailed(_log, ex, "feature code");
            result = CommandResult.InvalidState;
        }
        var done = result is CommandResult.Ok or CommandResult.Ignored;
        LogFeatureCode(_log, agentId, number, feature.Code.ToString(), result.ToString());
        if (!TryCreateLeg(out var leg))
        {
            request.Respond(done ? 200 : 403);
            return true;
        }
        var answer = leg.Answer(request.Request.Body.Span, out _);
        if (answer == null)
        {
            await leg.DisposeAsync();
            request.Respond(488);
            return true;
        }
        var session = request.AcceptInvite();
        session.Ended += (_, _) => _ = leg.DisposeAsync().AsTask();
        leg.PlaybackFinished += _ => session.Hangup();
        session.Answer(answer);
        leg.Play([done ? s_done : s_refused], null);
        return true;
    }

    /// <summary>Hot desking: the agent whose SIP user just registered is logged in to all its queues.</summary>
    private void LoginOnRegister(ITenant host, SipMessage register)
    {
        if (register.To?.SipUri?.User is not { } user || _credentials.AgentOf(host.Name, user) is not (> 0 and <= int.MaxValue and var id)) return;
        Post(host, new LoginCommand((int)id, null, "phone"));
    }

    [LoggerMessage(EventId = 606, Level = LogLevel.Information, Message = "SIP agent {Agent} dialled feature code {Code} ({Feature}): {Result}")]
    private static partial void LogFeatureCode(ILogger logger, int agent, string code, string feature, string result);
}
