using System.Text;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.ServiceClient;

/// <summary>
/// The sidecar's side of the camera-service protocol (docs/camera-service.md, protocol/camera_service.proto): a frame
/// source that copies the service's newest frame out of a shared ring into guest pages, and renders black whenever it
/// has no fresh frame it may show (no service, denied, camera opening or unplugged, frame older than 2 s).
/// </summary>
/// <remarks>
/// <para>
/// Everything runs on the device loop thread: the service socket and a 1 s timerfd are watched on the
/// <see cref="EventLoop"/>, and <see cref="Render"/>, <see cref="StreamStarted"/> and <see cref="StreamStopped"/> are
/// called there by the device. So there are no locks and no threads, and nothing here ever blocks: the socket is
/// nonblocking (connect included), a full send queue counts as a broken connection, and a misbehaving service is
/// logged and dropped (black frames, reconnect a second later) instead of throwing into the loop.
/// </para>
/// <para>
/// A deny is applied the moment its <c>Permission</c> message is read: the ring is unmapped and the announced frame
/// forgotten before the <c>PermissionAck</c> goes out, and since <see cref="Render"/> runs on the same thread no real
/// frame can be written after that.
/// </para>
/// <para>
/// Construct it on any thread before or while the loop runs (the loop work is posted); dispose it on the loop thread
/// or after the loop stopped, before the loop is disposed.
/// </para>
/// </remarks>
public sealed class CameraServiceSource : IFrameSource, IDisposable
{
    /// <summary>The protocol version this client speaks (Hello.protocol_version).</summary>
    public const uint ProtocolVersion = 1;

    /// <summary>Largest packet either side sends.</summary>
    public const int MaxPacketBytes = 4096;

    /// <summary>
    /// A frame that arrived longer ago than this is stale and not shown. Unplug, deny and a lost service are
    /// announced (CameraState, Permission, the socket closing) and turn the stream black at once; this limit only
    /// covers a camera that silently stalls. 2 s rides out a camera (or a starved service) that stutters, where
    /// 500 ms flashed single black frames into a stream under load.
    /// </summary>
    public const long FreshnessNanoseconds = 2_000_000_000;

    /// <summary>Reconnect attempts, handshake checks and counter reports happen on this period.</summary>
    public const long TickNanoseconds = 1_000_000_000;

    /// <summary>Ticks a connection may wait for Welcome before it is dropped (a hung service).</summary>
    public const int HandshakeTicks = 5;

    private const int MaxMessagesPerWakeup = 64;
    private const int MaxVmNameLength = 64;
    private const int SocketPathCapacity = 108;
    private const string Component = "camera-service";

    private readonly EventLoop _loop;
    private readonly BlackFrameSource _black = new();
    private readonly List<FdHandle> _receivedFds = [];
    private readonly TimerFd _timer;
    private MessageChannel<ServiceMessage, SidecarMessage>? _channel;
    private bool _timerWatched;
    private bool _disposed;
    private bool _welcomed;
    private int _handshakeTicks;
    private string? _lastFailure;

    private bool _allowed;
    private CameraState.Types.State _cameraState;
    private FrameRingReader? _ring;

    // The newest announced frame of _ring (valid while _hasFrame).
    private bool _hasFrame;
    private ulong _frameRingId;
    private int _frameSlot;
    private ulong _frameSequence;
    private long _frameArrivalNs;

    private bool _streaming;
    private FrameFormat _format;
    private FrameRate _rate;

    // StreamCounters: frames written since the StartStream the service last saw, and what the last report said.
    private ulong _windowCamera;
    private ulong _windowBlack;
    private ulong _reportedCamera;
    private ulong _reportedBlack;

    /// <summary>
    /// Why a client for <paramref name="vm"/> cannot use <paramref name="serviceSocketPath"/>, or null when it can.
    /// </summary>
    public static string? ConfigurationProblem(string serviceSocketPath, string vm)
    {
        ArgumentNullException.ThrowIfNull(serviceSocketPath);
        ArgumentNullException.ThrowIfNull(vm);
        var pathBytes = Encoding.UTF8.GetByteCount(serviceSocketPath);
        if (pathBytes is 0 or >= SocketPathCapacity)
        {
            return $"camera service socket path must be 1..{SocketPathCapacity - 1} bytes, got {pathBytes}: {serviceSocketPath}";
        }

        return IsValidVmName(vm)
            ? null
            : $"VM name '{vm}' cannot be used with the camera service: it must match [A-Za-z0-9][A-Za-z0-9._-]{{0,63}}";
    }

    /// <summary>
    /// A client for the camera service listening at <paramref name="serviceSocketPath"/>, for VM <paramref name="vm"/>
    /// (the name the service knows the VM by). Connecting starts once <paramref name="loop"/> runs.
    /// </summary>
    /// <exception cref="ArgumentException">The path cannot be a Unix socket address or the VM name is not valid.</exception>
    public CameraServiceSource(EventLoop loop, string serviceSocketPath, string vm)
    {
        ArgumentNullException.ThrowIfNull(loop);
        ArgumentNullException.ThrowIfNull(serviceSocketPath);
        ArgumentNullException.ThrowIfNull(vm);
        if (ConfigurationProblem(serviceSocketPath, vm) is { } problem)
        {
            throw new ArgumentException(problem);
        }

        _loop = loop;
        ServiceSocketPath = serviceSocketPath;
        Vm = vm;
        _timer = TimerFd.Create();
        loop.Post(Start);
    }

    /// <inheritdoc />
    public string Name => "camera-service";

    /// <summary>The service's socket for this VM.</summary>
    public string ServiceSocketPath { get; }

    /// <summary>The VM name sent in Hello.</summary>
    public string Vm { get; }

    /// <summary>Frames copied from the service's ring (torn ones included).</summary>
    public ulong CameraFrames { get; private set; }

    /// <summary>Frames rendered black.</summary>
    public ulong BlackFrames { get; private set; }

    /// <summary>Camera frames whose slot was rewritten during the copy (they mix two frames).</summary>
    public ulong TornFrames { get; private set; }

    /// <summary>Frames whose slot already held a newer frame when the copy began (rendered black instead).</summary>
    public ulong OverwrittenFrames { get; private set; }

    /// <summary>Connections the service welcomed.</summary>
    public ulong Connections { get; private set; }

    /// <summary>Connected and welcomed.</summary>
    public bool IsConnected => _welcomed;

    /// <summary>The service's latest word is that this VM may see the camera.</summary>
    public bool IsAllowed => _welcomed && _allowed;

    /// <inheritdoc />
    public FrameContent Render(FrameFormat format, uint frameNumber, IFrameSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (_welcomed && _allowed && _hasFrame && _ring is { } ring && _frameRingId == ring.Id && _streaming
            && format == _format && MonotonicClock.NowNanoseconds() - _frameArrivalNs < FreshnessNanoseconds)
        {
            switch (ring.CopyFrame(_frameSlot, _frameSequence, sink))
            {
                case RingReadResult.Copied:
                    return CountCamera();
                case RingReadResult.Torn:
                    TornFrames++;
                    return CountCamera();
                default:
                    // Nothing was written: the slot moved on before the copy began.
                    OverwrittenFrames++;
                    break;
            }
        }

        _black.Render(format, frameNumber, sink);
        BlackFrames++;
        _windowBlack++;
        return FrameContent.Black;
    }

    /// <inheritdoc />
    public void StreamStarted(FrameFormat format, FrameRate rate)
    {
        _streaming = true;
        _format = format;
        _rate = rate;
        _windowCamera = _windowBlack = _reportedCamera = _reportedBlack = 0;
        DropRing();
        if (_welcomed)
        {
            SendStartStream();
        }
    }

    /// <inheritdoc />
    public void StreamStopped()
    {
        if (!_streaming)
        {
            return;
        }

        if (_welcomed && SendCounters())
        {
            _ = Send(new SidecarMessage { StopStream = new StopStream() }, "StopStream");
        }

        _streaming = false;
        DropRing();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CloseConnection();
        if (_timerWatched)
        {
            _loop.Unwatch(_timer.Fd);
            _timerWatched = false;
        }

        _timer.Dispose();
    }

    private static bool IsValidVmName(string vm)
    {
        if (vm.Length is 0 or > MaxVmNameLength || !char.IsAsciiLetterOrDigit(vm[0]))
        {
            return false;
        }

        foreach (var c in vm)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private FrameContent CountCamera()
    {
        CameraFrames++;
        _windowCamera++;
        return FrameContent.Camera;
    }

    private void Start()
    {
        if (_disposed)
        {
            return;
        }

        _loop.Watch(_timer.Fd, OnTick);
        _timerWatched = true;
        _timer.SetPeriodic(TickNanoseconds);
        TryConnect();
    }

    private void OnTick()
    {
        if (_disposed || _timer.ConsumeExpirations() == 0)
        {
            return;
        }

        if (_channel is null)
        {
            TryConnect();
        }
        else if (!_welcomed)
        {
            if (++_handshakeTicks >= HandshakeTicks)
            {
                Drop($"no Welcome from the camera service within {HandshakeTicks} s");
            }
        }
        else if (_streaming)
        {
            _ = SendCounters();
        }
    }

    private void TryConnect()
    {
        UnixSocket socket;
        try
        {
            socket = UnixSocket.Connect(ServiceSocketPath, UnixSocketKind.SeqPacket, nonBlocking: true);
        }
        catch (NativeException e)
        {
            ReportFailure($"camera service not reachable at {ServiceSocketPath}: {e.Message}");
            return;
        }

        _channel = new MessageChannel<ServiceMessage, SidecarMessage>(socket, MaxPacketBytes);
        _welcomed = false;
        _handshakeTicks = 0;
        _loop.Watch(_channel.Fd, OnReadable);
        Log.Debug(Component, $"connected to {ServiceSocketPath}; sending Hello for VM {Vm}");
        _ = Send(new SidecarMessage { Hello = new Hello { ProtocolVersion = ProtocolVersion, Vm = Vm } }, "Hello");
    }

    private void OnReadable()
    {
        for (var i = 0; i < MaxMessagesPerWakeup && _channel is { } channel; i++)
        {
            try
            {
                var status = channel.TryReceive(out var message, _receivedFds, maxFds: 1);
                if (status == ReceiveStatus.Empty)
                {
                    return;
                }

                if (status == ReceiveStatus.Closed)
                {
                    Drop("the camera service closed the connection");
                    return;
                }

                Handle(message!);
            }
            catch (ProtocolException e)
            {
                Drop($"protocol error from the camera service: {e.Message}", LogLevel.Error);
            }
            catch (NativeException e)
            {
                Drop($"lost the camera service: {e.Message}");
            }
            finally
            {
                // Every received fd is closed here: a ring's mapping outlives its fd.
                foreach (var fd in _receivedFds)
                {
                    fd.Dispose();
                }

                _receivedFds.Clear();
            }
        }
    }

    private void Handle(ServiceMessage message)
    {
        var kind = message.KindCase;
        if (_receivedFds.Count > 0 && kind != ServiceMessage.KindOneofCase.RingAttached)
        {
            throw new ProtocolException($"{kind} carried an fd");
        }

        switch (kind)
        {
            case ServiceMessage.KindOneofCase.Welcome:
                OnWelcome(message.Welcome);
                return;
            case ServiceMessage.KindOneofCase.Refused:
                OnRefused(message.Refused);
                return;
        }

        if (!_welcomed)
        {
            throw new ProtocolException($"{kind} before Welcome");
        }

        switch (kind)
        {
            case ServiceMessage.KindOneofCase.Permission:
                OnPermission(message.Permission);
                break;
            case ServiceMessage.KindOneofCase.RingAttached:
                OnRingAttached(message.RingAttached);
                break;
            case ServiceMessage.KindOneofCase.FrameReady:
                OnFrameReady(message.FrameReady);
                break;
            case ServiceMessage.KindOneofCase.CameraState:
                OnCameraState(message.CameraState);
                break;
            default:
                throw new ProtocolException($"unknown message ({kind})");
        }
    }

    private void OnWelcome(Welcome welcome)
    {
        if (_welcomed)
        {
            throw new ProtocolException("a second Welcome");
        }

        if (welcome.ProtocolVersion != ProtocolVersion)
        {
            throw new ProtocolException(
                $"the service speaks protocol version {welcome.ProtocolVersion}, this sidecar {ProtocolVersion}");
        }

        if (welcome.Vm != Vm)
        {
            throw new ProtocolException($"Welcome names VM '{welcome.Vm}', this sidecar serves '{Vm}'");
        }

        _welcomed = true;
        _allowed = welcome.Allowed;
        _lastFailure = null;
        Connections++;
        Log.Info(Component, $"connected to the camera service at {ServiceSocketPath}: camera " +
                            $"{(welcome.Allowed ? "allowed" : "denied (black frames)")} for this VM (generation {welcome.Generation})");
        if (_streaming)
        {
            // The service forgot the stream with the old connection; the frames since the last report count again.
            _windowCamera -= _reportedCamera;
            _windowBlack -= _reportedBlack;
            _reportedCamera = _reportedBlack = 0;
            SendStartStream();
        }
    }

    private void OnRefused(Refused refused)
    {
        var message = $"the camera service at {ServiceSocketPath} refused this sidecar (VM {Vm}): {refused.Reason}";
        CloseConnection();
        ReportFailure(message, LogLevel.Error);
    }

    private void OnPermission(Permission permission)
    {
        if (!permission.Allowed)
        {
            // First make sure nothing real can be rendered any more, then say so.
            DropRing();
            _allowed = false;
            Log.Info(Component, $"camera permission denied (generation {permission.Generation}): black frames from now on");
        }
        else
        {
            if (!_allowed)
            {
                Log.Info(Component, $"camera permission allowed (generation {permission.Generation})");
            }

            _allowed = true;
        }

        _ = Send(new SidecarMessage { PermissionAck = new PermissionAck { Generation = permission.Generation } }, "PermissionAck");
    }

    private void OnRingAttached(RingAttached attached)
    {
        if (_receivedFds.Count != 1)
        {
            throw new ProtocolException("RingAttached without its memfd");
        }

        // Whatever happens, the previous ring is replaced: the service no longer writes it.
        DropRing();
        if (!_allowed)
        {
            Log.Warning(Component, $"ignored ring {attached.RingId}: this VM is denied the camera");
            return;
        }

        if (!_streaming)
        {
            Log.Debug(Component, $"ignored ring {attached.RingId}: the guest is not streaming");
            return;
        }

        var ringFormat = new FrameFormat(attached.PixelFormat, attached.Width, attached.Height);
        if (ringFormat != _format || attached.FrameSize != _format.SizeImage)
        {
            Log.Warning(Component, $"ignored ring {attached.RingId}: it carries {ringFormat} frames of {attached.FrameSize} bytes, " +
                                   $"the guest streams {_format} ({_format.SizeImage} bytes)");
            return;
        }

        try
        {
            _ring = FrameRingReader.Open(attached.RingId, _receivedFds[0], attached.SlotCount, attached.SlotSize, attached.FrameSize);
        }
        catch (ProtocolException e)
        {
            Log.Error(Component, $"rejected a ring from the camera service: {e.Message}");
            return;
        }
        catch (NativeException e)
        {
            Log.Error(Component, $"cannot map ring {attached.RingId}: {e.Message}");
            return;
        }

        Log.Debug(Component, $"ring {attached.RingId}: {attached.SlotCount} slots of {ringFormat}");
    }

    private void OnFrameReady(FrameReady ready)
    {
        if (!_allowed || _ring is not { } ring || ready.RingId != ring.Id)
        {
            return;
        }

        _hasFrame = true;
        _frameRingId = ready.RingId;
        _frameSlot = ready.Slot < int.MaxValue ? (int)ready.Slot : int.MaxValue;
        _frameSequence = ready.Sequence;
        _frameArrivalNs = MonotonicClock.NowNanoseconds();
    }

    private void OnCameraState(CameraState state)
    {
        if (state.State != CameraState.Types.State.Streaming)
        {
            _hasFrame = false;
        }

        if (state.State != _cameraState)
        {
            _cameraState = state.State;
            var detail = string.IsNullOrEmpty(state.Detail) ? "" : $" ({state.Detail})";
            Log.Info(Component, $"camera {Describe(state.State)}{detail}");
        }
    }

    private static string Describe(CameraState.Types.State state) => state switch
    {
        CameraState.Types.State.Denied => "denied to this VM: black frames",
        CameraState.Types.State.Opening => "opening: black frames until the first camera frame",
        CameraState.Types.State.Streaming => "streaming",
        CameraState.Types.State.Unavailable => "unavailable: black frames while the service retries",
        _ => $"in state {state}",
    };

    private void SendStartStream()
    {
        _ = Send(new SidecarMessage
        {
            StartStream = new StartStream
            {
                PixelFormat = _format.PixelFormat,
                Width = _format.Width,
                Height = _format.Height,
                IntervalNumerator = _rate.Numerator,
                IntervalDenominator = _rate.Denominator,
                SizeImage = _format.SizeImage,
            },
        }, "StartStream");
    }

    private bool SendCounters()
    {
        var sent = Send(new SidecarMessage
        {
            Counters = new StreamCounters { CameraFrames = _windowCamera, BlackFrames = _windowBlack },
        }, "StreamCounters");
        if (sent)
        {
            _reportedCamera = _windowCamera;
            _reportedBlack = _windowBlack;
        }

        return sent;
    }

    /// <summary>Sends <paramref name="message"/>; any failure (queue full, peer gone) drops the connection.</summary>
    private bool Send(SidecarMessage message, string what)
    {
        if (_channel is not { } channel)
        {
            return false;
        }

        try
        {
            if (channel.TrySend(message))
            {
                return true;
            }

            Drop($"the camera service is not reading (its queue is full) at {what}");
        }
        catch (NativeException e)
        {
            Drop($"lost the camera service at {what}: {e.Message}");
        }

        return false;
    }

    /// <summary>Logs why, closes the connection (black from now on) and lets the timer reconnect.</summary>
    private void Drop(string reason, LogLevel level = LogLevel.Warning)
    {
        if (_channel is null)
        {
            return;
        }

        var wasWelcomed = _welcomed;
        CloseConnection();
        var message = $"{reason}; rendering black, reconnecting every second";
        if (level == LogLevel.Error)
        {
            Log.Error(Component, message);
        }
        else if (wasWelcomed)
        {
            Log.Warning(Component, message);
        }
        else
        {
            // A connection that never got going (service starting or stuck) is reported like an unreachable one.
            ReportFailure(reason);
        }
    }

    private void CloseConnection()
    {
        if (_channel is { } channel)
        {
            _loop.Unwatch(channel.Fd);
            channel.Dispose();
            _channel = null;
        }

        _welcomed = false;
        _allowed = false;
        _cameraState = CameraState.Types.State.Unspecified;
        DropRing();
    }

    /// <summary>Forgets the ring and the announced frame: nothing real can be rendered until a new ring comes.</summary>
    private void DropRing()
    {
        _hasFrame = false;
        _ring?.Dispose();
        _ring = null;
    }

    /// <summary>A connection attempt failed: said once per distinct reason (then at debug level), so a service that
    /// stays away for hours does not flood the journal.</summary>
    private void ReportFailure(string message, LogLevel level = LogLevel.Warning)
    {
        if (message == _lastFailure)
        {
            Log.Debug(Component, message);
            return;
        }

        _lastFailure = message;
        var line = $"{message}; rendering black, retrying every second";
        if (level == LogLevel.Error)
        {
            Log.Error(Component, line);
        }
        else
        {
            Log.Warning(Component, line);
        }
    }
}
