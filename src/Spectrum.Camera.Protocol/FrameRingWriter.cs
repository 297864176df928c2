using System.Runtime.InteropServices;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.Protocol;

/// <summary>
/// The camera service's side of a frame ring: a sealed memfd it alone can write (the seals forbid new writable
/// mappings, so readers can only map it read-only) and a seqlock per slot so a reader can tell a torn copy.
/// Slots are used round-robin; a frame is converted straight into <see cref="BeginWrite"/>'s span.
/// </summary>
public sealed unsafe class FrameRingWriter : IDisposable
{
    private static long s_nextId;
    private readonly FdHandle _fd;
    private readonly MappedMemory _memory;
    private int _nextSlot;
    private int _writing = -1;

    public FrameRingWriter(int slotCount, int frameSize)
    {
        Layout = FrameRingLayout.For(slotCount, frameSize);
        Id = (ulong)Interlocked.Increment(ref s_nextId);
        _fd = MemFd.CreateSealable($"spectrum-camera-ring-{Id}", (ulong)Layout.TotalSize);
        try
        {
            _memory = MappedMemory.MapShared(_fd, (ulong)Layout.TotalSize);
            MemFd.AddSeals(_fd, MemFd.ReadOnlyForOthersSeals);
        }
        catch
        {
            _memory?.Dispose();
            _fd.Dispose();
            throw;
        }
    }

    /// <summary>Process-unique id, sent as <c>ring_id</c>.</summary>
    public ulong Id { get; }

    public FrameRingLayout Layout { get; }

    /// <summary>The memfd to pass to readers (SCM_RIGHTS).</summary>
    public FdHandle Fd => _fd;

    /// <summary>Frames written so far.</summary>
    public ulong Written { get; private set; }

    /// <summary>Marks the next slot as being written (seqlock odd) and returns it with the frame bytes to fill.</summary>
    public Span<byte> BeginWrite(out int slot)
    {
        if (_writing >= 0)
        {
            throw new InvalidOperationException("a frame write is already in progress");
        }

        slot = _nextSlot;
        _nextSlot = (_nextSlot + 1) % Layout.SlotCount;
        _writing = slot;
        var header = Header(slot);
        Interlocked.Increment(ref *(long*)(header + FrameRingLayout.VersionOffset));
        return new Span<byte>(header + FrameRingLayout.HeaderSize, Layout.FrameSize);
    }

    /// <summary>Publishes the frame written since <see cref="BeginWrite"/> (seqlock even again).</summary>
    public void EndWrite(ulong sequence, long timestampNs)
    {
        if (_writing < 0)
        {
            throw new InvalidOperationException("no frame write in progress");
        }

        var header = Header(_writing);
        *(ulong*)(header + FrameRingLayout.SequenceOffset) = sequence;
        *(long*)(header + FrameRingLayout.TimestampOffset) = timestampNs;
        *(int*)(header + FrameRingLayout.FrameSizeOffset) = Layout.FrameSize;
        Interlocked.Increment(ref *(long*)(header + FrameRingLayout.VersionOffset));
        _writing = -1;
        Written++;
    }

    /// <summary>Abandons the write begun by <see cref="BeginWrite"/> (conversion failed): the slot is left invalid.</summary>
    public void AbortWrite()
    {
        if (_writing < 0)
        {
            return;
        }

        var header = Header(_writing);
        *(ulong*)(header + FrameRingLayout.SequenceOffset) = ulong.MaxValue;
        Interlocked.Increment(ref *(long*)(header + FrameRingLayout.VersionOffset));
        _writing = -1;
    }

    public void Dispose()
    {
        _memory.Dispose();
        _fd.Dispose();
    }

    private byte* Header(int slot) => _memory.BaseAddress + Layout.SlotOffset(slot);
}
