using System.Runtime.CompilerServices;

namespace Spectrum.Camera.Uapi;

/// <summary>
/// Full ioctl request numbers for the V4L2 ioctls a host process issues on a device node, built like the kernel's
/// _IOR/_IOW/_IOWR macros (asm-generic/ioctl.h: dir &lt;&lt; 30 | size &lt;&lt; 16 | 'V' &lt;&lt; 8 | nr) from the ioctl
/// numbers and the sizes of the structures here. NativeLayoutTests compares each with the C header.
/// </summary>
public static class V4l2Requests
{
    private const uint IocWrite = 1;
    private const uint IocRead = 2;
    private const uint Type = 'V';

    public static readonly nuint QueryCap = Ioc(IocRead, V4l2IoctlNumber.QueryCap, Unsafe.SizeOf<V4l2Capability>());
    public static readonly nuint EnumFmt = Ioc(IocRead | IocWrite, V4l2IoctlNumber.EnumFmt, Unsafe.SizeOf<V4l2FmtDesc>());
    public static readonly nuint GFmt = Ioc(IocRead | IocWrite, V4l2IoctlNumber.GFmt, Unsafe.SizeOf<V4l2Format>());
    public static readonly nuint SFmt = Ioc(IocRead | IocWrite, V4l2IoctlNumber.SFmt, Unsafe.SizeOf<V4l2Format>());
    public static readonly nuint TryFmt = Ioc(IocRead | IocWrite, V4l2IoctlNumber.TryFmt, Unsafe.SizeOf<V4l2Format>());
    public static readonly nuint ReqBufs = Ioc(IocRead | IocWrite, V4l2IoctlNumber.ReqBufs, Unsafe.SizeOf<V4l2RequestBuffers>());
    public static readonly nuint CreateBufs = Ioc(IocRead | IocWrite, V4l2IoctlNumber.CreateBufs, Unsafe.SizeOf<V4l2CreateBuffers>());
    public static readonly nuint QueryBuf = Ioc(IocRead | IocWrite, V4l2IoctlNumber.QueryBuf, Unsafe.SizeOf<V4l2Buffer>());
    public static readonly nuint PrepareBuf = Ioc(IocRead | IocWrite, V4l2IoctlNumber.PrepareBuf, Unsafe.SizeOf<V4l2Buffer>());
    public static readonly nuint QBuf = Ioc(IocRead | IocWrite, V4l2IoctlNumber.QBuf, Unsafe.SizeOf<V4l2Buffer>());
    public static readonly nuint DQBuf = Ioc(IocRead | IocWrite, V4l2IoctlNumber.DQBuf, Unsafe.SizeOf<V4l2Buffer>());
    public static readonly nuint StreamOn = Ioc(IocWrite, V4l2IoctlNumber.StreamOn, sizeof(int));
    public static readonly nuint StreamOff = Ioc(IocWrite, V4l2IoctlNumber.StreamOff, sizeof(int));
    public static readonly nuint GParm = Ioc(IocRead | IocWrite, V4l2IoctlNumber.GParm, Unsafe.SizeOf<V4l2StreamParm>());
    public static readonly nuint SParm = Ioc(IocRead | IocWrite, V4l2IoctlNumber.SParm, Unsafe.SizeOf<V4l2StreamParm>());
    public static readonly nuint EnumInput = Ioc(IocRead | IocWrite, V4l2IoctlNumber.EnumInput, Unsafe.SizeOf<V4l2Input>());
    public static readonly nuint GInput = Ioc(IocRead, V4l2IoctlNumber.GInput, sizeof(int));
    public static readonly nuint SInput = Ioc(IocRead | IocWrite, V4l2IoctlNumber.SInput, sizeof(int));
    public static readonly nuint EnumOutput = Ioc(IocRead | IocWrite, V4l2IoctlNumber.EnumOutput, Unsafe.SizeOf<V4l2Output>());
    public static readonly nuint GOutput = Ioc(IocRead, V4l2IoctlNumber.GOutput, sizeof(int));
    public static readonly nuint SOutput = Ioc(IocRead | IocWrite, V4l2IoctlNumber.SOutput, sizeof(int));
    public static readonly nuint EnumFrameSizes = Ioc(IocRead | IocWrite, V4l2IoctlNumber.EnumFrameSizes, Unsafe.SizeOf<V4l2FrmSizeEnum>());
    public static readonly nuint EnumFrameIntervals = Ioc(IocRead | IocWrite, V4l2IoctlNumber.EnumFrameIntervals, Unsafe.SizeOf<V4l2FrmIvalEnum>());

    /// <summary>Every request number above by its header name, for the layout test.</summary>
    public static IReadOnlyList<(string Name, nuint Value)> All { get; } =
    [
        ("VIDIOC_QUERYCAP", QueryCap), ("VIDIOC_ENUM_FMT", EnumFmt), ("VIDIOC_G_FMT", GFmt), ("VIDIOC_S_FMT", SFmt),
        ("VIDIOC_TRY_FMT", TryFmt), ("VIDIOC_REQBUFS", ReqBufs), ("VIDIOC_CREATE_BUFS", CreateBufs),
        ("VIDIOC_QUERYBUF", QueryBuf), ("VIDIOC_PREPARE_BUF", PrepareBuf), ("VIDIOC_QBUF", QBuf), ("VIDIOC_DQBUF", DQBuf),
        ("VIDIOC_STREAMON", StreamOn), ("VIDIOC_STREAMOFF", StreamOff), ("VIDIOC_G_PARM", GParm), ("VIDIOC_S_PARM", SParm),
        ("VIDIOC_ENUMINPUT", EnumInput), ("VIDIOC_G_INPUT", GInput), ("VIDIOC_S_INPUT", SInput),
        ("VIDIOC_ENUMOUTPUT", EnumOutput), ("VIDIOC_G_OUTPUT", GOutput), ("VIDIOC_S_OUTPUT", SOutput),
        ("VIDIOC_ENUM_FRAMESIZES", EnumFrameSizes), ("VIDIOC_ENUM_FRAMEINTERVALS", EnumFrameIntervals),
    ];

    private static nuint Ioc(uint direction, V4l2IoctlNumber number, int size) =>
        (direction << 30) | ((uint)size << 16) | (Type << 8) | (uint)number;
}
