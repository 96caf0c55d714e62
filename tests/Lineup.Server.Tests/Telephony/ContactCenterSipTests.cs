using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// Issue 15's queue features end to end over SIP (the real server, sipp phones and callers, <see cref="RtpProbe"/>
/// media ends): what each party hears, and what the CDR says.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class ContactCenterSipTests(SipServerFixture server, ITestOutputHelper output) : IClassFixture<SipServerFixture>
{
    [Fact]
    public async Task Inactive_queue_transfers_a_new_caller_to_its_destination_who_then_hears_the_target()
    {
        const string target = "5550177";
        var q = await server.QueueAsync("inactive", new { active = false, destinations = new { inactive = new { type = "number", target } } });
        var ana = await server.AgentAsync(q, 1);
        await using var agentPhone = await server.PhoneAsync(ana, "agent-noanswer.xml");
        await using var targetMedia = new RtpProbe(Tone.Outside);
        await using var destination = await server.OutsideAsync(target, targetMedia);
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "4000" });

        (await caller.WaitAsync()).AssertSucceeded();
        (await destination.WaitAsync()).AssertSucceeded();
        var cdr = await server.CdrAsync(q);
        output.WriteLine(cdr.ToString());
        Assert.Equal("transferred", cdr.GetProperty("disposition").GetString());
        Assert.Equal("inactive", cdr.GetProperty("exit_reason").GetString());
        Assert.Empty(cdr.GetProperty("attempts").EnumerateArray()); // the logged-in agent was never rung
        Assert.False(agentPhone.HasExited, "the agent's phone was rung by an inactive queue");
        var bridged = Hearing.Bridged(callerMedia, "the caller", targetMedia, "the inactive queue's destination");
        Assert.True(bridged >= TimeSpan.FromSeconds(2), $"the transfer was bridged for {bridged.TotalSeconds:F1} s only");
    }

    [Fact]
    public async Task Required_disposition_keeps_the_agent_in_wrap_up_after_a_sip_call_until_the_code_which_the_cdr_holds()
    {
        var q = await server.QueueAsync("disposition", new { strategy = "top_down", wrap_up_time = 1, disposition_codes = new[] { "resolved", "escalated" }, disposition_required = true });
        var ana = await server.AgentAsync(q, 1);
        await using var agentMedia = new RtpProbe(Tone.FirstAgent);
        await using var phone = await server.PhoneAsync(ana, "agent-answer-hangup.xml", agentMedia, new() { ["ring_ms"] = "300", ["talk_ms"] = "3000" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller-waits-for-bye.xml", callerMedia, new());

        (await phone.WaitAsync()).AssertSucceeded();
        (await caller.WaitAsync()).AssertSucceeded();
        Hearing.Bridged(callerMedia, "the caller", agentMedia, "the agent");
        await Task.Delay(2000); // past the wrap-up time
        var status = await server.Api.GetFromJsonAsync<JsonElement>($"/api/v1/agents/{ana.Id}/status");
        Assert.Equal("wrap_up", status.GetProperty("status").GetString());
        var call = status.GetProperty("current_call_id").GetInt64();

        using (var set = await server.Api.PostAsJsonAsync($"/api/v1/calls/{call}/disposition", new { agent_id = ana.Id, code = "escalated" }))
            Assert.True(set.IsSuccessStatusCode, $"disposition answered {(int)set.StatusCode}: {await set.Content.ReadAsStringAsync()}");
        var cdr = await server.CdrAsync(q);
        Assert.Equal(("answered", "escalated"), (cdr.GetProperty("disposition").GetString(), cdr.GetProperty("disposition_code").GetString()));
        Assert.True(cdr.GetProperty("wrap_up_seconds").GetDouble() >= 2, cdr.ToString());
    }

    [Fact]
    public async Task Outside_office_hours_the_caller_is_sent_to_the_night_destination_and_hears_it()
    {
        const string target = "5550188";
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture); // the default tenant's zone is UTC
        var tomorrow = DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var q = await server.QueueAsync("officehours", new
        {
            office_hours = new { holidays = new[] { today, tomorrow } },
            destinations = new { night_mode = new { type = "number", target } },
        });
        await using var targetMedia = new RtpProbe(Tone.Outside);
        await using var destination = await server.OutsideAsync(target, targetMedia);
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "4000" });

        (await caller.WaitAsync()).AssertSucceeded();
        (await destination.WaitAsync()).AssertSucceeded();
        var cdr = await server.CdrAsync(q);
        Assert.Equal(("transferred", "night_mode"), (cdr.GetProperty("disposition").GetString(), cdr.GetProperty("exit_reason").GetString()));
        var bridged = Hearing.Bridged(callerMedia, "the caller", targetMedia, "the night destination");
        Assert.True(bridged >= TimeSpan.FromSeconds(2), $"the transfer was bridged for {bridged.TotalSeconds:F1} s only");
    }
}
