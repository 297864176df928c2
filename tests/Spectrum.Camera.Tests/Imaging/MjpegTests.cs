using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>
/// MJPEG through libjpeg-turbo: real JPEGs from ffmpeg's encoder compared with ffmpeg's own decode, and broken
/// ones that must be dropped and counted without an exception or a crash.
/// </summary>
/// <remarks>
/// Tolerances. The decoded planes: at most 2 levels, at least 60 dB (measured: 1 and 65 dB or more): libjpeg-turbo's
/// accurate integer IDCT and ffmpeg's own IDCT round differently. Decoded, range-mapped, converted and scaled to a
/// guest format: at most 3 levels, at least 45 dB (measured: 2 and 49.7 dB or more): on top of the IDCT, ffmpeg maps
/// full to limited range in its scaler's fixed point, we with exact integer division (RangeCompression).
/// </remarks>
public class MjpegTests : FfmpegFixture
{
    private const int DecodeTolerance = 2;
    private const double DecodePsnrFloor = 60;
    private const int PipelineTolerance = 3;
    private const double PipelinePsnrFloor = 45;

    private static readonly string[] JpegFormats = ["yuvj422p", "yuvj420p"];

    [TestCase("yuvj422p", 640, 480, JpegSubsampling.S422)]
    [TestCase("yuvj420p", 640, 480, JpegSubsampling.S420)]
    [TestCase("yuvj422p", 1280, 720, JpegSubsampling.S422)]
    [TestCase("yuvj420p", 1920, 1080, JpegSubsampling.S420)]
    [TestCase("yuvj444p", 320, 240, JpegSubsampling.S444)]
    [TestCase("yuvj422p", 162, 98, JpegSubsampling.S422)]
    [TestCase("gray", 160, 120, JpegSubsampling.Gray)]
    public void Decoded_planes_match_ffmpegs_own_decode(string pixelFormat, int w, int h, object subsampling)
    {
        var jpeg = Jpeg(pixelFormat, w, h);
        using var decoder = new MjpegDecoder(w, h);
        Assert.That(decoder.Decode(jpeg, out var decoded), Is.EqualTo(ConversionResult.Converted), decoder.LastError);
        Assert.That(decoded, Is.EqualTo((JpegSubsampling)subsampling));

        var layout = decoder.LayoutFor(decoded)!;
        var theirs = Ffmpeg.DecodeJpeg(jpeg, w, h, new CropRegion(0, 0, w, h), pixelFormat, w, h);
        var comparison = PlaneComparison.Of(layout, theirs, decoder.Planes, layout.HasChroma ? 3 : 1);
        Assert.That(comparison.MaxDifference, Has.All.LessThanOrEqualTo(DecodeTolerance), comparison.ToString());
        Assert.That(comparison.Psnr, Has.All.GreaterThanOrEqualTo(DecodePsnrFloor), comparison.ToString());
    }

    [Test]
    public void Mjpeg_frames_convert_to_every_guest_format_and_size_like_ffmpeg([ValueSource(nameof(JpegFormats))] string pixelFormat)
    {
        foreach (var (w, h) in new[] { (640, 480), (1280, 720), (162, 98) })
        {
            var jpeg = Ffmpeg.TestJpeg(pixelFormat, w, h);
            foreach (var guest in ImagingTestData.GuestFormats)
            {
                foreach (var (gw, gh) in new[] { (w & ~1, h & ~1), (320, 240), (640, 480) })
                {
                    var format = new FrameFormat(guest, (uint)gw, (uint)gh);
                    using var converter = new FrameConverter(HostFrameFormat.Mjpeg(w, h), format);
                    var ours = new byte[format.SizeImage];
                    Assert.That(converter.Convert(jpeg, ours), Is.EqualTo(ConversionResult.Converted), converter.LastJpegError);

                    var comparison = Compare(format, planar => Ffmpeg.DecodeJpeg(jpeg, w, h, converter.Crop, planar, gw, gh), ours);
                    var what = $"{pixelFormat} {w}x{h} -> {format}: {comparison}";
                    Assert.That(comparison.MaxDifference, Has.All.LessThanOrEqualTo(PipelineTolerance), what);
                    Assert.That(comparison.Psnr, Has.All.GreaterThanOrEqualTo(PipelinePsnrFloor), what);
                }
            }
        }
    }

    [Test]
    public void A_greyscale_jpeg_gives_neutral_chroma()
    {
        var jpeg = Jpeg("gray", 64, 48);
        var format = new FrameFormat(PixelFormats.Nv12, 64, 48);
        using var converter = new FrameConverter(HostFrameFormat.Mjpeg(64, 48), format);
        var frame = new byte[format.SizeImage];
        Assert.That(converter.Convert(jpeg, frame), Is.EqualTo(ConversionResult.Converted));
        Assert.That(frame.AsSpan((int)format.PlaneOffset(1)).ToArray(), Has.All.EqualTo(128));
        Assert.That(frame.AsSpan(0, (int)format.PlaneSize(0)).ToArray(), Has.All.InRange(16, 235), "limited-range luma");
    }

    [Test]
    public void A_jpeg_without_huffman_tables_decodes_with_the_standard_ones()
    {
        // Many UVC cameras send MJPEG frames without a DHT segment (AVI1 style); the standard tables apply.
        var jpeg = Ffmpeg.TestJpeg("yuvj422p", 160, 120, quality: 3, standardHuffmanTables: true);
        var withoutTables = JpegSurgery.WithoutSegments(jpeg, 0xC4);
        Assert.That(withoutTables, Has.Length.LessThan(jpeg.Length));

        var format = new FrameFormat(PixelFormats.Yuyv, 160, 120);
        using var converter = new FrameConverter(HostFrameFormat.Mjpeg(160, 120), format);
        var expected = new byte[format.SizeImage];
        var actual = new byte[format.SizeImage];
        Assert.That(converter.Convert(jpeg, expected), Is.EqualTo(ConversionResult.Converted));
        Assert.That(converter.Convert(withoutTables, actual), Is.EqualTo(ConversionResult.Converted), converter.LastJpegError);
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void Broken_frames_are_dropped_counted_and_explained()
    {
        var jpeg = Ffmpeg.TestJpeg("yuvj422p", 160, 120);
        var other = Ffmpeg.TestJpeg("yuvj422p", 320, 240);
        var format = new FrameFormat(PixelFormats.Nv12, 160, 120);
        using var converter = new FrameConverter(HostFrameFormat.Mjpeg(160, 120), format);
        var frame = new byte[format.SizeImage];

        var cases = new List<(string Name, byte[] Bytes, ConversionResult Expected)>
        {
            ("zero-length", [], ConversionResult.CorruptJpeg),
            ("not a JPEG (PNG signature)", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13], ConversionResult.CorruptJpeg),
            ("not a JPEG (a raw YUYV frame)", ImagingTestData.RandomBytes(160 * 120 * 2, 3), ConversionResult.CorruptJpeg),
            ("SOI only", [0xFF, 0xD8], ConversionResult.CorruptJpeg),
            ("another size", other, ConversionResult.JpegSizeMismatch),
        };
        foreach (var fraction in new[] { 0.05, 0.25, 0.5, 0.75, 0.95 })
        {
            cases.Add(($"truncated at {fraction:P0}", jpeg[..(int)(jpeg.Length * fraction)], ConversionResult.CorruptJpeg));
        }

        cases.Add(("truncated before EOI", jpeg[..^2], ConversionResult.CorruptJpeg));
        cases.Add(("header only", jpeg[..JpegSurgery.StartOfScan(jpeg)], ConversionResult.CorruptJpeg));
        cases.Add(("scan data zeroed", Zeroed(jpeg, JpegSurgery.StartOfScan(jpeg) + 20, 200), ConversionResult.CorruptJpeg));
        cases.Add(("tables only", JpegSurgery.WithoutSegments([.. jpeg[..JpegSurgery.StartOfScan(jpeg)], 0xFF, 0xD9], 0xC0), ConversionResult.CorruptJpeg));

        foreach (var (name, bytes, expected) in cases)
        {
            Assert.That(converter.Convert(bytes, frame), Is.EqualTo(expected), name);
            TestContext.Out.WriteLine($"{name}: {converter.LastJpegError}");
            Assert.That(converter.LastJpegError, Is.Not.Empty, name);
        }

        Assert.That(converter.DroppedFrames, Is.EqualTo(cases.Count));
        Assert.That(converter.DroppedFramesFor(ConversionResult.JpegSizeMismatch), Is.EqualTo(1));
        Assert.That(converter.DroppedFramesFor(ConversionResult.CorruptJpeg), Is.EqualTo(cases.Count - 1));
        Assert.That(converter.ConvertedFrames, Is.Zero);

        // The decoder is not poisoned: the intact frame still converts.
        Assert.That(converter.Convert(jpeg, frame), Is.EqualTo(ConversionResult.Converted));
        Assert.That(converter.ConvertedFrames, Is.EqualTo(1));
    }

    [Test]
    public void Random_byte_flips_drop_or_convert_but_never_throw()
    {
        var jpeg = Ffmpeg.TestJpeg("yuvj422p", 160, 120);
        var format = new FrameFormat(PixelFormats.Yu12, 160, 120);
        using var converter = new FrameConverter(HostFrameFormat.Mjpeg(160, 120), format);
        var frame = new byte[format.SizeImage];
        var random = new Random(42);
        for (var i = 0; i < 200; i++)
        {
            var damaged = (byte[])jpeg.Clone();
            for (var flips = random.Next(1, 8); flips > 0; flips--)
            {
                damaged[random.Next(2, damaged.Length)] ^= (byte)random.Next(1, 256);
            }

            var result = converter.Convert(damaged, frame);
            Assert.That(result, Is.AnyOf(ConversionResult.Converted, ConversionResult.CorruptJpeg, ConversionResult.JpegSizeMismatch, ConversionResult.UnsupportedJpeg));
        }

        // Flipped header and table bytes must have dropped some; flips in entropy data may decode (to other pixels).
        Assert.That(converter.DroppedFrames, Is.GreaterThan(0));
        Assert.That(converter.DroppedFrames + converter.ConvertedFrames, Is.EqualTo(200));
    }

    [Test]
    public void Ten_thousand_random_mutations_never_crash_or_throw()
    {
        var jpeg = Ffmpeg.TestJpeg("yuvj420p", 96, 64);
        var format = new FrameFormat(PixelFormats.Yuyv, 96, 64);
        using var converter = new FrameConverter(HostFrameFormat.Mjpeg(96, 64), format);
        var frame = new byte[format.SizeImage];
        var random = new Random(20_240_601);
        var buffer = new byte[jpeg.Length * 2];
        for (var i = 0; i < 10_000; i++)
        {
            var length = Mutate(jpeg, buffer, random);
            var result = converter.Convert(buffer.AsSpan(0, length), frame);
            Assert.That(Enum.IsDefined(result), Is.True);
        }

        Assert.That(converter.ConvertedFrames + converter.DroppedFrames, Is.EqualTo(10_000));
        TestContext.Out.WriteLine(
            $"converted {converter.ConvertedFrames}, corrupt {converter.DroppedFramesFor(ConversionResult.CorruptJpeg)}, " +
            $"other size {converter.DroppedFramesFor(ConversionResult.JpegSizeMismatch)}, unsupported {converter.DroppedFramesFor(ConversionResult.UnsupportedJpeg)}");
        Assert.That(converter.Convert(jpeg, frame), Is.EqualTo(ConversionResult.Converted));
    }

    [Test]
    public void A_frame_that_fails_in_its_header_does_not_stall_the_decoder()
    {
        // TurboJPEG 2.x leaves its decompressor mid-header after such an error and fails every later frame unless
        // the decoder renews it. Damage the Huffman table definition, the case that showed it.
        var jpeg = Ffmpeg.TestJpeg("yuvj422p", 96, 64);
        var huffmanTable = JpegSurgery.SegmentOffset(jpeg, 0xC4);
        var format = new FrameFormat(PixelFormats.Yuyv, 96, 64);
        using var converter = new FrameConverter(HostFrameFormat.Mjpeg(96, 64), format);
        var expected = new byte[format.SizeImage];
        Assert.That(converter.Convert(jpeg, expected), Is.EqualTo(ConversionResult.Converted));

        var frame = new byte[format.SizeImage];
        for (var i = 0; i < 16; i++)
        {
            var damaged = (byte[])jpeg.Clone();
            damaged[huffmanTable + 5 + i] = 0xFF;
            Assert.That(converter.Convert(damaged, frame), Is.EqualTo(ConversionResult.CorruptJpeg), $"damage at {i}");
            Assert.That(converter.LastJpegError, Is.Not.Empty);
            Assert.That(converter.Convert(jpeg, frame), Is.EqualTo(ConversionResult.Converted), $"after damage at {i}: {converter.LastJpegError}");
            Assert.That(frame, Is.EqualTo(expected));
        }
    }

    // A JPEG of testsrc2 from ffmpeg's encoder, or for "gray" from libturbojpeg's (ffmpeg has no greyscale MJPEG).
    private byte[] Jpeg(string pixelFormat, int w, int h) =>
        pixelFormat == "gray" ? TurboJpegTestEncoder.Grey(Ffmpeg.TestPicture("gray", w, h), w, h) : Ffmpeg.TestJpeg(pixelFormat, w, h);

    // One of: flip bytes, overwrite a run, truncate, duplicate a chunk, insert random bytes, or several at once.
    private static int Mutate(byte[] original, byte[] buffer, Random random)
    {
        var length = original.Length;
        original.CopyTo(buffer, 0);
        for (var round = random.Next(1, 4); round > 0; round--)
        {
            switch (random.Next(5))
            {
                case 0:
                    for (var flips = random.Next(1, 16); flips > 0; flips--)
                    {
                        buffer[random.Next(length)] ^= (byte)(1 << random.Next(8));
                    }

                    break;
                case 1:
                    var start = random.Next(length);
                    random.NextBytes(buffer.AsSpan(start, Math.Min(random.Next(1, 64), length - start)));
                    break;
                case 2:
                    length = random.Next(length);
                    break;
                case 3 when length > 1:
                    var from = random.Next(length - 1);
                    var count = Math.Min(random.Next(1, length - from), buffer.Length - length);
                    buffer.AsSpan(from, count).CopyTo(buffer.AsSpan(length));
                    length += count;
                    break;
                default:
                    var at = random.Next(length + 1);
                    var inserted = Math.Min(random.Next(1, 32), buffer.Length - length);
                    buffer.AsSpan(at, length - at).CopyTo(buffer.AsSpan(at + inserted));
                    random.NextBytes(buffer.AsSpan(at, inserted));
                    length += inserted;
                    break;
            }
        }

        return length;
    }

    private static byte[] Zeroed(byte[] bytes, int start, int count)
    {
        var copy = (byte[])bytes.Clone();
        copy.AsSpan(start, count).Clear();
        return copy;
    }
}
