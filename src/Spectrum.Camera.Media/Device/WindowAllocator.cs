namespace Spectrum.Camera.Media.Device;

/// <summary>
/// First-fit allocation of ranges of shared-memory region 0 (the window MMAP buffers are mapped into). Ranges are whole
/// granules at granule-aligned offsets, so every offset the driver gets back is page-aligned for any guest page size up
/// to the granule. Free space is a sorted list of disjoint ranges, merged with its neighbours on free; it holds at most
/// one more entry than there are allocations. Pure bookkeeping: nothing is mapped here.
/// </summary>
internal sealed class WindowAllocator
{
    private readonly List<(ulong Start, ulong Length)> _free = [];

    /// <param name="size">Bytes of the region; a partial granule at its end is never handed out.</param>
    /// <param name="granule">Allocation unit, a power of two.</param>
    public WindowAllocator(ulong size, ulong granule)
    {
        if (granule == 0 || (granule & (granule - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(granule), "the granule must be a power of two");
        }

        Granule = granule;
        Size = size / granule * granule;
        Clear();
    }

    /// <summary>Bytes that can be handed out (whole granules).</summary>
    public ulong Size { get; }

    public ulong Granule { get; }

    public ulong FreeBytes { get; private set; }

    /// <summary>Free ranges, for tests and the operator's log.</summary>
    public int FreeRangeCount => _free.Count;

    /// <summary>Rounds <paramref name="length"/> up to whole granules; false when that overflows.</summary>
    public bool TryRound(ulong length, out ulong rounded)
    {
        rounded = 0;
        if (length == 0 || length > ulong.MaxValue - (Granule - 1))
        {
            return false;
        }

        rounded = (length + Granule - 1) & ~(Granule - 1);
        return true;
    }

    /// <summary>Takes the lowest free range of <paramref name="length"/> bytes (rounded up to granules); false when none is free.</summary>
    public bool TryAllocate(ulong length, out ulong offset)
    {
        offset = 0;
        if (!TryRound(length, out var rounded))
        {
            return false;
        }

        for (var i = 0; i < _free.Count; i++)
        {
            var (start, free) = _free[i];
            if (free < rounded)
            {
                continue;
            }

            offset = start;
            if (free == rounded)
            {
                _free.RemoveAt(i);
            }
            else
            {
                _free[i] = (start + rounded, free - rounded);
            }

            FreeBytes -= rounded;
            return true;
        }

        return false;
    }

    /// <summary>Returns a range <see cref="TryAllocate"/> handed out (the same offset and length).</summary>
    public void Free(ulong offset, ulong length)
    {
        if (!TryRound(length, out var rounded) || offset % Granule != 0 || offset > Size || rounded > Size - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"[0x{offset:x}, +0x{length:x}) was never allocated from a {Size}-byte window");
        }

        var i = 0;
        while (i < _free.Count && _free[i].Start < offset)
        {
            i++;
        }

        // The range must lie between its free neighbours; overlapping one means a double free.
        if ((i > 0 && _free[i - 1].Start + _free[i - 1].Length > offset) || (i < _free.Count && offset + rounded > _free[i].Start))
        {
            throw new InvalidOperationException($"[0x{offset:x}, +0x{rounded:x}) is already free");
        }

        var start = offset;
        var size = rounded;
        if (i < _free.Count && offset + rounded == _free[i].Start)
        {
            size += _free[i].Length;
            _free.RemoveAt(i);
        }

        if (i > 0 && _free[i - 1].Start + _free[i - 1].Length == offset)
        {
            start = _free[i - 1].Start;
            size += _free[i - 1].Length;
            _free.RemoveAt(--i);
        }

        _free.Insert(i, (start, size));
        FreeBytes += rounded;
    }

    /// <summary>Everything free again (the VMM that held the mappings is gone).</summary>
    public void Clear()
    {
        _free.Clear();
        if (Size > 0)
        {
            _free.Add((0, Size));
        }

        FreeBytes = Size;
    }
}
