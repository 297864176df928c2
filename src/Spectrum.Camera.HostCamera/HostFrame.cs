using Spectrum.Camera.Native;

namespace Spectrum.Camera.Host;

/// <summary>
/// One dequeued frame: a read-only view of the driver's mmap'd buffer, valid until it is given back with
/// <see cref="HostCamera.Release"/>. Convert it, then release it: the camera has only a few buffers, and one that is
/// not released is one the driver cannot fill.
/// </summary>
public readonly ref struct HostFrame
{
    internal HostFrame(ReadOnlySpan<byte> data, int bufferIndex, int generation, uint sequence, long timestampNanoseconds, bool isCorrupt)
    {
        Data = data;
        BufferIndex = bufferIndex;
        Generation = generation;
        Sequence = sequence;
        TimestampNanoseconds = timestampNanoseconds;
        IsCorrupt = isCorrupt;
    }

    /// <summary>The frame's bytes: <c>bytesused</c> of the buffer (for MJPEG, one JPEG image).</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary><c>v4l2_buffer.bytesused</c>.</summary>
    public int BytesUsed => Data.Length;

    /// <summary>Which of the camera's buffers this is.</summary>
    public int BufferIndex { get; }

    /// <summary>The driver's frame counter; gaps mean the driver dropped frames (no buffer was queued).</summary>
    public uint Sequence { get; }

    /// <summary>The driver's capture timestamp in nanoseconds (CLOCK_MONOTONIC for nearly every driver).</summary>
    public long TimestampNanoseconds { get; }

    /// <summary>V4L2_BUF_FLAG_ERROR: the driver says the data may be corrupt (a glitch on the bus). Skip it.</summary>
    public bool IsCorrupt { get; }

    /// <summary>The streaming session the frame belongs to; a frame from before a re-open is not re-queued.</summary>
    internal int Generation { get; }
}

/// <summary>Where a <see cref="HostCamera"/> is.</summary>
public enum HostCameraState
{
    /// <summary>Buffers are queued and the driver fills them.</summary>
    Streaming,

    /// <summary>
    /// The camera went away (ENODEV/EIO, POLLERR/POLLHUP) or is not there yet. The owner should show black frames at
    /// the guest's format and call <see cref="HostCamera.TryReopen"/> now and then.
    /// </summary>
    Unplugged,

    /// <summary>Stopped by the owner (<see cref="HostCamera.Stop"/> or Dispose).</summary>
    Stopped,
}

/// <summary>What the driver agreed to: the S_FMT and S_PARM answers.</summary>
public sealed record NegotiatedFormat(uint PixelFormat, uint Width, uint Height, uint BytesPerLine, uint SizeImage, Frames.FrameRate Interval)
{
    public override string ToString() =>
        $"{Frames.PixelFormats.ToFourccString(PixelFormat)} {Width}x{Height}@{FrameRates.Describe(Interval)} "
        + $"(bytesperline {BytesPerLine}, sizeimage {SizeImage})";
}

/// <summary>A host camera failure: the device cannot be opened, does not take the mode, or a V4L2 call failed.</summary>
public sealed class HostCameraException : IOException
{
    public HostCameraException(string message, int errno)
        : base(errno == 0 ? message : $"{message} ({NativeException.Describe(errno)}, errno {errno})")
    {
        Errno = errno;
    }

    public HostCameraException()
    {
    }

    public HostCameraException(string message)
        : base(message)
    {
    }

    public HostCameraException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The errno of the failed call, 0 when the failure is not a system call's.</summary>
    public int Errno { get; }

    /// <summary>Whether the errno means the device is gone or not there (so re-opening later may work).</summary>
    public bool IsUnplug => HostCamera.IsGoneErrno(Errno) || Errno == Errnos.ENOENT;
}
