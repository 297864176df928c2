using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// A synthetic camera, for machines without one and for tests: while streaming, a timerfd on the loop ticks at the
/// fastest requested rate and every tick is a frame whose <see cref="ICameraFrame.Sequence"/> counts up from 0 (again
/// from 0 at each start), stamped with CLOCK_MONOTONIC, rendering <see cref="TestPatternSource"/>'s moving,
/// numbered pattern. Ticks the loop was too late for are not made up (one frame per wake-up), as a camera drops them.
/// </summary>
/// <remarks>Loop thread only, like the <see cref="EventLoop"/> it is given. Holds no fd while stopped.</remarks>
public sealed class TestPatternCameraFeed : CameraFeedBase
{
    /// <summary>The feed's <see cref="ICameraFeed.Name"/>, and the <c>--camera</c> value that selects it.</summary>
    public const string FeedName = "test-pattern";

    private readonly EventLoop _loop;
    private readonly TestPatternCameraFrame _frame = new();
    private readonly Action _onTick;
    private LoopTimer? _timer;
    private StreamRequest _plan;
    private ulong _sequence;

    public TestPatternCameraFeed(EventLoop loop)
        : base(FeedName)
    {
        ArgumentNullException.ThrowIfNull(loop);
        _loop = loop;
        _onTick = OnTick;
    }

    /// <summary>The rate frames are made at now (the fastest requested), or null while stopped.</summary>
    public Frames.FrameRate? Rate => _timer is null ? null : _plan.Rate;

    protected override string ModeDescription => _timer is null ? "" : $" {_plan}";

    public override void StartStreaming(IReadOnlyList<StreamRequest> requests)
    {
        var plan = PlanFor(requests);
        var rateChanged = plan.Rate != _plan.Rate;
        _plan = plan;
        if (_timer is null)
        {
            _timer = LoopTimer.Start(_loop, plan.Rate.PeriodNanoseconds, _onTick);
            _sequence = 0;
            SetState(FeedState.Opening, $"test pattern starting at {plan}");
        }
        else if (rateChanged)
        {
            _timer.SetPeriod(plan.Rate.PeriodNanoseconds);
        }
    }

    public override void StopStreaming()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (_timer is null)
        {
            return;
        }

        Close();
        SetState(FeedState.Stopped, "test pattern stopped: no VM streams");
    }

    protected override void Dispose(bool disposing) => Close();

    private void OnTick()
    {
        if (_timer is null || _timer.ConsumeExpirations() == 0)
        {
            return;
        }

        if (State == FeedState.Opening)
        {
            SetState(FeedState.Streaming, $"test pattern streaming at {_plan}");
            if (_timer is null)
            {
                return; // A StateChanged handler stopped the feed.
            }
        }

        _frame.Attach(_sequence++, MonotonicClock.NowNanoseconds());
        try
        {
            Deliver(_frame);
        }
        finally
        {
            _frame.Detach();
        }
    }

    private void Close()
    {
        _timer?.Dispose();
        _timer = null;

        _frame.Detach();
        _frame.Clear();
    }
}
