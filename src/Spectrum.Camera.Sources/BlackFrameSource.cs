using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Sources;

/// <summary>
/// Renders black: BT.601 limited range, Y = 16 and Cb = Cr = 128 (YUYV bytes 16,128,16,128...). Limited range
/// because that is what V4L2 capture devices deliver by default; a full-range zero would show as dark green
/// after the client converts it. Used when there is no camera or no permission, so a client keeps receiving
/// frames at the negotiated rate (Chrome restarts a stream after 1 s without one).
/// </summary>
/// <remarks>
/// Stateless and thread-safe: it writes from three static, never-modified chunks, so it allocates nothing,
/// ever, not even on the first frame. A frame is a run of one byte (Y), another (chroma), or a repeating
/// 16,128 pair (YUYV), so it is written in large chunks rather than row by row.
/// </remarks>
public sealed class BlackFrameSource : IFrameSource
{
    /// <summary>BT.601 limited-range black luma.</summary>
    public const byte BlackLuma = 16;

    /// <summary>Neutral (colourless) chroma.</summary>
    public const byte NeutralChroma = 128;

    // 16 KiB: two rows of YUYV at the menu's largest width, few enough writes per frame for any sink. Even, so a
    // YUYV chunk always ends on a whole Y,C pair.
    private const int ChunkSize = 16 * 1024;

    private static readonly byte[] LumaChunk = Filled(BlackLuma);
    private static readonly byte[] ChromaChunk = Filled(NeutralChroma);
    private static readonly byte[] YuyvChunk = CreateYuyvChunk();

    /// <inheritdoc />
    public string Name => "black";

    /// <inheritdoc />
    public FrameContent Render(FrameFormat format, uint frameNumber, IFrameSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (!format.IsValid)
        {
            throw new ArgumentException($"Cannot render {format}: not a valid format.", nameof(format));
        }

        if (format.PixelFormat == PixelFormats.Yuyv)
        {
            WriteRun(sink, YuyvChunk, format.SizeImage);
        }
        else
        {
            // NV12 and YU12 alike: the Y plane, then chroma planes that are all neutral, whatever their layout.
            var lumaSize = format.PlaneSize(0);
            WriteRun(sink, LumaChunk, lumaSize);
            WriteRun(sink, ChromaChunk, format.SizeImage - lumaSize);
        }

        return FrameContent.Black;
    }

    private static void WriteRun(IFrameSink sink, byte[] chunk, uint length)
    {
        while (length > 0)
        {
            var count = (int)Math.Min(length, (uint)chunk.Length);
            sink.Write(chunk.AsSpan(0, count));
            length -= (uint)count;
        }
    }

    private static byte[] Filled(byte value)
    {
        var chunk = new byte[ChunkSize];
        chunk.AsSpan().Fill(value);
        return chunk;
    }

    private static byte[] CreateYuyvChunk()
    {
        var chunk = new byte[ChunkSize];
        for (var i = 0; i < chunk.Length; i += 2)
        {
            chunk[i] = BlackLuma;
            chunk[i + 1] = NeutralChroma;
        }

        return chunk;
    }
}
