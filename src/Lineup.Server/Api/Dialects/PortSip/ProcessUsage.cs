using System.Diagnostics;

namespace Lineup.Server.Api.Dialects.PortSip;

/// <summary>
/// This process's CPU use (percent of the machine's cores, between this read and the one before, or since the
/// process started) and the machine's memory in use (percent), for a call queue server's status: Lineup itself is
/// the queue server every PortSIP server entry stands for.
/// </summary>
internal sealed class ProcessUsage(TimeProvider time)
{
    private readonly Lock _lock = new();
    private long _lastAt; // 0: the first read measures from the process's start
    private TimeSpan _lastCpu = TimeSpan.Zero;

    public (int Cpu, int Memory) Read()
    {
        using var p = Process.GetCurrentProcess();
        var cpu = p.TotalProcessorTime;
        var now = time.GetUtcNow().UtcDateTime.Ticks;
        double cpuPercent;
        lock (_lock)
        {
            if (_lastAt == 0) _lastAt = p.StartTime.ToUniversalTime().Ticks;
            var wall = TimeSpan.FromTicks(Math.Max(1, now - _lastAt));
            cpuPercent = (cpu - _lastCpu).TotalMilliseconds / wall.TotalMilliseconds / Environment.ProcessorCount * 100;
            // A read right after another measures too short a span to mean anything: keep the longer window.
            if (wall > TimeSpan.FromMilliseconds(500))
            {
                _lastAt = now;
                _lastCpu = cpu;
            }
        }
        var gc = GC.GetGCMemoryInfo();
        var total = gc.TotalAvailableMemoryBytes;
        var used = total - AvailableBytes(total);
        var memPercent = total > 0 ? used * 100.0 / total : 0;
        return ((int)Math.Clamp(Math.Round(cpuPercent), 0, 100), (int)Math.Clamp(Math.Round(memPercent), 0, 100));
    }

    /// <summary>MemAvailable from /proc/meminfo on Linux; elsewhere the machine total less this process's working set.</summary>
    private static long AvailableBytes(long total)
    {
        try
        {
            if (File.Exists("/proc/meminfo"))
                foreach (var line in File.ReadLines("/proc/meminfo"))
                    if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                        && long.TryParse(line["MemAvailable:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), out var kb))
                        return Math.Min(total, kb * 1024);
        }
        catch (IOException)
        {
        }
        return Math.Max(0, total - Environment.WorkingSet);
    }
}
