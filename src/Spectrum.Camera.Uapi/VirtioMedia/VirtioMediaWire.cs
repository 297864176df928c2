namespace Spectrum.Camera.Uapi;

/// <summary>
/// virtio-media (virtio 1.4 §5.22, device id 48) command, event and config constants. The structures live beside this
/// file; the layout test checks them against the guest driver's own header (guest-kernel/protocol.h).
/// </summary>
public static class VirtioMediaWire
{
    public const uint DeviceId = 48;

    public const uint CmdOpen = 1;
    public const uint CmdClose = 2;
    public const uint CmdIoctl = 3;
    public const uint CmdMmap = 4;
    public const uint CmdMunmap = 5;

    /// <summary>VIRTIO_MEDIA_MMAP_FLAG_RW: CMD_MMAP asks for a writable mapping (without it, read-only).</summary>
    public const uint MmapFlagReadWrite = 1;

    public const uint EventError = 0;
    public const uint EventDqbuf = 1;
    public const uint EventV4l2 = 2;

    /// <summary>Planes an EVT_DQBUF carries after its v4l2_buffer (VIDEO_MAX_PLANES), whatever the buffer type.</summary>
    public const int MaxPlanes = 8;

    /// <summary>Bytes of the card name in the config space, NUL included.</summary>
    public const int CardCapacity = 32;
}
