using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Lineup.Server.Tests;

/// <summary>Call control (an external PBX drives Lineup), live queue calls, pickup, statistics and staffing.</summary>
public class CallControlTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private TenantSession T => fx.Tenant;
    private HttpClient Admin => fx.Tenant.Admin;

    [Fact]
    public async Task Creating_a_call_returns_its_state_and_the_agents_to_ring()
    {
        var queue = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(queue);

        var response = await Admin.PostAsJsonAsync("/api/v1/calls", new
        {
            queue_id = queue,
            caller_number = "+14155550101",
            caller_name = "Grace",
            priority = 3,
            external_id = "pbx-1",
        });
        var call = await response.JsonAsync(HttpStatusCode.Created);
        var id = call.Id();
        Assert.Equal($"/api/v1/calls/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal(T.Id, id / 1_000_000_000);
        Assert.Equal(queue, call.Long("queue_id"));
        Assert.Equal("waiting", call.Str("state"));
        Assert.Equal("+14155550101", call.Str("caller_number"));
        Assert.Equal("Grace", call.Str("caller_name"));
        Assert.Equal(3, call.Int("priority"));
        Assert.Equal("pbx-1", call.Str("external_id"));
        var offer = Assert.Single(call.GetProperty("offers").EnumerateArray());
        Assert.Equal(agent, offer.Long("agent_id"));
        Assert.True(offer.GetProperty("ringing").GetBoolean());
        Assert.True(call.IsNull("agent_id"));

        var live = await Admin.OkAsync($"/api/v1/calls/{id}");
        Assert.Equal("waiting", live.Str("state"));
        Assert.Equal(agent, Assert.Single(live.GetProperty("offers").EnumerateArray()).Long("agent_id"));
        Assert.Equal("ringing", (await Admin.OkAsync($"/api/v1/agents/{agent}/status")).Str("activity"));

        await T.EventAsync(id, "caller_hangup");
    }

    [Fact]
    public async Task A_call_with_nobody_ready_waits_without_offers()
    {
        var queue = await T.QueueAsync();
        var call = await T.CallAsync(queue);
        Assert.Equal("waiting", call.Str("state"));
        Assert.Empty(call.GetProperty("offers").EnumerateArray());
        Assert.Equal(1, call.Int("position"));
        await T.EventAsync(call.Id(), "caller_hangup");
    }

    /// <summary>An agent's status carries the call ringing it (what a panel opened meanwhile shows), and only then.</summary>
    [Fact]
    public async Task The_agent_status_shows_the_call_ringing_it()
    {
        var queue = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(queue);
        Assert.True((await Admin.OkAsync($"/api/v1/agents/{agent}/status")).IsNull("offer"));
        var id = (await T.CallAsync(queue, "+14155550177", "Ola")).Id();

        var offer = (await (await T.AgentUserAsync(agent)).OkAsync($"/api/v1/agents/{agent}/status")).GetProperty("offer");
        Assert.Equal((id, queue, "+14155550177", "Ola"), (offer.Long("call_id"), offer.Long("queue_id"), offer.Str("caller_number"), offer.Str("caller_name")));
        Assert.True(offer.Int("ring_timeout") > 0);

        await T.EventAsync(id, "agent_answered", agent);
        var talking = await Admin.OkAsync($"/api/v1/agents/{agent}/status");
        Assert.Equal("talking", talking.Str("activity"));
        Assert.True(talking.IsNull("offer"));
        await T.EventAsync(id, "agent_hangup");
    }

    [Fact]
    public async Task Answer_then_agent_hangup_ends_the_call_and_get_reads_it_from_the_cdrs()
    {
        var queue = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(queue);
        var id = (await T.CallAsync(queue)).Id();

        var connected = await T.EventAsync(id, "agent_answered", agent);
        Assert.Equal("connected", connected.Str("state"));
        Assert.Equal(agent, connected.Long("agent_id"));
        Assert.Empty(connected.GetProperty("offers").EnumerateArray());
        Assert.Equal("talking", (await Admin.OkAsync($"/api/v1/agents/{agent}/status")).Str("activity"));
        Assert.Equal(id, (await Admin.OkAsync($"/api/v1/agents/{agent}/status")).Long("current_call_id"));
        Assert.Equal("connected", (await Admin.OkAsync($"/api/v1/calls/{id}")).Str("state"));

        var ended = await T.EventAsync(id, "agent_hangup");
        Assert.Equal("ended", ended.Str("state"));
        Assert.Equal("answered", ended.Str("disposition"));

        var stored = await Admin.OkAsync($"/api/v1/calls/{id}");
        Assert.Equal(id, stored.Id());
        Assert.Equal("ended", stored.Str("state"));
        Assert.Equal("answered", stored.Str("disposition"));
        Assert.Equal(agent, stored.Long("agent_id"));
        Assert.Equal(queue, stored.Long("queue_id"));
        Assert.Equal("+14155550100", stored.Str("caller_number"));
        Assert.Equal("idle", (await Admin.OkAsync($"/api/v1/agents/{agent}/status")).Str("activity"));

        // An ended call takes no more events.
        await Admin.PostAsJsonAsync($"/api/v1/calls/{id}/events", new { type = "caller_hangup" }).ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Rejected_busy_and_no_answer_move_the_call_on_and_are_in_the_cdr()
    {
        var queue = await T.QueueAsync("top_down");
        // Long delays: an agent who failed an offer is not offered the call again during the test.
        var a = await T.ReadyAgentAsync(queue, position: 1, delays: 600);
        var b = await T.ReadyAgentAsync(queue, position: 2, delays: 600);
        var c = await T.ReadyAgentAsync(queue, position: 3, delays: 600);
        var call = await T.CallAsync(queue, "+14155550102");
        var id = call.Id();
        Assert.Equal(new[] { a }, Offers(call));

        var afterReject = await T.EventAsync(id, "agent_rejected", a);
        Assert.Equal("waiting", afterReject.Str("state"));
        Assert.Equal(new[] { b }, Offers(afterReject));
        var afterBusy = await T.EventAsync(id, "agent_busy", b);
        Assert.Equal(new[] { c }, Offers(afterBusy));
        var afterNoAnswer = await T.EventAsync(id, "agent_no_answer", c);
        Assert.Equal("waiting", afterNoAnswer.Str("state"));
        Assert.Empty(Offers(afterNoAnswer));

        var abandoned = await T.EventAsync(id, "caller_hangup");
        Assert.Equal("ended", abandoned.Str("state"));
        Assert.Equal("abandoned", abandoned.Str("disposition"));

        var cdr = Assert.Single((await Admin.OkAsync($"/api/v1/cdrs?queue_id={queue}")).Items());
        Assert.Equal(id, cdr.Long("call_id"));
        Assert.Equal("abandoned", cdr.Str("disposition"));
        var attempts = cdr.GetProperty("attempts").EnumerateArray().Select(x => (x.Long("agent_id"), x.Str("outcome"))).ToList();
        Assert.Equal(new (long, string?)[] { (a, "rejected"), (b, "busy"), (c, "no_answer") }, attempts);
    }

    [Fact]
    public async Task An_event_from_an_agent_that_was_not_offered_the_call_is_409()
    {
        var queue = await T.QueueAsync("top_down");
        var a = await T.ReadyAgentAsync(queue, position: 1);
        var b = await T.ReadyAgentAsync(queue, position: 2);
        var id = (await T.CallAsync(queue)).Id();

        foreach (var type in new[] { "agent_answered", "agent_rejected", "agent_busy", "agent_no_answer" })
            await Admin.PostAsJsonAsync($"/api/v1/calls/{id}/events", new { type, agent_id = b }).ProblemAsync(HttpStatusCode.Conflict);
        var live = await Admin.OkAsync($"/api/v1/calls/{id}");
        Assert.Equal("waiting", live.Str("state"));
        Assert.Equal(new[] { a }, Offers(live));

        await Admin.PostAsJsonAsync($"/api/v1/calls/{id}/events", new { type = "agent_answered", agent_id = 999_999_999 })
            .ProblemAsync(HttpStatusCode.NotFound);
        // Hanging up a call nobody answered is not an agent hang-up.
        await Admin.PostAsJsonAsync($"/api/v1/calls/{id}/events", new { type = "agent_hangup" }).ProblemAsync(HttpStatusCode.Conflict);
        await T.EventAsync(id, "caller_hangup");
    }

    [Fact]
    public async Task Unknown_calls_are_404()
    {
        var unknown = T.Id * 1_000_000_000 + 999_999;
        await Admin.GetAsync($"/api/v1/calls/{unknown}").ProblemAsync(HttpStatusCode.NotFound);
        await Admin.GetAsync("/api/v1/calls/1").ProblemAsync(HttpStatusCode.NotFound);
        await Admin.PostAsJsonAsync($"/api/v1/calls/{unknown}/events", new { type = "caller_hangup" }).ProblemAsync(HttpStatusCode.NotFound);
        await Admin.PostAsJsonAsync("/api/v1/calls", new { queue_id = 999_999_999, caller_number = "1" }).ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Event_and_call_bodies_are_validated()
    {
        var queue = await T.QueueAsync();
        var id = (await T.CallAsync(queue)).Id();
        var events = $"/api/v1/calls/{id}/events";
        await Admin.PostAsJsonAsync(events, new { agent_id = 1 }).ProblemAsync(HttpStatusCode.BadRequest, "type");
        await Admin.PostAsJsonAsync(events, new { type = "agent_exploded" }).ProblemAsync(HttpStatusCode.BadRequest, "type");
        await Admin.PostAsJsonAsync(events, new { type = "agent_answered" }).ProblemAsync(HttpStatusCode.BadRequest, "agent_id");
        await Admin.PostAsJsonAsync(events, new { type = "dtmf" }).ProblemAsync(HttpStatusCode.BadRequest, "digits");
        await Admin.PostAsJsonAsync(events, new { type = "dtmf", digits = new string('1', 33) }).ProblemAsync(HttpStatusCode.BadRequest, "digits");

        await Admin.PostAsJsonAsync("/api/v1/calls", new { caller_number = "1" }).ProblemAsync(HttpStatusCode.BadRequest, "queue_id");
        await Admin.PostAsJsonAsync("/api/v1/calls", new { queue_id = queue }).ProblemAsync(HttpStatusCode.BadRequest, "caller_number");
        await Admin.PostAsJsonAsync("/api/v1/calls", new { queue_id = queue, caller_number = "1", priority = 101 })
            .ProblemAsync(HttpStatusCode.BadRequest, "priority");
        await Admin.PostAsJsonAsync("/api/v1/calls", new { queue_id = queue, caller_number = "1", caller_name = new string('n', 129) })
            .ProblemAsync(HttpStatusCode.BadRequest, "caller_name");
        Assert.Equal(new[] { id }, (await Admin.OkAsync($"/api/v1/queues/{queue}/calls")).Ids());
        await T.EventAsync(id, "caller_hangup");
    }

    [Fact]
    public async Task Dtmf_exit_key_takes_the_caller_out_and_other_digits_are_ignored()
    {
        var queue = (await Admin.CreatedAsync("/api/v1/queues", new
        {
            name = ApiFixture.Unique("exit-"),
            exit_key = "9",
            destinations = new { exit_key = new { type = "number", target = "+3901" } },
        })).Id();
        var id = (await T.CallAsync(queue)).Id();

        var ignored = await T.EventAsync(id, "dtmf", digits: "5");
        Assert.Equal("waiting", ignored.Str("state"));
        var left = await T.EventAsync(id, "dtmf", digits: "9");
        Assert.Equal("ended", left.Str("state"));
        Assert.Equal("transferred", left.Str("disposition"));

        var cdr = Assert.Single((await Admin.OkAsync($"/api/v1/cdrs?queue_id={queue}")).Items());
        Assert.Equal("exit_key", cdr.Str("exit_reason"));
        Assert.Equal("+3901", cdr.Str("destination_target"));
        Assert.Equal(1, (await StatsAsync(queue)).Int("exited_by_key"));
    }

    [Fact]
    public async Task With_wrap_up_the_call_ends_when_the_agent_is_ready_again()
    {
        var queue = (await Admin.CreatedAsync("/api/v1/queues", new { name = ApiFixture.Unique("wrap-"), wrap_up_time = 600 })).Id();
        var agent = await T.ReadyAgentAsync(queue);
        var id = (await T.CallAsync(queue)).Id();
        await T.EventAsync(id, "agent_answered", agent);

        var wrap = await T.EventAsync(id, "caller_hangup");
        Assert.Equal("wrap_up", wrap.Str("state"));
        Assert.Equal("wrap_up", (await Admin.OkAsync($"/api/v1/agents/{agent}/status")).Str("status"));
        Assert.Equal(1, (await Admin.OkAsync($"/api/v1/queues/{queue}/status")).Int("wrap_up_agents"));
        Assert.Equal("wrap_up", (await Admin.OkAsync($"/api/v1/calls/{id}")).Str("state"));

        await Admin.PutOkAsync($"/api/v1/agents/{agent}/status", new { status = "ready" });
        var ended = await Admin.OkAsync($"/api/v1/calls/{id}");
        Assert.Equal("ended", ended.Str("state"));
        Assert.Equal("answered", ended.Str("disposition"));
    }

    [Fact]
    public async Task Pickup_takes_a_chosen_waiting_call_for_a_chosen_agent()
    {
        var queue = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(queue);
        var bystander = await T.ReadyAgentAsync(queue);
        // Nobody is offered anything: both not ready.
        await Admin.PutOkAsync($"/api/v1/agents/{agent}/status", new { status = "not_ready", reason = "picking" });
        await Admin.PutOkAsync($"/api/v1/agents/{bystander}/status", new { status = "not_ready" });
        var first = (await T.CallAsync(queue, "+14155550110")).Id();
        var second = (await T.CallAsync(queue, "+14155550111")).Id();

        var calls = await Admin.OkAsync($"/api/v1/queues/{queue}/calls");
        Assert.Equal(new[] { first, second }, calls.Ids());
        Assert.All(calls.Items(), c => Assert.Equal("waiting", c.Str("state")));
        Assert.Equal(new[] { 1, 2 }, calls.Items().Select(c => c.Int("position")));

        // An agent user may pick up only for itself.
        var me = await T.AgentUserAsync(agent);
        await me.PostAsJsonAsync($"/api/v1/queues/{queue}/calls/{second}/pickup", new { agent_id = bystander }).ProblemAsync(HttpStatusCode.Forbidden);
        var picked = await (await me.PostAsJsonAsync($"/api/v1/queues/{queue}/calls/{second}/pickup", new { agent_id = agent }))
            .JsonAsync(HttpStatusCode.OK);
        Assert.Equal(second, picked.Id());
        Assert.Equal("connected", picked.Str("state"));
        Assert.Equal(agent, picked.Long("agent_id"));

        calls = await Admin.OkAsync($"/api/v1/queues/{queue}/calls");
        Assert.Equal(new[] { first, second }, calls.Ids());
        Assert.Equal("waiting", calls.Items()[0].Str("state"));
        Assert.Equal(1, calls.Items()[0].Int("position"));
        Assert.Equal("connected", calls.Items()[1].Str("state"));
        var status = await Admin.OkAsync($"/api/v1/queues/{queue}/status");
        Assert.Equal(1, status.Int("waiting"));
        Assert.Equal(1, status.Int("talking"));

        // The agent is busy now; an unknown or ended call cannot be picked up.
        await Admin.PostAsJsonAsync($"/api/v1/queues/{queue}/calls/{first}/pickup", new { agent_id = agent }).ProblemAsync(HttpStatusCode.Conflict);
        await Admin.PostAsJsonAsync($"/api/v1/queues/{queue}/calls/{first}/pickup", new { }).ProblemAsync(HttpStatusCode.BadRequest, "agent_id");
        var otherQueue = await T.QueueAsync();
        await Admin.PostAsJsonAsync($"/api/v1/queues/{otherQueue}/calls/{first}/pickup", new { agent_id = bystander }).ProblemAsync(HttpStatusCode.NotFound);
        await Admin.PostAsJsonAsync($"/api/v1/queues/{queue}/calls/{first + 1000}/pickup", new { agent_id = bystander }).ProblemAsync(HttpStatusCode.NotFound);

        await T.EventAsync(second, "agent_hangup");
        await T.EventAsync(first, "caller_hangup");
        Assert.Empty((await Admin.OkAsync($"/api/v1/queues/{queue}/calls")).Items());
        var cdr = (await Admin.OkAsync($"/api/v1/cdrs?queue_id={queue}")).Items().Single(x => x.Long("call_id") == second);
        Assert.True(Assert.Single(cdr.GetProperty("attempts").EnumerateArray()).GetProperty("pickup").GetBoolean());
    }

    [Fact]
    public async Task Queue_calls_page()
    {
        var queue = await T.QueueAsync();
        var ids = new List<long>();
        for (var i = 0; i < 3; i++) ids.Add((await T.CallAsync(queue)).Id());
        var first = await Admin.OkAsync($"/api/v1/queues/{queue}/calls?limit=2");
        Assert.Equal(ids.Take(2), first.Ids());
        var second = await Admin.OkAsync($"/api/v1/queues/{queue}/calls?limit=2&cursor={first.Str("next_cursor")}");
        Assert.Equal(ids.Skip(2), second.Ids());
        Assert.True(second.IsNull("next_cursor"));
        foreach (var id in ids) await T.EventAsync(id, "caller_hangup");
    }

    [Fact]
    public async Task Stats_today_reflect_the_calls_and_a_past_day_is_zeros()
    {
        var dayBefore = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var queue = await T.QueueAsync();
        var agent = await T.ReadyAgentAsync(queue);
        var empty = await StatsAsync(queue);
        Assert.Equal(0, empty.Int("offered"));

        await T.AnsweredCallAsync(queue, agent);
        await T.AnsweredCallAsync(queue, agent);
        await Admin.PutOkAsync($"/api/v1/agents/{agent}/status", new { status = "not_ready" });
        var abandoned = await T.CallAsync(queue);
        await T.EventAsync(abandoned.Id(), "caller_hangup");

        var today = await Admin.OkAsync($"/api/v1/queues/{queue}/stats");
        var date = today.Str("date");
        // The tenant's time zone is UTC.
        Assert.Contains(date, new[] { dayBefore, DateTimeOffset.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) });
        var stats = today.GetProperty("stats");
        Assert.Equal(3, stats.Int("offered"));
        Assert.Equal(2, stats.Int("answered"));
        Assert.Equal(1, stats.Int("abandoned"));
        Assert.Equal(2, stats.Int("answered_within_sla"));
        Assert.Equal(1.0, stats.Double("service_level"));

        // The same day asked for by date gives the same figures.
        Assert.Equal(stats.GetRawText(), (await Admin.OkAsync($"/api/v1/queues/{queue}/stats?date={date}")).GetProperty("stats").GetRawText());

        var past = await Admin.OkAsync($"/api/v1/queues/{queue}/stats?date=2001-02-03");
        Assert.Equal("2001-02-03", past.Str("date"));
        var zeros = past.GetProperty("stats");
        foreach (var p in zeros.EnumerateObject())
            Assert.True(p.Name == "service_level" ? p.Value.GetDouble() == 1.0 : p.Value.GetDouble() == 0, $"{p.Name} = {p.Value}");

        await Admin.GetAsync($"/api/v1/queues/{queue}/stats?date=03.02.2001").ProblemAsync(HttpStatusCode.BadRequest, "date");
        await Admin.GetAsync($"/api/v1/queues/{queue}/stats?date=2001-02-30").ProblemAsync(HttpStatusCode.BadRequest, "date");
        await Admin.GetAsync("/api/v1/queues/999999999/stats").ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Staffing_gives_erlang_c_figures_and_agents_needed()
    {
        var queue = await T.QueueAsync();
        var s = await Admin.OkAsync($"/api/v1/queues/{queue}/staffing?calls_per_hour=100&aht_seconds=180&agents=7&target_seconds=20&target_service_level=0.8");

        // 100 calls an hour of 180 s: 5 erlangs on 7 agents.
        var (wait, level, asa, needed) = ErlangC(7, 5.0, 180, 20, 0.8);
        Assert.Equal(7, s.Int("agents"));
        Assert.Equal(100, s.Double("calls_per_hour"));
        Assert.Equal(180, s.Double("average_handle_seconds"));
        Assert.Equal(5.0, s.Double("traffic_erlangs"), 3);
        Assert.Equal(20, s.Double("target_seconds"));
        Assert.Equal(wait, s.Double("probability_of_waiting"), 3);
        Assert.Equal(level, s.Double("service_level"), 3);
        Assert.Equal(asa, s.Double("average_speed_of_answer_seconds"), 1);
        Assert.Equal(5.0 / 7, s.Double("occupancy"), 3);
        Assert.Equal(0.8, s.Double("target_service_level"));
        Assert.Equal(needed, s.Int("agents_needed"));

        // Defaults (current traffic) answer too.
        var current = await Admin.OkAsync($"/api/v1/queues/{queue}/staffing");
        Assert.Equal(20, current.Double("target_seconds"));
        Assert.Equal(0.8, current.Double("target_service_level"));
        Assert.True(current.Int("agents_needed") >= 0);

        await Admin.GetAsync($"/api/v1/queues/{queue}/staffing?target_service_level=2").ProblemAsync(HttpStatusCode.BadRequest, "target_service_level");
        await Admin.GetAsync($"/api/v1/queues/{queue}/staffing?calls_per_hour=lots").ProblemAsync(HttpStatusCode.BadRequest, "calls_per_hour");
        await Admin.GetAsync($"/api/v1/queues/{queue}/staffing?agents=0").ProblemAsync(HttpStatusCode.BadRequest, "agents");
        await Admin.GetAsync($"/api/v1/queues/{queue}/staffing?aht_seconds=NaN").ProblemAsync(HttpStatusCode.BadRequest, "aht_seconds");
        await Admin.GetAsync("/api/v1/queues/999999999/staffing").ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Staffing_with_extreme_figures_answers_without_a_500()
    {
        var queue = await T.QueueAsync();
        var huge = await Admin.OkAsync($"/api/v1/queues/{queue}/staffing?calls_per_hour=1000000&aht_seconds=86400&agents=100000");
        Assert.Equal(-1, huge.Int("agents_needed"));
        Assert.Equal(1.0, huge.Double("probability_of_waiting"));
        Assert.Equal(-1, huge.Double("average_speed_of_answer_seconds"));
        var none = await Admin.OkAsync($"/api/v1/queues/{queue}/staffing?calls_per_hour=0");
        Assert.Equal(0, none.Double("traffic_erlangs"));
        Assert.Equal(1, none.Int("agents_needed"));
    }

    [Fact]
    public async Task Staffing_after_a_call_handled_in_no_time_is_not_a_500()
    {
        // A frozen clock: the call is answered and hung up in the same millisecond, so today's handle time is 0.
        using var root = new LineupFactory();
        using var factory = root.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<TimeProvider>(new FrozenClock())));
        var admin = factory.CreateClient();
        var login = await (await admin.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = LineupFactory.AdminPassword }))
            .JsonAsync(HttpStatusCode.OK);
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", login.Str("access_token"));
        var queue = (await admin.CreatedAsync("/api/v1/queues", new { name = "frozen" })).Id();
        var agent = (await admin.CreatedAsync("/api/v1/agents", new { name = "Ana", number = "1001" })).Id();
        await admin.CreatedAsync($"/api/v1/queues/{queue}/members", new { agent_id = agent });
        await (await admin.PostAsync($"/api/v1/agents/{agent}/login", null)).JsonAsync(HttpStatusCode.OK);
        var call = (await admin.CreatedAsync("/api/v1/calls", new { queue_id = queue, caller_number = "1" })).Id();
        await (await admin.PostAsJsonAsync($"/api/v1/calls/{call}/events", new { type = "agent_answered", agent_id = agent })).JsonAsync(HttpStatusCode.OK);
        await (await admin.PostAsJsonAsync($"/api/v1/calls/{call}/events", new { type = "agent_hangup" })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(0, (await admin.OkAsync($"/api/v1/queues/{queue}/stats")).GetProperty("stats").Double("average_handle_seconds"));

        var staffing = await admin.OkAsync($"/api/v1/queues/{queue}/staffing");
        Assert.True(staffing.Double("average_handle_seconds") > 0);
    }

    private sealed class FrozenClock : TimeProvider
    {
        private readonly DateTimeOffset _now = new(2030, 1, 2, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;
    }

    private async Task<JsonElement> StatsAsync(long queue) => (await Admin.OkAsync($"/api/v1/queues/{queue}/stats")).GetProperty("stats");

    private static long[] Offers(JsonElement call) =>
        call.GetProperty("offers").EnumerateArray().Select(o => o.Long("agent_id")).ToArray();

    /// <summary>Erlang C, written out here independently of the server's implementation.</summary>
    private static (double Wait, double Level, double Asa, int Needed) ErlangC(int agents, double traffic, double aht, double target, double goal)
    {
        static double Wait(int n, double a)
        {
            var b = 1.0;
            for (var k = 1; k <= n; k++) b = a * b / (k + a * b);
            return n * b / (n - a * (1 - b));
        }
        static double Level(int n, double a, double aht, double target) => 1 - Wait(n, a) * Math.Exp(-(n - a) * target / aht);
        var needed = (int)Math.Floor(traffic) + 1;
        while (Level(needed, traffic, aht, target) < goal) needed++;
        return (Wait(agents, traffic), Level(agents, traffic, aht, target), Wait(agents, traffic) * aht / (agents - traffic), needed);
    }
}
