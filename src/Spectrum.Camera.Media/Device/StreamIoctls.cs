using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The ioctls both devices serve on their one queue, whichever its direction: formats, the frame interval and the
/// buffers. A device's allowlist hands these to <see cref="Serve"/> and answers the rest itself.
/// </summary>
internal sealed class StreamIoctls
{
    private readonly FormatIoctls _formats;
    private readonly ParameterIoctls _parameters;

    public StreamIoctls(DeviceState state, BufferIoctls buffers)
    {
        _formats = new FormatIoctls(state);
        _parameters = new ParameterIoctls(state);
        Buffers = buffers;
    }

    public BufferIoctls Buffers { get; }

    /// <summary>Answers one of the stream ioctls (an allowlist hands over no other).</summary>
    public void Serve(in IoctlCall call, CommandResponse response)
    {
        _ = call.Code switch
        {
            V4l2IoctlNumber.EnumFmt => Serve<V4l2FmtDesc, V4l2FmtDesc>(call, response, static (s, in c, in q, out a) => s._formats.Enumerate(q, out a)),
            V4l2IoctlNumber.GFmt => Serve<V4l2Format, V4l2Format>(call, response, static (s, in c, in q, out a) => s._formats.Get(q, out a)),
            V4l2IoctlNumber.SFmt => Serve<V4l2Format, V4l2Format>(call, response, static (s, in c, in q, out a) => s._formats.Set(q, out a)),
            V4l2IoctlNumber.TryFmt => Serve<V4l2Format, V4l2Format>(call, response, static (s, in c, in q, out a) => s._formats.Try(q, out a)),
            V4l2IoctlNumber.EnumFrameSizes =>
                Serve<V4l2FrmSizeEnum, V4l2FrmSizeEnum>(call, response, static (s, in c, in q, out a) => s._formats.EnumerateSizes(q, out a)),
            V4l2IoctlNumber.EnumFrameIntervals =>
                Serve<V4l2FrmIvalEnum, V4l2FrmIvalEnum>(call, response, static (s, in c, in q, out a) => s._formats.EnumerateIntervals(q, out a)),
            V4l2IoctlNumber.GParm => Serve<V4l2StreamParm, V4l2StreamParm>(call, response, static (s, in c, in q, out a) => s._parameters.Get(q, out a)),
            V4l2IoctlNumber.SParm => Serve<V4l2StreamParm, V4l2StreamParm>(call, response, static (s, in c, in q, out a) => s._parameters.Set(q, out a)),
            V4l2IoctlNumber.ReqBufs =>
                Serve<V4l2RequestBuffers, V4l2RequestBuffers>(call, response, static (s, in c, in q, out a) => s.Buffers.RequestBuffers(c, q, out a)),
            V4l2IoctlNumber.CreateBufs =>
                Serve<V4l2CreateBuffers, V4l2CreateBuffers>(call, response, static (s, in c, in q, out a) => s.Buffers.CreateBuffers(c, q, out a)),
            V4l2IoctlNumber.QueryBuf => Serve<V4l2Buffer, V4l2Buffer>(call, response, static (s, in c, in q, out a) => s.Buffers.QueryBuffer(q, out a)),
            V4l2IoctlNumber.PrepareBuf => Serve<V4l2Buffer, V4l2Buffer>(call, response, static (s, in c, in q, out a) => s.Buffers.PrepareBuffer(c, q, out a)),
            V4l2IoctlNumber.QBuf => Serve<V4l2Buffer, V4l2Buffer>(call, response, static (s, in c, in q, out a) => s.Buffers.QueueBuffer(c, q, out a)),
            V4l2IoctlNumber.StreamOn => Serve<uint, NoPayload>(call, response, static (s, in c, in q, out a) => s.Buffers.StreamOn(c, q, out a)),
            V4l2IoctlNumber.StreamOff => Serve<uint, NoPayload>(call, response, static (s, in c, in q, out a) => s.Buffers.StreamOff(c, q, out a)),
            _ => throw new InvalidOperationException($"{call.Code.Name()} is not a stream ioctl"),
        };
    }

    private bool Serve<TRequest, TAnswer>(in IoctlCall call, CommandResponse response, IoctlHandler<StreamIoctls, TRequest, TAnswer> handler)
        where TRequest : unmanaged
        where TAnswer : unmanaged => TypedIoctl.Serve(this, call, response, handler);
}
