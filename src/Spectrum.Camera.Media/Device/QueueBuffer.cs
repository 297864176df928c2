using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// One slot of the device's buffer queue. Its memory is either the guest's (USERPTR on the wire): an SG list of
/// guest-physical ranges, validated at QBUF and kept as guest addresses, so a memory-table change can never redirect
/// frame writes (or, on an output queue, frame reads); or the device's own (MMAP, <see cref="Owned"/>, capture only),
/// which the guest maps through the shared-memory window. The range array is reused across QBUFs so the frame path
/// does not allocate.
/// </summary>
internal sealed class QueueBuffer
{
    public QueueBuffer(uint index) => Index = index;

    public uint Index { get; }

    public QueueBufferState State { get; set; }

    /// <summary>The guest's m.userptr cookie, echoed back unchanged (virtio-media spec).</summary>
    public ulong UserPtr { get; set; }

    /// <summary>The buffer length the guest declared at QBUF.</summary>
    public uint Length { get; set; }

    /// <summary>
    /// The smallest length QBUF accepts for this slot: the sizeimage it was allocated for (the format's at REQBUFS, the
    /// one CREATE_BUFS asked for, which is never smaller).
    /// </summary>
    public uint MinLength { get; set; }

    /// <summary>Guest ranges holding the buffer; the first <see cref="RangeCount"/> entries are valid.</summary>
    public GuestRange[] Ranges { get; set; } = new GuestRange[16];

    public int RangeCount { get; set; }

    /// <summary>The device-owned memory of an MMAP buffer, or null for a USERPTR one.</summary>
    public MmapBuffer? Owned { get; set; }

    /// <summary>The mmap offset QUERYBUF reports for an MMAP buffer (<see cref="BufferQueue.MemOffsetOf"/>).</summary>
    public uint MemOffset => BufferQueue.MemOffsetOf(Index);

    /// <summary>The queue's frame-period count when the buffer was queued (see BufferQueue.FramePeriod).</summary>
    public long QueuedInPeriod { get; set; }
}

/// <summary>Where a queue buffer is in its life.</summary>
internal enum QueueBufferState
{
    Dequeued,
    Prepared,
    Queued,
}
