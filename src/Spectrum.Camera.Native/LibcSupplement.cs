using System.Runtime.InteropServices;
using Tmds.Linux;

namespace Spectrum.Camera.Native;

/// <summary>
/// The libc calls the project makes that Tmds.LibC 0.5.0 does not bind, or binds in a way the project cannot use.
/// Everything else comes from Tmds.LibC (<c>Tmds.Linux.LibC</c>). Every import here captures errno, takes raw fds
/// (callers hold the owning <see cref="FdHandle"/> alive), and is checked against the C headers by NativeLayoutTests,
/// which compiles a C program with gcc.
/// </summary>
internal static unsafe partial class LibcSupplement
{
    private const string Lib = "libc";

    /// <summary>timerfd_create(2): Tmds.LibC has no timerfd API at all.</summary>
    [LibraryImport(Lib, EntryPoint = "timerfd_create", SetLastError = true)]
    internal static partial int TimerFdCreate(int clockId, int flags);

    /// <summary>timerfd_settime(2), with <see cref="ITimerSpec"/> (no struct itimerspec in Tmds.LibC either).</summary>
    [LibraryImport(Lib, EntryPoint = "timerfd_settime", SetLastError = true)]
    internal static partial int TimerFdSetTime(int fd, int flags, ITimerSpec* newValue, ITimerSpec* oldValue);

    /// <summary>clock_gettime(2): Tmds.LibC has <c>timespec</c> but no clock functions.</summary>
    [LibraryImport(Lib, EntryPoint = "clock_gettime", SetLastError = true)]
    internal static partial int ClockGetTime(int clockId, timespec* value);

    /// <summary>
    /// poll(2). Tmds.LibC 0.5.0 declares <c>poll</c> without SetLastError, so its errno is lost by the time the
    /// caller looks and an EINTR cannot be told from a real failure.
    /// </summary>
    [LibraryImport(Lib, EntryPoint = "poll", SetLastError = true)]
    internal static partial int Poll(pollfd* fds, nuint count, int timeoutMs);

    /// <summary>prctl(2) (no_new_privs for the sandbox): not in Tmds.LibC.</summary>
    [LibraryImport(Lib, EntryPoint = "prctl", SetLastError = true)]
    internal static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}

/// <summary>struct itimerspec (timerfd_settime), which Tmds.LibC does not define.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ITimerSpec
{
    public timespec Interval;
    public timespec Value;
}
