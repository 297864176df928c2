using Spectrum.Camera.Native;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// A device-owned capture buffer (V4L2_MEMORY_MMAP): a memfd of its own, zero-filled by the kernel, sized to whole
/// window granules and sealed against resizing, mapped read-write here so frames are rendered straight into it, and
/// handed to the VMM only to map into shared-memory region 0 (CMD_MMAP). It never holds anything but frames of the
/// session that allocated it and is never given to another session; it is freed once the queue has let it go and no
/// window mapping refers to it any more.
/// </summary>
internal sealed class MmapBuffer : IDisposable
{
    private readonly MappedMemory _host;
    private bool _disposed;

    private MmapBuffer(ulong serial, uint session, uint length, ulong mappedLength, FdHandle fd, MappedMemory host)
    {
        Serial = serial;
        Session = session;
        Length = length;
        MappedLength = mappedLength;
        Fd = fd;
        _host = host;
    }

    /// <summary>A number unique for the device's life, for log lines.</summary>
    public ulong Serial { get; }

    /// <summary>The session whose REQBUFS or CREATE_BUFS allocated it: the only one that may map it.</summary>
    public uint Session { get; }

    /// <summary>The buffer length the application sees (QUERYBUF length, CMD_MMAP len).</summary>
    public uint Length { get; }

    /// <summary>Bytes of the memfd and of every window mapping of it: <see cref="Length"/> rounded up to granules.</summary>
    public ulong MappedLength { get; }

    /// <summary>The memfd, sent with each SHMEM_MAP.</summary>
    public FdHandle Fd { get; }

    /// <summary>Window mappings that refer to it (being mapped, mapped, or being unmapped).</summary>
    public int WindowMappings { get; set; }

    /// <summary>True once the capture queue let it go (REQBUFS, CLOSE, reset): it only lives on for its mappings.</summary>
    public bool Released { get; set; }

    public bool IsDisposed => _disposed;

    /// <summary>The buffer's bytes, for the frame sink.</summary>
    public Span<byte> Memory => _host.AsSpan((int)Length);

    /// <summary>
    /// Creates a buffer of <paramref name="length"/> bytes rounded up to <paramref name="granule"/>; null with the reason
    /// when the kernel refuses (out of memory, too many open files).
    /// </summary>
    public static MmapBuffer? TryCreate(ulong serial, uint session, uint length, ulong granule, out string? problem)
    {
        problem = null;
        var mappedLength = ((ulong)length + granule - 1) & ~(granule - 1);
        FdHandle? fd = null;
        try
        {
            fd = MemFd.CreateSealable($"spectrum-camera-buffer-{serial}", mappedLength);
            MemFd.AddSeals(fd, MemFd.FixedSizeSeals);
            var host = MappedMemory.MapShared(fd, mappedLength);
            return new MmapBuffer(serial, session, length, mappedLength, fd, host);
        }
        catch (NativeException e)
        {
            fd?.Dispose();
            problem = e.Message;
            return null;
        }
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _host.Dispose();
            Fd.Dispose();
        }
    }
}
