using Spectrum.Camera.Native;

namespace Spectrum.Camera.Threading;

/// <summary>
/// A periodic CLOCK_MONOTONIC timerfd watched on a <see cref="EventLoop"/>: the feeds' frame clock and retry
/// timer, without a thread or a blocking wait. <see cref="Dispose"/> unwatches before it closes the fd.
/// </summary>
public sealed class LoopTimer : IDisposable
{
    private readonly EventLoop _loop;
    private readonly TimerFd _timer;

    private LoopTimer(EventLoop loop, TimerFd timer)
    {
        _loop = loop;
        _timer = timer;
    }

    /// <summary>A timer calling <paramref name="onExpired"/> on the loop every <paramref name="periodNanoseconds"/>, first one period from now.</summary>
    public static LoopTimer Start(EventLoop loop, long periodNanoseconds, Action onExpired)
    {
        var timer = TimerFd.Create();
        try
        {
            loop.Watch(timer.Fd, onExpired);
        }
        catch
        {
            timer.Dispose();
            throw;
        }

        var started = new LoopTimer(loop, timer);
        started.SetPeriod(periodNanoseconds);
        return started;
    }

    /// <summary>Re-arms with a new period, counted from now.</summary>
    public void SetPeriod(long periodNanoseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(periodNanoseconds);
        _timer.SetPeriodic(periodNanoseconds);
    }

    /// <summary>How many periods expired since the last call; 0 for a wake-up with nothing to do.</summary>
    public ulong ConsumeExpirations() => _timer.ConsumeExpirations();

    public void Dispose()
    {
        _loop.Unwatch(_timer.Fd);
        _timer.Dispose();
    }
}
