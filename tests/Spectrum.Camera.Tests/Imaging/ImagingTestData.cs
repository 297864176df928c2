using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>Frames and layouts the imaging tests share: padded host formats, random frames, first-difference reports.</summary>
internal static class ImagingTestData
{
    public static readonly uint[] RawSources = [HostPixelFormats.Yuyv, HostPixelFormats.Uyvy, HostPixelFormats.Nv12, HostPixelFormats.Yu12];

    public static readonly uint[] GuestFormats = [PixelFormats.Yuyv, PixelFormats.Nv12, PixelFormats.Yu12];

    /// <summary>
    /// A host format with every plane's stride <paramref name="padding"/> bytes longer than its rows and the planes
    /// <paramref name="padding"/> bytes apart (the first one <paramref name="padding"/> bytes in); 0 is the tight
    /// V4L2 layout. Odd paddings make odd strides, which no vector alignment can rely on.
    /// </summary>
    public static HostFrameFormat Host(uint fourcc, int width, int height, int padding)
    {
        if (padding == 0)
        {
            return HostFrameFormat.Packed(fourcc, width, height);
        }

        switch (fourcc)
        {
            case HostPixelFormats.Nv12:
            {
                var luma = new HostPlane(padding, width + padding);
                return new HostFrameFormat(fourcc, width, height, luma, new HostPlane(End(luma, height) + padding, width + padding));
            }

            case HostPixelFormats.Yu12:
            {
                var luma = new HostPlane(padding, width + padding);
                var cb = new HostPlane(End(luma, height) + padding, (width / 2) + padding);
                var cr = new HostPlane(End(cb, height / 2) + padding, (width / 2) + padding + 1);
                return new HostFrameFormat(fourcc, width, height, luma, cb, cr);
            }

            default:
                return new HostFrameFormat(fourcc, width, height, new HostPlane(padding, (2 * width) + padding));
        }
    }

    /// <summary>Bytes of random content, padding included, so a kernel that read padding would show it.</summary>
    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Null when equal, else where and how the first difference is, for assertion messages.</summary>
    public static string? FirstDifference(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        if (expected.Length != actual.Length)
        {
            return $"lengths {expected.Length} and {actual.Length}";
        }

        for (var i = 0; i < expected.Length; i++)
        {
            if (expected[i] != actual[i])
            {
                return $"byte {i}: expected {expected[i]}, got {actual[i]}";
            }
        }

        return null;
    }

    /// <summary>What the scalar references make of <paramref name="frame"/>: the unscaled rules where they apply, else the scaler.</summary>
    public static byte[] Reference(ImageLayout source, ReadOnlySpan<byte> frame, CropRegion crop, ImageLayout destination)
    {
        var expected = new byte[destination.RequiredLength];
        if (ScalarReferenceConverter.Supports(source, crop, destination))
        {
            ScalarReferenceConverter.Convert(source, frame, crop, destination, expected);
        }
        else
        {
            ScalarReferenceScaler.Convert(source, frame, crop, destination, expected);
        }

        return expected;
    }

    private static int End(HostPlane plane, int rows) => plane.Offset + (plane.BytesPerLine * rows);
}
