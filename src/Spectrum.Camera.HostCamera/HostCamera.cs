using Spectrum.Camera.Uapi;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;

namespace Spectrum.Camera.Host;

/// <summary>
/// Streams one host V4L2 camera with MMAP buffers for an owner's event loop: open (by node or by a /dev/v4l link),
/// S_FMT, S_PARM, REQBUFS, mmap, QBUF all, STREAMON. The owner watches <see cref="Fd"/> for readability (epoll or
/// <see cref="Wait"/>), calls <see cref="TryDequeue"/>, converts the frame and gives it back with
/// <see cref="Release"/>. Nothing is allocated per frame.
/// </summary>
/// <remarks>
/// <para>
/// Unplug: when DQBUF/QBUF answer ENODEV, EIO or ENXIO, or poll reports POLLERR/POLLHUP, the camera goes to
/// <see cref="HostCameraState.Unplugged"/> (TryDequeue returns false; check <see cref="State"/>). The owner keeps the
/// guest streaming black frames at the same format, removes <see cref="Fd"/> from its epoll set, and calls
/// <see cref="TryReopen"/> now and then: it closes the old fd and opens the same path again with the same mode, so a
/// by-id link finds the camera even when it comes back as another /dev/videoN.
/// </para>
/// <para>Not thread-safe: one owner thread (the device loop) calls everything.</para>
/// </remarks>
public sealed class HostCamera : IDisposable
{
    /// <summary>Buffers requested by default: enough to absorb a slow conversion without the driver dropping frames.</summary>
    public const int DefaultBufferCount = 4;

    private const string Component = "host-camera";
    private readonly int _bufferCount;
    private FdHandle? _fd;
    private MappedCaptureBuffer[] _buffers = [];
    private bool[] _dequeued = [];

    // One reusable QBUF argument per buffer, so re-queueing allocates nothing.
    private V4l2Buffer[] _queueTemplates = [];
    private int _outstanding;
    private int _generation;
    private bool _streamOn;

    private HostCamera(string path, HostMode mode, int bufferCount)
    {
        Path = path;
        Mode = mode;
        _bufferCount = bufferCount;
    }

    /// <summary>The path it was opened with (a node or a by-id/by-path link); re-opens use the same path.</summary>
    public string Path { get; }

    /// <summary>The mode asked for.</summary>
    public HostMode Mode { get; }

    public HostCameraState State { get; private set; } = HostCameraState.Unplugged;

    /// <summary>What the driver agreed to in the current (or last) streaming session; null before the first.</summary>
    public NegotiatedFormat? Format { get; private set; }

    /// <summary>The device fd while there is one (streaming, or unplugged until the next re-open); -1 otherwise.</summary>
    public int Fd => _fd is { IsInvalid: false, IsClosed: false } fd ? fd.Fd : -1;

    /// <summary>How many buffers the driver gave (REQBUFS may adjust the count).</summary>
    public int BufferCount => _buffers.Length;

    /// <summary>Why the camera is unplugged (the failing call and errno), or the last failed re-open; null while streaming.</summary>
    public string? UnplugReason { get; private set; }

    /// <summary>How many times the camera went from streaming to unplugged.</summary>
    public int UnplugCount { get; private set; }

    /// <summary>How many times a re-open brought the camera back.</summary>
    public int ReopenCount { get; private set; }

    /// <summary>Opens <paramref name="path"/> and starts streaming <paramref name="mode"/>.</summary>
    /// <exception cref="HostCameraException">The device cannot be opened or refuses the mode or buffers.</exception>
    public static HostCamera Open(string path, HostMode mode, int bufferCount = DefaultBufferCount)
    {
        var camera = Create(path, mode, bufferCount);
        var errno = DeviceFile.TryOpen(path, nonBlocking: true, out var fd);
        if (errno != 0)
        {
            throw new HostCameraException($"cannot open {path}: {CameraEnumerator.OpenFailure(path, errno)}", errno);
        }

        camera.Start(fd!);
        return camera;
    }

    /// <summary>
    /// Like <see cref="Open"/>, but a camera that is not there (no such node, ENODEV, ENXIO) is not an error: the
    /// result starts <see cref="HostCameraState.Unplugged"/> and <see cref="TryReopen"/> brings it in when it appears.
    /// </summary>
    public static HostCamera OpenOrWait(string path, HostMode mode, int bufferCount = DefaultBufferCount)
    {
        var camera = Create(path, mode, bufferCount);
        if (!camera.TryReopen() && camera.LastReopenErrno is not (Errnos.ENOENT or Errnos.ENODEV or Errnos.ENXIO))
        {
            throw new HostCameraException($"cannot open {path}: {camera.UnplugReason}", camera.LastReopenErrno);
        }

        return camera;
    }

    /// <summary>The errno of the last failed <see cref="TryReopen"/> (0 when it was not a system call's).</summary>
    public int LastReopenErrno { get; private set; }

    /// <summary>
    /// Dequeues the next filled buffer. False when none is ready (EAGAIN) or when the camera is not streaming; after a
    /// false, <see cref="State"/> tells which (<see cref="HostCameraState.Unplugged"/> when DQBUF found it gone).
    /// </summary>
    /// <exception cref="HostCameraException">DQBUF failed in a way that is not an unplug (a driver bug).</exception>
    public bool TryDequeue(out HostFrame frame)
    {
        frame = default;
        if (State != HostCameraState.Streaming)
        {
            return false;
        }

        var buffer = new V4l2Buffer { Type = V4l2.BufTypeVideoCapture, Memory = V4l2.MemoryMmap };
        var errno = DeviceFile.Ioctl(_fd!, V4l2Requests.DQBuf, ref buffer);
        if (errno == Errnos.EAGAIN)
        {
            return false;
        }

        if (errno != 0)
        {
            return IsGoneErrno(errno)
                ? Unplugged("VIDIOC_DQBUF", errno)
                : throw new HostCameraException($"{Path}: VIDIOC_DQBUF failed", errno);
        }

        if (buffer.Index >= (uint)_buffers.Length || _dequeued[buffer.Index])
        {
            throw new HostCameraException($"{Path}: VIDIOC_DQBUF returned buffer {buffer.Index}, which is not queued", 0);
        }

        var index = (int)buffer.Index;
        _dequeued[index] = true;
        _outstanding++;
        var timestamp = (buffer.TimestampSeconds * 1_000_000_000) + (buffer.TimestampMicroseconds * 1000);
        frame = new HostFrame(_buffers[index].Data(buffer.BytesUsed), index, _generation, buffer.Sequence, timestamp,
            (buffer.Flags & V4l2.BufFlagError) != 0);
        return true;
    }

    /// <summary>
    /// Gives a dequeued frame's buffer back to the driver (QBUF). A frame from before an unplug is just forgotten; when
    /// the last such frame is released, the old buffers are unmapped.
    /// </summary>
    /// <exception cref="InvalidOperationException">The frame was already released.</exception>
    public void Release(in HostFrame frame)
    {
        var index = frame.BufferIndex;
        if (frame.Generation != _generation || index < 0 || index >= _dequeued.Length || !_dequeued[index])
        {
            throw new InvalidOperationException($"buffer {index} of session {frame.Generation} is not dequeued (released twice?)");
        }

        _dequeued[index] = false;
        _outstanding--;
        if (State == HostCameraState.Streaming)
        {
            Queue(index);
        }
        else if (_outstanding == 0 && _fd is null)
        {
            UnmapBuffers();
        }
    }

    /// <summary>
    /// The bytes of a dequeued, not yet released frame, found again by its <see cref="HostFrame.BufferIndex"/> and
    /// <see cref="HostFrame.BytesUsed"/>: for an owner that hands the frame on through a class (a
    /// <see cref="HostFrame"/> is a ref struct and cannot be stored) while it holds it. Valid until
    /// <see cref="Release"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">That buffer is not dequeued (already released, or another session).</exception>
    public ReadOnlySpan<byte> DequeuedData(int bufferIndex, int bytesUsed)
    {
        if (bufferIndex < 0 || bufferIndex >= _dequeued.Length || !_dequeued[bufferIndex])
        {
            throw new InvalidOperationException($"buffer {bufferIndex} is not dequeued (released already?)");
        }

        return _buffers[bufferIndex].Data((uint)Math.Max(0, bytesUsed));
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for a frame (poll; -1 = forever) and returns the state: POLLERR or
    /// POLLHUP while streaming means the camera is gone. For owners without an epoll loop (the probe command, tests).
    /// </summary>
    public HostCameraState Wait(int timeoutMs)
    {
        if (State != HostCameraState.Streaming)
        {
            return State;
        }

        var events = DeviceFile.Poll(_fd!, timeoutMs);
        if ((events & (PollEvents.Error | PollEvents.HangUp | PollEvents.Invalid)) != 0)
        {
            UnplugReason = $"poll reported {events}";
            EnterUnplugged();
        }

        return State;
    }

    /// <summary>
    /// When unplugged: closes the old fd and buffers and opens <see cref="Path"/> again with the same mode. True when
    /// streaming again (then <see cref="Fd"/> is a new fd to watch). Every frame must be released first.
    /// </summary>
    /// <exception cref="InvalidOperationException">Frames are still outstanding, or the camera was stopped.</exception>
    public bool TryReopen()
    {
        if (State == HostCameraState.Streaming)
        {
            return true;
        }

        if (State == HostCameraState.Stopped)
        {
            throw new InvalidOperationException("the camera was stopped");
        }

        if (_outstanding > 0)
        {
            throw new InvalidOperationException($"release the {_outstanding} outstanding frame(s) before re-opening");
        }

        CloseDevice();
        var errno = DeviceFile.TryOpen(Path, nonBlocking: true, out var fd);
        if (errno != 0)
        {
            LastReopenErrno = errno;
            UnplugReason = $"open: {CameraEnumerator.OpenFailure(Path, errno)} (errno {errno})";
            return false;
        }

        try
        {
            Start(fd!);
        }
        catch (HostCameraException e)
        {
            LastReopenErrno = e.Errno;
            UnplugReason = e.Message;
            return false;
        }

        if (_generation > 1)
        {
            ReopenCount++;
            Log.Info(Component, $"{Path}: back, streaming {Format}");
        }

        return true;
    }

    /// <summary>STREAMOFF, unmap (once every frame is released) and close. The camera cannot be re-opened after this.</summary>
    public void Stop()
    {
        State = HostCameraState.Stopped;
        CloseDevice();
    }

    public void Dispose() => Stop();

    /// <summary>The errnos that mean the device has gone away.</summary>
    internal static bool IsGoneErrno(int errno) => errno is Errnos.ENODEV or Errnos.EIO or Errnos.ENXIO;

    private static HostCamera Create(string path, HostMode mode, int bufferCount)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bufferCount, 32);
        return new HostCamera(path, mode, bufferCount);
    }

    /// <summary>Sets the mode up on a freshly opened fd and starts streaming; closes everything on failure.</summary>
    private void Start(FdHandle fd)
    {
        _fd = fd;
        try
        {
            Format = ModeNegotiation.Negotiate(fd, Path, Mode);
            AllocateBuffers(fd);
            for (var i = 0; i < _buffers.Length; i++)
            {
                Check(DeviceFile.Ioctl(fd, V4l2Requests.QBuf, ref BufferAt(i)), "VIDIOC_QBUF");
            }

            var type = (int)V4l2.BufTypeVideoCapture;
            Check(DeviceFile.Ioctl(fd, V4l2Requests.StreamOn, ref type), "VIDIOC_STREAMON");
            _streamOn = true;
        }
        catch
        {
            CloseDevice();
            throw;
        }

        _generation++;
        State = HostCameraState.Streaming;
        UnplugReason = null;
        LastReopenErrno = 0;
    }

    private void AllocateBuffers(FdHandle fd)
    {
        _buffers = MappedCaptureBuffer.RequestAndMap(fd, Path, _bufferCount);
        _dequeued = new bool[_buffers.Length];
        _queueTemplates = new V4l2Buffer[_buffers.Length];
    }

    private ref V4l2Buffer BufferAt(int index)
    {
        _queueTemplates[index] = new V4l2Buffer { Index = (uint)index, Type = V4l2.BufTypeVideoCapture, Memory = V4l2.MemoryMmap };
        return ref _queueTemplates[index];
    }

    private void Queue(int index)
    {
        var errno = DeviceFile.Ioctl(_fd!, V4l2Requests.QBuf, ref BufferAt(index));
        if (errno == 0)
        {
            return;
        }

        if (IsGoneErrno(errno))
        {
            Unplugged("VIDIOC_QBUF", errno);
            return;
        }

        throw new HostCameraException($"{Path}: VIDIOC_QBUF of buffer {index} failed", errno);
    }

    private bool Unplugged(string call, int errno)
    {
        UnplugReason = $"{call}: {NativeException.Describe(errno)} (errno {errno})";
        EnterUnplugged();
        return false;
    }

    private void EnterUnplugged()
    {
        State = HostCameraState.Unplugged;
        UnplugCount++;
        Log.Warning(Component, $"{Path}: camera gone ({UnplugReason}); the owner shows black until it is back");
    }

    /// <summary>Closes the fd; unmaps the buffers unless frames are outstanding (then the last Release does).</summary>
    private void CloseDevice()
    {
        if (_fd is not null)
        {
            if (_streamOn)
            {
                var type = (int)V4l2.BufTypeVideoCapture;
                _ = DeviceFile.Ioctl(_fd, V4l2Requests.StreamOff, ref type); // Fails with ENODEV when unplugged: fine.
                _streamOn = false;
            }

            if (_outstanding == 0)
            {
                UnmapBuffers();
            }

            _fd.Dispose();
            _fd = null;
        }
        else if (_outstanding == 0)
        {
            UnmapBuffers();
        }
    }

    private void UnmapBuffers()
    {
        foreach (var buffer in _buffers)
        {
            buffer?.Dispose();
        }

        _buffers = [];
        _dequeued = [];
    }

    private void Check(int errno, string call)
    {
        if (errno != 0)
        {
            throw new HostCameraException($"{Path}: {call} failed", errno);
        }
    }
}
