using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Bench.Imaging;

/// <summary>
/// A raw conversion: camera format and size to guest format and size (all 4:2:x, BT.601 limited range), the target
/// its paired speed-up over libswscale carries, and whether BenchmarkDotNet measures it too.
/// </summary>
public sealed record ConversionCase(
    string Key, string Label, uint SourceFourcc, int SourceWidth, int SourceHeight, uint DestinationFourcc, int Width, int Height,
    string Target, bool Benchmarked)
{
    /// <summary>
    /// The unscaled 1080p conversions (NV12 to I420 is a copy plus a deinterleave: at least as fast as
    /// swscale is the target there), then the scaler: every guest format it must serve at 1080p to 720p and 1080p to
    /// 480p (BenchmarkDotNet and paired), and the menu's other downscales from 1080p, 720p and 480p cameras (paired
    /// only, which carries the target; BenchmarkDotNet would add a quarter of an hour).
    /// </summary>
    public static IReadOnlyList<ConversionCase> All { get; } =
    [
        new("yuyv_to_nv12_1080p", "YUYV>NV12 1080p", HostPixelFormats.Yuyv, 1920, 1080, HostPixelFormats.Nv12, 1920, 1080, ">= 1.5", true),
        new("yuyv_to_i420_1080p", "YUYV>I420 1080p", HostPixelFormats.Yuyv, 1920, 1080, HostPixelFormats.Yu12, 1920, 1080, ">= 1.5", true),
        new("nv12_to_i420_1080p", "NV12>I420 1080p", HostPixelFormats.Nv12, 1920, 1080, HostPixelFormats.Yu12, 1920, 1080, ">= 1.0", true),
        .. Scaled((1920, 1080), (1280, 720), benchmarked: true),
        .. Scaled((1920, 1080), (640, 480), benchmarked: true),
        .. Scaled((1920, 1080), (320, 240), benchmarked: false),
        .. Scaled((1280, 720), (640, 480), benchmarked: false),
        .. Scaled((1280, 720), (320, 240), benchmarked: false),
        .. Scaled((640, 480), (320, 240), benchmarked: false),
    ];

    /// <summary>The cases BenchmarkDotNet runs.</summary>
    public static IEnumerable<ConversionCase> BenchmarkedCases => All.Where(c => c.Benchmarked);

    public bool Scales => SourceWidth != Width || SourceHeight != Height;

    /// <summary>docs/imaging.md's measured agreement with swscale: identical unscaled, within 2 when shrinking (packed YUYV output included).</summary>
    public int Tolerance => Scales ? 2 : 1;

    internal PlanarImage NewSource() => new(SourceFourcc, SourceWidth, SourceHeight, Swscale.PixelFormat(AvName(SourceFourcc), AvNumber(SourceFourcc)));

    internal PlanarImage NewDestination() => new(DestinationFourcc, Width, Height, Swscale.PixelFormat(AvName(DestinationFourcc), AvNumber(DestinationFourcc)));

    /// <summary>ffmpeg's name for a fourcc's layout, as the test frames are generated in.</summary>
    internal static string AvName(uint fourcc) => fourcc switch
    {
        HostPixelFormats.Nv12 => "nv12",
        HostPixelFormats.Yu12 => "yuv420p",
        _ => "yuyv422",
    };

    /// <summary>Short enough for BenchmarkDotNet's parameter column (it abbreviates past 20 characters).</summary>
    public override string ToString() => Label;

    private static int AvNumber(uint fourcc) => fourcc switch
    {
        HostPixelFormats.Nv12 => Swscale.AvPixFmtNv12,
        HostPixelFormats.Yu12 => Swscale.AvPixFmtYuv420P,
        _ => Swscale.AvPixFmtYuyv422,
    };

    // The five pairs the scaler must serve: NV12 and YUYV cameras to NV12 guests, YUYV to YUYV, YUYV and NV12 to I420.
    private static IEnumerable<ConversionCase> Scaled((int W, int H) from, (int W, int H) to, bool benchmarked) =>
        new[]
        {
            (HostPixelFormats.Nv12, HostPixelFormats.Nv12), (HostPixelFormats.Yuyv, HostPixelFormats.Nv12),
            (HostPixelFormats.Yuyv, HostPixelFormats.Yuyv), (HostPixelFormats.Yuyv, HostPixelFormats.Yu12),
            (HostPixelFormats.Nv12, HostPixelFormats.Yu12),
        }.Select(pair =>
        {
            var (source, guest) = (Name(pair.Item1), Name(pair.Item2));
            return new ConversionCase(
                $"{source}_{from.H}p_to_{guest}_{to.H}p", $"{source.ToUpperInvariant()}>{guest.ToUpperInvariant()} {from.H}>{to.H}",
                pair.Item1, from.W, from.H, pair.Item2, to.W, to.H, ">= 1.5", benchmarked);
        });

    private static string Name(uint fourcc) => fourcc switch
    {
        HostPixelFormats.Nv12 => "nv12",
        HostPixelFormats.Yu12 => "i420",
        _ => "yuyv",
    };
}
