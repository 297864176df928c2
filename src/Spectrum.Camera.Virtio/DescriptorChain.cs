namespace Spectrum.Camera.Virtio;

/// <summary>
/// One validated descriptor chain popped from a split virtqueue. The device sees it as two byte streams: the
/// device-readable part and the device-writable part, because drivers split structs across descriptors.
/// Segments are kept as guest-physical ranges and translated at each access, so a memory-table change between pop
/// and completion can never make us touch unmapped or reassigned host memory.
/// </summary>
public sealed class DescriptorChain
{
    private GuestRange[] _segments = new GuestRange[8];

    internal DescriptorChain(ushort head) => Head = head;

    /// <summary>The head index, returned in the used ring.</summary>
    public ushort Head { get; }

    /// <summary>Number of device-readable segments (they come first).</summary>
    public int ReadableCount { get; private set; }

    /// <summary>Number of device-writable segments (they follow the readable ones).</summary>
    public int WritableCount { get; private set; }

    /// <summary>Total bytes of the readable part.</summary>
    public uint ReadableLength { get; private set; }

    /// <summary>Total bytes of the writable part.</summary>
    public uint WritableLength { get; private set; }

    /// <summary>All segments: readable ones first, then writable ones.</summary>
    public ReadOnlySpan<GuestRange> Segments => _segments.AsSpan(0, ReadableCount + WritableCount);

    internal bool InFlight { get; set; }

    /// <summary>
    /// Copies the readable part (or its first destination.Length bytes) into <paramref name="destination"/> in one
    /// pass: copy once, then validate the copy. Returns the bytes copied, or -1 if a segment no longer translates.
    /// </summary>
    public int CopyReadable(GuestMemory memory, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(memory);
        return memory.Gather(_segments.AsSpan(0, ReadableCount), destination);
    }

    /// <summary>Points <paramref name="writer"/> at this chain's writable part.</summary>
    public void OpenWritable(GuestMemory memory, GuestRangeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Reset(memory, _segments, ReadableCount, WritableCount);
    }

    internal void Clear()
    {
        ReadableCount = 0;
        WritableCount = 0;
        ReadableLength = 0;
        WritableLength = 0;
    }

    internal void Add(GuestRange range, bool writable)
    {
        var count = ReadableCount + WritableCount;
        if (count == _segments.Length)
        {
            Array.Resize(ref _segments, count * 2);
        }

        _segments[count] = range;
        if (writable)
        {
            WritableCount++;
            WritableLength += range.Length;
        }
        else
        {
            ReadableCount++;
            ReadableLength += range.Length;
        }
    }
}
