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
/// and a frame engine that stops writing or reading guest memory while the rings are stopped. Commands are answered at
/// once (never blocked on media progress).
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

    private protected MediaDevice(string card, uint deviceCaps, DeviceState state)
    {
        ArgumentNullException.ThrowIfNull(card);
        if (CardNameProblem(card) is { } problem)
        {
            throw new ArgumentException(problem, nameof(card));
        }

        _config = WireStruct.ToArray(VirtioMediaConfig.Create(deviceCaps, deviceType: 0, Encoding.UTF8.GetBytes(card)));
        State = state;
    }

    public int SessionCount => State.Sessions.Count;

    public ulong DeviceFeatures => 0;

    public int QueueCount => 2;

    public ReadOnlySpan<byte> ConfigSpace => _config;

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
        Transport.Reset();
    }

    public virtual void QueueStarted(int index, IVirtqueue queue)
    {
        Transport.QueueStarted(index, queue);
        if (Transport.IsRunning)
        {
            Streamer.Resume();
        }
    }

    public void QueueStopped(int index)
    {
        Streamer.Suspend();
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
        _dispatcher = new CommandDispatcher(State, allowlist);
    }
}
