using Lineup.Sip.Registrar;
namespace Lineup.Server.Telephony;

public sealed class SipCredentialStore : ISipCredentialSource
{
    public SipCredential? Find(string realm, string username) => null;
    public string? UsernameOf(long tenant, int agent) => null;
}
