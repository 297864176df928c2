using Spectrum.Camera.Frames;
using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Tests.Service.Feeds;

/// <summary>The camera VM's pacing (<see cref="FrameRateLimit"/>), fed timestamps: no clock, no timing.</summary>
[TestFixture]
public sealed class FrameRateLimitTests
{
    private const long Period = 1_000_000_000 / 30; // 30 fps, rounded down as FrameRate does
    private static readonly bool[] FourThenNone = [true, true, true, true, false, false];

    [Test]
    public void Frames_at_the_rate_all_pass_even_when_they_bunch_up_within_the_burst()
    {
        var limit = new FrameRateLimit(FrameRate.FromFps(30), burst: 4);
        var admitted = 0;
        for (var i = 0; i < 3000; i++)
        {
            // Every tenth frame is two periods late and the next follows at once: jitter, not speed.
            var jitter = i % 10 == 3 ? 2 * Period : i % 10 == 4 ? -2 * Period + 1 : 0;
            admitted += limit.TryAdmit(1_000 + (i * Period) + jitter) ? 1 : 0;
        }

        Assert.That(admitted, Is.EqualTo(3000));
    }

    [TestCase(2)]
    [TestCase(10)]
    [TestCase(1000)]
    public void A_flood_gets_at_most_the_rate_over_its_length_plus_the_burst(int timesTheRate)
    {
        var limit = new FrameRateLimit(FrameRate.FromFps(30), burst: 4);
        var step = Period / timesTheRate;
        var frames = 300 * timesTheRate; // ten seconds of flood
        var admitted = 0;
        for (var i = 0; i < frames; i++)
        {
            admitted += limit.TryAdmit(i * step) ? 1 : 0;
        }

        var span = (frames - 1) * step;
        Assert.That(admitted, Is.LessThanOrEqualTo((span / Period) + 4));
        Assert.That(admitted, Is.GreaterThanOrEqualTo(span / Period), "the rate itself still gets through");
    }

    [Test]
    public void After_a_quiet_stretch_exactly_the_burst_passes_back_to_back()
    {
        var limit = new FrameRateLimit(FrameRate.FromFps(30), burst: 4);
        Assert.That(limit.TryAdmit(0), Is.True);
        var at = 10 * Period;
        var burst = Enumerable.Range(0, 6).Select(_ => limit.TryAdmit(at)).ToArray();
        Assert.That(burst, Is.EqualTo(FourThenNone));
        Assert.That(limit.TryAdmit(at + Period), Is.True, "one period later, one more");
        Assert.That(limit.TryAdmit(at + Period), Is.False);
    }

    [Test]
    public void Huge_gaps_and_time_going_backwards_neither_overflow_nor_give_credit()
    {
        var limit = new FrameRateLimit(FrameRate.FromFps(30), burst: 2);
        Assert.That(limit.TryAdmit(0), Is.True);
        Assert.That(limit.TryAdmit(long.MaxValue), Is.True);
        Assert.That(limit.TryAdmit(long.MaxValue), Is.True);
        Assert.That(limit.TryAdmit(long.MaxValue), Is.False, "credit is capped at the burst");
        Assert.That(limit.TryAdmit(0), Is.False, "an earlier timestamp earns nothing");
    }

    [Test]
    public void A_rate_without_a_period_or_an_empty_burst_is_refused()
    {
        Assert.Throws<ArgumentException>(() => _ = new FrameRateLimit(default, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new FrameRateLimit(FrameRate.FromFps(30), 0));
    }
}
