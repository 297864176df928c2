using Tmds.Linux;
using static Spectrum.Camera.Native.LinuxConstants;

namespace Spectrum.Camera.Native;

/// <summary>A CLOCK_MONOTONIC timerfd, used to pace frames on the device loop without threads.</summary>
public sealed class TimerFd : IDisposable
{
    private readonly FdHandle _handle;

    private TimerFd(FdHandle handle) => _handle = handle;

    public int Fd => _handle.Fd;

    public static TimerFd Create() =>
        new(FdHandle.FromResult(
            LibcSupplement.TimerFdCreate(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
            "timerfd_create"));

    /// <summary>Arms a periodic timer whose first expiry is one period from now; a zero period disarms it.</summary>
    public unsafe void SetPeriodic(long periodNanoseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(periodNanoseconds);
        var spec = new ITimerSpec
        {
            Interval = ToTimeSpec(periodNanoseconds),
            Value = ToTimeSpec(periodNanoseconds),
        };
        if (LibcSupplement.TimerFdSetTime(_handle.Fd, 0, &spec, null) != 0)
        {
            throw NativeException.Last("timerfd_settime");
        }
    }

    /// <summary>
    /// Arms a one-shot timer that expires at <paramref name="deadlineNanoseconds"/> on <see cref="MonotonicClock"/>
    /// (at once when that has passed); replaces whatever was armed, and expirations not yet consumed are forgotten.
    /// </summary>
    public unsafe void SetOnce(long deadlineNanoseconds)
    {
        // A zero it_value would disarm: the clock's origin is long past, so 1 ns expires at once as well.
        var spec = new ITimerSpec { Value = ToTimeSpec(Math.Max(1, deadlineNanoseconds)) };
        if (LibcSupplement.TimerFdSetTime(_handle.Fd, TFD_TIMER_ABSTIME, &spec, null) != 0)
        {
            throw NativeException.Last("timerfd_settime");
        }
    }

    /// <summary>Disarms the timer.</summary>
    public void Disarm() => SetPeriodic(0);

    /// <summary>Returns how many periods expired since the last call (0 if none; the fd is non-blocking).</summary>
    public ulong ConsumeExpirations() => FdHandle.ReadCounter(_handle.Fd);

    public void Dispose() => _handle.Dispose();

    private static timespec ToTimeSpec(long ns) => new() { tv_sec = ns / 1_000_000_000, tv_nsec = (long_t)(ns % 1_000_000_000) };
}
