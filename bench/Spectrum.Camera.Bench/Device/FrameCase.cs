using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Bench.Device;

/// <summary>
/// A guest format and size the frame benchmarks stream, and how the guest's buffer pages lie: every other 4 KiB page
/// (the worst case, <see cref="PagesPerRun"/> 1), or physically contiguous runs of <see cref="PagesPerRun"/> pages
/// with a free page between runs. Either way the guest sends one SG entry per page; the device merges a run's
/// entries into one range when it accepts the buffer.
/// </summary>
public sealed record FrameCase(uint PixelFormat, uint Width, uint Height, int PagesPerRun = 1)
{
    /// <summary>The run length of the contiguous-runs cases: 64 KiB, short next to what a guest's allocator gives.</summary>
    public const int RunPages = 16;

    /// <summary>
    /// The 1080p and 720p cases have the 1.3x wall-clock target; the small 320x240 frame is a diagnosis: with little
    /// to copy, what it costs is the path's fixed cost (timer, event, wake-ups).
    /// </summary>
    public bool HasTarget => Width >= 1280;

    /// <summary>The contiguous-runs cases also have the device-thread CPU target (1.1x the memcpy).</summary>
    public bool HasCpuTarget => PagesPerRun > 1;

    public FrameFormat Format => new(PixelFormat, Width, Height);

    /// <summary>The metric key: "nv12_1920x1080", "nv12_1920x1080_runs64k".</summary>
    public string Key => $"{PixelFormats.ToFourccString(PixelFormat).ToLowerInvariant()}_{Width}x{Height}" +
        (PagesPerRun > 1 ? $"_runs{PagesPerRun * 4}k" : "");

    /// <summary>Guest RAM for the buffers (each spans twice its size: every other page), the memcpy targets and rings.</summary>
    public ulong RamFor(int buffers) => (3UL * (ulong)buffers * Format.SizeImage) + (64UL << 20);

    public override string ToString() =>
        $"{PixelFormats.ToFourccString(PixelFormat)} {Width}x{Height}" + (PagesPerRun > 1 ? $" runs {PagesPerRun * 4}K" : "");

    public static IEnumerable<FrameCase> All { get; } =
    [
        new(PixelFormats.Nv12, 1920, 1080),
        new(PixelFormats.Nv12, 1280, 720),
        new(PixelFormats.Yuyv, 1920, 1080),
        new(PixelFormats.Yuyv, 1280, 720),
        new(PixelFormats.Nv12, 320, 240),
        new(PixelFormats.Nv12, 1920, 1080, RunPages),
        new(PixelFormats.Yuyv, 1920, 1080, RunPages),
    ];
}
