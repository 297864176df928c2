using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>
/// Our conversions and scalings against ffmpeg's (swscale, <c>flags=area</c>) on its testsrc2 picture, whose sharp
/// colour edges, gradients and text make every rounding and siting difference show.
/// </summary>
/// <remarks>
/// <para>ffmpeg is asked for planar output (see <see cref="FfmpegFixture.Compare"/>); its unscaled packed YUYV output
/// would be off by up to 56 levels at testsrc2's colour edges for 4:2:0 input.</para>
/// <para>Tolerances. Conversions without scaling: at most 1 level per sample (measured: 0, ffmpeg's 4:2:2 to 4:2:0
/// average and 4:2:0 to 4:2:2 interpolation round exactly as ours). Scaling: at most 3 levels and at least 55 dB
/// PSNR per plane (measured: at most 1 shrinking and 2 enlarging, 64 dB or more): both are area filters (bilinear
/// enlarging) and differ only in arithmetic: our weights are in 1/256 with one rounding at the end, swscale's in
/// 1/16384 with a rounded intermediate between its passes.</para>
/// </remarks>
public class FfmpegComparisonTests : FfmpegFixture
{
    private const int ConversionTolerance = 1;
    private const int ScalingTolerance = 3;
    private const double ScalingPsnrFloor = 55;

    // Camera size -> guest size: the menu's shrinks (16:9 and 4:3 crops included) and one enlargement.
    private static readonly (int W, int H, int GuestW, int GuestH)[] Scalings =
    [
        (1920, 1080, 1280, 720), (1920, 1080, 640, 480), (1920, 1080, 320, 240), (1280, 720, 640, 480), (1280, 720, 320, 240),
        (640, 480, 320, 240), (320, 240, 640, 480),
    ];

    private readonly Dictionary<(uint, int, int), byte[]> _pictures = [];

    public static IEnumerable<TestCaseData> Pairs() =>
        from source in ImagingTestData.RawSources
        from guest in ImagingTestData.GuestFormats
        select new TestCaseData(source, guest).SetArgDisplayNames(PixelFormats.ToFourccString(source), PixelFormats.ToFourccString(guest));

    [TestCaseSource(nameof(Pairs))]
    public void Conversions_match_ffmpeg_within_one_level(uint source, uint guest)
    {
        // 640x480 tight, and 646x482 (no multiple of any vector width) repacked with odd padded strides.
        foreach (var (w, h, padding) in new[] { (640, 480, 0), (646, 482, 37) })
        {
            var comparison = Compare(source, w, h, padding, guest, w, h);
            Assert.That(comparison.MaxDifference, Has.All.LessThanOrEqualTo(ConversionTolerance), $"{w}x{h}: {comparison}");
        }
    }

    [TestCaseSource(nameof(Pairs))]
    public void Scaling_matches_ffmpeg_area_within_the_documented_bound(uint source, uint guest)
    {
        foreach (var (w, h, gw, gh) in Scalings)
        {
            var comparison = Compare(source, w, h, 0, guest, gw, gh);
            var what = $"{w}x{h} -> {gw}x{gh}: {comparison}";
            Assert.That(comparison.MaxDifference, Has.All.LessThanOrEqualTo(ScalingTolerance), what);
            Assert.That(comparison.Psnr, Has.All.GreaterThanOrEqualTo(ScalingPsnrFloor), what);
        }
    }

    private PlaneComparison Compare(uint source, int w, int h, int padding, uint guest, int gw, int gh)
    {
        var picture = Picture(source, w, h);
        var host = ImagingTestData.Host(source, w, h, padding);
        var frame = Repack(picture, HostFrameFormat.Packed(source, w, h), host);

        var format = new FrameFormat(guest, (uint)gw, (uint)gh);
        using var converter = new FrameConverter(host, format);
        var ours = new byte[format.SizeImage];
        Assert.That(converter.Convert(frame, ours), Is.EqualTo(ConversionResult.Converted));

        return Compare(format, planar => Ffmpeg.Convert(picture, FfmpegTool.PixelFormatName(source), w, h, converter.Crop, planar, gw, gh, "area"), ours);
    }

    private byte[] Picture(uint fourcc, int w, int h)
    {
        if (!_pictures.TryGetValue((fourcc, w, h), out var picture))
        {
            picture = Ffmpeg.TestPicture(FfmpegTool.PixelFormatName(fourcc), w, h);
            _pictures[(fourcc, w, h)] = picture;
        }

        return picture;
    }

    // The same picture in another host layout (padded strides, planes apart), padding filled with noise.
    private static byte[] Repack(byte[] tight, HostFrameFormat tightFormat, HostFrameFormat format)
    {
        var from = ImageLayout.ForHost(tightFormat);
        var to = ImageLayout.ForHost(format);
        var frame = ImagingTestData.RandomBytes(to.RequiredLength, 7);
        for (var plane = 0; plane < from.PlaneCount; plane++)
        {
            var (source, target) = (from.Plane(plane), to.Plane(plane));
            for (var row = 0; row < source.Rows; row++)
            {
                source.Row(tight, row, 0, source.RowBytes).CopyTo(target.Row(frame.AsSpan(), row, 0, target.RowBytes));
            }
        }

        return frame;
    }
}
