namespace Spectrum.Camera.Virtio;

/// <summary>
/// The guest RAM map: an immutable set of regions (from SET_MEM_TABLE or ADD/REM_MEM_REG). Every access to guest
/// memory in the project goes through <see cref="TryTranslate"/> or <see cref="TryTranslateUser"/>, which accept a
/// range only if it lies entirely in one region, with overflow-safe arithmetic. A range in a hole (for example
/// QEMU's 640K-768K) or spanning two regions is refused.
/// </summary>
public sealed unsafe class GuestMemory : IDisposable
{
    /// <summary>The table limit we accept; QEMU sends at most 8 regions, rust-vmm allows 509 slots.</summary>
    public const int MaxRegions = 64;

    private readonly GuestMemoryRegion[] _regions;

    public GuestMemory(IEnumerable<GuestMemoryRegion> regions)
    {
        ArgumentNullException.ThrowIfNull(regions);
        _regions = [.. regions.OrderBy(r => r.GuestPhysicalAddress)];
        if (_regions.Length > MaxRegions)
        {
            throw new ArgumentException($"at most {MaxRegions} memory regions are supported");
        }

        for (var i = 1; i < _regions.Length; i++)
        {
            var previous = _regions[i - 1];
            if (_regions[i].GuestPhysicalAddress - previous.GuestPhysicalAddress < previous.Size)
            {
                throw new ArgumentException(
                    $"memory regions overlap at gpa 0x{_regions[i].GuestPhysicalAddress:x}");
            }
        }
    }

    /// <summary>An empty map: every translation fails. Used before the VMM sends a table.</summary>
    public static GuestMemory Empty { get; } = new([]);

    public IReadOnlyList<GuestMemoryRegion> Regions => _regions;

    /// <summary>Total bytes of guest RAM described.</summary>
    public ulong TotalSize => _regions.Aggregate(0UL, (sum, r) => sum + r.Size);

    /// <summary>
    /// Host pointer for the guest-physical range [gpa, gpa+length), or null if the range is not wholly inside one
    /// region. A zero length is valid only at an address inside a region.
    /// </summary>
    public byte* TryTranslate(ulong gpa, ulong length)
    {
        foreach (var region in _regions)
        {
            if (region.ContainsGuestRange(gpa, length) && (length > 0 || gpa - region.GuestPhysicalAddress < region.Size))
            {
                return region.Host + (gpa - region.GuestPhysicalAddress);
            }
        }

        return null;
    }

    /// <summary>
    /// Copies the guest ranges <paramref name="ranges"/>, in order, into <paramref name="destination"/> until it is
    /// full or the ranges end, translating each range at the copy (so a map that changed since the ranges were
    /// checked is never read through). Returns the bytes copied, or -1 when a range is no longer guest RAM.
    /// </summary>
    public int Gather(ReadOnlySpan<GuestRange> ranges, Span<byte> destination)
    {
        var copied = 0;
        for (var i = 0; i < ranges.Length && copied < destination.Length; i++)
        {
            var range = ranges[i];
            var n = (int)Math.Min(range.Length, (uint)(destination.Length - copied));
            var p = TryTranslate(range.Address, (ulong)n);
            if (p == null)
            {
                return -1;
            }

            new ReadOnlySpan<byte>(p, n).CopyTo(destination[copied..]);
            copied += n;
        }

        return copied;
    }

    /// <summary>True when [gpa, gpa+length) is guest RAM (one region).</summary>
    public bool Contains(ulong gpa, ulong length) => TryTranslate(gpa, length) != null;

    /// <summary>
    /// Translates a VMM user (virtual) address range, as SET_VRING_ADDR carries, to a host pointer and its gpa.
    /// </summary>
    public byte* TryTranslateUser(ulong uva, ulong length, out ulong gpa)
    {
        foreach (var region in _regions)
        {
            if (region.ContainsUserRange(uva, length))
            {
                gpa = region.GuestPhysicalAddress + (uva - region.UserAddress);
                return region.Host + (uva - region.UserAddress);
            }
        }

        gpa = 0;
        return null;
    }

    /// <summary>Unmaps every region. Owners dispose a map only after nothing uses it any more.</summary>
    public void Dispose()
    {
        foreach (var region in _regions)
        {
            region.Dispose();
        }
    }
}
