using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Operator;

namespace Spectrum.Camera.Service;

/// <summary>
/// One operator connection (`spectrum-camera ctl`), already checked to be an operator by its peer credentials.
/// Requests are handled in order by the service; a client that stops reading its answers is closed.
/// </summary>
internal sealed class OperatorSession : IDisposable
{
    public const int MaxPacketBytes = 65536;

    private readonly MessageChannel<OperatorRequest, OperatorResponse> _channel;
    private readonly EventLoop _loop;
    private readonly List<FdHandle> _fds = [];
    private readonly Action<OperatorSession, OperatorRequest> _onRequest;
    private readonly Action<OperatorSession> _onClosed;
    private bool _closed;

    public OperatorSession(
        UnixSocket socket, int peerPid, uint peerUid, EventLoop loop,
        Action<OperatorSession, OperatorRequest> onRequest, Action<OperatorSession> onClosed)
    {
        PeerPid = peerPid;
        PeerUid = peerUid;
        _loop = loop;
        _onRequest = onRequest;
        _onClosed = onClosed;
        _channel = new MessageChannel<OperatorRequest, OperatorResponse>(socket, MaxPacketBytes);
        loop.Watch(_channel.Fd, OnReadable);
    }

    public int PeerPid { get; }

    public uint PeerUid { get; }

    /// <summary>The connection asked for the event stream.</summary>
    public bool Watching { get; set; }

    /// <summary>The id of the Watch request, which every event repeats.</summary>
    public ulong WatchId { get; set; }

    public bool IsClosed => _closed;

    public void Send(OperatorResponse response)
    {
        if (_closed)
        {
            return;
        }

        try
        {
            if (!_channel.TrySend(response))
            {
                Close("it stopped reading its answers");
            }
        }
        catch (NativeException)
        {
            Close("it went away");
        }
    }

    public void SendError(ulong id, string message, int errno) =>
        Send(new OperatorResponse { Id = id, Error = new Error { Message = message, Errno = errno } });

    public void Close(string reason)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _loop.Unwatch(_channel.Fd);
        Log.Debug("operator", $"operator connection (pid {PeerPid}, uid {PeerUid}) closed: {reason}");
        _loop.Post(() =>
        {
            _onClosed(this);
            Dispose();
        });
    }

    public void Dispose()
    {
        _closed = true;
        _loop.Unwatch(_channel.Fd);
        _channel.Dispose();
    }

    private void OnReadable()
    {
        for (var i = 0; i < 16 && !_closed; i++)
        {
            OperatorRequest? request;
            ReceiveStatus status;
            try
            {
                status = _channel.TryReceive(out request, _fds);
            }
            catch (ProtocolException e)
            {
                Log.Warning("operator", $"protocol error from operator pid {PeerPid} (uid {PeerUid}): {e.Message}");
                Close(e.Message);
                return;
            }

            switch (status)
            {
                case ReceiveStatus.Empty:
                    return;
                case ReceiveStatus.Closed:
                    Close("end of stream");
                    return;
                default:
                    _onRequest(this, request!);
                    break;
            }
        }
    }
}
