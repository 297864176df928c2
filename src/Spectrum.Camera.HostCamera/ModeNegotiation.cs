using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Host;

/// <summary>Setting a host camera's mode on a freshly opened device: the part of <see cref="HostCamera"/>'s start that talks formats.</summary>
internal static class ModeNegotiation
{
    /// <summary>
    /// Checks that <paramref name="path"/> (open as <paramref name="fd"/>) is a single-planar capture device with
    /// streaming I/O, sets <paramref name="mode"/> (S_FMT, then S_PARM where the driver has frame intervals) and
    /// returns what the driver agreed to. A driver that answers with another fourcc is refused: the service chose the
    /// mode because it can convert that fourcc.
    /// </summary>
    /// <exception cref="HostCameraException">The device is not a capture device, or refuses the mode.</exception>
    public static NegotiatedFormat Negotiate(FdHandle fd, string path, HostMode mode)
    {
        var query = new DeviceQuery(fd);
        Check(path, query.QueryCapability(out var capability), "VIDIOC_QUERYCAP");
        var caps = capability.NodeCapabilities;
        if ((caps & V4l2.CapVideoCapture) == 0 || (caps & V4l2.CapStreaming) == 0)
        {
            throw new HostCameraException($"{path} is not a single-planar video capture device with streaming I/O (capabilities 0x{caps:x8})", 0);
        }

        var format = new V4l2Format { Type = V4l2.BufTypeVideoCapture };
        format.Pix.Width = mode.Width;
        format.Pix.Height = mode.Height;
        format.Pix.PixelFormat = mode.PixelFormat;
        format.Pix.Field = V4l2.FieldAny;
        Check(path, DeviceFile.Ioctl(fd, V4l2Requests.SFmt, ref format), "VIDIOC_S_FMT");
        if (format.Pix.PixelFormat != mode.PixelFormat)
        {
            throw new HostCameraException(
                $"{path} does not offer {PixelFormats.ToFourccString(mode.PixelFormat)} (S_FMT answered {PixelFormats.ToFourccString(format.Pix.PixelFormat)})", 0);
        }

        var interval = default(FrameRate);
        var parm = new V4l2StreamParm { Type = V4l2.BufTypeVideoCapture };
        if (DeviceFile.Ioctl(fd, V4l2Requests.GParm, ref parm) == 0 && (parm.Capture.Capability & V4l2.CapTimePerFrame) != 0)
        {
            if (mode.Interval.IsValid)
            {
                parm = new V4l2StreamParm { Type = V4l2.BufTypeVideoCapture };
                parm.Capture.TimePerFrame = new V4l2Fract(mode.Interval.Numerator, mode.Interval.Denominator);
                Check(path, DeviceFile.Ioctl(fd, V4l2Requests.SParm, ref parm), "VIDIOC_S_PARM");
            }

            interval = new FrameRate(parm.Capture.TimePerFrame.Numerator, parm.Capture.TimePerFrame.Denominator);
        }

        return new NegotiatedFormat(format.Pix.PixelFormat, format.Pix.Width, format.Pix.Height, format.Pix.BytesPerLine,
            format.Pix.SizeImage, interval);
    }

    private static void Check(string path, int errno, string call)
    {
        if (errno != 0)
        {
            throw new HostCameraException($"{path}: {call} failed", errno);
        }
    }
}
