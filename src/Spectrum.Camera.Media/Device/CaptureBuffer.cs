using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// One slot of the capture queue. Its memory is either the guest's (USERPTR on the wire): an SG list of guest-physical
/// ranges, validated at QBUF and kept as guest addresses, so a memory-table change can never redirect frame writes; or
/// the device's own (MMAP, <see cref="Owned"/>), which the guest maps through the shared-memory window. The range array
/// is reused across QBUFs so the frame path does not allocate.
/// </summary>
internal sealed class CaptureBuffer
{
    public CaptureBuffer(uint index) => Index = index;

    public uint Index { get; }

    public CaptureBufferState State { get; set; }

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

    /// <summary>The mmap offset QUERYBUF reports for an MMAP buffer (<see cref="CaptureQueue.MemOffsetOf"/>).</summary>
    public uint MemOffset => CaptureQueue.MemOffsetOf(Index);

    /// <summary>The capture queue's frame-period count when the buffer was queued (see CaptureQueue.FramePeriod).</summary>
    public long QueuedInPeriod { get; set; }
}

/// <summary>Where a capture buffer is in its life.</summary>
internal enum CaptureBufferState
{
    Dequeued,
    Prepared,
    Queued,
}
