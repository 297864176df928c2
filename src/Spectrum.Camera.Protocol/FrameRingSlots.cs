using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.Protocol;

/// <summary>
/// The per-slot seqlock of a frame ring over one mapping of its memfd, the only code that touches ring memory. The
/// writer makes a slot's version odd, fills the frame and header, and makes it even again; a reader checks the
/// version is even and the header names the announced frame, copies the frame once, and checks the version did not
/// move meanwhile. Every offset comes from a <see cref="FrameRingLayout"/> the owner validated against the memfd's
/// real size, so nothing a peer writes into the ring can send an access outside the mapping.
/// </summary>
/// <remarks>
/// Used by the service's rings for sidecars (<see cref="FrameRingWriter"/> writes, <see cref="FrameRingReader"/>
/// reads) and by a camera VM's ring (<see cref="ProducerFrameRing"/> reads what the producer's
/// <see cref="FrameRingWriter"/> wrote). A reader on either side treats the writer as hostile: whatever the header
/// says, it reads exactly <see cref="FrameRingLayout.FrameSize"/> bytes from the slot's fixed frame offset.
/// </remarks>
internal sealed unsafe class FrameRingSlots : IDisposable
{
    private readonly MappedMemory _memory;

    public FrameRingSlots(MappedMemory memory, FrameRingLayout layout)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (memory.Length < (ulong)layout.TotalSize)
        {
            throw new ArgumentException($"a mapping of {memory.Length} bytes cannot hold a ring of {layout.TotalSize}", nameof(memory));
        }

        _memory = memory;
        Layout = layout;
    }

    public FrameRingLayout Layout { get; }

    /// <summary>Makes <paramref name="slot"/>'s version odd (being written) and returns its frame bytes.</summary>
    public Span<byte> BeginWrite(int slot)
    {
        var header = Header(slot);
        Interlocked.Increment(ref *(long*)(header + FrameRingLayout.VersionOffset));
        return new Span<byte>(header + FrameRingLayout.HeaderSize, Layout.FrameSize);
    }

    /// <summary>Fills <paramref name="slot"/>'s header and makes its version even again: the frame is published.</summary>
    public void EndWrite(int slot, ulong sequence, long timestampNs)
    {
        var header = Header(slot);
        *(ulong*)(header + FrameRingLayout.SequenceOffset) = sequence;
        *(long*)(header + FrameRingLayout.TimestampOffset) = timestampNs;
        *(int*)(header + FrameRingLayout.FrameSizeOffset) = Layout.FrameSize;
        Interlocked.Increment(ref *(long*)(header + FrameRingLayout.VersionOffset));
    }

    /// <summary>Leaves <paramref name="slot"/> holding no frame (sequence all ones) with an even version.</summary>
    public void AbortWrite(int slot)
    {
        var header = Header(slot);
        *(ulong*)(header + FrameRingLayout.SequenceOffset) = ulong.MaxValue;
        Interlocked.Increment(ref *(long*)(header + FrameRingLayout.VersionOffset));
    }

    /// <summary>Copies the frame announced as <paramref name="sequence"/> in <paramref name="slot"/> into <paramref name="sink"/>.</summary>
    public RingReadResult Read(int slot, ulong sequence, IFrameSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if ((uint)slot >= (uint)Layout.SlotCount)
        {
            return RingReadResult.Overwritten;
        }

        var header = Header(slot);
        var before = Volatile.Read(ref *(long*)(header + FrameRingLayout.VersionOffset));
        if ((before & 1) != 0
            || Volatile.Read(ref *(ulong*)(header + FrameRingLayout.SequenceOffset)) != sequence
            || Volatile.Read(ref *(int*)(header + FrameRingLayout.FrameSizeOffset)) != Layout.FrameSize)
        {
            return RingReadResult.Overwritten;
        }

        sink.Write(new ReadOnlySpan<byte>(header + FrameRingLayout.HeaderSize, Layout.FrameSize));
        Interlocked.MemoryBarrier();
        var after = Volatile.Read(ref *(long*)(header + FrameRingLayout.VersionOffset));
        return after == before ? RingReadResult.Copied : RingReadResult.Torn;
    }

    public void Dispose() => _memory.Dispose();

    private byte* Header(int slot) => _memory.BaseAddress + Layout.SlotOffset(slot);
}
