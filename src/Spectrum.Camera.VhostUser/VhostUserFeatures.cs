namespace Spectrum.Camera.VhostUser;

/// <summary>Virtio feature bits (virtio 1.x §6, "Reserved Feature Bits") and vhost-user protocol feature bits (vhost-user spec, "Protocol features") this backend knows.</summary>
public static class VhostUserFeatures
{
    public const ulong RingIndirectDesc = 1UL << 28;
    public const ulong RingEventIdx = 1UL << 29;

    /// <summary>VHOST_USER_F_PROTOCOL_FEATURES: without it QEMU 10.0 never sets the memory-slot limit.</summary>
    public const ulong ProtocolFeatures = 1UL << 30;
    public const ulong Version1 = 1UL << 32;

    /// <summary>What every device behind this backend offers on top of its own bits.</summary>
    public const ulong Transport = Version1 | ProtocolFeatures | RingIndirectDesc | RingEventIdx;

    public const ulong ProtocolMq = 1UL << 0;
    public const ulong ProtocolReplyAck = 1UL << 3;

    /// <summary>BACKEND_REQ: the front-end hands over a socket for backend requests (SET_BACKEND_REQ_FD).</summary>
    public const ulong ProtocolBackendReq = 1UL << 5;
    public const ulong ProtocolConfig = 1UL << 9;

    /// <summary>BACKEND_SEND_FD: backend requests may carry fds (SHMEM_MAP carries the fd to map).</summary>
    public const ulong ProtocolBackendSendFd = 1UL << 10;

    /// <summary>
    /// SHMEM: VIRTIO shared memory regions (GET_SHMEM_CONFIG, backend SHMEM_MAP/SHMEM_UNMAP). Bit 22 in QEMU's
    /// include/hw/virtio/vhost-user.h (qemu/qemu 1276e6c8); the patch series used 20 while it was in review.
    /// </summary>
    public const ulong ProtocolShmem = 1UL << 22;

    /// <summary>Protocol features a device without a shared-memory region gets: MQ | REPLY_ACK | CONFIG = 0x209.</summary>
    public const ulong OfferedProtocol = ProtocolMq | ProtocolReplyAck | ProtocolConfig;

    /// <summary>
    /// Protocol features a device with a shared-memory region gets: the above plus BACKEND_REQ, BACKEND_SEND_FD and
    /// SHMEM = 0x400629. QEMU 10.0 acknowledges only bits 0..19 of an offer (VHOST_USER_PROTOCOL_FEATURE_MASK with
    /// VHOST_USER_PROTOCOL_F_MAX = 20 in its hw/virtio/vhost-user.c), so it takes BACKEND_REQ and BACKEND_SEND_FD,
    /// hands over a backend channel that stays idle, and never sees a shared-memory region; QEMU 11.2 (F_MAX = 24)
    /// takes all of it.
    /// </summary>
    public const ulong OfferedProtocolWithSharedMemory = OfferedProtocol | ProtocolBackendReq | ProtocolBackendSendFd | ProtocolShmem;
}
