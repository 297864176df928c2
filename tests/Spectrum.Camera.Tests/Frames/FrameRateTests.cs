using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Frames;

public class FrameRateTests
{
    [Test]
    public void FromFps_is_one_over_fps()
    {
        Assert.That(FrameRate.FromFps(30), Is.EqualTo(new FrameRate(1, 30)));
        Assert.That(FrameRate.FromFps(30).FramesPerSecond, Is.EqualTo(30.0));
        Assert.That(() => FrameRate.FromFps(0), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Period_is_the_time_per_frame()
    {
        var rate = FrameRate.FromFps(30);
        Assert.That(rate.PeriodNanoseconds, Is.EqualTo(33_333_333));
        Assert.That(rate.Period, Is.EqualTo(TimeSpan.FromTicks(333_333)));
        Assert.That(new FrameRate(1001, 30000).PeriodNanoseconds, Is.EqualTo(33_366_666));
    }

    [Test]
    public void Elapsed_time_does_not_accumulate_rounding()
    {
        var rate = FrameRate.FromFps(30);
        Assert.That(rate.ElapsedNanoseconds(30), Is.EqualTo(1_000_000_000));
        Assert.That(rate.ElapsedNanoseconds(30 * 3600), Is.EqualTo(3600L * 1_000_000_000));
        Assert.That(new FrameRate(uint.MaxValue, 1).ElapsedNanoseconds(ulong.MaxValue), Is.EqualTo(long.MaxValue));
    }

    [Test]
    public void Equality_compares_values_not_spelling()
    {
        Assert.That(new FrameRate(2, 60), Is.EqualTo(new FrameRate(1, 30)));
        Assert.That(new FrameRate(2, 60) == new FrameRate(1, 30), Is.True);
        Assert.That(new FrameRate(2, 60).GetHashCode(), Is.EqualTo(new FrameRate(1, 30).GetHashCode()));
        Assert.That(new FrameRate(1, 15), Is.Not.EqualTo(new FrameRate(1, 30)));
        Assert.That(new FrameRate(0, 0), Is.Not.EqualTo(new FrameRate(1, 30)));
        Assert.That(new FrameRate(0, 5), Is.EqualTo(new FrameRate(0, 1)));
    }

    [Test]
    public void Fractions_with_a_zero_part_have_no_period()
    {
        Assert.That(new FrameRate(0, 30).IsValid, Is.False);
        Assert.That(new FrameRate(1, 0).FramesPerSecond, Is.Zero);
        Assert.That(() => new FrameRate(1, 0).PeriodNanoseconds, Throws.TypeOf<InvalidOperationException>());
    }

    [Test]
    public void Prints_like_v4l2_ctl()
    {
        Assert.That(new FrameRate(1, 15).ToString(), Is.EqualTo("1/15"));
    }
}
