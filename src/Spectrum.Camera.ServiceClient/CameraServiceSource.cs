using Spectrum.Camera.Frames;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.ServiceClient;

/// <summary>
/// The sidecar's side of the camera-service protocol (protocol/camera_service.proto): a frame
/// source that copies the service's newest frame out of a shared ring into guest pages, and renders black whenever it
/// has no fresh frame it may show (no service, denied, camera opening or unplugged, frame older than 2 s).
/// </summary>
/// <remarks>
/// <para>
/// Everything runs on the device loop thread: the connection (<see cref="CameraServiceConnection"/>: socket, handshake,
/// reconnecting) is watched on the <see cref="EventLoop"/>, and <see cref="Render"/>, <see cref="StreamStarted"/> and
/// <see cref="StreamStopped"/> are called there by the device. So there are no locks and no threads, and nothing here
/// ever blocks. This type holds what the messages mean: permission, the camera's state, the stream this sidecar asked
/// for; the ring and its newest frame are in <see cref="NewestFrame"/>.
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
public sealed class CameraServiceSource : IFrameSource, IFrameArrivals, IServiceSession<ServiceMessage>, IDisposable
{
    /// <summary>The protocol version this client speaks (Hello.protocol_version).</summary>
    public const uint ProtocolVersion = ServiceProtocol.Version;

    /// <summary>Largest packet either side sends.</summary>
    public const int MaxPacketBytes = ServiceProtocol.MaxPacketBytes;

    /// <summary>
    /// A frame that arrived longer ago than this is stale and not shown. Unplug, deny and a lost service are
    /// announced (CameraState, Permission, the socket closing) and turn the stream black at once; this limit only
    /// covers a camera that silently stalls. 2 s rides out a camera (or a starved service) that stutters, where
    /// 500 ms flashed single black frames into a stream under load.
    /// </summary>
    public const long FreshnessNanoseconds = 2_000_000_000;

    /// <summary>Reconnect attempts, handshake checks and counter reports happen on this period.</summary>
    public const long TickNanoseconds = ServiceProtocol.TickNanoseconds;

    /// <summary>Ticks a connection may wait for Welcome before it is dropped (a hung service).</summary>
    public const int HandshakeTicks = ServiceProtocol.HandshakeTicks;

    private const string Component = "camera-service";

    private readonly BlackFrameSource _black = new();
    private readonly NewestFrame _frame = new();
    private readonly StreamCounterWindow _counters = new();
    private readonly CameraServiceConnection _connection;
    private bool _disposed;
    private bool _allowed;
    private CameraState.Types.State _cameraState;
    private bool _streaming;
    private FrameFormat _format;
    private FrameRate _rate;
    private Action? _arrived;

    /// <summary>
    /// A client for the camera service listening at <paramref name="serviceSocketPath"/>, for VM <paramref name="vm"/>
    /// (the name the service knows the VM by). Connecting starts once <paramref name="loop"/> runs.
    /// </summary>
    /// <exception cref="ArgumentException">The path cannot be a Unix socket address or the VM name is not valid.</exception>
    public CameraServiceSource(EventLoop loop, string serviceSocketPath, string vm)
    {
        ArgumentNullException.ThrowIfNull(loop);
        if (ConfigurationProblem(serviceSocketPath, vm) is { } problem)
        {
            throw new ArgumentException(problem);
        }

        _connection = new CameraServiceConnection(loop, serviceSocketPath, vm, this);
        _connection.Connect();
    }

    /// <inheritdoc />
    public string Name => "camera-service";

    /// <summary>The service's socket for this VM.</summary>
    public string ServiceSocketPath => _connection.SocketPath;

    /// <summary>The VM name sent in Hello.</summary>
    public string Vm => _connection.Vm;

    /// <summary>Frames copied from the service's ring (torn ones included).</summary>
    public ulong CameraFrames { get; private set; }

    /// <summary>Frames rendered black.</summary>
    public ulong BlackFrames { get; private set; }

    /// <summary>Camera frames whose slot was rewritten during the copy (they mix two frames).</summary>
    public ulong TornFrames => _frame.TornFrames;

    /// <summary>Frames whose slot already held a newer frame when the copy began, with no newer frame announced (rendered black instead).</summary>
    public ulong OverwrittenFrames { get; private set; }

    /// <summary>
    /// Frames rendered black because the newest frame the service announced arrived longer ago than
    /// <see cref="FreshnessNanoseconds"/> (the camera stalled).
    /// </summary>
    public ulong StaleFrames { get; private set; }

    /// <summary>Connections the service welcomed.</summary>
    public ulong Connections => _connection.Connections;

    /// <summary>Connected and welcomed.</summary>
    public bool IsConnected => _connection.IsWelcomed;

    /// <summary>The service's latest word is that this VM may see the camera.</summary>
    public bool IsAllowed => _connection.IsWelcomed && _allowed;

    /// <summary>
    /// Why a client for <paramref name="vm"/> cannot use <paramref name="serviceSocketPath"/>, or null when it can.
    /// </summary>
    public static string? ConfigurationProblem(string serviceSocketPath, string vm) => ServiceProtocol.ConfigurationProblem(serviceSocketPath, vm);

    /// <inheritdoc />
    public FrameContent Render(FrameFormat format, uint frameNumber, IFrameSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (IsAllowed && _streaming && format == _format)
        {
            // The loop may have fallen behind the camera (a loaded host, a thread not scheduled for a while): the
            // frame announced in that slot was replaced by a newer one, or it arrived long ago while newer
            // announcements wait unread on the socket. Read them, a batch at a time until the socket is empty (each
            // batch takes what the service queued, so this ends), then copy the newest frame: a frame is stale only
            // when the service has announced nothing newer.
            var copy = _frame.TryCopy(format, sink);
            while (copy is FrameCopy.Overwritten or FrameCopy.Stale && _connection.ReceivePending() > 0)
            {
                copy = IsAllowed ? _frame.TryCopy(format, sink) : FrameCopy.Nothing;
            }

            if (copy == FrameCopy.Written)
            {
                CameraFrames++;
                _counters.CountCamera();
                return FrameContent.Camera;
            }

            if (copy == FrameCopy.Overwritten)
            {
                OverwrittenFrames++;
            }
            else if (copy == FrameCopy.Stale)
            {
                StaleFrames++;
            }
        }

        _black.Render(format, frameNumber, sink);
        BlackFrames++;
        _counters.CountBlack();
        return FrameContent.Black;
    }

    /// <inheritdoc />
    public void FollowArrivals(Action? arrived) => _arrived = arrived;

    /// <inheritdoc />
    public void StreamStarted(FrameFormat format, FrameRate rate)
    {
        _streaming = true;
        _format = format;
        _rate = rate;
        _counters.Reset();
        _frame.Drop();
        if (_connection.IsWelcomed)
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

        if (_connection.IsWelcomed && SendCounters())
        {
            _ = _connection.Send(new SidecarMessage { StopStream = new StopStream() }, "StopStream");
        }

        _streaming = false;
        _frame.Drop();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _connection.Dispose();
        _frame.Dispose();
    }

    void IServiceSession<ServiceMessage>.OnWelcomed(ServiceMessage welcome)
    {
        _allowed = welcome.Welcome.Allowed;
        if (_streaming)
        {
            // The service forgot the stream with the old connection; the frames since the last report count again.
            _counters.ForgetReported();
            SendStartStream();
        }
    }

    void IServiceSession<ServiceMessage>.OnMessage(ServiceMessage message, FdHandle? memfd)
    {
        switch (message.KindCase)
        {
            case ServiceMessage.KindOneofCase.Permission:
                OnPermission(message.Permission);
                break;
            case ServiceMessage.KindOneofCase.RingAttached:
                OnRingAttached(message.RingAttached, memfd!);
                break;
            case ServiceMessage.KindOneofCase.FrameReady:
                if (_allowed && _frame.Announce(message.FrameReady))
                {
                    _arrived?.Invoke();
                }

                break;
            case ServiceMessage.KindOneofCase.CameraState:
                OnCameraState(message.CameraState);
                break;
            default:
                throw new ProtocolException($"unknown message ({message.KindCase})");
        }
    }

    void IServiceSession<ServiceMessage>.OnDisconnected()
    {
        _allowed = false;
        _cameraState = CameraState.Types.State.Unspecified;
        _frame.Drop();
    }

    void IServiceSession<ServiceMessage>.OnTick()
    {
        if (_streaming)
        {
            _ = SendCounters();
        }
    }

    private void OnPermission(Permission permission)
    {
        if (!permission.Allowed)
        {
            // First make sure nothing real can be rendered any more, then say so.
            _frame.Drop();
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

        _ = _connection.Send(new SidecarMessage { PermissionAck = new PermissionAck { Generation = permission.Generation } }, "PermissionAck");
    }

    private void OnRingAttached(RingAttached attached, FdHandle memfd)
    {
        if (!_allowed)
        {
            _frame.Drop();
            Log.Warning(Component, $"ignored ring {attached.RingId}: this VM is denied the camera");
            return;
        }

        if (!_streaming)
        {
            _frame.Drop();
            Log.Debug(Component, $"ignored ring {attached.RingId}: the guest is not streaming");
            return;
        }

        // The previous ring is replaced (the service no longer writes it); its newest frame bridges to the new ring's first.
        _frame.Attach(attached, memfd, _format);
    }

    private void OnCameraState(CameraState state)
    {
        if (state.State != CameraState.Types.State.Streaming)
        {
            _frame.ForgetFrame();
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
        _ = _connection.Send(new SidecarMessage
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
        var sent = _connection.Send(new SidecarMessage { Counters = _counters.Report() }, "StreamCounters");
        if (sent)
        {
            _counters.MarkReported();
        }

        return sent;
    }
}
