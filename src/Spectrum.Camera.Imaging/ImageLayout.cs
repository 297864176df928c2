using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// A frame's memory layout described uniformly for all formats: planes, where each component's samples lie in
/// them, the chroma subsampling and the value range. Both converters and both scalar references work from this one
/// description, so a new layout (a driver's plane offsets, a JPEG's subsampling) needs no new conversion code.
/// </summary>
internal sealed class ImageLayout
{
    private readonly PlaneLayout[] _planes;
    private readonly ComponentLayout[] _components;

    private ImageLayout(
        ImageKind kind, int width, int height, int chromaShiftX, int chromaShiftY, bool fullRange,
        PlaneLayout[] planes, ComponentLayout[] components)
    {
        Kind = kind;
        Width = width;
        Height = height;
        ChromaShiftX = chromaShiftX;
        ChromaShiftY = chromaShiftY;
        FullRange = fullRange;
        _planes = planes;
        _components = components;
        RequiredLength = checked((int)planes.Max(p => p.End));
    }

    public ImageKind Kind { get; }

    public int Width { get; }

    public int Height { get; }

    /// <summary>log2 of the horizontal chroma subsampling: 1 for 4:2:x, 0 for 4:4:4 and 4:4:0.</summary>
    public int ChromaShiftX { get; }

    /// <summary>log2 of the vertical chroma subsampling: 1 for 4:2:0 and 4:4:0, 0 otherwise.</summary>
    public int ChromaShiftY { get; }

    /// <summary>
    /// Whether samples use the full 0-255 range (JFIF JPEG) rather than BT.601 limited range (16-235 luma, 16-240
    /// chroma), which is what V4L2 assumes for YUV formats and what the guest is told.
    /// </summary>
    public bool FullRange { get; }

    /// <summary>Whether the frame has chroma at all (a greyscale JPEG has none).</summary>
    public bool HasChroma => Kind != ImageKind.Gray;

    /// <summary>The bytes a buffer must hold for every visible sample to be inside it.</summary>
    public int RequiredLength { get; }

    public int PlaneCount => _planes.Length;

    public PlaneLayout Plane(int index) => _planes[index];

    /// <summary>Component 0 = Y, 1 = Cb, 2 = Cr.</summary>
    public ComponentLayout Component(int index) => _components[index];

    /// <summary>Component <paramref name="index"/>'s width in samples for an image <paramref name="width"/> wide.</summary>
    public int ComponentWidth(int index, int width) => index == 0 ? width : width >> ChromaShiftX;

    /// <summary>Component <paramref name="index"/>'s height in samples for an image <paramref name="height"/> high.</summary>
    public int ComponentHeight(int index, int height) => index == 0 ? height : height >> ChromaShiftY;

    /// <summary>One sample, for the scalar references and tests.</summary>
    public byte Sample(ReadOnlySpan<byte> image, int component, int x, int y)
    {
        var c = _components[component];
        var p = _planes[c.Plane];
        return image[p.Offset + (y * p.Stride) + c.Offset + (x * c.Step)];
    }

    /// <summary>Writes one sample, for the scalar references and tests.</summary>
    public void SetSample(Span<byte> image, int component, int x, int y, byte value)
    {
        var c = _components[component];
        var p = _planes[c.Plane];
        image[p.Offset + (y * p.Stride) + c.Offset + (x * c.Step)] = value;
    }

    /// <summary>The layout of a validated raw host frame (limited range, as V4L2 defines raw YUV).</summary>
    public static ImageLayout ForHost(HostFrameFormat format)
    {
        PlaneLayout Plane(int index)
        {
            var (layout, rowBytes, rows) = format.PlaneGeometry(index);
            return new PlaneLayout(layout.Offset, layout.BytesPerLine, rows, rowBytes);
        }

        var (w, h) = (format.Width, format.Height);
        return format.PixelFormat switch
        {
            HostPixelFormats.Yuyv => Packed(ImageKind.Yuyv, w, h, Plane(0)),
            HostPixelFormats.Uyvy => Packed(ImageKind.Uyvy, w, h, Plane(0)),
            HostPixelFormats.Nv12 => SemiPlanar(w, h, Plane(0), Plane(1)),
            HostPixelFormats.Yu12 => Planar(ImageKind.I420, w, h, false, Plane(0), Plane(1), Plane(2)),
            _ => throw new ArgumentException($"{format} is not a raw format.", nameof(format)),
        };
    }

    /// <summary>The layout of a guest frame: <see cref="FrameFormat"/>'s packed planes, limited range.</summary>
    public static ImageLayout ForGuest(FrameFormat format)
    {
        // FrameFormat allows frames up to 4 GiB; the converters index frames with int and never need more than
        // the menu's 1920x1080, so the same size limit as for cameras applies.
        if (!format.IsValid || format.Width > HostFrameFormat.MaxDimension || format.Height > HostFrameFormat.MaxDimension)
        {
            throw new ArgumentException(
                $"{format} is not a valid guest format of at most {HostFrameFormat.MaxDimension} pixels a side.", nameof(format));
        }

        PlaneLayout Plane(int index) => new(
            (int)format.PlaneOffset(index), (int)format.PlaneBytesPerLine(index), (int)format.PlaneRows(index),
            (int)format.PlaneBytesPerLine(index));

        var (w, h) = ((int)format.Width, (int)format.Height);
        return format.PixelFormat switch
        {
            PixelFormats.Yuyv => Packed(ImageKind.Yuyv, w, h, Plane(0)),
            PixelFormats.Nv12 => SemiPlanar(w, h, Plane(0), Plane(1)),
            _ => Planar(ImageKind.I420, w, h, false, Plane(0), Plane(1), Plane(2)),
        };
    }

    /// <summary>
    /// A tightly packed planar frame of <paramref name="kind"/> (I420, I422, I444, I440 or Gray) starting at
    /// offset 0: the buffers libjpeg-turbo decodes into, and test images.
    /// </summary>
    public static ImageLayout ForPlanar(ImageKind kind, int width, int height, bool fullRange)
    {
        var (shiftX, shiftY) = Subsampling(kind);
        var luma = new PlaneLayout(0, width, height, width);
        if (kind == ImageKind.Gray)
        {
            return new ImageLayout(kind, width, height, 1, 1, fullRange, [luma], [new(0, 0, 1)]);
        }

        var (cw, ch) = (width >> shiftX, height >> shiftY);
        var cb = new PlaneLayout(width * height, cw, ch, cw);
        var cr = cb with { Offset = cb.Offset + (cw * ch) };
        return Planar(kind, width, height, fullRange, luma, cb, cr);
    }

    /// <summary>log2 of the chroma subsampling of a planar <paramref name="kind"/>.</summary>
    public static (int X, int Y) Subsampling(ImageKind kind) => kind switch
    {
        ImageKind.I444 => (0, 0),
        ImageKind.I440 => (0, 1),
        ImageKind.I422 or ImageKind.Yuyv or ImageKind.Uyvy => (1, 0),
        _ => (1, 1),
    };

    private static ImageLayout Packed(ImageKind kind, int w, int h, PlaneLayout plane)
    {
        // YUYV: Y0 Cb Y1 Cr; UYVY: Cb Y0 Cr Y1.
        var (y, cb, cr) = kind == ImageKind.Yuyv ? (0, 1, 3) : (1, 0, 2);
        return new ImageLayout(kind, w, h, 1, 0, false, [plane], [new(0, y, 2), new(0, cb, 4), new(0, cr, 4)]);
    }

    private static ImageLayout SemiPlanar(int w, int h, PlaneLayout luma, PlaneLayout chroma) =>
        new(ImageKind.Nv12, w, h, 1, 1, false, [luma, chroma], [new(0, 0, 1), new(1, 0, 2), new(1, 1, 2)]);

    private static ImageLayout Planar(
        ImageKind kind, int w, int h, bool fullRange, PlaneLayout luma, PlaneLayout cb, PlaneLayout cr)
    {
        var (shiftX, shiftY) = Subsampling(kind);
        return new ImageLayout(kind, w, h, shiftX, shiftY, fullRange, [luma, cb, cr], [new(0, 0, 1), new(1, 0, 1), new(2, 0, 1)]);
    }
}
