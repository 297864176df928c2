using System.Runtime.Intrinsics.X86;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>
/// The scaler vectorised in both passes (<see cref="VectorScaledConverter"/>) against the scaler's scalar reference, bit
/// for bit, at the sizes the menu needs from real camera modes, raw and decoded MJPEG, at every SIMD level and with
/// both Vector256 gathers (16-byte shuffles, and AVX-512 VBMI's byte permute where this machine has it); which
/// conversions it takes; and the rule that keeps its loads inside the bytes a row may be read at.
/// </summary>
public class VectorScalerTests
{
    // Camera size -> guest size: every shrink the default menu needs from 1080p, 720p and 480p cameras (16:9 to 4:3
    // crops included), an enlargement, and sizes that are no multiple of any vector width.
    private static readonly (int W, int H, int GuestW, int GuestH)[] Sizes =
    [
        (1920, 1080, 1280, 720), (1920, 1080, 640, 480), (1920, 1080, 320, 240), (1280, 720, 640, 480), (1280, 720, 320, 240),
        (640, 480, 320, 240), (320, 240, 640, 480), (646, 482, 430, 322), (1920, 1080, 64, 32),
    ];

    private static bool[] Gathers => Avx512Vbmi.VL.IsSupported ? [false, true] : [false];

    [TestCaseSource(typeof(SimdBitExactnessTests), nameof(SimdBitExactnessTests.RawPairs))]
    public void Menu_downscales_are_exactly_the_reference_at_every_level_with_either_gather(uint source, uint guest)
    {
        var seed = 0;
        foreach (var (w, h, gw, gh) in Sizes)
        {
            // Padded, odd strides for one size: loads must not depend on rows being packed.
            var host = ImagingTestData.Host(source, w, h, w == 646 ? 37 : 0);
            var layout = ImageLayout.ForHost(host);
            var destination = ImageLayout.ForGuest(new FrameFormat(guest, (uint)gw, (uint)gh));
            var frame = ImagingTestData.RandomBytes(layout.RequiredLength, ++seed);
            var crop = CropRegion.Centered(w, h, gw, gh);
            var expected = new byte[destination.RequiredLength];
            ScalarReferenceScaler.Convert(layout, frame, crop, destination, expected);

            foreach (var level in SimdCapabilities.Available)
            {
                foreach (var permute in Gathers)
                {
                    var converter = VectorScaledConverter.TryCreate(layout, crop, destination, level, permute);
                    if (converter is null)
                    {
                        // Of the raw layouts, only 4:2:0 sources to packed YUYV are left to the general scaler.
                        Assert.That(layout.ChromaShiftY == 1 && destination.Kind == ImageKind.Yuyv, $"{host} -> {gw}x{gh} was refused");
                        continue;
                    }

                    var actual = new byte[destination.RequiredLength];
                    converter.Convert(frame, actual);
                    Assert.That(ImagingTestData.FirstDifference(expected, actual), Is.Null,
                        $"{host} -> {PixelFormats.ToFourccString(guest)} {gw}x{gh} (crop {crop}) at {level}, byte permute {permute}");
                }
            }
        }
    }

    [TestCase("I422")]
    [TestCase("I420")]
    [TestCase("I444")]
    public void Decoded_jpeg_downscales_are_exactly_the_reference_at_every_level_with_either_gather(string kindName)
    {
        var kind = Enum.Parse<ImageKind>(kindName);
        // Full-range planes as libjpeg-turbo decodes them, to the 4:2:0 guest formats (the vertical pass maps the range).
        foreach (var guest in new[] { PixelFormats.Nv12, PixelFormats.Yu12 })
        {
            foreach (var (w, h, gw, gh) in Sizes.Where(s => s.GuestW < s.W))
            {
                var layout = ImageLayout.ForPlanar(kind, w, h, fullRange: true);
                var destination = ImageLayout.ForGuest(new FrameFormat(guest, (uint)gw, (uint)gh));
                var frame = ImagingTestData.RandomBytes(layout.RequiredLength, w + gw);
                var crop = CropRegion.Centered(w, h, gw, gh);
                var expected = new byte[destination.RequiredLength];
                ScalarReferenceScaler.Convert(layout, frame, crop, destination, expected);
                foreach (var level in SimdCapabilities.Available)
                {
                    foreach (var permute in Gathers)
                    {
                        var actual = new byte[destination.RequiredLength];
                        VectorScaledConverter.TryCreate(layout, crop, destination, level, permute)!.Convert(frame, actual);
                        Assert.That(ImagingTestData.FirstDifference(expected, actual), Is.Null,
                            $"{kind} {w}x{h} -> {PixelFormats.ToFourccString(guest)} {gw}x{gh} at {level}, byte permute {permute}");
                    }
                }
            }
        }
    }

    [Test]
    public void Raw_frames_and_jpeg_planes_to_420_take_the_vector_scaler_and_the_rest_the_general_one()
    {
        var crop = new CropRegion(0, 0, 192, 108);
        IImageConverter Create(ImageLayout source, uint guest) =>
            IImageConverter.Create(source, crop, ImageLayout.ForGuest(new FrameFormat(guest, 128, 72)), SimdCapabilities.Best);

        Assert.Multiple(() =>
        {
            foreach (var source in ImagingTestData.RawSources)
            {
                var layout = ImageLayout.ForHost(HostFrameFormat.Packed(source, 192, 108));
                foreach (var guest in ImagingTestData.GuestFormats)
                {
                    var fourcc = $"{PixelFormats.ToFourccString(source)} -> {PixelFormats.ToFourccString(guest)}";
                    var general = layout.ChromaShiftY == 1 && guest == PixelFormats.Yuyv;
                    Assert.That(Create(layout, guest), general ? Is.InstanceOf<ScaledConverter>() : Is.InstanceOf<VectorScaledConverter>(), fourcc);
                }
            }

            // Decoded JPEG planes (full range) to 4:2:0 guests; to YUYV, whose rows mix luma and chroma, and greyscale
            // JPEGs (neutral chroma), the general scaler.
            var jpeg = ImageLayout.ForPlanar(ImageKind.I422, 192, 108, fullRange: true);
            Assert.That(Create(jpeg, PixelFormats.Nv12), Is.InstanceOf<VectorScaledConverter>());
            Assert.That(Create(jpeg, PixelFormats.Yu12), Is.InstanceOf<VectorScaledConverter>());
            Assert.That(Create(jpeg, PixelFormats.Yuyv), Is.InstanceOf<ScaledConverter>());
            Assert.That(Create(ImageLayout.ForPlanar(ImageKind.Gray, 192, 108, fullRange: true), PixelFormats.Nv12), Is.InstanceOf<ScaledConverter>());
        });
    }

    [Test]
    public void Every_load_stays_inside_the_bytes_its_row_may_be_read_at()
    {
        // Tables for the luma and chroma slots of planar, semi-planar and packed rows at the menu's ratios, each
        // allowed to read only [start, end) of its row, where end is the last tap's byte + 1: no load may begin before
        // start or end past end, and every shuffle or permute index must address the bytes it loaded.
        var forms = new HashSet<string>();
        foreach (var (from, to) in new[] { (1920, 1280), (1440, 640), (1440, 320), (960, 640), (960, 320), (640, 320), (320, 640), (100, 7) })
        {
            foreach (var (step, offset, start) in new[] { (1, 0, 0), (2, 1, 37), (4, 3, 5) })
            {
                var axis = FilterAxis.Create(from, to);
                var taps = Enumerable.Range(0, to).Select(x => Enumerable.Range(0, axis.Taps)
                    .Select(t => (start + ((axis.Starts[x] + t) * step) + offset, axis.WeightsOf(x)[t])).ToArray()).ToArray();
                var readable = (Start: taps.SelectMany(t => t).Min(t => t.Item1), End: taps.SelectMany(t => t).Max(t => t.Item1) + 1);
                foreach (var level in SimdCapabilities.Available)
                {
                    foreach (var permute in Gathers)
                    {
                        var table = ShuffleFilterTable.Create(taps, new int[to], [readable], level, permute);
                        forms.Add(table.BytePermute ? $"permute {table.PermuteWindow}" : $"{table.Level} shared {table.SharedLoads}");
                        var what = $"{from}->{to} step {step} at {level}, byte permute {permute}";
                        var loads = table.Loads128.Concat(table.Loads256.SelectMany(l => new[] { l.Low, l.High }));
                        Assert.That(loads.Select(l => l.Base), Has.All.InRange(readable.Start, readable.End - 16), what);
                        Assert.That(table.PermuteBases, Has.All.InRange(readable.Start, readable.End - table.PermuteWindow), what);
                        var masks = table.Masks128.SelectMany(m => Enumerable.Range(0, 16).Select(i => m[i]))
                            .Concat(table.Masks256.SelectMany(m => Enumerable.Range(0, 32).Select(i => m[i])));
                        Assert.That(masks, Has.All.Matches<byte>(i => i < 16 || i == 0x80), what);
                        Assert.That(table.PermuteIndices.SelectMany(m => Enumerable.Range(0, 32).Select(i => m[i])), Has.All.LessThan(64), what);
                        Assert.That(table.WidePermuteIndices.SelectMany(m => Enumerable.Range(0, 32).Select(i => m[i])), Has.All.LessThan(128), what);
                    }
                }
            }
        }

        // Every gather the kernels have was checked.
        Assert.That(forms, Is.SupersetOf(SimdCapabilities.Available.Where(l => l is SimdLevel.Vector128 or SimdLevel.Vector256)
            .SelectMany(l => new[] { $"{l} shared True", $"{l} shared False" })
            .Concat(Avx512Vbmi.IsSupported ? ["permute 64", "permute 128"] : Array.Empty<string>())));
    }
}
