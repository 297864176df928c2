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
    public const ulong ProtocolConfig = 1UL << 9;

    /// <summary>Offered protocol features: MQ | REPLY_ACK | CONFIG = 0x209, what QEMU 10.0's generic device needs.</summary>
    public const ulong OfferedProtocol = ProtocolMq | ProtocolReplyAck | ProtocolConfig;
}
