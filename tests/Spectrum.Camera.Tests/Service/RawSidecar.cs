using System.Diagnostics;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Service;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// A bare sidecar connection speaking the protocol directly (no device): Hello, StartStream, StopStream. After
/// <see cref="StartPump"/> a thread records every message the service sends and acknowledges each Permission as a
/// well-behaved sidecar does, so an operator's deny can complete while the test waits for it.
/// </summary>
internal sealed class RawSidecar : IDisposable
{
    private readonly MessageChannel<ServiceMessage, SidecarMessage> _channel;
    private readonly List<FdHandle> _fds = [];
    private readonly List<ServiceMessage> _received = [];
    private MessagePump<ServiceMessage, SidecarMessage>? _pump;

    private RawSidecar(UnixSocket socket) => _channel = new MessageChannel<ServiceMessage, SidecarMessage>(socket, 4096);

    public static RawSidecar Connect(string path) => new(UnixSocket.Connect(path, UnixSocketKind.SeqPacket));

    /// <summary>Connects, says Hello for <paramref name="vm"/>, checks the Welcome and starts the pump.</summary>
    public static RawSidecar Welcomed(string path, string vm)
    {
        var sidecar = Connect(path);
        var welcome = sidecar.Hello(vm);
        Assert.That(welcome.KindCase, Is.EqualTo(ServiceMessage.KindOneofCase.Welcome), welcome.ToString());
        sidecar.StartPump();
        return sidecar;
    }

    /// <summary>The service closed the connection (seen by the pump).</summary>
    public bool IsClosed => _pump?.IsClosed ?? false;

    public ServiceMessage Hello(string vm)
    {
        Assert.That(_channel.TrySend(new SidecarMessage { Hello = new Hello { ProtocolVersion = 1, Vm = vm } }), Is.True);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            var status = _channel.TryReceive(out var message, _fds, maxFds: 1);
            if (status == ReceiveStatus.Message)
            {
                return message!;
            }

            Assert.That(status, Is.Not.EqualTo(ReceiveStatus.Closed), "the service closed the connection");
            Thread.Sleep(5);
        }

        throw new TimeoutException("no answer to Hello");
    }

    /// <summary>Records and acknowledges from now on.</summary>
    public void StartPump() => _pump = new MessagePump<ServiceMessage, SidecarMessage>(_channel, "raw-sidecar", OnMessage);

    /// <summary>The guest starts streaming (YUYV 640x480 at 30 fps unless told otherwise).</summary>
    public void StartStream(uint fourcc = PixelFormats.Yuyv, uint width = 640, uint height = 480, uint fps = 30)
    {
        var format = new FrameFormat(fourcc, width, height);
        Send(new SidecarMessage
        {
            StartStream = new StartStream
            {
                PixelFormat = fourcc,
                Width = width,
                Height = height,
                IntervalNumerator = 1,
                IntervalDenominator = fps,
                SizeImage = format.SizeImage,
            },
        });
    }

    public void StopStream() => Send(new SidecarMessage { StopStream = new StopStream() });

    public void Send(SidecarMessage message)
    {
        lock (_channel)
        {
            Assert.That(_channel.TrySend(message), Is.True, "the sidecar's socket queue is full");
        }
    }

    /// <summary>Every message received so far.</summary>
    public IReadOnlyList<ServiceMessage> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>How many received messages are of <paramref name="kind"/>.</summary>
    public int Count(ServiceMessage.KindOneofCase kind) => Received.Count(m => m.KindCase == kind);

    /// <summary>Waits (up to 10 s) until a message matching <paramref name="match"/> arrived after the first <paramref name="skip"/>.</summary>
    public ServiceMessage WaitFor(Func<ServiceMessage, bool> match, int skip = 0, string what = "the expected message")
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (Received.Skip(skip).FirstOrDefault(match) is { } found)
            {
                return found;
            }

            Thread.Sleep(5);
        }

        throw new TimeoutException($"no {what} from the service within 10 s; got: {string.Join(", ", Received.Skip(skip).Select(m => m.KindCase))}");
    }

    public ServiceMessage WaitFor(ServiceMessage.KindOneofCase kind, int skip = 0) => WaitFor(m => m.KindCase == kind, skip, kind.ToString());

    /// <summary>Whether the service closes this connection within a few seconds.</summary>
    public bool WaitClosed()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (_pump is null && _channel.TryReceive(out _, _fds, maxFds: 1) == ReceiveStatus.Closed)
            {
                return true;
            }

            if (IsClosed)
            {
                return true;
            }

            Thread.Sleep(5);
        }

        return false;
    }

    public void Dispose()
    {
        _pump?.Dispose();
        foreach (var fd in _fds)
        {
            fd.Dispose();
        }

        _channel.Dispose();
    }

    private void OnMessage(ServiceMessage message, List<FdHandle> fds)
    {
        foreach (var fd in fds)
        {
            fd.Dispose();
        }

        lock (_received)
        {
            _received.Add(message);
        }

        if (message.KindCase == ServiceMessage.KindOneofCase.Permission)
        {
            try
            {
                lock (_channel)
                {
                    _ = _channel.TrySend(new SidecarMessage { PermissionAck = new PermissionAck { Generation = message.Permission.Generation } });
                }
            }
            catch (NativeException)
            {
                // The service closed the connection; the pump sees it next.
            }
        }
    }
}
