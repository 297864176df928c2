using Google.Protobuf;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Tests.Core;

namespace Spectrum.Camera.Tests.ServiceClient;

/// <summary>
/// The camera service's side of one of its sockets, played by the test thread: a real SOCK_SEQPACKET listener, one
/// accepted connection at a time, protobuf messages through a real <see cref="MessageChannel{TIn,TOut}"/>, and memfds
/// passed with SCM_RIGHTS. Every wait is bounded (<see cref="TestWait.Bound"/>) so a broken client fails the test
/// instead of hanging it. <see cref="ScriptedService"/> speaks the consumer protocol on it,
/// <see cref="ScriptedProducerService"/> the producer protocol.
/// </summary>
internal abstract class ScriptedPeer<TIn, TOut> : IDisposable
    where TIn : IMessage<TIn>, new()
    where TOut : IMessage<TOut>
{
    private UnixSocket? _listener;

    protected ScriptedPeer(string path, bool listen)
    {
        Path = path;
        if (listen)
        {
            Listen();
        }
    }

    public string Path { get; }

    /// <summary>The accepted connection, if any.</summary>
    public MessageChannel<TIn, TOut>? Channel { get; private set; }

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
        Channel = new MessageChannel<TIn, TOut>(listener.Accept(), ClientHarness.PacketBytes);
    }

    /// <summary>The next message, or null when the sidecar closed the connection.</summary>
    public TIn? Receive()
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
                    return default;
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

    public void Send(TOut message, FdHandle? fd = null)
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
