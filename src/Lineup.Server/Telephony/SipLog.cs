using Lineup.Sip.Stack;
using Lineup.Sip.Transport;

namespace Lineup.Server.Telephony;

/// <summary>
/// What the SIP front-end did, one information line per step a person debugging a phone needs to see: a registration
/// (or its refusal), an incoming INVITE (queued or refused), an agent's phones rung (or why not), an answer, a phone's
/// refusal, a hang-up. Each names the engine's call id, the agent, the addresses and the SIP status, so "the phone never
/// rang" is one grep away. Whole SIP messages are logged by the stack at Debug (category Lineup.Sip.Stack.SipStack).
/// </summary>
internal static partial class SipLog
{
    [LoggerMessage(EventId = 610, Level = LogLevel.Information,
        Message = "SIP REGISTER {User}@{Realm} from {Source}: {Status} {Reason}, {Contacts} contact(s) (Call-ID {SipCallId})")]
    public static partial void Registered(ILogger logger, string user, string realm, SipRemote source, int status, string reason, int contacts,
        string sipCallId);

    [LoggerMessage(EventId = 611, Level = LogLevel.Debug,
        Message = "SIP REGISTER {User}@{Realm} from {Source}: challenged (401) (Call-ID {SipCallId})")]
    public static partial void Challenged(ILogger logger, string user, string realm, SipRemote source, string sipCallId);

    [LoggerMessage(EventId = 612, Level = LogLevel.Information,
        Message = "SIP INVITE from {Caller} at {Source} to {Number} (tenant {Tenant}): answered, queued as call {Call} (Call-ID {SipCallId})")]
    public static partial void InviteQueued(ILogger logger, string caller, SipRemote source, string number, string tenant, long call, string sipCallId);

    [LoggerMessage(EventId = 613, Level = LogLevel.Information,
        Message = "SIP INVITE from {Caller} at {Source} to {Number}: refused {Status}, {Reason} (Call-ID {SipCallId})")]
    public static partial void InviteRefused(ILogger logger, string caller, SipRemote source, string number, int status, string reason, string sipCallId);

    [LoggerMessage(EventId = 614, Level = LogLevel.Information,
        Message = "SIP ringing agent {Agent} for call {Call} from {Caller}: {Targets}")]
    public static partial void Ringing(ILogger logger, int agent, long call, string caller, string targets);

    [LoggerMessage(EventId = 615, Level = LogLevel.Information,
        Message = "SIP cannot ring agent {Agent} for call {Call}: {Reason}; reported as {Outcome}")]
    public static partial void Unreachable(ILogger logger, int agent, long call, string reason, string outcome);

    [LoggerMessage(EventId = 616, Level = LogLevel.Information,
        Message = "SIP agent {Agent} answered call {Call} from {Peer} (Call-ID {SipCallId})")]
    public static partial void AgentAnswered(ILogger logger, int agent, long call, SipRemote peer, string sipCallId);

    [LoggerMessage(EventId = 617, Level = LogLevel.Information,
        Message = "SIP agent {Agent}'s phone at {Peer} refused call {Call}: {Status}{Outcome} (Call-ID {SipCallId})")]
    public static partial void AgentRefused(ILogger logger, int agent, SipRemote peer, long call, int status, string outcome, string sipCallId);

    [LoggerMessage(EventId = 618, Level = LogLevel.Information,
        Message = "SIP {Party} at {Peer} hung up call {Call}: {Reason} (Call-ID {SipCallId})")]
    public static partial void HungUp(ILogger logger, string party, SipRemote peer, long call, SipEndReason reason, string sipCallId);

    [LoggerMessage(EventId = 619, Level = LogLevel.Information,
        Message = "SIP Lineup ends call {Call}'s caller leg at {Peer} (Call-ID {SipCallId})")]
    public static partial void CallerReleased(ILogger logger, long call, SipRemote peer, string sipCallId);

    [LoggerMessage(EventId = 620, Level = LogLevel.Information,
        Message = "SIP stops ringing agent {Agent} for call {Call}: the offer ended ({Outcome})")]
    public static partial void StopRinging(ILogger logger, int agent, long call, string outcome);

    [LoggerMessage(EventId = 649, Level = LogLevel.Information, Message = "SIP call {Call}: agent {Agent} answered and hears the queue's whisper ({Seconds:F1} s) before the bridge")]
    public static partial void AgentWhisper(ILogger logger, long agent, long call, double seconds);

    // 640-649: issue 15a (media library, survey).
    [LoggerMessage(EventId = 640, Level = LogLevel.Information, Message = "SIP call {Call}: the agent hung up first; the caller is asked to rate the call")]
    public static partial void SurveyStarted(ILogger logger, long call);

    // 650-659: voicemail (655, 656: VoicemailMailer).
    [LoggerMessage(EventId = 650, Level = LogLevel.Information, Message = "SIP call {Call}: the caller hears queue {Queue}'s voicemail greeting")]
    public static partial void VoicemailGreeting(ILogger logger, long call, long queue);

    [LoggerMessage(EventId = 651, Level = LogLevel.Information,
        Message = "SIP call {Call}: voicemail {Id} of queue {Queue} stored, {Seconds:0.0} s, ended by {Reason}")]
    public static partial void VoicemailStored(ILogger logger, long call, long id, long queue, double seconds, string reason);

    [LoggerMessage(EventId = 652, Level = LogLevel.Information, Message = "SIP call {Call}: the caller left no message ({Seconds:0.0} s, no voice); nothing stored")]
    public static partial void VoicemailEmpty(ILogger logger, long call, double seconds);

    [LoggerMessage(EventId = 653, Level = LogLevel.Error, Message = "SIP call {Call}: voicemail could not be recorded")]
    public static partial void VoicemailFailed(ILogger logger, Exception ex, long call);

    [LoggerMessage(EventId = 660, Level = LogLevel.Information, Message = "SIP call {Call}: agent {Agent} REFERs the caller to {Target} ({Destination}): accepted")]
    public static partial void ReferAccepted(ILogger logger, long call, long agent, string target, string destination);

    [LoggerMessage(EventId = 662, Level = LogLevel.Information, Message = "SIP call {Call}: agent {Agent} {What}")]
    public static partial void AgentHold(ILogger logger, long agent, long call, string what);

    [LoggerMessage(EventId = 663, Level = LogLevel.Information,
        Message = "SIP call {Call}: the consultation ends and agent {Agent}'s answered phone goes on with the caller of call {Into}")]
    public static partial void HandedOver(ILogger logger, long agent, long call, long into);

    [LoggerMessage(EventId = 664, Level = LogLevel.Warning,
        Message = "SIP call {Call}: {Who} sent no media (RTP or RTCP) for {Seconds} s: hung up (Sip:MediaTimeoutSeconds, dialog {SipCallId})")]
    public static partial void MediaTimeout(ILogger logger, long call, string who, double seconds, string sipCallId);

    [LoggerMessage(EventId = 661, Level = LogLevel.Information, Message = "SIP call {Call}: REFER to {Target} refused with {Status}: {Reason}")]
    public static partial void ReferRefused(ILogger logger, long call, string target, int status, string reason);
}
