using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Tests.Frames;

public class BlackFrameSourceTests
{
    public static IEnumerable<FrameFormat> MenuFormats() => FrameFormatTests.MenuFormats();

    [TestCaseSource(nameof(MenuFormats))]
    public void Black_is_limited_range_y16_and_neutral_chroma(FrameFormat format)
    {
        var frame = Render(format);
        if (format.PixelFormat == PixelFormats.Yuyv)
        {
            for (var i = 0; i < frame.Length; i += 4)
            {
                Assert.That(frame.AsSpan(i, 4).ToArray(), Is.EqualTo(new byte[] { 16, 128, 16, 128 }), $"offset {i}");
            }
        }
        else
        {
            var lumaSize = (int)(format.Width * format.Height);
            Assert.That(frame.AsSpan(0, lumaSize).ContainsAnyExcept((byte)16), Is.False);
            Assert.That(frame.AsSpan(lumaSize).ContainsAnyExcept((byte)128), Is.False);
            Assert.That(frame.Length - lumaSize, Is.EqualTo(lumaSize / 2));
        }

        Assert.That(TestPatternVerifier.IsBlack(format, frame), Is.True);
        Assert.That(TestPatternVerifier.TryDecode(format, frame, out _, out _), Is.False);
    }

    [Test]
    public void Renders_black_content_under_its_name()
    {
        var source = new BlackFrameSource();
        var format = new FrameFormat(PixelFormats.Nv12, 320, 240);
        Assert.That(source.Render(format, 9, new MemoryFrameSink((int)format.SizeImage)), Is.EqualTo(FrameContent.Black));
        Assert.That(source.Name, Is.EqualTo("black"));
    }

    [Test]
    public void Rendering_allocates_nothing_per_frame()
    {
        var source = new BlackFrameSource();
        var sinks = TestPatternSourceTests.FullHdFormats()
            .Select(f => (Format: f, Sink: new MemoryFrameSink((int)f.SizeImage)))
            .ToArray();
        var frameNumber = 0u;
        void RenderFrames()
        {
            for (var i = 0; i < 10; i++)
            {
                foreach (var (format, sink) in sinks)
                {
                    sink.Reset();
                    source.Render(format, frameNumber, sink);
                }

                frameNumber++;
            }
        }

        RenderFrames(); // Runs the static constructor and the JIT before measuring.
        Assert.That(TestPatternSourceTests.LeastBytesAllocatedByAnyRound(RenderFrames), Is.Zero);
        Assert.That(sinks.Select(s => s.Sink.Written), Is.EqualTo(sinks.Select(s => (int)s.Format.SizeImage)));
    }

    [Test]
    public void Invalid_formats_are_refused()
    {
        Assert.That(() => new BlackFrameSource().Render(new FrameFormat(PixelFormats.Yu12, 0, 0), 0, new MemoryFrameSink(16)), Throws.ArgumentException);
    }

    internal static byte[] Render(FrameFormat format)
    {
        var sink = new MemoryFrameSink((int)format.SizeImage);
        new BlackFrameSource().Render(format, 0, sink);
        Assert.That(sink.Written, Is.EqualTo(format.SizeImage));
        return sink.WrittenMemory.ToArray();
    }
}
