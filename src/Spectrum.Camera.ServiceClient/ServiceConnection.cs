using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.ServiceClient;

/// <summary>
/// The sidecar's connection to the camera service, on the loop thread: connecting (nonblocking), the Hello/Welcome
/// handshake, reading and sending messages, and reconnecting every second after anything goes wrong. It never blocks
/// and never throws into the loop: a full send queue counts as a broken connection, and a misbehaving service is
/// logged and dropped. What the messages mean after the handshake is the <see cref="IServiceSession"/>'s business.
/// </summary>
internal sealed class ServiceConnection : IDisposable
{
    /// <summary>Largest packet either side sends.</summary>
    public const int MaxPacketBytes = 4096;

    private const int MaxMessagesPerWakeup = 64;
    private const string Component = "camera-service";

    private readonly EventLoop _loop;
    private readonly IServiceSession _session;
    private readonly List<FdHandle> _receivedFds = [];
    private readonly TimerFd _timer;
    private MessageChannel<ServiceMessage, SidecarMessage>? _channel;
    private bool _timerWatched;
    private bool _disposed;
    private int _handshakeTicks;
    private string? _lastFailure;

    public ServiceConnection(EventLoop loop, string socketPath, string vm, IServiceSession session)
    {
        _loop = loop;
        _session = session;
        SocketPath = socketPath;
        Vm = vm;
        _timer = TimerFd.Create();
        loop.Post(Start);
    }

    public string SocketPath { get; }

    public string Vm { get; }

    /// <summary>Connected, and the service welcomed this VM.</summary>
    public bool IsWelcomed { get; private set; }

    /// <summary>Connections the service welcomed.</summary>
    public ulong Connections { get; private set; }

    /// <summary>Sends <paramref name="message"/>; any failure (queue full, peer gone) drops the connection.</summary>
    public bool Send(SidecarMessage message, string what)
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

    /// <summary>Handles the messages already waiting on the socket now, as a readable socket would (loop thread).</summary>
    public void ReceivePending()
    {
        if (_channel is not null && !_disposed)
        {
            OnReadable();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Close();
        if (_timerWatched)
        {
            _loop.Unwatch(_timer.Fd);
            _timerWatched = false;
        }

        _timer.Dispose();
    }

    private void Start()
    {
        if (_disposed)
        {
            return;
        }

        _loop.Watch(_timer.Fd, OnTick);
        _timerWatched = true;
        _timer.SetPeriodic(CameraServiceSource.TickNanoseconds);
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
        else if (!IsWelcomed)
        {
            if (++_handshakeTicks >= CameraServiceSource.HandshakeTicks)
            {
                Drop($"no Welcome from the camera service within {CameraServiceSource.HandshakeTicks} s");
            }
        }
        else
        {
            _session.OnTick();
        }
    }

    private void TryConnect()
    {
        UnixSocket socket;
        try
        {
            socket = UnixSocket.Connect(SocketPath, UnixSocketKind.SeqPacket, nonBlocking: true);
        }
        catch (NativeException e)
        {
            ReportFailure($"camera service not reachable at {SocketPath}: {e.Message}");
            return;
        }

        _channel = new MessageChannel<ServiceMessage, SidecarMessage>(socket, MaxPacketBytes);
        IsWelcomed = false;
        _handshakeTicks = 0;
        _loop.Watch(_channel.Fd, OnReadable);
        Log.Debug(Component, $"connected to {SocketPath}; sending Hello for VM {Vm}");
        _ = Send(new SidecarMessage { Hello = new Hello { ProtocolVersion = CameraServiceSource.ProtocolVersion, Vm = Vm } }, "Hello");
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
                var refusal = $"the camera service at {SocketPath} refused this sidecar (VM {Vm}): {message.Refused.Reason}";
                Close();
                ReportFailure(refusal, LogLevel.Error);
                return;
        }

        if (!IsWelcomed)
        {
            throw new ProtocolException($"{kind} before Welcome");
        }

        if (kind == ServiceMessage.KindOneofCase.RingAttached && _receivedFds.Count != 1)
        {
            throw new ProtocolException("RingAttached without its memfd");
        }

        _session.OnMessage(message, kind == ServiceMessage.KindOneofCase.RingAttached ? _receivedFds[0] : null);
    }

    private void OnWelcome(Welcome welcome)
    {
        if (IsWelcomed)
        {
            throw new ProtocolException("a second Welcome");
        }

        if (welcome.ProtocolVersion != CameraServiceSource.ProtocolVersion)
        {
            throw new ProtocolException(
                $"the service speaks protocol version {welcome.ProtocolVersion}, this sidecar {CameraServiceSource.ProtocolVersion}");
        }

        if (welcome.Vm != Vm)
        {
            throw new ProtocolException($"Welcome names VM '{welcome.Vm}', this sidecar serves '{Vm}'");
        }

        IsWelcomed = true;
        _lastFailure = null;
        Connections++;
        Log.Info(Component, $"connected to the camera service at {SocketPath}: camera " +
                            $"{(welcome.Allowed ? "allowed" : "denied (black frames)")} for this VM (generation {welcome.Generation})");
        _session.OnWelcomed(welcome);
    }

    /// <summary>Logs why, closes the connection (black from now on) and lets the timer reconnect.</summary>
    private void Drop(string reason, LogLevel level = LogLevel.Warning)
    {
        if (_channel is null)
        {
            return;
        }

        var wasWelcomed = IsWelcomed;
        Close();
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

    private void Close()
    {
        if (_channel is { } channel)
        {
            _loop.Unwatch(channel.Fd);
            channel.Dispose();
            _channel = null;
        }

        IsWelcomed = false;
        _session.OnDisconnected();
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
