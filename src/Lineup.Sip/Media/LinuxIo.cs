using System.Runtime.InteropServices;

namespace Lineup.Sip.Media;

/// <summary>
/// The few Linux system calls the media loops use directly (epoll, timerfd, eventfd, recvfrom, sendto): .NET's socket
/// engine registers every socket it reads asynchronously for both read and write readiness, so each packet a leg sends
/// would wake its epoll thread and a thread-pool worker for nothing (the write-space event of the freed datagram), and
/// each packet received would hop to the thread pool. A media loop instead owns one epoll set holding only read
/// interest for its legs' sockets, plus a timerfd for the pacing deadline and an eventfd to be woken from idle.
/// Constants and struct layouts are Linux's for x86-64 and arm64 (the only architectures this path is enabled on).
/// </summary>
internal static unsafe partial class LinuxIo
{
    private const string Libc = "libc";

    public const int EpollIn = 0x001;
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const int CloseOnExec = 0x80000;  // EPOLL_CLOEXEC, TFD_CLOEXEC, EFD_CLOEXEC
    public const int NonBlocking = 0x800;    // TFD_NONBLOCK, EFD_NONBLOCK
    public const int ClockMonotonic = 1;
    public const int DontWait = 0x40;        // MSG_DONTWAIT
    public const int Interrupted = 4;        // EINTR
    public const int SchedOther = 0;         // SCHED_OTHER: the default, time-shared
    public const int SchedRoundRobin = 2;    // SCHED_RR: real-time, runs before every SCHED_OTHER thread

    /// <summary>True where this path is used: Linux on x86-64 or arm64.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    /// <summary>Size of <c>struct epoll_event</c>: packed to 12 bytes on x86-64, 16 elsewhere.</summary>
    public static int EventSize { get; } = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    /// <summary>Offset of <c>epoll_event.data</c> (4 on x86-64, 8 elsewhere).</summary>
    public static int EventDataOffset { get; } = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TimerSpec
    {
        public TimeSpec Interval;
        public TimeSpec Value;
    }

    [LibraryImport(Libc, EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate(int flags);

    [LibraryImport(Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epoll, int operation, int fd, byte* ev);

    [LibraryImport(Libc, EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epoll, byte* events, int maxEvents, int timeoutMs);

    [LibraryImport(Libc, EntryPoint = "timerfd_create", SetLastError = true)]
    public static partial int TimerCreate(int clock, int flags);

    [LibraryImport(Libc, EntryPoint = "timerfd_settime", SetLastError = true)]
    public static partial int TimerSet(int fd, int flags, TimerSpec* value, TimerSpec* old);

    [LibraryImport(Libc, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventCreate(uint initial, int flags);

    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buffer, nint count);

    [LibraryImport(Libc, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buffer, nint count);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Libc, EntryPoint = "recvfrom", SetLastError = true)]
    public static partial nint ReceiveFrom(int fd, byte* buffer, nint length, int flags, byte* address, int* addressLength);

    [LibraryImport(Libc, EntryPoint = "sendto", SetLastError = true)]
    public static partial nint SendTo(int fd, byte* buffer, nint length, int flags, byte* address, int addressLength);

    [LibraryImport(Libc, EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static partial int SchedSetScheduler(int pid, int policy, int* param);

    /// <summary>Moves the calling thread to SCHED_RR at <paramref name="priority"/> (1-99), or back to SCHED_OTHER
    /// when it is 0. False when not permitted (it needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO allowance).</summary>
    public static bool SetRealtime(int priority)
    {
        var param = priority; // struct sched_param { int sched_priority; }
        return SchedSetScheduler(0, priority > 0 ? SchedRoundRobin : SchedOther, &param) == 0;
    }

    /// <summary>Adds <paramref name="fd"/> to <paramref name="epoll"/> for read readiness, with <paramref name="fd"/> as
    /// the event's data.</summary>
    public static bool AddForRead(int epoll, int fd)
    {
        var ev = stackalloc byte[16];
        *(uint*)ev = EpollIn;
        *(ulong*)(ev + EventDataOffset) = (ulong)fd;
        return EpollCtl(epoll, EpollCtlAdd, fd, ev) == 0;
    }

    public static void Remove(int epoll, int fd)
    {
        var ev = stackalloc byte[16]; // ignored by EPOLL_CTL_DEL, but kernels before 2.6.9 wanted it non-null
        EpollCtl(epoll, EpollCtlDel, fd, ev);
    }

    /// <summary>Arms <paramref name="timer"/> to expire once after <paramref name="nanoseconds"/> (at once when that
    /// is not positive).</summary>
    public static void Arm(int timer, long nanoseconds)
    {
        TimerSpec spec = default;
        nanoseconds = Math.Max(1, nanoseconds); // an all-zero value would disarm
        spec.Value.Seconds = nanoseconds / 1_000_000_000;
        spec.Value.Nanoseconds = nanoseconds % 1_000_000_000;
        TimerSet(timer, 0, &spec, null);
    }

    public static void Disarm(int timer)
    {
        TimerSpec spec = default;
        TimerSet(timer, 0, &spec, null);
    }

    /// <summary>Reads and discards the 8-byte counter of a timerfd or eventfd.</summary>
    public static void Drain(int fd)
    {
        ulong value;
        Read(fd, &value, sizeof(ulong));
    }

    /// <summary>Adds one to an eventfd's counter (wakes its epoll waiter).</summary>
    public static void Signal(int fd)
    {
        ulong one = 1;
        Write(fd, &one, sizeof(ulong));
    }
}
