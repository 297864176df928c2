using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Operator;

namespace Spectrum.Camera.Tests.Cli.Ctl;

/// <summary>
/// A stand-in camera service on a real SOCK_SEQPACKET operator socket: accepts one connection, records each request
/// and answers it with what the script returns (responses without an id get the request's, unless
/// <see cref="FillIds"/> is off). With
/// <see cref="CloseAfterReply"/> it closes the connection after the first reply (as the service does when it stops).
/// </summary>
internal sealed class ScriptedOperatorServer : IDisposable
{
    private readonly UnixSocket _listener;
    private readonly Func<OperatorRequest, IReadOnlyList<OperatorResponse>> _script;
    private readonly List<OperatorRequest> _requests = [];
    private readonly Thread _thread;
    private Exception? _failure;

    public ScriptedOperatorServer(
        string path, Func<OperatorRequest, IReadOnlyList<OperatorResponse>> script, bool closeAfterReply = false, bool fillIds = true)
    {
        FillIds = fillIds;
        SocketPath = path;
        _script = script;
        CloseAfterReply = closeAfterReply;
        _listener = UnixSocket.Listen(path, backlog: 4, UnixSocketKind.SeqPacket);
        _thread = new Thread(Serve) { IsBackground = true, Name = "scripted-operator-server" };
        _thread.Start();
    }

    public string SocketPath { get; }

    public bool CloseAfterReply { get; }

    /// <summary>Whether responses without an id get the request's (else they go out with id 0).</summary>
    public bool FillIds { get; }

    public IReadOnlyList<OperatorRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>The only request received (fails the test otherwise).</summary>
    public OperatorRequest Single
    {
        get
        {
            var all = Requests;
            Assert.That(all, Has.Count.EqualTo(1), "requests received");
            return all[0];
        }
    }

    public void Dispose()
    {
        _listener.Shutdown(); // wakes a blocked accept
        _thread.Join(TimeSpan.FromSeconds(30));
        _listener.Dispose();
        if (_failure is not null)
        {
            throw new InvalidOperationException($"scripted operator server failed: {_failure.Message}", _failure);
        }
    }

    private void Serve()
    {
        UnixSocket connection;
        try
        {
            connection = _listener.Accept();
        }
        catch (NativeException)
        {
            return; // shut down before any client came (usage-error tests)
        }

        try
        {
            using var channel = new MessageChannel<OperatorRequest, OperatorResponse>(connection, 65536);
            var fds = new List<FdHandle>();
            while (true)
            {
                var status = channel.TryReceive(out var request, fds);
                if (status == ReceiveStatus.Closed)
                {
                    return;
                }

                if (status == ReceiveStatus.Empty)
                {
                    _ = DeviceFile.Poll(channel.Socket.Handle, -1);
                    continue;
                }

                lock (_requests)
                {
                    _requests.Add(request!);
                }

                foreach (var response in _script(request!))
                {
                    if (FillIds && response.Id == 0 && response.KindCase != OperatorResponse.KindOneofCase.Error)
                    {
                        response.Id = request!.Id;
                    }

                    if (!channel.TrySend(response))
                    {
                        throw new InvalidOperationException("the reply did not fit in the client's queue");
                    }
                }

                if (CloseAfterReply)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is NativeException or ProtocolException or InvalidOperationException)
        {
            _failure = e;
        }
    }
}
