using Spectrum.Camera.Media.Device;

namespace Spectrum.Camera.Tests.Media.Unit;

/// <summary>
/// The device's frame schedule against simulated cameras: arrivals and ticks are replayed in time order on a simulated
/// clock (nanoseconds), and the checks count frames and ticks. A tick runs at its deadline; an arrival is seen when
/// it comes, so a camera frame that arrives before a tick is the frame that tick shows.
/// </summary>
public sealed class FrameScheduleTests
{
    private const long Period = 33_333_333; // 30 fps

    [TestCase(Period + (Period / 300), 0)] // a camera a little slower than the guest's rate: drifts a period in 300 frames
    [TestCase(Period + (Period / 300), Period / 10)] // the same with arrivals jittering by up to a tenth of a period
    [TestCase(Period + (Period / 300), 2 * Period / 5)] // late by up to 2/5 of a period: within the half period a tick waits
    [TestCase(Period, Period / 10)] // the same rate, in phase with the device's own grid, jittering around it
    public void A_camera_drifting_against_the_device_clock_has_every_frame_shown_exactly_once(long cameraPeriod, long jitter)
    {
        var shown = Simulate(Arrivals(cameraPeriod, jitter, count: 600, firstAt: Period), until: Period * 610);
        var steady = shown.SkipWhile(x => x < 3).TakeWhile(x => x < 597).ToList();
        Assert.That(steady, Is.EqualTo(Enumerable.Range(3, 594)), "each camera frame shown once, in order: no repeat, no skip");
    }

    [Test]
    public void The_plain_clock_repeats_and_skips_frames_of_such_a_camera_which_is_what_following_it_removes()
    {
        // The same drifting camera on a fixed 30 fps grid (the schedule without arrivals): where the phases cross, a
        // tick shows one frame twice. This is the failure the schedule exists for; if it did not happen here, the
        // test above would prove nothing.
        var arrivals = Arrivals(Period + (Period / 300), 0, count: 600, firstAt: Period);
        var shown = new List<int>();
        var newest = -1;
        var next = 0;
        for (var tick = Period; tick < Period * 600; tick += Period)
        {
            while (next < arrivals.Length && arrivals[next] <= tick)
            {
                newest = next++;
            }

            shown.Add(newest);
        }

        var steady = shown.SkipWhile(x => x < 3).TakeWhile(x => x < 590).ToList();
        Assert.That(steady.Count - steady.Distinct().Count(), Is.GreaterThanOrEqualTo(1), "repeats on the plain grid");
    }

    [TestCase(3)]
    [TestCase(100)]
    public void A_source_announcing_frames_faster_than_the_rate_gets_no_more_ticks_than_the_rate(int arrivalsPerPeriod)
    {
        const int periods = 900;
        var arrivals = Enumerable.Range(0, periods * arrivalsPerPeriod).Select(i => (long)i * Period / arrivalsPerPeriod).ToArray();
        var ticks = Ticks(arrivals, until: Period * periods);
        var closest = ticks.Zip(ticks.Skip(1), (a, b) => b - a).Min();
        Assert.Multiple(() =>
        {
            Assert.That(ticks, Has.Count.LessThanOrEqualTo(periods + 2), "at most the stretch's length in periods, plus two");
            Assert.That(closest, Is.GreaterThanOrEqualTo(Period - (Period / FrameSchedule.SlackDivisor)), "no two ticks closer than 3/4 period");
        });
    }

    [Test]
    public void Arrivals_that_never_stop_cannot_hold_the_stream_and_without_arrivals_the_plain_clock_goes_on()
    {
        // An arrival every microsecond for 100 periods, then none for 100 periods.
        var arrivals = Enumerable.Range(0, 100 * (int)(Period / 1000)).Select(i => (long)i * 1000).ToArray();
        var ticks = Ticks(arrivals, until: Period * 200);
        var gaps = ticks.Zip(ticks.Skip(1), (a, b) => b - a).ToList();
        var quiet = ticks.Where(t => t > (Period * 101) + (Period / 2)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(gaps.Max(), Is.LessThanOrEqualTo(Period + (Period / FrameSchedule.GraceDivisor)), "never more than 1 1/2 periods between ticks");
            Assert.That(ticks.Count(t => t <= Period * 100), Is.GreaterThanOrEqualTo(66), "the flood still gets a tick every 1 1/2 periods at least");
            Assert.That(quiet.Zip(quiet.Skip(1), (a, b) => b - a).Distinct(), Is.EqualTo(new[] { Period }), "the plain grid once arrivals stop");
        });
    }

    /// <summary>Arrival times of <paramref name="count"/> frames, every <paramref name="period"/>, each up to <paramref name="jitter"/> late.</summary>
    private static long[] Arrivals(long period, long jitter, int count, long firstAt)
    {
        var random = new Random(17);
        return [.. Enumerable.Range(0, count).Select(i => firstAt + (i * period) + (jitter == 0 ? 0 : random.NextInt64(jitter)))];
    }

    /// <summary>The frame (index into <paramref name="arrivals"/>) each tick before <paramref name="until"/> shows, -1 for none yet.</summary>
    private static List<int> Simulate(long[] arrivals, long until) => Run(arrivals, until).Select(x => x.Shown).ToList();

    private static List<long> Ticks(long[] arrivals, long until) => Run(arrivals, until).Select(x => x.At).ToList();

    private static List<(long At, int Shown)> Run(long[] arrivals, long until)
    {
        var schedule = new FrameSchedule();
        schedule.Start(0, Period);
        var ticks = new List<(long, int)>();
        var newest = -1;
        var next = 0;
        while (true)
        {
            if (next < arrivals.Length && arrivals[next] <= schedule.Deadline)
            {
                newest = next;
                var at = arrivals[next++];
                if (at >= until)
                {
                    break;
                }

                schedule.Arrived(at);
                continue;
            }

            var tick = schedule.Deadline;
            if (tick >= until)
            {
                break;
            }

            _ = schedule.Tick(tick);
            ticks.Add((tick, newest));
        }

        return ticks;
    }
}
