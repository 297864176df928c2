using System.Globalization;
using System.Runtime.InteropServices;

namespace Spectrum.Camera.Bench.Native;

/// <summary>
/// The few libc calls the benchmarks need beyond the project's own bindings: driving the device's frame timerfd,
/// naming threads for /proc, the kernel's clock tick, pinning threads to CPUs, and stopping a child process with
/// SIGTERM. Kept here so the suite needs no change in src/.
/// </summary>
internal static unsafe partial class BenchNative
{
    private const int ScClkTck = 2; // _SC_CLK_TCK in glibc's <bits/confname.h>

    [StructLayout(LayoutKind.Sequential)]
    private struct ITimerSpec
    {
        public long IntervalSeconds;
        public long IntervalNanoseconds;
        public long ValueSeconds;
        public long ValueNanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "timerfd_settime", SetLastError = true)]
    private static partial int TimerFdSetTime(int fd, int flags, ITimerSpec* newValue, ITimerSpec* oldValue);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, ulong* argument);

    [LibraryImport("libc", EntryPoint = "timerfd_create", SetLastError = true)]
    private static partial int TimerFdCreate(int clock, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, ulong* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int tid, nuint size, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int tid, nuint size, ulong* mask);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private const int SigTerm = 15;

    /// <summary>The calling thread's kernel id (for /proc/self/task/TID).</summary>
    public static int CurrentThreadId() => GetTid();

    /// <summary>The CPUs thread <paramref name="tid"/> of this process may run on (the first 64), as a bit mask.</summary>
    public static ulong Affinity(int tid)
    {
        ulong mask = 0;
        return SchedGetAffinity(tid, sizeof(ulong), &mask) == 0
            ? mask
            : throw new InvalidOperationException($"sched_getaffinity({tid}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Lets thread <paramref name="tid"/> of this process run only on the CPUs in <paramref name="mask"/>.</summary>
    public static void SetAffinity(int tid, ulong mask)
    {
        if (SchedSetAffinity(tid, sizeof(ulong), &mask) != 0)
        {
            throw new InvalidOperationException($"sched_setaffinity({tid}, 0x{mask:x}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Sends SIGTERM to <paramref name="pid"/> (a child the suite started, to stop it the way systemd does).</summary>
    public static void Terminate(int pid) => Kill(pid, SigTerm);

    /// <summary>USER_HZ: the unit of utime and stime in /proc/PID/stat.</summary>
    public static long ClockTicksPerSecond() => SysConf(ScClkTck);

    /// <summary>TFD_IOC_SET_TICKS, _IOW('T', 0, __u64) (linux/timerfd.h; needs CONFIG_CHECKPOINT_RESTORE).</summary>
    private const nuint TfdIocSetTicks = 0x40085400;

    private const int ClockMonotonic = 1, TfdNonBlock = 0x800;

    /// <summary>
    /// Whether <see cref="FireOnce"/> can use TFD_IOC_SET_TICKS; otherwise it arms a 1 ns one-shot timer, whose
    /// expiry in a VM adds the hypervisor's timer latency (about 25 µs here) to every frame.
    /// </summary>
    public static bool CanSetTicks { get; } = ProbeSetTicks();

    /// <summary>
    /// Makes a timerfd readable with one expiration at once, exactly as if its period had just ended: the kernel
    /// sets the tick count and wakes the epoll waiter (TFD_IOC_SET_TICKS), with no hrtimer in between.
    /// </summary>
    public static void FireOnce(int timerFd)
    {
        if (!CanSetTicks)
        {
            SetTime(timerFd, 1);
            return;
        }

        ulong ticks = 1;
        if (Ioctl(timerFd, TfdIocSetTicks, &ticks) != 0)
        {
            throw new InvalidOperationException($"TFD_IOC_SET_TICKS({timerFd}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>
    /// How long a timerfd armed to expire in 1 ns takes to become readable (median of <paramref name="samples"/>,
    /// spinning on a non-blocking read): the floor of any timer wake-up on this machine.
    /// </summary>
    public static double OneNanosecondTimerLatencyNs(int samples)
    {
        var fd = TimerFdCreate(ClockMonotonic, TfdNonBlock);
        if (fd < 0)
        {
            throw new InvalidOperationException("timerfd_create failed");
        }

        try
        {
            var times = new double[samples];
            ulong value;
            for (var i = 0; i < samples; i++)
            {
                var start = System.Diagnostics.Stopwatch.GetTimestamp();
                SetTime(fd, 1);
                while (Read(fd, &value, 8) != 8)
                {
                }

                times[i] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalNanoseconds;
            }

            Array.Sort(times);
            return times[samples / 2];
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private static bool ProbeSetTicks()
    {
        var fd = TimerFdCreate(ClockMonotonic, TfdNonBlock);
        if (fd < 0)
        {
            return false;
        }

        ulong ticks = 1, value = 0;
        var ok = Ioctl(fd, TfdIocSetTicks, &ticks) == 0 && Read(fd, &value, 8) == 8 && value == 1;
        _ = Close(fd);
        return ok;
    }

    /// <summary>Disarms a timerfd.</summary>
    public static void Disarm(int timerFd) => SetTime(timerFd, 0);

    private static void SetTime(int timerFd, long valueNanoseconds)
    {
        var spec = new ITimerSpec { ValueNanoseconds = valueNanoseconds };
        if (TimerFdSetTime(timerFd, 0, &spec, null) != 0)
        {
            throw new InvalidOperationException($"timerfd_settime({timerFd}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>The process's timerfds now, by fd number (from the /proc/self/fd links).</summary>
    public static HashSet<int> TimerFds()
    {
        var fds = new HashSet<int>();
        foreach (var path in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(path).LinkTarget == "anon_inode:[timerfd]")
                {
                    fds.Add(int.Parse(Path.GetFileName(path), CultureInfo.InvariantCulture));
                }
            }
            catch (IOException)
            {
                // The fd closed while we looked (the enumeration's own directory fd, for one).
            }
        }

        return fds;
    }

    /// <summary>CPU time a thread of this process has run, in nanoseconds (first field of its schedstat).</summary>
    public static long ThreadCpuNanoseconds(int tid)
    {
        var text = File.ReadAllText($"/proc/self/task/{tid}/schedstat");
        return long.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
    }
}
