using System.Runtime.InteropServices;
using Spectrum.Camera.Native;
using Tmds.Linux;

namespace Spectrum.Camera.TestFrontend;

/// <summary>
/// VIRTIO shared-memory region 0 as QEMU 11.2 keeps it for vhost-user-media: an address range of the size the backend
/// reported in GET_SHMEM_CONFIG, holes where nothing is mapped, and the backend's fds mapped where its SHMEM_MAP
/// requests say. The checks are QEMU's (vhost_user_backend_handle_shmem_map and _unmap in hw/virtio/vhost-user.c,
/// qemu/qemu 1276e6c8): an fd, an offset and length inside the region without wrapping, no overlap with a mapping
/// already there, and an unmap names exactly one mapping. Tests read frames from here, where a guest application would.
/// </summary>
public sealed unsafe class SharedMemoryRegion : IDisposable
{
    private readonly object _lock = new();
    private readonly List<Mapping> _mappings = [];
    private byte* _base;

    public SharedMemoryRegion(ulong size)
    {
        if (size == 0 || size > long.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(size));
        }

        Size = size;

        // Reserved, inaccessible address space: a read of a hole faults, as it would for the guest.
        var p = LibC.mmap(null, (size_t)size, LibC.PROT_NONE, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
        _base = p == LibC.MAP_FAILED ? throw new InvalidOperationException($"mmap of region 0: errno {Marshal.GetLastPInvokeError()}") : (byte*)p;
    }

    public ulong Size { get; }

    /// <summary>The mappings in place now.</summary>
    public IReadOnlyList<Mapping> Mappings
    {
        get
        {
            lock (_lock)
            {
                return [.. _mappings];
            }
        }
    }

    /// <summary>Maps <paramref name="length"/> bytes of <paramref name="fd"/> from <paramref name="fdOffset"/> at <paramref name="offset"/>; null on success or QEMU's reason to refuse.</summary>
    public string? Map(FdHandle fd, ulong fdOffset, ulong offset, ulong length, bool writable)
    {
        ArgumentNullException.ThrowIfNull(fd);
        lock (_lock)
        {
            if (offset + length < length || offset + length > Size)
            {
                return $"bad offset/len 0x{offset:x}+0x{length:x}";
            }

            if (_mappings.Any(m => m.Offset < offset + length && offset < m.Offset + m.Length))
            {
                return "mapping overlap";
            }

            if (length == 0 || offset % 4096 != 0 || length % 4096 != 0 || fdOffset > long.MaxValue)
            {
                return $"mmap of 0x{offset:x}+0x{length:x} at file offset 0x{fdOffset:x} is not page-aligned";
            }

            var prot = LibC.PROT_READ | (writable ? LibC.PROT_WRITE : 0);
            var p = LibC.mmap(_base + offset, (size_t)length, prot, LibC.MAP_SHARED | LibC.MAP_FIXED, fd.Fd, (long)fdOffset);
            if (p == LibC.MAP_FAILED)
            {
                return $"mmap failed: errno {Marshal.GetLastPInvokeError()}";
            }

            _mappings.Add(new Mapping(offset, length, writable));
            return null;
        }
    }

    /// <summary>Removes the mapping at exactly <paramref name="offset"/> and <paramref name="length"/>; null on success or the reason.</summary>
    public string? Unmap(ulong offset, ulong length)
    {
        lock (_lock)
        {
            if (offset + length < length || offset + length > Size)
            {
                return $"bad offset/len 0x{offset:x}+0x{length:x}";
            }

            var index = _mappings.FindIndex(m => m.Offset == offset && m.Length == length);
            if (index < 0)
            {
                return $"no mapping at 0x{offset:x} with length 0x{length:x}";
            }

            _mappings.RemoveAt(index);
            _ = LibC.mmap(_base + offset, (size_t)length, LibC.PROT_NONE, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_FIXED | LibC.MAP_NORESERVE, -1, 0);
            return null;
        }
    }

    /// <summary>Copies <paramref name="count"/> bytes at <paramref name="offset"/>, which must lie inside one mapping.</summary>
    public byte[] Read(ulong offset, int count)
    {
        lock (_lock)
        {
            if (!_mappings.Any(m => offset >= m.Offset && offset - m.Offset <= m.Length && (ulong)count <= m.Length - (offset - m.Offset)))
            {
                throw new InvalidOperationException($"[0x{offset:x}, +{count}) is not mapped in region 0");
            }

            return new ReadOnlySpan<byte>(_base + offset, count).ToArray();
        }
    }

    /// <summary>Writes <paramref name="bytes"/> at <paramref name="offset"/> (a guest application scribbling on its buffer).</summary>
    public void Write(ulong offset, ReadOnlySpan<byte> bytes)
    {
        var count = (ulong)bytes.Length;
        lock (_lock)
        {
            if (!_mappings.Any(m => m.Writable && offset >= m.Offset && offset - m.Offset <= m.Length && count <= m.Length - (offset - m.Offset)))
            {
                throw new InvalidOperationException($"[0x{offset:x}, +{count}) is not mapped writable in region 0");
            }

            bytes.CopyTo(new Span<byte>(_base + offset, bytes.Length));
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_base != null)
            {
                _ = LibC.munmap(_base, (size_t)Size);
                _base = null;
                _mappings.Clear();
            }
        }
    }

    /// <summary>One mapping of region 0.</summary>
    public readonly record struct Mapping(ulong Offset, ulong Length, bool Writable);
}
