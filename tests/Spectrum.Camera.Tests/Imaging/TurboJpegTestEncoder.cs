using System.Runtime.InteropServices;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>
/// Greyscale JPEGs for the tests, from libturbojpeg's encoder: ffmpeg's MJPEG encoder has no greyscale mode, and
/// webcams in black-and-white modes do send single-component JPEGs.
/// </summary>
internal static partial class TurboJpegTestEncoder
{
    private const string Library = "libturbojpeg.so.0";
    private const int PixelFormatGray = 6;
    private const int SubsamplingGray = 3;

    public static byte[] Grey(byte[] pixels, int width, int height, int quality = 95)
    {
        var handle = InitCompress();
        Assert.That(handle, Is.Not.Zero);
        nint jpeg = 0;
        nuint size = 0;
        try
        {
            Assert.That(Compress(handle, pixels, width, width, height, PixelFormatGray, ref jpeg, ref size, SubsamplingGray, quality, 0), Is.Zero);
            var result = new byte[(int)size];
            Marshal.Copy(jpeg, result, 0, result.Length);
            return result;
        }
        finally
        {
            Free(jpeg);
            _ = Destroy(handle);
        }
    }

    [LibraryImport(Library, EntryPoint = "tjInitCompress")]
    private static partial nint InitCompress();

    [LibraryImport(Library, EntryPoint = "tjCompress2")]
    private static partial int Compress(
        nint handle, ReadOnlySpan<byte> source, int width, int pitch, int height, int pixelFormat,
        ref nint jpeg, ref nuint jpegSize, int subsampling, int quality, int flags);

    [LibraryImport(Library, EntryPoint = "tjFree")]
    private static partial void Free(nint buffer);

    [LibraryImport(Library, EntryPoint = "tjDestroy")]
    private static partial int Destroy(nint handle);
}
