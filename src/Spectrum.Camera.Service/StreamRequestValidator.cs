using Spectrum.Camera.Frames;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Service;

/// <summary>
/// Checks a sidecar's StartStream before the service allocates anything for it. The sidecar may be compromised, so
/// every number is bounded: only the three guest formats, at most 3840x2160, 1..120 fps, and a size_image that is
/// exactly the packed size (the ring is sized from it).
/// </summary>
public static class StreamRequestValidator
{
    public const uint MaxWidth = 3840;
    public const uint MaxHeight = 2160;
    public const double MaxFps = 120;
    public const double MinFps = 1;

    public static StreamRequest? Validate(StartStream start, out string error)
    {
        ArgumentNullException.ThrowIfNull(start);
        if (start.PixelFormat is not (PixelFormats.Yuyv or PixelFormats.Nv12 or PixelFormats.Yu12))
        {
            error = $"pixel format {PixelFormats.ToFourccString(start.PixelFormat)} is not YUYV, NV12 or YU12";
            return null;
        }

        if (start.Width is 0 or > MaxWidth || start.Height is 0 or > MaxHeight)
        {
            error = $"size {start.Width}x{start.Height} outside 2x2..{MaxWidth}x{MaxHeight}";
            return null;
        }

        var format = new FrameFormat(start.PixelFormat, start.Width, start.Height);
        if (!format.IsValid)
        {
            error = $"format {format} is not valid (odd size?)";
            return null;
        }

        var rate = new FrameRate(start.IntervalNumerator, start.IntervalDenominator);
        if (!rate.IsValid || rate.FramesPerSecond is < MinFps or > MaxFps)
        {
            error = $"frame interval {start.IntervalNumerator}/{start.IntervalDenominator} s is outside {MinFps}..{MaxFps} fps";
            return null;
        }

        if (start.SizeImage != format.SizeImage)
        {
            error = $"size_image {start.SizeImage} is not {format.SizeImage} for {format}";
            return null;
        }

        error = string.Empty;
        return new StreamRequest(format, rate);
    }
}
