using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// Admits a producer's frames at its stream's rate, with room for a short burst: a token bucket whose credit is time.
/// Each admitted frame costs one frame period; credit grows with the time that passes, up to
/// <c>burst</c> periods. So over any stretch of time at most its length in periods plus <c>burst</c> frames get
/// through, however fast frames come, while a producer at the rate whose frames bunch up (a late frame followed by
/// the next one at once) loses none as long as it does not fall more than <c>burst</c> frames behind.
/// </summary>
/// <remarks>A pure function of the timestamps it is given, so its tests need no clock.</remarks>
internal sealed class FrameRateLimit
{
    private readonly long _period;
    private readonly long _capacity;
    private long _credit;
    private long _last;
    private bool _started;

    /// <param name="rate">The stream's rate (valid).</param>
    /// <param name="burst">How many frames may come back to back after a quiet stretch (at least 1).</param>
    public FrameRateLimit(FrameRate rate, int burst)
    {
        if (!rate.IsValid)
        {
            throw new ArgumentException($"the rate {rate} has no period", nameof(rate));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        _period = Math.Max(1, rate.PeriodNanoseconds);
        _capacity = checked(_period * burst);
    }

    /// <summary>Whether a frame arriving at <paramref name="nowNanoseconds"/> (monotonic) is within the rate; if so it is counted.</summary>
    public bool TryAdmit(long nowNanoseconds)
    {
        if (!_started)
        {
            _started = true;
            _credit = _capacity;
        }
        else if (nowNanoseconds > _last)
        {
            // Subtract before comparing, so a huge gap cannot overflow the sum.
            _credit = nowNanoseconds - _last >= _capacity - _credit ? _capacity : _credit + (nowNanoseconds - _last);
        }

        _last = Math.Max(_last, nowNanoseconds);
        if (_credit < _period)
        {
            return false;
        }

        _credit -= _period;
        return true;
    }
}
