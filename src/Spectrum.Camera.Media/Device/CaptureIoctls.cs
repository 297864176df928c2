using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The capture device's allowlist: the stream ioctls on its VIDEO_CAPTURE queue and the one camera input. Every other
/// named ioctl is ENOTTY: buffers are USERPTR (no EXPBUF), DQBUF travels as an event, and the camera has no controls,
/// standards, selections, outputs or V4L2 events. QUERYCAP is answered by the guest driver itself.
/// </summary>
internal sealed class CaptureIoctls(StreamIoctls stream) : IIoctlAllowlist
{
    public void Dispatch(in IoctlCall call, CommandResponse response)
    {
        // CS8509 (a named member without an arm) stays an error; CS8524 is about unnamed values, answered before this.
#pragma warning disable CS8524
        _ = call.Code switch
        {
            V4l2IoctlNumber.EnumFmt or V4l2IoctlNumber.GFmt or V4l2IoctlNumber.SFmt or V4l2IoctlNumber.TryFmt or
                V4l2IoctlNumber.EnumFrameSizes or V4l2IoctlNumber.EnumFrameIntervals or V4l2IoctlNumber.GParm or
                V4l2IoctlNumber.SParm or V4l2IoctlNumber.ReqBufs or V4l2IoctlNumber.CreateBufs or V4l2IoctlNumber.QueryBuf or
                V4l2IoctlNumber.PrepareBuf or V4l2IoctlNumber.QBuf or V4l2IoctlNumber.StreamOn or
                V4l2IoctlNumber.StreamOff => Stream(call, response),
            V4l2IoctlNumber.EnumInput =>
                Serve<V4l2Input, V4l2Input>(call, response, static (t, in c, in q, out a) => ParameterIoctls.EnumerateInputs(q, out a)),
            V4l2IoctlNumber.GInput => Serve<NoPayload, uint>(call, response, static (t, in c, in q, out a) => ParameterIoctls.GetInput(out a)),
            V4l2IoctlNumber.SInput => Serve<uint, uint>(call, response, static (t, in c, in q, out a) => ParameterIoctls.SetInput(q, out a)),
            V4l2IoctlNumber.QueryCap or V4l2IoctlNumber.ExpBuf or V4l2IoctlNumber.DQBuf or V4l2IoctlNumber.GStd or
                V4l2IoctlNumber.SStd or V4l2IoctlNumber.EnumStd or V4l2IoctlNumber.GCtrl or V4l2IoctlNumber.SCtrl or
                V4l2IoctlNumber.QueryCtrl or V4l2IoctlNumber.QueryMenu or V4l2IoctlNumber.GOutput or V4l2IoctlNumber.SOutput or
                V4l2IoctlNumber.EnumOutput or V4l2IoctlNumber.GExtCtrls or V4l2IoctlNumber.SExtCtrls or
                V4l2IoctlNumber.TryExtCtrls or V4l2IoctlNumber.DQEvent or V4l2IoctlNumber.SubscribeEvent or
                V4l2IoctlNumber.UnsubscribeEvent or V4l2IoctlNumber.GSelection or V4l2IoctlNumber.SSelection or
                V4l2IoctlNumber.QueryExtCtrl => TypedIoctl.Refuse(response),
        };
#pragma warning restore CS8524
    }

    public void SessionClosed(uint sessionId) => stream.Buffers.ReleaseIfOwner(sessionId);

    private bool Stream(in IoctlCall call, CommandResponse response)
    {
        stream.Serve(call, response);
        return true;
    }

    private bool Serve<TRequest, TAnswer>(in IoctlCall call, CommandResponse response, IoctlHandler<CaptureIoctls, TRequest, TAnswer> handler)
        where TRequest : unmanaged
        where TAnswer : unmanaged => TypedIoctl.Serve(this, call, response, handler);
}
