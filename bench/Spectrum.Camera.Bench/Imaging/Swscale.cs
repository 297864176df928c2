using System.Runtime.InteropServices;
using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Bench.Imaging;

/// <summary>
/// ffmpeg's libswscale, called in this process on the same frames: Debian 12's libswscale.so.6 and libavutil.so.57
/// (ffmpeg 5.1, installed with the ffmpeg package). Only what the comparison needs; every argument is a raw pointer
/// or an integer, so the calls marshal nothing.
/// </summary>
/// <remarks>
/// The pixel-format numbers are checked twice: they are the positions in enum AVPixelFormat of libavutil/pixfmt.h
/// (ffmpeg 5.1: YUV420P 0, YUYV422 1, YUVJ420P 12, YUVJ422P 13, NV12 23; compiled and printed against the
/// libavutil-dev 5.1 headers), and <see cref="PixelFormat"/> asks the loaded libavutil for each one by name
/// (av_get_pix_fmt) and refuses to run if the library disagrees. The flag values are those of libswscale/swscale.h.
/// </remarks>
internal static unsafe partial class Swscale
{
    private const string SwscaleLibrary = "libswscale.so.6";
    private const string AvutilLibrary = "libavutil.so.57";

    public const int AvPixFmtYuv420P = 0, AvPixFmtYuyv422 = 1, AvPixFmtYuvj420P = 12, AvPixFmtYuvj422P = 13, AvPixFmtNv12 = 23;

    /// <summary>SWS_AREA: the area (box) filter, the one our scaler implements for shrinking (docs/imaging.md).</summary>
    public const int FlagArea = 0x20;

    /// <summary>SWS_POINT: nearest neighbour, swscale's cheapest setting.</summary>
    public const int FlagPoint = 0x10;

    /// <summary>SWS_FAST_BILINEAR.</summary>
    public const int FlagFastBilinear = 0x1;

    [LibraryImport(SwscaleLibrary, EntryPoint = "sws_getContext")]
    public static partial nint GetContext(int srcW, int srcH, int srcFormat, int dstW, int dstH, int dstFormat, int flags, nint srcFilter, nint dstFilter, nint param);

    [LibraryImport(SwscaleLibrary, EntryPoint = "sws_scale")]
    public static partial int Scale(nint context, byte** srcSlice, int* srcStride, int srcSliceY, int srcSliceH, byte** dst, int* dstStride);

    [LibraryImport(SwscaleLibrary, EntryPoint = "sws_freeContext")]
    public static partial void FreeContext(nint context);

    [LibraryImport(SwscaleLibrary, EntryPoint = "swscale_version")]
    public static partial uint Version();

    /// <summary>AV_LOG_ERROR (libavutil/log.h).</summary>
    private const int LogError = 16;

    [LibraryImport(AvutilLibrary, EntryPoint = "av_log_set_level")]
    private static partial void SetLogLevel(int level);

    [LibraryImport(AvutilLibrary, EntryPoint = "av_get_pix_fmt", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int GetPixelFormat(string name);

    /// <summary>The AVPixelFormat for an ffmpeg name, checked against the header value this file was written with.</summary>
    public static int PixelFormat(string name, int expected)
    {
        // swscale warns on every context for the yuvj* formats ("deprecated pixel format used, make sure you did
        // set range correctly"); they are exactly how full-range JPEG planes are described to it.
        SetLogLevel(LogError);
        var actual = GetPixelFormat(name);
        return actual == expected
            ? actual
            : throw new InvalidOperationException($"libavutil says AV_PIX_FMT '{name}' is {actual}, the bindings assumed {expected}");
    }

    /// <summary>"6.7.100" from LIBSWSCALE_VERSION_INT.</summary>
    public static string VersionString()
    {
        var v = Version();
        return $"{v >> 16}.{(v >> 8) & 0xFF}.{v & 0xFF}";
    }
}

/// <summary>A swscale context for one conversion, with the plane pointer and stride arrays it takes, built once.</summary>
internal sealed unsafe class SwscaleContext : IDisposable
{
    private readonly nint _context;
    private readonly int _sourceHeight;
    private readonly byte** _source;
    private readonly int* _sourceStrides;
    private readonly byte** _destination;
    private readonly int* _destinationStrides;

    public SwscaleContext(PlanarImage source, PlanarImage destination, int flags)
        : this(source, new CropRegion(0, 0, source?.Width ?? 0, source?.Height ?? 0), destination, flags)
    {
    }

    /// <summary>A context that scales the part <paramref name="crop"/> of <paramref name="source"/> to the whole destination.</summary>
    public SwscaleContext(PlanarImage source, CropRegion crop, PlanarImage destination, int flags)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        _context = Swscale.GetContext(crop.Width, crop.Height, source.AvPixelFormat, destination.Width, destination.Height,
            destination.AvPixelFormat, flags, 0, 0, 0);
        if (_context == 0)
        {
            throw new InvalidOperationException($"sws_getContext refused {source} -> {destination}");
        }

        _sourceHeight = crop.Height;
        _source = (byte**)NativeMemory.AllocZeroed(4, (nuint)sizeof(nint));
        _sourceStrides = (int*)NativeMemory.AllocZeroed(4, sizeof(int));
        _destination = (byte**)NativeMemory.AllocZeroed(4, (nuint)sizeof(nint));
        _destinationStrides = (int*)NativeMemory.AllocZeroed(4, sizeof(int));
        source.Describe(_source, _sourceStrides, crop);
        destination.Describe(_destination, _destinationStrides);
    }

    /// <summary>Converts the whole source frame into the destination; returns the rows written.</summary>
    public int Convert()
    {
        var rows = Swscale.Scale(_context, _source, _sourceStrides, 0, _sourceHeight, _destination, _destinationStrides);
        return rows > 0 ? rows : throw new InvalidOperationException($"sws_scale returned {rows}");
    }

    public void Dispose()
    {
        Swscale.FreeContext(_context);
        NativeMemory.Free(_source);
        NativeMemory.Free(_sourceStrides);
        NativeMemory.Free(_destination);
        NativeMemory.Free(_destinationStrides);
    }
}
