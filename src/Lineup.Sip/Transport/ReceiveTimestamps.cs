using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Lineup.Sip.Transport;

/// <summary>
/// The kernel's receive time of the datagram a socket returned last (Linux <c>SIOCGSTAMPNS</c>, socket(7)): set when the
/// datagram entered the network stack, before it waited in the socket's receive queue, so "now minus it" is how long
/// the datagram waited to be read. The first query turns the socket's timestamps on (the kernel answers "none yet");
/// a datagram that arrived before they were on reads as received now. One system call per query, so the UDP
/// transport asks only for new INVITEs, the requests overload control decides on.
/// </summary>
internal static unsafe partial class ReceiveTimestamps
{
    private const nuint SiocGetStampNs = 0x8907;

    /// <summary>True where the query is made: Linux on x86-64 or arm64 (the <c>timespec</c> layout below is theirs).</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>Turns the socket's receive timestamps on (the answer, "no datagram yet", is ignored).</summary>
    public static void Enable(Socket socket) => TryLast(socket, out _);

    /// <summary>The wall-clock receive time of the datagram <paramref name="socket"/> returned last; false when
    /// unknown (not Linux, no datagram yet, the socket closed).</summary>
    public static bool TryLast(Socket socket, out DateTimeOffset receivedAt)
    {
        receivedAt = default;
        if (!IsSupported)
        {
            return false;
        }
        var handle = socket.SafeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            TimeSpec stamp;
            if (Ioctl((int)handle.DangerousGetHandle(), SiocGetStampNs, &stamp) != 0)
            {
                return false;
            }
            receivedAt = DateTimeOffset.UnixEpoch.AddTicks((stamp.Seconds * TimeSpan.TicksPerSecond) + (stamp.Nanoseconds / 100));
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, TimeSpec* value);
}
