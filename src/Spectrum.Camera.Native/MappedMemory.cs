using Tmds.Linux;

namespace Spectrum.Camera.Native;

/// <summary>
/// One shared mapping of an fd (guest RAM region, test-frontend RAM, frame buffers). Unmapped on dispose.
/// Exposes the base pointer only to the memory layer, which does all bounds checking.
/// </summary>
public sealed unsafe class MappedMemory : IDisposable
{
    private nint _address;

    private MappedMemory(nint address, ulong length)
    {
        _address = address;
        Length = length;
    }

    public ulong Length { get; }

    /// <summary>Base address of the mapping; zero after dispose.</summary>
    public byte* BaseAddress => (byte*)_address;

    /// <summary>Maps <paramref name="length"/> bytes of <paramref name="fd"/> at <paramref name="offset"/> shared, read/write.</summary>
    public static MappedMemory MapShared(FdHandle fd, ulong length, ulong offset = 0, bool writable = true)
    {
        ArgumentNullException.ThrowIfNull(fd);
        if (length == 0 || length > long.MaxValue || offset > long.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "mapping length must be in 1..2^63");
        }

        var prot = LibC.PROT_READ | (writable ? LibC.PROT_WRITE : 0);
        var p = LibC.mmap(null, (size_t)length, prot, LibC.MAP_SHARED, fd.Fd, (long)offset);
        return p == LibC.MAP_FAILED ? throw NativeException.Last("mmap") : new MappedMemory((nint)p, length);
    }

    /// <summary>
    /// The first <paramref name="length"/> bytes of the mapping as a span, for an owner that writes into memory it
    /// mapped itself (a device-owned capture buffer). Bounds are checked here; never used after <see cref="Dispose"/>.
    /// </summary>
    public Span<byte> AsSpan(int length)
    {
        ObjectDisposedException.ThrowIf(_address == 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((ulong)length, Length);
        return new Span<byte>(BaseAddress, length);
    }

    public void Dispose()
    {
        var p = Interlocked.Exchange(ref _address, 0);
        if (p != 0)
        {
            _ = LibC.munmap((void*)p, (size_t)Length);
        }
    }
}
