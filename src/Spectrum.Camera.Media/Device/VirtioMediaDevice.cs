using System.Text;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.VhostUser;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The virtio-media (id 48) capture device: two queues (commandq, eventq), a 40-byte config, and a narrow allowlist of
/// V4L2 ioctls served from the stable menu, with frames from an <see cref="IFrameSource"/> written into guest pages or,
/// with a shared-memory window (QEMU 11.2's vhost-user-media), into device-owned MMAP buffers the guest maps there.
/// Commands are answered at once (never blocked on media progress; CMD_MMAP alone waits, off the loop, for the VMM's
/// ack of its mapping); frames come from <see cref="FrameStreamer"/>.
/// </summary>
public sealed class VirtioMediaDevice : IVirtioDevice, IDisposable
{
    public const int CommandQueue = VirtqueueTransport.CommandQueue;
    public const int EventQueue = VirtqueueTransport.EventQueue;

    private const string Component = "virtio-media";

    private readonly byte[] _config;
    private readonly CaptureState _state;
    private readonly VirtqueueTransport _transport = new(CommandDispatcher.MaxRequestBytes);
    private readonly FrameStreamer _streamer;
    private readonly BufferIoctls _buffers;
    private readonly CommandDispatcher _dispatcher;
    private readonly SharedMemoryWindow _window;

    public VirtioMediaDevice(MediaDeviceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (CardNameProblem(options.Card) is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        if (MediaDeviceOptions.SharedMemorySizeProblem(options.SharedMemorySize) is { } sizeProblem)
        {
            throw new ArgumentException("shared-memory size " + sizeProblem, nameof(options));
        }

        _config = WireStruct.ToArray(VirtioMediaConfig.Create(
            V4l2.CapVideoCapture | V4l2.CapStreaming | V4l2.CapExtPixFormat, deviceType: 0, Encoding.UTF8.GetBytes(options.Card)));

        Options = options;
        _state = new CaptureState(options.Menu, options.SessionLimit);
        _streamer = new FrameStreamer(_state, options.Source, _transport);
        _window = new SharedMemoryWindow(options.SharedMemorySize, _transport);
        _state.Queue.ReleaseOwned = _window.Release;
        _buffers = new BufferIoctls(_state, _streamer, _window);
        _dispatcher = new CommandDispatcher(_state, _buffers, _window);
    }

    public MediaDeviceOptions Options { get; }

    /// <summary>Why <paramref name="card"/> cannot be the card name the guest sees, or null when it can.</summary>
    public static string? CardNameProblem(string card)
    {
        ArgumentNullException.ThrowIfNull(card);
        var length = Encoding.UTF8.GetByteCount(card);
        return length is 0 or >= VirtioMediaWire.CardCapacity
            ? $"the card name must be 1..{VirtioMediaWire.CardCapacity - 1} bytes of UTF-8, not {length}"
            : null;
    }

    public FrameCounters Counters => _streamer.Counters;

    public int SessionCount => _state.Sessions.Count;

    public bool IsStreaming => _streamer.IsStreaming;

    /// <summary>The shared-memory window, for tests and the operator's view of MMAP buffers.</summary>
    internal SharedMemoryWindow Window => _window;

    public ulong DeviceFeatures => 0;

    public ulong SharedMemoryRegionSize => Options.SharedMemorySize;

    public int QueueCount => 2;

    public ReadOnlySpan<byte> ConfigSpace => _config;

    public void Attach(EventLoop deviceLoop)
    {
        _transport.Attach(deviceLoop, _dispatcher);
        _streamer.Attach(deviceLoop);
    }

    public void Reset()
    {
        if (_state.Sessions.Count > 0)
        {
            Log.Info(Component, $"device reset: closing {_state.Sessions.Count} sessions");
        }

        _buffers.StopStreaming();
        _state.Reset();
        _window.Reset();
        _transport.Reset();
    }

    public void SharedMemoryChanged(ISharedMemoryMapper? mapper) => _window.Attach(mapper);

    /// <summary>The VMM is gone: its sessions and every device-owned buffer go too (the VMM dropped its mappings itself).</summary>
    public void ConnectionEnded() => Reset();

    public void QueueStarted(int index, IVirtqueue queue)
    {
        _transport.QueueStarted(index, queue);
        if (_transport.IsRunning)
        {
            _streamer.Resume();
            _window.QueuesRunning(true);
        }
    }

    public void QueueStopped(int index)
    {
        _streamer.Suspend();
        _window.QueuesRunning(false);
        _transport.QueueStopped(index);
    }

    public void QueueNotified(int index) => _transport.QueueNotified(index);

    public void Dispose()
    {
        _streamer.Dispose();
        _window.Dispose();
    }
}
