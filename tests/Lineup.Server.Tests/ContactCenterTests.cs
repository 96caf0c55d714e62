using System.Net;

namespace Lineup.Server.Tests;

/// <summary>Issue 15's queue features through the native API: active/inactive queues, dispositions, office hours.</summary>
public sealed class ContactCenterTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private HttpClient Admin => fx.Tenant.Admin;

    [Fact]
    public async Task Inactive_queue_sends_new_callers_to_its_destination_and_reports_why()
    {
        var q = await fx.Tenant.QueueAsync();
        var updated = await Admin.PatchOkAsync($"/api/v1/queues/{q}", new
        {
            active = false,
            destinations = new { inactive = new { type = "number", target = "5550999" } },
        });
        Assert.False(updated.GetProperty("active").GetBoolean());
        Assert.Equal("5550999", updated.GetProperty("destinations").GetProperty("inactive").Str("target"));

        var call = await fx.Tenant.CallAsync(q);
        Assert.Equal("ended", call.Str("state"));
        var cdr = Assert.Single((await Admin.OkAsync($"/api/v1/cdrs?queue_id={q}")).Items());
        Assert.Equal(("transferred", "inactive", "5550999"), (cdr.Str("disposition"), cdr.Str("exit_reason"), cdr.Str("destination_target")));
    }

    [Fact]
    public async Task Inactive_destination_is_checked_like_the_others()
    {
        var q = await fx.Tenant.QueueAsync();
        var before = await Admin.SnapshotAsync($"/api/v1/queues/{q}");
        await Admin.SendJsonAsync(HttpMethod.Patch, $"/api/v1/queues/{q}", new { destinations = new { inactive = new { type = "number" } } })
            .ProblemAsync(HttpStatusCode.BadRequest, "destinations.inactive.target");
        await Admin.SendJsonAsync(HttpMethod.Patch, $"/api/v1/queues/{q}", new { destinations = new { inactive = new { type = "queue", queue_id = 999_999 } } })
            .ProblemAsync(HttpStatusCode.BadRequest, "destinations.inactive.queue_id");
        await Admin.SendJsonAsync(HttpMethod.Patch, $"/api/v1/queues/{q}", new { active = "no" })
            .ProblemAsync(HttpStatusCode.BadRequest, "active");
        Assert.Equal(before, await Admin.SnapshotAsync($"/api/v1/queues/{q}"));
    }

    // ---- Dispositions ----

    [Fact]
    public async Task Required_disposition_holds_the_wrap_up_until_the_agent_gives_a_listed_code_which_lands_in_the_cdr()
    {
        var q = await fx.Tenant.QueueAsync();
        var queue = await Admin.PatchOkAsync($"/api/v1/queues/{q}", new { wrap_up_time = 1, disposition_codes = new[] { "sale", "no_sale" }, disposition_required = true });
        Assert.Equal(["sale", "no_sale"], queue.GetProperty("disposition_codes").EnumerateArray().Select(c => c.GetString()!).ToArray());
        var agent = await fx.Tenant.ReadyAgentAsync(q);
        var call = await fx.Tenant.CallAsync(q);
        await fx.Tenant.EventAsync(call.Id(), "agent_answered", agent);
        await fx.Tenant.EventAsync(call.Id(), "caller_hangup");
        await Task.Delay(1500); // the wrap-up time is over; the code is still missing

        var status = await Admin.OkAsync($"/api/v1/agents/{agent}/status");
        Assert.Equal(("wrap_up", call.Id()), (status.Str("status"), status.Long("current_call_id")));
        Assert.Equal(["sale", "no_sale"], status.GetProperty("queues")[0].GetProperty("disposition_codes").EnumerateArray().Select(c => c.GetString()!).ToArray());
        await Admin.SendJsonAsync(HttpMethod.Put, $"/api/v1/agents/{agent}/status", new { status = "ready" }).ProblemAsync(HttpStatusCode.Conflict);
        await Admin.SendJsonAsync(HttpMethod.Post, $"/api/v1/calls/{call.Id()}/disposition", new { agent_id = agent, code = "maybe" })
            .ProblemAsync(HttpStatusCode.BadRequest, "code");
        await Admin.SendJsonAsync(HttpMethod.Post, $"/api/v1/calls/{call.Id()}/disposition", new { agent_id = agent })
            .ProblemAsync(HttpStatusCode.BadRequest, "code");
        await Admin.SendJsonAsync(HttpMethod.Post, "/api/v1/calls/987654321/disposition", new { agent_id = agent, code = "sale" })
            .ProblemAsync(HttpStatusCode.NotFound);
        // The agent's own user may give the code (and only to its own calls).
        var self = await fx.Tenant.AgentUserAsync(agent);
        var other = await fx.Tenant.AgentAsync();
        await self.SendJsonAsync(HttpMethod.Post, $"/api/v1/calls/{call.Id()}/disposition", new { agent_id = other, code = "sale" })
            .ProblemAsync(HttpStatusCode.Forbidden);
        var after = await (await self.SendJsonAsync(HttpMethod.Post, $"/api/v1/calls/{call.Id()}/disposition", new { code = "sale" })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("ready", after.Str("status"));

        var cdr = Assert.Single((await Admin.OkAsync($"/api/v1/cdrs?queue_id={q}")).Items());
        Assert.Equal(("answered", "sale"), (cdr.Str("disposition"), cdr.Str("disposition_code")));
    }

    [Fact]
    public async Task Bad_disposition_codes_are_refused_by_field()
    {
        var q = await fx.Tenant.QueueAsync();
        var before = await Admin.SnapshotAsync($"/api/v1/queues/{q}");
        await Admin.SendJsonAsync(HttpMethod.Patch, $"/api/v1/queues/{q}", new { disposition_codes = new[] { "a", "a" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "disposition_codes");
        await Admin.SendJsonAsync(HttpMethod.Patch, $"/api/v1/queues/{q}", new { disposition_codes = new[] { "" } })
            .ProblemAsync(HttpStatusCode.BadRequest, "disposition_codes");
        Assert.Equal(before, await Admin.SnapshotAsync($"/api/v1/queues/{q}"));
    }

    // ---- Office hours and night mode ----

    [Fact]
    public async Task Office_hours_put_the_queue_in_night_mode_and_the_override_wins_until_cleared()
    {
        var q = await fx.Tenant.QueueAsync();
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture); // the tenant's zone is UTC
        var tomorrow = DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var queue = await Admin.PatchOkAsync($"/api/v1/queues/{q}", new
        {
            office_hours = new { weekly = new[] { new { day = "monday", open = "08:00", close = "24:00" } }, holidays = new[] { tomorrow, today } },
            destinations = new { night_mode = new { type = "number", target = "5550888" } },
        });
        Assert.Equal([today, tomorrow], queue.GetProperty("office_hours").GetProperty("holidays").EnumerateArray().Select(d => d.GetString()!).Order().ToArray());
        Assert.Equal("24:00", queue.GetProperty("office_hours").GetProperty("weekly")[0].Str("close"));
        Assert.True((await Admin.OkAsync($"/api/v1/queues/{q}/status")).GetProperty("night_mode").GetBoolean()); // today is a holiday

        var call = await fx.Tenant.CallAsync(q);
        Assert.Equal("ended", call.Str("state"));

        var status = await Admin.PutOkAsync($"/api/v1/queues/{q}/night_mode", new { night_mode = false });
        Assert.False(status.GetProperty("night_mode").GetBoolean());
        Assert.Equal("waiting", (await fx.Tenant.CallAsync(q)).Str("state"));
        status = await Admin.PutOkAsync($"/api/v1/queues/{q}/night_mode", new { night_mode = (bool?)null });
        Assert.True(status.GetProperty("night_mode").GetBoolean()); // the office hours decide again

        var cdr = (await Admin.OkAsync($"/api/v1/cdrs?queue_id={q}")).Items().Single();
        Assert.Equal(("night_mode", "5550888"), (cdr.Str("exit_reason"), cdr.Str("destination_target")));
        await Admin.SendJsonAsync(HttpMethod.Put, "/api/v1/queues/987654321/night_mode", new { night_mode = true }).ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Bad_office_hours_are_refused_by_field()
    {
        var q = await fx.Tenant.QueueAsync();
        var before = await Admin.SnapshotAsync($"/api/v1/queues/{q}");
        await Admin.SendJsonAsync(HttpMethod.Patch, $"/api/v1/queues/{q}", new
        {
            office_hours = new
            {
                weekly = new[] { new { day = "funday", open = "9:00", close = "08:00" }, new { day = "monday", open = "10:00", close = "09:00" } },
                holidays = new[] { "2026-02-30" },
            },
        }).ProblemAsync(HttpStatusCode.BadRequest, "office_hours.weekly[0].day", "office_hours.weekly[0].open", "office_hours.weekly[1].close",
            "office_hours.holidays[0]");
        await Admin.SendJsonAsync(HttpMethod.Put, $"/api/v1/queues/{q}/night_mode", new { night_mode = "yes" })
            .ProblemAsync(HttpStatusCode.BadRequest, "night_mode");
        Assert.Equal(before, await Admin.SnapshotAsync($"/api/v1/queues/{q}"));
    }
}
