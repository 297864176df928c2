using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Service;

/// <summary>
/// One sidecar's connection, bound to the VM whose socket it came through. Parses and checks every message (the
/// sidecar may be compromised: a protocol error closes the connection), and sends without ever blocking the service:
/// a frame notice the sidecar has no room for is dropped, a control message it has no room for closes it.
/// </summary>
internal sealed class SidecarSession : IDisposable
{
    /// <summary>Largest sidecar packet (docs/camera-service.md).</summary>
    public const int MaxPacketBytes = 4096;

    private readonly MessageChannel<SidecarMessage, ServiceMessage> _channel;
    private readonly EventLoop _loop;
    private readonly List<FdHandle> _fds = [];
    private readonly Action<SidecarSession, SidecarMessage> _onMessage;
    private readonly Action<SidecarSession, string> _onClosed;
    private bool _closed;

    public SidecarSession(
        VmRecord vm, UnixSocket socket, int peerPid, uint peerUid, EventLoop loop,
        Action<SidecarSession, SidecarMessage> onMessage, Action<SidecarSession, string> onClosed)
    {
        Vm = vm;
        PeerPid = peerPid;
        PeerUid = peerUid;
        _loop = loop;
        _onMessage = onMessage;
        _onClosed = onClosed;
        _channel = new MessageChannel<SidecarMessage, ServiceMessage>(socket, MaxPacketBytes);
        loop.Watch(_channel.Fd, OnReadable);
    }

    public VmRecord Vm { get; }

    public int PeerPid { get; }

    public uint PeerUid { get; }

    /// <summary>Hello received and Welcome sent.</summary>
    public bool Welcomed { get; set; }

    /// <summary>What the sidecar was last told (Welcome, Permission): whether it may show real frames.</summary>
    public bool ToldAllowed { get; set; }

    /// <summary>What the guest streams, while it does.</summary>
    public StreamRequest? Request { get; set; }

    /// <summary>Real frames announced to this sidecar (FrameReady sent).</summary>
    public ulong FramesOffered { get; set; }

    /// <summary>Frame notices dropped because the sidecar's queue was full.</summary>
    public ulong NoticesDropped { get; private set; }

    public bool IsClosed => _closed;

    /// <summary>Sends a message that must arrive; a sidecar that cannot take it is closed.</summary>
    public bool Send(ServiceMessage message, FdHandle? fd = null)
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

    /// <summary>Sends a frame notice; when the sidecar's queue is full the notice is dropped (it would be stale anyway).</summary>
    public bool SendFrameNotice(ServiceMessage message)
    {
        if (_closed)
        {
            return false;
        }

        try
        {
            if (_channel.TrySend(message))
            {
                FramesOffered++;
                return true;
            }

            NoticesDropped++;
        }
        catch (NativeException e)
        {
            Close($"send failed: {e.Message}");
        }

        return false;
    }

    /// <summary>Sends Refused and closes.</summary>
    public void Refuse(string reason)
    {
        Log.Warning("service", $"vm {Vm.Name}: refusing sidecar pid {PeerPid}: {reason}");
        Send(new ServiceMessage { Refused = new Refused { Reason = reason } });
        Close(reason);
    }

    /// <summary>
    /// Stops reading and sending at once; the service is told (it leaves the camera, resolves a pending deny, logs)
    /// from a posted loop callback, so this is safe in the middle of the hub's fan-out or the service's handlers.
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
            _onClosed(this, reason);
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

    private void OnReadable()
    {
        // Bounded batch per wake-up, so one chatty sidecar cannot starve the camera or the other VMs.
        for (var i = 0; i < 64 && !_closed; i++)
        {
            SidecarMessage? message;
            ReceiveStatus status;
            try
            {
                status = _channel.TryReceive(out message, _fds);
            }
            catch (ProtocolException e)
            {
                Log.Warning("service", $"vm {Vm.Name}: protocol error from sidecar pid {PeerPid}: {e.Message}");
                Close($"protocol error: {e.Message}");
                return;
            }

            switch (status)
            {
                case ReceiveStatus.Empty:
                    return;
                case ReceiveStatus.Closed:
                    Close("the sidecar closed the connection");
                    return;
                default:
                    _onMessage(this, message!);
                    break;
            }
        }
    }
}
