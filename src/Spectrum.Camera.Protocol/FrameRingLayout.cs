using Spectrum.Camera.Native;

namespace Spectrum.Camera.Protocol;

/// <summary>
/// The shared-memory layout of a frame ring (docs/camera-service.md): <c>SlotCount</c> slots of <c>SlotSize</c> bytes,
/// each a 64-byte header (seqlock version, camera sequence, timestamp, frame size) followed by the frame. Both sides
/// compute offsets here, in checked arithmetic, from numbers the reader validates before mapping anything.
/// </summary>
public readonly record struct FrameRingLayout
{
    public const int HeaderSize = 64;
    public const int VersionOffset = 0;
    public const int SequenceOffset = 8;
    public const int TimestampOffset = 16;
    public const int FrameSizeOffset = 24;

    /// <summary>Most slots a ring may have: enough to ride out a slow reader, small enough to bound memory.</summary>
    public const int MaxSlots = 16;

    /// <summary>Largest frame a ring carries (4096x4096 YUYV is 32 MiB).</summary>
    public const int MaxFrameSize = 64 << 20;

    private const int PageSize = 4096;

    private static long s_lastId;

    private FrameRingLayout(int slotCount, int slotSize, int frameSize)
    {
        SlotCount = slotCount;
        SlotSize = slotSize;
        FrameSize = frameSize;
    }

    public int SlotCount { get; }

    public int SlotSize { get; }

    public int FrameSize { get; }

    /// <summary>Bytes of the whole ring.</summary>
    public long TotalSize => (long)SlotCount * SlotSize;

    /// <summary>The layout for <paramref name="slotCount"/> slots of frames of <paramref name="frameSize"/> bytes.</summary>
    public static FrameRingLayout For(int slotCount, int frameSize)
    {
        if (slotCount is < 1 or > MaxSlots)
        {
            throw new ArgumentOutOfRangeException(nameof(slotCount), slotCount, $"a ring has 1..{MaxSlots} slots");
        }

        if (frameSize is < 1 or > MaxFrameSize)
        {
            throw new ArgumentOutOfRangeException(nameof(frameSize), frameSize, $"a ring frame is 1..{MaxFrameSize} bytes");
        }

        var slotSize = checked((HeaderSize + frameSize + PageSize - 1) / PageSize * PageSize);
        return new FrameRingLayout(slotCount, slotSize, frameSize);
    }

    /// <summary>
    /// Validates numbers received from the service (RingAttached) against the memfd's real size, so a bad message
    /// can never make the reader touch memory outside its mapping. Returns null, and says why, when they disagree.
    /// </summary>
    public static FrameRingLayout? TryValidate(uint slotCount, uint slotSize, uint frameSize, ulong fileSize, out string error)
    {
        if (slotCount is < 1 or > MaxSlots)
        {
            error = $"slot_count {slotCount} outside 1..{MaxSlots}";
            return null;
        }

        if (frameSize is < 1 or > MaxFrameSize)
        {
            error = $"frame_size {frameSize} outside 1..{MaxFrameSize}";
            return null;
        }

        var expected = For((int)slotCount, (int)frameSize);
        if (slotSize != (uint)expected.SlotSize)
        {
            error = $"slot_size {slotSize} is not {expected.SlotSize} for frame_size {frameSize}";
            return null;
        }

        if (fileSize != (ulong)expected.TotalSize)
        {
            error = $"ring memfd has {fileSize} bytes, expected {expected.TotalSize}";
            return null;
        }

        error = string.Empty;
        return expected;
    }

    /// <summary>
    /// The layout a peer announced for the memfd <paramref name="fd"/> (RingAttached, ProducerRing), checked before
    /// anything is mapped: the memfd carries <paramref name="requiredSeals"/> (at least against shrinking, so no
    /// mapping of it can ever fault; <paramref name="sealedAgainst"/> says what they forbid) and its real size is the
    /// layout's. Throws <see cref="ProtocolException"/> otherwise.
    /// </summary>
    internal static FrameRingLayout Validate(
        ulong id, FdHandle fd, uint slotCount, uint slotSize, uint frameSize, int requiredSeals, string sealedAgainst)
    {
        ArgumentNullException.ThrowIfNull(fd);
        var seals = MemFd.GetSeals(fd);
        if (seals < 0 || (seals & requiredSeals) != requiredSeals)
        {
            throw new ProtocolException($"ring {id} is not a sealed memfd: it must be sealed against {sealedAgainst} (seals {seals})");
        }

        var size = fd.RegularFileSize() ?? throw new ProtocolException($"ring {id} is not a regular file");
        return TryValidate(slotCount, slotSize, frameSize, size, out var error) ?? throw new ProtocolException($"ring {id}: {error}");
    }

    /// <summary>
    /// A ring id no other ring of this process had (sent as <c>ring_id</c>): a message naming an old ring can then
    /// never be taken for one about the current ring.
    /// </summary>
    internal static ulong NextId() => (ulong)Interlocked.Increment(ref s_lastId);

    /// <summary>Offset of slot <paramref name="slot"/>'s header.</summary>
    public long SlotOffset(int slot) =>
        (uint)slot < (uint)SlotCount ? (long)slot * SlotSize : throw new ArgumentOutOfRangeException(nameof(slot));
}
