using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Core;

namespace Spectrum.Camera.Tests.ServiceClient;

/// <summary>
/// The camera service's side of one VM socket, played by the test thread: a real SOCK_SEQPACKET listener, one
/// accepted connection at a time, protobuf messages through a real <see cref="MessageChannel{TIn,TOut}"/>, and rings
/// passed as memfds with SCM_RIGHTS. Every wait is bounded (<see cref="TestWait.Bound"/>) so a broken client fails
/// the test instead of hanging it.
/// </summary>
internal sealed class ScriptedService : IDisposable
{
    private UnixSocket? _listener;
    private ulong _generation = 100;

    public ScriptedService(string path, bool listen = true)
    {
        Path = path;
        if (listen)
        {
            Listen();
        }
    }

    public string Path { get; }

    /// <summary>The accepted connection, if any.</summary>
    public MessageChannel<SidecarMessage, ServiceMessage>? Channel { get; private set; }

    public void Listen() => _listener = UnixSocket.Listen(Path, backlog: 4, kind: UnixSocketKind.SeqPacket);

    /// <summary>Accepts the sidecar's next connection (replacing the current one).</summary>
    public void Accept()
    {
        var listener = _listener ?? throw new InvalidOperationException("not listening");
        if (!WaitReadable(listener.Fd))
        {
            throw new TimeoutException("the sidecar did not connect");
        }

        CloseConnection();
        Channel = new MessageChannel<SidecarMessage, ServiceMessage>(listener.Accept(), ClientHarness.PacketBytes);
    }

    /// <summary>Accepts, reads Hello and answers Welcome; returns the Hello.</summary>
    public Hello Welcome(bool allowed, string vm = ClientHarness.VmName)
    {
        Accept();
        var hello = Expect(SidecarMessage.KindOneofCase.Hello).Hello;
        Send(new ServiceMessage { Welcome = new Welcome { ProtocolVersion = 1, Vm = vm, Allowed = allowed, Generation = _generation } });
        return hello;
    }

    /// <summary>The next message; <see cref="StreamCounters"/> reports are skipped unless that is what is expected.</summary>
    public SidecarMessage Expect(SidecarMessage.KindOneofCase kind)
    {
        while (true)
        {
            var message = Receive() ?? throw new InvalidOperationException($"the sidecar closed the connection; expected {kind}");
            if (message.KindCase == SidecarMessage.KindOneofCase.Counters && kind != SidecarMessage.KindOneofCase.Counters)
            {
                continue;
            }

            Assert.That(message.KindCase, Is.EqualTo(kind), message.ToString());
            return message;
        }
    }

    /// <summary>The next message, or null when the sidecar closed the connection.</summary>
    public SidecarMessage? Receive()
    {
        var channel = Channel ?? throw new InvalidOperationException("no connection");
        var fds = new List<FdHandle>();
        var deadline = DateTime.UtcNow + TestWait.Bound;
        while (true)
        {
            var status = channel.TryReceive(out var message, fds);
            switch (status)
            {
                case ReceiveStatus.Message:
                    return message!;
                case ReceiveStatus.Closed:
                    return null;
            }

            if (DateTime.UtcNow > deadline || !WaitReadable(channel.Fd))
            {
                throw new TimeoutException("the sidecar sent nothing");
            }
        }
    }

    /// <summary>Waits until the sidecar closes the current connection (messages before that are skipped).</summary>
    public void ExpectClosed()
    {
        while (Receive() is not null)
        {
        }
    }

    public void Send(ServiceMessage message, FdHandle? fd = null)
    {
        var channel = Channel ?? throw new InvalidOperationException("no connection");
        Assert.That(fd is null ? channel.TrySend(message) : channel.TrySend(message, [fd.Fd]), Is.True, "the sidecar's queue is full");
    }

    /// <summary>Sends bytes that are not what the protocol allows.</summary>
    public void SendRaw(byte[] packet)
    {
        var channel = Channel ?? throw new InvalidOperationException("no connection");
        Assert.That(channel.Socket.TrySendPacket(packet), Is.True);
    }

    /// <summary>
    /// Sends Permission{allowed} and waits for its ack. The client handles messages in order, so once the ack is here
    /// everything sent before was handled: the tests' barrier.
    /// </summary>
    public ulong SetPermission(bool allowed)
    {
        var generation = ++_generation;
        Send(new ServiceMessage { Permission = new Permission { Allowed = allowed, Generation = generation } });
        var ack = Expect(SidecarMessage.KindOneofCase.PermissionAck).PermissionAck;
        Assert.That(ack.Generation, Is.EqualTo(generation));
        return generation;
    }

    /// <summary>Announces <paramref name="ring"/> for <paramref name="format"/>.</summary>
    public void Attach(FrameRingWriter ring, FrameFormat format) =>
        Send(RingMessage(ring.Id, ring.Layout, format), ring.Fd);

    public static ServiceMessage RingMessage(ulong id, FrameRingLayout layout, FrameFormat format) => new()
    {
        RingAttached = new RingAttached
        {
            RingId = id,
            SlotCount = (uint)layout.SlotCount,
            SlotSize = (uint)layout.SlotSize,
            FrameSize = (uint)layout.FrameSize,
            PixelFormat = format.PixelFormat,
            Width = format.Width,
            Height = format.Height,
        },
    };

    /// <summary>Writes test-pattern frame <paramref name="frameNumber"/> into the ring's next slot and returns the bytes.</summary>
    public static byte[] WriteFrame(FrameRingWriter ring, FrameFormat format, uint frameNumber, ulong sequence, out int slot)
    {
        var sink = new MemoryFrameSink((int)format.SizeImage);
        _ = new TestPatternSource().Render(format, frameNumber, sink);
        var bytes = sink.WrittenMemory.ToArray();
        bytes.CopyTo(ring.BeginWrite(out slot));
        ring.EndWrite(sequence, MonotonicClock.NowNanoseconds());
        return bytes;
    }

    /// <summary>Writes a frame and announces it with FrameReady.</summary>
    public byte[] Publish(FrameRingWriter ring, FrameFormat format, uint frameNumber, ulong sequence)
    {
        var bytes = WriteFrame(ring, format, frameNumber, sequence, out var slot);
        Send(new ServiceMessage
        {
            FrameReady = new FrameReady { RingId = ring.Id, Slot = (uint)slot, Sequence = sequence, TimestampNs = MonotonicClock.NowNanoseconds() },
        });
        return bytes;
    }

    /// <summary>Closes the current connection, as a service that exits or is killed does.</summary>
    public void CloseConnection()
    {
        Channel?.Dispose();
        Channel = null;
    }

    /// <summary>Stops listening and removes the socket file (a service that is gone).</summary>
    public void StopListening()
    {
        _listener?.Dispose();
        _listener = null;
        File.Delete(Path);
    }

    public void Dispose()
    {
        CloseConnection();
        StopListening();
    }

    private static bool WaitReadable(int fd)
    {
        using var epoll = Epoll.Create();
        epoll.Add(fd, 1);
        Span<ulong> ready = stackalloc ulong[1];
        return epoll.Wait(ready, (int)TestWait.Bound.TotalMilliseconds) > 0;
    }
}
