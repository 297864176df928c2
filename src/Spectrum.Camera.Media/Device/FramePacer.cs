using Spectrum.Camera.Native;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The frame clock of a device's stream: a timerfd on the device loop at the negotiated interval, armed only while the
/// queue streams and the rings run (a VM stop pauses it; the stream resumes on its own). Each tick advances the
/// queue's frame period by the periods that passed, so a late tick skips the ones it missed, and calls the engine once.
/// </summary>
internal sealed class FramePacer : IDisposable
{
    private readonly DeviceState _state;
    private readonly Action _onPeriod;
    private TimerFd? _timer;
    private bool _suspended = true;
    private bool _started;

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

    public void Dispose() => _timer?.Dispose();

    private void Rearm()
    {
        if (_timer is null)
        {
            return;
        }

        if (IsRunning && !_suspended)
        {
            _timer.SetPeriodic(_state.Rate.PeriodNanoseconds);
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

        _state.Queue.FramePeriod += _started ? (long)expirations : 1;
        _started = true;
        _onPeriod();
    }
}
