using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// The real server (<see cref="ServerProcess"/>, SIP enabled on 127.0.0.1) with sipp phones and callers: the issue 6
/// end-to-end cases. Agents' phones register with digest auth (agent-register.xml) and answer, ring, reject or let it
/// ring (UAS scenarios); callers call a queue's extension. Every party that talks has an <see cref="RtpProbe"/> as its
/// media end, sending a tone of its own (<see cref="Tone"/>): each bridge is proved from the RTP each side received —
/// it heard the other's tone, and once it did, nothing else (no hold music) — and from the CDR's talk time and the
/// recording. Outcomes are read from the CDRs. One server for the class (a fixture); every test makes its own queue,
/// agents and numbers.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class SipEndToEndTests(SipServerFixture server, ITestOutputHelper output) : IClassFixture<SipServerFixture>
{
    [Fact]
    public async Task Registered_agent_answers_and_each_side_hears_the_other_and_the_recording_holds_both()
    {
        var q = await server.QueueAsync("media", new { strategy = "top_down", ring_timeout = 20, record_calls = true });
        var ana = await server.AgentAsync(q, 1);
        await using var agentMedia = new RtpProbe(Tone.FirstAgent);
        await using var phone = await server.PhoneAsync(ana, "agent-answer.xml", agentMedia, new() { ["ring_ms"] = "500" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "5000" });

        (await caller.WaitAsync()).AssertSucceeded();
        (await phone.WaitAsync()).AssertSucceeded();
        var cdr = await server.CdrAsync(q);
        Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
        Assert.Equal(ana.Id, cdr.GetProperty("agent_id").GetInt64());
        Hearing.HeardMusicBefore(callerMedia, "the caller", Tone.FirstAgent);
        var bridged = Hearing.Bridged(callerMedia, "the caller", agentMedia, "the agent");
        AssertTalkTime(cdr, bridged);

        // The queue records calls: both directions mixed into one 8 kHz WAV, named in the CDR.
        await server.AssertRecordingHoldsAsync(cdr, Tone.Caller, Tone.FirstAgent);

        // The FonoUC dialect's CDR report names the same recording, and its media_recording_id fetches the same audio.
        var id = cdr.GetProperty("call_id").GetInt64();
        var hex = id.ToString("x16", CultureInfo.InvariantCulture);
        var since = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 300;
        var report = await server.Api.GetFromJsonAsync<JsonElement>(new Uri($"/api/v2/reports/callcenter/queues?startDate={since}&page_size=1000", UriKind.Relative));
        var fono = report.GetProperty("data").EnumerateArray().Single(c => c.GetProperty("callid").GetString() == $"00000002-0000-0000-{hex[..4]}-{hex[4..]}");
        var recording = fono.GetProperty("media_recording_id").GetString();
        Assert.EndsWith("-" + hex, recording, StringComparison.Ordinal);
        using var dialect = await server.Api.GetAsync(new Uri($"/api/v2/recordings/{recording}", UriKind.Relative));
        using var native = await server.Api.GetAsync(new Uri($"/api/v1/calls/{id}/recording", UriKind.Relative));
        Assert.Equal((HttpStatusCode.OK, fono.GetProperty("recording_filename").GetString()), (dialect.StatusCode, dialect.Content.Headers.ContentDisposition?.FileName));
        Assert.Equal(await native.Content.ReadAsByteArrayAsync(), await dialect.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Agent_hangs_up_and_Lineup_ends_the_caller()
    {
        var q = await server.QueueAsync("agentbye", new { strategy = "top_down", ring_timeout = 20 });
        var ana = await server.AgentAsync(q, 1);
        await using var agentMedia = new RtpProbe(Tone.FirstAgent);
        await using var phone = await server.PhoneAsync(ana, "agent-answer-hangup.xml", agentMedia, new() { ["ring_ms"] = "300", ["talk_ms"] = "3000" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller-waits-for-bye.xml", callerMedia, new());

        (await phone.WaitAsync()).AssertSucceeded();
        (await caller.WaitAsync()).AssertSucceeded();
        var cdr = await server.CdrAsync(q);
        Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
        AssertTalkTime(cdr, Hearing.Bridged(callerMedia, "the caller", agentMedia, "the agent"));
    }

    [Fact]
    public async Task Caller_hanging_up_while_waiting_is_an_abandon_and_hears_music_meanwhile()
    {
        var q = await server.QueueAsync("abandon", new { strategy = "top_down" }); // nobody logged in: the caller waits
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller-abandons.xml", callerMedia, new() { ["wait_ms"] = "3000" });

        (await caller.WaitAsync()).AssertSucceeded();
        var cdr = await server.CdrAsync(q);
        Assert.Equal("abandoned", cdr.GetProperty("disposition").GetString());
        Assert.Equal("abandoned", cdr.GetProperty("exit_reason").GetString());
        Assert.Equal(0, cdr.GetProperty("talk_seconds").GetDouble());
        var timeline = callerMedia.Timeline(Tone.Names.Keys.ToArray());
        Assert.True(timeline.Count(f => f.Heard == Heard.Other) >= 100, $"hold music in 3 s: {Hearing.Summary(timeline)}");
        Assert.DoesNotContain(timeline, f => f.Heard.IsTone); // nobody to hear, not even itself
        var intervals = callerMedia.IntervalsMs();
        var p99 = intervals[(int)(0.99 * (intervals.Length - 1))];
        output.WriteLine($"music interval p50 {intervals[intervals.Length / 2]:F1} ms, p99 {p99:F1} ms");
        // The interval target is a benchmark figure (bench/sip/run.sh, docs/benchmarks.md), not a test assertion.

        // The media clock's figures reach /metrics (OpenTelemetry): the played packets and their intervals.
        var metrics = await server.Api.GetStringAsync("/metrics");
        Assert.True(MetricValue(metrics, "lineup_rtp_send_interval_seconds_count") >= 100, metrics);
        Assert.True(MetricValue(metrics, "lineup_rtp_packets_sent_total") >= 100, metrics);
        Assert.Contains("lineup_rtp_send_interval_seconds_bucket{le=\"0.02\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("# TYPE lineup_sip_calls gauge", metrics, StringComparison.Ordinal);
    }

    /// <summary>The value of an unlabelled sample in Prometheus text ("name 12" or "name{} 12").</summary>
    private static double MetricValue(string text, string name) =>
        text.Split('\n').Where(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "{} ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).Single();

    [Fact]
    public async Task Ring_timeout_moves_the_call_to_the_next_agent()
    {
        var q = await server.QueueAsync("ringtimeout", new { strategy = "top_down", ring_timeout = 3 });
        var first = await server.AgentAsync(q, 1);
        var second = await server.AgentAsync(q, 2);
        await using var silentMedia = new RtpProbe(Tone.FirstAgent);
        await using var silent = await server.PhoneAsync(first, "agent-noanswer.xml", silentMedia);
        await using var answeringMedia = new RtpProbe(Tone.SecondAgent);
        await using var answering = await server.PhoneAsync(second, "agent-answer.xml", answeringMedia, new() { ["ring_ms"] = "300" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "7000" });

        (await caller.WaitAsync()).AssertSucceeded();
        (await silent.WaitAsync()).AssertSucceeded(); // CANCEL after the ring timeout, 487, ACK
        (await answering.WaitAsync()).AssertSucceeded();
        var cdr = await server.CdrAsync(q);
        Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
        Assert.Equal(second.Id, cdr.GetProperty("agent_id").GetInt64());
        Assert.Equal([(first.Id, "no_answer"), (second.Id, "answered")], Attempts(cdr));
        Hearing.HeardMusicBefore(callerMedia, "the caller", Tone.SecondAgent);
        AssertTalkTime(cdr, Hearing.Bridged(callerMedia, "the caller", answeringMedia, "the second agent"));
        Hearing.HeardNothing(silentMedia, "the agent who did not answer");
    }

    [Fact]
    public async Task Ring_all_cancels_the_phones_that_lost()
    {
        var q = await server.QueueAsync("ringall", new { strategy = "ring_all", ring_timeout = 20 });
        var winner = await server.AgentAsync(q, 1);
        var loser = await server.AgentAsync(q, 2);
        await using var winnerMedia = new RtpProbe(Tone.FirstAgent);
        await using var answering = await server.PhoneAsync(winner, "agent-answer.xml", winnerMedia, new() { ["ring_ms"] = "1500" });
        await using var loserMedia = new RtpProbe(Tone.SecondAgent);
        await using var ringing = await server.PhoneAsync(loser, "agent-noanswer.xml", loserMedia);
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "5000" });

        (await ringing.WaitAsync()).AssertSucceeded(); // got CANCEL when the winner answered
        (await caller.WaitAsync()).AssertSucceeded();
        (await answering.WaitAsync()).AssertSucceeded();
        var cdr = await server.CdrAsync(q);
        Assert.Equal(winner.Id, cdr.GetProperty("agent_id").GetInt64());
        Assert.Contains((loser.Id, "cancelled"), Attempts(cdr));
        Assert.Contains((winner.Id, "answered"), Attempts(cdr));
        AssertTalkTime(cdr, Hearing.Bridged(callerMedia, "the caller", winnerMedia, "the agent who answered"));
        Hearing.HeardNothing(loserMedia, "the agent whose phone was cancelled");
    }

    [Theory]
    [InlineData("603", "rejected")]
    [InlineData("486", "busy")]
    public async Task Agent_rejecting_moves_the_call_to_the_next_agent(string code, string outcome)
    {
        var q = await server.QueueAsync("reject" + code, new { strategy = "top_down", ring_timeout = 20 });
        var first = await server.AgentAsync(q, 1);
        var second = await server.AgentAsync(q, 2);
        await using var rejecting = await server.PhoneAsync(first, "agent-reject.xml", null, new() { ["ring_ms"] = "300", ["reject_code"] = code });
        await using var answeringMedia = new RtpProbe(Tone.SecondAgent);
        await using var answering = await server.PhoneAsync(second, "agent-answer.xml", answeringMedia, new() { ["ring_ms"] = "300" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "5000" });

        (await rejecting.WaitAsync()).AssertSucceeded();
        (await caller.WaitAsync()).AssertSucceeded();
        (await answering.WaitAsync()).AssertSucceeded();
        var cdr = await server.CdrAsync(q);
        Assert.Equal([(first.Id, outcome), (second.Id, "answered")], Attempts(cdr));
        AssertTalkTime(cdr, Hearing.Bridged(callerMedia, "the caller", answeringMedia, "the second agent"));

        // Each step is one information line naming the call, the agent, the addresses and the SIP status.
        var call = cdr.GetProperty("call_id").GetInt64();
        await server.AssertLoggedAsync(
            $"SIP REGISTER {first.Number}@default from UDP 127.0.0.1:…: 200 OK, 1 contact(s)",
            $"to {q.Extension} (tenant default): answered, queued as call {call} (Call-ID ",
            $"SIP ringing agent {first.Id} for call {call} from ",
            $"SIP agent {first.Id}'s phone at UDP 127.0.0.1:{rejecting.Port} refused call {call}: {code}, reported as agent_{(outcome == "busy" ? "busy" : "rejected")}",
            $"SIP ringing agent {second.Id} for call {call}",
            $"SIP agent {second.Id} answered call {call} from UDP 127.0.0.1:{answering.Port}",
            $"SIP the caller at UDP 127.0.0.1:{caller.Port} hung up call {call}: RemoteBye");
    }

    [Fact]
    public async Task Max_wait_transfers_the_caller_to_the_timeout_destination_and_bridges_them()
    {
        const string target = "5550123";
        var q = await server.QueueAsync("maxwait", new
        {
            strategy = "top_down",
            max_wait = 3,
            destinations = new { timeout = new { type = "number", target } },
        });
        // The transfer leaves through the outbound proxy: the fixture's outside number.
        await using var targetMedia = new RtpProbe(Tone.Outside);
        await using var destination = await server.OutsideAsync(target, targetMedia);
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "8000" });

        (await caller.WaitAsync()).AssertSucceeded();
        (await destination.WaitAsync()).AssertSucceeded(); // answered the transfer, got BYE when the caller hung up
        var cdr = await server.CdrAsync(q);
        Assert.Equal("transferred", cdr.GetProperty("disposition").GetString());
        Assert.Equal("timeout", cdr.GetProperty("exit_reason").GetString());
        Assert.Equal(target, cdr.GetProperty("destination_target").GetString());
        Assert.Equal(0, cdr.GetProperty("talk_seconds").GetDouble()); // nobody of the queue talked to the caller
        Hearing.HeardMusicBefore(callerMedia, "the caller", Tone.Outside);
        var bridged = Hearing.Bridged(callerMedia, "the caller", targetMedia, "the transfer target");
        Assert.True(bridged >= TimeSpan.FromSeconds(2), $"the transfer was bridged for {bridged.TotalSeconds:F1} s only");
    }

    [Fact]
    public async Task Pickup_rings_the_agents_phone_and_bridges_it_to_the_chosen_caller()
    {
        var q = await server.QueueAsync("pickup", new { strategy = "top_down", ring_timeout = 20 });
        var ana = await server.AgentAsync(q, 1);
        await server.StatusAsync(ana, "not_ready"); // not offered by the strategy: only the pickup reaches her
        await using var agentMedia = new RtpProbe(Tone.FirstAgent);
        await using var phone = await server.PhoneAsync(ana, "agent-answer.xml", agentMedia, new() { ["ring_ms"] = "300" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "8000" });

        var call = await server.WaitingCallAsync(q);
        await Task.Delay(TimeSpan.FromSeconds(1)); // a second of music first
        using (var pickup = await server.Api.PostAsJsonAsync($"/api/v1/queues/{q.Id}/calls/{call}/pickup", new { agent_id = ana.Id }))
            Assert.True(pickup.IsSuccessStatusCode, $"pickup answered {(int)pickup.StatusCode}: {await pickup.Content.ReadAsStringAsync()}");

        (await caller.WaitAsync()).AssertSucceeded();
        (await phone.WaitAsync()).AssertSucceeded();
        var cdr = await server.CdrAsync(q);
        Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
        Assert.Equal(ana.Id, cdr.GetProperty("agent_id").GetInt64());
        Assert.True(Assert.Single(cdr.GetProperty("attempts").EnumerateArray()).GetProperty("pickup").GetBoolean());
        Hearing.HeardMusicBefore(callerMedia, "the caller", Tone.FirstAgent);
        AssertTalkTime(cdr, Hearing.Bridged(callerMedia, "the caller", agentMedia, "the agent who picked up"));
    }

    [Fact]
    public async Task Callback_key_hangs_up_then_the_agent_is_rung_and_bridged_to_the_customer_called_back()
    {
        var q = await server.QueueAsync("callback", new { strategy = "top_down", ring_timeout = 20, callback = new { enabled = true, key = "3" } });
        var ana = await server.AgentAsync(q, 1);
        await server.StatusAsync(ana, "not_ready"); // busy elsewhere while the caller waits
        await using var caller = await Sipp.StartAsync(new SippOptions("caller-dtmf.xml")
        {
            Remote = server.SipAddress,
            Service = q.Extension,
            Links = new Dictionary<string, string> { ["dtmf.pcap"] = Path.Combine(Sipp.PcapDirectory, "dtmf_2833_3.pcap") },
            Timeout = TimeSpan.FromSeconds(30),
            MediaPort = Sipp.FreeMediaPorts(),
        }.WithRtpPortFromMediaPort(new() { ["dtmf_after_ms"] = "1500" }));
        (await caller.WaitAsync()).AssertSucceeded(); // pressed 3, Lineup hung up: the call keeps its place as a callback

        // The caller's number (caller-dtmf.xml's From) is called back through the outbound proxy.
        await using var customerMedia = new RtpProbe(Tone.Outside);
        await using var customer = await server.OutsideAsync("+15550001", customerMedia);
        await using var agentMedia = new RtpProbe(Tone.FirstAgent);
        await using var phone = await server.PhoneAsync(ana, "agent-answer-hangup.xml", agentMedia, new() { ["ring_ms"] = "300", ["talk_ms"] = "5000" });
        await server.StatusAsync(ana, "ready"); // her turn: her phone rings, she answers, the customer is dialled

        (await phone.WaitAsync()).AssertSucceeded(); // she hangs up after talking
        (await customer.WaitAsync()).AssertSucceeded(); // Lineup hung the customer up
        var cdr = await server.CdrAsync(q);
        Assert.True(cdr.GetProperty("callback").GetBoolean(), cdr.ToString());
        Assert.Equal("+15550001", cdr.GetProperty("callback_number").GetString());
        Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
        Assert.Equal(ana.Id, cdr.GetProperty("agent_id").GetInt64());
        AssertTalkTime(cdr, Hearing.Bridged(customerMedia, "the customer called back", agentMedia, "the agent"));
    }

    [Fact]
    public async Task Dtmf_exit_key_takes_the_caller_out_of_the_queue()
    {
        var q = await server.QueueAsync("exitkey", new
        {
            strategy = "top_down",
            exit_key = "5",
            destinations = new { exit_key = new { type = "hangup" } },
        });
        await using var caller = await Sipp.StartAsync(new SippOptions("caller-dtmf.xml")
        {
            Remote = server.SipAddress,
            Service = q.Extension,
            Links = new Dictionary<string, string> { ["dtmf.pcap"] = Path.Combine(Sipp.PcapDirectory, "dtmf_2833_5.pcap") },
            Timeout = TimeSpan.FromSeconds(30),
            MediaPort = Sipp.FreeMediaPorts(),
        }.WithRtpPortFromMediaPort(new() { ["dtmf_after_ms"] = "1500" }));

        (await caller.WaitAsync()).AssertSucceeded(); // Lineup hung up after the key
        var cdr = await server.CdrAsync(q);
        Assert.Equal("hung_up", cdr.GetProperty("disposition").GetString());
        Assert.Equal("exit_key", cdr.GetProperty("exit_reason").GetString());
    }

    [Fact]
    public async Task Unregistered_phone_is_not_rung()
    {
        var q = await server.QueueAsync("unregister", new { strategy = "top_down", ring_timeout = 20 });
        var first = await server.AgentAsync(q, 1);
        var second = await server.AgentAsync(q, 2);
        await using var gone = await server.PhoneAsync(first, "agent-noanswer.xml");
        await server.RegisterAsync(first, gone.Port, unregister: true);
        await using var answeringMedia = new RtpProbe(Tone.SecondAgent);
        await using var answering = await server.PhoneAsync(second, "agent-answer.xml", answeringMedia, new() { ["ring_ms"] = "300" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await server.CallAsync(q, "caller.xml", callerMedia, new() { ["talk_ms"] = "4000" });

        (await caller.WaitAsync()).AssertSucceeded();
        (await answering.WaitAsync()).AssertSucceeded();
        Assert.False(gone.HasExited, "the unregistered phone received a call");
        var cdr = await server.CdrAsync(q);
        Assert.Equal(second.Id, cdr.GetProperty("agent_id").GetInt64());
        Assert.Equal([(first.Id, "busy"), (second.Id, "answered")], Attempts(cdr)); // no contact: agent_busy (docs/design/sip.md)
        AssertTalkTime(cdr, Hearing.Bridged(callerMedia, "the caller", answeringMedia, "the second agent"));
        // The log says why the first agent was not rung, so a silent phone is not a mystery.
        await server.AssertLoggedAsync(
            $"SIP cannot ring agent {first.Id} for call {cdr.GetProperty("call_id").GetInt64()}: no phone is registered as {first.Number}@default; reported as agent_busy");
    }

    /// <summary>The CDR's talk time is the time the two sides heard each other, measured from the RTP (within 2.5 s:
    /// the talk starts at the agent's answer and ends at the first BYE, the audio a few packets later and earlier, and a
    /// loaded 2-core runner delays either side by up to a second; still far from the 0 s or 32 s that a broken bridge or
    /// a lost ACK gives).</summary>
    private void AssertTalkTime(JsonElement cdr, TimeSpan heard)
    {
        var talk = cdr.GetProperty("talk_seconds").GetDouble();
        output.WriteLine($"talk_seconds {talk:F2}, bridged audio heard for {heard.TotalSeconds:F2} s");
        Assert.True(heard >= TimeSpan.FromSeconds(2), $"the bridge lasted {heard.TotalSeconds:F2} s only");
        Assert.InRange(talk, heard.TotalSeconds - 2.5, heard.TotalSeconds + 2.5);
    }

    private static List<(long, string)> Attempts(JsonElement cdr) =>
        cdr.GetProperty("attempts").EnumerateArray().Select(a => (a.GetProperty("agent_id").GetInt64(), a.GetProperty("outcome").GetString()!)).ToList();
}

/// <summary>A queue made for one test, with its extension.</summary>
public sealed record SipQueue(long Id, string Extension);

/// <summary>An agent made for one test: its number is its SIP user, registered with <see cref="Password"/>.</summary>
public sealed record SipAgent(long Id, string Number, string Password);

/// <summary>The server with SIP on 127.0.0.1 for a test class, an admin client, and helpers that build queues, agents,
/// phones and callers through the REST API and sipp.</summary>
public class SipServerFixture : IAsyncLifetime
{
    private int _next;
    private ServerProcess? _server;
    private HttpClient? _api;
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "lineup-sip-e2e-" + Guid.NewGuid().ToString("N"));

    public int SipPort { get; } = Sipp.FreeSipPort();

    /// <summary>The outbound proxy Lineup sends transfers to; a test starts transfer-target.xml on it.</summary>
    public int TransferPort { get; } = Sipp.FreeUdpPort();

    public string SipAddress => $"127.0.0.1:{SipPort}";

    public HttpClient Api => _api ?? throw new InvalidOperationException("not started");

    /// <summary>Waits (up to 10 s: the console logger writes from a queue) until the server has printed each of
    /// <paramref name="fragments"/>, in order, each on its own line (a fragment's parts split by "…" in order on one line).</summary>
    public async Task AssertLoggedAsync(params string[] fragments)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var lines = (_server?.Output ?? "").Split('\n');
            var at = 0;
            var missing = fragments.FirstOrDefault(f =>
            {
                var found = Array.FindIndex(lines, at, l => ContainsInOrder(l, f.Split('…')));
                if (found < 0) return true;
                at = found + 1;
                return false;
            });
            if (missing == null) return;
            if (clock.Elapsed > TimeSpan.FromSeconds(10)) Assert.Fail($"the server never logged \"{missing}\" (after the ones before it):\n{_server?.Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>More server arguments, for a fixture that needs another setting (e.g. <c>--Sip:DigestAlgorithms</c>).</summary>
    protected virtual IEnumerable<string> ExtraServerArguments => [];

    public virtual async Task InitializeAsync()
    {
        _ = Sipp.Executable; // fail at once without sipp
        // Below the ephemeral range (32768+), where Sipp and RtpProbe take their ports.
        var rtpMin = 20_000 + (Random.Shared.Next(0, 120) * 100);
        _server = await ServerProcess.StartAsync(_dataDir, null,
        [
            "--Sip:Enabled=true",
            $"--Sip:Listen={SipAddress}",
            "--Sip:PublicAddress=127.0.0.1",
            $"--Sip:RtpPortMin={rtpMin}",
            $"--Sip:RtpPortMax={rtpMin + 99}",
            $"--Sip:OutboundProxy=127.0.0.1:{TransferPort}",
            // Overload control's receive-delay signal off: on a test machine shared with other suites the receive loop
            // can be scheduled hundreds of milliseconds late, and a test call refused with 503 would fail for that.
            // The signal has its own tests (Lineup.Sip.Tests OverloadControlTests); the table signal stays on.
            "--Sip:Overload:MaxReceiveDelayMs=0",
            .. ExtraServerArguments,
        ]);
        _api = _server.CreateClient();
        var login = await _api.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = ServerProcess.AdminPassword, tenant = "default" });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString();
        _api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public virtual async Task DisposeAsync()
    {
        _api?.Dispose();
        if (_server != null) await _server.DisposeAsync();
        try
        {
            if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static bool ContainsInOrder(string line, string[] parts)
    {
        var at = 0;
        foreach (var part in parts)
        {
            var i = line.IndexOf(part, at, StringComparison.Ordinal);
            if (i < 0) return false;
            at = i + part.Length;
        }
        return true;
    }

    /// <summary>A queue's body for SIP tests: wrap-up 0, callers waiting however long, no leaving when no agents,
    /// with <paramref name="settings"/>' properties merged over these.</summary>
    public static Dictionary<string, object?> QueueBody(string name, string extension, object settings)
    {
        var body = new Dictionary<string, object?>
        {
            ["name"] = name,
            ["extension"] = extension,
            ["wrap_up_time"] = 0,
            ["max_wait"] = 0,
            ["max_wait_no_agent"] = 0,
            ["leave_when_no_agents"] = false,
        };
        foreach (var p in JsonSerializer.SerializeToElement(settings).EnumerateObject()) body[p.Name] = p.Value;
        return body;
    }

    /// <summary>A queue with extension 7NN, wrap-up 0, callers waiting however long unless <paramref name="settings"/>
    /// say otherwise (its properties are merged over the defaults).</summary>
    public async Task<SipQueue> QueueAsync(string name, object settings)
    {
        var extension = string.Create(CultureInfo.InvariantCulture, $"7{Interlocked.Increment(ref _next):D2}");
        var queue = await CreatedAsync("/api/v1/queues", QueueBody(name, extension, settings));
        return new SipQueue(queue.GetProperty("id").GetInt64(), extension);
    }

    /// <summary>An agent with a SIP password, member of <paramref name="queue"/> at <paramref name="position"/>, logged in.</summary>
    public async Task<SipAgent> AgentAsync(SipQueue queue, int position, string? number = null)
    {
        number ??= string.Create(CultureInfo.InvariantCulture, $"2{Interlocked.Increment(ref _next):D3}");
        var password = "sip-" + Guid.NewGuid().ToString("N")[..12];
        var agent = await CreatedAsync("/api/v1/agents", new { name = "agent " + number, number });
        var id = agent.GetProperty("id").GetInt64();
        using (var sip = await Api.PutAsJsonAsync($"/api/v1/agents/{id}/sip", new { password }))
            Assert.True(sip.IsSuccessStatusCode, $"PUT /agents/{id}/sip answered {(int)sip.StatusCode}: {await sip.Content.ReadAsStringAsync()}");
        await CreatedAsync($"/api/v1/queues/{queue.Id}/members", new { agent_id = id, level = 0, position });
        using var login = await Api.PostAsync(new Uri($"/api/v1/agents/{id}/login", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        return new SipAgent(id, number, password);
    }

    /// <summary>The agent's phone: a UAS scenario on a free port, registered with Lineup (agent-register.xml). With
    /// <paramref name="media"/>, its SDP names the probe's port and the probe sends the agent's tone to where Lineup's
    /// INVITE asks (<see cref="Sipp.RemoteMediaAsync"/>); without, sipp's own media port (and sipp plays nothing).</summary>
    public async Task<Sipp> PhoneAsync(SipAgent agent, string scenario, RtpProbe? media = null, Dictionary<string, string>? keys = null)
    {
        var phone = await StartAnsweringAsync(scenario, media, keys ?? new Dictionary<string, string>(), 0);
        try
        {
            await RegisterAsync(agent, phone.Port, unregister: false);
        }
        catch
        {
            await phone.DisposeAsync();
            throw;
        }
        return phone;
    }

    /// <summary>A number outside, behind the outbound proxy (the fixture's <see cref="TransferPort"/>): answers the call
    /// Lineup places to <paramref name="number"/> (a transfer, a callback), with <paramref name="media"/> as its media end,
    /// and waits for Lineup's BYE (transfer-target.xml).</summary>
    public Task<Sipp> OutsideAsync(string number, RtpProbe media) =>
        StartAnsweringAsync("transfer-target.xml", media, new Dictionary<string, string> { ["target"] = number }, TransferPort);

    private static async Task<Sipp> StartAnsweringAsync(string scenario, RtpProbe? media, Dictionary<string, string> keys, int port)
    {
        var mediaPort = Sipp.FreeMediaPorts();
        keys["rtp_port"] = Num(media?.Port ?? mediaPort);
        keys["report_media"] = media != null ? "1" : "0";
        keys.TryAdd("play", "0");
        var sipp = await Sipp.StartAsync(new SippOptions(scenario)
        {
            Port = port,
            MediaPort = mediaPort,
            Keys = keys,
            Timeout = TimeSpan.FromSeconds(60),
        });
        media?.StartSending(sipp.RemoteMediaAsync);
        return sipp;
    }

    /// <summary>REGISTER (or unREGISTER) the agent's contact 127.0.0.1:<paramref name="contactPort"/> with digest auth.</summary>
    public async Task RegisterAsync(SipAgent agent, int contactPort, bool unregister)
    {
        await using var register = await Sipp.StartAsync(new SippOptions(unregister ? "agent-unregister.xml" : "agent-register.xml")
        {
            Remote = SipAddress,
            CsvLines = [$"{agent.Number};{agent.Password}"],
            AuthUser = agent.Number,
            AuthPassword = agent.Password,
            Keys = new Dictionary<string, string> { ["contact_port"] = Num(contactPort), ["expires"] = "3600" },
            Extra = ["-default_behaviors", "all,-bye"],
            Timeout = TimeSpan.FromSeconds(15),
        });
        (await register.WaitAsync()).AssertSucceeded();
    }

    /// <summary>A caller scenario towards the queue's extension. With a probe, the SDP names the probe's port, sipp
    /// plays nothing, and the probe sends the caller's tone to where Lineup's first packet (hold music) came from;
    /// without, sipp plays caller.pcap from its own media port.</summary>
    public async Task<Sipp> CallAsync(SipQueue queue, string scenario, RtpProbe? probe, Dictionary<string, string> keys)
    {
        var options = new SippOptions(scenario)
        {
            Remote = SipAddress,
            Service = queue.Extension,
            Timeout = TimeSpan.FromSeconds(60),
            MediaPort = Sipp.FreeMediaPorts(),
        };
        keys["play"] = probe == null ? "1" : "0";
        if (probe == null) return await Sipp.StartAsync(options.WithRtpPortFromMediaPort(keys));
        keys["rtp_port"] = Num(probe.Port);
        var caller = await Sipp.StartAsync(options with { Keys = keys });
        probe.StartSending();
        return caller;
    }

    /// <summary>Sets an agent's status through the API.</summary>
    public async Task StatusAsync(SipAgent agent, string status)
    {
        using var response = await Api.PutAsJsonAsync($"/api/v1/agents/{agent.Id}/status", new { status });
        Assert.True(response.IsSuccessStatusCode, $"PUT /agents/{agent.Id}/status answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The id of the one call waiting in the queue (waits for it to arrive).</summary>
    public async Task<long> WaitingCallAsync(SipQueue queue)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            using var response = await Api.GetAsync(new Uri($"/api/v1/queues/{queue.Id}/calls", UriKind.Relative));
            last = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(last);
            var waiting = doc.RootElement.GetProperty("items").EnumerateArray().Where(c => c.GetProperty("state").GetString() == "waiting").ToList();
            if (waiting.Count == 1) return waiting[0].GetProperty("id").GetInt64();
            await Task.Delay(100);
        }
        Assert.Fail($"no call waiting in queue {queue.Id} within 30 s: {last}");
        return 0;
    }

    /// <summary>The call's recording (named in the CDR) holds each of <paramref name="tones"/>, a second at least, and
    /// little else: both sides were recorded, not silence and not the music.</summary>
    public async Task AssertRecordingHoldsAsync(JsonElement cdr, params int[] tones)
    {
        Assert.False(string.IsNullOrEmpty(cdr.GetProperty("recording_id").GetString()), $"no recording in the CDR: {cdr}");
        using var wav = await Api.GetAsync(new Uri($"/api/v1/calls/{cdr.GetProperty("call_id").GetInt64()}/recording", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, wav.StatusCode);
        Assert.Equal("audio/wav", wav.Content.Headers.ContentType?.MediaType);
        var (windows, neither, total) = Tone.Recording(Tone.ReadWav(await wav.Content.ReadAsByteArrayAsync()), tones);
        var found = string.Join(", ", windows.Select(w => $"{Tone.Describe(w.Key)} in {w.Value}"));
        foreach (var (tone, count) in windows)
            Assert.True(count >= Hearing.MinimumFrames, $"the recording holds {Tone.Describe(tone)} in {count} of its {total} sounding 20 ms windows ({found}; neither in {neither})");
        Assert.True(neither <= total / 10, $"{neither} of the recording's {total} sounding windows hold neither party ({found})");
    }

    /// <summary>The queue's CDR, once there is exactly one (waits for it: the call ends after the sipp processes do).</summary>
    public async Task<JsonElement> CdrAsync(SipQueue queue)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            using var response = await Api.GetAsync(new Uri($"/api/v1/cdrs?queue_id={queue.Id}", UriKind.Relative));
            last = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(last);
            var items = doc.RootElement.GetProperty("items");
            if (items.GetArrayLength() == 1) return items[0].Clone();
            Assert.True(items.GetArrayLength() == 0, $"more than one CDR for queue {queue.Id}: {last}");
            await Task.Delay(100);
        }
        Assert.Fail($"no CDR for queue {queue.Id} within 30 s: {last}\n{_server?.Output}");
        return default;
    }

    private async Task<JsonElement> CreatedAsync(string path, object body)
    {
        using var response = await Api.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST {path} answered {(int)response.StatusCode}: {text}");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);
}

internal static class SippOptionsExtensions
{
    /// <summary>The caller's SDP names sipp's own media port (sipp plays the pcaps from there).</summary>
    public static SippOptions WithRtpPortFromMediaPort(this SippOptions options, Dictionary<string, string> keys)
    {
        keys["rtp_port"] = options.MediaPort.ToString(CultureInfo.InvariantCulture);
        return options with { Keys = keys };
    }
}
