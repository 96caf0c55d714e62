using System.Diagnostics;
using Lineup.Server.Tests;
using Microsoft.Playwright;

namespace Lineup.Web.Tests;

/// <summary>
/// One real server process (the README command on a free port of 127.0.0.1, a temporary data directory) and one
/// headless Debian Chromium driven by Playwright, shared by the browser tests of a class. Playwright cannot download a
/// browser on these machines, so it launches <c>/usr/bin/chromium</c>; when that is missing every test fails and says
/// how to install it.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "lineup-web-" + Guid.NewGuid().ToString("N"));
    private ServerProcess? _server;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("The server did not start.");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Chromium did not start.");

    /// <summary>How long starting the server and the browser took, for the test output.</summary>
    public TimeSpan StartTime { get; private set; }

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException(
                $"The browser tests need Debian's Chromium at {ChromiumPath}, which is missing: install it with `apt-get install -y chromium` (.ci/run does so when apt is available).");
        var clock = Stopwatch.StartNew();
        var server = ServerProcess.StartAsync(_dataDir);
        try
        {
            _playwright = await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
                Timeout = 60_000,
            });
            _server = await server;
        }
        catch
        {
            // Nothing is left running: a server that did start is stopped with the browser.
            if (_server == null && await Task.WhenAny(server) is { IsCompletedSuccessfully: true } started) _server = started.Result;
            await DisposeAsync();
            throw;
        }
        StartTime = clock.Elapsed;
    }

    /// <summary>A fresh browser context (own session storage) at the size of a wall screen.</summary>
    public Task<IBrowserContext> NewContextAsync() => Browser.NewContextAsync(new BrowserNewContextOptions
    {
        BaseURL = Server.BaseAddress.ToString(),
        ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
        Locale = "en-US",
        TimezoneId = "UTC",
    });

    public async Task DisposeAsync()
    {
        if (_browser != null) await _browser.DisposeAsync();
        _playwright?.Dispose();
        if (_server != null) await _server.DisposeAsync();
        try
        {
            if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
