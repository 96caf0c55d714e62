using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace Lineup.Server.Hosting;

public sealed class MemoryOptions
{
    public const string Section = "Memory";

    /// <summary>Seconds between two returns of the C library's free memory to the system (glibc's malloc_trim);
    /// 0 turns it off.</summary>
    [Range(0, 3_600)]
    public double TrimSeconds { get; set; } = 10;
}

/// <summary>
/// Hands the pages the C library holds free back to the system, now and then. glibc keeps memory freed by native
/// code in per-thread arenas and returns it only from an arena's top: the JIT's scratch memory (about 130 MB
/// allocated and freed by the tiered-compilation thread while the server warms up under load) stayed resident, 40-60
/// MB of a server's RSS that nothing used. malloc_trim releases the free pages of every arena; it takes each arena's
/// lock while it walks it (well under a millisecond for these sizes). Elsewhere (musl, macOS, Windows) it does nothing.
/// </summary>
public sealed partial class NativeMemoryTrimmer(IOptions<MemoryOptions> options, ILogger<NativeMemoryTrimmer> log) : BackgroundService
{
    // DllImport, not LibraryImport: the server is built without unsafe code, and both arguments are blittable.
    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    /// <summary>Returns free C-library memory to the system; false where the C library has no malloc_trim.</summary>
    private static bool Trim()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            MallocTrim(0);
            return true;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var seconds = options.Value.TrimSeconds;
        if (seconds <= 0) return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(seconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var started = Stopwatch.GetTimestamp();
                if (!Trim())
                {
                    LogUnavailable(log);
                    return;
                }
                LogTrimmed(log, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping (also when the start failed and the host is disposed before it stopped): nothing to report.
        }
    }

    [LoggerMessage(EventId = 950, Level = LogLevel.Debug, Message = "This C library cannot return free memory (no malloc_trim); memory trimming is off")]
    private static partial void LogUnavailable(ILogger logger);

    [LoggerMessage(EventId = 951, Level = LogLevel.Trace, Message = "Returned the C library's free memory to the system in {Milliseconds:0.000} ms")]
    private static partial void LogTrimmed(ILogger logger, double milliseconds);
}
