using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Lineup.Server.Tests;

/// <summary><c>POST /api/v1/calls/{id}/transfer</c>: a blind transfer of a connected call to another queue, a number or
/// one agent.</summary>
public class TransferApiTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private TenantSession T => fx.Tenant;
    private HttpClient Admin => fx.Tenant.Admin;

    /// <summary>A call of <paramref name="queue"/> answered by <paramref name="agent"/> (still talking).</summary>
    private async Task<long> TalkingAsync(long queue, long agent)
    {
        var call = (await T.CallAsync(queue)).Id();
        await T.EventAsync(call, "agent_answered", agent);
        return call;
    }

    private Task<HttpResponseMessage> TransferAsync(long call, object body, HttpClient? client = null) =>
        (client ?? Admin).PostAsJsonAsync($"/api/v1/calls/{call}/transfer", body);

    private async Task<JsonElement[]> EventsAsync(string type, long call) =>
        [.. (await Admin.OkAsync($"/api/v1/events?types={type}&limit=1000")).Items().Where(e => e.Long("call_id") == call)];

    [Fact]
    public async Task A_call_transferred_to_a_queue_waits_there_rings_its_agents_and_frees_the_first_agent()
    {
        var first = await T.QueueAsync();
        var second = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(first);
        var other = await T.ReadyAgentAsync(second);
        var call = await TalkingAsync(first, agent);

        var moved = await (await TransferAsync(call, new { queue_id = second })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal(("waiting", second), (moved.Str("state"), moved.Long("queue_id")));
        Assert.Equal(other, Assert.Single(moved.GetProperty("offers").EnumerateArray()).Long("agent_id"));
        Assert.NotEqual("talking", (await Admin.OkAsync($"/api/v1/agents/{agent}/status")).Str("activity"));
        var started = Assert.Single(await EventsAsync("call.transfer_started", call));
        Assert.Equal((agent, first), (started.Long("agent_id"), started.Long("queue_id")));
        var data = started.GetProperty("data");
        Assert.Equal(("queue", second), (data.Str("destination"), data.Long("to_queue_id")));
        Assert.Single(await EventsAsync("call.queued", call), e => e.Long("queue_id") == second);

        await T.EventAsync(call, "agent_answered", other);
        await T.EventAsync(call, "caller_hangup");
        var cdr = Assert.Single((await Admin.OkAsync($"/api/v1/cdrs?agent_id={other}")).Items(), c => c.Long("call_id") == call);
        Assert.Equal(("answered", other), (cdr.Str("disposition"), cdr.Long("agent_id")));
        Assert.Equal([first, second], cdr.GetProperty("queues").EnumerateArray().Select(v => v.Long("queue_id")));
        Assert.Equal([agent, other], cdr.GetProperty("attempts").EnumerateArray().Where(a => a.Str("outcome") == "answered").Select(a => a.Long("agent_id")));
    }

    [Fact]
    public async Task A_call_transferred_to_a_number_ends_as_transferred_with_the_number_in_its_cdr()
    {
        var queue = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(queue);
        var call = await TalkingAsync(queue, agent);

        var ended = await (await TransferAsync(call, new { number = "+14155550142" })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal(("ended", "transferred"), (ended.Str("state"), ended.Str("disposition")));
        var cdr = (await Admin.OkAsync($"/api/v1/calls/{call}"));
        Assert.Equal("transferred", cdr.Str("disposition"));
        var row = Assert.Single((await Admin.OkAsync($"/api/v1/cdrs?agent_id={agent}")).Items(), c => c.Long("call_id") == call);
        Assert.Equal(("transferred", "+14155550142", agent), (row.Str("disposition"), row.Str("destination_target"), row.Long("agent_id")));
        var data = Assert.Single(await EventsAsync("call.transfer_started", call)).GetProperty("data");
        Assert.Equal(("number", "+14155550142"), (data.Str("destination"), data.Str("target")));
        Assert.True(data.IsNull("to_queue_id"));
        Assert.Equal("number", Assert.Single(await EventsAsync("call.transferred", call)).GetProperty("data").Str("destination"));
        Assert.Equal("idle", (await Admin.OkAsync($"/api/v1/agents/{agent}/status")).Str("activity"));
    }

    [Fact]
    public async Task Bad_transfers_are_refused_with_the_right_status_and_change_nothing()
    {
        var queue = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(queue);
        var call = await TalkingAsync(queue, agent);
        var before = await Admin.SnapshotAsync($"/api/v1/calls/{call}");

        await TransferAsync(call, new { }).ProblemAsync(HttpStatusCode.BadRequest, "queue_id");
        await TransferAsync(call, new { queue_id = queue, number = "200" }).ProblemAsync(HttpStatusCode.BadRequest, "number");
        await TransferAsync(call, new { queue_id = 0 }).ProblemAsync(HttpStatusCode.BadRequest, "queue_id");
        await TransferAsync(call, new { number = "call me" }).ProblemAsync(HttpStatusCode.BadRequest, "number");
        await TransferAsync(call, new { queue_id = "two" }).ProblemAsync(HttpStatusCode.BadRequest);
        // The queue it is in already.
        await TransferAsync(call, new { queue_id = queue }).ProblemAsync(HttpStatusCode.BadRequest, "queue_id");
        await TransferAsync(call, new { queue_id = 999_999 }).ProblemAsync(HttpStatusCode.NotFound);
        await TransferAsync(999_999_999, new { number = "200" }).ProblemAsync(HttpStatusCode.NotFound);

        // Another tenant's queue and call are unknown here.
        var b = await fx.CreateTenantAsync();
        var theirQueue = await b.QueueAsync();
        var theirAgent = await b.ReadyAgentAsync(theirQueue);
        var theirCall = (await b.CallAsync(theirQueue)).Id();
        await b.EventAsync(theirCall, "agent_answered", theirAgent);
        await TransferAsync(call, new { queue_id = theirQueue }).ProblemAsync(HttpStatusCode.NotFound);
        await TransferAsync(theirCall, new { number = "200" }).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("connected", (await b.Admin.OkAsync($"/api/v1/calls/{theirCall}")).Str("state"));

        // A call nobody talks on yet cannot be transferred.
        var second = await T.QueueAsync();
        var waiting = (await T.CallAsync(second)).Id();
        await TransferAsync(waiting, new { number = "200" }).ProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("waiting", (await Admin.OkAsync($"/api/v1/calls/{waiting}")).Str("state"));

        Assert.Equal(before, await Admin.SnapshotAsync($"/api/v1/calls/{call}"));
        Assert.Equal("talking", (await Admin.OkAsync($"/api/v1/agents/{agent}/status")).Str("activity"));
        Assert.Empty(await EventsAsync("call.transfer_started", call));
        await T.EventAsync(call, "caller_hangup");
        await T.EventAsync(waiting, "caller_hangup");
    }

    [Fact]
    public async Task An_agent_may_transfer_its_own_call_and_no_other()
    {
        var queue = await T.QueueAsync();
        var target = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(queue);
        var bystander = await T.ReadyAgentAsync(await T.QueueAsync());
        var call = await TalkingAsync(queue, agent);

        await TransferAsync(call, new { queue_id = target }, await T.AgentUserAsync(bystander)).ProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("connected", (await Admin.OkAsync($"/api/v1/calls/{call}")).Str("state"));

        var moved = await (await TransferAsync(call, new { queue_id = target }, await T.AgentUserAsync(agent))).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(("waiting", target), (moved.Str("state"), moved.Long("queue_id")));
        await T.EventAsync(call, "caller_hangup");
    }

    [Fact]
    public async Task A_call_transferred_to_an_agent_rings_only_that_agent_and_its_answer_connects_it()
    {
        var queue = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(queue);
        var colleague = await T.ReadyAgentAsync(queue);
        var specialist = await T.ReadyAgentAsync(await T.QueueAsync()); // not a member of the call's queue
        var call = (await T.CallAsync(queue)).Id();
        var first = (await Admin.OkAsync($"/api/v1/calls/{call}")).GetProperty("offers")[0].Long("agent_id");
        await T.EventAsync(call, "agent_answered", first);

        var ringing = await (await TransferAsync(call, new { agent_id = specialist })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal(("waiting", queue), (ringing.Str("state"), ringing.Long("queue_id")));
        Assert.Equal(specialist, Assert.Single(ringing.GetProperty("offers").EnumerateArray()).Long("agent_id"));
        var data = Assert.Single(await EventsAsync("call.transfer_started", call)).GetProperty("data");
        Assert.Equal(("agent", specialist), (data.Str("destination"), data.Long("to_agent_id")));
        Assert.True(data.IsNull("to_queue_id"));
        // The colleague in the same queue is free but not rung: the call was sent to one agent.
        Assert.Equal("idle", (await Admin.OkAsync($"/api/v1/agents/{(first == agent ? colleague : agent)}/status")).Str("activity"));

        await T.EventAsync(call, "agent_answered", specialist);
        await T.EventAsync(call, "caller_hangup");
        var cdr = Assert.Single((await Admin.OkAsync($"/api/v1/cdrs?agent_id={specialist}")).Items(), c => c.Long("call_id") == call);
        Assert.Equal(("answered", specialist), (cdr.Str("disposition"), cdr.Long("agent_id")));
        Assert.Equal([first, specialist], cdr.GetProperty("attempts").EnumerateArray().Where(a => a.Str("outcome") == "answered").Select(a => a.Long("agent_id")));
    }

    [Fact]
    public async Task An_agent_that_does_not_answer_sends_the_caller_back_to_its_queue_or_to_the_fallback()
    {
        var queue = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(queue);
        var target = await T.ReadyAgentAsync(await T.QueueAsync());
        var back = await TalkingAsync(queue, agent);
        await (await TransferAsync(back, new { agent_id = target })).JsonAsync(HttpStatusCode.OK);
        var waiting = await T.EventAsync(back, "agent_no_answer", target);
        Assert.Equal(("waiting", queue), (waiting.Str("state"), waiting.Long("queue_id")));
        await T.EventAsync(back, "caller_hangup");

        await Admin.PutOkAsync($"/api/v1/agents/{agent}/status", new { status = "ready" });
        await Admin.PutOkAsync($"/api/v1/agents/{target}/status", new { status = "ready" });
        var away = await TalkingAsync(queue, agent);
        await (await TransferAsync(away, new { agent_id = target, fallback = new { type = "number", target = "+14155550177" } })).JsonAsync(HttpStatusCode.OK);
        var ended = await T.EventAsync(away, "agent_rejected", target);
        Assert.Equal(("ended", "transferred"), (ended.Str("state"), ended.Str("disposition")));
        var row = Assert.Single((await Admin.OkAsync($"/api/v1/cdrs?agent_id={agent}")).Items(), c => c.Long("call_id") == away);
        Assert.Equal(("+14155550177", "no_answer"), (row.Str("destination_target"), row.Str("exit_reason")));
    }

    [Fact]
    public async Task Bad_transfers_to_an_agent_are_refused_with_the_right_status_and_change_nothing()
    {
        var queue = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(queue);
        var call = await TalkingAsync(queue, agent);
        var notReady = await T.ReadyAgentAsync(await T.QueueAsync());
        await Admin.PutOkAsync($"/api/v1/agents/{notReady}/status", new { status = "not_ready", reason = "lunch" });
        var loggedOut = await T.AgentAsync();
        var busyQueue = await T.QueueAsync();
        var busy = await T.ReadyAgentAsync(busyQueue);
        var other = await TalkingAsync(busyQueue, busy);
        var before = await Admin.SnapshotAsync($"/api/v1/calls/{call}");

        await TransferAsync(call, new { agent_id = 0 }).ProblemAsync(HttpStatusCode.BadRequest, "agent_id");
        await TransferAsync(call, new { agent_id = notReady, queue_id = queue }).ProblemAsync(HttpStatusCode.BadRequest);
        await TransferAsync(call, new { queue_id = busyQueue, fallback = new { type = "hangup" } }).ProblemAsync(HttpStatusCode.BadRequest, "fallback");
        await TransferAsync(call, new { agent_id = busy, fallback = new { type = "callback" } }).ProblemAsync(HttpStatusCode.BadRequest, "fallback.type");
        await TransferAsync(call, new { agent_id = busy, fallback = new { type = "number" } }).ProblemAsync(HttpStatusCode.BadRequest, "fallback.target");
        await TransferAsync(call, new { agent_id = busy, fallback = new { type = "number", target = "call me" } }).ProblemAsync(HttpStatusCode.BadRequest, "fallback.target");
        await TransferAsync(call, new { agent_id = busy, fallback = new { type = "queue" } }).ProblemAsync(HttpStatusCode.BadRequest, "fallback.queue_id");
        await TransferAsync(call, new { agent_id = busy, fallback = new { type = "elsewhere" } }).ProblemAsync(HttpStatusCode.BadRequest);
        // The agent already on the call.
        await TransferAsync(call, new { agent_id = agent }).ProblemAsync(HttpStatusCode.BadRequest, "agent_id");
        await TransferAsync(call, new { agent_id = 999_999 }).ProblemAsync(HttpStatusCode.NotFound);
        await TransferAsync(call, new { agent_id = busy, fallback = new { type = "queue", queue_id = 999_999 } }).ProblemAsync(HttpStatusCode.NotFound);
        // Not available at the time of the request: 409, whatever the reason.
        await TransferAsync(call, new { agent_id = loggedOut }).ProblemAsync(HttpStatusCode.Conflict);
        await TransferAsync(call, new { agent_id = notReady }).ProblemAsync(HttpStatusCode.Conflict);
        await TransferAsync(call, new { agent_id = busy }).ProblemAsync(HttpStatusCode.Conflict);

        // Another tenant's agent is unknown here.
        var b = await fx.CreateTenantAsync();
        var theirAgent = await b.ReadyAgentAsync(await b.QueueAsync());
        await TransferAsync(call, new { agent_id = theirAgent }).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("idle", (await b.Admin.OkAsync($"/api/v1/agents/{theirAgent}/status")).Str("activity"));

        Assert.Equal(before, await Admin.SnapshotAsync($"/api/v1/calls/{call}"));
        Assert.Equal("talking", (await Admin.OkAsync($"/api/v1/agents/{agent}/status")).Str("activity"));
        Assert.Empty(await EventsAsync("call.transfer_started", call));
        await T.EventAsync(call, "caller_hangup");
        await T.EventAsync(other, "caller_hangup");
    }

    [Fact]
    public async Task An_attended_transfer_joins_the_caller_to_the_consulted_agent_and_ends_the_consultation()
    {
        var queue = await T.QueueAsync();
        var experts = await T.QueueAsync();
        var ana = await T.ReadyAgentAsync(queue);
        var ben = await T.ReadyAgentAsync(experts);
        var call = await TalkingAsync(queue, ana);
        var consultation = await TalkingAsync(experts, ben); // Ana's own call into the experts' queue, answered by Ben

        var joined = await (await TransferAsync(call, new { call_id = consultation })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal(("connected", ben), (joined.Str("state"), joined.Long("agent_id")));
        var consultCdr = await Admin.OkAsync($"/api/v1/calls/{consultation}");
        Assert.Equal(("ended", "answered"), (consultCdr.Str("state"), consultCdr.Str("disposition")));
        var data = Assert.Single(await EventsAsync("call.transfer_started", consultation)).GetProperty("data");
        Assert.Equal(("call", call), (data.Str("destination"), data.Long("to_call_id")));
        var started = Assert.Single(await EventsAsync("call.transfer_started", call)).GetProperty("data");
        Assert.Equal(("agent", ben), (started.Str("destination"), started.Long("to_agent_id")));
        Assert.NotEqual("talking", (await Admin.OkAsync($"/api/v1/agents/{ana}/status")).Str("activity"));

        await T.EventAsync(call, "caller_hangup");
        var cdr = Assert.Single((await Admin.OkAsync($"/api/v1/cdrs?agent_id={ben}")).Items(), c => c.Long("call_id") == call);
        Assert.Equal(("answered", ben), (cdr.Str("disposition"), cdr.Long("agent_id")));
        Assert.Equal([ana, ben], cdr.GetProperty("attempts").EnumerateArray().Where(a => a.Str("outcome") == "answered").Select(a => a.Long("agent_id")));
    }

    [Fact]
    public async Task Bad_attended_transfers_are_refused_and_change_nothing()
    {
        var queue = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(queue);
        var call = await TalkingAsync(queue, agent);
        var waiting = (await T.CallAsync(await T.QueueAsync())).Id();
        var before = await Admin.SnapshotAsync($"/api/v1/calls/{call}");

        await TransferAsync(call, new { call_id = call }).ProblemAsync(HttpStatusCode.BadRequest, "call_id");
        await TransferAsync(call, new { call_id = 0 }).ProblemAsync(HttpStatusCode.BadRequest, "call_id");
        await TransferAsync(call, new { call_id = waiting, agent_id = agent }).ProblemAsync(HttpStatusCode.BadRequest);
        await TransferAsync(call, new { call_id = 999_999_999 }).ProblemAsync(HttpStatusCode.NotFound);
        await TransferAsync(call, new { call_id = waiting }).ProblemAsync(HttpStatusCode.Conflict);

        var b = await fx.CreateTenantAsync();
        var theirQueue = await b.QueueAsync();
        var theirAgent = await b.ReadyAgentAsync(theirQueue);
        var theirCall = (await b.CallAsync(theirQueue)).Id();
        await b.EventAsync(theirCall, "agent_answered", theirAgent);
        await TransferAsync(call, new { call_id = theirCall }).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("connected", (await b.Admin.OkAsync($"/api/v1/calls/{theirCall}")).Str("state"));

        Assert.Equal(before, await Admin.SnapshotAsync($"/api/v1/calls/{call}"));
        Assert.Equal("waiting", (await Admin.OkAsync($"/api/v1/calls/{waiting}")).Str("state"));
        await T.EventAsync(call, "caller_hangup");
        await T.EventAsync(waiting, "caller_hangup");
    }
}
