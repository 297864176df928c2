using Google.Protobuf;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.ServiceClient;

/// <summary>
/// A sidecar's connection to the camera service, on the loop thread, for either of its protocols (the consumer's
/// camera_service.proto, <see cref="CameraServiceConnection"/>; the producer's producer.proto,
/// <see cref="ProducerConnection"/>): connecting (nonblocking), the hello/welcome handshake, reading and sending
/// messages, and reconnecting every second after anything goes wrong. It never blocks and never throws into the loop:
/// a full send queue counts as a broken connection, and a misbehaving service is logged and dropped. What the messages
/// mean after the handshake is the <see cref="IServiceSession{TIn}"/>'s business; what the protocol's messages are is
/// the derived class's.
/// </summary>
internal abstract class ServiceConnection<TIn, TOut> : IDisposable
    where TIn : IMessage<TIn>, new()
    where TOut : IMessage<TOut>
{
    private const int MaxMessagesPerWakeup = 64;
    private const string Component = "camera-service";

    private readonly EventLoop _loop;
    private readonly IServiceSession<TIn> _session;
    private readonly List<FdHandle> _receivedFds = [];
    private readonly TimerFd _timer;
    private MessageChannel<TIn, TOut>? _channel;
    private bool _timerWatched;
    private bool _disposed;
    private int _handshakeTicks;
    private string? _lastFailure;

    protected ServiceConnection(EventLoop loop, string socketPath, string vm, IServiceSession<TIn> session)
    {
        _loop = loop;
        _session = session;
        SocketPath = socketPath;
        Vm = vm;
        _timer = TimerFd.Create();
    }

    /// <summary>What a message from the service is to the connection.</summary>
    protected enum Role
    {
        /// <summary>The handshake's answer: the service takes this sidecar.</summary>
        Welcome,

        /// <summary>The service refuses this sidecar and closes.</summary>
        Refused,

        /// <summary>A message for the session that carries exactly one fd (a frame ring's memfd).</summary>
        WithFd,

        /// <summary>Any other message for the session (it carries no fd).</summary>
        Plain,
    }

    public string SocketPath { get; }

    public string Vm { get; }

    /// <summary>Connected, and the service welcomed this VM.</summary>
    public bool IsWelcomed { get; private set; }

    /// <summary>Connections the service welcomed.</summary>
    public ulong Connections { get; private set; }

    /// <summary>What the sidecar does while it has no welcomed connection, for log lines ("rendering black").</summary>
    protected abstract string WhileAway { get; }

    /// <summary>The name of the protocol's welcome message, for log lines and protocol errors.</summary>
    protected abstract string WelcomeName { get; }

    /// <summary>
    /// Starts connecting on the loop (posted, so from any thread, before or while the loop runs). Call it last in the
    /// session's constructor: from then on the loop thread may call the session at any moment, even before that
    /// constructor returns, and the session answers the service through its reference to this connection.
    /// </summary>
    public void Connect() => _loop.Post(Start);

    /// <summary>Sends <paramref name="message"/>; any failure (queue full, peer gone) drops the connection.</summary>
    public bool Send(TOut message, string what)
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

    /// <summary>
    /// Sends a notice the service may miss (a frame announcement): false, with the connection kept, when the
    /// service's queue is full; a lost peer still drops the connection.
    /// </summary>
    public bool TrySendNotice(TOut message, string what)
    {
        if (_channel is not { } channel)
        {
            return false;
        }

        try
        {
            return channel.TrySend(message);
        }
        catch (NativeException e)
        {
            Drop($"lost the camera service at {what}: {e.Message}");
            return false;
        }
    }

    /// <summary>
    /// Handles the messages already waiting on the socket now, as a readable socket would (loop thread): at most one
    /// wake-up's batch. Returns how many it handled; more may wait when that is a whole batch.
    /// </summary>
    public int ReceivePending() => _channel is not null && !_disposed ? ReceiveBatch() : 0;

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

    /// <summary>The first message on a new connection.</summary>
    protected abstract TOut Hello();

    protected abstract Role RoleOf(TIn message);

    /// <summary>The message's kind, for protocol errors.</summary>
    protected abstract string NameOf(TIn message);

    /// <summary>Why the service refused this sidecar (a <see cref="Role.Refused"/> message).</summary>
    protected abstract string RefusalOf(TIn message);

    /// <summary>The protocol version and the VM name a welcome carries.</summary>
    protected abstract (uint ProtocolVersion, string Vm) IdentityOf(TIn welcome);

    /// <summary>The log line for a welcome of this sidecar's protocol version and VM.</summary>
    protected abstract string DescribeWelcome(TIn welcome);

    private void Start()
    {
        if (_disposed)
        {
            return;
        }

        _loop.Watch(_timer.Fd, OnTick);
        _timerWatched = true;
        _timer.SetPeriodic(ServiceProtocol.TickNanoseconds);
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
            if (++_handshakeTicks >= ServiceProtocol.HandshakeTicks)
            {
                Drop($"no {WelcomeName} from the camera service within {ServiceProtocol.HandshakeTicks} s");
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

        _channel = new MessageChannel<TIn, TOut>(socket, ServiceProtocol.MaxPacketBytes);
        IsWelcomed = false;
        _handshakeTicks = 0;
        _loop.Watch(_channel.Fd, OnReadable);
        Log.Debug(Component, $"connected to {SocketPath}; sending hello for VM {Vm}");
        _ = Send(Hello(), "hello");
    }

    private void OnReadable() => ReceiveBatch();

    /// <summary>Handles up to <see cref="MaxMessagesPerWakeup"/> waiting messages; returns how many.</summary>
    private int ReceiveBatch()
    {
        var handled = 0;
        for (; handled < MaxMessagesPerWakeup && _channel is { } channel; handled++)
        {
            try
            {
                var status = channel.TryReceive(out var message, _receivedFds, maxFds: 1);
                if (status == ReceiveStatus.Empty)
                {
                    return handled;
                }

                if (status == ReceiveStatus.Closed)
                {
                    Drop("the camera service closed the connection");
                    return handled;
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

        return handled;
    }

    private void Handle(TIn message)
    {
        var role = RoleOf(message);
        if (_receivedFds.Count > 0 && role != Role.WithFd)
        {
            throw new ProtocolException($"{NameOf(message)} carried an fd");
        }

        switch (role)
        {
            case Role.Welcome:
                OnWelcome(message);
                return;
            case Role.Refused:
                var refusal = $"the camera service at {SocketPath} refused this sidecar (VM {Vm}): {RefusalOf(message)}";
                Close();
                ReportFailure(refusal, LogLevel.Error);
                return;
        }

        if (!IsWelcomed)
        {
            throw new ProtocolException($"{NameOf(message)} before {WelcomeName}");
        }

        if (role == Role.WithFd && _receivedFds.Count != 1)
        {
            throw new ProtocolException($"{NameOf(message)} without its memfd");
        }

        _session.OnMessage(message, role == Role.WithFd ? _receivedFds[0] : null);
    }

    private void OnWelcome(TIn welcome)
    {
        if (IsWelcomed)
        {
            throw new ProtocolException($"a second {WelcomeName}");
        }

        var (version, vm) = IdentityOf(welcome);
        if (version != ServiceProtocol.Version)
        {
            throw new ProtocolException($"the service speaks protocol version {version}, this sidecar {ServiceProtocol.Version}");
        }

        if (vm != Vm)
        {
            throw new ProtocolException($"{WelcomeName} names VM '{vm}', this sidecar serves '{Vm}'");
        }

        IsWelcomed = true;
        _lastFailure = null;
        Connections++;
        Log.Info(Component, DescribeWelcome(welcome));
        _session.OnWelcomed(welcome);
    }

    /// <summary>Logs why, closes the connection and lets the timer reconnect.</summary>
    private void Drop(string reason, LogLevel level = LogLevel.Warning)
    {
        if (_channel is null)
        {
            return;
        }

        var wasWelcomed = IsWelcomed;
        Close();
        var message = $"{reason}; {WhileAway}, reconnecting every second";
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
        var line = $"{message}; {WhileAway}, retrying every second";
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
