using Spectrum.Camera.Native;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The frame clock of a device's stream: a timerfd on the device loop, armed only while the queue streams and the
/// rings run (a VM stop pauses it; the stream resumes on its own), for the ticks its <see cref="FrameSchedule"/> says
/// are due: one per negotiated interval, or just after each frame arrival a source announces
/// (<see cref="OnArrival"/>), within the schedule's bounds. Each tick advances the queue's frame period by the periods
/// that passed, so a late tick skips the ones it missed, and calls the engine once.
/// </summary>
internal sealed class FramePacer : IDisposable
{
    private readonly DeviceState _state;
    private readonly Action _onPeriod;
    private readonly FrameSchedule _schedule = new();
    private TimerFd? _timer;
    private bool _suspended = true;
    private bool _started;
    private bool _inTick;

    public FramePacer(DeviceState state, Action onPeriod)
    {
        _state = state;
        _onPeriod = onPeriod;
        state.RateChanged += Rearm;
    }

    /// <summary>Between STREAMON and STREAMOFF.</summary>
    public bool IsRunning { get; private set; }

    /// <summary>The number of the period the current tick began: every period since STREAMON counts, from 0.</summary>
    public uint Frame => unchecked((uint)(_state.Queue.FramePeriod - 1));

    public void Attach(EventLoop loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        _timer = TimerFd.Create();
        loop.Watch(_timer.Fd, OnTick);
    }

    /// <summary>STREAMON: periods count from 0 again; the first tick comes one period from now.</summary>
    public void Start()
    {
        IsRunning = true;
        _started = false;
        _state.Queue.StartPeriods();
        Rearm();
    }

    public void Stop()
    {
        IsRunning = false;
        Rearm();
    }

    /// <summary>The rings stopped: no tick until <see cref="Resume"/>.</summary>
    public void Suspend()
    {
        _suspended = true;
        Rearm();
    }

    public void Resume()
    {
        _suspended = false;
        Rearm();
    }

    /// <summary>
    /// The source announced a frame that arrived now (loop thread): the next tick comes just after it, within the
    /// schedule's bounds. One announced while a tick renders is the frame that tick shows, and moves nothing.
    /// </summary>
    public void OnArrival()
    {
        if (_timer is null || !IsRunning || _suspended || _inTick)
        {
            return;
        }

        _schedule.Arrived(MonotonicClock.NowNanoseconds());
        _timer.SetOnce(_schedule.Deadline);
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>The stream (re)starts its clock now: the first tick one period from now, as the rate says.</summary>
    private void Rearm()
    {
        if (_timer is null)
        {
            return;
        }

        if (IsRunning && !_suspended)
        {
            _schedule.Start(MonotonicClock.NowNanoseconds(), _state.Rate.PeriodNanoseconds);
            _timer.SetOnce(_schedule.Deadline);
        }
        else
        {
            _timer.Disarm();
        }
    }

    private void OnTick()
    {
        var expirations = _timer!.ConsumeExpirations();
        if (expirations == 0 || !IsRunning || _suspended)
        {
            return;
        }

        // The timer is only ever armed at the schedule's deadline on the same clock, so an expiration is the tick.
        // One read before the deadline was forced (the bench sets an expiration to run a frame on demand): it counts
        // as the tick at the deadline, as the timer would have run it.
        var periods = _schedule.Tick(Math.Max(MonotonicClock.NowNanoseconds(), _schedule.Deadline));
        _timer.SetOnce(_schedule.Deadline);
        _state.Queue.FramePeriod += _started ? periods : 1;
        _started = true;
        _inTick = true;
        try
        {
            _onPeriod();
        }
        finally
        {
            _inTick = false;
        }
    }
}
