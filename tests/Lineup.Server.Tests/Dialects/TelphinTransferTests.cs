using System.Net;
using System.Net.Http.Json;

namespace Lineup.Server.Tests.Dialects;

/// <summary>The seed's <c>agent_hangup_action = transfer</c>: when the agent hangs up first, the caller is sent on to
/// <c>agent_hangup_transfer_dst</c>.</summary>
public sealed partial class TelphinTests
{
    [Fact]
    public async Task Agent_hangup_action_transfer_sends_the_caller_to_the_transfer_number_when_the_agent_hangs_up_first()
    {
        var q = await QueueAsync();
        var queue = await Send(Admin, HttpMethod.Put, $"/extension/{q}/queue/",
            new { agent_hangup_action = "transfer", agent_hangup_transfer_dst = "5550188" }, HttpStatusCode.OK);
        Assert.Equal(("transfer", "5550188"), (queue.Str("agent_hangup_action"), queue.Str("agent_hangup_transfer_dst")));
        Assert.Equal("5550188", (await Admin.OkAsync($"/api/v1/queues/{q}")).Str("agent_hangup_transfer"));

        var t = fx.Tenant;
        var agent = await t.ReadyAgentAsync(q);
        var call = (await t.CallAsync(q)).Id();
        await t.EventAsync(call, "agent_answered", agent);
        var ended = await t.EventAsync(call, "agent_hangup");
        Assert.Equal(("ended", "transferred"), (ended.Str("state"), ended.Str("disposition")));
        var cdr = Assert.Single((await Admin.OkAsync($"/api/v1/cdrs?queue_id={q}")).Items());
        Assert.Equal(("5550188", agent), (cdr.Str("destination_target"), cdr.Long("agent_id")));

        // The number alone changes the target; quality_rate replaces the transfer with the survey.
        await Send(Admin, HttpMethod.Put, $"/extension/{q}/queue/", new { agent_hangup_transfer_dst = "5550199" }, HttpStatusCode.OK);
        Assert.Equal("5550199", (await Admin.OkAsync($"/api/v1/queues/{q}")).Str("agent_hangup_transfer"));
        queue = await Send(Admin, HttpMethod.Put, $"/extension/{q}/queue/", new { agent_hangup_action = "quality_rate" }, HttpStatusCode.OK);
        Assert.Equal("quality_rate", queue.Str("agent_hangup_action"));
        var native = await Admin.OkAsync($"/api/v1/queues/{q}");
        Assert.True(native.IsNull("agent_hangup_transfer"));
        Assert.Equal(5, native.Int("survey_max_rating"));

        // A caller hanging up first is never transferred; a bad number is refused and changes nothing.
        await Send(Admin, HttpMethod.Put, $"/extension/{q}/queue/", new { agent_hangup_action = "transfer" }, HttpStatusCode.OK);
        var before = await Send(Admin, HttpMethod.Get, $"/extension/{q}/queue/", null, HttpStatusCode.OK);
        await Error(await Admin.SendJsonAsync(HttpMethod.Put, $"{Api}/extension/{q}/queue/", new { agent_hangup_transfer_dst = "call me" }),
            HttpStatusCode.BadRequest, "agent_hangup_transfer_dst");
        Assert.Equal(before.GetRawText(), (await Send(Admin, HttpMethod.Get, $"/extension/{q}/queue/", null, HttpStatusCode.OK)).GetRawText());
        var second = (await t.CallAsync(q)).Id();
        await t.EventAsync(second, "agent_answered", agent);
        Assert.Equal("answered", (await t.EventAsync(second, "caller_hangup")).Str("disposition"));
    }

    [Fact]
    public async Task The_native_api_sets_the_agent_hangup_transfer_and_checks_its_number()
    {
        var q = await QueueAsync();
        await Admin.PatchOkAsync($"/api/v1/queues/{q}", new { agent_hangup_transfer = "+15550177" });
        var queue = await Send(Admin, HttpMethod.Get, $"/extension/{q}/queue/", null, HttpStatusCode.OK);
        Assert.Equal(("transfer", "+15550177"), (queue.Str("agent_hangup_action"), queue.Str("agent_hangup_transfer_dst")));
        await (await Admin.PatchAsJsonAsync($"/api/v1/queues/{q}", new { agent_hangup_transfer = "not a number" }))
            .ProblemAsync(HttpStatusCode.BadRequest, "agent_hangup_transfer");
        Assert.Equal("+15550177", (await Admin.OkAsync($"/api/v1/queues/{q}")).Str("agent_hangup_transfer"));
    }
}
