using System.Runtime.InteropServices;

namespace Spectrum.Camera.Bench.Imaging;

/// <summary>
/// libjpeg-turbo's TurboJPEG API called directly (Debian 12's libturbojpeg.so.0, libjpeg-turbo 2.1.5): the baseline
/// decode the project's MJPEG path is compared with. Signatures from turbojpeg.h 2.1 (<c>unsigned long</c> is 64-bit
/// on Linux); the flags are the ones the project's decoder passes, so both decode the same way.
/// </summary>
internal static unsafe partial class TurboJpeg
{
    private const string Library = "libturbojpeg.so.0";

    /// <summary>TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS, as src/Spectrum.Camera.Imaging/MjpegDecoder.cs decodes.</summary>
    public const int DecodeFlags = 8192 | 32768;

    [LibraryImport(Library, EntryPoint = "tjInitDecompress")]
    public static partial nint InitDecompress();

    [LibraryImport(Library, EntryPoint = "tjDecompressHeader3")]
    public static partial int DecompressHeader(nint handle, byte* jpeg, nuint jpegSize, int* width, int* height, int* subsampling, int* colorspace);

    /// <summary>Decodes to one buffer of planar YUV at the JPEG's own subsampling (Y, then Cb, then Cr; rows padded to <paramref name="pad"/>).</summary>
    [LibraryImport(Library, EntryPoint = "tjDecompressToYUV2")]
    public static partial int DecompressToYuv2(nint handle, byte* jpeg, nuint jpegSize, byte* destination, int width, int pad, int height, int flags);

    [LibraryImport(Library, EntryPoint = "tjDestroy")]
    public static partial int Destroy(nint handle);
}

/// <summary>A TurboJPEG decompressor decoding one JPEG (pinned in native memory) into a <see cref="PlanarImage"/>.</summary>
internal sealed unsafe class TurboJpegDecoder : IDisposable
{
    private readonly nint _handle = TurboJpeg.InitDecompress();
    private readonly byte* _jpeg;
    private readonly nuint _jpegLength;
    private readonly PlanarImage _planes;

    public TurboJpegDecoder(ReadOnlySpan<byte> jpeg, PlanarImage planes)
    {
        if (_handle == 0)
        {
            throw new InvalidOperationException("tjInitDecompress failed");
        }

        _jpegLength = (nuint)jpeg.Length;
        _jpeg = (byte*)NativeMemory.AlignedAlloc(_jpegLength, 64);
        jpeg.CopyTo(new Span<byte>(_jpeg, jpeg.Length));
        _planes = planes;
    }

    /// <summary>Header, then planar decode: what a caller of libjpeg-turbo does per frame.</summary>
    public void Decode()
    {
        int width, height, subsampling, colorspace;
        if (TurboJpeg.DecompressHeader(_handle, _jpeg, _jpegLength, &width, &height, &subsampling, &colorspace) != 0 ||
            width != _planes.Width || height != _planes.Height)
        {
            throw new InvalidOperationException("tjDecompressHeader3 failed");
        }

        fixed (byte* destination = _planes.Span)
        {
            if (TurboJpeg.DecompressToYuv2(_handle, _jpeg, _jpegLength, destination, width, 4, height, TurboJpeg.DecodeFlags) != 0)
            {
                throw new InvalidOperationException("tjDecompressToYUV2 failed");
            }
        }
    }

    public void Dispose()
    {
        _ = TurboJpeg.Destroy(_handle);
        NativeMemory.AlignedFree(_jpeg);
    }
}
