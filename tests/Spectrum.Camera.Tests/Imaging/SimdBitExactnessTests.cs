using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>
/// The fast paths (every SIMD level this machine has, scalar included) against the scalar references, bit for
/// bit, for every source and guest format, unscaled, cropped, shrunk and enlarged, with padded odd strides and
/// widths that are not a multiple of any vector width.
/// </summary>
public class SimdBitExactnessTests
{
    // (source width, height) -> (guest width, height): unscaled, crop only, shrink, shrink with crop, enlarge.
    private static readonly (int W, int H, int GuestW, int GuestH)[] Sizes =
    [
        (2, 2, 2, 2), (34, 6, 34, 6), (66, 10, 66, 10), (130, 4, 130, 4), (98, 8, 98, 8),
        (40, 8, 30, 8), (32, 20, 32, 12),
        (96, 54, 64, 36), (96, 72, 32, 24), (130, 66, 66, 34), (64, 48, 62, 46),
        (192, 108, 32, 24), (100, 30, 60, 40),
        (32, 24, 66, 50), (20, 12, 64, 36), (64, 20, 32, 40),
    ];

    private static readonly int[] Paddings = [0, 3, 37];

    private static readonly ImageKind[] PlanarKinds = [ImageKind.I420, ImageKind.I422, ImageKind.I444, ImageKind.I440, ImageKind.Gray];

    private static readonly bool[] Ranges = [true, false];

    public static IEnumerable<TestCaseData> RawPairs() =>
        from source in ImagingTestData.RawSources
        from guest in ImagingTestData.GuestFormats
        select new TestCaseData(source, guest).SetArgDisplayNames(PixelFormats.ToFourccString(source), PixelFormats.ToFourccString(guest));

    public static IEnumerable<TestCaseData> PlanarPairs() =>
        from kind in PlanarKinds
        from guest in ImagingTestData.GuestFormats
        from fullRange in Ranges
        select new TestCaseData(kind.ToString(), guest, fullRange)
            .SetArgDisplayNames(kind.ToString(), PixelFormats.ToFourccString(guest), fullRange ? "full" : "limited");

    [TestCaseSource(nameof(RawPairs))]
    public void Raw_camera_formats_convert_exactly_as_the_reference_at_every_simd_level(uint source, uint guest)
    {
        var seed = 0;
        foreach (var (w, h, gw, gh) in Sizes)
        {
            foreach (var padding in Paddings)
            {
                var host = ImagingTestData.Host(source, w, h, padding);
                var format = new FrameFormat(guest, (uint)gw, (uint)gh);
                var layout = ImageLayout.ForHost(host);
                // Random bytes past the last plane too, so reading beyond the frame would show.
                var frame = ImagingTestData.RandomBytes(layout.RequiredLength + 64, ++seed);
                var crop = CropRegion.Centered(w, h, gw, gh);
                var expected = ImagingTestData.Reference(layout, frame, crop, ImageLayout.ForGuest(format));

                foreach (var level in SimdCapabilities.Available)
                {
                    using var converter = new FrameConverter(host, format, level);
                    var actual = new byte[format.SizeImage];
                    Assert.That(converter.Convert(frame.AsSpan(0, layout.RequiredLength), actual), Is.EqualTo(ConversionResult.Converted));
                    var difference = ImagingTestData.FirstDifference(expected, actual);
                    Assert.That(difference, Is.Null, $"{host} padding {padding} -> {format} (crop {crop}) at {level}");
                }
            }
        }
    }

    [TestCaseSource(nameof(PlanarPairs))]
    public void Decoded_jpeg_layouts_convert_exactly_as_the_reference_at_every_simd_level(string kindName, uint guest, bool fullRange)
    {
        var kind = Enum.Parse<ImageKind>(kindName);
        var seed = 1000;
        foreach (var (w, h, gw, gh) in Sizes)
        {
            var layout = ImageLayout.ForPlanar(kind, w, h, fullRange);
            var destination = ImageLayout.ForGuest(new FrameFormat(guest, (uint)gw, (uint)gh));
            var frame = ImagingTestData.RandomBytes(layout.RequiredLength, ++seed);
            var crop = CropRegion.Centered(w, h, gw, gh);
            var expected = ImagingTestData.Reference(layout, frame, crop, destination);

            foreach (var level in SimdCapabilities.Available)
            {
                var actual = new byte[destination.RequiredLength];
                IImageConverter.Create(layout, crop, destination, level).Convert(frame, actual);
                var difference = ImagingTestData.FirstDifference(expected, actual);
                Assert.That(difference, Is.Null, $"{kind} {w}x{h} -> {guest:X8} {gw}x{gh} (crop {crop}) at {level}");
            }
        }
    }

    [TestCaseSource(nameof(RawPairs))]
    public void The_unscaled_rules_are_the_scaler_at_ratios_one_two_and_one_half(uint source, uint guest)
    {
        // Ties the two references together: the per-sample chroma rules are exactly the filters at those ratios.
        foreach (var (w, h) in new[] { (34, 6), (40, 8), (130, 4) })
        {
            var layout = ImageLayout.ForHost(ImagingTestData.Host(source, w, h, 3));
            var destination = ImageLayout.ForGuest(new FrameFormat(guest, (uint)w, (uint)h));
            var frame = ImagingTestData.RandomBytes(layout.RequiredLength, w * h);
            var crop = new CropRegion(0, 0, w, h);
            var rules = new byte[destination.RequiredLength];
            var scaler = new byte[destination.RequiredLength];
            ScalarReferenceConverter.Convert(layout, frame, crop, destination, rules);
            ScalarReferenceScaler.Convert(layout, frame, crop, destination, scaler);
            Assert.That(ImagingTestData.FirstDifference(rules, scaler), Is.Null, $"{w}x{h}");
        }
    }

    [Test]
    public void Unscaled_conversions_take_the_fast_row_pipeline_and_scaled_ones_a_scaler()
    {
        var host = ImageLayout.ForHost(HostFrameFormat.Packed(HostPixelFormats.Yuyv, 64, 48));
        var guest = ImageLayout.ForGuest(new FrameFormat(PixelFormats.Nv12, 64, 48));
        var small = ImageLayout.ForGuest(new FrameFormat(PixelFormats.Nv12, 32, 24));
        Assert.That(IImageConverter.Create(host, new CropRegion(0, 0, 64, 48), guest, SimdLevel.Scalar), Is.InstanceOf<UnscaledConverter>());
        Assert.That(IImageConverter.Create(host, new CropRegion(0, 0, 64, 48), small, SimdLevel.Scalar), Is.InstanceOf<VectorScaledConverter>());
    }
}
