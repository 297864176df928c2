using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// The V4L2 fourccs a host camera commonly produces and <see cref="FrameConverter"/> accepts. Kept apart from
/// <see cref="PixelFormats"/>, which lists what the guest may be offered: a camera-only format such as UYVY or MJPEG
/// must never reach the guest's menu.
/// </summary>
public static class HostPixelFormats
{
    /// <summary>V4L2_PIX_FMT_YUYV: packed 4:2:2, Y0 Cb Y1 Cr.</summary>
    public const uint Yuyv = PixelFormats.Yuyv;

    /// <summary>V4L2_PIX_FMT_UYVY: packed 4:2:2, Cb Y0 Cr Y1.</summary>
    public const uint Uyvy = 'U' | ((uint)'Y' << 8) | ((uint)'V' << 16) | ((uint)'Y' << 24);

    /// <summary>V4L2_PIX_FMT_NV12: Y plane, then interleaved Cb Cr at half resolution both ways.</summary>
    public const uint Nv12 = PixelFormats.Nv12;

    /// <summary>V4L2_PIX_FMT_YUV420 ('YU12', I420): Y, Cb and Cr planes, chroma halved both ways.</summary>
    public const uint Yu12 = PixelFormats.Yu12;

    /// <summary>V4L2_PIX_FMT_MJPEG: every frame a complete JPEG (baseline, usually 4:2:2 or 4:2:0).</summary>
    public const uint Mjpeg = 'M' | ((uint)'J' << 8) | ((uint)'P' << 16) | ((uint)'G' << 24);

    /// <summary>V4L2_PIX_FMT_JPEG: what some drivers call the same thing as <see cref="Mjpeg"/>.</summary>
    public const uint Jpeg = 'J' | ((uint)'P' << 8) | ((uint)'E' << 16) | ((uint)'G' << 24);

    /// <summary>Whether <paramref name="pixelFormat"/> is one a <see cref="FrameConverter"/> can take.</summary>
    public static bool IsSupported(uint pixelFormat) => pixelFormat is Yuyv or Uyvy or Nv12 or Yu12 or Mjpeg or Jpeg;

    /// <summary>Whether frames of <paramref name="pixelFormat"/> are JPEG-compressed rather than raw pixels.</summary>
    public static bool IsJpeg(uint pixelFormat) => pixelFormat is Mjpeg or Jpeg;
}
