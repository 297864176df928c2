using Spectrum.Camera.Native;

namespace Spectrum.Camera.TestFrontend;

/// <summary>
/// Guest RAM as QEMU builds it for q35: one memfd, described to the backend as regions whose file offset equals
/// the guest-physical address, with the legacy VGA hole 0xA0000-0xC0000 left out. The test frontend plays the guest
/// by writing rings and buffers straight into this memory.
/// </summary>
public sealed unsafe class GuestRam : IDisposable
{
    public const ulong HoleStart = 0xA0000;
    public const ulong HoleEnd = 0xC0000;

    private readonly MappedMemory _mapping;
    private ulong _next = 0x100000;

    public GuestRam(ulong size = 64UL << 20)
    {
        if (size <= HoleEnd + 0x100000)
        {
            throw new ArgumentOutOfRangeException(nameof(size), "guest RAM must be larger than 2 MiB");
        }

        Size = size;
        Fd = MemFd.Create("test-guest-ram", size);
        _mapping = MappedMemory.MapShared(Fd, size);
        Regions =
        [
            new RamRegion(0, HoleStart, UserAddressOf(0), 0),
            new RamRegion(HoleEnd, size - HoleEnd, UserAddressOf(HoleEnd), HoleEnd),
        ];
    }

    public ulong Size { get; }

    /// <summary>The memfd backing the RAM (sent with SET_MEM_TABLE).</summary>
    public FdHandle Fd { get; }

    /// <summary>The regions as SET_MEM_TABLE describes them.</summary>
    public IReadOnlyList<RamRegion> Regions { get; }

    /// <summary>The "VMM user address" of a gpa: our own mapping address, as QEMU sends its own.</summary>
    public ulong UserAddressOf(ulong gpa) => (ulong)_mapping.BaseAddress + gpa;

    /// <summary>Bump-allocates <paramref name="size"/> bytes of RAM above 1 MiB, aligned.</summary>
    public ulong Allocate(ulong size, ulong alignment = 16)
    {
        var gpa = (_next + alignment - 1) & ~(alignment - 1);
        if (gpa + size > Size)
        {
            throw new InvalidOperationException("test guest RAM exhausted");
        }

        _next = gpa + size;
        return gpa;
    }

    /// <summary>Direct view of guest memory at <paramref name="gpa"/> (the guest's side: no checks beyond RAM size).</summary>
    public Span<byte> Span(ulong gpa, int length)
    {
        if (gpa > Size || (ulong)length > Size - gpa)
        {
            throw new ArgumentOutOfRangeException(nameof(gpa));
        }

        return new Span<byte>(_mapping.BaseAddress + gpa, length);
    }

    public void Dispose()
    {
        _mapping.Dispose();
        Fd.Dispose();
    }

    /// <summary>One SET_MEM_TABLE region.</summary>
    public readonly record struct RamRegion(ulong GuestPhysicalAddress, ulong Size, ulong UserAddress, ulong MmapOffset);
}
