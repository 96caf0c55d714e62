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
}
