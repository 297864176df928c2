using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Imaging;

public class RangeAndCropTests
{
    [Test]
    public void Full_range_maps_onto_bt601_limited_range_with_rounding()
    {
        for (var v = 0; v < 256; v++)
        {
            Assert.That(RangeCompression.Luma((byte)v), Is.EqualTo(16 + (int)Math.Round(219.0 * v / 255, MidpointRounding.AwayFromZero)), $"Y {v}");
            Assert.That(RangeCompression.Chroma((byte)v), Is.EqualTo(128 + (int)Math.Round(224.0 * (v - 128) / 255, MidpointRounding.AwayFromZero)), $"C {v}");
        }

        Assert.That((RangeCompression.Luma(0), RangeCompression.Luma(255)), Is.EqualTo(((byte)16, (byte)235)));
        Assert.That((RangeCompression.Chroma(0), RangeCompression.Chroma(128), RangeCompression.Chroma(255)), Is.EqualTo(((byte)16, (byte)128, (byte)240)));
    }

    [TestCase(1920, 1080, 1280, 720, 0, 0, 1920, 1080)]
    [TestCase(1920, 1080, 640, 480, 240, 0, 1440, 1080)]
    [TestCase(1280, 720, 320, 240, 160, 0, 960, 720)]
    [TestCase(640, 480, 1920, 1080, 0, 60, 640, 360)]
    [TestCase(640, 480, 320, 240, 0, 0, 640, 480)]
    [TestCase(1366, 768, 1280, 720, 0, 0, 1366, 768)]
    [TestCase(2, 2, 1920, 1080, 0, 0, 2, 2)]
    [TestCase(1000, 10, 2, 2, 494, 0, 10, 10)]
    public void The_crop_is_the_largest_centred_rectangle_of_the_guest_aspect(int sw, int sh, int dw, int dh, int x, int y, int w, int h)
    {
        var crop = CropRegion.Centered(sw, sh, dw, dh);
        Assert.That(crop, Is.EqualTo(new CropRegion(x, y, w, h)));
        Assert.That(crop.X % 2 + crop.Y % 2 + crop.Width % 2 + crop.Height % 2, Is.Zero, "even, so chroma stays aligned");
        Assert.That(crop.X + crop.Width, Is.LessThanOrEqualTo(sw));
        Assert.That(crop.Y + crop.Height, Is.LessThanOrEqualTo(sh));
    }

    [Test]
    public void V4l2_single_planar_layouts_follow_the_luma_plane()
    {
        var nv12 = HostFrameFormat.FromV4l2(HostPixelFormats.Nv12, 640, 480, 704);
        Assert.That((nv12.Plane0, nv12.Plane1), Is.EqualTo((new HostPlane(0, 704), new HostPlane(704 * 480, 704))));

        var yu12 = HostFrameFormat.FromV4l2(HostPixelFormats.Yu12, 640, 480, 704);
        Assert.That((yu12.Plane1, yu12.Plane2), Is.EqualTo((new HostPlane(704 * 480, 352), new HostPlane((704 * 480) + (352 * 240), 352))));

        var yuyv = HostFrameFormat.FromV4l2(HostPixelFormats.Yuyv, 640, 480, 1280);
        Assert.That((yuyv.PlaneCount, yuyv.Plane0), Is.EqualTo((1, new HostPlane(0, 1280))));

        var mjpeg = HostFrameFormat.FromV4l2(HostPixelFormats.Jpeg, 640, 480, 0);
        Assert.That((mjpeg.PixelFormat, mjpeg.PlaneCount), Is.EqualTo((HostPixelFormats.Mjpeg, 0)));
        Assert.That(mjpeg.ToString(), Is.EqualTo("MJPG 640x480"));
    }

    [Test]
    public void Camera_only_formats_are_not_guest_formats()
    {
        Assert.That(PixelFormats.IsSupported(HostPixelFormats.Uyvy), Is.False);
        Assert.That(PixelFormats.IsSupported(HostPixelFormats.Mjpeg), Is.False);
        Assert.That(PixelFormats.ToFourccString(HostPixelFormats.Uyvy), Is.EqualTo("UYVY"));
        Assert.That(HostPixelFormats.IsSupported(PixelFormats.FromChars('N', 'V', '2', '1')), Is.False);
    }
}
