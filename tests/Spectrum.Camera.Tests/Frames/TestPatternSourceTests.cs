using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Tests.Frames;

public class TestPatternSourceTests
{
    private static readonly uint[] FrameNumbers = [0, 1, 2, 127, 128, 0x1234_5678, 0xFFFF_FFFE, 0xFFFF_FFFF];

    public static IEnumerable<FrameFormat> MenuFormats() => FrameFormatTests.MenuFormats();

    public static IEnumerable<FrameFormat> FullHdFormats() =>
        StableMenu.Default.Formats.Select(f => new FrameFormat(f, 1920, 1080));

    [TestCaseSource(nameof(MenuFormats))]
    public void Every_format_and_size_round_trips_the_frame_number_exactly(FrameFormat format)
    {
        var source = new TestPatternSource();
        var sink = new MemoryFrameSink((int)format.SizeImage);
        foreach (var number in FrameNumbers)
        {
            sink.Reset();
            Assert.That(source.Render(format, number, sink), Is.EqualTo(FrameContent.TestPattern));
            Assert.That(sink.Written, Is.EqualTo(format.SizeImage), $"frame {number}");

            Assert.That(TestPatternVerifier.TryDecode(format, sink.WrittenMemory.Span, out var decoded, out var exact), Is.True);
            Assert.That(decoded, Is.EqualTo(number));
            Assert.That(exact, Is.True, $"frame {number}");
            Assert.That(TestPatternVerifier.IsBlack(format, sink.WrittenMemory.Span), Is.False);
        }
    }

    [TestCaseSource(nameof(MenuFormats))]
    public void Rows_are_pushed_one_write_per_row_in_plane_order(FrameFormat format)
    {
        var sink = new MemoryFrameSink((int)format.SizeImage);
        new TestPatternSource().Render(format, 7, sink);

        var rows = 0u;
        for (var plane = 0; plane < format.PlaneCount; plane++)
        {
            rows += format.PlaneRows(plane);
        }

        Assert.That(sink.WriteCount, Is.EqualTo(rows));
    }

    [TestCaseSource(nameof(MenuFormats))]
    public void The_picture_moves_from_frame_to_frame(FrameFormat format)
    {
        var first = Render(format, 41);
        var second = Render(format, 42);

        // Compare the first plane below the two bands (32 rows): that part holds no frame number at all.
        var start = (int)(2 * TestPatternSource.BandRows * format.BytesPerLine);
        var end = (int)format.PlaneSize(0);
        Assert.That(first.AsSpan(start, end - start).SequenceEqual(second.AsSpan(start, end - start)), Is.False);

        // And the whole pattern has both dark and bright luma and coloured chroma, not a flat field.
        Assert.That(first.Distinct().Count(), Is.GreaterThan(100));
    }

    [TestCaseSource(nameof(MenuFormats))]
    public void Band_blocks_have_the_documented_levels_and_neutral_chroma(FrameFormat format)
    {
        // 0x80000001: the first and last number blocks are 1, everything between is 0.
        var frame = Render(format, 0x8000_0001);
        var blockWidth = TestPatternSource.BlockWidth(format);
        var packed = format.PixelFormat == PixelFormats.Yuyv;
        var stride = (int)format.BytesPerLine;
        int Luma(int x, int y) => frame[(y * stride) + (x * (packed ? 2 : 1))];

        Assert.That(blockWidth, Is.EqualTo((int)format.Width / 32 & ~1));
        for (var y = 0; y < TestPatternSource.BandRows; y++)
        {
            Assert.That(Luma(0, y), Is.EqualTo(235));
            Assert.That(Luma(blockWidth - 1, y), Is.EqualTo(235));
            Assert.That(Luma(blockWidth, y), Is.EqualTo(16));
            Assert.That(Luma((31 * blockWidth) - 1, y), Is.EqualTo(16));
            Assert.That(Luma(31 * blockWidth, y), Is.EqualTo(235));
            Assert.That(Luma((int)format.Width - 1, y), Is.EqualTo((int)format.Width == 32 * blockWidth ? 235 : 16));
        }

        // Chroma under both bands is neutral, so subsampling cannot smear a bit into its neighbour.
        var bandBytes = 2 * TestPatternSource.BandRows * stride;
        if (packed)
        {
            for (var i = 1; i < bandBytes; i += 2)
            {
                Assert.That(frame[i], Is.EqualTo(128));
            }
        }
        else
        {
            for (var plane = 1; plane < format.PlaneCount; plane++)
            {
                var chromaBand = frame.AsSpan((int)format.PlaneOffset(plane), TestPatternSource.BandRows * (int)format.PlaneBytesPerLine(plane));
                Assert.That(chromaBand.ContainsAnyExcept((byte)128), Is.False, $"plane {plane}");
            }
        }
    }

    [TestCase(320u, 240u)]
    [TestCase(1920u, 1080u)]
    public void All_three_formats_show_the_same_picture(uint width, uint height)
    {
        // The pattern is constant over each 2x2 block's chroma, so 4:2:2 and 4:2:0 carry identical samples:
        // luma equal everywhere, and YUYV's chroma on rows 2c and 2c+1 equal to the 4:2:0 chroma row c.
        var yuyv = Render(new FrameFormat(PixelFormats.Yuyv, width, height), 1000);
        var nv12 = Render(new FrameFormat(PixelFormats.Nv12, width, height), 1000);
        var yu12 = Render(new FrameFormat(PixelFormats.Yu12, width, height), 1000);
        int w = (int)width, h = (int)height, lumaSize = w * h, quarter = lumaSize / 4;

        Assert.That(nv12.AsSpan(0, lumaSize).SequenceEqual(yu12.AsSpan(0, lumaSize)), Is.True, "NV12 and YU12 luma");
        var mismatches = 0;
        for (var y = 0; y < h; y++)
        {
            for (var pair = 0; pair < w / 2; pair++)
            {
                var packed = (y * 2 * w) + (4 * pair);
                var chroma = ((y / 2) * (w / 2)) + pair;
                mismatches += yuyv[packed] != nv12[(y * w) + (2 * pair)] ? 1 : 0;
                mismatches += yuyv[packed + 2] != nv12[(y * w) + (2 * pair) + 1] ? 1 : 0;
                mismatches += yuyv[packed + 1] != nv12[lumaSize + (2 * chroma)] ? 1 : 0;
                mismatches += yuyv[packed + 3] != nv12[lumaSize + (2 * chroma) + 1] ? 1 : 0;
                mismatches += yuyv[packed + 1] != yu12[lumaSize + chroma] ? 1 : 0;
                mismatches += yuyv[packed + 3] != yu12[lumaSize + quarter + chroma] ? 1 : 0;
            }
        }

        Assert.That(mismatches, Is.Zero);
    }

    [Test]
    public void Switching_formats_rebuilds_the_tables()
    {
        var source = new TestPatternSource();
        FrameFormat[] formats =
        [
            new(PixelFormats.Yuyv, 640, 480), new(PixelFormats.Nv12, 1280, 720),
            new(PixelFormats.Yu12, 320, 240), new(PixelFormats.Yuyv, 640, 480),
        ];
        foreach (var format in formats)
        {
            var sink = new MemoryFrameSink((int)format.SizeImage);
            source.Render(format, 5, sink);
            Assert.That(TestPatternVerifier.TryDecode(format, sink.WrittenMemory.Span, out var number, out var exact), Is.True);
            Assert.That((number, exact), Is.EqualTo((5u, true)), format.ToString());
        }
    }

    [TestCaseSource(nameof(FullHdFormats))]
    public void Rendering_allocates_nothing_per_frame_after_the_first(FrameFormat format)
    {
        var source = new TestPatternSource();
        var sink = new MemoryFrameSink((int)format.SizeImage);
        var frameNumber = 0u;
        void RenderFrames()
        {
            for (var i = 0; i < 50; i++)
            {
                sink.Reset();
                source.Render(format, frameNumber++, sink);
            }
        }

        RenderFrames(); // The first frame builds the tables for this format.
        Assert.That(LeastBytesAllocatedByAnyRound(RenderFrames), Is.Zero);
        Assert.That(sink.Written, Is.EqualTo(format.SizeImage));
    }

    /// <summary>
    /// Runs <paramref name="action"/> for a few rounds and returns the smallest number of bytes one round
    /// allocated on this thread. A per-frame allocation shows in every round; taking the least filters out the
    /// rare bytes the runtime itself charges to the thread while another thread's GC runs.
    /// </summary>
    internal static long LeastBytesAllocatedByAnyRound(Action action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var least = long.MaxValue;
        for (var round = 0; round < 5 && least != 0; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            action();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }

    [Test]
    public void Invalid_formats_and_small_sinks_are_refused()
    {
        var source = new TestPatternSource();
        Assert.That(() => source.Render(new FrameFormat(PixelFormats.Yuyv, 641, 480), 0, new MemoryFrameSink(1 << 20)), Throws.ArgumentException);
        Assert.That(() => source.Render(new FrameFormat(0, 640, 480), 0, new MemoryFrameSink(1 << 20)), Throws.ArgumentException);
        Assert.That(() => source.Render(new FrameFormat(PixelFormats.Nv12, 640, 480), 0, new MemoryFrameSink(1000)), Throws.InvalidOperationException);
        Assert.That(source.Name, Is.EqualTo("test-pattern"));
    }

    [Test]
    public void Formats_too_small_for_the_bands_still_render_but_do_not_decode()
    {
        var format = new FrameFormat(PixelFormats.Nv12, 32, 16);
        var frame = Render(format, 3);
        Assert.That(frame, Has.Length.EqualTo(32 * 16 * 3 / 2));
        Assert.That(TestPatternVerifier.TryDecode(format, frame, out _, out var exact), Is.False);
        Assert.That(exact, Is.False);
    }

    internal static byte[] Render(FrameFormat format, uint frameNumber)
    {
        var sink = new MemoryFrameSink((int)format.SizeImage);
        new TestPatternSource().Render(format, frameNumber, sink);
        Assert.That(sink.Written, Is.EqualTo(format.SizeImage));
        return sink.WrittenMemory.ToArray();
    }
}
