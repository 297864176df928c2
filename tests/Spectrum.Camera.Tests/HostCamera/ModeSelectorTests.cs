using Spectrum.Camera.Host;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Host;

/// <summary>The mode selection policy (see <see cref="ModeSelector"/>'s remarks for the order these tests pin down).</summary>
[TestFixture]
public sealed class ModeSelectorTests
{
    private const uint Yuyv = PixelFormats.Yuyv;
    private const uint Nv12 = PixelFormats.Nv12;
    private const uint Yu12 = PixelFormats.Yu12;
    private const uint Uyvy = ModeSelector.Uyvy;
    private const uint Mjpg = CameraEnumeratorTests.Mjpg;
    private const uint Rgb3 = 'R' | ('G' << 8) | ('B' << 16) | ((uint)'3' << 24);

    private static readonly FrameRate Fps30 = FrameRate.FromFps(30);
    private static readonly FrameRate Fps15 = FrameRate.FromFps(15);

    /// <summary>vivid's webcam input on 6.1: the sizes and the interval list each size gets.</summary>
    private static readonly CameraMode[] Vivid =
    [
        .. new[] { Yuyv, Uyvy, Nv12, Yu12 }.SelectMany(f => new[]
        {
            new CameraMode(f, 320, 180, 60, 50, 40, 30, 25, 15, 10, 5),
            new CameraMode(f, 640, 360, 40, 30, 25, 15, 10, 5),
            new CameraMode(f, 640, 480, 25, 15, 10, 5),
            new CameraMode(f, 1280, 720, 12, 10, 5),
            new CameraMode(f, 1920, 1080, 5, 4, 2, 1),
        }),
    ];

    private static ModeSelection Select(IEnumerable<CameraMode> modes, uint fourcc, uint width, uint height, FrameRate rate)
    {
        var selection = ModeSelector.Select(modes, new FrameFormat(fourcc, width, height), rate);
        Assert.That(selection, Is.Not.Null);
        return selection!.Value;
    }

    private static void AssertMode(ModeSelection selection, ModeMatch match, uint fourcc, uint width, uint height, uint fps)
    {
        Assert.That(selection.Mode, Is.EqualTo(new HostMode(fourcc, width, height, FrameRate.FromFps(fps))), selection.ToString());
        Assert.That(selection.Match, Is.EqualTo(match), selection.ToString());
    }

    [Test]
    public void Exact_prefers_the_guests_own_format()
    {
        AssertMode(Select(Vivid, Nv12, 640, 360, Fps30), ModeMatch.Exact, Nv12, 640, 360, 30);
        AssertMode(Select(Vivid, Yu12, 640, 360, Fps30), ModeMatch.Exact, Yu12, 640, 360, 30);
    }

    [Test]
    public void Among_other_raw_formats_the_order_is_yuyv_nv12_yu12_uyvy()
    {
        CameraMode[] modes = [new(Uyvy, 640, 480, 30), new(Yu12, 640, 480, 30), new(Nv12, 640, 480, 30), new(Yuyv, 640, 480, 30)];

        // A guest format the camera does not have (here NV12 is removed) falls to the preference order.
        AssertMode(Select(modes.Where(m => m.PixelFormat != Nv12), Nv12, 640, 480, Fps30), ModeMatch.Exact, Yuyv, 640, 480, 30);
        AssertMode(Select(modes.Where(m => m.PixelFormat is Uyvy or Yu12), Yuyv, 640, 480, Fps30), ModeMatch.Exact, Yu12, 640, 480, 30);
    }

    [Test]
    public void Raw_beats_mjpeg_at_equal_size_and_rate()
    {
        CameraMode[] modes = [new(Mjpg, 640, 480, 30), new(Uyvy, 640, 480, 30)];

        AssertMode(Select(modes, Nv12, 640, 480, Fps30), ModeMatch.Exact, Uyvy, 640, 480, 30);
    }

    [Test]
    public void Mjpeg_beats_a_raw_mode_that_cannot_reach_the_rate_the_usual_usb2_webcam()
    {
        var c920 = CameraEnumerator.Describe(CameraEnumeratorTests.C920(), "/dev/video0", [], out _)!.Modes;

        AssertMode(Select(c920, Yuyv, 1280, 720, Fps30), ModeMatch.Exact, Mjpg, 1280, 720, 30);
        AssertMode(Select(c920, Yuyv, 1920, 1080, Fps30), ModeMatch.Exact, Mjpg, 1920, 1080, 30);
        AssertMode(Select(c920, Yuyv, 640, 480, Fps30), ModeMatch.Exact, Yuyv, 640, 480, 30);
        // At 10 fps the raw 720p mode is enough, and raw wins.
        AssertMode(Select(c920, Yuyv, 1280, 720, FrameRate.FromFps(10)), ModeMatch.Exact, Yuyv, 1280, 720, 10);
    }

    [TestCase(new uint[] { 30, 15, 5 }, 15u, 15u)]
    [TestCase(new uint[] { 30, 10 }, 15u, 30u)]
    [TestCase(new uint[] { 60, 30 }, 30u, 30u)]
    [TestCase(new uint[] { 60, 50 }, 30u, 50u)]
    public void The_interval_is_the_slowest_that_still_reaches_the_requested_rate(uint[] offered, uint requested, uint chosen)
    {
        AssertMode(Select([new CameraMode(Yuyv, 640, 480, offered)], Yuyv, 640, 480, FrameRate.FromFps(requested)),
            ModeMatch.Exact, Yuyv, 640, 480, chosen);
    }

    [Test]
    public void Without_an_exact_mode_the_smallest_mode_covering_both_dimensions_is_scaled_down()
    {
        // 320x180 is too short, 640x360 is the smallest that covers 320x240.
        AssertMode(Select(Vivid, Nv12, 320, 240, Fps15), ModeMatch.ScaleDown, Nv12, 640, 360, 15);
        // A wider-but-shorter mode never counts as covering.
        CameraMode[] modes = [new(Yuyv, 1920, 400, 30), new(Yuyv, 1280, 960, 30), new(Yuyv, 800, 600, 30)];
        AssertMode(Select(modes, Yuyv, 640, 480, Fps30), ModeMatch.ScaleDown, Yuyv, 800, 600, 30);
    }

    [Test]
    public void Scale_down_needs_the_rate_too()
    {
        // 640x480 at 30: vivid has 640x480 only up to 25, and every larger size is slower still.
        AssertMode(Select(Vivid, Yuyv, 640, 480, Fps30), ModeMatch.Nearest, Yuyv, 640, 480, 25);
    }

    [Test]
    public void Nearest_keeps_the_largest_share_of_the_requested_pixel_rate()
    {
        // 1080p at 30: 720p at 30 delivers 0.44 of it, 1080p at 10 delivers 0.33.
        CameraMode[] modes = [new(Yuyv, 1920, 1080, 10), new(Yuyv, 1280, 720, 30)];
        AssertMode(Select(modes, Yuyv, 1920, 1080, Fps30), ModeMatch.Nearest, Yuyv, 1280, 720, 30);

        // 1080p at 15 delivers 0.5 and wins.
        modes = [new(Yuyv, 1920, 1080, 15), new(Yuyv, 1280, 720, 30)];
        AssertMode(Select(modes, Yuyv, 1920, 1080, Fps30), ModeMatch.Nearest, Yuyv, 1920, 1080, 15);
    }

    [Test]
    public void A_camera_smaller_than_the_request_gives_its_largest_mode_at_the_rate()
    {
        CameraMode[] modes = [new(Yuyv, 320, 240, 30), new(Yuyv, 640, 480, 30), new(Yuyv, 640, 480, 15)];

        AssertMode(Select(modes, Nv12, 1920, 1080, Fps30), ModeMatch.Nearest, Yuyv, 640, 480, 30);
    }

    [Test]
    public void Equal_shares_go_to_the_size_nearest_the_request()
    {
        // Both deliver 25/30 of 640x480 at 30; the 640x480 mode needs no scaling.
        CameraMode[] modes = [new(Yuyv, 1280, 720, 25), new(Yuyv, 640, 480, 25)];

        AssertMode(Select(modes, Yuyv, 640, 480, Fps30), ModeMatch.Nearest, Yuyv, 640, 480, 25);
    }

    [Test]
    public void Formats_the_converter_cannot_take_are_ignored_and_none_left_gives_null()
    {
        CameraMode[] modes = [new(Rgb3, 640, 480, 30), new(Yuyv, 320, 240, 30)];

        AssertMode(Select(modes, Yuyv, 640, 480, Fps30), ModeMatch.Nearest, Yuyv, 320, 240, 30);
        Assert.That(ModeSelector.Select([new CameraMode(Rgb3, 640, 480, 30)], new FrameFormat(Yuyv, 640, 480), Fps30), Is.Null);
        Assert.That(ModeSelector.Select([], new FrameFormat(Yuyv, 640, 480), Fps30), Is.Null);
    }

    [Test]
    public void A_mode_without_listed_intervals_is_taken_at_the_requested_rate_but_a_listed_one_wins_a_tie()
    {
        CameraMode[] unknown = [new(Yuyv, 640, 480, Array.Empty<FrameRate>())];
        AssertMode(Select(unknown, Yuyv, 640, 480, Fps30), ModeMatch.Exact, Yuyv, 640, 480, 30);

        CameraMode[] both = [new(Yuyv, 640, 480, Array.Empty<FrameRate>()), new(Yuyv, 640, 480, 30, 15)];
        var selection = Select(both, Yuyv, 640, 480, Fps15);
        Assert.That(selection.Mode.Interval, Is.EqualTo(Fps15));
    }

    [Test]
    public void An_invalid_requested_rate_means_30_fps()
    {
        AssertMode(Select(Vivid, Yuyv, 640, 360, new FrameRate(0, 0)), ModeMatch.Exact, Yuyv, 640, 360, 30);
    }

    [Test]
    public void The_choice_does_not_depend_on_the_order_the_driver_lists_modes_in()
    {
        var random = new Random(1234);
        (uint Fourcc, uint W, uint H, uint Fps)[] requests =
            [(Yuyv, 640, 480, 30), (Nv12, 320, 240, 15), (Yu12, 1920, 1080, 30), (Yuyv, 1280, 720, 5), (Nv12, 3840, 2160, 60)];
        var c920 = CameraEnumerator.Describe(CameraEnumeratorTests.C920(), "/dev/video0", [], out _)!.Modes;
        foreach (var modes in new[] { Vivid, c920.ToArray() })
        {
            foreach (var (fourcc, w, h, fps) in requests)
            {
                var expected = Select(modes, fourcc, w, h, FrameRate.FromFps(fps));
                for (var i = 0; i < 20; i++)
                {
                    var shuffled = modes.ToArray();
                    random.Shuffle(shuffled);
                    Assert.That(Select(shuffled, fourcc, w, h, FrameRate.FromFps(fps)), Is.EqualTo(expected));
                }
            }
        }
    }

    [Test]
    public void Frame_rate_helpers_compare_and_print_rates()
    {
        Assert.Multiple(() =>
        {
            Assert.That(FrameRates.CompareSpeed(Fps30, Fps15), Is.Positive);
            Assert.That(FrameRates.CompareSpeed(new FrameRate(2, 60), Fps30), Is.Zero);
            Assert.That(FrameRates.CompareSpeed(new FrameRate(0, 30), Fps15), Is.Negative, "invalid counts as slowest");
            Assert.That(FrameRates.IsAtLeast(new FrameRate(1001, 30000), Fps30), Is.False);
            Assert.That(FrameRates.Describe(new FrameRate(1001, 30000)), Is.EqualTo("29.97"));
            Assert.That(FrameRates.Describe(new FrameRate(2, 25)), Is.EqualTo("12.5"));
            Assert.That(FrameRates.Describe(new FrameRate(1, 0)), Is.EqualTo("?"));
            Assert.That(new HostMode(Yuyv, 640, 480, Fps30).ToString(), Is.EqualTo("YUYV 640x480@30"));
        });
    }
}
