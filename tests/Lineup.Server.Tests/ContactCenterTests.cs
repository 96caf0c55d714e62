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
}
