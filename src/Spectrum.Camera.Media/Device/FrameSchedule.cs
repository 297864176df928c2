namespace Spectrum.Camera.Media.Device;

/// <summary>
/// When a stream's next frame tick is due: on the plain clock (one tick per period, on a fixed grid), or, while the
/// source announces frame arrivals (a camera through the camera service), just after each arrival, so that every
/// camera frame is shown once. A camera on a clock of its own at the same rate drifts in phase against the plain
/// grid; where the two cross, a tick would show one frame twice and the next tick skip one.
/// </summary>
/// <remarks>
/// <para>The arrivals can only move ticks within bounds, so no source (the service, or through it a hostile camera
/// VM) can drive the guest faster than the negotiated rate or stop its stream:</para>
/// <list type="bullet">
/// <item>Each tick spends one period of credit, and credit grows with the time between ticks up to one period plus
/// <see cref="SlackDivisor"/>'s share of one: over any stretch of time there are at most its length in periods plus
/// two ticks, and two ticks are never closer than a period less that share.</item>
/// <item>A tick is never later than one period plus <see cref="GraceDivisor"/>'s share of one after the tick before
/// it, however arrivals come; with no arrival the next tick is on the plain grid one period after the last (the grace
/// only waits for a frame that is late right after a tick an arrival placed).</item>
/// </list>
/// <para>A pure function of the times it is given (monotonic nanoseconds), so its tests need no clock.</para>
/// </remarks>
internal sealed class FrameSchedule
{
    /// <summary>Two ticks are at least a period less period / SlackDivisor apart.</summary>
    public const int SlackDivisor = 4;

    /// <summary>
    /// A tick waits for a late frame at most period / GraceDivisor past the plain grid. A frame later than that is
    /// shown twice and the one after it skipped, so this is the arrival jitter the schedule rides out: half a period
    /// (a quarter, 8 ms at 30 fps, was exceeded on this 2-core machine while the whole-system bench ran beside the
    /// component test).
    /// </summary>
    public const int GraceDivisor = 2;

    /// <summary>
    /// A tick follows its arrival by this much at most (period / 16 when shorter): notices the service sends
    /// together (it caught up after being late) are all read before the tick renders the newest.
    /// </summary>
    public const long MaxMarginNanoseconds = 2_000_000;

    private long _period = 1;
    private long _lastTick;
    private long _credit;
    private bool _anchored;

    /// <summary>When the next tick is due (monotonic nanoseconds).</summary>
    public long Deadline { get; private set; }

    /// <summary>Streaming (re)starts at <paramref name="now"/> with <paramref name="period"/>: the first tick is one period later.</summary>
    public void Start(long now, long period)
    {
        _period = Math.Max(1, period);
        _lastTick = now;
        _credit = 0;
        _anchored = false;
        Deadline = now + _period;
    }

    /// <summary>
    /// The tick due at <see cref="Deadline"/> runs at <paramref name="now"/> (not before the deadline): returns how many
    /// periods it advances the stream (more than 1 when it came late and skips the periods it missed), and the next
    /// deadline is set.
    /// </summary>
    public long Tick(long now)
    {
        var periods = 1 + (Math.Max(0, now - Deadline) / _period);
        // The grid point this tick stands for: the deadline, moved on by the periods a late tick skipped.
        var tick = Deadline + ((periods - 1) * _period);
        _credit = Math.Max(0, Math.Min(_period + (_period / SlackDivisor), _credit + (tick - _lastTick)) - _period);
        _lastTick = tick;
        Deadline = tick + _period + (_anchored ? _period / GraceDivisor : 0);
        _anchored = false;
        return periods;
    }

    /// <summary>
    /// A frame arrived at <paramref name="now"/> and has not been shown yet: the next tick comes a small margin after
    /// it, within the bounds.
    /// </summary>
    public void Arrived(long now)
    {
        var margin = Math.Min(MaxMarginNanoseconds, _period / 16);
        var earliest = _lastTick + _period - _credit;
        var latest = _lastTick + _period + (_period / GraceDivisor);
        Deadline = Math.Clamp(now + margin, earliest, latest);
        _anchored = true;
    }
}
