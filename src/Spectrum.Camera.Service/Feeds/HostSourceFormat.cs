using Spectrum.Camera.Host;
using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// Turns what the driver negotiated (S_FMT's answer) into the <see cref="HostFrameFormat"/> the converters take,
/// and refuses a negotiation no converter could take (an odd or huge size, a stride shorter than a row) at open
/// time, with a reason for the operator, instead of failing on every frame.
/// </summary>
public static class HostSourceFormat
{
    /// <summary>The converter's source format for <paramref name="negotiated"/>, or null and why not.</summary>
    public static HostFrameFormat? From(NegotiatedFormat negotiated, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(negotiated);
        problem = null;
        var (fourcc, width, height, stride) = (negotiated.PixelFormat, negotiated.Width, negotiated.Height, negotiated.BytesPerLine);
        if (!HostPixelFormats.IsSupported(fourcc))
        {
            problem = $"the driver negotiated {negotiated}, a format the converter does not take";
        }
        else if (width is < 2 or > HostFrameFormat.MaxDimension || height is < 2 or > HostFrameFormat.MaxDimension
            || width % 2 != 0 || height % 2 != 0)
        {
            problem = $"the driver negotiated {negotiated}: the size must be even and at most {HostFrameFormat.MaxDimension}";
        }
        else if (!HostPixelFormats.IsJpeg(fourcc)
            && (stride < width * (fourcc is HostPixelFormats.Yuyv or HostPixelFormats.Uyvy ? 2u : 1u)
                || (ulong)stride * height * 2 > int.MaxValue))
        {
            problem = $"the driver negotiated {negotiated}: its bytes per line do not fit the rows";
        }

        return problem is null ? HostFrameFormat.FromV4l2(fourcc, (int)width, (int)height, (int)stride) : null;
    }
}
