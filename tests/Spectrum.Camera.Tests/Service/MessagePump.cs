using Google.Protobuf;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// A thread that receives every message the service sends a test's peer connection (a bare sidecar, a scripted
/// producer) until the connection closes or the pump is disposed, and hands each to a handler with the fds that came
/// with it (the handler owns them from then on). Handlers run on the pump's thread and must not assert.
/// </summary>
internal sealed class MessagePump<TIn, TOut> : IDisposable
    where TIn : IMessage<TIn>, new()
    where TOut : IMessage<TOut>
{
    private readonly MessageChannel<TIn, TOut> _channel;
    private readonly Action<TIn, List<FdHandle>> _onMessage;
    private readonly Thread _thread;
    private volatile bool _stop;
    private volatile bool _closed;

    public MessagePump(MessageChannel<TIn, TOut> channel, string name, Action<TIn, List<FdHandle>> onMessage)
    {
        _channel = channel;
        _onMessage = onMessage;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>The service closed the connection (or broke the protocol).</summary>
    public bool IsClosed => _closed;

    public void Dispose()
    {
        _stop = true;
        _thread.Join(TimeSpan.FromSeconds(5));
    }

    private void Run()
    {
        var fds = new List<FdHandle>();
        while (!_stop)
        {
            ReceiveStatus status;
            TIn? message;
            try
            {
                status = _channel.TryReceive(out message, fds, maxFds: 1);
            }
            catch (Exception e) when (e is NativeException or ProtocolException)
            {
                _closed = true;
                return;
            }

            if (status == ReceiveStatus.Closed)
            {
                _closed = true;
                return;
            }

            if (status != ReceiveStatus.Message)
            {
                _ = DeviceFile.Poll(_channel.Socket.Handle, 20);
                continue;
            }

            _onMessage(message!, fds);
            fds.Clear();
        }
    }
}
