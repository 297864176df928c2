using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Sources;

/// <summary>
/// Reads back what <see cref="TestPatternSource"/> and <see cref="BlackFrameSource"/> render: the frame number,
/// the marker, byte-exactness, and for whole raw capture files (v4l2-ctl --stream-to, ffmpeg -f rawvideo,
/// gst filesink) the order of the frames. Pure functions with no shared state, safe from any thread.
/// </summary>
public static class TestPatternVerifier
{
    // A sampled band luma counts as a clean bit only this close to 16 or 235; a real camera frame that happens
    // to threshold into the marker will almost never sit this close to both levels in all 48 blocks.
    private const int LevelTolerance = 24;

    /// <summary>
    /// Reads the frame number from the number band if the marker band holds <see cref="TestPatternSource.Marker"/>,
    /// and says whether the whole frame is exactly what the test pattern renders for that number.
    /// </summary>
    /// <param name="format">The frame's format; must be <see cref="FrameFormat.IsValid"/>.</param>
    /// <param name="frame">Exactly one frame, <see cref="FrameFormat.SizeImage"/> bytes.</param>
    /// <param name="frameNumber">The decoded number, or 0 when there is no marker.</param>
    /// <param name="exact">Whether <paramref name="frame"/> equals the rendered frame byte for byte.</param>
    /// <returns>Whether the marker is present (and so <paramref name="frameNumber"/> was read).</returns>
    public static bool TryDecode(FrameFormat format, ReadOnlySpan<byte> frame, out uint frameNumber, out bool exact)
    {
        var found = TryReadBands(format, frame, out frameNumber);
        exact = found && IsExact(format, frame, frameNumber, new TestPatternSource(), new MemoryFrameSink((int)format.SizeImage));
        return found;
    }

    /// <summary>Whether <paramref name="frame"/> is one whole frame of limited-range black (Y 16, Cb and Cr 128).</summary>
    public static bool IsBlack(FrameFormat format, ReadOnlySpan<byte> frame)
    {
        RequireValid(format);
        if (frame.Length != format.SizeImage)
        {
            return false;
        }

        if (format.PixelFormat == PixelFormats.Yuyv)
        {
            for (var i = 0; i < frame.Length; i += 2)
            {
                if (frame[i] != BlackFrameSource.BlackLuma || frame[i + 1] != BlackFrameSource.NeutralChroma)
                {
                    return false;
                }
            }

            return true;
        }

        var lumaSize = (int)format.PlaneSize(0);
        return !frame[..lumaSize].ContainsAnyExcept(BlackFrameSource.BlackLuma)
            && !frame[lumaSize..].ContainsAnyExcept(BlackFrameSource.NeutralChroma);
    }

    /// <summary>
    /// Splits a raw capture file into frames of <see cref="FrameFormat.SizeImage"/> bytes and checks each: marker,
    /// frame number, exactness, black, and that the numbers strictly increase (gaps allowed).
    /// </summary>
    public static TestPatternStreamReport VerifyStream(FrameFormat format, ReadOnlySpan<byte> fileBytes)
    {
        RequireValid(format);
        var frameSize = (int)format.SizeImage;
        var frames = fileBytes.Length / frameSize;

        // One renderer and one frame buffer for the whole file.
        var source = new TestPatternSource();
        var expected = new MemoryFrameSink(frameSize);
        int marked = 0, exactFrames = 0, black = 0, outOfOrder = 0;
        int? firstOutOfOrder = null;
        uint? first = null, last = null;
        ulong skipped = 0;
        for (var i = 0; i < frames; i++)
        {
            var frame = fileBytes.Slice(i * frameSize, frameSize);
            if (!TryReadBands(format, frame, out var number))
            {
                black += IsBlack(format, frame) ? 1 : 0;
                continue;
            }

            marked++;
            exactFrames += IsExact(format, frame, number, source, expected) ? 1 : 0;
            if (last is { } previous)
            {
                if (number > previous)
                {
                    skipped += number - previous - 1;
                }
                else
                {
                    outOfOrder++;
                    firstOutOfOrder ??= i;
                }
            }

            first ??= number;
            last = number;
        }

        return new TestPatternStreamReport(
            frames,
            fileBytes.Length % frameSize,
            marked,
            exactFrames,
            black,
            first,
            last,
            outOfOrder == 0,
            firstOutOfOrder,
            outOfOrder,
            skipped);
    }

    private static bool IsExact(
        FrameFormat format, ReadOnlySpan<byte> frame, uint frameNumber, TestPatternSource source, MemoryFrameSink expected)
    {
        expected.Reset();
        source.Render(format, frameNumber, expected);
        return frame.SequenceEqual(expected.WrittenMemory.Span);
    }

    // Samples the middle of each block on the middle row of each band.
    private static bool TryReadBands(FrameFormat format, ReadOnlySpan<byte> frame, out uint frameNumber)
    {
        RequireValid(format);
        frameNumber = 0;
        if (frame.Length != format.SizeImage || !TestPatternSource.HasBands(format))
        {
            return false;
        }

        var blockWidth = TestPatternSource.BlockWidth(format);
        var markerRow = TestPatternSource.BandRows + (TestPatternSource.BandRows / 2);
        if (!TryReadBits(format, frame, markerRow, 2 * blockWidth, TestPatternSource.MarkerBits, out var marker)
            || marker != TestPatternSource.Marker)
        {
            return false;
        }

        return TryReadBits(format, frame, TestPatternSource.BandRows / 2, blockWidth, TestPatternSource.NumberBits, out frameNumber);
    }

    private static bool TryReadBits(
        FrameFormat format, ReadOnlySpan<byte> frame, int row, int blockWidth, int bits, out uint value)
    {
        value = 0;
        var stride = (int)format.BytesPerLine;
        var bytesPerPixel = format.PixelFormat == PixelFormats.Yuyv ? 2 : 1;
        for (var i = 0; i < bits; i++)
        {
            var x = (i * blockWidth) + (blockWidth / 2);
            int luma = frame[(row * stride) + (x * bytesPerPixel)];
            var one = Math.Abs(luma - TestPatternSource.LumaOne) <= LevelTolerance;
            if (!one && Math.Abs(luma - TestPatternSource.LumaZero) > LevelTolerance)
            {
                return false;
            }

            value = (value << 1) | (one ? 1u : 0u);
        }

        return true;
    }

    private static void RequireValid(FrameFormat format)
    {
        if (!format.IsValid)
        {
            throw new ArgumentException($"{format} is not a valid format.", nameof(format));
        }
    }
}
