using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Bench.Device;

/// <summary>A guest format and size the frame benchmarks stream.</summary>
public sealed record FrameCase(uint PixelFormat, uint Width, uint Height)
{
    /// <summary>
    /// The cases (1080p and 720p, NV12 and YUYV) have the 1.3x target; the small 320x240 frame is a
    /// diagnosis: with little to copy, what it costs is the path's fixed cost (timer, event, wake-ups).
    /// </summary>
    public bool HasTarget => Width >= 1280;

    public FrameFormat Format => new(PixelFormat, Width, Height);

    /// <summary>The metric key: "nv12_1920x1080".</summary>
    public string Key => $"{PixelFormats.ToFourccString(PixelFormat).ToLowerInvariant()}_{Width}x{Height}";

    /// <summary>Guest RAM for the buffers (each spans twice its size: every other page), the memcpy targets and rings.</summary>
    public ulong RamFor(int buffers) => (3UL * (ulong)buffers * Format.SizeImage) + (64UL << 20);

    public override string ToString() => $"{PixelFormats.ToFourccString(PixelFormat)} {Width}x{Height}";

    public static IEnumerable<FrameCase> All { get; } =
    [
        new(PixelFormats.Nv12, 1920, 1080),
        new(PixelFormats.Nv12, 1280, 720),
        new(PixelFormats.Yuyv, 1920, 1080),
        new(PixelFormats.Yuyv, 1280, 720),
        new(PixelFormats.Nv12, 320, 240),
    ];
}
