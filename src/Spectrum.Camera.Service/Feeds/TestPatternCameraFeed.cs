using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// A synthetic camera, for machines without one and for tests: while streaming, a timerfd on the loop ticks at the
/// fastest requested rate and every tick is a frame whose <see cref="ICameraFrame.Sequence"/> counts up from 0 (again
/// from 0 at each start), stamped with CLOCK_MONOTONIC, rendering <see cref="TestPatternSource"/>'s moving,
/// numbered pattern. Ticks the loop was too late for are not made up (one frame per wake-up), as a camera drops them.
/// Several test-pattern cameras are told apart by their pattern number N (<c>--camera test-pattern:N</c>): the top
/// byte of the number each frame carries in its number band (so they differ in the band's first eight blocks).
/// </summary>
/// <remarks>Loop thread only, like the <see cref="EventLoop"/> it is given. Holds no fd while stopped.</remarks>
public sealed class TestPatternCameraFeed : CameraFeedBase
{
    /// <summary>The feed's <see cref="ICameraFeed.Name"/>, and the <c>--camera</c> value that selects it.</summary>
    public const string FeedName = "test-pattern";

    /// <summary>The highest pattern number (it is one byte of the frame number).</summary>
    public const int MaxPattern = byte.MaxValue;

    private readonly EventLoop _loop;
    private readonly TestPatternCameraFrame _frame;
    private readonly Action _onTick;
    private LoopTimer? _timer;
    private StreamRequest _plan;
    private ulong _sequence;

    /// <summary>A test-pattern camera driven by <paramref name="loop"/>, named <c>test-pattern</c> for pattern 0 and
    /// <c>test-pattern:N</c> for pattern N.</summary>
    public TestPatternCameraFeed(EventLoop loop, byte pattern = 0)
        : base(pattern == 0 ? FeedName : $"{FeedName}:{pattern}")
    {
        ArgumentNullException.ThrowIfNull(loop);
        _loop = loop;
        Pattern = pattern;
        _frame = new TestPatternCameraFrame(pattern);
        _onTick = OnTick;
    }

    /// <summary>The pattern number: the top byte of every frame's number.</summary>
    public byte Pattern { get; }

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
