using Spectrum.Camera.Native;
using Spectrum.Camera.Uapi;

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

    /// <summary>
    /// Asks the driver for <paramref name="count"/> MMAP buffers (REQBUFS; it may give another count, 1 to 32 is
    /// accepted) and maps each one QUERYBUF describes. On failure the buffers mapped so far are unmapped.
    /// </summary>
    /// <exception cref="HostCameraException">The driver refused, gave no or too many buffers, or a mapping failed.</exception>
    public static MappedCaptureBuffer[] RequestAndMap(FdHandle fd, string path, int count)
    {
        var request = new V4l2RequestBuffers { Count = (uint)count, Type = V4l2.BufTypeVideoCapture, Memory = V4l2.MemoryMmap };
        var errno = DeviceFile.Ioctl(fd, V4l2Requests.ReqBufs, ref request);
        if (errno != 0)
        {
            throw new HostCameraException($"{path}: VIDIOC_REQBUFS failed", errno);
        }

        if (request.Count is 0 or > 32)
        {
            throw new HostCameraException($"{path}: VIDIOC_REQBUFS gave {request.Count} buffers", 0);
        }

        var buffers = new List<MappedCaptureBuffer>((int)request.Count);
        try
        {
            for (var i = 0u; i < request.Count; i++)
            {
                var buffer = new V4l2Buffer { Index = i, Type = V4l2.BufTypeVideoCapture, Memory = V4l2.MemoryMmap };
                errno = DeviceFile.Ioctl(fd, V4l2Requests.QueryBuf, ref buffer);
                if (errno != 0)
                {
                    throw new HostCameraException($"{path}: VIDIOC_QUERYBUF failed", errno);
                }

                if (buffer.Length == 0)
                {
                    throw new HostCameraException($"{path}: buffer {i} has length 0", 0);
                }

                try
                {
                    buffers.Add(Map(fd, buffer.Length, buffer.Offset));
                }
                catch (NativeException e)
                {
                    throw new HostCameraException($"{path}: mmap of buffer {i}", e.Errno);
                }
            }
        }
        catch
        {
            foreach (var mapped in buffers)
            {
                mapped.Dispose();
            }

            throw;
        }

        return [.. buffers];
    }

    /// <summary>The first <paramref name="bytesUsed"/> bytes (clamped to the buffer: a driver's count is not trusted).</summary>
    public ReadOnlySpan<byte> Data(uint bytesUsed)
    {
        var p = _memory.BaseAddress;
        ObjectDisposedException.ThrowIf(p == null, this);
        return new ReadOnlySpan<byte>(p, (int)Math.Min(Math.Min(bytesUsed, Length), int.MaxValue));
    }

    public void Dispose() => _memory.Dispose();
}
