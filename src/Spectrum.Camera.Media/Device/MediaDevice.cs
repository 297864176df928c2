using System.Text;
using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.VhostUser;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// What the virtio-media capture and output devices share as an <see cref="IVirtioDevice"/>: the 40-byte config, the
/// two queues through one <see cref="VirtqueueTransport"/>, the command dispatcher with the device's ioctl allowlist,
/// the shared-memory window for MMAP buffers (a device without one offers none), and a frame engine that stops writing
/// or reading guest memory while the rings are stopped. Commands are answered at once (never blocked on media
/// progress; CMD_MMAP alone waits, off the loop, for the VMM's ack of its mapping).
/// </summary>
public abstract class MediaDevice : IVirtioDevice, IDisposable
{
    public const int CommandQueue = VirtqueueTransport.CommandQueue;
    public const int EventQueue = VirtqueueTransport.EventQueue;

    private protected const string Component = "virtio-media";

    private readonly byte[] _config;
    private IStreamer? _streamer;
    private BufferIoctls? _buffers;
    private CommandDispatcher? _dispatcher;

    /// <param name="sharedMemorySize">Bytes of shared-memory region 0 (0: no window, so no MMAP buffers).</param>
    private protected MediaDevice(string card, uint deviceCaps, DeviceState state, ulong sharedMemorySize)
    {
        ArgumentNullException.ThrowIfNull(card);
        if (CardNameProblem(card) is { } problem)
        {
            throw new ArgumentException(problem, nameof(card));
        }

        if (MediaDeviceOptions.SharedMemorySizeProblem(sharedMemorySize) is { } sizeProblem)
        {
            throw new ArgumentException("shared-memory size " + sizeProblem, nameof(sharedMemorySize));
        }

        _config = WireStruct.ToArray(VirtioMediaConfig.Create(deviceCaps, deviceType: 0, Encoding.UTF8.GetBytes(card)));
        State = state;
        Window = new SharedMemoryWindow(sharedMemorySize, Transport);
        State.Queue.ReleaseOwned = Window.Release;
    }

    public int SessionCount => State.Sessions.Count;

    public ulong DeviceFeatures => 0;

    public int QueueCount => 2;

    public ReadOnlySpan<byte> ConfigSpace => _config;

    public ulong SharedMemoryRegionSize => Window.RegionSize;

    /// <summary>The shared-memory window, for tests and the operator's view of MMAP buffers.</summary>
    internal SharedMemoryWindow Window { get; }

    private protected DeviceState State { get; }

    private protected VirtqueueTransport Transport { get; } = new(CommandDispatcher.MaxRequestBytes);

    private IStreamer Streamer => _streamer ?? throw new InvalidOperationException("the device was not composed");

    /// <summary>Why <paramref name="card"/> cannot be the card name the guest sees, or null when it can.</summary>
    public static string? CardNameProblem(string card)
    {
        ArgumentNullException.ThrowIfNull(card);
        var length = Encoding.UTF8.GetByteCount(card);
        return length is 0 or >= VirtioMediaWire.CardCapacity
            ? $"the card name must be 1..{VirtioMediaWire.CardCapacity - 1} bytes of UTF-8, not {length}"
            : null;
    }

    public void Attach(EventLoop deviceLoop)
    {
        Transport.Attach(deviceLoop, _dispatcher ?? throw new InvalidOperationException("the device was not composed"));
        Streamer.Attach(deviceLoop);
    }

    public virtual void Reset()
    {
        if (State.Sessions.Count > 0)
        {
            Log.Info(Component, $"device reset: closing {State.Sessions.Count} sessions");
        }

        _buffers?.StopStreaming();
        State.Reset();
        Window.Reset();
        Transport.Reset();
    }

    public void SharedMemoryChanged(ISharedMemoryMapper? mapper) => Window.Attach(mapper);

    /// <summary>The VMM is gone: its sessions and every device-owned buffer go too (the VMM dropped its mappings itself).</summary>
    public void ConnectionEnded() => Reset();

    public virtual void QueueStarted(int index, IVirtqueue queue)
    {
        Transport.QueueStarted(index, queue);
        if (Transport.IsRunning)
        {
            Streamer.Resume();
            Window.QueuesRunning(true);
        }
    }

    public void QueueStopped(int index)
    {
        Streamer.Suspend();
        Window.QueuesRunning(false);
        Transport.QueueStopped(index);
    }

    public virtual void QueueNotified(int index) => Transport.QueueNotified(index);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _streamer?.Dispose();
            Window.Dispose();
        }
    }

    /// <summary>
    /// Called once by the derived constructor: the device's frame engine, its buffer ioctls (STREAMOFF on reset) and
    /// its ioctl allowlist behind the shared command dispatcher.
    /// </summary>
    private protected void Compose(IStreamer streamer, BufferIoctls buffers, IoctlAllowlist allowlist)
    {
        _streamer = streamer;
        _buffers = buffers;
        _dispatcher = new CommandDispatcher(State, allowlist, Window);
    }
}
