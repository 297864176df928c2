namespace Spectrum.Camera.Uapi;

/// <summary>
/// Linux errno values (asm-generic/errno-base.h, errno.h) as the virtio-media wire carries them: positive, whatever
/// the host OS. NativeLayoutTests checks each against the C header.
/// </summary>
public enum Errno : uint
{
    None = 0,
    EPERM = 1,
    EIO = 5,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EINVAL = 22,
    ENOTTY = 25,
    ENOSPC = 28,
    EPIPE = 32,
    ENOBUFS = 105,
}
