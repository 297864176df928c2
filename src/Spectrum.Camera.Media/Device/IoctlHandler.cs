using Spectrum.Camera.Media.Protocol;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>Handles one ioctl. Returns 0 to send the output struct, or an errno to send the header alone.</summary>
internal delegate Errno IoctlHandler(ref IoctlContext context);

/// <summary>
/// One allowlisted ioctl: its number, the smallest request payload it needs, the response payload it writes, and its
/// handler. Everything not in the table is answered ENOTTY.
/// </summary>
internal sealed record IoctlEntry(V4l2IoctlNumber Number, int InputSize, int OutputSize, IoctlHandler Handler);
