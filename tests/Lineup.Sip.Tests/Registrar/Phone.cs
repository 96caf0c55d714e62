using System.Globalization;
using System.Net;
using System.Text;
using Lineup.Sip.Registrar;
using Lineup.Sip.Transport;

namespace Lineup.Sip.Tests.Registrar;

/// <summary>A fake phone: builds REGISTER requests and answers the registrar's challenges like a UA would.</summary>
internal sealed class Phone(string user, string password, string realm = "acme", string address = "203.0.113.7:5060")
{
    private uint _cseq;
    private uint _nc;
    private string? _nonce;
    private string _algorithm = "MD5";

    public string User => user;
    public string CallId { get; set; } = Guid.NewGuid().ToString("N") + "@phone";
    public string Password { get; set; } = password;
    public SipRemote Remote { get; set; } = new(SipTransportKind.Udp, IPEndPoint.Parse(address));

    /// <summary>A REGISTER; with <paramref name="authorize"/> it carries credentials for the last challenge seen.</summary>
    public SipMessage Register(string? contacts = null, uint? expires = null, bool authorize = true, string? aor = null,
        uint? cseq = null, string? nc = null, string? authorization = null)
    {
        contacts ??= $"<sip:{user}@192.168.1.20:5060>";
        var n = cseq ?? ++_cseq;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"REGISTER sip:{realm} SIP/2.0\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK{Guid.NewGuid():N};rport\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"From: <sip:{aor ?? user}@{realm}>;tag=f{n}\r\nTo: <sip:{aor ?? user}@{realm}>\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"Call-ID: {CallId}\r\nCSeq: {n} REGISTER\r\nMax-Forwards: 70\r\n");
        if (contacts.Length > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"Contact: {contacts}\r\n");
        }
        if (expires is { } e)
        {
            sb.Append(CultureInfo.InvariantCulture, $"Expires: {e}\r\n");
        }
        if (authorization != null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"Authorization: {authorization}\r\n");
        }
        else if (authorize && _nonce != null)
        {
            var count = nc ?? (++_nc).ToString("x8", CultureInfo.InvariantCulture);
            var algorithm = _algorithm == "SHA-256" ? DigestAlgorithm.Sha256 : DigestAlgorithm.Md5;
            var uri = $"sip:{realm}";
            var ha1 = DigestAuthenticator.Ha1(algorithm, user, realm, Password);
            var response = DigestAuthenticator.Response(algorithm, ha1, _nonce, count, "0a4f113b", "auth", "REGISTER", uri);
            sb.Append(CultureInfo.InvariantCulture, $"Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{_nonce}\", uri=\"{uri}\", " +
                $"response=\"{response}\", algorithm={_algorithm}, cnonce=\"0a4f113b\", qop=auth, nc={count}\r\n");
        }
        sb.Append("Content-Length: 0\r\n\r\n");
        var parsed = SipParser.Parse(Encoding.UTF8.GetBytes(sb.ToString()));
        Assert.True(parsed.Success, parsed.Detail);
        return parsed.Message!;
    }

    /// <summary>Remembers the nonce of a 401 (the challenge with <paramref name="algorithm"/>).</summary>
    public void Learn(SipMessage challenge, string algorithm = "MD5")
    {
        Assert.Equal(401, challenge.StatusLine!.StatusCode);
        var header = challenge.GetValues("WWW-Authenticate").Single(v => v.Contains("algorithm=" + algorithm, StringComparison.Ordinal));
        var start = header.IndexOf("nonce=\"", StringComparison.Ordinal) + 7;
        _nonce = header[start..header.IndexOf('"', start)];
        _nc = 0;
        _algorithm = algorithm;
    }
}

/// <summary>Credentials in a dictionary.</summary>
internal sealed class Credentials : ISipCredentialSource
{
    private readonly Dictionary<(string, string), SipCredential> _map = [];

    public Credentials Add(string realm, string user, string password)
    {
        _map[(realm, user)] = SipCredential.Create(user, realm, password);
        return this;
    }

    public SipCredential? Find(string realm, string username) => _map.GetValueOrDefault((realm, username));
}
