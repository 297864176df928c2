using Spectrum.Camera.Host;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Tests.Service.Feeds;

/// <summary>How several guests' requests become one camera mode (<see cref="FeedModePlanner"/>).</summary>
[TestFixture]
public sealed class FeedModePlannerTests
{
    private const uint Yuyv = PixelFormats.Yuyv;
    private const uint Nv12 = PixelFormats.Nv12;
    private const uint Yu12 = PixelFormats.Yu12;
    private const uint Mjpg = 'M' | ('J' << 8) | ('P' << 16) | ((uint)'G' << 24);

    private static readonly FrameRate Fps15 = FrameRate.FromFps(15);
    private static readonly FrameRate Fps30 = FrameRate.FromFps(30);
    private static readonly FrameRate Fps60 = FrameRate.FromFps(60);

    /// <summary>A C920-like USB 2 webcam: raw is slow at large sizes, MJPEG is fast.</summary>
    private static readonly CameraMode[] Webcam =
    [
        new(Yuyv, 640, 480, 30, 15), new(Yuyv, 1280, 720, 10, 5), new(Yuyv, 1920, 1080, 5),
        new(Mjpg, 640, 480, 30, 15), new(Mjpg, 1280, 720, 30, 15), new(Mjpg, 1920, 1080, 30, 15),
    ];

    private static StreamRequest Request(uint fourcc, uint width, uint height, FrameRate rate) =>
        new(new FrameFormat(fourcc, width, height), rate);

    [Test]
    public void One_request_is_its_own_plan()
    {
        var request = Request(Nv12, 640, 360, Fps15);
        Assert.That(FeedModePlanner.Plan([request]), Is.EqualTo(request));
    }

    [Test]
    public void The_largest_size_by_area_wins_in_any_order()
    {
        StreamRequest[] requests =
        [
            Request(Yuyv, 640, 480, Fps30), Request(Nv12, 1280, 720, Fps30), Request(Yu12, 320, 240, Fps30),
        ];
        foreach (var order in Permutations(requests))
        {
            Assert.That(FeedModePlanner.Plan(order).Format, Is.EqualTo(new FrameFormat(Nv12, 1280, 720)), string.Join(", ", order));
        }
    }

    [Test]
    public void At_equal_area_the_wider_size_wins()
    {
        // 640x360 and 480x480 have the same area (230400).
        StreamRequest[] requests = [Request(Yuyv, 480, 480, Fps30), Request(Yuyv, 640, 360, Fps30)];
        Assert.That(FeedModePlanner.Plan(requests).Format, Is.EqualTo(new FrameFormat(Yuyv, 640, 360)));
        Assert.That(FeedModePlanner.Plan([.. requests.Reverse()]).Format, Is.EqualTo(new FrameFormat(Yuyv, 640, 360)));
    }

    [Test]
    public void At_the_same_size_the_fourcc_is_yuyv_then_nv12_then_yu12()
    {
        var yuyv = Request(Yuyv, 640, 480, Fps30);
        var nv12 = Request(Nv12, 640, 480, Fps30);
        var yu12 = Request(Yu12, 640, 480, Fps30);
        foreach (var order in Permutations([yuyv, nv12, yu12]))
        {
            Assert.That(FeedModePlanner.Plan(order).Format.PixelFormat, Is.EqualTo(Yuyv));
        }

        foreach (var order in Permutations([nv12, yu12]))
        {
            Assert.That(FeedModePlanner.Plan(order).Format.PixelFormat, Is.EqualTo(Nv12));
        }
    }

    [Test]
    public void The_rate_is_the_fastest_any_request_asked_for_even_a_smaller_one()
    {
        StreamRequest[] requests = [Request(Yuyv, 1920, 1080, Fps15), Request(Nv12, 320, 240, Fps60), Request(Yuyv, 640, 480, Fps30)];
        var plan = FeedModePlanner.Plan(requests);
        Assert.That(plan, Is.EqualTo(Request(Yuyv, 1920, 1080, Fps60)));
    }

    [Test]
    public void Rates_with_a_zero_part_are_ignored_and_none_at_all_means_30_fps()
    {
        Assert.That(FeedModePlanner.Plan([Request(Yuyv, 640, 480, default), Request(Yuyv, 320, 240, Fps15)]).Rate, Is.EqualTo(Fps15));
        Assert.That(FeedModePlanner.Plan([Request(Yuyv, 640, 480, default), Request(Yuyv, 320, 240, new FrameRate(1, 0))]).Rate,
            Is.EqualTo(Fps30));
    }

    [Test]
    public void Rates_compare_as_fractions()
    {
        // 1001/30000 (29.97 fps) is slower than 1/30; 2/60 equals 1/30.
        var plan = FeedModePlanner.Plan([Request(Yuyv, 640, 480, new FrameRate(1001, 30000)), Request(Yuyv, 640, 480, new FrameRate(2, 60))]);
        Assert.That(plan.Rate, Is.EqualTo(Fps30));
    }

    [Test]
    public void No_request_is_an_argument_error()
    {
        Assert.Throws<ArgumentException>(() => FeedModePlanner.Plan([]));
        Assert.Throws<ArgumentNullException>(() => FeedModePlanner.Plan(null!));
    }

    [Test]
    public void The_plan_selects_one_mode_good_for_all_guests()
    {
        // A 640x480@30 YUYV guest alone gets the raw mode; a 1280x720@30 guest joining needs MJPEG (raw 720p is 10 fps).
        var alone = FeedModePlanner.Plan([Request(Yuyv, 640, 480, Fps30)]);
        Assert.That(ModeSelector.Select(Webcam, alone.Format, alone.Rate)!.Value.Mode, Is.EqualTo(new HostMode(Yuyv, 640, 480, Fps30)));

        var both = FeedModePlanner.Plan([Request(Yuyv, 640, 480, Fps30), Request(Nv12, 1280, 720, Fps15), Request(Yu12, 320, 240, Fps30)]);
        var selection = ModeSelector.Select(Webcam, both.Format, both.Rate)!.Value;
        Assert.That(selection.Mode, Is.EqualTo(new HostMode(Mjpg, 1280, 720, Fps30)));
        Assert.That(selection.Match, Is.EqualTo(ModeMatch.Exact));
    }

    [Test]
    public void The_same_mode_is_never_reopened()
    {
        var mode = new HostMode(Yuyv, 640, 480, Fps30);
        Assert.That(FeedModePlanner.MustReopen(mode, mode, Request(Yuyv, 640, 480, Fps30)), Is.False);

        // Even when it does not cover the plan (it was the nearest the camera had).
        Assert.That(FeedModePlanner.MustReopen(mode, mode, Request(Yuyv, 1920, 1080, Fps60)), Is.False);
    }

    [Test]
    public void A_larger_or_faster_plan_reopens()
    {
        var current = new HostMode(Yuyv, 640, 480, Fps30);
        Assert.That(FeedModePlanner.MustReopen(current, new HostMode(Mjpg, 1280, 720, Fps30), Request(Yuyv, 1280, 720, Fps30)), Is.True);
        Assert.That(FeedModePlanner.MustReopen(current, new HostMode(Yuyv, 640, 480, Fps60), Request(Yuyv, 640, 480, Fps60)), Is.True);
        Assert.That(FeedModePlanner.MustReopen(current, new HostMode(Yuyv, 640, 720, Fps30), Request(Yuyv, 480, 720, Fps30)), Is.True,
            "taller, though narrower");
    }

    [Test]
    public void A_smaller_or_slower_plan_keeps_the_covering_mode()
    {
        // The large guest left: the camera keeps streaming 720p rather than giving everybody a gap of black.
        var current = new HostMode(Mjpg, 1280, 720, Fps30);
        Assert.That(FeedModePlanner.MustReopen(current, new HostMode(Yuyv, 640, 480, Fps30), Request(Yuyv, 640, 480, Fps30)), Is.False);
        Assert.That(FeedModePlanner.MustReopen(current, new HostMode(Mjpg, 1280, 720, Fps15), Request(Yuyv, 1280, 720, Fps15)), Is.False);
    }

    [Test]
    public void A_plan_no_mode_can_meet_keeps_a_mode_at_least_as_large_and_fast_as_the_one_selected_for_it()
    {
        // 60 fps asked of a camera whose fastest is 30: the large guest left, the 720p mode stays.
        var current = new HostMode(Nv12, 1280, 720, Fps30);
        Assert.That(FeedModePlanner.MustReopen(current, new HostMode(Yuyv, 640, 480, Fps30), Request(Yuyv, 640, 480, Fps60)), Is.False);
        Assert.That(FeedModePlanner.MustReopen(current, new HostMode(Yuyv, 1920, 1080, Fps30), Request(Yuyv, 1920, 1080, Fps60)), Is.True,
            "larger than the current mode: re-opened");
    }

    [Test]
    public void A_mode_without_a_known_interval_covers_any_rate()
    {
        var current = new HostMode(Yuyv, 640, 480, default);
        Assert.That(FeedModePlanner.Covers(current, Request(Yuyv, 640, 480, Fps60)), Is.True);
        Assert.That(FeedModePlanner.Covers(current, Request(Yuyv, 640, 482, Fps15)), Is.False);
    }

    private static IEnumerable<StreamRequest[]> Permutations(StreamRequest[] items)
    {
        if (items.Length <= 1)
        {
            yield return items;
            yield break;
        }

        for (var i = 0; i < items.Length; i++)
        {
            var rest = items.Where((_, j) => j != i).ToArray();
            foreach (var tail in Permutations(rest))
            {
                yield return [items[i], .. tail];
            }
        }
    }
}
