using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Lineup.Server.Tests.Media;
using Lineup.Server.Tests.Telephony;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Cluster;

/// <summary>
/// Issue 14: "recording, announcements, DTMF, transfers, callbacks and pickups keep working when the grain and the media
/// are on different nodes" — and monitoring. Each test sends its caller straight to a node that does not run the tenant
/// (so that node is the call's media node, which the test checks in <c>sip_media_calls</c>), agents' phones register
/// through Kamailio (so whichever node they reach, every node rings them through the stored Path), and the API is used
/// through the tenant's node. The same RTP checks as on one node (<see cref="SipEndToEndTests"/>) prove what each party
/// heard. One cluster for the class (<see cref="ClusterTelephonyFixture"/>); each test makes its own queues and agents.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class ClusterTelephonyFeatureTests(ClusterTelephonyFixture cluster, ITestOutputHelper output) : IClassFixture<ClusterTelephonyFixture>
{
    private const int Supervisor = 1000;
    private const int Music = 1350;
    private const int Intro = 950;

    [PostgresFact]
    public async Task A_recorded_call_is_bridged_and_its_recording_is_served_through_every_node()
    {
        var media = cluster.Others[0];
        var (q, extension) = await cluster.QueueAsync("recorded", new { strategy = "top_down", ring_timeout = 20, record_calls = true });
        var agent = await cluster.AgentAsync(q);
        await using var agentMedia = new RtpProbe(Tone.FirstAgent);
        await using var phone = await cluster.PhoneAsync(agent, "agent-answer.xml", agentMedia, new() { ["ring_ms"] = "300" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await ClusterTelephonyFixture.CallAsync(media, extension, "caller.xml", callerMedia, new() { ["talk_ms"] = "5000" });
        await Explained(async () =>
        {
            await cluster.AssertMediaAwayFromTenantAsync(await cluster.CallInStateAsync(q, "connected"), media);
            (await caller.WaitAsync()).AssertSucceeded();
            (await phone.WaitAsync()).AssertSucceeded();
            var cdr = (await cluster.CdrsAsync(q)).Single();
            Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
            Assert.Equal(agent.Id, cdr.GetProperty("agent_id").GetInt64());
            Hearing.Bridged(callerMedia, "the caller", agentMedia, "the agent");

            // Written by the media node into the shared folder; every node serves it (the request is answered by the
            // tenant's node, which reads the same folder).
            var id = cdr.GetProperty("recording_id").GetString();
            Assert.False(string.IsNullOrEmpty(id), $"no recording in the CDR: {cdr}");
            foreach (var node in cluster.Nodes)
            {
                using var client = new HttpClient { BaseAddress = new Uri(node.Url), Timeout = TimeSpan.FromSeconds(30) };
                client.DefaultRequestHeaders.Authorization = cluster.Api.DefaultRequestHeaders.Authorization;
                byte[]? wav = null;
                await ClusterTelephonyFixture.WaitAsync(async () =>
                {
                    using var r = await client.GetAsync(new Uri($"/api/v1/calls/{cdr.GetProperty("call_id").GetInt64()}/recording", UriKind.Relative));
                    if (r.StatusCode != HttpStatusCode.OK) return false;
                    Assert.Equal("audio/wav", r.Content.Headers.ContentType?.MediaType);
                    wav = await r.Content.ReadAsByteArrayAsync();
                    // The media node closes the file when the call's legs end, a moment after the CDR.
                    return Tone.Recording(Tone.ReadWav(wav), Tone.Caller, Tone.FirstAgent).Windows.Values.All(n => n >= Hearing.MinimumFrames);
                }, $"the recording through node {node.Index}");
                var (windows, neither, total) = Tone.Recording(Tone.ReadWav(wav!), Tone.Caller, Tone.FirstAgent);
                output.WriteLine($"node {node.Index}: recording {wav!.Length} bytes, {string.Join(", ", windows.Select(w => $"{w.Key} Hz in {w.Value}"))}, neither in {neither} of {total}");
                Assert.True(neither <= total / 10, $"{neither} of the recording's {total} sounding windows hold neither party");
            }
        });
    }

    [PostgresFact]
    public async Task Prompts_and_music_uploaded_through_the_tenant_s_node_are_played_by_the_media_node()
    {
        var media = cluster.Others[1];
        var suffix = Guid.NewGuid().ToString("N")[..6];
        await UploadAsync(TestWav.Tone(Music, 3), "music-" + suffix);
        var (first, firstExtension) = await cluster.QueueAsync("music", new { strategy = "top_down", hold_music = "music-" + suffix });
        await using var firstMedia = new RtpProbe(Tone.Caller);
        await using var firstCaller = await ClusterTelephonyFixture.CallAsync(media, firstExtension, "caller-abandons.xml", firstMedia, new() { ["wait_ms"] = "2500" });
        await Explained(async () =>
        {
            await cluster.AssertMediaAwayFromTenantAsync(await cluster.CallInStateAsync(first, "waiting"), media);
            (await firstCaller.WaitAsync()).AssertSucceeded();
            var heard = firstMedia.Timeline([Music]);
            Assert.True(heard.Count(f => f.Heard.ToneHz == Music) >= 50, $"the uploaded music: {Hearing.Summary(heard)}");

            // A prompt uploaded now, after the media node read the tenant's library: it is played too.
            await UploadAsync(TestWav.Tone(Intro, 1.5), "hello-" + suffix);
            var (second, secondExtension) = await cluster.QueueAsync("intro", new { strategy = "top_down", hold_music = "music-" + suffix, intro_prompt = "hello-" + suffix });
            await using var callerMedia = new RtpProbe(Tone.Caller);
            await using var caller = await ClusterTelephonyFixture.CallAsync(media, secondExtension, "caller-abandons.xml", callerMedia, new() { ["wait_ms"] = "4500" });
            await cluster.AssertMediaAwayFromTenantAsync(await cluster.CallInStateAsync(second, "waiting"), media);
            (await caller.WaitAsync()).AssertSucceeded();
            var timeline = callerMedia.Timeline([Music, Intro]);
            var summary = Hearing.Summary(timeline);
            var intro = timeline.FindIndex(f => f.Heard.ToneHz == Intro);
            var music = intro < 0 ? -1 : timeline.FindIndex(intro, f => f.Heard.ToneHz == Music);
            Assert.True(intro >= 0 && intro <= 10 && music > intro, $"the intro, then the music: {summary}");
            Assert.InRange(timeline.Count(f => f.Heard.ToneHz == Intro), 60, 80);
            Assert.True(timeline.Count(f => f.Heard.ToneHz == Music) >= 50, $"the music after the intro: {summary}");
            Assert.Equal("abandoned", (await cluster.CdrsAsync(second)).Single().GetProperty("disposition").GetString());
        });
    }

    [PostgresFact]
    public async Task The_callback_key_pressed_on_the_media_node_keeps_the_place_and_the_customer_is_called_back_and_bridged()
    {
        var media = cluster.Others[0];
        var (q, extension) = await cluster.QueueAsync("callback", new { strategy = "top_down", ring_timeout = 20, callback = new { enabled = true, key = "3" } });
        var agent = await cluster.AgentAsync(q);
        await cluster.StatusAsync(agent, "not_ready");
        await using var caller = await ClusterTelephonyFixture.CallPressingAsync(media, extension, '3');
        await Explained(async () =>
        {
            var call = await cluster.CallInStateAsync(q, null);
            await cluster.AssertMediaAwayFromTenantAsync(call, media);
            (await caller.WaitAsync()).AssertSucceeded(); // pressed 3 (an RFC 2833 event), Lineup hung up: a callback now

            // caller-dtmf.xml's number is called back through the outbound proxy, from the media node.
            await using var customerMedia = new RtpProbe(Tone.Outside);
            await using var customer = await cluster.OutsideAsync("+15550001", customerMedia);
            await using var agentMedia = new RtpProbe(Tone.FirstAgent);
            await using var phone = await cluster.PhoneAsync(agent, "agent-answer-hangup.xml", agentMedia, new() { ["ring_ms"] = "300", ["talk_ms"] = "5000" });
            await cluster.StatusAsync(agent, "ready");
            (await phone.WaitAsync()).AssertSucceeded();
            (await customer.WaitAsync()).AssertSucceeded();
            var cdr = (await cluster.CdrsAsync(q)).Single();
            Assert.Equal(call, cdr.GetProperty("call_id").GetInt64());
            Assert.True(cdr.GetProperty("callback").GetBoolean(), cdr.ToString());
            Assert.Equal("+15550001", cdr.GetProperty("callback_number").GetString());
            Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
            Assert.Equal(agent.Id, cdr.GetProperty("agent_id").GetInt64());
            Hearing.Bridged(customerMedia, "the customer called back", agentMedia, "the agent");
        });
    }

    [PostgresFact]
    public async Task The_exit_key_moves_the_caller_to_another_queue_whose_agent_answers()
    {
        var media = cluster.Others[1];
        var (target, _) = await cluster.QueueAsync("moved-to", new { strategy = "top_down", ring_timeout = 20 });
        var (q, extension) = await cluster.QueueAsync("moved-from", new
        {
            strategy = "top_down",
            exit_key = "5",
            destinations = new { exit_key = new { type = "queue", queue_id = target } },
        });
        var agent = await cluster.AgentAsync(target);
        await using var agentMedia = new RtpProbe(Tone.SecondAgent);
        await using var phone = await cluster.PhoneAsync(agent, "agent-answer-hangup.xml", agentMedia, new() { ["ring_ms"] = "300", ["talk_ms"] = "3000" });
        await using var caller = await ClusterTelephonyFixture.CallPressingAsync(media, extension, '5');
        await Explained(async () =>
        {
            await cluster.AssertMediaAwayFromTenantAsync(await cluster.CallInStateAsync(q, null), media);
            (await phone.WaitAsync()).AssertSucceeded(); // rung in the second queue, answered, hung up after 3 s
            (await caller.WaitAsync()).AssertSucceeded(); // Lineup hung the caller up after the agent
            var cdr = (await cluster.CdrsAsync(target)).Single();
            Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
            Assert.Equal(agent.Id, cdr.GetProperty("agent_id").GetInt64());
            var visits = cdr.GetProperty("queues").EnumerateArray().ToList();
            Assert.Equal([q, target], visits.Select(v => v.GetProperty("queue_id").GetInt64()).ToArray());
            Assert.Equal("exit_key", visits[0].GetProperty("exit_reason").GetString()); // the key (an RFC 2833 event) moved it
            // Talked about as long as the agent's phone stayed on (its scenario hangs up after 3 s). (The caller sends no
            // audio after its key: the bridge relays nothing to hear.)
            Assert.InRange(cdr.GetProperty("talk_seconds").GetDouble(), 2, 6);
        });
    }

    [PostgresFact]
    public async Task Max_wait_transfers_the_caller_to_a_number_from_the_media_node_and_bridges_them()
    {
        const string number = "5550123";
        var media = cluster.Others[0];
        var (q, extension) = await cluster.QueueAsync("transfer", new
        {
            strategy = "top_down",
            max_wait = 3,
            destinations = new { timeout = new { type = "number", target = number } },
        });
        await using var targetMedia = new RtpProbe(Tone.Outside);
        await using var destination = await cluster.OutsideAsync(number, targetMedia);
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await ClusterTelephonyFixture.CallAsync(media, extension, "caller.xml", callerMedia, new() { ["talk_ms"] = "8000" });
        await Explained(async () =>
        {
            await cluster.AssertMediaAwayFromTenantAsync(await cluster.CallInStateAsync(q, "waiting"), media);
            (await caller.WaitAsync()).AssertSucceeded();
            (await destination.WaitAsync()).AssertSucceeded();
            var cdr = (await cluster.CdrsAsync(q)).Single();
            Assert.Equal("transferred", cdr.GetProperty("disposition").GetString());
            Assert.Equal(number, cdr.GetProperty("destination_target").GetString());
            Hearing.HeardMusicBefore(callerMedia, "the caller", Tone.Outside);
            var bridged = Hearing.Bridged(callerMedia, "the caller", targetMedia, "the transfer target");
            Assert.True(bridged >= TimeSpan.FromSeconds(2), $"the transfer was bridged for {bridged.TotalSeconds:F1} s only");
        });
    }

    [PostgresFact]
    public async Task A_pickup_through_the_API_rings_the_agent_and_bridges_it_to_the_caller_on_the_media_node()
    {
        var media = cluster.Others[1];
        var (q, extension) = await cluster.QueueAsync("pickup", new { strategy = "top_down", ring_timeout = 20 });
        var agent = await cluster.AgentAsync(q);
        await cluster.StatusAsync(agent, "not_ready"); // only the pickup reaches her
        await using var agentMedia = new RtpProbe(Tone.FirstAgent);
        await using var phone = await cluster.PhoneAsync(agent, "agent-answer.xml", agentMedia, new() { ["ring_ms"] = "300" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await ClusterTelephonyFixture.CallAsync(media, extension, "caller.xml", callerMedia, new() { ["talk_ms"] = "8000" });
        await Explained(async () =>
        {
            var call = await cluster.CallInStateAsync(q, "waiting");
            await cluster.AssertMediaAwayFromTenantAsync(call, media);
            await Task.Delay(TimeSpan.FromSeconds(1)); // a second of music first
            ClusterTelephonyFixture.Ok(await cluster.Api.PostAsJsonAsync(new Uri($"/api/v1/queues/{q}/calls/{call}/pickup", UriKind.Relative), new { agent_id = agent.Id }));
            (await caller.WaitAsync()).AssertSucceeded();
            (await phone.WaitAsync()).AssertSucceeded();
            var cdr = (await cluster.CdrsAsync(q)).Single();
            Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
            Assert.Equal(agent.Id, cdr.GetProperty("agent_id").GetInt64());
            Assert.True(Assert.Single(cdr.GetProperty("attempts").EnumerateArray()).GetProperty("pickup").GetBoolean());
            Hearing.HeardMusicBefore(callerMedia, "the caller", Tone.FirstAgent);
            Hearing.Bridged(callerMedia, "the caller", agentMedia, "the agent who picked up");
        });
    }

    [PostgresFact]
    public async Task A_supervisor_monitoring_through_the_tenant_s_node_is_rung_by_the_media_node_and_hears_both_parties()
    {
        var media = cluster.Others[0];
        var (q, extension) = await cluster.QueueAsync("monitored", new { strategy = "top_down", ring_timeout = 20 });
        var agent = await cluster.AgentAsync(q);
        var supervisor = await cluster.AgentAsync(null); // an agent of no queue: its registered phone is the supervisor's
        await using var supervisorMedia = new RtpProbe(Supervisor);
        await using var supervisorPhone = await cluster.PhoneAsync(supervisor, "agent-answer.xml", supervisorMedia, new() { ["ring_ms"] = "200" });
        await using var agentMedia = new RtpProbe(Tone.FirstAgent);
        await using var phone = await cluster.PhoneAsync(agent, "agent-answer.xml", agentMedia, new() { ["ring_ms"] = "300" });
        await using var callerMedia = new RtpProbe(Tone.Caller);
        await using var caller = await ClusterTelephonyFixture.CallAsync(media, extension, "caller.xml", callerMedia, new() { ["talk_ms"] = "12000" });
        await Explained(async () =>
        {
            var call = await cluster.CallInStateAsync(q, "connected");
            await cluster.AssertMediaAwayFromTenantAsync(call, media);
            using (var start = await cluster.Api.PostAsJsonAsync(new Uri($"/api/v1/calls/{call}/monitor", UriKind.Relative), new { supervisor = supervisor.Number, mode = "listen" }))
                Assert.True(start.StatusCode == HttpStatusCode.Accepted, $"monitor answered {(int)start.StatusCode}: {await start.Content.ReadAsStringAsync()}");
            await ClusterTelephonyFixture.WaitAsync(() => Task.FromResult(Frames(supervisorMedia, 0).Count(f => Tone.Share(f, Tone.Caller) > 0.2 && Tone.Share(f, Tone.FirstAgent) > 0.2) >= 50),
                "the supervisor hearing the caller and the agent mixed");
            var (agentAt, callerAt) = (agentMedia.Packets.Count, callerMedia.Packets.Count);
            await Task.Delay(1500);
            // Listening: nobody hears the supervisor.
            Assert.DoesNotContain(Frames(agentMedia, agentAt), f => Tone.Share(f, Supervisor) > 0.2);
            Assert.DoesNotContain(Frames(callerMedia, callerAt), f => Tone.Share(f, Supervisor) > 0.2);

            // The supervisor leaves through the tenant's node: only its leg ends (Lineup's BYE ends its scenario).
            using (var stop = await cluster.Api.DeleteAsync(new Uri($"/api/v1/calls/{call}/monitor", UriKind.Relative)))
                Assert.Equal(HttpStatusCode.NoContent, stop.StatusCode);
            (await supervisorPhone.WaitAsync()).AssertSucceeded();
            (await caller.WaitAsync()).AssertSucceeded();
            (await phone.WaitAsync()).AssertSucceeded();
            var cdr = (await cluster.CdrsAsync(q)).Single();
            Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
            Hearing.Bridged(callerMedia, "the caller", agentMedia, "the agent");
            var events = await cluster.GetJsonAsync("/api/v1/events?types=call.monitor_started,call.monitor_ended&limit=1000");
            Assert.Equal(["call.monitor_started", "call.monitor_ended"], events.GetProperty("items").EnumerateArray()
                .Where(e => e.GetProperty("call_id").GetInt64() == call).Select(e => e.GetProperty("type").GetString()!).ToArray());
        });
    }

    [PostgresFact]
    public async Task A_registration_changed_through_another_node_is_used_by_the_media_node_s_next_offer()
    {
        // The nodes cache registrations for ten minutes (the fixture): only the change's notification can make the
        // media node ring the new contact.
        var media = cluster.Others[0];
        var first = cluster.Others[1];
        var (q, extension) = await cluster.QueueAsync("reregister", new { strategy = "top_down", ring_timeout = 20 });
        var agent = await cluster.AgentAsync(q);
        await Explained(async () =>
        {
            // The phone registers at one node; the media node rings it (and keeps what it read).
            await using (var old = await cluster.PhoneAsync(agent, "agent-answer.xml", null, new() { ["ring_ms"] = "200" }, registrar: first.Sip))
            {
                await using var caller = await ClusterTelephonyFixture.CallAsync(media, extension, "caller.xml", null, new() { ["talk_ms"] = "1500" });
                await cluster.AssertMediaAwayFromTenantAsync(await cluster.CallInStateAsync(q, null), media);
                (await caller.WaitAsync()).AssertSucceeded();
                (await old.WaitAsync()).AssertSucceeded();
                await cluster.CdrsAsync(q, 1);

                // Through another node (the tenant's): the old contact is removed, a new one registered.
                await cluster.RegisterAsync(agent, old.Port, cluster.Owner.Sip, unregister: true);
            }
            await using var phone = await cluster.PhoneAsync(agent, "agent-answer.xml", null, new() { ["ring_ms"] = "200" }, registrar: cluster.Owner.Sip);
            await using var again = await ClusterTelephonyFixture.CallAsync(media, extension, "caller.xml", null, new() { ["talk_ms"] = "1500" });
            var call = await cluster.CallInStateAsync(q, null);
            await cluster.AssertMediaAwayFromTenantAsync(call, media);
            (await phone.WaitAsync()).AssertSucceeded(); // the new contact was rung, and answered
            (await again.WaitAsync()).AssertSucceeded();
            var cdr = (await cluster.CdrsAsync(q, 2)).Single(c => c.GetProperty("call_id").GetInt64() == call);
            // Rung once, at the new contact: the old one (gone) was not tried first.
            Assert.Equal([(agent.Id, "answered")], cdr.GetProperty("attempts").EnumerateArray()
                .Select(a => (a.GetProperty("agent_id").GetInt64(), a.GetProperty("outcome").GetString())).ToArray());
        });
    }

    private async Task UploadAsync(byte[] wav, string name)
    {
        using var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(wav);
        part.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        form.Add(part, "file", name + ".wav");
        form.Add(new StringContent(name), "name");
        using var response = await cluster.Api.PostAsync(new Uri("/api/v1/media", UriKind.Relative), form);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /media answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private static List<int[]> Frames(RtpProbe probe, int from) =>
        [.. probe.Packets.Skip(from).Where(p => p.Samples.Length > 0 && Tone.Rms(p.Samples) >= Tone.SilenceRms).Select(p => p.Samples)];

    /// <summary>Runs the test's checks; when one fails, the nodes' and Kamailio's output go to the test's log.</summary>
    private async Task Explained(Func<Task> checks)
    {
        try
        {
            await checks();
        }
        catch
        {
            output.WriteLine(cluster.Output());
            throw;
        }
    }
}
