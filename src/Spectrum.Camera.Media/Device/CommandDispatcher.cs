using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// Answers virtio-media commands. A command is read from the request copy into its structure, checked, and only then
/// acted on; an ioctl payload is read into its V4L2 structure before its handler runs, and the handler's typed answer
/// is what the response carries. The allowlist is one switch over <see cref="V4l2IoctlNumber"/> that names every
/// member (the compiler refuses a member without an arm); numbers the enum does not name are ENOTTY.
/// </summary>
internal sealed class CommandDispatcher : ICommandHandler
{
    /// <summary>Largest readable part of a command looked at: an ioctl header, CREATE_BUFS, and a 64 MiB QBUF's SG list.</summary>
    public static readonly int MaxRequestBytes = WireStruct.SizeOf<VirtioMediaIoctlCommand>() + WireStruct.SizeOf<V4l2CreateBuffers>() +
        (GuestSgList.MaxEntries * WireStruct.SizeOf<VirtioMediaSgEntry>());

    private const string Component = "virtio-media";

    private static readonly int IoctlCommandSize = WireStruct.SizeOf<VirtioMediaIoctlCommand>();

    private readonly CaptureState _state;
    private readonly FormatIoctls _formats;
    private readonly ParameterIoctls _parameters;
    private readonly BufferIoctls _buffers;
    private readonly SharedMemoryWindow _window;
    private readonly MmapCommands _mmap;

    public CommandDispatcher(CaptureState state, BufferIoctls buffers, SharedMemoryWindow window)
    {
        _state = state;
        _formats = new FormatIoctls(state);
        _parameters = new ParameterIoctls(state);
        _buffers = buffers;
        _window = window;
        _mmap = new MmapCommands(state, window);
    }

    /// <summary>Answers one command into <paramref name="response"/> (begun with the chain's writable length).</summary>
    public void Handle(in CommandRequest request, CommandResponse response)
    {
        if (!WireStruct.TryRead(request.Bytes, out VirtioMediaCommandHeader header))
        {
            Fault(response, $"command of {request.ReadableLength} readable bytes has no header", Errno.EINVAL);
            return;
        }

        if (request.ReadableLength > MaxRequestBytes)
        {
            Fault(response, $"command of {request.ReadableLength} bytes exceeds the {MaxRequestBytes}-byte limit", Errno.EINVAL);
            return;
        }

        switch (header.Command)
        {
            case VirtioMediaWire.CmdOpen:
                Open(request, response);
                break;
            case VirtioMediaWire.CmdClose:
                Close(request, response);
                break;
            case VirtioMediaWire.CmdIoctl:
                Ioctl(request, response);
                break;
            case VirtioMediaWire.CmdMmap:
                _mmap.Map(request, response);
                break;
            case VirtioMediaWire.CmdMunmap:
                _mmap.Unmap(request, response);
                break;
            default:
                Fault(response, $"unknown command {header.Command}", Errno.ENOTTY);
                break;
        }
    }

    private void Open(in CommandRequest request, CommandResponse response)
    {
        if (!response.HasRoomFor(WireStruct.SizeOf<VirtioMediaOpenResponse>() - WireStruct.SizeOf<VirtioMediaResponseHeader>()))
        {
            Fault(response, $"OPEN without room for its {WireStruct.SizeOf<VirtioMediaOpenResponse>()}-byte response", Errno.EINVAL);
            return;
        }

        if (!_state.Sessions.TryOpen(out var session))
        {
            Log.GuestFault(Component, "session-limit", $"OPEN refused: {_state.Sessions.Limit} sessions are open");
            response.Answer(Errno.EBUSY);
            return;
        }

        Log.Debug(Component, $"session {session.Id} opened ({_state.Sessions.Count} open)");
        response.AnswerWhole(new VirtioMediaOpenResponse { SessionId = session.Id });
    }

    /// <summary>CLOSE has no response part (virtio 1.4 §5.22: its chain has no writable part): used length 0 whatever happens.</summary>
    private void Close(in CommandRequest request, CommandResponse response)
    {
        response.None();
        if (!WireStruct.TryRead(request.Bytes, out VirtioMediaCloseCommand close))
        {
            Log.GuestFault(Component, "bad-command", $"CLOSE shorter than {WireStruct.SizeOf<VirtioMediaCloseCommand>()} bytes");
            return;
        }

        if (!_state.Sessions.Remove(close.SessionId))
        {
            Log.GuestFault(Component, "unknown-session", $"CLOSE of unknown session {close.SessionId}");
            return;
        }

        if (_state.Queue.Owner == close.SessionId)
        {
            _buffers.StopStreaming();
            _state.Queue.Release();
        }

        _window.CloseSession(close.SessionId);

        Log.Debug(Component, $"session {close.SessionId} closed ({_state.Sessions.Count} open)");
    }

    private void Ioctl(in CommandRequest request, CommandResponse response)
    {
        if (!WireStruct.TryRead(request.Bytes, out VirtioMediaIoctlCommand ioctl))
        {
            Fault(response, $"IOCTL shorter than {IoctlCommandSize} bytes", Errno.EINVAL);
            return;
        }

        var code = (V4l2IoctlNumber)ioctl.Code;
        if (!_state.Sessions.TryGet(ioctl.SessionId, out var session))
        {
            Fault(response, $"IOCTL {code.Name()} on unknown session {ioctl.SessionId}", Errno.EINVAL);
            return;
        }

        if (!Enum.IsDefined(code))
        {
            // No such ioctl here: the V4L2 answer for it. Not a fault: clients probe freely.
            Refuse(response, request.Bytes[IoctlCommandSize..]);
            return;
        }

        var call = new IoctlCall
        {
            Session = session,
            Code = code,
            Payload = request.Bytes[IoctlCommandSize..],
            Memory = request.Memory,
            CommandSegments = request.Segments,
        };
        Dispatch(call, response);
    }

    /// <summary>The allowlist. Every named ioctl has an arm; those the device does not serve are ENOTTY.</summary>
    private void Dispatch(in IoctlCall call, CommandResponse response)
    {
        // CS8509 (a named member without an arm) stays an error; CS8524 is about unnamed values, answered above.
#pragma warning disable CS8524
        _ = call.Code switch
        {
            V4l2IoctlNumber.EnumFmt => Serve<V4l2FmtDesc, V4l2FmtDesc>(call, response, static (d, in c, in q, out a) => d._formats.Enumerate(q, out a)),
            V4l2IoctlNumber.GFmt => Serve<V4l2Format, V4l2Format>(call, response, static (d, in c, in q, out a) => d._formats.Get(q, out a)),
            V4l2IoctlNumber.SFmt => Serve<V4l2Format, V4l2Format>(call, response, static (d, in c, in q, out a) => d._formats.Set(q, out a)),
            V4l2IoctlNumber.TryFmt => Serve<V4l2Format, V4l2Format>(call, response, static (d, in c, in q, out a) => d._formats.Try(q, out a)),
            V4l2IoctlNumber.EnumFrameSizes =>
                Serve<V4l2FrmSizeEnum, V4l2FrmSizeEnum>(call, response, static (d, in c, in q, out a) => d._formats.EnumerateSizes(q, out a)),
            V4l2IoctlNumber.EnumFrameIntervals =>
                Serve<V4l2FrmIvalEnum, V4l2FrmIvalEnum>(call, response, static (d, in c, in q, out a) => d._formats.EnumerateIntervals(q, out a)),
            V4l2IoctlNumber.GParm => Serve<V4l2StreamParm, V4l2StreamParm>(call, response, static (d, in c, in q, out a) => d._parameters.Get(q, out a)),
            V4l2IoctlNumber.SParm => Serve<V4l2StreamParm, V4l2StreamParm>(call, response, static (d, in c, in q, out a) => d._parameters.Set(q, out a)),
            V4l2IoctlNumber.EnumInput =>
                Serve<V4l2Input, V4l2Input>(call, response, static (d, in c, in q, out a) => ParameterIoctls.EnumerateInputs(q, out a)),
            V4l2IoctlNumber.GInput => Serve<NoPayload, uint>(call, response, static (d, in c, in q, out a) => ParameterIoctls.GetInput(out a)),
            V4l2IoctlNumber.SInput => Serve<uint, uint>(call, response, static (d, in c, in q, out a) => ParameterIoctls.SetInput(q, out a)),
            V4l2IoctlNumber.ReqBufs =>
                Serve<V4l2RequestBuffers, V4l2RequestBuffers>(call, response, static (d, in c, in q, out a) => d._buffers.RequestBuffers(c, q, out a)),
            V4l2IoctlNumber.CreateBufs =>
                Serve<V4l2CreateBuffers, V4l2CreateBuffers>(call, response, static (d, in c, in q, out a) => d._buffers.CreateBuffers(c, q, out a)),
            V4l2IoctlNumber.QueryBuf => Serve<V4l2Buffer, V4l2Buffer>(call, response, static (d, in c, in q, out a) => d._buffers.QueryBuffer(q, out a)),
            V4l2IoctlNumber.PrepareBuf => Serve<V4l2Buffer, V4l2Buffer>(call, response, static (d, in c, in q, out a) => d._buffers.PrepareBuffer(c, q, out a)),
            V4l2IoctlNumber.QBuf => Serve<V4l2Buffer, V4l2Buffer>(call, response, static (d, in c, in q, out a) => d._buffers.QueueBuffer(c, q, out a)),
            V4l2IoctlNumber.StreamOn => Serve<uint, NoPayload>(call, response, static (d, in c, in q, out a) => d._buffers.StreamOn(c, q, out a)),
            V4l2IoctlNumber.StreamOff => Serve<uint, NoPayload>(call, response, static (d, in c, in q, out a) => d._buffers.StreamOff(c, q, out a)),

            // Not served: buffers are not exported (no EXPBUF), DQBUF travels as an event, and the camera has no controls,
            // standards, selections, outputs or V4L2 events. QUERYCAP is answered by the guest driver itself.
            V4l2IoctlNumber.QueryCap or V4l2IoctlNumber.ExpBuf or V4l2IoctlNumber.DQBuf or V4l2IoctlNumber.GStd or
                V4l2IoctlNumber.SStd or V4l2IoctlNumber.EnumStd or V4l2IoctlNumber.GCtrl or V4l2IoctlNumber.SCtrl or
                V4l2IoctlNumber.QueryCtrl or V4l2IoctlNumber.QueryMenu or V4l2IoctlNumber.GOutput or V4l2IoctlNumber.SOutput or
                V4l2IoctlNumber.EnumOutput or V4l2IoctlNumber.GExtCtrls or V4l2IoctlNumber.SExtCtrls or
                V4l2IoctlNumber.TryExtCtrls or V4l2IoctlNumber.DQEvent or V4l2IoctlNumber.SubscribeEvent or
                V4l2IoctlNumber.UnsubscribeEvent or V4l2IoctlNumber.GSelection or V4l2IoctlNumber.SSelection or
                V4l2IoctlNumber.QueryExtCtrl => Refuse(response, call.Payload),
        };
#pragma warning restore CS8524
    }

    /// <summary>
    /// Reads the request structure, checks that the answer fits, runs <paramref name="handler"/>, and answers with its
    /// structure (or with its errno and no payload).
    /// </summary>
    private bool Serve<TRequest, TAnswer>(in IoctlCall call, CommandResponse response, IoctlHandler<TRequest, TAnswer> handler)
        where TRequest : unmanaged
        where TAnswer : unmanaged
    {
        var requestSize = NoPayload.SizeOf<TRequest>();
        if (call.Payload.Length < requestSize)
        {
            Fault(response, $"{call.Code.Name()} payload is {call.Payload.Length} bytes, needs {requestSize}", Errno.EINVAL);
            return false;
        }

        var answerSize = NoPayload.SizeOf<TAnswer>();
        if (!response.HasRoomFor(answerSize))
        {
            Fault(response, $"{call.Code.Name()} response area of {response.Capacity} bytes is too small", Errno.EINVAL);
            return false;
        }

        var request = requestSize == 0 ? default : WireStruct.Read<TRequest>(call.Payload);
        var errno = handler(this, call, request, out var answer);
        call.Session.Ioctls++;
        if (errno != Errno.None || answerSize == 0)
        {
            response.Answer(errno);
        }
        else
        {
            response.Answer(in answer);
        }

        return errno == Errno.None;
    }

    /// <summary>
    /// ENOTTY, with the driver's payload written back unchanged where the chain has room for it (a WR ioctl). virtio 1.4
    /// §5.22 lets a failed ioctl carry its payload; the upstream driver turns a header-only ENOTTY to
    /// G/S/TRY_EXT_CTRLS into EINVAL, and reports the ENOTTY when the payload comes back.
    /// </summary>
    private static bool Refuse(CommandResponse response, ReadOnlySpan<byte> payload)
    {
        response.AnswerEcho(Errno.ENOTTY, payload);
        return false;
    }

    /// <summary>Logs a malformed command (rate-limited) and answers it with <paramref name="errno"/> if there is room.</summary>
    private static void Fault(CommandResponse response, string message, Errno errno)
    {
        Log.GuestFault(Component, "bad-command", message);
        response.Answer(errno);
    }
}
