using Spectrum.Camera.Media.Transport;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The ioctls one kind of device serves (the capture device's <see cref="CaptureIoctls"/>) and what a session's
/// CLOSE releases. The <see cref="CommandDispatcher"/> has found the
/// session and checked that the enum names the ioctl before it calls here.
/// </summary>
internal interface IIoctlAllowlist
{
    /// <summary>Answers one named ioctl: served by its handler, or ENOTTY.</summary>
    void Dispatch(in IoctlCall call, CommandResponse response);

    /// <summary>The session closed: whatever it held (the queue, subscriptions) is released.</summary>
    void SessionClosed(uint sessionId);
}
