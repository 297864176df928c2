using Spectrum.Camera.Native;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Host;

/// <summary>
/// The enumeration ioctls, each returning 0 or an errno. <see cref="CameraEnumerator"/> works against this so that its
/// parsing of drivers' answers (discrete, stepwise, continuous, early EINVAL) is unit-tested with scripted answers.
/// </summary>
internal interface IV4l2Query
{
    int QueryCapability(out V4l2Capability capability);

    int EnumFormat(ref V4l2FmtDesc format);

    int EnumFrameSize(ref V4l2FrmSizeEnum size);

    int EnumFrameInterval(ref V4l2FrmIvalEnum interval);
}

/// <summary>The real ioctls on an open device node.</summary>
internal sealed class DeviceQuery(FdHandle fd) : IV4l2Query
{
    public int QueryCapability(out V4l2Capability capability)
    {
        capability = default;
        return DeviceFile.Ioctl(fd, V4l2Requests.QueryCap, ref capability);
    }

    public int EnumFormat(ref V4l2FmtDesc format) => DeviceFile.Ioctl(fd, V4l2Requests.EnumFmt, ref format);

    public int EnumFrameSize(ref V4l2FrmSizeEnum size) => DeviceFile.Ioctl(fd, V4l2Requests.EnumFrameSizes, ref size);

    public int EnumFrameInterval(ref V4l2FrmIvalEnum interval) => DeviceFile.Ioctl(fd, V4l2Requests.EnumFrameIntervals, ref interval);
}
