using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Frames;

public class PixelFormatsTests
{
    [Test]
    public void Fourcc_constants_have_the_videodev2_values()
    {
        // v4l2_fourcc(a,b,c,d) = a | b<<8 | c<<16 | d<<24, checked against the literal numbers videodev2.h yields.
        Assert.That(PixelFormats.Yuyv, Is.EqualTo(0x56595559u));
        Assert.That(PixelFormats.Nv12, Is.EqualTo(0x3231564Eu));
        Assert.That(PixelFormats.Yu12, Is.EqualTo(0x32315559u));
        Assert.That(PixelFormats.FromChars('Y', 'U', '1', '2'), Is.EqualTo(PixelFormats.Yu12));
    }

    [TestCase(PixelFormats.Yuyv, "YUYV 4:2:2")]
    [TestCase(PixelFormats.Nv12, "Y/UV 4:2:0")]
    [TestCase(PixelFormats.Yu12, "Planar YUV 4:2:0")]
    public void Describe_matches_the_kernel_v4l_fill_fmtdesc_table(uint pixelFormat, string expected)
    {
        var description = PixelFormats.Describe(pixelFormat);
        Assert.That(description, Is.EqualTo(expected));
        Assert.That(description.Length, Is.LessThanOrEqualTo(31), "must fit v4l2_fmtdesc.description[32] with its NUL");
    }

    [Test]
    public void Describe_of_an_unknown_format_is_its_fourcc()
    {
        Assert.That(PixelFormats.Describe(PixelFormats.FromChars('M', 'J', 'P', 'G')), Is.EqualTo("MJPG"));
    }

    [Test]
    public void Only_the_three_renderable_formats_are_supported()
    {
        Assert.That(PixelFormats.Supported, Is.EqualTo(new[] { PixelFormats.Yuyv, PixelFormats.Nv12, PixelFormats.Yu12 }));
        Assert.That(PixelFormats.IsSupported(PixelFormats.FromChars('M', 'J', 'P', 'G')), Is.False);
        Assert.That(PixelFormats.IsSupported(0), Is.False);
    }

    [TestCase("YUYV")]
    [TestCase("NV12")]
    [TestCase("YU12")]
    [TestCase("Y16 ")]
    public void Fourcc_strings_round_trip(string text)
    {
        Assert.That(PixelFormats.TryParseFourcc(text, out var value), Is.True);
        Assert.That(PixelFormats.ToFourccString(value), Is.EqualTo(text));
        Assert.That(PixelFormats.ParseFourcc(text), Is.EqualTo(value));
    }

    [TestCase("")]
    [TestCase("YUY")]
    [TestCase("YUYVX")]
    [TestCase("YU\u00e912")]
    [TestCase("YU\t2")]
    public void Bad_fourcc_strings_are_rejected(string text)
    {
        Assert.That(PixelFormats.TryParseFourcc(text, out _), Is.False);
        Assert.That(() => PixelFormats.ParseFourcc(text), Throws.TypeOf<FormatException>());
    }

    [Test]
    public void Garbage_fourccs_print_readably()
    {
        Assert.That(PixelFormats.ToFourccString(0), Is.EqualTo("...."));
        Assert.That(PixelFormats.ToFourccString(PixelFormats.Yuyv | 0x8000_0000u), Is.EqualTo("YUYV-BE"));
    }
}
