using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Producer;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.ServiceClient;

/// <summary>
/// The producer sidecar's side of protocol/producer.proto: the <see cref="IFrameDestination"/> of a camera VM's output
/// device. It tells the device whether frames are wanted and in which mode (the service's Demand, acknowledged once the
/// device has it), tells the service when the camera VM streams and in which format, writes each frame the device
/// copies out of guest pages into the frame ring the service passed (a memfd it checks before mapping, written with
/// the per-slot seqlock) and announces it.
/// </summary>
/// <remarks>
/// <para>
/// Everything runs on the device loop thread, like <see cref="CameraServiceSource"/>: the connection
/// (<see cref="ProducerConnection"/>: socket, handshake, reconnecting every second) is watched on the
/// <see cref="EventLoop"/>, and the device calls the <see cref="IFrameDestination"/> members there. No locks, no
/// threads, nothing blocks; nothing is allocated per frame but the announcement.
/// </para>
/// <para>
/// Without a welcomed connection nobody wants frames: the demand is withdrawn when the connection goes (so the camera
/// VM turns its camera off) and comes back with the next one. Frames the device offers while nothing wants them, or
/// before the service sent a ring for the stream, have nowhere to go: <see cref="TryBeginFrame"/> says so and the
/// device drops and counts them.
/// </para>
/// <para>
/// Construct it on any thread before or while the loop runs (the loop work is posted); dispose it on the loop thread
/// or after the loop stopped, before the loop is disposed.
/// </para>
/// </remarks>
public sealed class ProducerClient : IFrameDestination, IServiceSession<ServiceToProducer>, IDisposable
{
    private const string Component = "camera-service";

    private readonly ProducerConnection _connection;
    private FrameRingWriter? _ring;
    private (FrameFormat Format, FrameRate Rate)? _stream;
    private bool _writing;
    private int _slot;
    private bool _disposed;

    /// <summary>
    /// A client for the camera service's producer socket at <paramref name="serviceSocketPath"/>, for camera VM
    /// <paramref name="vm"/>. Connecting starts once <paramref name="loop"/> runs.
    /// </summary>
    /// <exception cref="ArgumentException">The path cannot be a Unix socket address or the VM name is not valid.</exception>
    public ProducerClient(EventLoop loop, string serviceSocketPath, string vm)
    {
        ArgumentNullException.ThrowIfNull(loop);
        if (ConfigurationProblem(serviceSocketPath, vm) is { } problem)
        {
            throw new ArgumentException(problem);
        }

        _connection = new ProducerConnection(loop, serviceSocketPath, vm, this);
        _connection.Connect();
    }

    /// <inheritdoc />
    public string Name => "camera-service";

    /// <inheritdoc />
    public FrameDemand? Demand { get; private set; }

    /// <inheritdoc />
    public event Action? DemandChanged;

    /// <summary>The service's producer socket for this VM.</summary>
    public string ServiceSocketPath => _connection.SocketPath;

    /// <summary>The VM name sent in ProducerHello.</summary>
    public string Vm => _connection.Vm;

    /// <summary>Connected and welcomed.</summary>
    public bool IsConnected => _connection.IsWelcomed;

    /// <summary>Connections the service welcomed.</summary>
    public ulong Connections => _connection.Connections;

    /// <summary>The camera the service knows this VM as (from the last welcome), for logs.</summary>
    public string? Camera { get; private set; }

    /// <summary>True while a ring for the current stream is mapped.</summary>
    public bool HasRing => _ring is not null;

    /// <summary>Frames written into the ring and announced.</summary>
    public ulong FramesAnnounced { get; private set; }

    /// <summary>Frames written whose announcement the service's full queue did not take (the service never reads them).</summary>
    public ulong FramesUnannounced { get; private set; }

    /// <summary>Rings the service passed that were refused (wrong format or size, bad memfd).</summary>
    public ulong RingsRefused { get; private set; }

    /// <summary>Why a client for <paramref name="vm"/> cannot use <paramref name="serviceSocketPath"/>, or null when it can.</summary>
    public static string? ConfigurationProblem(string serviceSocketPath, string vm) => ServiceProtocol.ConfigurationProblem(serviceSocketPath, vm);

    /// <inheritdoc />
    public void StreamStarted(FrameFormat format, FrameRate rate)
    {
        DropRing();
        _stream = (format, rate);
        if (_connection.IsWelcomed)
        {
            SendStreamStarted();
        }
    }

    /// <inheritdoc />
    public void StreamStopped()
    {
        if (_stream is null)
        {
            return;
        }

        _stream = null;
        DropRing();
        if (_connection.IsWelcomed)
        {
            _ = _connection.Send(new ProducerMessage { StreamStopped = new ProducerStreamStopped() }, "ProducerStreamStopped");
        }
    }

    /// <inheritdoc />
    public bool TryBeginFrame(FrameFormat format, out Span<byte> frame)
    {
        if (_writing)
        {
            throw new InvalidOperationException("a frame was begun while the previous one was neither committed nor aborted");
        }

        if (Demand is null || _ring is not { } ring || _stream is not { } stream || format != stream.Format)
        {
            frame = default;
            return false;
        }

        frame = ring.BeginWrite(out _slot);
        _writing = true;
        return true;
    }

    /// <inheritdoc />
    public void CommitFrame(ulong sequence)
    {
        var ring = EndFrame();
        ring.EndWrite(sequence, MonotonicClock.NowNanoseconds());
        var announced = _connection.TrySendNotice(
            new ProducerMessage { Frame = new ProducerFrame { RingId = ring.Id, Slot = (uint)_slot, Sequence = sequence } }, "ProducerFrame");
        if (announced)
        {
            FramesAnnounced++;
        }
        else
        {
            FramesUnannounced++;
        }
    }

    /// <inheritdoc />
    public void AbortFrame() => EndFrame().AbortWrite();

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _connection.Dispose();
        DropRing();
    }

    void IServiceSession<ServiceToProducer>.OnWelcomed(ServiceToProducer welcome)
    {
        Camera = welcome.Welcome.Camera;
        if (_stream is not null)
        {
            // The service forgot the stream with the old connection: ask for a ring again.
            SendStreamStarted();
        }
    }

    void IServiceSession<ServiceToProducer>.OnMessage(ServiceToProducer message, FdHandle? memfd)
    {
        switch (message.KindCase)
        {
            case ServiceToProducer.KindOneofCase.Demand:
                OnDemand(message.Demand);
                break;
            case ServiceToProducer.KindOneofCase.Ring:
                OnRing(message.Ring, memfd!);
                break;
            default:
                throw new ProtocolException($"unknown message ({message.KindCase})");
        }
    }

    void IServiceSession<ServiceToProducer>.OnDisconnected()
    {
        DropRing();
        SetDemand(null);
    }

    void IServiceSession<ServiceToProducer>.OnTick()
    {
    }

    /// <summary>
    /// The service wants frames in a mode (or none): checked, handed to the device (which shows it to the camera VM),
    /// then acknowledged with its generation.
    /// </summary>
    private void OnDemand(Demand demand)
    {
        FrameDemand? wanted = null;
        if (demand.Wanted)
        {
            var format = new FrameFormat(demand.PixelFormat, demand.Width, demand.Height);
            var rate = new FrameRate(demand.IntervalNumerator, demand.IntervalDenominator);
            if (!format.IsValid || !rate.IsValid)
            {
                throw new ProtocolException($"Demand {demand.Generation} asks for {format} every {rate} s, which is no frame mode");
            }

            wanted = new FrameDemand(format, rate);
        }

        SetDemand(wanted);
        _ = _connection.Send(new ProducerMessage { DemandAck = new DemandAck { Generation = demand.Generation } }, "DemandAck");
    }

    /// <summary>The ring for the current stream: its format and size must be the stream's and its memfd fit to write.</summary>
    private void OnRing(ProducerRing announced, FdHandle memfd)
    {
        DropRing();
        if (_stream is not { } stream)
        {
            Log.Debug(Component, $"ignored ring {announced.RingId}: the camera VM is not streaming");
            return;
        }

        var ringFormat = new FrameFormat(announced.PixelFormat, announced.Width, announced.Height);
        if (ringFormat != stream.Format || announced.FrameSize != stream.Format.SizeImage)
        {
            RingsRefused++;
            Log.Warning(Component, $"ignored ring {announced.RingId}: it carries {ringFormat} frames of {announced.FrameSize} bytes, " +
                                   $"the camera VM streams {stream.Format} ({stream.Format.SizeImage} bytes)");
            return;
        }

        try
        {
            _ring = FrameRingWriter.Attach(announced.RingId, memfd, announced.SlotCount, announced.SlotSize, announced.FrameSize);
        }
        catch (ProtocolException e)
        {
            RingsRefused++;
            Log.Error(Component, $"rejected ring {announced.RingId} from the camera service: {e.Message}");
            return;
        }
        catch (NativeException e)
        {
            // A memfd sealed against writing (a consumer's ring) cannot be mapped read-write: mmap says EPERM.
            RingsRefused++;
            Log.Error(Component, $"rejected ring {announced.RingId} from the camera service: it cannot be mapped read-write ({e.Message})");
            return;
        }

        Log.Debug(Component, $"ring {announced.RingId}: {announced.SlotCount} slots of {ringFormat}");
    }

    private void SendStreamStarted()
    {
        var (format, rate) = _stream!.Value;
        _ = _connection.Send(new ProducerMessage
        {
            StreamStarted = new ProducerStreamStarted
            {
                PixelFormat = format.PixelFormat,
                Width = format.Width,
                Height = format.Height,
                IntervalNumerator = rate.Numerator,
                IntervalDenominator = rate.Denominator,
                SizeImage = format.SizeImage,
            },
        }, "ProducerStreamStarted");
    }

    private void SetDemand(FrameDemand? demand)
    {
        if (demand == Demand)
        {
            return;
        }

        Demand = demand;
        DemandChanged?.Invoke();
    }

    private FrameRingWriter EndFrame()
    {
        if (!_writing || _ring is not { } ring)
        {
            throw new InvalidOperationException("no frame was begun");
        }

        _writing = false;
        return ring;
    }

    private void DropRing()
    {
        if (_writing)
        {
            // Only the loop thread calls in, and the device commits or aborts before it returns, so this is a bug.
            throw new InvalidOperationException("the ring was dropped while a frame was being written");
        }

        _ring?.Dispose();
        _ring = null;
    }
}
