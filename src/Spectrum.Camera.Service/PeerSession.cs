using Google.Protobuf;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Service;

/// <summary>
/// One connection of a VM-side peer (a consumer VM's sidecar, a camera VM's producer sidecar), bound to the socket it
/// came through. The peer may be compromised: it reads at most a bounded batch of messages per wake-up (so one chatty
/// peer cannot starve the cameras or the other VMs), a protocol error closes it, and it sends without ever blocking
/// the service: a message that must arrive and finds the peer's queue full closes the peer, a droppable one is dropped.
/// </summary>
/// <typeparam name="TIn">What the peer sends.</typeparam>
/// <typeparam name="TOut">What the service sends.</typeparam>
internal abstract class PeerSession<TIn, TOut> : IVmPeer, IDisposable
    where TIn : IMessage<TIn>, new()
    where TOut : IMessage<TOut>
{
    /// <summary>Largest packet either way (docs/camera-service.md).</summary>
    public const int MaxPacketBytes = 4096;

    /// <summary>Messages handled per wake-up at most.</summary>
    private const int ReadBatch = 64;

    private readonly MessageChannel<TIn, TOut> _channel;
    private readonly EventLoop _loop;
    private readonly List<FdHandle> _fds = [];
    private bool _closed;

    protected PeerSession(VmRecord vm, UnixSocket socket, int peerPid, uint peerUid, EventLoop loop)
    {
        Vm = vm;
        PeerPid = peerPid;
        PeerUid = peerUid;
        _loop = loop;
        _channel = new MessageChannel<TIn, TOut>(socket, MaxPacketBytes);
        loop.Watch(_channel.Fd, OnReadable);
    }

    /// <summary>The VM whose socket the peer connected through: its identity, whatever it says.</summary>
    public VmRecord Vm { get; }

    public int PeerPid { get; }

    public uint PeerUid { get; }

    /// <summary>Hello received and answered.</summary>
    public bool Welcomed { get; set; }

    /// <summary>Messages dropped because the peer's queue was full (<see cref="SendDroppable"/>).</summary>
    public ulong Dropped { get; private set; }

    public bool IsClosed => _closed;

    /// <summary>"sidecar", "producer": what the peer is, for log lines.</summary>
    public abstract string PeerKind { get; }

    /// <summary>"sidecar pid 42", for log lines.</summary>
    protected string PeerName => $"{PeerKind} pid {PeerPid}";

    /// <summary>Sends a message that must arrive; a peer that cannot take it is closed.</summary>
    public bool Send(TOut message, FdHandle? fd = null)
    {
        if (_closed)
        {
            return false;
        }

        try
        {
            Span<int> fds = [fd?.Fd ?? -1];
            if (_channel.TrySend(message, fd is null ? [] : fds))
            {
                return true;
            }

            Close("its socket queue is full (it stopped reading)");
        }
        catch (NativeException e)
        {
            Close($"send failed: {e.Message}");
        }

        return false;
    }

    /// <summary>Sends Refused (as made by <see cref="RefusedMessage"/>) and closes.</summary>
    public void Refuse(string reason)
    {
        LogFault($"vm {Vm.Name}: refusing {PeerName}: {reason}");
        Send(RefusedMessage(reason));
        Close(reason);
    }

    /// <summary>
    /// Stops reading and sending at once; <see cref="OnClosed"/> runs from a posted loop callback, so this is safe in
    /// the middle of the hub's fan-out or the service's handlers.
    /// </summary>
    public void Close(string reason)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _loop.Unwatch(_channel.Fd);
        _loop.Post(() =>
        {
            OnClosed(reason);
            Dispose();
        });
    }

    public void Dispose()
    {
        _closed = true;
        _loop.Unwatch(_channel.Fd);
        foreach (var fd in _fds)
        {
            fd.Dispose();
        }

        _fds.Clear();
        _channel.Dispose();
    }

    /// <summary>Sends a message whose loss costs nothing (a stale notice); false when dropped or the peer is closed.</summary>
    protected bool SendDroppable(TOut message)
    {
        if (_closed)
        {
            return false;
        }

        try
        {
            if (_channel.TrySend(message))
            {
                return true;
            }

            Dropped++;
        }
        catch (NativeException e)
        {
            Close($"send failed: {e.Message}");
        }

        return false;
    }

    /// <summary>A line for the operator about something the peer did wrong.</summary>
    protected virtual void LogFault(string message) => Log.Warning("service", message);

    /// <summary>The service's refusal, saying why.</summary>
    protected abstract TOut RefusedMessage(string reason);

    /// <summary>One message from the peer, in order.</summary>
    protected abstract void OnMessage(TIn message);

    /// <summary>The connection is closed (by either side); the session is disposed right after.</summary>
    protected abstract void OnClosed(string reason);

    private void OnReadable()
    {
        for (var i = 0; i < ReadBatch && !_closed; i++)
        {
            TIn? message;
            ReceiveStatus status;
            try
            {
                status = _channel.TryReceive(out message, _fds);
            }
            catch (ProtocolException e)
            {
                LogFault($"vm {Vm.Name}: protocol error from {PeerName}: {e.Message}");
                Close($"protocol error: {e.Message}");
                return;
            }

            switch (status)
            {
                case ReceiveStatus.Empty:
                    return;
                case ReceiveStatus.Closed:
                    Close($"the {PeerKind} closed the connection");
                    return;
                default:
                    OnMessage(message!);
                    break;
            }
        }
    }
}
