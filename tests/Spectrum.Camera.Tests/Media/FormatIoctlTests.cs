using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// ENUM_FMT, G/S/TRY_FMT, ENUM_FRAMESIZES and ENUM_FRAMEINTERVALS over the default menu (YUYV, NV12, YU12 at 320x240,
/// 640x480, 1280x720, 1920x1080; 30 and 15 fps), with the probes v4l2-compliance, GStreamer and Firefox send.
/// </summary>
public sealed class FormatIoctlTests : MediaTestBase
{
    [Test]
    public void Enum_fmt_lists_the_three_formats_in_menu_order_then_EINVAL()
    {
        (uint Fourcc, string Description)[] expected = [(Yuyv, "YUYV 4:2:2"), (Nv12, "Y/UV 4:2:0"), (Yu12, "Planar YUV 4:2:0")];
        for (var i = 0u; i < expected.Length; i++)
        {
            var answer = H.IoctlOk(Session, EnumFmt, FmtDesc(i), FmtDescSize);
            Assert.That(answer, Has.Length.EqualTo(FmtDescSize));
            Assert.That(U32(answer, 0), Is.EqualTo(i), "index");
            Assert.That(U32(answer, 4), Is.EqualTo(V4l2.BufTypeVideoCapture), "type is not modified");
            Assert.That(U32(answer, 8), Is.Zero, "flags");
            Assert.That(CString(answer.AsSpan(12), 32), Is.EqualTo(expected[i].Description));
            Assert.That(U32(answer, 44), Is.EqualTo(expected[i].Fourcc), "pixelformat");
            AssertZeroOutside(answer, "v4l2_fmtdesc", (0, 8), (12, 32), (44, 4));
        }

        Assert.That(H.Ioctl(Session, EnumFmt, FmtDesc(3), FmtDescSize).Status, Is.EqualTo(EINVAL), "index past the end");
        Assert.That(H.Ioctl(Session, EnumFmt, FmtDesc(0xFFFFFFFF), FmtDescSize).Status, Is.EqualTo(EINVAL));
    }

    [TestCase(0u)]
    [TestCase(V4l2.BufTypeVideoOutput)]
    [TestCase(V4l2.BufTypeVideoCaptureMplane)]
    [TestCase(0xFFFFFFFFu)]
    public void Every_format_ioctl_refuses_a_type_other_than_video_capture(uint type)
    {
        Assert.Multiple(() =>
        {
            Assert.That(H.Ioctl(Session, EnumFmt, FmtDesc(0, type), FmtDescSize).Status, Is.EqualTo(EINVAL), "ENUM_FMT");
            Assert.That(H.Ioctl(Session, GFmt, Format(640, 480, Yuyv, type), FormatSize).Status, Is.EqualTo(EINVAL), "G_FMT");
            Assert.That(H.Ioctl(Session, TryFmt, Format(640, 480, Yuyv, type), FormatSize).Status, Is.EqualTo(EINVAL), "TRY_FMT");
            Assert.That(H.Ioctl(Session, SFmt, Format(1280, 720, Nv12, type), FormatSize).Status, Is.EqualTo(EINVAL), "S_FMT");
        });
        AssertFormat(H.IoctlOk(Session, GFmt, Format(0, 0, 0), FormatSize), Yuyv, 640, 480);
    }

    [Test]
    public void G_fmt_answers_the_default_yuyv_640x480_whatever_the_request_holds()
    {
        var request = Format(1920, 1080, Nv12);
        request.AsSpan(24).Fill(0x5A); // garbage in every other field and the rest of the union
        AssertFormat(H.IoctlOk(Session, GFmt, request, FormatSize), Yuyv, 640, 480);
    }

    [TestCase("YUYV", 320u, 240u)]
    [TestCase("NV12", 640u, 480u)]
    [TestCase("YU12", 1280u, 720u)]
    [TestCase("NV12", 1920u, 1080u)]
    public void Try_fmt_returns_a_menu_format_unchanged_and_changes_nothing(string fourcc, uint width, uint height)
    {
        var pixelFormat = Fourcc(fourcc);
        AssertFormat(H.IoctlOk(Session, TryFmt, Format(width, height, pixelFormat), FormatSize), pixelFormat, width, height);
        AssertFormat(H.IoctlOk(Session, GFmt, Format(0, 0, 0), FormatSize), Yuyv, 640, 480);
    }

    // v4l2-compliance and GStreamer probe sizes; Firefox probes sizes off the menu and keeps only exact answers.
    [TestCase(0u, 0u, 320u, 240u)]
    [TestCase(1u, 1u, 320u, 240u)]
    [TestCase(0xFFFFFFFFu, 0xFFFFFFFFu, 1920u, 1080u)]
    [TestCase(32768u, 32768u, 1920u, 1080u)]
    [TestCase(0xFFFFFFFFu, 1u, 1920u, 1080u)]
    [TestCase(1u, 0xFFFFFFFFu, 1920u, 1080u)]
    [TestCase(352u, 288u, 320u, 240u)]
    [TestCase(800u, 600u, 640u, 480u)]
    [TestCase(1440u, 1080u, 1920u, 1080u)]
    public void Try_and_s_fmt_adjust_any_size_to_the_nearest_menu_size(uint width, uint height, uint expectedWidth, uint expectedHeight)
    {
        AssertFormat(H.IoctlOk(Session, TryFmt, Format(width, height, Nv12), FormatSize), Nv12, expectedWidth, expectedHeight);
        AssertFormat(H.IoctlOk(Session, SFmt, Format(width, height, Nv12), FormatSize), Nv12, expectedWidth, expectedHeight);
        AssertFormat(H.IoctlOk(Session, GFmt, Format(0, 0, 0), FormatSize), Nv12, expectedWidth, expectedHeight);
    }

    [TestCase("MJPG")]
    [TestCase("RGB3")]
    [TestCase("\0\0\0\0")]
    public void An_unknown_fourcc_becomes_the_first_menu_format(string fourcc)
    {
        AssertFormat(H.IoctlOk(Session, TryFmt, Format(1280, 720, Fourcc(fourcc)), FormatSize), Yuyv, 1280, 720);
        AssertFormat(H.IoctlOk(Session, SFmt, Format(1280, 720, Fourcc(fourcc)), FormatSize), Yuyv, 1280, 720);
    }

    [Test]
    public void S_fmt_is_device_wide_and_seen_by_every_session()
    {
        var other = H.OpenSession();
        AssertFormat(H.IoctlOk(Session, SFmt, Format(1920, 1080, Yu12), FormatSize), Yu12, 1920, 1080);
        AssertFormat(H.IoctlOk(other, GFmt, Format(0, 0, 0), FormatSize), Yu12, 1920, 1080);
    }

    [Test]
    public void S_fmt_of_another_format_is_EBUSY_while_buffers_are_allocated_and_the_same_format_is_fine()
    {
        AssertFormat(H.IoctlOk(Session, SFmt, Format(640, 480, Nv12), FormatSize), Nv12, 640, 480);
        Assert.That(U32(H.IoctlOk(Session, ReqBufs, RequestBuffers(2), RequestBuffersSize), 0), Is.EqualTo(2));

        var other = H.OpenSession();
        Assert.That(H.Ioctl(Session, SFmt, Format(1280, 720, Nv12), FormatSize).Status, Is.EqualTo(EBUSY), "another size");
        Assert.That(H.Ioctl(Session, SFmt, Format(640, 480, Yuyv), FormatSize).Status, Is.EqualTo(EBUSY), "another fourcc");
        Assert.That(H.Ioctl(other, SFmt, Format(320, 240, Yu12), FormatSize).Status, Is.EqualTo(EBUSY), "from another session");
        AssertFormat(H.IoctlOk(Session, SFmt, Format(640, 480, Nv12), FormatSize), Nv12, 640, 480);
        AssertFormat(H.IoctlOk(other, SFmt, Format(650, 470, Nv12), FormatSize), Nv12, 640, 480);
        AssertFormat(H.IoctlOk(Session, TryFmt, Format(1280, 720, Yu12), FormatSize), Yu12, 1280, 720);

        Assert.That(U32(H.IoctlOk(Session, ReqBufs, RequestBuffers(0), RequestBuffersSize), 0), Is.Zero);
        AssertFormat(H.IoctlOk(other, SFmt, Format(1280, 720, Yu12), FormatSize), Yu12, 1280, 720);
    }

    [Test]
    public void Enum_framesizes_lists_the_discrete_menu_sizes_for_each_format_then_EINVAL()
    {
        (uint W, uint H)[] sizes = [(320, 240), (640, 480), (1280, 720), (1920, 1080)];
        foreach (var format in new[] { Yuyv, Nv12, Yu12 })
        {
            for (var i = 0u; i < sizes.Length; i++)
            {
                var answer = H.IoctlOk(Session, EnumFrameSizes, FrmSizeEnum(i, format), FrmSizeEnumSize);
                Assert.That(answer, Has.Length.EqualTo(FrmSizeEnumSize));
                Assert.That(U32(answer, 0), Is.EqualTo(i));
                Assert.That(U32(answer, 4), Is.EqualTo(format));
                Assert.That(U32(answer, 8), Is.EqualTo(V4l2.FrmSizeTypeDiscrete));
                Assert.That((U32(answer, 12), U32(answer, 16)), Is.EqualTo(sizes[i]));
                AssertZeroOutside(answer, "v4l2_frmsizeenum", (0, 20));
            }

            Assert.That(H.Ioctl(Session, EnumFrameSizes, FrmSizeEnum(4, format), FrmSizeEnumSize).Status, Is.EqualTo(EINVAL));
        }

        Assert.That(H.Ioctl(Session, EnumFrameSizes, FrmSizeEnum(0, Fourcc("MJPG")), FrmSizeEnumSize).Status, Is.EqualTo(EINVAL));
        Assert.That(H.Ioctl(Session, EnumFrameSizes, FrmSizeEnum(0xFFFFFFFF, Yuyv), FrmSizeEnumSize).Status, Is.EqualTo(EINVAL));
    }

    [Test]
    public void Enum_frameintervals_lists_30_then_15_fps_for_menu_sizes_only()
    {
        foreach (var (w, h) in new (uint, uint)[] { (320, 240), (1920, 1080) })
        {
            foreach (var (index, denominator) in new (uint, uint)[] { (0, 30), (1, 15) })
            {
                var answer = H.IoctlOk(Session, EnumFrameIntervals, FrmIvalEnum(index, Nv12, w, h), FrmIvalEnumSize);
                Assert.That(answer, Has.Length.EqualTo(FrmIvalEnumSize));
                Assert.That(U32(answer, 0), Is.EqualTo(index));
                Assert.That(U32(answer, 4), Is.EqualTo(Nv12));
                Assert.That((U32(answer, 8), U32(answer, 12)), Is.EqualTo((w, h)));
                Assert.That(U32(answer, 16), Is.EqualTo(V4l2.FrmSizeTypeDiscrete));
                Assert.That((U32(answer, 20), U32(answer, 24)), Is.EqualTo((1u, denominator)), "discrete time per frame");
                AssertZeroOutside(answer, "v4l2_frmivalenum", (0, 28));
            }

            Assert.That(H.Ioctl(Session, EnumFrameIntervals, FrmIvalEnum(2, Nv12, w, h), FrmIvalEnumSize).Status, Is.EqualTo(EINVAL));
        }

        Assert.Multiple(() =>
        {
            Assert.That(H.Ioctl(Session, EnumFrameIntervals, FrmIvalEnum(0, Nv12, 800, 600), FrmIvalEnumSize).Status, Is.EqualTo(EINVAL));
            Assert.That(H.Ioctl(Session, EnumFrameIntervals, FrmIvalEnum(0, Nv12, 0, 0), FrmIvalEnumSize).Status, Is.EqualTo(EINVAL));
            Assert.That(H.Ioctl(Session, EnumFrameIntervals, FrmIvalEnum(0, Fourcc("MJPG"), 640, 480), FrmIvalEnumSize).Status,
                Is.EqualTo(EINVAL));
            Assert.That(H.Ioctl(Session, EnumFrameIntervals, FrmIvalEnum(0xFFFFFFFF, Yuyv, 640, 480), FrmIvalEnumSize).Status,
                Is.EqualTo(EINVAL));
        });
    }

    [Test]
    public void Short_payloads_are_EINVAL()
    {
        Assert.Multiple(() =>
        {
            Assert.That(H.Ioctl(Session, GFmt, new byte[FormatSize - 1], FormatSize).Status, Is.EqualTo(EINVAL));
            Assert.That(H.Ioctl(Session, SFmt, Format(1920, 1080, Nv12).AsSpan(0, 100), FormatSize).Status, Is.EqualTo(EINVAL));
            Assert.That(H.Ioctl(Session, EnumFmt, FmtDesc(0).AsSpan(0, 8), FmtDescSize).Status, Is.EqualTo(EINVAL));
            Assert.That(H.Ioctl(Session, EnumFrameSizes, [], FrmSizeEnumSize).Status, Is.EqualTo(EINVAL));
        });
        AssertFormat(H.IoctlOk(Session, GFmt, Format(0, 0, 0), FormatSize), Yuyv, 640, 480);
    }

    [Test]
    public void A_format_split_across_many_descriptors_reads_as_one_byte_stream()
    {
        var (status, answer) = H.Ioctl(Session, SFmt, Format(1280, 720, Yu12), FormatSize, readableSplit: 37);
        Assert.That(status, Is.Zero);
        AssertFormat(answer, Yu12, 1280, 720);
    }
}
