using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The ioctls a device serves: one switch over <see cref="V4l2IoctlNumber"/> that names every member (the compiler
/// refuses a member without an arm), shared by both devices. Both serve the format, frame-interval and buffer ioctls
/// on their one queue; the capture device its one camera input, the output device its one output and the controls
/// with their events (<see cref="OutputControls"/>). Everything else is ENOTTY: buffers are not exported (no EXPBUF), DQBUF
/// and DQEVENT are answered by the guest driver from events, and there are no standards, selections or menus. QUERYCAP
/// is answered by the guest driver itself. The <see cref="CommandDispatcher"/> has found the session and checked that
/// the enum names the ioctl before it calls here.
/// </summary>
internal sealed class IoctlAllowlist
{
    private readonly DeviceState _state;
    private readonly FormatIoctls _formats;
    private readonly ParameterIoctls _parameters;
    private readonly OutputControls? _controls;

    /// <param name="controls">The output device's controls; null on the capture device, which has none.</param>
    public IoctlAllowlist(DeviceState state, BufferIoctls buffers, OutputControls? controls = null)
    {
        _state = state;
        _formats = new FormatIoctls(state);
        _parameters = new ParameterIoctls(state);
        _controls = controls;
        Buffers = buffers;
    }

    public BufferIoctls Buffers { get; }

    private bool IsCapture => !_state.IsOutput;

    /// <summary>Answers one named ioctl: served by its handler, or ENOTTY.</summary>
    public void Dispatch(in IoctlCall call, CommandResponse response)
    {
        // CS8509 (a named member without an arm) stays an error; CS8524 is about unnamed values, answered before this.
#pragma warning disable CS8524
        _ = call.Code switch
        {
            V4l2IoctlNumber.EnumFmt => Serve<V4l2FmtDesc, V4l2FmtDesc>(call, response, static (t, in c, in q, out a) => t._formats.Enumerate(q, out a)),
            V4l2IoctlNumber.GFmt => Serve<V4l2Format, V4l2Format>(call, response, static (t, in c, in q, out a) => t._formats.Get(q, out a)),
            V4l2IoctlNumber.SFmt => Serve<V4l2Format, V4l2Format>(call, response, static (t, in c, in q, out a) => t._formats.Set(q, out a)),
            V4l2IoctlNumber.TryFmt => Serve<V4l2Format, V4l2Format>(call, response, static (t, in c, in q, out a) => t._formats.Try(q, out a)),
            V4l2IoctlNumber.EnumFrameSizes =>
                Serve<V4l2FrmSizeEnum, V4l2FrmSizeEnum>(call, response, static (t, in c, in q, out a) => t._formats.EnumerateSizes(q, out a)),
            V4l2IoctlNumber.EnumFrameIntervals =>
                Serve<V4l2FrmIvalEnum, V4l2FrmIvalEnum>(call, response, static (t, in c, in q, out a) => t._formats.EnumerateIntervals(q, out a)),
            V4l2IoctlNumber.GParm => Serve<V4l2StreamParm, V4l2StreamParm>(call, response, static (t, in c, in q, out a) => t._parameters.Get(q, out a)),
            V4l2IoctlNumber.SParm => Serve<V4l2StreamParm, V4l2StreamParm>(call, response, static (t, in c, in q, out a) => t._parameters.Set(q, out a)),
            V4l2IoctlNumber.ReqBufs =>
                Serve<V4l2RequestBuffers, V4l2RequestBuffers>(call, response, static (t, in c, in q, out a) => t.Buffers.RequestBuffers(c, q, out a)),
            V4l2IoctlNumber.CreateBufs =>
                Serve<V4l2CreateBuffers, V4l2CreateBuffers>(call, response, static (t, in c, in q, out a) => t.Buffers.CreateBuffers(c, q, out a)),
            V4l2IoctlNumber.QueryBuf => Serve<V4l2Buffer, V4l2Buffer>(call, response, static (t, in c, in q, out a) => t.Buffers.QueryBuffer(q, out a)),
            V4l2IoctlNumber.PrepareBuf => Serve<V4l2Buffer, V4l2Buffer>(call, response, static (t, in c, in q, out a) => t.Buffers.PrepareBuffer(c, q, out a)),
            V4l2IoctlNumber.QBuf => Serve<V4l2Buffer, V4l2Buffer>(call, response, static (t, in c, in q, out a) => t.Buffers.QueueBuffer(c, q, out a)),
            V4l2IoctlNumber.StreamOn => Serve<uint, NoPayload>(call, response, static (t, in c, in q, out a) => t.Buffers.StreamOn(c, q, out a)),
            V4l2IoctlNumber.StreamOff => Serve<uint, NoPayload>(call, response, static (t, in c, in q, out a) => t.Buffers.StreamOff(c, q, out a)),

            V4l2IoctlNumber.EnumInput => IsCapture
                ? Serve<V4l2Input, V4l2Input>(call, response, static (t, in c, in q, out a) => ParameterIoctls.EnumerateInputs(q, out a))
                : Refuse(response, call.Payload),
            V4l2IoctlNumber.GInput => IsCapture
                ? Serve<NoPayload, uint>(call, response, static (t, in c, in q, out a) => ParameterIoctls.GetInput(out a))
                : Refuse(response, call.Payload),
            V4l2IoctlNumber.SInput => IsCapture
                ? Serve<uint, uint>(call, response, static (t, in c, in q, out a) => ParameterIoctls.SetInput(q, out a))
                : Refuse(response, call.Payload),
            V4l2IoctlNumber.EnumOutput => IsCapture
                ? Refuse(response, call.Payload)
                : Serve<V4l2Output, V4l2Output>(call, response, static (t, in c, in q, out a) => ParameterIoctls.EnumerateOutputs(q, out a)),
            V4l2IoctlNumber.GOutput => IsCapture
                ? Refuse(response, call.Payload)
                : Serve<NoPayload, uint>(call, response, static (t, in c, in q, out a) => ParameterIoctls.GetOutput(out a)),
            V4l2IoctlNumber.SOutput => IsCapture
                ? Refuse(response, call.Payload)
                : Serve<uint, uint>(call, response, static (t, in c, in q, out a) => ParameterIoctls.SetOutput(q, out a)),

            V4l2IoctlNumber.QueryCtrl => _controls is null
                ? Refuse(response, call.Payload)
                : Serve<V4l2QueryCtrl, V4l2QueryCtrl>(call, response, static (t, in c, in q, out a) => OutputControls.Query(q, out a)),
            V4l2IoctlNumber.QueryExtCtrl => _controls is null
                ? Refuse(response, call.Payload)
                : Serve<V4l2QueryExtCtrl, V4l2QueryExtCtrl>(call, response, static (t, in c, in q, out a) => OutputControls.QueryExtended(q, out a)),
            V4l2IoctlNumber.GCtrl => _controls is null
                ? Refuse(response, call.Payload)
                : Serve<V4l2Control, V4l2Control>(call, response, static (t, in c, in q, out a) => t._controls!.Get(q, out a)),
            V4l2IoctlNumber.SCtrl => _controls is null
                ? Refuse(response, call.Payload)
                : Serve<V4l2Control, V4l2Control>(call, response, static (t, in c, in q, out a) => OutputControls.Set(q, out a)),
            V4l2IoctlNumber.GExtCtrls => _controls?.ServeExtended(call, response, OutputControls.ExtAccess.Get) ?? Refuse(response, call.Payload),
            V4l2IoctlNumber.TryExtCtrls => _controls?.ServeExtended(call, response, OutputControls.ExtAccess.Try) ?? Refuse(response, call.Payload),
            V4l2IoctlNumber.SExtCtrls => _controls?.ServeExtended(call, response, OutputControls.ExtAccess.Set) ?? Refuse(response, call.Payload),
            V4l2IoctlNumber.SubscribeEvent => _controls is null
                ? Refuse(response, call.Payload)
                : Serve<V4l2EventSubscription, NoPayload>(call, response, static (t, in c, in q, out a) => t._controls!.Subscribe(c, q, out a)),
            V4l2IoctlNumber.UnsubscribeEvent => _controls is null
                ? Refuse(response, call.Payload)
                : Serve<V4l2EventSubscription, NoPayload>(call, response, static (t, in c, in q, out a) => OutputControls.Unsubscribe(c, q, out a)),

            V4l2IoctlNumber.QueryCap or V4l2IoctlNumber.ExpBuf or V4l2IoctlNumber.DQBuf or V4l2IoctlNumber.GStd or
                V4l2IoctlNumber.SStd or V4l2IoctlNumber.EnumStd or V4l2IoctlNumber.QueryMenu or V4l2IoctlNumber.DQEvent or
                V4l2IoctlNumber.GSelection or V4l2IoctlNumber.SSelection => Refuse(response, call.Payload),
        };
#pragma warning restore CS8524
    }

    /// <summary>The session closed: its stream stops and the queue is freed if it owned it; its control events are withdrawn.</summary>
    public void SessionClosed(uint sessionId)
    {
        Buffers.ReleaseIfOwner(sessionId);
        _controls?.SessionClosed(sessionId);
    }

    /// <summary>
    /// An ioctl this device does not serve: ENOTTY, as V4L2 answers it, with the driver's payload written back unchanged
    /// where the chain has room for it (a WR ioctl). virtio 1.4 §5.22 lets a failed ioctl carry its payload; the upstream
    /// driver turns a header-only ENOTTY to G/S/TRY_EXT_CTRLS into EINVAL, and reports the ENOTTY when the payload comes
    /// back.
    /// </summary>
    internal static bool Refuse(CommandResponse response, ReadOnlySpan<byte> payload)
    {
        response.AnswerEcho(Errno.ENOTTY, payload);
        return false;
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
            CommandDispatcher.Fault(response, $"{call.Code.Name()} payload is {call.Payload.Length} bytes, needs {requestSize}", Errno.EINVAL);
            return false;
        }

        var answerSize = NoPayload.SizeOf<TAnswer>();
        if (!response.HasRoomFor(answerSize))
        {
            CommandDispatcher.Fault(response, $"{call.Code.Name()} response area of {response.Capacity} bytes is too small", Errno.EINVAL);
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
}
