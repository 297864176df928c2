using Spectrum.Camera.Native;

namespace Spectrum.Camera.Host;

/// <summary>One driver buffer mapped read-only into this process (V4L2 MMAP I/O). The only unsafe code of streaming.</summary>
internal sealed unsafe class MappedCaptureBuffer : IDisposable
{
    private readonly MappedMemory _memory;

    private MappedCaptureBuffer(MappedMemory memory, uint length)
    {
        _memory = memory;
        Length = length;
    }

    /// <summary><c>v4l2_buffer.length</c>: the buffer's size.</summary>
    public uint Length { get; }

    /// <summary>Maps the buffer QUERYBUF described (<paramref name="length"/> bytes at mmap offset <paramref name="offset"/>).</summary>
    public static MappedCaptureBuffer Map(FdHandle fd, uint length, uint offset) =>
        new(MappedMemory.MapShared(fd, length, offset, writable: false), length);

    /// <summary>The first <paramref name="bytesUsed"/> bytes (clamped to the buffer: a driver's count is not trusted).</summary>
    public ReadOnlySpan<byte> Data(uint bytesUsed)
    {
        var p = _memory.BaseAddress;
        ObjectDisposedException.ThrowIf(p == null, this);
        return new ReadOnlySpan<byte>(p, (int)Math.Min(Math.Min(bytesUsed, Length), int.MaxValue));
    }

    public void Dispose() => _memory.Dispose();
}
