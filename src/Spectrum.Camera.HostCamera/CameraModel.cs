using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Host;

/// <summary>How a driver describes a format's frame sizes (VIDIOC_ENUM_FRAMESIZES type).</summary>
public enum FrameSizeKind
{
    Discrete,
    Stepwise,
    Continuous,
}

/// <summary>A stepwise or continuous frame size range (continuous: steps of 1).</summary>
public readonly record struct SizeRange(uint MinWidth, uint MaxWidth, uint StepWidth, uint MinHeight, uint MaxHeight, uint StepHeight)
{
    /// <summary>Whether <paramref name="width"/> x <paramref name="height"/> lies on the range's grid.</summary>
    public bool Contains(uint width, uint height) =>
        width >= MinWidth && width <= MaxWidth && height >= MinHeight && height <= MaxHeight
        && (StepWidth <= 1 || (width - MinWidth) % StepWidth == 0)
        && (StepHeight <= 1 || (height - MinHeight) % StepHeight == 0);

    /// <summary>"64x64-1920x1080 step 8x8" (continuous ranges have no step).</summary>
    public override string ToString() =>
        $"{MinWidth}x{MinHeight}-{MaxWidth}x{MaxHeight}" + (StepWidth <= 1 && StepHeight <= 1 ? "" : $" step {StepWidth}x{StepHeight}");
}

/// <summary>A stepwise or continuous interval range: <see cref="Fastest"/> is the shortest time per frame.</summary>
public readonly record struct IntervalRange(FrameRate Fastest, FrameRate Slowest, FrameRate Step);

/// <summary>One frame size of a format and the frame intervals the camera offers at it, fastest first.</summary>
public sealed record CameraFrameSize(uint Width, uint Height, IReadOnlyList<FrameRate> Intervals, IntervalRange? IntervalRange = null);

/// <summary>
/// One pixel format of a camera. For stepwise and continuous sizes, <see cref="Sizes"/> holds the range's minimum and
/// maximum and the standard sizes that lie on its grid (<see cref="StandardSizes"/>), and <see cref="SizeRange"/> the range.
/// </summary>
public sealed record CameraFormat(
    uint PixelFormat,
    string Description,
    bool IsCompressed,
    FrameSizeKind SizeKind,
    SizeRange? SizeRange,
    IReadOnlyList<CameraFrameSize> Sizes)
{
    /// <summary>The sizes a stepwise or continuous range is reported and selected with, besides its ends.</summary>
    public static IReadOnlyList<(uint Width, uint Height)> StandardSizes { get; } =
    [
        (160, 120), (320, 180), (320, 240), (352, 288), (640, 360), (640, 480), (800, 600), (1024, 768),
        (1280, 720), (1280, 960), (1600, 1200), (1920, 1080), (2560, 1440), (3840, 2160),
    ];

    /// <summary>The rates a stepwise or continuous interval range is reported and selected with, besides its ends.</summary>
    public static IReadOnlyList<uint> StandardFramesPerSecond { get; } = [60, 50, 30, 25, 24, 20, 15, 10, 5];
}

/// <summary>One capture-capable V4L2 device node of the host.</summary>
/// <param name="Path">The device node (/dev/videoN).</param>
/// <param name="Links">The /dev/v4l/by-id and by-path links that resolve to it (stable names across re-plugs).</param>
public sealed record CameraDevice(
    string Path,
    IReadOnlyList<string> Links,
    string Card,
    string Driver,
    string BusInfo,
    IReadOnlyList<CameraFormat> Formats)
{
    /// <summary>Every format x size with its intervals: what <see cref="ModeSelector"/> chooses from.</summary>
    public IReadOnlyList<CameraMode> Modes =>
        [.. Formats.SelectMany(f => f.Sizes.Select(s => new CameraMode(f.PixelFormat, s.Width, s.Height, s.Intervals)))];
}

/// <summary>One format and size of a camera with its frame intervals, fastest first (empty: the driver does not say).</summary>
public sealed record CameraMode(uint PixelFormat, uint Width, uint Height, IReadOnlyList<FrameRate> Intervals)
{
    public CameraMode(uint pixelFormat, uint width, uint height, params uint[] framesPerSecond)
        : this(pixelFormat, width, height, [.. framesPerSecond.OrderDescending().Select(FrameRate.FromFps)])
    {
    }

    public override string ToString() =>
        $"{PixelFormats.ToFourccString(PixelFormat)} {Width}x{Height}@{string.Join(",", Intervals.Select(FrameRates.Describe))}";
}

/// <summary>The host mode to stream: format, size and frame interval.</summary>
public readonly record struct HostMode(uint PixelFormat, uint Width, uint Height, FrameRate Interval)
{
    /// <summary>"YUYV 640x480@30".</summary>
    public override string ToString() =>
        $"{PixelFormats.ToFourccString(PixelFormat)} {Width}x{Height}@{FrameRates.Describe(Interval)}";
}

/// <summary>Frame interval arithmetic and text.</summary>
public static class FrameRates
{
    /// <summary>
    /// Compares two intervals as rates: positive when <paramref name="a"/> is the faster (shorter time per frame).
    /// Invalid intervals (a zero part) count as slowest.
    /// </summary>
    public static int CompareSpeed(FrameRate a, FrameRate b)
    {
        if (!a.IsValid || !b.IsValid)
        {
            return a.IsValid.CompareTo(b.IsValid);
        }

        // a faster than b <=> a.n/a.d < b.n/b.d <=> a.n*b.d < b.n*a.d (64-bit: no overflow).
        return ((ulong)b.Numerator * a.Denominator).CompareTo((ulong)a.Numerator * b.Denominator);
    }

    /// <summary>Whether <paramref name="interval"/> is at least as fast as <paramref name="requested"/>.</summary>
    public static bool IsAtLeast(FrameRate interval, FrameRate requested) => CompareSpeed(interval, requested) >= 0;

    /// <summary>Frames per second as text: "30", "7.5", "29.97"; "?" for an invalid interval.</summary>
    public static string Describe(FrameRate interval)
    {
        if (!interval.IsValid)
        {
            return "?";
        }

        if (interval.Denominator % interval.Numerator == 0)
        {
            return (interval.Denominator / interval.Numerator).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return Math.Round(interval.FramesPerSecond, 2).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);
    }
}
