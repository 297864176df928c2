using Spectrum.Camera.Frames;
using Spectrum.Camera.Imaging;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Tests.Imaging;

namespace Spectrum.Camera.Tests.Service.Feeds;

/// <summary>
/// The service's frame path for an MJPEG camera (<see cref="ConvertedCameraFrame"/> through
/// <see cref="FrameConverterCache"/>, real libturbojpeg, ffmpeg's JPEGs): each delivered frame is decoded once
/// whatever the number of guest formats, renders byte for byte what a converter of its own makes, a bad frame is
/// tried once and dropped for every format, and a new host format never sees the old one's planes.
/// </summary>
public sealed class SharedDecodeFrameTests : FfmpegFixture
{
    private const int Width = 640;
    private const int Height = 480;

    private static readonly FrameFormat ScaledNv12 = new(PixelFormats.Nv12, 320, 240);
    private static readonly FrameFormat FullYuyv = new(PixelFormats.Yuyv, Width, Height);

    private byte[] _first = [];
    private byte[] _second = [];

    [OneTimeSetUp]
    public void MakeFrames()
    {
        _first = Ffmpeg.TestJpeg("yuvj422p", Width, Height);
        _second = Ffmpeg.TestJpeg("yuvj420p", Width, Height, quality: 8);
    }

    [Test]
    public void Two_formats_of_one_frame_decode_it_once_and_match_their_own_converters()
    {
        using var path = new FramePath(HostFrameFormat.Mjpeg(Width, Height));
        path.Frame.Attach(_first, 1, 0);
        var nv12 = path.Render(ScaledNv12, ConversionResult.Converted);
        var yuyv = path.Render(FullYuyv, ConversionResult.Converted);

        Assert.That(path.Cache.Decoder!.Decodes, Is.EqualTo(1), "decodes for two formats of one frame");
        Assert.That(nv12, Is.EqualTo(Standalone(_first, ScaledNv12)));
        Assert.That(yuyv, Is.EqualTo(Standalone(_first, FullYuyv)));
        Assert.That(path.Feed.DroppedFrames, Is.Zero);
    }

    [Test]
    public void The_next_frame_decodes_again_even_when_the_camera_repeats_its_sequence_number()
    {
        using var path = new FramePath(HostFrameFormat.Mjpeg(Width, Height));
        path.Frame.Attach(_first, 1, 0);
        path.Render(ScaledNv12, ConversionResult.Converted);
        path.Render(FullYuyv, ConversionResult.Converted);

        path.Frame.Attach(_second, 2, 33);
        Assert.That(path.Render(ScaledNv12, ConversionResult.Converted), Is.EqualTo(Standalone(_second, ScaledNv12)));
        Assert.That(path.Render(FullYuyv, ConversionResult.Converted), Is.EqualTo(Standalone(_second, FullYuyv)));
        Assert.That(path.Cache.Decoder!.Decodes, Is.EqualTo(2));

        // A driver that does not advance its sequence number still delivers a new frame each time.
        path.Frame.Attach(_first, 2, 66);
        Assert.That(path.Render(ScaledNv12, ConversionResult.Converted), Is.EqualTo(Standalone(_first, ScaledNv12)));
        Assert.That(path.Render(FullYuyv, ConversionResult.Converted), Is.EqualTo(Standalone(_first, FullYuyv)));
        Assert.That(path.Cache.Decoder!.Decodes, Is.EqualTo(3));
    }

    [Test]
    public void A_corrupt_frame_is_dropped_and_counted_for_both_formats_after_one_decode_attempt()
    {
        using var path = new FramePath(HostFrameFormat.Mjpeg(Width, Height));
        path.Frame.Attach(_first.AsMemory(0, _first.Length * 3 / 4), 1, 0);
        path.Render(ScaledNv12, ConversionResult.CorruptJpeg);
        path.Render(FullYuyv, ConversionResult.CorruptJpeg);

        Assert.That(path.Cache.Decoder!.Decodes, Is.EqualTo(1), "decode attempts for a corrupt frame in two formats");
        Assert.That(path.Feed.DroppedFrames, Is.EqualTo(2), "drops (one per format)");
        Assert.That(path.Cache.For(ScaledNv12)!.DroppedFramesFor(ConversionResult.CorruptJpeg), Is.EqualTo(1));
        Assert.That(path.Cache.For(FullYuyv)!.DroppedFramesFor(ConversionResult.CorruptJpeg), Is.EqualTo(1));

        path.Frame.Attach(_second, 2, 33);
        Assert.That(path.Render(FullYuyv, ConversionResult.Converted), Is.EqualTo(Standalone(_second, FullYuyv)));
        Assert.That(path.Cache.Decoder!.Decodes, Is.EqualTo(2));
    }

    [Test]
    public void A_host_format_change_never_reuses_the_old_modes_planes()
    {
        using var path = new FramePath(HostFrameFormat.Mjpeg(Width, Height));
        path.Frame.Attach(_first, 1, 0);
        path.Render(ScaledNv12, ConversionResult.Converted);
        var old = path.Cache.Decoder;

        // Re-opened within the callback in the same mode: the frame still attached is decoded afresh.
        path.Cache.Reset(HostFrameFormat.Mjpeg(Width, Height));
        Assert.That(path.Render(ScaledNv12, ConversionResult.Converted), Is.EqualTo(Standalone(_first, ScaledNv12)));
        Assert.That(path.Cache.Decoder, Is.Not.SameAs(old));
        Assert.That(path.Cache.Decoder!.Decodes, Is.EqualTo(1), "decodes by the new mode's decoder");

        // Another mode: a frame of the old size is decoded by the new decoder and refused, for each format.
        path.Cache.Reset(HostFrameFormat.Mjpeg(320, 240));
        path.Render(ScaledNv12, ConversionResult.JpegSizeMismatch);
        path.Render(FullYuyv, ConversionResult.JpegSizeMismatch);
        Assert.That(path.Cache.Decoder!.Decodes, Is.EqualTo(1));

        // A raw mode has no decoder at all.
        path.Cache.Reset(HostFrameFormat.Packed(HostPixelFormats.Yuyv, 64, 48));
        path.Frame.Attach(new byte[64 * 48 * 2], 2, 33);
        path.Render(ScaledNv12, ConversionResult.Converted);
        Assert.That(path.Cache.Decoder, Is.Null);
    }

    [Test]
    public void Rendering_two_formats_per_frame_allocates_nothing()
    {
        using var path = new FramePath(HostFrameFormat.Mjpeg(Width, Height));
        var truncated = _first[..(_first.Length / 2)];
        var nv12 = new byte[ScaledNv12.SizeImage];
        var yuyv = new byte[FullYuyv.SizeImage];
        var results = new ConversionResult[4];
        ulong sequence = 0;
        PerFrameAllocation.AssertNone(() =>
        {
            path.Frame.Attach(_first, ++sequence, 0);
            results[0] = path.Frame.RenderInto(ScaledNv12, nv12);
            results[1] = path.Frame.RenderInto(FullYuyv, yuyv);
            path.Frame.Attach(truncated, ++sequence, 0);
            results[2] = path.Frame.RenderInto(ScaledNv12, nv12);
            results[3] = path.Frame.RenderInto(FullYuyv, yuyv);
            path.Frame.Detach();
        });

        Assert.That(results, Is.EqualTo(new[] { ConversionResult.Converted, ConversionResult.Converted, ConversionResult.CorruptJpeg, ConversionResult.CorruptJpeg }));
        Assert.That(path.Cache.Decoder!.Decodes, Is.EqualTo(240), "one decode per frame");
    }

    private static byte[] Standalone(byte[] jpeg, FrameFormat format)
    {
        using var converter = new FrameConverter(HostFrameFormat.Mjpeg(Width, Height), format);
        var output = new byte[format.SizeImage];
        Assert.That(converter.Convert(jpeg, output), Is.EqualTo(ConversionResult.Converted), converter.LastJpegError);
        return output;
    }

    /// <summary>A feed's frame object and converter cache, as a camera feed holds them, on the test's thread.</summary>
    private sealed class FramePath : IDisposable
    {
        public FramePath(HostFrameFormat source)
        {
            Cache.Reset(source);
            Frame = new ProducerCameraFrame(Feed, Cache);
        }

        public IdleFeed Feed { get; } = new();

        public FrameConverterCache Cache { get; } = new();

        public ProducerCameraFrame Frame { get; }

        /// <summary>Renders the attached frame into <paramref name="format"/>, expecting <paramref name="expected"/>.</summary>
        public byte[] Render(FrameFormat format, ConversionResult expected)
        {
            var output = new byte[format.SizeImage];
            Assert.That(Frame.RenderInto(format, output), Is.EqualTo(expected), $"{format}: {Cache.For(format)?.LastJpegError}");
            return output;
        }

        public void Dispose()
        {
            Cache.Dispose();
            Feed.Dispose();
        }
    }

    /// <summary>A feed that only counts the drops its frames report; nothing in these tests starts it.</summary>
    private sealed class IdleFeed() : CameraFeedBase("idle")
    {
        protected override string ModeDescription => "";

        public override void StartStreaming(IReadOnlyList<StreamRequest> requests) => throw new NotSupportedException();

        public override void StopStreaming()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
