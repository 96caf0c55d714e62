using System.Diagnostics;
using System.Text;

namespace Lineup.Server.Tests.Telephony;

/// <summary>What the sipp and baresip wrappers share: finding the executable (a missing tool fails the test, never
/// skips it), keeping the tail of the process's output, and killing it by pid and removing its work directory.</summary>
internal static class ExternalTool
{
    /// <summary>The executable on PATH, or a failed assertion with <paramref name="missing"/> saying how to install it.</summary>
    public static string Find(string name, string missing)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
        if (found != null) return found;
        Assert.Fail(missing);
        return "";
    }

    /// <summary>Appends a line of output, keeping the last <paramref name="keep"/> characters.</summary>
    public static void Keep(StringBuilder output, string? line, int keep)
    {
        if (line == null) return;
        lock (output)
        {
            output.AppendLine(line);
            if (output.Length > keep) output.Remove(0, output.Length - keep);
        }
    }

    /// <summary>SIGKILL to this pid only if it still runs, then the work directory is removed.</summary>
    public static void Stop(Process process, string directory)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // never started or already reaped
        }
        process.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
