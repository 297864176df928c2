using Spectrum.Camera.Host;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Host;

/// <summary>How the enumeration reads drivers' answers: capabilities, discrete, stepwise and continuous sizes and intervals.</summary>
[TestFixture]
public sealed class CameraEnumeratorTests
{
    internal const uint Mjpg = 'M' | ('J' << 8) | ('P' << 16) | ((uint)'G' << 24);

    /// <summary>A Logitech C920 as uvcvideo describes it (abridged).</summary>
    internal static FakeV4l2Device C920() => new FakeV4l2Device()
        .AddDiscrete(PixelFormats.Yuyv, "YUYV 4:2:2", false, (640, 480, [30, 24, 20, 15, 10, 5]), (1280, 720, [10, 5]), (1920, 1080, [5]))
        .AddDiscrete(Mjpg, "Motion-JPEG", true, (640, 480, [30, 15]), (1280, 720, [30, 15]), (1920, 1080, [30, 15]));

    [Test]
    public void A_discrete_camera_lists_every_format_size_and_interval_fastest_first()
    {
        var camera = CameraEnumerator.Describe(C920(), "/dev/video0", ["/dev/v4l/by-id/usb-046d_C920-video-index0"], out var reason);

        Assert.That(reason, Is.Null);
        Assert.That(camera, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(camera!.Card, Is.EqualTo("HD Pro Webcam C920"));
            Assert.That(camera.Driver, Is.EqualTo("uvcvideo"));
            Assert.That(camera.BusInfo, Is.EqualTo("usb-0000:00:14.0-1"));
            Assert.That(camera.Links.Single(), Is.EqualTo("/dev/v4l/by-id/usb-046d_C920-video-index0"));
            Assert.That(camera.Formats.Select(f => f.PixelFormat), Is.EqualTo(new[] { PixelFormats.Yuyv, Mjpg }));
            Assert.That(camera.Formats[1].IsCompressed, Is.True);
            Assert.That(camera.Formats[0].IsCompressed, Is.False);
            Assert.That(camera.Formats[0].Description, Is.EqualTo("YUYV 4:2:2"));
            Assert.That(camera.Formats[0].SizeKind, Is.EqualTo(FrameSizeKind.Discrete));
            Assert.That(camera.Formats[0].Sizes.Select(s => (s.Width, s.Height)),
                Is.EqualTo(new[] { (640u, 480u), (1280u, 720u), (1920u, 1080u) }));
            Assert.That(camera.Formats[0].Sizes[0].Intervals.Select(r => r.Denominator), Is.EqualTo(new uint[] { 30, 24, 20, 15, 10, 5 }));
            Assert.That(camera.Modes, Has.Count.EqualTo(6));
        });
    }

    [Test]
    public void Intervals_are_sorted_fastest_first_and_duplicates_dropped_whatever_order_the_driver_uses()
    {
        var device = new FakeV4l2Device().AddDiscrete(PixelFormats.Yuyv, "YUYV", false, (640, 480, [5, 30, 15, 30]));
        device.Intervals[(PixelFormats.Yuyv, 640, 480)].Add(FakeV4l2Device.Discrete(PixelFormats.Yuyv, 640, 480, 1001, 30000));
        device.Intervals[(PixelFormats.Yuyv, 640, 480)].Add(FakeV4l2Device.Discrete(PixelFormats.Yuyv, 640, 480, 0, 30));

        var camera = CameraEnumerator.Describe(device, "/dev/video0", [], out _)!;

        Assert.That(string.Join(' ', camera.Formats[0].Sizes[0].Intervals.Select(FrameRates.Describe)), Is.EqualTo("30 29.97 15 5"));
    }

    [Test]
    public void A_fourcc_listed_twice_and_a_size_listed_twice_appear_once()
    {
        var device = new FakeV4l2Device().AddDiscrete(PixelFormats.Yuyv, "YUYV", false, (640, 480, [30]), (640, 480, [30]), (0, 480, [30]));
        device.Formats.Add(V4l2FmtDesc.Create(PixelFormats.Yuyv, "YUYV again"));

        var camera = CameraEnumerator.Describe(device, "/dev/video0", [], out _)!;

        Assert.That(camera.Formats, Has.Count.EqualTo(1));
        Assert.That(camera.Formats[0].Sizes, Has.Count.EqualTo(1), "the duplicate and the 0-wide size are dropped");
    }

    [Test]
    public void Stepwise_sizes_give_the_range_its_ends_and_the_standard_sizes_on_its_grid()
    {
        var device = new FakeV4l2Device().AddRange(PixelFormats.Nv12, V4l2.FrmSizeTypeStepwise, (48, 1920, 16), (32, 1080, 8));

        var format = CameraEnumerator.Describe(device, "/dev/video0", [], out _)!.Formats[0];

        Assert.Multiple(() =>
        {
            Assert.That(format.SizeKind, Is.EqualTo(FrameSizeKind.Stepwise));
            Assert.That(format.SizeRange, Is.EqualTo(new SizeRange(48, 1920, 16, 32, 1080, 8)));
            Assert.That(format.SizeRange!.Value.ToString(), Is.EqualTo("48x32-1920x1080 step 16x8"));
            var sizes = format.Sizes.Select(s => $"{s.Width}x{s.Height}").ToList();
            Assert.That(sizes[0], Is.EqualTo("48x32"));
            Assert.That(sizes[^1], Is.EqualTo("1920x1080"));
            // (w - 48) % 16 and (h - 32) % 8: 640x480 is on the grid, 352x288 is too (304 = 19*16), 1280x720 too.
            Assert.That(sizes, Does.Contain("640x480").And.Contain("1280x720").And.Contain("352x288"));
            Assert.That(sizes, Does.Not.Contain("2560x1440"), "outside the range");
            Assert.That(sizes, Is.Unique);
        });
    }

    [Test]
    public void Continuous_sizes_and_stepwise_intervals_give_ranges_and_standard_values()
    {
        var device = new FakeV4l2Device().AddRange(PixelFormats.Yuyv, V4l2.FrmSizeTypeContinuous, (2, 1280, 1), (2, 720, 1));
        foreach (var (w, h) in CameraEnumerator.RangeSizes(new SizeRange(2, 1280, 1, 2, 720, 1)))
        {
            device.Intervals[(PixelFormats.Yuyv, w, h)] =
            [
                new V4l2FrmIvalEnum
                {
                    PixelFormat = PixelFormats.Yuyv, Width = w, Height = h, Type = V4l2.FrmIvalTypeStepwise,
                    Min = new V4l2Fract(1, 30), Max = new V4l2Fract(1, 1), Step = new V4l2Fract(1, 30),
                },
            ];
        }

        var format = CameraEnumerator.Describe(device, "/dev/video0", [], out _)!.Formats[0];

        Assert.Multiple(() =>
        {
            Assert.That(format.SizeKind, Is.EqualTo(FrameSizeKind.Continuous));
            Assert.That(format.SizeRange!.Value.ToString(), Is.EqualTo("2x2-1280x720"));
            Assert.That(format.Sizes.Select(s => $"{s.Width}x{s.Height}"), Does.Contain("640x480").And.Contain("1280x720").And.Contain("2x2"));
            var vga = format.Sizes.Single(s => s.Width == 640 && s.Height == 480);
            Assert.That(vga.IntervalRange, Is.EqualTo(new IntervalRange(new FrameRate(1, 30), new FrameRate(1, 1), new FrameRate(1, 30))));
            Assert.That(string.Join(' ', vga.Intervals.Select(FrameRates.Describe)), Is.EqualTo("30 25 24 20 15 10 5 1"));
        });
    }

    [Test]
    public void A_driver_that_never_answers_einval_cannot_make_the_enumeration_loop_forever()
    {
        var device = new FakeV4l2Device
        {
            EndlessSize = new V4l2FrmSizeEnum { Type = V4l2.FrmSizeTypeDiscrete, DiscreteWidth = 640, DiscreteHeight = 480 },
        };
        device.Formats.Add(V4l2FmtDesc.Create(PixelFormats.Yuyv, "YUYV"));

        var camera = CameraEnumerator.Describe(device, "/dev/video0", [], out _)!;

        Assert.That(camera.Formats[0].Sizes, Has.Count.EqualTo(1));
        Assert.That(device.FrameSizeCalls, Is.EqualTo(256));
    }

    [TestCase(0x00000002u, 0u, "not a video capture node (capabilities 0x00000002)")]
    [TestCase(V4l2.CapVideoCaptureMplane | V4l2.CapStreaming, 0u, "multi-planar capture only (not supported)")]
    [TestCase(V4l2.CapVideoCapture, 0u, "no streaming I/O (read() only devices are not supported)")]
    // With V4L2_CAP_DEVICE_CAPS, the node's own device_caps count: a UVC metadata node of a capture device.
    [TestCase(V4l2.CapVideoCapture | V4l2.CapStreaming | V4l2.CapDeviceCaps, 0x04800000u, "not a video capture node (capabilities 0x04800000)")]
    public void Nodes_that_are_not_single_planar_streaming_capture_are_skipped_with_the_reason(uint capabilities, uint deviceCaps, string expected)
    {
        var device = C920();
        device.Capability = V4l2Capability.Create("drv", "card", "bus", capabilities, deviceCaps);

        var camera = CameraEnumerator.Describe(device, "/dev/video1", [], out var reason);

        Assert.That(camera, Is.Null);
        Assert.That(reason, Is.EqualTo(expected));
    }

    [Test]
    public void A_node_that_answers_enotty_to_querycap_is_not_a_v4l2_device()
    {
        var device = C920();
        device.CapabilityErrno = Native.Errnos.ENOTTY;

        Assert.That(CameraEnumerator.Describe(device, "/dev/video9", [], out var reason), Is.Null);
        Assert.That(reason, Is.EqualTo("not a V4L2 device"));
    }

    [Test]
    public void Text_fields_are_read_up_to_the_nul_and_truncated_to_fit_when_written()
    {
        var capability = V4l2Capability.Create("d", new string('x', 40), "b", 0, 0);

        Assert.That(capability.CardName, Is.EqualTo(new string('x', 31)));
    }

    [Test]
    public void Open_failures_say_what_to_do()
    {
        Assert.Multiple(() =>
        {
            Assert.That(CameraEnumerator.OpenFailure("/nonexistent/video0", Native.Errnos.EACCES),
                Does.StartWith("permission denied").And.Contain("usermod -aG video"));
            Assert.That(CameraEnumerator.OpenFailure("/dev/video0", Native.Errnos.ENODEV), Does.Contain("gone"));
            Assert.That(CameraEnumerator.OpenFailure("/dev/video0", Native.Errnos.ENOENT), Is.EqualTo("no such device node"));
            Assert.That(CameraEnumerator.OpenFailure("/dev/video0", Native.Errnos.EBUSY), Does.Contain("busy"));
        });
    }
}
