using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Frames;

public class FrameFormatTests
{
    public static IEnumerable<FrameFormat> MenuFormats() =>
        from pixelFormat in StableMenu.Default.Formats
        from size in StableMenu.Default.Sizes
        select new FrameFormat(pixelFormat, size.Width, size.Height);

    [TestCaseSource(nameof(MenuFormats))]
    public void Sizes_follow_the_packed_v4l2_layouts(FrameFormat format)
    {
        ulong w = format.Width, h = format.Height;
        var (bytesPerLine, sizeImage) = format.PixelFormat == PixelFormats.Yuyv ? (2 * w, 2 * w * h) : (w, w * h * 3 / 2);

        Assert.That(format.IsValid, Is.True);
        Assert.That(format.BytesPerLine, Is.EqualTo(bytesPerLine));
        Assert.That(format.SizeImage, Is.EqualTo(sizeImage));
    }

    [TestCaseSource(nameof(MenuFormats))]
    public void Planes_are_contiguous_and_add_up_to_the_image(FrameFormat format)
    {
        uint offset = 0;
        for (var plane = 0; plane < format.PlaneCount; plane++)
        {
            Assert.That(format.PlaneOffset(plane), Is.EqualTo(offset), $"plane {plane} offset");
            Assert.That(format.PlaneSize(plane), Is.EqualTo(format.PlaneBytesPerLine(plane) * format.PlaneRows(plane)));
            offset += format.PlaneSize(plane);
        }

        Assert.That(offset, Is.EqualTo(format.SizeImage));
    }

    [Test]
    public void Plane_layout_of_640x480()
    {
        var nv12 = new FrameFormat(PixelFormats.Nv12, 640, 480);
        var yu12 = new FrameFormat(PixelFormats.Yu12, 640, 480);
        var yuyv = new FrameFormat(PixelFormats.Yuyv, 640, 480);

        Assert.That((yuyv.PlaneCount, nv12.PlaneCount, yu12.PlaneCount), Is.EqualTo((1, 2, 3)));
        Assert.That((nv12.PlaneOffset(1), nv12.PlaneSize(1), nv12.PlaneBytesPerLine(1), nv12.PlaneRows(1)),
            Is.EqualTo((307200u, 153600u, 640u, 240u)));
        Assert.That((yu12.PlaneOffset(1), yu12.PlaneOffset(2), yu12.PlaneSize(2), yu12.PlaneBytesPerLine(2)),
            Is.EqualTo((307200u, 384000u, 76800u, 320u)));
        Assert.That(yu12.SizeImage, Is.EqualTo(460800u));
        Assert.That(yuyv.SizeImage, Is.EqualTo(614400u));
    }

    [TestCase(PixelFormats.Yuyv, 0u, 480u)]
    [TestCase(PixelFormats.Yuyv, 641u, 480u)]
    [TestCase(PixelFormats.Nv12, 640u, 479u)]
    [TestCase(PixelFormats.Yu12, 65536u, 65536u)]
    [TestCase(0x47504A4Du, 640u, 480u)]
    public void Unrenderable_formats_are_not_valid(uint pixelFormat, uint width, uint height)
    {
        Assert.That(new FrameFormat(pixelFormat, width, height).IsValid, Is.False);
    }

    [Test]
    public void Sizes_that_do_not_fit_32_bits_throw_instead_of_wrapping()
    {
        var huge = new FrameFormat(PixelFormats.Yuyv, uint.MaxValue - 1, uint.MaxValue - 1);
        Assert.That(() => huge.SizeImage, Throws.TypeOf<OverflowException>());
        Assert.That(() => huge.BytesPerLine, Throws.TypeOf<OverflowException>());
        Assert.That(() => new FrameFormat(PixelFormats.Nv12, 65536, 65536).SizeImage, Throws.TypeOf<OverflowException>());
    }

    [Test]
    public void Unknown_fourccs_and_planes_throw()
    {
        Assert.That(() => new FrameFormat(0, 640, 480).SizeImage, Throws.TypeOf<NotSupportedException>());
        Assert.That(() => new FrameFormat(PixelFormats.Nv12, 640, 480).PlaneSize(2), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => new FrameFormat(PixelFormats.Yuyv, 640, 480).PlaneOffset(-1), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Formats_print_fourcc_and_size()
    {
        Assert.That(new FrameFormat(PixelFormats.Nv12, 1920, 1080).ToString(), Is.EqualTo("NV12 1920x1080"));
    }
}
