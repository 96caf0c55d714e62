using System.Net;
using System.Net.Sockets;

namespace Lineup.Server.Tests;

/// <summary>Start-up through the entry point, as a user runs it, when an address it must listen on is taken.</summary>
public sealed class StartupTests
{
    [Theory]
    [InlineData("http")]
    [InlineData("sip")]
    public async Task An_address_in_use_stops_start_up_with_one_line_naming_it_and_exit_code_1(string taken)
    {
        // Another process holds the TCP port: Kestrel's HTTP port, or the port SIP over TCP listens on beside UDP.
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen(1);
        var port = ((IPEndPoint)holder.LocalEndPoint!).Port;
        var httpPort = taken == "http" ? port : ServerProcess.FreePort();
        var sipPort = taken == "sip" ? port : Telephony.Sipp.FreeSipPort();
        var dataDir = Directory.CreateTempSubdirectory("lineup-startup-").FullName;
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var code = await Lineup.Server.Hosting.LineupProgram.RunAsync(
                ["--urls", $"http://127.0.0.1:{httpPort}", "--data-dir", dataDir, "--Sip:Enabled=true", $"--Sip:Listen=127.0.0.1:{sipPort}"],
                stdout, stderr);
            Assert.Equal(1, code);
            var said = stderr.ToString();
            Assert.StartsWith("Lineup could not start: ", said, StringComparison.Ordinal);
            Assert.Contains($"127.0.0.1:{port}", said, StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
