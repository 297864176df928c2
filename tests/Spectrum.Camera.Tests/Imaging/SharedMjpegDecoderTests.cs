using Spectrum.Camera.Frames;
using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>
/// Converters of one MJPEG mode sharing a <see cref="SharedMjpegDecoder"/> (real libturbojpeg, ffmpeg's JPEGs): one
/// decode per frame identity whatever the number of formats, outputs byte for byte those of converters that decode
/// for themselves, a bad frame tried once and dropped for every format, and nothing allocated per frame.
/// </summary>
public class SharedMjpegDecoderTests : FfmpegFixture
{
    private const int Width = 640;
    private const int Height = 480;

    // Scaled, unscaled, and cropped to another aspect ratio: the three paths a decoded frame takes.
    private static readonly FrameFormat[] Formats =
    [
        new(PixelFormats.Nv12, 320, 240),
        new(PixelFormats.Yuyv, Width, Height),
        new(PixelFormats.Yu12, 640, 360),
    ];

    private static readonly HostFrameFormat Mode = HostFrameFormat.Mjpeg(Width, Height);

    [Test]
    public void Every_format_of_one_frame_comes_from_one_decode_identical_to_decoding_for_each()
    {
        var jpeg = Ffmpeg.TestJpeg("yuvj422p", Width, Height);
        using var set = new ConverterSet();
        set.ConvertAll(jpeg, 1, ConversionResult.Converted);
        Assert.That(set.Decoder.Decodes, Is.EqualTo(1), "decodes for three formats of one frame");
        set.AssertOutputsAreThoseOf(jpeg);
        Assert.That(set.Converters.Select(c => c.ConvertedFrames), Has.All.EqualTo(1));
    }

    [Test]
    public void A_new_identity_decodes_again_and_converts_the_new_bytes()
    {
        var first = Ffmpeg.TestJpeg("yuvj422p", Width, Height);
        var second = Ffmpeg.TestJpeg("yuvj420p", Width, Height, quality: 8);
        Assert.That(Standalone(second, Formats[0]), Is.Not.EqualTo(Standalone(first, Formats[0])), "the two test frames must differ");
        using var set = new ConverterSet();
        set.ConvertAll(first, 7, ConversionResult.Converted);
        set.ConvertAll(second, 8, ConversionResult.Converted);
        Assert.That(set.Decoder.Decodes, Is.EqualTo(2), "decodes for two frames in three formats");
        set.AssertOutputsAreThoseOf(second);

        // The same identity again is the same frame: no decode, whatever bytes come with it.
        set.ConvertAll(first, 8, ConversionResult.Converted);
        Assert.That(set.Decoder.Decodes, Is.EqualTo(2));
        set.AssertOutputsAreThoseOf(second);
    }

    [Test]
    public void A_corrupt_frame_is_tried_once_and_dropped_and_counted_for_every_format()
    {
        var jpeg = Ffmpeg.TestJpeg("yuvj422p", Width, Height);
        var other = Ffmpeg.TestJpeg("yuvj422p", 320, 240);
        using var set = new ConverterSet();
        var cases = new (byte[] Bytes, ConversionResult Expected)[]
        {
            (jpeg[..(jpeg.Length / 2)], ConversionResult.CorruptJpeg),
            ([], ConversionResult.CorruptJpeg),
            (other, ConversionResult.JpegSizeMismatch),
        };
        ulong frame = 100;
        foreach (var (bytes, expected) in cases)
        {
            var decodesBefore = set.Decoder.Decodes;
            set.ConvertAll(bytes, ++frame, expected);
            Assert.That(set.Converters.Select(c => c.LastJpegError), Has.All.Not.Empty);
            Assert.That(set.Decoder.Decodes - decodesBefore, Is.EqualTo(1), $"decode attempts for {expected} in three formats");
        }

        foreach (var converter in set.Converters)
        {
            Assert.That(converter.DroppedFrames, Is.EqualTo(cases.Length), converter.Destination.ToString());
            Assert.That(converter.DroppedFramesFor(ConversionResult.JpegSizeMismatch), Is.EqualTo(1));
            Assert.That(converter.ConvertedFrames, Is.Zero);
        }

        // A good frame after them converts in every format, still from one decode.
        set.ConvertAll(jpeg, ++frame, ConversionResult.Converted);
        Assert.That(set.Decoder.Decodes, Is.EqualTo(cases.Length + 1));
        set.AssertOutputsAreThoseOf(jpeg);
    }

    [Test]
    public void A_frame_without_identity_is_always_decoded_and_the_held_frame_forgotten()
    {
        var first = Ffmpeg.TestJpeg("yuvj422p", Width, Height);
        var second = Ffmpeg.TestJpeg("yuvj420p", Width, Height, quality: 8);
        var format = Formats[0];
        using var decoder = new SharedMjpegDecoder(Width, Height);
        using var converter = new FrameConverter(Mode, format, decoder);
        var output = new byte[format.SizeImage];

        Assert.That(converter.Convert(first, 1, output), Is.EqualTo(ConversionResult.Converted));
        Assert.That(converter.Convert(second, output), Is.EqualTo(ConversionResult.Converted));
        Assert.That(converter.Convert(second, output), Is.EqualTo(ConversionResult.Converted));
        Assert.That(decoder.Decodes, Is.EqualTo(3));

        // The planes now hold the second frame: identity 1 must decode the first again, not reuse them.
        Assert.That(converter.Convert(first, 1, output), Is.EqualTo(ConversionResult.Converted));
        Assert.That(decoder.Decodes, Is.EqualTo(4));
        Assert.That(output, Is.EqualTo(Standalone(first, format)));
    }

    [Test]
    public void A_shared_decoder_of_another_size_or_for_a_raw_mode_is_refused()
    {
        using var decoder = new SharedMjpegDecoder(320, 240);
        Assert.That(() => new FrameConverter(Mode, Formats[0], decoder), Throws.ArgumentException.With.Message.Contains("320x240"));
        Assert.That(
            () => new FrameConverter(HostFrameFormat.Packed(HostPixelFormats.Yuyv, 320, 240), Formats[0], decoder),
            Throws.ArgumentException.With.Message.Contains("not MJPEG"));
        Assert.That(() => new FrameConverter(Mode, Formats[0], null!), Throws.ArgumentNullException);
    }

    [Test]
    public void A_converter_never_disposes_the_decoder_it_was_given()
    {
        var jpeg = Ffmpeg.TestJpeg("yuvj422p", Width, Height);
        using var decoder = new SharedMjpegDecoder(Width, Height);
        new FrameConverter(Mode, Formats[0], decoder).Dispose();
        using var converter = new FrameConverter(Mode, Formats[1], decoder);
        Assert.That(converter.Convert(jpeg, 1, new byte[Formats[1].SizeImage]), Is.EqualTo(ConversionResult.Converted), converter.LastJpegError);
    }

    [Test]
    public void Shared_decoding_allocates_nothing_per_frame_even_for_bad_frames()
    {
        var jpeg = Ffmpeg.TestJpeg("yuvj422p", Width, Height);
        var truncated = jpeg[..(jpeg.Length / 2)];
        using var set = new ConverterSet();
        var results = new ConversionResult[2];
        ulong frame = 0;
        PerFrameAllocation.AssertNone(() =>
        {
            results[0] = set.ConvertAllUnchecked(jpeg, ++frame);
            results[1] = set.ConvertAllUnchecked(truncated, ++frame);
        });

        Assert.That(results, Is.EqualTo(new[] { ConversionResult.Converted, ConversionResult.CorruptJpeg }));
        Assert.That(set.Decoder.Decodes, Is.EqualTo(240), "one decode per frame");
    }

    // What a converter of its own (its own decoder, no identity) makes of the frame.
    private static byte[] Standalone(byte[] jpeg, FrameFormat format)
    {
        using var converter = new FrameConverter(Mode, format);
        var output = new byte[format.SizeImage];
        Assert.That(converter.Convert(jpeg, output), Is.EqualTo(ConversionResult.Converted), converter.LastJpegError);
        return output;
    }

    /// <summary>One converter per format of <see cref="Formats"/>, all sharing one decoder, with an output each.</summary>
    private sealed class ConverterSet : IDisposable
    {
        public ConverterSet()
        {
            Converters = [.. Formats.Select(f => new FrameConverter(Mode, f, Decoder))];
            Outputs = [.. Formats.Select(f => new byte[f.SizeImage])];
        }

        public SharedMjpegDecoder Decoder { get; } = new(Width, Height);

        public FrameConverter[] Converters { get; }

        public byte[][] Outputs { get; }

        /// <summary>Converts <paramref name="jpeg"/> as <paramref name="frame"/> into every format, each expecting <paramref name="expected"/>.</summary>
        public void ConvertAll(byte[] jpeg, ulong frame, ConversionResult expected)
        {
            foreach (var (converter, output) in Converters.Zip(Outputs))
            {
                Assert.That(converter.Convert(jpeg, frame, output), Is.EqualTo(expected), $"{converter.Destination}, frame {frame}: {converter.LastJpegError}");
            }
        }

        /// <summary>Converts into every format without asserting (NUnit's own allocations would count); the last result.</summary>
        public ConversionResult ConvertAllUnchecked(byte[] jpeg, ulong frame)
        {
            var result = ConversionResult.Converted;
            for (var i = 0; i < Converters.Length; i++)
            {
                result = Converters[i].Convert(jpeg, frame, Outputs[i]);
            }

            return result;
        }

        public void AssertOutputsAreThoseOf(byte[] jpeg)
        {
            for (var i = 0; i < Formats.Length; i++)
            {
                Assert.That(Outputs[i], Is.EqualTo(Standalone(jpeg, Formats[i])), $"{Formats[i]}, shared decode against a converter of its own");
            }
        }

        public void Dispose()
        {
            foreach (var converter in Converters)
            {
                converter.Dispose();
            }

            Decoder.Dispose();
        }
    }
}
