using Spectrum.Camera.Host;
using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Tests.Service.Feeds;

/// <summary>What the driver negotiated, checked at open time (<see cref="HostSourceFormat"/>).</summary>
[TestFixture]
public sealed class HostSourceFormatTests
{
    private static readonly FrameRate Fps30 = FrameRate.FromFps(30);

    private static NegotiatedFormat Negotiated(uint fourcc, uint width, uint height, uint stride) =>
        new(fourcc, width, height, stride, stride * height * 2, Fps30);

    [Test]
    public void A_padded_raw_format_keeps_its_stride()
    {
        var format = HostSourceFormat.From(Negotiated(HostPixelFormats.Nv12, 640, 480, 704), out var problem);
        Assert.That(problem, Is.Null);
        Assert.That(format, Is.EqualTo(HostFrameFormat.FromV4l2(HostPixelFormats.Nv12, 640, 480, 704)));
    }

    [Test]
    public void Mjpeg_ignores_the_stride()
    {
        var format = HostSourceFormat.From(Negotiated(HostPixelFormats.Mjpeg, 1280, 720, 0), out var problem);
        Assert.That(problem, Is.Null);
        Assert.That(format, Is.EqualTo(HostFrameFormat.Mjpeg(1280, 720)));
    }

    [TestCase(PixelFormats.Yuyv, 641u, 480u, 1282u, "even")]
    [TestCase(PixelFormats.Yuyv, 640u, 0u, 1280u, "even")]
    [TestCase(PixelFormats.Yuyv, 32768u, 2u, 65536u, "even")]
    [TestCase(PixelFormats.Yuyv, 640u, 480u, 640u, "bytes per line")]
    [TestCase(PixelFormats.Yu12, 640u, 480u, 320u, "bytes per line")]
    [TestCase(0x33424752u, 640u, 480u, 1920u, "does not take")]
    public void A_negotiation_no_converter_takes_is_refused_with_a_reason(uint fourcc, uint width, uint height, uint stride, string reason)
    {
        Assert.That(HostSourceFormat.From(Negotiated(fourcc, width, height, stride), out var problem), Is.Null);
        Assert.That(problem, Does.Contain(reason));
    }
}
