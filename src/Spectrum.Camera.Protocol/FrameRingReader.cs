using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.Protocol;

/// <summary>What <see cref="FrameRingReader.CopyFrame"/> and <see cref="ProducerFrameRing.CopyFrame"/> did.</summary>
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
public sealed class FrameRingReader : IDisposable
{
    private readonly FrameRingSlots _slots;

    private FrameRingReader(ulong id, FrameRingSlots slots)
    {
        Id = id;
        _slots = slots;
    }

    public ulong Id { get; }

    public FrameRingLayout Layout => _slots.Layout;

    /// <summary>
    /// Maps a ring received in RingAttached. The fd must be a memfd sealed against shrinking (so the mapping can never
    /// fault) whose size matches the announced layout. Throws <see cref="ProtocolException"/> otherwise.
    /// </summary>
    public static FrameRingReader Open(ulong id, FdHandle fd, uint slotCount, uint slotSize, uint frameSize)
    {
        var layout = FrameRingLayout.Validate(
            id, fd, slotCount, slotSize, frameSize, MemFd.ReadOnlyForOthersSeals, "resizing and new writable mappings");
        return new FrameRingReader(id, new FrameRingSlots(MappedMemory.MapShared(fd, (ulong)layout.TotalSize, writable: false), layout));
    }

    /// <summary>Copies the frame announced as <paramref name="sequence"/> in <paramref name="slot"/> into <paramref name="sink"/>.</summary>
    public RingReadResult CopyFrame(int slot, ulong sequence, IFrameSink sink) => _slots.Read(slot, sequence, sink);

    public void Dispose() => _slots.Dispose();
}
