using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Deque.AxeCore.Playwright;
using Lineup.Server.Tests;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Lineup.Web.Tests;

/// <summary>
/// The wallboard and the agent panel in a real browser (headless Debian Chromium) against the real server process: set
/// up through the API, watched and clicked through the pages, and checked against the API. Each test leaves a
/// screenshot in docs/ and runs axe on what it saw.
/// </summary>
public sealed class BrowserTests(BrowserFixture fixture, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    /// <summary>How long a page may take to show what the event stream told it. The pages never poll nor reload (they
    /// change only on stream events), so an update seen at all, without a reload, proves them live; the wait is generous
    /// because a busy 2-core runner may take seconds. How fast is printed, not asserted (no timing asserts in tests).</summary>
    private const int LiveUpdateMs = 20_000;

    /// <summary>For loading a page and signing in, which may be slow on a busy 2-core machine.</summary>
    private static readonly LocatorAssertionsToHaveTextOptions Loaded = new() { Timeout = 20_000 };

    /// <summary>Where a screenshot goes: docs/ when LINEUP_UPDATE_SCREENSHOTS=1 (to refresh the README's pictures), else
    /// the temp folder, so that running the tests leaves the checkout clean.</summary>
    private static string Docs(string file) =>
        Environment.GetEnvironmentVariable("LINEUP_UPDATE_SCREENSHOTS") == "1"
            ? Path.Combine(ServerProcess.RepositoryRoot, "docs", file)
            : Path.Combine(Path.GetTempPath(), "lineup-" + file);

    [Fact]
    public async Task Wallboard_shows_queues_and_agents_and_follows_the_live_stream()
    {
        var clock = Stopwatch.StartNew();
        using var admin = await Api.SignInAsync(fixture.Server.BaseAddress, "admin", ServerProcess.AdminPassword, "default");
        var queue = new { strategy = "longest_idle", ring_timeout = 600, wrap_up_time = 0, sla_time = 20 };
        var sales = Api.Id(await admin.PostAsync("/api/v1/queues", new { name = "Sales", queue.strategy, queue.ring_timeout, queue.wrap_up_time, queue.sla_time }));
        var support = Api.Id(await admin.PostAsync("/api/v1/queues", new { name = "Support", queue.strategy, queue.ring_timeout, queue.wrap_up_time, queue.sla_time }));
        var maria = Api.Id(await admin.PostAsync("/api/v1/agents", new { name = "Maria Garcia", number = "201" }));
        var james = Api.Id(await admin.PostAsync("/api/v1/agents", new { name = "James Chen", number = "202" }));
        var priya = Api.Id(await admin.PostAsync("/api/v1/agents", new { name = "Priya Patel", number = "203" }));
        foreach (var (q, a) in new[] { (sales, maria), (sales, james), (support, james), (support, priya) })
            await admin.PostAsync($"/api/v1/queues/{q}/members", new { agent_id = a });
        foreach (var a in new[] { maria, james, priya }) await admin.PostAsync($"/api/v1/agents/{a}/login");
        // A morning so far: a Sales call answered and finished, a Support call still being talked.
        var done = await admin.PostAsync("/api/v1/calls", new { queue_id = sales, caller_number = "+14155550123", caller_name = "Acme Corp" });
        await AnswerAsync(admin, done);
        await admin.PostAsync($"/api/v1/calls/{Api.Id(done)}/events", new { type = "caller_hangup" });
        await AnswerAsync(admin, await admin.PostAsync("/api/v1/calls", new { queue_id = support, caller_number = "+442079460018" }));

        var key = (await admin.PostAsync("/api/v1/api-keys", new { name = "Wall screen, floor 2", role = "supervisor" })).GetProperty("key").GetString();
        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();
        var problems = WatchForProblems(page);
        await page.GotoAsync("/wallboard#token=" + key);
        await Expect(page.Locator("#agents tbody tr[data-agent-id]")).ToHaveCountAsync(3, new() { Timeout = Loaded.Timeout });
        await Expect(page.Locator("#conn")).ToHaveTextAsync("live", Loaded);
        Assert.DoesNotContain("token=", page.Url, StringComparison.Ordinal); // the key does not stay in the address bar
        var salesCard = page.Locator($"article.queue[data-queue-id='{sales}']");
        await Expect(salesCard.Locator("h2")).ToHaveTextAsync("Sales");
        await Expect(salesCard.Locator("dd[data-figure=answered]")).ToHaveTextAsync("1");
        await Expect(page.Locator($"article.queue[data-queue-id='{support}'] dd[data-figure=talking]")).ToHaveTextAsync("1");
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  wallboard loaded and live");

        // An agent goes to lunch: the wallboard shows it, live.
        var status = Status(page, maria);
        await Expect(status).ToHaveAttributeAsync("data-status", "ready");
        await admin.PutAsync($"/api/v1/agents/{maria}/status", new { status = "not_ready", reason = "lunch" });
        var shown = Stopwatch.StartNew();
        await Expect(status).ToHaveAttributeAsync("data-status", "not_ready", new() { Timeout = LiveUpdateMs });
        shown.Stop();
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  status change shown {shown.ElapsedMilliseconds} ms after the API answered");
        await Expect(status).ToContainTextAsync("lunch");

        // A call comes in: the queue's waiting figure follows.
        var waiting = salesCard.Locator("dd[data-figure=waiting]");
        await Expect(waiting).ToHaveTextAsync("0");
        await admin.PostAsync("/api/v1/calls", new { queue_id = sales, caller_number = "+14155550187", caller_name = "Jordan Blake" });
        shown.Restart();
        await Expect(waiting).ToHaveTextAsync(await WaitingAsync(admin, sales), new() { Timeout = LiveUpdateMs });
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  waiting figure updated {shown.ElapsedMilliseconds} ms after the API answered");

        // A few more callers, so the screenshot looks like a busy morning.
        foreach (var (q, number) in new[] { (sales, "+13125550144"), (sales, "+16175550102"), (support, "+12065550175"), (support, "+15035550166") })
            await admin.PostAsync("/api/v1/calls", new { queue_id = q, caller_number = number });
        await Expect(waiting).ToHaveTextAsync(await WaitingAsync(admin, sales), new() { Timeout = LiveUpdateMs });
        await Expect(page.Locator($"article.queue[data-queue-id='{support}'] dd[data-figure=waiting]"))
            .ToHaveTextAsync(await WaitingAsync(admin, support), new() { Timeout = LiveUpdateMs });
        await Expect(salesCard).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bbad\b")); // callers waiting, nobody free
        await Expect(page.Locator("#clock")).Not.ToBeEmptyAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Docs("wallboard.png"), FullPage = true });

        await AssertAccessibleAsync(page, "wallboard");
        Assert.True(problems.Count == 0, "the page reported errors:\n" + string.Join('\n', problems));
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  done (server and browser started in {fixture.StartTime.TotalSeconds:F1} s)");
    }

    [Fact]
    public async Task Agent_panel_signs_in_changes_status_leaves_a_queue_and_shows_the_offered_call()
    {
        var clock = Stopwatch.StartNew();
        // A tenant of its own, so that the wallboard test's agents and calls stay out of this one.
        using var system = await TenantAsync("northwind");
        var queue = new { strategy = "longest_idle", ring_timeout = 600, wrap_up_time = 0 };
        var billing = Api.Id(await system.PostAsync("/api/v1/queues", new { name = "Billing", queue.strategy, queue.ring_timeout, queue.wrap_up_time }));
        var returns = Api.Id(await system.PostAsync("/api/v1/queues", new { name = "Returns", queue.strategy, queue.ring_timeout, queue.wrap_up_time }));
        var sam = Api.Id(await system.PostAsync("/api/v1/agents", new { name = "Sam Rivera", number = "301" }));
        var lee = Api.Id(await system.PostAsync("/api/v1/agents", new { name = "Lee Wong", number = "302" }));
        foreach (var (q, a) in new[] { (billing, sam), (returns, sam), (returns, lee) })
            await system.PostAsync($"/api/v1/queues/{q}/members", new { agent_id = a });
        // Lee is logged in to Returns but in training, so Sam will be the only ready member there.
        await system.PostAsync($"/api/v1/agents/{lee}/login");
        await system.PutAsync($"/api/v1/agents/{lee}/status", new { status = "not_ready", reason = "training" });
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  tenant, queues and agents set up");
        const string password = "sam-rivera-password-1";
        await system.PostAsync("/api/v1/users", new { username = "sam", password, role = "agent", agent_id = sam });

        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();
        var problems = WatchForProblems(page);
        await page.GotoAsync("/agent");
        await Expect(page.Locator("#login")).ToBeVisibleAsync();
        await AssertAccessibleAsync(page, "agent sign-in form");
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  sign-in form loaded and checked with axe");
        await page.FillAsync("#username", "sam");
        await page.FillAsync("#password", password);
        await page.FillAsync("#tenant-name", "northwind");
        await page.ClickAsync("#login button[type=submit]");
        var status = page.Locator("#status");
        await Expect(status).ToHaveAttributeAsync("data-status", "logged_out", new() { Timeout = Loaded.Timeout });
        await Expect(page.Locator("#conn")).ToHaveTextAsync("live", Loaded);
        await Expect(page.Locator("#queues li[data-queue-id]")).ToHaveCountAsync(2);
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  signed in through the form");

        await page.ClickAsync("#login-all");
        await Expect(status).ToHaveAttributeAsync("data-status", "ready");
        Assert.Equal([billing, returns], LoggedIn(await AgentStatusAsync(system, sam)).Order());

        await page.SelectOptionAsync("#reason", "lunch");
        await page.ClickAsync("#not-ready");
        await Expect(status).ToHaveAttributeAsync("data-status", "not_ready");
        await Expect(status).ToContainTextAsync("lunch");
        var api = await AgentStatusAsync(system, sam);
        Assert.Equal("not_ready", api.GetProperty("status").GetString());
        Assert.Equal("lunch", api.GetProperty("reason").GetString());

        await page.ClickAsync("#ready");
        await Expect(status).ToHaveAttributeAsync("data-status", "ready");
        Assert.Equal("ready", (await AgentStatusAsync(system, sam)).GetProperty("status").GetString());

        var billingItem = page.Locator($"#queues li[data-queue-id='{billing}']");
        await billingItem.GetByRole(AriaRole.Button, new() { Name = "Log out of Billing" }).ClickAsync();
        await Expect(billingItem).ToContainTextAsync("logged out");
        await Expect(page.Locator($"#queues li[data-queue-id='{returns}']")).ToContainTextAsync("logged in");
        Assert.Equal([returns], LoggedIn(await AgentStatusAsync(system, sam)));
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  status and queue buttons checked against the API");

        // A caller for Returns, where Sam is the only ready member: the panel shows the offer.
        var call = await system.PostAsync("/api/v1/calls", new { queue_id = returns, caller_number = "+14155550199", caller_name = "Dana Whitfield" });
        Assert.Equal(sam, call.GetProperty("offers")[0].GetProperty("agent_id").GetInt64());
        var shown = Stopwatch.StartNew();
        await Expect(page.Locator("#offer")).ToBeVisibleAsync(new() { Timeout = LiveUpdateMs });
        await Expect(page.Locator("#offer-caller")).ToContainTextAsync("+14155550199", new() { Timeout = LiveUpdateMs });
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  offer shown {shown.ElapsedMilliseconds} ms after the API answered");
        await Expect(page.Locator("#offer-caller")).ToContainTextAsync("Dana Whitfield");
        await Expect(page.Locator("#offer-detail")).ToContainTextAsync("Returns");
        await Expect(page.Locator("#activity")).ToHaveTextAsync("ringing");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Docs("agent-panel.png"), FullPage = true });

        await AssertAccessibleAsync(page, "agent panel");
        Assert.True(problems.Count == 0, "the page reported errors:\n" + string.Join('\n', problems));
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  done (server and browser started in {fixture.StartTime.TotalSeconds:F1} s)");
    }

    /// <summary>Issue 12: a call that started ringing before the panel opened is shown at once (the panel reads it from
    /// the agent's status), and the panel takes a token in its fragment as the wallboard does: an agent user's access
    /// token alone, or a supervisor's API key with the agent's id.</summary>
    [Fact]
    public async Task Agent_panel_opened_with_a_token_shows_the_call_already_ringing()
    {
        var clock = Stopwatch.StartNew();
        using var system = await TenantAsync("contoso"); // a tenant of its own, as above
        var sales = Api.Id(await system.PostAsync("/api/v1/queues", new { name = "Sales", strategy = "ring_all", ring_timeout = 600, wrap_up_time = 0 }));
        var kim = Api.Id(await system.PostAsync("/api/v1/agents", new { name = "Kim Park", number = "401" }));
        await system.PostAsync($"/api/v1/queues/{sales}/members", new { agent_id = kim });
        await system.PostAsync($"/api/v1/agents/{kim}/login");
        const string password = "kim-park-password-1";
        await system.PostAsync("/api/v1/users", new { username = "kim", password, role = "agent", agent_id = kim });
        var call = await system.PostAsync("/api/v1/calls", new { queue_id = sales, caller_number = "+14155550142", caller_name = "Ravi Shah" });
        Assert.Equal(kim, call.GetProperty("offers")[0].GetProperty("agent_id").GetInt64());
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  Kim's phone rings before the panel opens");

        // An agent user's access token (as a CRM that signed the agent in would pass it).
        using var kimApi = await Api.SignInAsync(fixture.Server.BaseAddress, "kim", password, "contoso");
        var token = kimApi.Http.DefaultRequestHeaders.Authorization!.Parameter!;
        await using (var context = await fixture.NewContextAsync())
        {
            var page = await context.NewPageAsync();
            var problems = WatchForProblems(page);
            await page.GotoAsync("/agent#token=" + Uri.EscapeDataString(token));
            await Expect(page.Locator("#panel")).ToBeVisibleAsync(new() { Timeout = Loaded.Timeout });
            await Expect(page.Locator("#login")).ToBeHiddenAsync();
            await Expect(page.Locator("#who")).ToHaveTextAsync("kim", Loaded);
            await Expect(page.Locator("#offer")).ToBeVisibleAsync(new() { Timeout = Loaded.Timeout });
            await Expect(page.Locator("#offer-caller")).ToHaveTextAsync("Ravi Shah +14155550142");
            await Expect(page.Locator("#offer-detail")).ToContainTextAsync("Sales, ringing for up to 600 s");
            Assert.DoesNotContain("token", page.Url, StringComparison.Ordinal); // out of the address bar
            output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  access token: the ringing call is shown");

            // The panel is live, not a one-off read: the caller hangs up and the offer goes.
            await Expect(page.Locator("#conn")).ToHaveTextAsync("live", Loaded);
            await system.PostAsync($"/api/v1/calls/{Api.Id(call)}/events", new { type = "caller_hangup" });
            await Expect(page.Locator("#offer")).ToBeHiddenAsync(new() { Timeout = LiveUpdateMs });
            Assert.True(problems.Count == 0, "the page reported errors:\n" + string.Join('\n', problems));
        }

        // A supervisor's API key names the agent in the fragment.
        var second = await system.PostAsync("/api/v1/calls", new { queue_id = sales, caller_number = "+14155550143" });
        Assert.Equal(kim, second.GetProperty("offers")[0].GetProperty("agent_id").GetInt64());
        var key = (await system.PostAsync("/api/v1/api-keys", new { name = "crm", role = "supervisor" })).GetProperty("key").GetString()!;
        await using (var context = await fixture.NewContextAsync())
        {
            var page = await context.NewPageAsync();
            var problems = WatchForProblems(page);
            await page.GotoAsync($"/agent#token={Uri.EscapeDataString(key)}&agent_id={kim}");
            await Expect(page.Locator("#offer-caller")).ToHaveTextAsync("+14155550143", Loaded);
            await Expect(page.Locator("#status")).ToHaveAttributeAsync("data-status", "ready");
            await AssertAccessibleAsync(page, "agent panel opened with a token");
            Assert.True(problems.Count == 0, "the page reported errors:\n" + string.Join('\n', problems));
        }

        // A token that is no agent's, without an agent id, says so instead of showing an empty panel.
        await using (var context = await fixture.NewContextAsync())
        {
            var page = await context.NewPageAsync();
            await page.GotoAsync("/agent#token=" + Uri.EscapeDataString(key));
            await Expect(page.Locator("#login-error")).ToContainTextAsync("not an agent's", new() { Timeout = Loaded.Timeout });
            await Expect(page.Locator("#panel")).ToBeHiddenAsync();
        }
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  done");
    }

    /// <summary>The system administrator, acting on a new tenant of this name (X-Account-ID).</summary>
    private async Task<Api> TenantAsync(string name)
    {
        var system = await Api.SignInAsync(fixture.Server.BaseAddress, "admin", ServerProcess.AdminPassword, "default");
        var tenant = Api.Id(await system.PostAsync("/api/v1/tenants", new { name }));
        system.Http.DefaultRequestHeaders.Add("X-Account-ID", tenant.ToString(CultureInfo.InvariantCulture));
        return system;
    }

    private static ILocator Status(IPage page, long agent) => page.Locator($"#agents tr[data-agent-id='{agent}'] span.status");

    /// <summary>The agent the new call rings answers it.</summary>
    private static Task AnswerAsync(Api api, JsonElement call)
    {
        var agent = call.GetProperty("offers")[0].GetProperty("agent_id").GetInt64();
        return api.PostAsync($"/api/v1/calls/{Api.Id(call)}/events", new { type = "agent_answered", agent_id = agent });
    }

    private static async Task<string> WaitingAsync(Api api, long queue) =>
        (await api.GetAsync($"/api/v1/queues/{queue}/status")).GetProperty("waiting").GetInt32().ToString(CultureInfo.InvariantCulture);

    private static Task<JsonElement> AgentStatusAsync(Api api, long agent) => api.GetAsync($"/api/v1/agents/{agent}/status");

    private static List<long> LoggedIn(JsonElement status) =>
        status.GetProperty("logged_in_queues").EnumerateArray().Select(e => e.GetInt64()).ToList();

    /// <summary>Console errors (a Content-Security-Policy refusal among them), uncaught exceptions and failed requests.</summary>
    private static List<string> WatchForProblems(IPage page)
    {
        var problems = new List<string>();
        page.Console += (_, m) =>
        {
            // The browser asks for /favicon.ico by itself; the server has none, and need not.
            if (m.Type == "error" && !m.Location.Contains("/favicon.ico", StringComparison.Ordinal)) lock (problems) problems.Add($"console: {m.Text} ({m.Location})");
        };
        page.PageError += (_, e) =>
        {
            lock (problems) problems.Add("exception: " + e);
        };
        page.Response += (_, r) =>
        {
            if (r.Status >= 400) lock (problems) problems.Add($"HTTP {r.Status}: {r.Request.Method} {r.Url}");
        };
        page.RequestFailed += (_, r) =>
        {
            // The event stream is cut when the page closes; anything else failing is a problem.
            if (!r.Url.Contains("/events/stream", StringComparison.Ordinal)) lock (problems) problems.Add($"request failed: {r.Method} {r.Url} {r.Failure}");
        };
        return problems;
    }

    /// <summary>axe-core over the page as it is now: no serious or critical violation.</summary>
    private async Task AssertAccessibleAsync(IPage page, string what)
    {
        var result = await page.RunAxe();
        foreach (var v in result.Violations)
            output.WriteLine($"axe ({what}): {v.Impact} {v.Id}: {v.Help} ({v.Nodes.Length} element(s))");
        var severe = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(severe.Count == 0, $"axe found serious or critical violations on the {what}:\n" + string.Join('\n', severe.Select(v =>
            $"{v.Impact} {v.Id}: {v.Help}\n    " + string.Join("\n    ", v.Nodes.Select(n => n.Html)))));
        output.WriteLine($"axe ({what}): {result.Passes.Length} rules passed, {result.Violations.Length} violation(s), none serious or critical");
    }
}
