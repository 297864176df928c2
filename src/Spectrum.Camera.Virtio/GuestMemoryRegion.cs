using Spectrum.Camera.Native;

namespace Spectrum.Camera.Virtio;

/// <summary>
/// One region of guest RAM as described by the VMM: guest-physical range, the VMM's own virtual address for it
/// (used by SET_VRING_ADDR), and our shared mapping of the backing fd.
/// </summary>
public sealed class GuestMemoryRegion : IDisposable
{
    private readonly MappedMemory _mapping;

    private GuestMemoryRegion(ulong guestPhysicalAddress, ulong size, ulong userAddress, ulong mmapOffset, MappedMemory mapping)
    {
        GuestPhysicalAddress = guestPhysicalAddress;
        Size = size;
        UserAddress = userAddress;
        MmapOffset = mmapOffset;
        _mapping = mapping;
    }

    public ulong GuestPhysicalAddress { get; }

    public ulong Size { get; }

    public ulong UserAddress { get; }

    public ulong MmapOffset { get; }

    /// <summary>Host address of the region's first byte.</summary>
    internal unsafe byte* Host => _mapping.BaseAddress + MmapOffset;

    /// <summary>
    /// Maps <paramref name="fd"/> from offset 0 for mmap_offset + size bytes (as libvhost-user does, because
    /// mmap_offset need not be aligned to the fd's page size with hugetlbfs). Validates the description first.
    /// </summary>
    public static GuestMemoryRegion Map(ulong gpa, ulong size, ulong userAddress, ulong mmapOffset, FdHandle fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        var error = Validate(gpa, size, userAddress, mmapOffset);
        if (error is not null)
        {
            throw new ArgumentException(error);
        }

        // Mapping past the end of the file succeeds, but the first access there would kill the process (SIGBUS).
        var fileSize = fd.RegularFileSize();
        if (fileSize is null || mmapOffset + size > fileSize.Value)
        {
            throw new ArgumentException(fileSize is null
                ? $"memory region gpa 0x{gpa:x} is not backed by a regular file (memfd, shm or hugetlbfs)"
                : $"memory region gpa 0x{gpa:x} mmap offset 0x{mmapOffset:x} + size 0x{size:x} reaches past the end of its fd (0x{fileSize.Value:x} bytes)");
        }

        return new GuestMemoryRegion(gpa, size, userAddress, mmapOffset, MappedMemory.MapShared(fd, mmapOffset + size));
    }

    /// <summary>Checks a region description for emptiness and 64-bit wrap; returns an error text or null.</summary>
    public static string? Validate(ulong gpa, ulong size, ulong userAddress, ulong mmapOffset)
    {
        if (size == 0)
        {
            return "memory region has size 0";
        }

        if (gpa > ulong.MaxValue - (size - 1) || userAddress > ulong.MaxValue - (size - 1))
        {
            return $"memory region gpa 0x{gpa:x} uva 0x{userAddress:x} size 0x{size:x} wraps past 2^64";
        }

        if (mmapOffset > long.MaxValue - size)
        {
            return $"memory region mmap offset 0x{mmapOffset:x} + size 0x{size:x} is too large";
        }

        return null;
    }

    /// <summary>True when [gpa, gpa+length) lies inside this region (overflow-safe).</summary>
    internal bool ContainsGuestRange(ulong gpa, ulong length) =>
        gpa >= GuestPhysicalAddress && length <= Size && gpa - GuestPhysicalAddress <= Size - length;

    /// <summary>True when [uva, uva+length) lies inside this region's VMM mapping (overflow-safe).</summary>
    internal bool ContainsUserRange(ulong uva, ulong length) =>
        uva >= UserAddress && length <= Size && uva - UserAddress <= Size - length;

    public void Dispose() => _mapping.Dispose();
}
