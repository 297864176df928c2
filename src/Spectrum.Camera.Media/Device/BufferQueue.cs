using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The device's single buffer queue (VIDEO_CAPTURE or VIDEO_OUTPUT): which session owns it (vb2's rule: the first
/// REQBUFS/CREATE_BUFS owner, others get EBUSY), its memory type, its buffers, the FIFO of queued buffers and whether it
/// streams. Pure state: no guest memory access; device-owned buffers it lets go are handed to <see cref="ReleaseOwned"/>.
/// </summary>
internal sealed class BufferQueue
{
    /// <summary>Most buffers the queue may have (vb2's own maximum is 64 on Linux 6.1; 32 is plenty for a camera).</summary>
    public const uint MaxBuffers = 32;

    private readonly QueueBuffer[] _buffers = new QueueBuffer[MaxBuffers];
    private readonly Queue<QueueBuffer> _queued = new((int)MaxBuffers);

    public BufferQueue()
    {
        for (var i = 0u; i < MaxBuffers; i++)
        {
            _buffers[i] = new QueueBuffer(i);
        }
    }

    /// <summary>
    /// Bits of an MMAP buffer's mmap offset below its index: each slot gets 64 MiB of offsets (the largest buffer), so
    /// the offsets are page multiples for any guest page size and 32 slots fit the 32-bit offset CMD_MMAP carries.
    /// </summary>
    public const int MemOffsetShift = 26;

    /// <summary>Where device-owned buffers go when the queue lets them go (the shared-memory window frees them).</summary>
    public Action<MmapBuffer>? ReleaseOwned { get; set; }

    /// <summary>V4L2_MEMORY_USERPTR or V4L2_MEMORY_MMAP: how the current buffers get their memory.</summary>
    public uint Memory { get; private set; } = V4l2.MemoryUserPtr;

    /// <summary>The mmap offset of slot <paramref name="index"/>.</summary>
    public static uint MemOffsetOf(uint index) => index << MemOffsetShift;

    /// <summary>The slot whose MMAP buffer has mmap offset <paramref name="offset"/>, if there is one.</summary>
    public bool TryGetByMemOffset(uint offset, out QueueBuffer buffer)
    {
        buffer = null!;
        return Memory == V4l2.MemoryMmap && (offset & ((1u << MemOffsetShift) - 1)) == 0 &&
               TryGetBuffer(offset >> MemOffsetShift, out buffer) && buffer.Owned is not null;
    }

    /// <summary>Session id of the owner, or null when the queue is free.</summary>
    public uint? Owner { get; private set; }

    public uint Allocated { get; private set; }

    public bool Streaming { get; set; }

    public int QueuedCount => _queued.Count;

    public bool IsOwnedByOther(uint session) => Owner is { } o && o != session;

    public bool TryGetBuffer(uint index, out QueueBuffer buffer)
    {
        buffer = index < Allocated ? _buffers[index] : null!;
        return index < Allocated;
    }

    /// <summary>
    /// Replaces all buffers with <paramref name="count"/> fresh ones of at least <paramref name="minLength"/> bytes each
    /// (0 frees the queue).
    /// </summary>
    public void Reallocate(uint session, uint count, uint minLength, uint memory = V4l2.MemoryUserPtr)
    {
        _queued.Clear();
        for (var i = 0; i < _buffers.Length; i++)
        {
            _buffers[i].State = QueueBufferState.Dequeued;
            _buffers[i].RangeCount = 0;
            _buffers[i].UserPtr = 0;
            _buffers[i].Length = 0;
            _buffers[i].MinLength = minLength;
            if (_buffers[i].Owned is { } owned)
            {
                _buffers[i].Owned = null;
                ReleaseOwned?.Invoke(owned);
            }
        }

        Memory = memory;
        Allocated = Math.Min(count, MaxBuffers);
        Owner = Allocated == 0 ? null : session;
    }

    /// <summary>
    /// Keeps the first <paramref name="count"/> of the buffers just allocated (fewer device-owned buffers fitted than
    /// asked for, as vb2 grants fewer when memory runs out).
    /// </summary>
    public void Truncate(uint count)
    {
        for (var i = count; i < Allocated; i++)
        {
            if (_buffers[i].Owned is { } owned)
            {
                _buffers[i].Owned = null;
                ReleaseOwned?.Invoke(owned);
            }
        }

        Allocated = Math.Min(Allocated, count);
        if (Allocated == 0)
        {
            Owner = null;
        }
    }

    /// <summary>
    /// Adds up to <paramref name="count"/> buffers of at least <paramref name="minLength"/> bytes; returns how many. The
    /// first buffers of an empty queue set its memory type.
    /// </summary>
    public uint Add(uint session, uint count, uint minLength, uint memory = V4l2.MemoryUserPtr)
    {
        if (Allocated == 0)
        {
            Memory = memory;
        }

        var added = Math.Min(count, MaxBuffers - Allocated);
        for (var i = Allocated; i < Allocated + added; i++)
        {
            _buffers[i].MinLength = minLength;
        }

        Allocated += added;
        if (Allocated > 0)
        {
            Owner = session;
        }

        return added;
    }

    /// <summary>
    /// Frame periods begun since STREAMON (the streamer advances it at each tick). A buffer queued in period p is
    /// first filled (or, on an output queue, taken) at the start of period p+2, so at least one whole period separates
    /// its QBUF from its frame, as with a camera that fills the buffer queued now during the next frame. Without that
    /// gap the frame could complete while the guest's QBUF ioctl is still returning, and the application would see
    /// its freshly queued buffer already DONE (v4l2-compliance fails on exactly that).
    /// </summary>
    public long FramePeriod { get; set; }

    public void Enqueue(QueueBuffer buffer)
    {
        buffer.State = QueueBufferState.Queued;
        buffer.QueuedInPeriod = FramePeriod;
        _queued.Enqueue(buffer);
    }

    /// <summary>Takes the oldest queued buffer if it was queued before the previous period began (FIFO order).</summary>
    public bool TryDequeueForFrame(out QueueBuffer buffer)
    {
        if (_queued.TryPeek(out buffer!) && buffer.QueuedInPeriod < FramePeriod - 1)
        {
            _queued.Dequeue();
            return true;
        }

        buffer = null!;
        return false;
    }

    /// <summary>STREAMON: buffers queued before it are ready for the first frame.</summary>
    public void StartPeriods()
    {
        FramePeriod = 0;
        foreach (var b in _queued)
        {
            b.QueuedInPeriod = -1;
        }
    }

    /// <summary>STREAMOFF semantics: every queued buffer returns to the application without an event.</summary>
    public void ReturnAll()
    {
        while (_queued.TryDequeue(out var b))
        {
            b.State = QueueBufferState.Dequeued;
        }

        for (var i = 0; i < Allocated; i++)
        {
            if (_buffers[i].State == QueueBufferState.Prepared)
            {
                _buffers[i].State = QueueBufferState.Dequeued;
            }
        }
    }

    /// <summary>Drops everything (owner closed, device reset).</summary>
    public void Release()
    {
        Streaming = false;
        Reallocate(0, 0, 0);
    }
}
