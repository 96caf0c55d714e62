using System.Globalization;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// Overload control on the real server over UDP, driven into overload cheaply: a transaction bound of 40 with new
/// INVITEs refused from half of it. Lingering OPTIONS transactions (32 s each over UDP) fill the table; a new call then
/// gets 503 with Retry-After at once, while the call already up is ended by its BYE, even with the table full, and
/// the refusal shows on /metrics and in one warning.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class SipOverloadEndToEndTests(SipOverloadServerFixture server) : IClassFixture<SipOverloadServerFixture>
{
    [Fact]
    public async Task Overloaded_server_refuses_new_calls_with_503_and_Retry_After_and_still_ends_the_call_it_holds()
    {
        var q = await server.QueueAsync("overload", new { strategy = "top_down" }); // nobody logged in: the caller waits, hearing music
        await using var media = new RtpProbe(Tone.Caller);
        var sdp = $"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {media.Port} RTP/AVP 0\r\n";
        using var admitted = new UdpPhone(server.SipPort);
        var (status, text, dialog) = await admitted.CallAsync(q.Extension, sdp);
        Assert.True(status == 200, $"the first call was not answered:\n{text}");

        // Fill the table to its bound with OPTIONS (each transaction stays 32 s): the last ones get 503 themselves.
        using var pinger = new UdpPhone(server.SipPort);
        var answers = new List<int>();
        for (var i = 0; i < SipOverloadServerFixture.MaxTransactions; i++) answers.Add(await pinger.OptionsAsync());
        Assert.Contains(503, answers);

        // A new call: refused at once, statelessly, with a Retry-After in whole seconds.
        using var newcomer = new UdpPhone(server.SipPort);
        var (refused, refusal, _) = await newcomer.CallAsync(q.Extension, sdp);
        Assert.Equal(503, refused);
        Assert.Matches(@"(?m)^Retry-After: 3\r?$", refusal);

        // The admitted call's BYE passes the full table and ends it.
        Assert.Equal(200, await admitted.ByeAsync(dialog!));

        var metrics = await server.Api.GetStringAsync("/metrics");
        var shed = metrics.Split('\n').Single(l => l.StartsWith("lineup_sip_invites_shed_total{", StringComparison.Ordinal) && l.Contains("reason=\"transactions\"", StringComparison.Ordinal));
        Assert.True(double.Parse(shed[(shed.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture) >= 1, shed);
        await server.AssertLoggedAsync("SIP overload: refused 1 new calls with 503…now Transactions");
    }
}

/// <summary>The SIP server with a transaction bound of <see cref="MaxTransactions"/>, new INVITEs refused from half of it,
/// and a Retry-After of 3 s.</summary>
public sealed class SipOverloadServerFixture : SipServerFixture
{
    public const int MaxTransactions = 40;

    protected override IEnumerable<string> ExtraServerArguments =>
        [$"--Sip:MaxTransactions={MaxTransactions}", "--Sip:Overload:Fraction=0.5", "--Sip:Overload:RetryAfterSeconds=3"];
}
