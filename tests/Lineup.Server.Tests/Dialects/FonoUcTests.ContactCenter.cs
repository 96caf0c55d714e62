using System.Globalization;
using System.Net;
using System.Text.Json;
using Lineup.Engine;
using Lineup.Server.Telephony;
using Lineup.Server.Tenancy;
using Lineup.Server.Tests.Media;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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
        // Only this test's calls: the report spans every queue of the tenant, and other tests' calls end meanwhile.
        var ours = new HashSet<string>([rated, unrated, second], StringComparer.Ordinal);
        var cdrs = report.GetProperty("data").EnumerateArray().Where(c => ours.Contains(c.Str("interaction_id")!)).ToDictionary(c => c.Str("interaction_id")!);
        Assert.Equal(3, cdrs.Count);
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
    [Fact]
    public async Task A_recorded_call_s_cdr_names_its_recording_which_fetches_the_audio_and_an_unrecorded_one_names_none()
    {
        var fono = await FonoAsync();
        var (queue, agent) = await QueueWithAgentAsync(new { name = ApiFixture.Unique("rec-"), strategy = "top_down", wrap_up_time = 0, ring_timeout = 3600 });
        var recordedId = ApiFixture.Unique("recorded-");
        var plainId = ApiFixture.Unique("plain-");
        var from = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
        var recorded = (await T.CallAsync(queue, externalId: recordedId)).Id();
        await T.EventAsync(recorded, "agent_answered", agent);
        // The SIP front-end writes the bridge's WAV under Sip:RecordingsPath/<tenant>/ and names it to the engine (tested
        // over SIP in SipEndToEndTests); here the test does both, with a WAV of its own.
        var audio = TestWav.Tone(440, 0.5);
        var folder = Path.Combine(fx.Factory.Services.GetRequiredService<IOptions<TelephonyOptions>>().Value.RecordingsPath, T.Id.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(folder);
        await File.WriteAllBytesAsync(Path.Combine(folder, $"{recorded}.wav"), audio);
        var tenant = fx.Factory.Services.GetRequiredService<ITenantGateway>().Find(T.Name)!;
        Assert.Equal(CommandResult.Ok, await tenant.ExecuteAsync(new SetRecordingCommand(recorded, $"{recorded}.wav"), (_, r) => r));
        await T.EventAsync(recorded, "caller_hangup");
        var plain = (await T.CallAsync(queue, externalId: plainId)).Id();
        await T.EventAsync(plain, "agent_answered", agent);
        await T.EventAsync(plain, "caller_hangup");

        var report = await fono.OkAsync($"/api/v2/reports/callcenter/queues?startDate={from}&endDate={DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1}");
        var cdrs = report.GetProperty("data").EnumerateArray().Where(c => c.Str("interaction_id") is { } x && (x == recordedId || x == plainId))
            .ToDictionary(c => c.Str("interaction_id")!);
        var cdr = cdrs[recordedId];
        var id = cdr.Str("media_recording_id")!;
        var entered = DateTimeOffset.FromUnixTimeMilliseconds((long)(cdr.GetProperty("called_time").GetDouble() * 1000));
        Assert.Equal(RecordingId(recorded, entered), id);
        Assert.Equal(cdr.Str("callid") + ".wav", cdr.Str("recording_filename"));
        Assert.False(cdr.GetProperty("has_screen_recording").GetBoolean());
        Assert.Equal(("", ""), (cdrs[plainId].Str("media_recording_id"), cdrs[plainId].Str("recording_filename")));

        // The id fetches the call's audio, the same bytes as the native endpoint, under the CDR's file name.
        using var fetched = await fono.GetAsync(new Uri($"/api/v2/recordings/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Equal("audio/wav", fetched.Content.Headers.ContentType?.MediaType);
        Assert.Equal(cdr.Str("recording_filename"), fetched.Content.Headers.ContentDisposition?.FileName);
        var bytes = await fetched.Content.ReadAsByteArrayAsync();
        Assert.Equal(audio, bytes);
        using var native = await T.Admin.GetAsync(new Uri($"/api/v1/calls/{recorded}/recording", UriKind.Relative));
        Assert.Equal(bytes, await native.Content.ReadAsByteArrayAsync());

        // Not recorded, malformed, another month, unknown, or another tenant's: 404 in FonoUC's error shape.
        foreach (var bad in new[] { RecordingId(plain, entered), RecordingId(recorded, entered.AddMonths(-1)), RecordingId(999_999_999_999, entered),
                     "202507-Qhz4CUipdRr11FyBgqMr", id.ToUpperInvariant(), id[..^1] })
            await ErrorAsync(await fono.GetAsync(new Uri($"/api/v2/recordings/{bad}", UriKind.Relative)), HttpStatusCode.NotFound, "media_recording_id");
        var other = await fx.CreateTenantAsync();
        await ErrorAsync(await other.Admin.GetAsync(new Uri($"/api/v2/recordings/{id}", UriKind.Relative)), HttpStatusCode.NotFound, "media_recording_id");
        // Fetching needs a supervisor, as the report does.
        var agentUser = await T.AgentUserAsync(agent);
        Assert.Equal(HttpStatusCode.Forbidden, (await agentUser.GetAsync(new Uri($"/api/v2/recordings/{id}", UriKind.Relative))).StatusCode);
    }

    /// <summary>media_recording_id as docs/dialects/fonouc.md describes it: the call's month (UTC), a dash, its id in hex.</summary>
    private static string RecordingId(long call, DateTimeOffset month) =>
        month.UtcDateTime.ToString("yyyyMM", CultureInfo.InvariantCulture) + "-" + call.ToString("x16", CultureInfo.InvariantCulture);
}
