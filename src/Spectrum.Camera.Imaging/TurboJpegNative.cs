using System.Runtime.InteropServices;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// The TurboJPEG 2.x C API calls the MJPEG decoder needs, bound from Debian's <c>libturbojpeg0</c> (the exported
/// symbols were checked with <c>nm -D libturbojpeg.so.0</c>: tjInitDecompress, tjDecompressHeader3,
/// tjDecompressToYUVPlanes, tjGetErrorStr2, tjGetErrorCode, tjDestroy). Spans are pinned by the generated stubs;
/// nothing here allocates. <c>unsigned long</c> is 64-bit on Linux (LP64), hence <see cref="nuint"/>.
/// </summary>
internal static partial class TurboJpegNative
{
    public const string Library = "libturbojpeg.so.0";

    /// <summary>TJFLAG_STOPONWARNING: abort on the first libjpeg warning (a truncated or damaged stream).</summary>
    public const int FlagStopOnWarning = 8192;

    /// <summary>TJFLAG_LIMITSCANS: refuse progressive JPEGs with absurdly many scans (a known decode-time DoS).</summary>
    public const int FlagLimitScans = 32768;

    /// <summary>TJCS_YCbCr.</summary>
    public const int ColorspaceYCbCr = 1;

    /// <summary>TJCS_GRAY.</summary>
    public const int ColorspaceGray = 2;

    /// <summary>A new decompressor instance, or 0 on allocation failure; <see cref="TurboJpegHandle"/> owns it.</summary>
    [LibraryImport(Library, EntryPoint = "tjInitDecompress")]
    public static partial nint InitDecompress();

    [LibraryImport(Library, EntryPoint = "tjDecompressHeader3")]
    public static partial int DecompressHeader(
        TurboJpegHandle handle, ReadOnlySpan<byte> jpeg, nuint jpegSize,
        ref int width, ref int height, ref int subsampling, ref int colorspace);

    /// <param name="planes">Three plane addresses (Y, Cb, Cr); only Y for greyscale.</param>
    /// <param name="strides">Bytes per row of each plane.</param>
    [LibraryImport(Library, EntryPoint = "tjDecompressToYUVPlanes")]
    public static partial int DecompressToYuvPlanes(
        TurboJpegHandle handle, ReadOnlySpan<byte> jpeg, nuint jpegSize,
        ReadOnlySpan<nint> planes, int width, ReadOnlySpan<int> strides, int height, int flags);

    /// <summary>The handle's last error message; the string belongs to the handle and changes with its next call.</summary>
    [LibraryImport(Library, EntryPoint = "tjGetErrorStr2")]
    public static partial nint GetErrorString(TurboJpegHandle handle);

    [LibraryImport(Library, EntryPoint = "tjDestroy")]
    public static partial int Destroy(nint handle);
}
