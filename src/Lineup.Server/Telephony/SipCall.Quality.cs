using Lineup.Server.Records;
using Lineup.Sip.Media;

namespace Lineup.Server.Telephony;

internal sealed partial class SipCall
{
    // The last agent leg bridged to the caller: its quality goes in the CDR even after the agent hung up.
    private RtpLeg? _agentMedia;

    /// <summary>The call quality of the caller's leg and of the agent leg it talked to (RFC 3550 reception statistics
    /// and the peers' RTCP reports), as far as they went: a closed leg keeps its last figures.</summary>
    public CdrMediaQualityRecord Quality()
    {
        RtpLeg? caller, agent;
        lock (_gate)
        {
            caller = _callerMedia;
            agent = _agentMedia;
        }
        return new CdrMediaQualityRecord(Of(caller), Of(agent));
    }

    private static CdrLegQualityRecord? Of(RtpLeg? leg) => leg is null ? null : CdrLegQualityRecord.From(leg.Quality);
}
