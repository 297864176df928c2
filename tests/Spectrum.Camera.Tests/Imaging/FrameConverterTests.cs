using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>The façade the host-camera source uses: configuration checks, results and counters, the sink path, no per-frame allocation.</summary>
public class FrameConverterTests
{
    [Test]
    public void A_raw_frame_converts_and_is_counted()
    {
        var host = HostFrameFormat.Packed(HostPixelFormats.Yuyv, 64, 48);
        var format = new FrameFormat(PixelFormats.Nv12, 64, 48);
        using var converter = new FrameConverter(host, format);
        Assert.That(converter.Scales, Is.False);
        Assert.That(converter.Crop, Is.EqualTo(new CropRegion(0, 0, 64, 48)));
        Assert.That(converter.MinimumSourceLength, Is.EqualTo(64 * 48 * 2));

        var frame = new byte[format.SizeImage];
        Assert.That(converter.Convert(new byte[64 * 48 * 2], frame), Is.EqualTo(ConversionResult.Converted));
        Assert.That(converter.ConvertedFrames, Is.EqualTo(1));
        Assert.That(converter.DroppedFrames, Is.Zero);
    }

    [Test]
    public void A_short_raw_frame_is_dropped_and_counted_not_thrown()
    {
        var host = HostFrameFormat.FromV4l2(HostPixelFormats.Nv12, 64, 48, 80);
        var format = new FrameFormat(PixelFormats.Yuyv, 64, 48);
        using var converter = new FrameConverter(host, format);
        var frame = new byte[format.SizeImage];

        // The last CbCr row needs only its 64 visible bytes, not its stride's padding.
        var needed = (80 * 48) + (80 * 23) + 64;
        Assert.That(converter.MinimumSourceLength, Is.EqualTo(needed));
        Assert.That(converter.Convert(new byte[needed - 1], frame), Is.EqualTo(ConversionResult.SourceTooShort));
        Assert.That(converter.Convert([], frame), Is.EqualTo(ConversionResult.SourceTooShort));
        Assert.That(converter.Convert(new byte[needed], frame), Is.EqualTo(ConversionResult.Converted));
        Assert.That(converter.DroppedFramesFor(ConversionResult.SourceTooShort), Is.EqualTo(2));
        Assert.That(converter.DroppedFrames, Is.EqualTo(2));
        Assert.That(converter.ConvertedFrames, Is.EqualTo(1));
    }

    [Test]
    public void A_destination_smaller_than_the_guest_frame_is_a_programming_error()
    {
        using var converter = new FrameConverter(HostFrameFormat.Packed(HostPixelFormats.Yuyv, 64, 48), new FrameFormat(PixelFormats.Yu12, 64, 48));
        Assert.That(() => converter.Convert(new byte[64 * 48 * 2], new byte[(64 * 48 * 3 / 2) - 1]), Throws.ArgumentException);
    }

    [Test]
    public void The_sink_gets_the_whole_frame_in_one_write_and_nothing_for_a_dropped_frame()
    {
        var host = HostFrameFormat.Packed(HostPixelFormats.Yu12, 64, 48);
        var format = new FrameFormat(PixelFormats.Yuyv, 32, 24);
        using var converter = new FrameConverter(host, format);
        var source = ImagingTestData.RandomBytes(64 * 48 * 3 / 2, 5);
        var sink = new MemoryFrameSink((int)format.SizeImage);

        Assert.That(converter.Convert(source.AsSpan(0, 10), sink), Is.EqualTo(ConversionResult.SourceTooShort));
        Assert.That(sink.WriteCount, Is.Zero);

        Assert.That(converter.Convert(source, sink), Is.EqualTo(ConversionResult.Converted));
        Assert.That(sink.WriteCount, Is.EqualTo(1));
        Assert.That(sink.Written, Is.EqualTo(format.SizeImage));
        var direct = new byte[format.SizeImage];
        converter.Convert(source, direct);
        Assert.That(sink.WrittenMemory.ToArray(), Is.EqualTo(direct));
    }

    [Test]
    public void Aspect_differences_are_centre_cropped()
    {
        using var wide = new FrameConverter(HostFrameFormat.Packed(HostPixelFormats.Yuyv, 1920, 1080), new FrameFormat(PixelFormats.Nv12, 640, 480));
        Assert.That(wide.Crop, Is.EqualTo(new CropRegion(240, 0, 1440, 1080)));
        Assert.That(wide.Scales, Is.True);

        using var narrow = new FrameConverter(HostFrameFormat.Packed(HostPixelFormats.Yuyv, 640, 480), new FrameFormat(PixelFormats.Nv12, 1280, 720));
        Assert.That(narrow.Crop, Is.EqualTo(new CropRegion(0, 60, 640, 360)));
    }

    [Test]
    public void Invalid_configurations_throw_at_construction()
    {
        var guest = new FrameFormat(PixelFormats.Yuyv, 64, 48);
        Assert.Multiple(() =>
        {
            Assert.That(() => new FrameConverter(HostFrameFormat.Packed(PixelFormats.FromChars('R', 'G', 'B', '3'), 64, 48), guest), Throws.ArgumentException, "fourcc");
            Assert.That(() => new FrameConverter(HostFrameFormat.Packed(HostPixelFormats.Yuyv, 63, 48), guest), Throws.ArgumentException, "odd width");
            Assert.That(() => new FrameConverter(HostFrameFormat.Packed(HostPixelFormats.Yuyv, 64, 0), guest), Throws.ArgumentException, "no height");
            Assert.That(() => new FrameConverter(HostFrameFormat.FromV4l2(HostPixelFormats.Yuyv, 64, 48, 127), guest), Throws.ArgumentException, "short stride");
            Assert.That(() => new FrameConverter(HostFrameFormat.FromV4l2(HostPixelFormats.Yuyv, 40000, 48, 80000), guest), Throws.ArgumentException, "too wide");
            Assert.That(
                () => new FrameConverter(new HostFrameFormat(HostPixelFormats.Nv12, 64, 48, new(0, 64), new(-1, 64)), guest), Throws.ArgumentException, "negative offset");
            Assert.That(
                () => new FrameConverter(new HostFrameFormat(HostPixelFormats.Yu12, 64, 48, new(0, 64), new(3072, 32), new(int.MaxValue - 10, 32)), guest),
                Throws.ArgumentException, "past 2 GiB");
            Assert.That(() => new FrameConverter(HostFrameFormat.Packed(HostPixelFormats.Yuyv, 64, 48), new FrameFormat(PixelFormats.Yuyv, 63, 48)), Throws.ArgumentException, "guest");
            Assert.That(
                () => new FrameConverter(HostFrameFormat.Packed(HostPixelFormats.Yuyv, 64, 48), new FrameFormat(PixelFormats.Yuyv, 65536, 32768)),
                Throws.ArgumentException, "a valid FrameFormat of 4 GiB");
            Assert.That(() => new FrameConverter(HostFrameFormat.Mjpeg(64, 47), guest), Throws.ArgumentException, "odd MJPEG height");
        });
    }

    [Test]
    public void Use_after_dispose_throws()
    {
        var converter = new FrameConverter(HostFrameFormat.Mjpeg(64, 48), new FrameFormat(PixelFormats.Yuyv, 64, 48));
        converter.Dispose();
        converter.Dispose();
        Assert.That(() => converter.Convert([0xFF, 0xD8], new byte[64 * 48 * 2]), Throws.TypeOf<ObjectDisposedException>());
    }

    [TestCase(HostPixelFormats.Yuyv, 640, 480, PixelFormats.Nv12, 640u, 480u)]
    [TestCase(HostPixelFormats.Nv12, 640, 480, PixelFormats.Yuyv, 640u, 480u)]
    [TestCase(HostPixelFormats.Yu12, 1280, 720, PixelFormats.Yuyv, 640u, 480u)]
    [TestCase(HostPixelFormats.Uyvy, 320, 240, PixelFormats.Yu12, 640u, 360u)]
    [TestCase(HostPixelFormats.Nv12, 1920, 1080, PixelFormats.Nv12, 1280u, 720u)]
    [TestCase(HostPixelFormats.Yuyv, 1920, 1080, PixelFormats.Yu12, 640u, 480u)]
    [TestCase(HostPixelFormats.Yuyv, 1920, 1080, PixelFormats.Yuyv, 320u, 240u)]
    public void Raw_conversion_allocates_nothing_per_frame(uint source, int w, int h, uint guest, uint gw, uint gh)
    {
        var host = HostFrameFormat.Packed(source, w, h);
        var format = new FrameFormat(guest, gw, gh);
        using var converter = new FrameConverter(host, format);
        var frame = ImagingTestData.RandomBytes(converter.MinimumSourceLength, 1);
        var destination = new byte[format.SizeImage];
        var sink = new MemoryFrameSink((int)format.SizeImage);
        PerFrameAllocation.AssertNone(() =>
        {
            converter.Convert(frame, destination);
            converter.Convert(frame.AsSpan(0, 1), destination);
            sink.Reset();
            converter.Convert(frame, sink);
        });
    }

    [Test]
    public void Mjpeg_conversion_allocates_nothing_per_frame_even_for_bad_frames()
    {
        using var ffmpeg = new FfmpegTool();
        var jpeg = ffmpeg.TestJpeg("yuvj422p", 320, 240);
        var truncated = jpeg[..(jpeg.Length / 2)];
        var damagedHeader = (byte[])jpeg.Clone();
        damagedHeader[JpegSurgery.SegmentOffset(jpeg, 0xC4) + 6] = 0xFF;
        var format = new FrameFormat(PixelFormats.Nv12, 640, 480);
        using var converter = new FrameConverter(HostFrameFormat.Mjpeg(320, 240), format);
        var destination = new byte[format.SizeImage];
        var results = new ConversionResult[3];
        PerFrameAllocation.AssertNone(() =>
        {
            results[0] = converter.Convert(jpeg, destination);
            results[1] = converter.Convert(truncated, destination);
            results[2] = converter.Convert(damagedHeader, destination);
        });

        // (Asserting inside the measured loop would count NUnit's own allocations.)
        Assert.That(results, Is.EqualTo(new[] { ConversionResult.Converted, ConversionResult.CorruptJpeg, ConversionResult.CorruptJpeg }));
    }
}
