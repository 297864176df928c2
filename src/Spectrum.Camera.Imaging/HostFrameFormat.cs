using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// What a host camera delivers in one mode: a fourcc (<see cref="HostPixelFormats"/>), a size, and for raw formats
/// where each plane lies in the frame buffer. Planes past <see cref="PlaneCount"/> are ignored (default).
/// </summary>
/// <remarks>
/// Use <see cref="FromV4l2"/> for the single-planar V4L2 API, where the driver reports one bytesperline and the
/// chroma planes follow the luma plane by convention; use the constructor when the planes are elsewhere (the
/// multi-planar API, or a driver that aligns plane heights). Sizes must be even: every supported format shares
/// chroma between pixel pairs, and the converter relies on that.
/// </remarks>
public readonly record struct HostFrameFormat
{
    /// <summary>The largest width or height accepted; keeps every size computation far inside 32 bits.</summary>
    public const int MaxDimension = 16384;

    public HostFrameFormat(uint pixelFormat, int width, int height, HostPlane plane0, HostPlane plane1 = default, HostPlane plane2 = default)
    {
        PixelFormat = pixelFormat;
        Width = width;
        Height = height;
        Plane0 = plane0;
        Plane1 = plane1;
        Plane2 = plane2;
    }

    public uint PixelFormat { get; }

    public int Width { get; }

    public int Height { get; }

    /// <summary>The first plane: the packed pixels, or the Y plane.</summary>
    public HostPlane Plane0 { get; }

    /// <summary>NV12's interleaved CbCr plane, or YU12's Cb plane.</summary>
    public HostPlane Plane1 { get; }

    /// <summary>YU12's Cr plane.</summary>
    public HostPlane Plane2 { get; }

    /// <summary>Raw planes in the buffer: YUYV and UYVY 1, NV12 2, YU12 3, MJPEG 0 (the frame is one JPEG).</summary>
    public int PlaneCount => PixelFormat switch
    {
        HostPixelFormats.Yuyv or HostPixelFormats.Uyvy => 1,
        HostPixelFormats.Nv12 => 2,
        HostPixelFormats.Yu12 => 3,
        _ => 0,
    };

    /// <summary>
    /// The layout the single-planar V4L2 API implies from one <paramref name="bytesPerLine"/>: NV12's CbCr plane
    /// starts right after the Y plane with the same stride; YU12's Cb and Cr planes follow with half the stride
    /// each. MJPEG ignores <paramref name="bytesPerLine"/>.
    /// </summary>
    public static HostFrameFormat FromV4l2(uint pixelFormat, int width, int height, int bytesPerLine)
    {
        var lumaSize = (int)Math.Min(int.MaxValue, (long)bytesPerLine * height);
        var chromaStride = bytesPerLine / 2;
        return pixelFormat switch
        {
            HostPixelFormats.Nv12 => new(pixelFormat, width, height, new(0, bytesPerLine), new(lumaSize, bytesPerLine)),
            HostPixelFormats.Yu12 => new(
                pixelFormat, width, height, new(0, bytesPerLine), new(lumaSize, chromaStride),
                new((int)Math.Min(int.MaxValue, lumaSize + ((long)chromaStride * (height / 2))), chromaStride)),
            _ when HostPixelFormats.IsJpeg(pixelFormat) => Mjpeg(width, height),
            _ => new(pixelFormat, width, height, new(0, bytesPerLine)),
        };
    }

    /// <summary>A tightly packed raw frame (no row padding) or an MJPEG mode.</summary>
    public static HostFrameFormat Packed(uint pixelFormat, int width, int height) =>
        FromV4l2(pixelFormat, width, height, pixelFormat is HostPixelFormats.Yuyv or HostPixelFormats.Uyvy ? 2 * width : width);

    /// <summary>An MJPEG camera mode of <paramref name="width"/> x <paramref name="height"/>.</summary>
    public static HostFrameFormat Mjpeg(int width, int height) => new(HostPixelFormats.Mjpeg, width, height, default);

    /// <summary>"YUYV 1280x720", for logs and test names.</summary>
    public override string ToString() => $"{PixelFormats.ToFourccString(PixelFormat)} {Width}x{Height}";

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when the description cannot be converted: an unsupported fourcc, an
    /// odd or out-of-range size, a stride shorter than the visible row, or planes reaching past 2 GiB.
    /// </summary>
    internal void Validate()
    {
        if (!HostPixelFormats.IsSupported(PixelFormat))
        {
            throw new ArgumentException($"Host pixel format '{PixelFormats.ToFourccString(PixelFormat)}' is not supported.");
        }

        if (Width is < 2 or > MaxDimension || Height is < 2 or > MaxDimension || Width % 2 != 0 || Height % 2 != 0)
        {
            throw new ArgumentException($"{this}: width and height must be even and between 2 and {MaxDimension}.");
        }

        for (var plane = 0; plane < PlaneCount; plane++)
        {
            var (layout, rowBytes, rows) = PlaneGeometry(plane);
            if (layout.Offset < 0 || layout.BytesPerLine < rowBytes)
            {
                throw new ArgumentException(
                    $"{this}: plane {plane} at offset {layout.Offset} with {layout.BytesPerLine} bytes per line cannot hold rows of {rowBytes} bytes.");
            }

            if (layout.Offset + ((long)layout.BytesPerLine * (rows - 1)) + rowBytes > int.MaxValue)
            {
                throw new ArgumentException($"{this}: plane {plane} reaches past 2 GiB.");
            }
        }
    }

    /// <summary>Plane <paramref name="plane"/>'s placement, its visible bytes per row and its rows.</summary>
    internal (HostPlane Layout, int RowBytes, int Rows) PlaneGeometry(int plane) => (PixelFormat, plane) switch
    {
        (HostPixelFormats.Yuyv or HostPixelFormats.Uyvy, 0) => (Plane0, 2 * Width, Height),
        (HostPixelFormats.Nv12 or HostPixelFormats.Yu12, 0) => (Plane0, Width, Height),
        (HostPixelFormats.Nv12, 1) => (Plane1, Width, Height / 2),
        (HostPixelFormats.Yu12, 1) => (Plane1, Width / 2, Height / 2),
        (HostPixelFormats.Yu12, 2) => (Plane2, Width / 2, Height / 2),
        _ => throw new ArgumentOutOfRangeException(nameof(plane), plane, $"{this} has {PlaneCount} raw plane(s)."),
    };
}
