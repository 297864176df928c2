using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// One slot of the capture queue. The guest provides its memory (USERPTR on the wire): an SG list of guest-physical
/// ranges, validated at QBUF and kept as guest addresses, so a memory-table change can never redirect frame writes.
/// The range array is reused across QBUFs so the frame path does not allocate.
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
