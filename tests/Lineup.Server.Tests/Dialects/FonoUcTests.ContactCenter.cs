using System.Globalization;
using System.Text.Json;
using Lineup.Engine;
using Lineup.Server.Tenancy;
using Microsoft.Extensions.DependencyInjection;

namespace Lineup.Server.Tests.Dialects;

/// <summary>
/// Issue 15 through the FonoUC dialect: the post-call survey's rating in its CDR report (<c>csat_rating</c>) and its
/// queue status (<c>csat_ratings</c>, <c>csat_average</c>, today's), and the conference's parties' hear/speak flags
/// following a supervisor's monitoring mode, also when the mode changes during the call.
/// </summary>
public partial class FonoUcTests
{
    private static string QueueId(long id) => "00000001-0000-0000-" + id.ToString("x16", CultureInfo.InvariantCulture).Insert(4, "-");

    private async Task<(long Queue, long Agent)> QueueWithAgentAsync(object settings)
    {
        var queue = (await T.Admin.CreatedAsync("/api/v1/queues", settings)).Id();
        return (queue, await T.ReadyAgentAsync(queue));
    }

    /// <summary>One call answered by the agent, who hangs up first; the caller presses <paramref name="key"/> (or nothing).</summary>
    private async Task<long> SurveyedCallAsync(long queue, long agent, string? key, string externalId)
    {
        var call = (await T.CallAsync(queue, externalId: externalId)).Id();
        await T.EventAsync(call, "agent_answered", agent);
        await T.EventAsync(call, "agent_hangup");
        if (key != null) await T.EventAsync(call, "dtmf", digits: key);
        else await T.EventAsync(call, "caller_hangup");
        return call;
    }

    [Fact]
    public async Task The_survey_rating_is_in_the_cdr_report_and_today_s_queue_status()
    {
        var fono = await FonoAsync();
        var (queue, agent) = await QueueWithAgentAsync(new { name = ApiFixture.Unique("csat-"), strategy = "top_down", wrap_up_time = 0, survey_max_rating = 5, ring_timeout = 3600 });
        var status = await fono.OkAsync($"/api/v2/callcenter/queues/status?queueID={QueueId(queue)}");
        Assert.Equal((0, JsonValueKind.Null), (status.Int("csat_ratings"), status.GetProperty("csat_average").ValueKind));

        var from = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
        var rated = ApiFixture.Unique("rated-");
        var unrated = ApiFixture.Unique("unrated-");
        var second = ApiFixture.Unique("rated-");
        await SurveyedCallAsync(queue, agent, "4", rated);
        await SurveyedCallAsync(queue, agent, null, unrated);
        await SurveyedCallAsync(queue, agent, "1", second);

        var report = await fono.OkAsync($"/api/v2/reports/callcenter/queues?startDate={from}&endDate={DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1}");
        var cdrs = report.GetProperty("data").EnumerateArray().ToDictionary(c => c.Str("interaction_id")!);
        Assert.Equal(4, cdrs[rated].Int("csat_rating"));
        Assert.Equal(1, cdrs[second].Int("csat_rating"));
        Assert.Equal(JsonValueKind.Null, cdrs[unrated].GetProperty("csat_rating").ValueKind);
        Assert.All(cdrs.Values, c => Assert.Equal("ANSWER", c.Str("disposition")));

        status = await fono.OkAsync($"/api/v2/callcenter/queues/status?queueID={QueueId(queue)}");
        Assert.Equal((2, 2.5), (status.Int("csat_ratings"), status.GetProperty("csat_average").GetDouble()));
        // The same figures as the native daily statistics.
        var native = (await T.Admin.OkAsync($"/api/v1/queues/{queue}/stats")).GetProperty("stats");
        Assert.Equal((2, 2.5), (native.Int("ratings"), native.GetProperty("average_rating").GetDouble()));
    }

    private async Task MonitorAsync(long call, SupervisionMode? mode)
    {
        var tenants = fx.Factory.Services.GetRequiredService<ITenantGateway>();
        var tenant = tenants.Find(T.Name)!;
        // Monitoring rings a supervisor's phone over SIP (tested end to end in ContactCenterSipTests); here the engine is
        // told directly what the SIP front-end tells it once that phone answers, or its mode changes, or it leaves.
        var result = await tenant.ExecuteAsync(new SetMonitorCommand(call, mode, mode == null ? null : "5550166"), (_, r) => r);
        Assert.Equal(CommandResult.Ok, result);
    }

    private static (bool Hear, bool Speak, bool HearsSupervisor) Party(JsonElement party) =>
        (party.GetProperty("hear").GetBoolean(), party.GetProperty("speak").GetBoolean(), party.GetProperty("hears_supervisor").GetBoolean());

    [Fact]
    public async Task Hear_and_speak_follow_the_monitoring_mode_as_it_changes_during_the_call()
    {
        var fono = await FonoAsync();
        var (queue, agent) = await QueueWithAgentAsync(new { name = ApiFixture.Unique("mon-"), strategy = "top_down", ring_timeout = 3600 });
        var call = (await T.CallAsync(queue, callerName: "Monitored")).Id();
        await T.EventAsync(call, "agent_answered", agent);

        async Task<(JsonElement Conference, JsonElement Live)> ReadAsync()
        {
            var status = await fono.OkAsync($"/api/v2/callcenter/queues/status?queueID={QueueId(queue)}");
            var conference = status.GetProperty("agents")[0].GetProperty("conference");
            var live = (await fono.OkAsync("/api/v2/callcenter/queues/calls")).EnumerateArray().Single(c => c.GetProperty("caller").Str("name") == "Monitored");
            return (conference, live);
        }

        var (conference, live) = await ReadAsync();
        Assert.Equal(2, conference.Int("participants"));
        Assert.Equal(JsonValueKind.Null, conference.GetProperty("supervisor").ValueKind);
        Assert.Equal((true, true, false), Party(conference.GetProperty("agent")));
        Assert.Equal((true, true, false), Party(conference.GetProperty("caller")));

        // (mode, supervisor speaks, agent hears it, caller hears it)
        foreach (var (mode, speaks, agentHears, callerHears) in new[]
        {
            (SupervisionMode.Listen, false, false, false),
            (SupervisionMode.Whisper, true, true, false),
            (SupervisionMode.Barge, true, true, true),
            (SupervisionMode.Listen, false, false, false),
        })
        {
            await MonitorAsync(call, mode);
            (conference, live) = await ReadAsync();
            foreach (var view in new[] { conference, live })
            {
                Assert.Equal(3, view.Int("participants"));
                var supervisor = view.GetProperty("supervisor");
                Assert.Equal(("5550166", mode.ToString().ToLowerInvariant()), (supervisor.Str("number"), supervisor.Str("mode")));
                Assert.Equal((true, speaks), (supervisor.GetProperty("hear").GetBoolean(), supervisor.GetProperty("speak").GetBoolean()));
                Assert.Equal((true, true, agentHears), Party(view.GetProperty("agent")));
                Assert.Equal((true, true, callerHears), Party(view.GetProperty("caller")));
            }
        }

        // The supervisor leaves: two parties again, nobody hears a supervisor.
        await MonitorAsync(call, null);
        (conference, live) = await ReadAsync();
        Assert.Equal((2, JsonValueKind.Null), (live.Int("participants"), live.GetProperty("supervisor").ValueKind));
        Assert.Equal((true, true, false), Party(live.GetProperty("agent")));
        Assert.Equal((true, true, false), Party(conference.GetProperty("caller")));
    }
}
