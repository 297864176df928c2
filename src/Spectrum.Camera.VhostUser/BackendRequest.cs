namespace Spectrum.Camera.VhostUser;

/// <summary>Backend → front-end request ids on the backend channel (vhost-user spec, "Back-end message types").</summary>
public enum BackendRequest : uint
{
    None = 0,
    IotlbMsg = 1,
    ConfigChangeMsg = 2,
    VringHostNotifierMsg = 3,

    /// <summary>Map an fd into a VIRTIO shared-memory region (QEMU hw/virtio/vhost-user.c, qemu/qemu 1276e6c8).</summary>
    ShmemMap = 9,

    /// <summary>Remove a mapping made by <see cref="ShmemMap"/>.</summary>
    ShmemUnmap = 10,
}
