using Spectrum.Camera.Native;

namespace Spectrum.Camera.VhostUser;

/// <summary>
/// What a device with a VIRTIO shared-memory region (region 0) gets once the front-end can map into it: requests
/// that the front-end map an fd at an offset of the region, or remove such a mapping (vhost-user backend requests
/// SHMEM_MAP and SHMEM_UNMAP). Both are asynchronous: the request goes out at once and <c>done</c> always runs later on
/// the device loop (never inside the call), with the front-end's answer, with <see cref="MappingOutcome.ChannelLost"/>
/// when the channel broke or the front-end did not answer in time, or with <see cref="MappingOutcome.NotSent"/>. Never called from another thread, and only while the device's queues run
/// (a suspended device sends the front-end nothing: vhost-user spec, "Suspended device state").
/// </summary>
public interface ISharedMemoryMapper
{
    /// <summary>Bytes of region 0, as GET_SHMEM_CONFIG reported them.</summary>
    ulong RegionSize { get; }

    /// <summary>False once the channel broke: every later request fails at once with ChannelLost.</summary>
    bool IsUsable { get; }

    /// <summary>
    /// Asks the front-end to map <paramref name="length"/> bytes of <paramref name="fd"/> (from offset 0) at
    /// <paramref name="regionOffset"/>, writable or read-only. The fd is sent with the request and not kept.
    /// </summary>
    void Map(FdHandle fd, ulong regionOffset, ulong length, bool writable, Action<MappingOutcome> done);

    /// <summary>Asks the front-end to remove the mapping it made at exactly <paramref name="regionOffset"/> and <paramref name="length"/>.</summary>
    void Unmap(ulong regionOffset, ulong length, Action<MappingOutcome> done);
}

/// <summary>How a map or unmap request ended.</summary>
public enum MappingOutcome
{
    /// <summary>The front-end acknowledged it (ack 0).</summary>
    Done,

    /// <summary>The front-end answered with a failure (non-zero ack): nothing changed on its side.</summary>
    Refused,

    /// <summary>The request was never sent (the channel is gone, or too many requests wait): nothing changed on its side.</summary>
    NotSent,

    /// <summary>
    /// No answer will come: the channel broke, answered out of protocol, or stayed silent past the ack timeout. What the
    /// front-end did with the request is unknown, so the region range it named must never be reused.
    /// </summary>
    ChannelLost,
}
