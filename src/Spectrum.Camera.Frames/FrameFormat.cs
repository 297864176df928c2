namespace Spectrum.Camera.Frames;

/// <summary>
/// One negotiated single-planar capture format: a fourcc and a size. Everything else in
/// <c>v4l2_pix_format</c> (bytesperline, sizeimage) and the plane layout the sources write follows from these
/// three numbers, so it is computed here once instead of in every ioctl handler and source.
/// </summary>
/// <remarks>
/// Layouts are packed with no row padding, because ffmpeg drops raw frames whose <c>bytesused</c> differs from
/// <c>av_image_get_buffer_size(..., align = 1)</c>. Sizes are computed in checked 64-bit arithmetic and then
/// checked into the 32-bit V4L2 fields, so a nonsense format throws <see cref="OverflowException"/> instead of
/// silently wrapping into a small buffer. Formats from a <see cref="StableMenu"/> are always <see cref="IsValid"/>.
/// </remarks>
public readonly record struct FrameFormat(uint PixelFormat, uint Width, uint Height)
{
    /// <summary>
    /// Whether the format is renderable: a supported fourcc, a nonzero even width and height (4:2:2 and 4:2:0
    /// share chroma between pixel pairs), and a frame size that fits the 32-bit <c>sizeimage</c> field.
    /// </summary>
    public bool IsValid =>
        PixelFormats.IsSupported(PixelFormat)
        && Width != 0 && Height != 0
        && Width % 2 == 0 && Height % 2 == 0
        // YUYV's 2 bytes per pixel is the largest of the supported formats; w*h itself cannot overflow 64 bits.
        && (ulong)Width * Height <= uint.MaxValue / 2;

    /// <summary>
    /// <c>v4l2_pix_format.bytesperline</c>: the stride of the first plane (YUYV 2w; NV12 and YU12 w, their chroma
    /// strides being implied by the format definitions).
    /// </summary>
    public uint BytesPerLine => PlaneBytesPerLine(0);

    /// <summary><c>v4l2_pix_format.sizeimage</c>: the bytes of one whole frame, all planes back to back.</summary>
    public uint SizeImage => PixelFormat switch
    {
        PixelFormats.Yuyv => PlaneSize(0),
        PixelFormats.Nv12 => checked(PlaneSize(0) + PlaneSize(1)),
        PixelFormats.Yu12 => checked(PlaneSize(0) + PlaneSize(1) + PlaneSize(2)),
        _ => throw Unsupported(),
    };

    /// <summary>How many planes the frame holds in memory order: YUYV 1 (packed), NV12 2 (Y, CbCr), YU12 3 (Y, Cb, Cr).</summary>
    public int PlaneCount => PixelFormat switch
    {
        PixelFormats.Yuyv => 1,
        PixelFormats.Nv12 => 2,
        PixelFormats.Yu12 => 3,
        _ => throw Unsupported(),
    };

    /// <summary>The stride of plane <paramref name="plane"/> in bytes.</summary>
    public uint PlaneBytesPerLine(int plane) => (PixelFormat, plane) switch
    {
        (PixelFormats.Yuyv, 0) => checked(2 * Width),
        (PixelFormats.Nv12 or PixelFormats.Yu12, 0) => Width,
        // NV12's chroma row holds w/2 Cb,Cr pairs.
        (PixelFormats.Nv12, 1) => checked(2 * (Width / 2)),
        (PixelFormats.Yu12, 1 or 2) => Width / 2,
        _ => throw BadPlane(plane),
    };

    /// <summary>The number of rows of plane <paramref name="plane"/> (chroma planes of 4:2:0 have half the rows).</summary>
    public uint PlaneRows(int plane) => (PixelFormat, plane) switch
    {
        (PixelFormats.Yuyv or PixelFormats.Nv12 or PixelFormats.Yu12, 0) => Height,
        (PixelFormats.Nv12, 1) or (PixelFormats.Yu12, 1 or 2) => Height / 2,
        _ => throw BadPlane(plane),
    };

    /// <summary>The bytes of plane <paramref name="plane"/>: its stride times its rows.</summary>
    public uint PlaneSize(int plane) => checked((uint)((ulong)PlaneBytesPerLine(plane) * PlaneRows(plane)));

    /// <summary>Where plane <paramref name="plane"/> starts in the frame: the sum of the planes before it.</summary>
    public uint PlaneOffset(int plane)
    {
        if (plane < 0 || plane >= PlaneCount)
        {
            throw BadPlane(plane);
        }

        uint offset = 0;
        for (var i = 0; i < plane; i++)
        {
            offset = checked(offset + PlaneSize(i));
        }

        return offset;
    }

    /// <summary>"YUYV 640x480", for logs and test names.</summary>
    public override string ToString() => $"{PixelFormats.ToFourccString(PixelFormat)} {Width}x{Height}";

    private NotSupportedException Unsupported() =>
        new($"Pixel format '{PixelFormats.ToFourccString(PixelFormat)}' (0x{PixelFormat:X8}) is not supported.");

    // An unknown fourcc is the format's fault, a plane number past the format's planes is the caller's.
    private Exception BadPlane(int plane) =>
        PixelFormats.IsSupported(PixelFormat)
            ? new ArgumentOutOfRangeException(nameof(plane), plane, $"{this} has {PlaneCount} plane(s).")
            : Unsupported();
}
