using System.Text.Json;
using Spectrum.Camera.Cli;
using Spectrum.Camera.Host;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.Tests.Host;

/// <summary>The 'cameras' output: one line per device, the JSON form, and the advice when there is no camera.</summary>
[TestFixture]
public sealed class CamerasCommandTests
{
    private static CameraDevice C920() => CameraEnumerator.Describe(
        CameraEnumeratorTests.C920(), "/dev/video0",
        ["/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920-video-index0", "/dev/v4l/by-path/pci-0000:00:14.0-usb-0:1:1.0-video-index0"],
        out _)!;

    [Test]
    public void One_line_per_device_node_links_card_then_formats_with_sizes_and_rates()
    {
        Assert.That(CamerasCommand.SummaryLine(C920()), Is.EqualTo(
            "/dev/video0 (usb-046d_HD_Pro_Webcam_C920-video-index0, pci-0000:00:14.0-usb-0:1:1.0-video-index0) "
            + "\"HD Pro Webcam C920\": YUYV 640x480@30,24,20,15,10,5 1280x720@10,5 1920x1080@5; "
            + "MJPG 640x480@30,15 1280x720@30,15 1920x1080@30,15"));
    }

    [Test]
    public void Formats_with_the_same_sizes_and_rates_share_an_entry_and_ranges_show_in_brackets()
    {
        var device = new FakeV4l2Device()
            .AddDiscrete(PixelFormats.Yuyv, "YUYV", false, (640, 480, [30]))
            .AddDiscrete(ModeSelector.Uyvy, "UYVY", false, (640, 480, [30]))
            .AddRange(PixelFormats.Nv12, V4l2.FrmSizeTypeStepwise, (320, 640, 320), (240, 480, 240));
        var camera = CameraEnumerator.Describe(device, "/dev/video4", [], out _)!;

        Assert.That(CamerasCommand.SummaryLine(camera), Is.EqualTo(
            "/dev/video4 \"HD Pro Webcam C920\": YUYV/UYVY 640x480@30; NV12 [320x240-640x480 step 320x240] 320x240 640x480"));
    }

    [Test]
    public void The_json_form_carries_every_format_size_and_interval()
    {
        var json = CamerasCommand.ToJson(new CameraScan([C920()], [new SkippedNode("/dev/video1", "not a video capture node", 0)]));

        using var doc = JsonDocument.Parse(json);
        var camera = doc.RootElement.GetProperty("cameras")[0];
        Assert.Multiple(() =>
        {
            Assert.That(camera.GetProperty("path").GetString(), Is.EqualTo("/dev/video0"));
            Assert.That(camera.GetProperty("links").GetArrayLength(), Is.EqualTo(2));
            Assert.That(camera.GetProperty("card").GetString(), Is.EqualTo("HD Pro Webcam C920"));
            var mjpg = camera.GetProperty("formats")[1];
            Assert.That(mjpg.GetProperty("fourcc").GetString(), Is.EqualTo("MJPG"));
            Assert.That(mjpg.GetProperty("compressed").GetBoolean(), Is.True);
            Assert.That(mjpg.GetProperty("size_kind").GetString(), Is.EqualTo("discrete"));
            var size = mjpg.GetProperty("sizes")[2];
            Assert.That(size.GetProperty("width").GetUInt32(), Is.EqualTo(1920));
            Assert.That(size.GetProperty("intervals")[0].GetString(), Is.EqualTo("1/30"));
            Assert.That(size.GetProperty("fps")[1].GetDouble(), Is.EqualTo(15));
            Assert.That(doc.RootElement.GetProperty("skipped")[0].GetProperty("reason").GetString(), Is.EqualTo("not a video capture node"));
        });
    }

    [Test]
    public void Without_a_camera_the_advice_matches_the_cause()
    {
        Assert.Multiple(() =>
        {
            Assert.That(CamerasCommand.NoCameraAdvice(new CameraScan([], []), "/dev"),
                Does.StartWith("no video devices (/dev/video*)").And.Contain("Plug in a camera"));
            Assert.That(CamerasCommand.NoCameraAdvice(new CameraScan([], [new SkippedNode("/dev/video0", "permission denied", Errnos.EACCES)]), "/dev"),
                Does.StartWith("no permission to open /dev/video0").And.Contain("usermod -aG video"));
            Assert.That(CamerasCommand.NoCameraAdvice(new CameraScan([], [new SkippedNode("/dev/video3", "not a video capture node", 0)]), "/dev"),
                Does.StartWith("none of the 1 video device(s)"));
        });
    }
}
