using System.Net;

namespace Lineup.Server.Tests.Dialects;

/// <summary>Issue 15's Telphin fields that now act: an extension's <c>status</c>.</summary>
public sealed partial class TelphinTests
{
    [Fact]
    public async Task An_inactive_extension_takes_no_calls_and_the_native_api_can_activate_it()
    {
        var ext = await Send(Admin, HttpMethod.Post, "/client/@me/extension/", new { status = "inactive", name = ApiFixture.Number()[2..], type = "queue" },
            HttpStatusCode.Created);
        Assert.Equal("inactive", ext.Str("status"));
        var q = ext.Id();
        Assert.False((await Admin.OkAsync($"/api/v1/queues/{q}")).GetProperty("active").GetBoolean());
        Assert.Equal("ended", (await fx.Tenant.CallAsync(q)).Str("state")); // hung up at once: "hang up" is the default destination

        // Active again, the queue takes the call, and (no agent logged in, exit_with_no_av_agents) lets it go for that reason.
        await Admin.PatchOkAsync($"/api/v1/queues/{q}", new { active = true });
        Assert.Equal("ended", (await fx.Tenant.CallAsync(q)).Str("state"));
        var reasons = (await Admin.OkAsync($"/api/v1/cdrs?queue_id={q}")).Items().Select(c => c.Str("exit_reason")!).Order().ToArray();
        Assert.Equal(["inactive", "no_agents"], reasons);
    }

    [Fact]
    public void An_agent_login_from_the_phone_is_sent_with_event_source_phone()
    {
        const string json = """{"type":"agent.login","data":{"agent_name":"a","agent_kind":"local","agent_number":"94","status":"ready","source":"phone"}}""";
        var e = new global::Lineup.Server.Events.EventRecord(1, 1, 0, global::Lineup.Server.Events.EventTypes.AgentLogin, 5, 7, null, json);
        Assert.Equal("agent_status=available&agent_type=local&event_source=phone&agent_id=7&extension_name=94",
            global::Lineup.Server.Api.Dialects.Telphin.TelphinEvents.Payload(e));
    }
}
