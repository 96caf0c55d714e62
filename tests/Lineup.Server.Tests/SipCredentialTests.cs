using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Lineup.Server.Storage;
using Lineup.Server.Telephony;
using Lineup.Sip;
using Lineup.Sip.Registrar;
using Lineup.Sip.Transport;
using Microsoft.Extensions.DependencyInjection;

namespace Lineup.Server.Tests;

/// <summary>Agents' SIP credentials: PUT/GET/DELETE /api/v1/agents/{id}/sip, what is stored, and what the
/// registrar's credential source then finds.</summary>
public class SipCredentialTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private TenantSession T => fx.Tenant;
    private HttpClient Admin => fx.Tenant.Admin;
    private SipCredentialStore Credentials => fx.Factory.Services.GetRequiredService<SipCredentialStore>();
    private CredentialStore Store => fx.Factory.Services.GetRequiredService<CredentialStore>();

    private static string Md5(string s) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(s)));
    private static string Sha256(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));

    [Fact]
    public async Task Set_read_and_remove_a_credential_without_ever_showing_the_password()
    {
        var number = ApiFixture.Number();
        var agent = await T.AgentAsync(number);
        var set = await Admin.PutOkAsync($"/api/v1/agents/{agent}/sip", new { password = "phone-secret-1" });
        Assert.Equal(["agent_id", "username", "realm", "updated_at"], set.EnumerateObject().Select(p => p.Name));
        Assert.Equal(agent, set.Long("agent_id"));
        Assert.Equal(number, set.Str("username")); // the agent's number by default
        Assert.Equal(T.Name, set.Str("realm")); // the tenant's name
        var read = await Admin.OkAsync($"/api/v1/agents/{agent}/sip");
        Assert.Equal(set.GetRawText(), read.GetRawText());

        // Only the HA1 hashes are stored; they are what RFC 7616 §3.4.2 defines.
        var row = await Store.GetSipCredentialAsync(T.Id, agent);
        Assert.NotNull(row);
        Assert.Equal(Md5($"{number}:{T.Name}:phone-secret-1"), row.Ha1Md5);
        Assert.Equal(Sha256($"{number}:{T.Name}:phone-secret-1"), row.Ha1Sha256);
        var found = Credentials.Find(T.Name, number);
        Assert.NotNull(found);
        Assert.Equal(row.Ha1Md5, found.Ha1Md5);
        Assert.Null(Credentials.Find("another-realm", number));

        // A new username and password replace the old ones.
        var renamed = await Admin.PutOkAsync($"/api/v1/agents/{agent}/sip", new { username = "desk.phone-" + number, password = "phone-secret-2" });
        Assert.Equal("desk.phone-" + number, renamed.Str("username"));
        Assert.Null(Credentials.Find(T.Name, number));
        Assert.Equal(Md5($"desk.phone-{number}:{T.Name}:phone-secret-2"), Credentials.Find(T.Name, "desk.phone-" + number)?.Ha1Md5);

        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"/api/v1/agents/{agent}/sip")).StatusCode);
        await Admin.GetAsync($"/api/v1/agents/{agent}/sip").ProblemAsync(HttpStatusCode.NotFound);
        await Admin.DeleteAsync($"/api/v1/agents/{agent}/sip").ProblemAsync(HttpStatusCode.NotFound);
        Assert.Null(Credentials.Find(T.Name, "desk.phone-" + number));
        Assert.Null(await Store.GetSipCredentialAsync(T.Id, agent));
    }

    [Fact]
    public async Task Invalid_bodies_get_400_naming_the_field()
    {
        var agent = await T.AgentAsync();
        var path = $"/api/v1/agents/{agent}/sip";
        await Admin.PutAsJsonAsync(path, new { username = "1001" }).ProblemAsync(HttpStatusCode.BadRequest, "password");
        await Admin.PutAsJsonAsync(path, new { password = "short" }).ProblemAsync(HttpStatusCode.BadRequest, "password");
        await Admin.PutAsJsonAsync(path, new { password = new string('x', 129) }).ProblemAsync(HttpStatusCode.BadRequest, "password");
        await Admin.PutAsJsonAsync(path, new { username = "a b", password = "phone-secret-1" }).ProblemAsync(HttpStatusCode.BadRequest, "username");
        await Admin.PutAsJsonAsync(path, new { username = "a\"b", password = "phone-secret-1" }).ProblemAsync(HttpStatusCode.BadRequest, "username");
        await Admin.PutAsJsonAsync(path, new { username = "", password = "phone-secret-1" }).ProblemAsync(HttpStatusCode.BadRequest, "username");
        await Admin.PutAsJsonAsync(path, new { username = new string('1', 65), password = "phone-secret-1" }).ProblemAsync(HttpStatusCode.BadRequest, "username");
        await Admin.PutAsJsonAsync(path, new { password = "phone-secret-1", ha1 = "x" }).ProblemAsync(HttpStatusCode.BadRequest, "ha1");
        await Admin.SendRawAsync(HttpMethod.Put, path, "{").ProblemAsync(HttpStatusCode.BadRequest, "body");
        await Admin.GetAsync(path).ProblemAsync(HttpStatusCode.NotFound);
        // 8 and 128 characters are both fine.
        await Admin.PutOkAsync(path, new { password = "12345678" });
        await Admin.PutOkAsync(path, new { password = new string('p', 128) });
    }

    [Fact]
    public async Task Unknown_and_other_tenants_agents_are_not_found()
    {
        var other = await fx.CreateTenantAsync();
        var theirs = await other.AgentAsync();
        await other.Admin.PutOkAsync($"/api/v1/agents/{theirs}/sip", new { password = "phone-secret-1" });
        foreach (var id in new[] { theirs, 999_999_999L, 0L, -1L })
        {
            await Admin.PutAsJsonAsync($"/api/v1/agents/{id}/sip", new { password = "phone-secret-1" }).ProblemAsync(HttpStatusCode.NotFound);
            await Admin.GetAsync($"/api/v1/agents/{id}/sip").ProblemAsync(HttpStatusCode.NotFound);
            await Admin.DeleteAsync($"/api/v1/agents/{id}/sip").ProblemAsync(HttpStatusCode.NotFound);
        }
        await other.Admin.OkAsync($"/api/v1/agents/{theirs}/sip");
    }

    [Fact]
    public async Task A_username_is_unique_within_a_tenant_only()
    {
        var username = ApiFixture.Unique("shared-");
        var a = await T.AgentAsync();
        var b = await T.AgentAsync();
        await Admin.PutOkAsync($"/api/v1/agents/{a}/sip", new { username, password = "phone-secret-1" });
        await Admin.PutAsJsonAsync($"/api/v1/agents/{b}/sip", new { username, password = "phone-secret-2" }).ProblemAsync(HttpStatusCode.Conflict);
        Assert.Null(await Store.GetSipCredentialAsync(T.Id, b));
        // The same agent may set it again; another tenant may use the same name.
        await Admin.PutOkAsync($"/api/v1/agents/{a}/sip", new { username, password = "phone-secret-3" });
        var other = await fx.CreateTenantAsync();
        var c = await other.AgentAsync();
        await other.Admin.PutOkAsync($"/api/v1/agents/{c}/sip", new { username, password = "phone-secret-4" });
        Assert.Equal(Md5($"{username}:{T.Name}:phone-secret-3"), Credentials.Find(T.Name, username)?.Ha1Md5);
        Assert.Equal(Md5($"{username}:{other.Name}:phone-secret-4"), Credentials.Find(other.Name, username)?.Ha1Md5);
    }

    [Fact]
    public async Task An_agent_user_sets_its_own_password_only_and_supervisors_any()
    {
        var mine = await T.AgentAsync();
        var theirs = await T.AgentAsync();
        var agent = await T.AgentUserAsync(mine);
        await agent.PutOkAsync($"/api/v1/agents/{mine}/sip", new { password = "phone-secret-1" });
        await agent.OkAsync($"/api/v1/agents/{mine}/sip");
        await agent.PutAsJsonAsync($"/api/v1/agents/{theirs}/sip", new { password = "phone-secret-1" }).ProblemAsync(HttpStatusCode.Forbidden);
        await agent.GetAsync($"/api/v1/agents/{theirs}/sip").ProblemAsync(HttpStatusCode.Forbidden);
        await agent.DeleteAsync($"/api/v1/agents/{mine}/sip").ProblemAsync(HttpStatusCode.Forbidden);
        var supervisor = await T.SupervisorAsync();
        await supervisor.PutOkAsync($"/api/v1/agents/{theirs}/sip", new { password = "phone-secret-2" });
        Assert.Equal(HttpStatusCode.NoContent, (await supervisor.DeleteAsync($"/api/v1/agents/{theirs}/sip")).StatusCode);
        await fx.Anonymous().GetAsync($"/api/v1/agents/{mine}/sip").ProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Removing_the_agent_removes_its_credential()
    {
        var number = ApiFixture.Number();
        var agent = await T.AgentAsync(number);
        await Admin.PutOkAsync($"/api/v1/agents/{agent}/sip", new { password = "phone-secret-1" });
        Assert.NotNull(Credentials.Find(T.Name, number));
        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"/api/v1/agents/{agent}")).StatusCode);
        Assert.Null(Credentials.Find(T.Name, number));
        Assert.Null(await Store.GetSipCredentialAsync(T.Id, agent));
    }

    [Fact]
    public async Task Renaming_the_tenant_retires_its_credentials_until_set_again()
    {
        var tenant = await fx.CreateTenantAsync();
        var number = ApiFixture.Number();
        var agent = await tenant.AgentAsync(number);
        await tenant.Admin.PutOkAsync($"/api/v1/agents/{agent}/sip", new { password = "phone-secret-1" });
        Assert.NotNull(Credentials.Find(tenant.Name, number));
        var renamed = ApiFixture.Unique("renamed-");
        await fx.SystemAdmin.PatchOkAsync($"/api/v1/tenants/{tenant.Id}", new { name = renamed });
        Assert.Null(Credentials.Find(tenant.Name, number)); // HA1 holds the old realm
        Assert.Null(Credentials.Find(renamed, number));
        var set = await tenant.Admin.PutOkAsync($"/api/v1/agents/{agent}/sip", new { password = "phone-secret-1" });
        Assert.Equal(renamed, set.Str("realm"));
        Assert.Equal(Md5($"{number}:{renamed}:phone-secret-1"), Credentials.Find(renamed, number)?.Ha1Md5);
    }

    [Fact]
    public async Task A_phone_registers_with_the_password_set_through_the_api()
    {
        var number = ApiFixture.Number();
        var agent = await T.AgentAsync(number);
        await Admin.PutOkAsync($"/api/v1/agents/{agent}/sip", new { password = "phone-secret-1" });
        using var registrar = new SipRegistrar(new SipRegistrarOptions(), TimeProvider.System, Credentials,
            new AuthThrottle(new AuthThrottleOptions(), TimeProvider.System));
        var remote = new SipRemote(SipTransportKind.Udp, IPEndPoint.Parse("203.0.113.9:5060"));
        var uri = $"sip:{T.Name}";
        SipMessage Register(int cseq, string? authorization) => SipParser.Parse(Encoding.UTF8.GetBytes(
            $"REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK{Guid.NewGuid():N}\r\n" +
            $"From: <sip:{number}@{T.Name}>;tag=1\r\nTo: <sip:{number}@{T.Name}>\r\nCall-ID: c-{number}\r\nCSeq: {cseq} REGISTER\r\n" +
            $"Contact: <sip:{number}@10.0.0.9>\r\n" + (authorization == null ? "" : $"Authorization: {authorization}\r\n") +
            "Content-Length: 0\r\n\r\n")).Message!;

        var challenge = registrar.Handle(Register(1, null), remote, T.Name);
        Assert.Equal(401, challenge.StatusLine!.StatusCode);
        var offer = challenge.GetValues("WWW-Authenticate").First(v => v.Contains("SHA-256", StringComparison.Ordinal));
        var start = offer.IndexOf("nonce=\"", StringComparison.Ordinal) + 7;
        var nonce = offer[start..offer.IndexOf('"', start)];
        string Authorization(string password, string nc) =>
            $"Digest username=\"{number}\", realm=\"{T.Name}\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm=SHA-256, qop=auth, nc={nc}, " +
            $"cnonce=\"abc\", response=\"{DigestAuthenticator.Response(DigestAlgorithm.Sha256, Sha256($"{number}:{T.Name}:{password}"), nonce, nc, "abc", "auth", "REGISTER", uri)}\"";

        Assert.Equal(401, registrar.Handle(Register(2, Authorization("wrong-secret", "00000001")), remote, T.Name).StatusLine!.StatusCode);
        Assert.Equal(200, registrar.Handle(Register(3, Authorization("phone-secret-1", "00000002")), remote, T.Name).StatusLine!.StatusCode);
        Assert.Equal(remote, Assert.Single(registrar.Lookup(T.Name, number)).Source);

        // Once the credential is removed, the phone cannot register any more.
        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"/api/v1/agents/{agent}/sip")).StatusCode);
        Assert.Equal(401, registrar.Handle(Register(4, Authorization("phone-secret-1", "00000003")), remote, T.Name).StatusLine!.StatusCode);
    }
}
