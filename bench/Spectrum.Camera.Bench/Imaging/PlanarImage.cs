using System.Runtime.InteropServices;
using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Bench.Imaging;

/// <summary>
/// One packed frame (planes in order, no padding: the guest layout <see cref="FrameFormat"/> defines, which is also
/// how ffmpeg's rawvideo lays them out) in 64-byte aligned native memory, so that swscale and our converter read and
/// write the very same kind of buffer, and swscale never takes its unaligned slow path.
/// </summary>
internal sealed unsafe class PlanarImage : IDisposable
{
    private readonly byte* _data;

    /// <summary>A frame of a guest fourcc (YUYV, NV12, YU12).</summary>
    public PlanarImage(uint fourcc, int width, int height, int avPixelFormat)
        : this(fourcc, width, height, avPixelFormat, fourcc switch
        {
            HostPixelFormats.Yuyv => [(0, 2 * width, height)],
            HostPixelFormats.Nv12 => [(0, width, height), (width * height, width, height / 2)],
            HostPixelFormats.Yu12 => ThreePlanes(width, height, height / 2),
            _ => throw new ArgumentOutOfRangeException(nameof(fourcc)),
        })
    {
    }

    private PlanarImage(uint fourcc, int width, int height, int avPixelFormat, (int Offset, int Stride, int Rows)[] planes)
    {
        (Fourcc, Width, Height, AvPixelFormat, Planes) = (fourcc, width, height, avPixelFormat, planes);
        Length = Planes.Sum(p => p.Stride * p.Rows);
        _data = (byte*)NativeMemory.AlignedAlloc((nuint)Length, 64);
        Span.Clear();
    }

    /// <summary>
    /// Three planes with chroma halved horizontally and <paramref name="chromaRows"/> rows (height for 4:2:2,
    /// height/2 for 4:2:0): libjpeg-turbo's planar YUV output, which swscale reads as yuvj422p/yuvj420p.
    /// </summary>
    public static PlanarImage JpegPlanes(int width, int height, int chromaRows, int avPixelFormat) =>
        new(0, width, height, avPixelFormat, ThreePlanes(width, height, chromaRows));

    /// <summary>The guest fourcc, or 0 for libjpeg-turbo's planes.</summary>
    public uint Fourcc { get; }

    public int Width { get; }

    public int Height { get; }

    public int AvPixelFormat { get; }

    public int Length { get; }

    public (int Offset, int Stride, int Rows)[] Planes { get; }

    public Span<byte> Span => new(_data, Length);

    public FrameFormat GuestFormat => new(Fourcc, (uint)Width, (uint)Height);

    public HostFrameFormat HostFormat => HostFrameFormat.Packed(Fourcc, Width, Height);

    /// <summary>Fills swscale's plane pointer and stride arrays.</summary>
    public void Describe(byte** planes, int* strides) => Describe(planes, strides, new CropRegion(0, 0, Width, Height));

    /// <summary>
    /// Fills swscale's plane pointer and stride arrays for the part <paramref name="crop"/> of this frame (even origin),
    /// so that swscale scales the same pixels as a converter that crops.
    /// </summary>
    public void Describe(byte** planes, int* strides, CropRegion crop)
    {
        for (var i = 0; i < Planes.Length; i++)
        {
            // Bytes per pixel of the plane's rows, and its rows per pixel row: YUYV 2; luma 1; NV12 chroma 1 (Cb Cr
            // pairs for two pixels), half the rows; planar chroma 1/2, half the rows (4:2:0) or all of them (4:2:2).
            var (x, y) = (Fourcc, i) switch
            {
                (HostPixelFormats.Yuyv, _) => (2 * crop.X, crop.Y),
                (_, 0) => (crop.X, crop.Y),
                (HostPixelFormats.Nv12, _) => (crop.X, crop.Y / 2),
                _ => (crop.X / 2, Planes[i].Rows == Height ? crop.Y : crop.Y / 2),
            };
            planes[i] = _data + Planes[i].Offset + ((long)y * Planes[i].Stride) + x;
            strides[i] = Planes[i].Stride;
        }
    }

    private static (int Offset, int Stride, int Rows)[] ThreePlanes(int width, int height, int chromaRows) =>
        [(0, width, height), (width * height, width / 2, chromaRows), ((width * height) + (width / 2 * chromaRows), width / 2, chromaRows)];

    public override string ToString() => $"{(Fourcc == 0 ? "jpeg-planes" : PixelFormats.ToFourccString(Fourcc))} {Width}x{Height}";

    public void Dispose() => NativeMemory.AlignedFree(_data);
}
