using System.Net;

namespace Lineup.Server.Tests.Dialects;

/// <summary>Issue 15's Telphin fields that now act: an extension's <c>status</c>, the queue's <c>vm_*</c> voicemail box.</summary>
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
    public async Task The_vm_fields_set_the_queue_s_voicemail_box_and_empty_transfer_numbers_leave_a_voicemail_while_it_is_on()
    {
        var ext = await Send(Admin, HttpMethod.Post, "/client/@me/extension/", new { name = ApiFixture.Number()[2..], type = "queue" }, HttpStatusCode.Created);
        var q = ext.Id();
        var native = await Admin.OkAsync($"/api/v1/queues/{q}");
        Assert.True(native.GetProperty("voicemail").GetProperty("enabled").GetBoolean()); // the seed's default
        Assert.Equal("voicemail", native.GetProperty("destinations").GetProperty("no_agents").Str("type"));

        await Send(Admin, HttpMethod.Put, $"/extension/{q}/queue/",
            new { vm_greeting = 12, vm_mailto = "sales@example.com", vm_attach_file = false, timeout_transfer_dst = "333" }, HttpStatusCode.OK);
        native = await Admin.OkAsync($"/api/v1/queues/{q}");
        var vm = native.GetProperty("voicemail");
        Assert.Equal(("12", "sales@example.com", false), (vm.Str("greeting"), vm.Str("mail_to"), vm.GetProperty("attach_audio").GetBoolean()));
        Assert.Equal(("number", "voicemail"), (native.GetProperty("destinations").GetProperty("timeout").Str("type"),
            native.GetProperty("destinations").GetProperty("exit_key").Str("type")));
        // A caller with no agent logged in leaves for the box (Disposition voicemail in the CDR).
        Assert.Equal("ended", (await fx.Tenant.CallAsync(q)).Str("state"));
        Assert.Equal("voicemail", (await Admin.OkAsync($"/api/v1/cdrs?queue_id={q}")).Items().Single().Str("disposition"));

        var off = await Send(Admin, HttpMethod.Put, $"/extension/{q}/queue/", new { vm_enabled = false }, HttpStatusCode.OK);
        Assert.Equal((false, 12L, "sales@example.com", false), (off.GetProperty("vm_enabled").GetBoolean(), off.GetProperty("vm_greeting").GetInt64(),
            off.Str("vm_mailto"), off.GetProperty("vm_attach_file").GetBoolean()));
        native = await Admin.OkAsync($"/api/v1/queues/{q}");
        Assert.Equal(("hangup", "number"), (native.GetProperty("destinations").GetProperty("no_agents").Str("type"),
            native.GetProperty("destinations").GetProperty("timeout").Str("type")));

        var bad = await Send(Admin, HttpMethod.Put, $"/extension/{q}/queue/", new { vm_mailto = "nobody" }, HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("vm_mailto", out _), bad.ToString());
        Assert.Equal("sales@example.com", (await Admin.OkAsync($"/api/v1/queues/{q}")).GetProperty("voicemail").Str("mail_to"));
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
