using Tmds.Linux;

namespace Spectrum.Camera.Native;

/// <summary>CLOCK_MONOTONIC, the clock V4L2 buffer timestamps use (V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC).</summary>
public static class MonotonicClock
{
    /// <summary>Nanoseconds since an arbitrary boot-time origin, as the kernel's ktime_get_ns().</summary>
    public static unsafe long NowNanoseconds()
    {
        timespec ts;
        if (LibcSupplement.ClockGetTime(LinuxConstants.CLOCK_MONOTONIC, &ts) != 0)
        {
            throw NativeException.Last("clock_gettime");
        }

        return ((long)ts.tv_sec * 1_000_000_000) + (long)ts.tv_nsec;
    }
}
