using System.Diagnostics.CodeAnalysis;

namespace Spectrum.Camera.Frames;

/// <summary>
/// The V4L2 pixel formats the camera can produce, as their raw 32-bit fourcc values. They are plain
/// <see cref="uint"/> constants rather than an enum because they travel unchanged in <c>v4l2_pix_format</c>,
/// <c>v4l2_fmtdesc</c> and the enumeration ioctls, and the ioctl handlers switch on the wire value.
/// </summary>
public static class PixelFormats
{
    /// <summary>V4L2_PIX_FMT_YUYV: packed 4:2:2, bytes Y0 Cb Y1 Cr per pixel pair.</summary>
    public const uint Yuyv = 'Y' | ((uint)'U' << 8) | ((uint)'Y' << 16) | ((uint)'V' << 24);

    /// <summary>V4L2_PIX_FMT_NV12: a Y plane, then one plane of interleaved Cb Cr at half resolution both ways.</summary>
    public const uint Nv12 = 'N' | ((uint)'V' << 8) | ((uint)'1' << 16) | ((uint)'2' << 24);

    /// <summary>V4L2_PIX_FMT_YUV420 ('YU12', the I420 layout): Y plane, then Cb plane, then Cr plane, chroma halved both ways.</summary>
    public const uint Yu12 = 'Y' | ((uint)'U' << 8) | ((uint)'1' << 16) | ((uint)'2' << 24);

    // The descriptions the guest kernel's v4l_fill_fmtdesc writes for these fourccs. Since
    // "media: v4l2-ioctl.c: Unify YCbCr/YUV terms" (6.2, backported to 6.0/6.1 stable) NV12 is "Y/UV 4:2:0";
    // older kernels said "Y/CbCr 4:2:0". The guest's V4L2 core overwrites the description of every fourcc it
    // knows after the driver answers, so these only matter for host-side logs and tests, and matching the kernel
    // keeps the two from disagreeing.
    private const string YuyvDescription = "YUYV 4:2:2";
    private const string Nv12Description = "Y/UV 4:2:0";
    private const string Yu12Description = "Planar YUV 4:2:0";

    /// <summary>Every format this project can render, in the default menu order.</summary>
    public static IReadOnlyList<uint> Supported { get; } = [Yuyv, Nv12, Yu12];

    /// <summary>Whether <paramref name="pixelFormat"/> is one the sources can render.</summary>
    public static bool IsSupported(uint pixelFormat) => pixelFormat is Yuyv or Nv12 or Yu12;

    /// <summary>
    /// The ENUM_FMT description (at most 31 ASCII characters, so it fits <c>v4l2_fmtdesc.description[32]</c>).
    /// A format this project does not support gets its fourcc, as the kernel falls back to for unknown formats.
    /// </summary>
    public static string Describe(uint pixelFormat) => pixelFormat switch
    {
        Yuyv => YuyvDescription,
        Nv12 => Nv12Description,
        Yu12 => Yu12Description,
        _ => ToFourccString(pixelFormat),
    };

    /// <summary>The fourcc of four characters, as the kernel's <c>v4l2_fourcc(a, b, c, d)</c> macro builds it.</summary>
    public static uint FromChars(char a, char b, char c, char d)
    {
        if (a > 0x7F || b > 0x7F || c > 0x7F || d > 0x7F)
        {
            throw new ArgumentException("A fourcc is made of ASCII characters.");
        }

        return a | ((uint)b << 8) | ((uint)c << 16) | ((uint)d << 24);
    }

    /// <summary>
    /// The four characters of a fourcc, for logs and the menu syntax. Characters that are not printable ASCII
    /// show as '.', and a set bit 31 (V4L2's big-endian variant flag) adds "-BE", as the kernel's %p4cc does,
    /// so a garbage value from a guest still prints as something readable.
    /// </summary>
    public static string ToFourccString(uint pixelFormat)
    {
        Span<char> chars = stackalloc char[7];
        for (var i = 0; i < 4; i++)
        {
            var c = (char)((pixelFormat >> (8 * i)) & 0x7F);
            chars[i] = c is >= ' ' and <= '~' ? c : '.';
        }

        if ((pixelFormat & 0x8000_0000u) == 0)
        {
            return new string(chars[..4]);
        }

        "-BE".AsSpan().CopyTo(chars[4..]);
        return new string(chars);
    }

    /// <summary>
    /// Parses exactly four printable ASCII characters (case-sensitive, as fourccs are; a trailing space is a
    /// real character in fourccs such as 'Y16 ') into a fourcc. Does not check that the format is supported.
    /// </summary>
    public static bool TryParseFourcc(ReadOnlySpan<char> text, out uint pixelFormat)
    {
        pixelFormat = 0;
        if (text.Length != 4)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }

        pixelFormat = FromChars(text[0], text[1], text[2], text[3]);
        return true;
    }

    /// <summary>Parses a fourcc like <see cref="TryParseFourcc"/>, throwing <see cref="FormatException"/> on bad input.</summary>
    public static uint ParseFourcc([NotNull] string? text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryParseFourcc(text, out var pixelFormat))
        {
            throw new FormatException($"'{text}' is not a fourcc (exactly four printable ASCII characters).");
        }

        return pixelFormat;
    }
}
