using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.Protocol;

/// <summary>What <see cref="FrameRingReader.CopyFrame"/> did.</summary>
public enum RingReadResult
{
    /// <summary>The whole frame was copied and the slot did not change meanwhile.</summary>
    Copied,

    /// <summary>The slot no longer holds the announced frame (or is being rewritten): nothing was copied.</summary>
    Overwritten,

    /// <summary>The frame was copied but the writer reused the slot during the copy: the copy mixes two frames.</summary>
    Torn,
}

/// <summary>
/// The sidecar's side of a frame ring: a read-only mapping of the service's sealed memfd, validated against the
/// memfd's real size before mapping, and the seqlock check around each copy into guest pages.
/// </summary>
public sealed unsafe class FrameRingReader : IDisposable
{
    private readonly MappedMemory _memory;

    private FrameRingReader(ulong id, FrameRingLayout layout, MappedMemory memory)
    {
        Id = id;
        Layout = layout;
        _memory = memory;
    }

    public ulong Id { get; }

    public FrameRingLayout Layout { get; }

    /// <summary>
    /// Maps a ring received in RingAttached. The fd must be a memfd sealed against shrinking (so the mapping can never
    /// fault) whose size matches the announced layout. Throws <see cref="ProtocolException"/> otherwise.
    /// </summary>
    public static FrameRingReader Open(ulong id, FdHandle fd, uint slotCount, uint slotSize, uint frameSize)
    {
        ArgumentNullException.ThrowIfNull(fd);
        var seals = MemFd.GetSeals(fd);
        if (seals < 0 || (seals & MemFd.ReadOnlyForOthersSeals) != MemFd.ReadOnlyForOthersSeals)
        {
            throw new ProtocolException($"ring {id} is not a sealed memfd (seals {seals})");
        }

        var size = fd.RegularFileSize() ?? throw new ProtocolException($"ring {id} is not a regular file");
        var layout = FrameRingLayout.TryValidate(slotCount, slotSize, frameSize, size, out var error)
            ?? throw new ProtocolException($"ring {id}: {error}");
        return new FrameRingReader(id, layout, MappedMemory.MapShared(fd, (ulong)layout.TotalSize, writable: false));
    }

    /// <summary>Copies the frame announced as <paramref name="sequence"/> in <paramref name="slot"/> into <paramref name="sink"/>.</summary>
    public RingReadResult CopyFrame(int slot, ulong sequence, IFrameSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if ((uint)slot >= (uint)Layout.SlotCount)
        {
            return RingReadResult.Overwritten;
        }

        var header = _memory.BaseAddress + Layout.SlotOffset(slot);
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

    /// <summary>Whether the slot still holds <paramref name="sequence"/> (checked before committing to a copy).</summary>
    public bool Holds(int slot, ulong sequence)
    {
        if ((uint)slot >= (uint)Layout.SlotCount)
        {
            return false;
        }

        var header = _memory.BaseAddress + Layout.SlotOffset(slot);
        var version = Volatile.Read(ref *(long*)(header + FrameRingLayout.VersionOffset));
        return (version & 1) == 0 && Volatile.Read(ref *(ulong*)(header + FrameRingLayout.SequenceOffset)) == sequence;
    }

    public void Dispose() => _memory.Dispose();
}
