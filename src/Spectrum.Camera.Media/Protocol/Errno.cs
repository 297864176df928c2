namespace Spectrum.Camera.Media.Protocol;

/// <summary>Linux errno values as the virtio-media wire carries them (positive), whatever the host OS.</summary>
public enum Errno : uint
{
    None = 0,
    EPERM = 1,
    EIO = 5,
    EAGAIN = 11,
    ENOMEM = 12,
    EFAULT = 14,
    EBUSY = 16,
    EINVAL = 22,
    ENOSPC = 28,
    ENOTTY = 25,
    EPIPE = 32,
    ENOBUFS = 105,
}
