using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Lineup.Server.Tests.Telephony;

/// <summary>
/// docs/sip.md's softphone recipe ("A softphone: baresip"), read from the document and run as printed with bash against
/// a server with SIP on and its default settings: only the addresses, Ana's SIP user and her password are the test's
/// own. The phone it sets up must register, be rung for a queue call, answer it by itself, and leave a CDR answered by
/// the agent, with the server's information log saying so. A missing baresip fails the test.
/// </summary>
[Trait("Category", "SipE2E")]
public sealed class SoftphoneRecipeTests(SipServerFixture server, ITestOutputHelper output) : IClassFixture<SipServerFixture>
{
    private const string Heading = "### A softphone: baresip";

    [Fact]
    public async Task The_baresip_recipe_in_the_sip_doc_registers_and_answers_a_queue_call()
    {
        var bash = ExternalTool.Find("bash", "bash is needed to run the softphone recipe.");
        ExternalTool.Find("baresip", "baresip is not installed: the softphone recipe test needs it (apt-get install -y baresip; .ci/run installs it).");
        var doc = await File.ReadAllTextAsync(Path.Combine(ServerProcess.RepositoryRoot, "docs", "sip.md"));
        var start = doc.IndexOf(Heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/sip.md has no \"{Heading}\"");
        var open = doc.IndexOf("```sh\n", start, StringComparison.Ordinal);
        var close = doc.IndexOf("\n```", open + 6, StringComparison.Ordinal);
        var recipe = doc[(open + 6)..close];

        var q = await server.QueueAsync("softphone", new { strategy = "top_down", ring_timeout = 20 });
        var agent = await server.AgentAsync(q, 1);
        var phonePort = Sipp.FreeUdpPort();
        var script = new StringBuilder(recipe);
        foreach (var (printed, ours) in new[]
        {
            ("127.0.0.1:5060", server.SipAddress),
            ("127.0.0.1:5080", "127.0.0.1:" + phonePort.ToString(CultureInfo.InvariantCulture)),
            ("sip:1001@", $"sip:{agent.Number}@"),
            ("auth_pass=ana-sip-secret", "auth_pass=" + agent.Password),
        })
        {
            Assert.True(recipe.Contains(printed, StringComparison.Ordinal), $"the recipe no longer has \"{printed}\":\n{recipe}");
            script.Replace(printed, ours);
        }

        // The recipe makes its phone's folder under the current directory: a temporary one.
        var directory = Directory.CreateTempSubdirectory("lineup-softphone-").FullName;
        var info = new ProcessStartInfo(bash)
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add("-s");
        info.Environment["HOME"] = directory; // nothing from the user's ~/.baresip
        using var phone = new Process { StartInfo = info };
        var log = new StringBuilder();
        phone.OutputDataReceived += (_, e) => ExternalTool.Keep(log, e.Data, 32_000);
        phone.ErrorDataReceived += (_, e) => ExternalTool.Keep(log, e.Data, 32_000);
        phone.Start();
        phone.BeginOutputReadLine();
        phone.BeginErrorReadLine();
        await phone.StandardInput.WriteAsync(script.ToString());
        phone.StandardInput.Close();
        try
        {
            await WaitForRegistrationAsync(agent, phone, log);
            await using var caller = await server.CallAsync(q, "caller.xml", null, new() { ["talk_ms"] = "8000" });
            // The caller's whole scenario: answered, 8 s on the line without an unexpected BYE (baresip hangs up when its
            // audio source fails), then its own BYE.
            (await caller.WaitAsync()).AssertSucceeded();

            var cdr = await server.CdrAsync(q);
            Assert.Equal("answered", cdr.GetProperty("disposition").GetString());
            Assert.Equal(agent.Id, cdr.GetProperty("agent_id").GetInt64());
            Assert.True(cdr.GetProperty("talk_seconds").GetDouble() >= 2, $"the phone was on the call only briefly: {cdr}");
            await server.AssertLoggedAsync(
                $"SIP REGISTER {agent.Number}@default from UDP 127.0.0.1:{phonePort}: 200 OK",
                $"SIP ringing agent {agent.Id} for call",
                $"SIP agent {agent.Id} answered call");
        }
        catch
        {
            output.WriteLine($"--- the recipe's output ---\n{Snapshot(log)}");
            throw;
        }
        finally
        {
            // bash and the baresip it started (the recipe's last line runs it in the foreground).
            if (!phone.HasExited) phone.Kill(entireProcessTree: true);
            await phone.WaitForExitAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private async Task WaitForRegistrationAsync(SipAgent agent, Process phone, StringBuilder log)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(phone.HasExited, $"the recipe ended (exit code {(phone.HasExited ? phone.ExitCode : 0)}) before its phone registered:\n{Snapshot(log)}");
            last = await server.Api.GetStringAsync(new Uri("/api/v1/sip/registrations", UriKind.Relative));
            using var doc = JsonDocument.Parse(last);
            if (doc.RootElement.EnumerateArray().Any(r => r.GetProperty("agent_id").GetInt64() == agent.Id && r.GetProperty("contacts").GetArrayLength() > 0))
            {
                output.WriteLine($"registered after {clock.Elapsed.TotalSeconds:F1} s: {last}");
                return;
            }
            await Task.Delay(250);
        }
        Assert.Fail($"the recipe's phone did not register within 60 s: {last}");
    }

    private static string Snapshot(StringBuilder log)
    {
        lock (log) return log.ToString();
    }
}
