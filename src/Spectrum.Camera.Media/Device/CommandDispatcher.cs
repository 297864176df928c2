using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// Answers virtio-media commands for either device. A command is read from the request copy into its structure,
/// checked, and only then acted on; an ioctl payload is read into its V4L2 structure before its handler runs, and the
/// handler's typed answer is what the response carries. Which ioctls a device serves is its
/// <see cref="IoctlAllowlist"/>: one switch over <see cref="V4l2IoctlNumber"/> that names every member (the compiler
/// refuses a member without an arm); numbers the enum does not name are ENOTTY here, before the allowlist.
/// </summary>
internal sealed class CommandDispatcher : ICommandHandler
{
    /// <summary>Largest readable part of a command looked at: an ioctl header, CREATE_BUFS, and a 64 MiB QBUF's SG list.</summary>
    public static readonly int MaxRequestBytes = WireStruct.SizeOf<VirtioMediaIoctlCommand>() + WireStruct.SizeOf<V4l2CreateBuffers>() +
        (GuestSgList.MaxEntries * WireStruct.SizeOf<VirtioMediaSgEntry>());

    private const string Component = "virtio-media";

    private static readonly int IoctlCommandSize = WireStruct.SizeOf<VirtioMediaIoctlCommand>();

    private readonly DeviceState _state;
    private readonly IoctlAllowlist _allowlist;
    private readonly SharedMemoryWindow _window;
    private readonly MmapCommands _mmap;

    public CommandDispatcher(DeviceState state, IoctlAllowlist allowlist, SharedMemoryWindow window)
    {
        _state = state;
        _allowlist = allowlist;
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

        _allowlist.SessionClosed(close.SessionId);
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
            IoctlAllowlist.Refuse(response, request.Bytes[IoctlCommandSize..]);
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
        _allowlist.Dispatch(call, response);
    }

    /// <summary>Logs a malformed command (rate-limited) and answers it with <paramref name="errno"/> if there is room.</summary>
    internal static void Fault(CommandResponse response, string message, Errno errno)
    {
        Log.GuestFault(Component, "bad-command", message);
        response.Answer(errno);
    }
}
