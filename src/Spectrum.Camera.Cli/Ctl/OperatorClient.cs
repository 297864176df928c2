using System.Diagnostics;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Operator;

namespace Spectrum.Camera.Cli.Ctl;

/// <summary>
/// The operator end of the operator API: one SOCK_SEQPACKET connection to the camera service, requests with
/// increasing ids, replies awaited with poll (the channel itself never blocks). Failures are <see cref="CtlFailure"/>
/// with a message an operator can act on.
/// </summary>
internal sealed class OperatorClient : IDisposable
{
    /// <summary>The operator API's packet limit (protocol/operator.proto).</summary>
    public const int MaxPacketBytes = 65536;

    /// <summary>How long a request waits for each reply packet.</summary>
    public const int ReplyTimeoutMs = 10_000;

    private const int ECONNREFUSED = 111;
    private const int ENOTSOCK = 88;
    private const int EPROTOTYPE = 91;

    private readonly MessageChannel<OperatorResponse, OperatorRequest> _channel;
    private readonly List<FdHandle> _fds = [];
    private ulong _nextId = 1;

    private OperatorClient(string path, UnixSocket socket)
    {
        SocketPath = path;
        _channel = new MessageChannel<OperatorResponse, OperatorRequest>(socket, MaxPacketBytes);
    }

    public string SocketPath { get; }

    /// <summary>Connects to the operator socket at <paramref name="path"/>.</summary>
    public static OperatorClient Connect(string path)
    {
        try
        {
            return new OperatorClient(path, UnixSocket.Connect(path, UnixSocketKind.SeqPacket));
        }
        catch (NativeException e)
        {
            throw new CtlFailure(ConnectFailure(path, e.Errno));
        }
        catch (ArgumentException e)
        {
            throw new CtlFailure($"cannot use operator socket path: {e.Message}");
        }
    }

    /// <summary>What to tell the operator when connect(2) failed with <paramref name="errno"/>.</summary>
    internal static string ConnectFailure(string path, int errno) => errno switch
    {
        Errnos.ENOENT => $"no operator socket at {path}: is the camera service running? "
            + "(start 'spectrum-camera camera-service', or point --operator-socket / SPECTRUM_CAMERA_OPERATOR_SOCKET at its RUNTIME_DIR/operator.sock)",
        ECONNREFUSED => $"nothing is listening on {path}: is the camera service running? (the socket file is left from a service that stopped)",
        Errnos.EACCES or Errnos.EPERM => $"permission denied connecting to {path}: are you an operator? "
            + "(run as root, or as a user the camera service lists with --operator-uid, or in its --operator-group)",
        ENOTSOCK or EPROTOTYPE => $"{path} is not the camera service's operator socket",
        _ => $"cannot connect to {path}: {NativeException.Describe(errno)} (errno {errno})",
    };

    /// <summary>Sends <paramref name="request"/> (its id is assigned here) and returns the id.</summary>
    public ulong Send(OperatorRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Id = _nextId++;
        var clock = Stopwatch.StartNew();
        try
        {
            // A fresh connection's queue is empty, so this only waits if the service is stuck.
            while (!_channel.TrySend(request))
            {
                if (clock.ElapsedMilliseconds > ReplyTimeoutMs)
                {
                    throw new CtlFailure($"the camera service at {SocketPath} is not reading its requests");
                }

                Thread.Sleep(10);
            }
        }
        catch (NativeException e)
        {
            throw new CtlFailure($"lost the connection to the camera service at {SocketPath}: {e.Message}");
        }

        return request.Id;
    }

    /// <summary>
    /// The next reply to request <paramref name="id"/>, waiting up to <paramref name="timeoutMs"/> (-1 = forever).
    /// An <c>Error</c> reply is thrown as <see cref="CtlFailure"/> with the service's message.
    /// </summary>
    public OperatorResponse Receive(ulong id, int timeoutMs) =>
        TryReceive(id, timeoutMs) ?? throw new CtlFailure(
            $"no reply from the camera service at {SocketPath} within {timeoutMs / 1000} s");

    /// <summary>
    /// As <see cref="Receive"/>, but null when nothing arrived within <paramref name="timeoutMs"/> (0 = do not wait):
    /// for loops that also watch the keyboard or another connection.
    /// </summary>
    public OperatorResponse? TryReceive(ulong id, int timeoutMs)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            ReceiveStatus status;
            OperatorResponse? response;
            try
            {
                status = _channel.TryReceive(out response, _fds);
            }
            catch (ProtocolException e)
            {
                throw new CtlFailure($"bad reply from the camera service: {e.Message}");
            }
            catch (NativeException e)
            {
                throw new CtlFailure($"lost the connection to the camera service at {SocketPath}: {e.Message}");
            }

            switch (status)
            {
                case ReceiveStatus.Message:
                    if (response!.KindCase == OperatorResponse.KindOneofCase.Error)
                    {
                        throw new CtlFailure(response.Error.Message);
                    }

                    // Events of a Watch may come with id 0 (the service pushes them outside any request).
                    if (response.Id != id && !(response.Id == 0 && response.KindCase == OperatorResponse.KindOneofCase.Event))
                    {
                        throw new CtlFailure($"bad reply from the camera service: id {response.Id}, expected {id}");
                    }

                    return response;
                case ReceiveStatus.Closed:
                    throw new CtlFailure("the camera service closed the connection");
                default:
                    var wait = -1;
                    if (timeoutMs >= 0)
                    {
                        wait = (int)Math.Max(0, timeoutMs - clock.ElapsedMilliseconds);
                        if (wait == 0)
                        {
                            return null;
                        }
                    }

                    _ = DeviceFile.Poll(_channel.Socket.Handle, wait);
                    break;
            }
        }
    }

    /// <summary>Sends <paramref name="request"/> and returns its reply, which must be of kind <paramref name="expected"/>.</summary>
    public OperatorResponse Call(OperatorRequest request, OperatorResponse.KindOneofCase expected)
    {
        var id = Send(request);
        var response = Receive(id, ReplyTimeoutMs);
        return Expect(response, expected);
    }

    /// <summary>Checks a reply's kind.</summary>
    public static OperatorResponse Expect(OperatorResponse response, OperatorResponse.KindOneofCase expected)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.KindCase == expected
            ? response
            : throw new CtlFailure($"bad reply from the camera service: {response.KindCase}, expected {expected}");
    }

    public void Dispose()
    {
        foreach (var fd in _fds)
        {
            fd.Dispose();
        }

        _channel.Dispose();
    }
}
