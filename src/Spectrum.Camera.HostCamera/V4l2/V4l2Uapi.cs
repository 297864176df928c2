using System.Runtime.CompilerServices;
using MediaV4l2 = Spectrum.Camera.Uapi.V4l2;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Host.V4l2;

/// <summary>
/// The V4L2 values the host side uses (linux/videodev2.h) and the full ioctl request numbers, built like the kernel's
/// _IOR/_IOW/_IOWR macros from the V4L2 ioctl numbers and the sizes of the structs here. NativeLayoutTests compares
/// every constant and request number with gcc's view of the headers.
/// </summary>
internal static class V4l2Uapi
{
    public const uint CapVideoCapture = MediaV4l2.CapVideoCapture;
    public const uint CapVideoCaptureMplane = 0x00001000;
    public const uint CapStreaming = MediaV4l2.CapStreaming;
    public const uint CapDeviceCaps = 0x80000000;

    public const uint BufTypeVideoCapture = MediaV4l2.BufTypeVideoCapture;
    public const uint MemoryMmap = MediaV4l2.MemoryMmap;
    public const uint FieldAny = MediaV4l2.FieldAny;

    public const uint FmtFlagCompressed = 0x0001;
    public const uint FrmSizeTypeDiscrete = 1;
    public const uint FrmSizeTypeContinuous = 2;
    public const uint FrmSizeTypeStepwise = 3;
    public const uint FrmIvalTypeDiscrete = 1;
    public const uint FrmIvalTypeContinuous = 2;
    public const uint FrmIvalTypeStepwise = 3;

    public const uint CapTimePerFrame = MediaV4l2.CapTimePerFrame;
    public const uint BufFlagError = MediaV4l2.BufFlagError;

    // _IOC(dir, type, nr, size) = dir << 30 | size << 16 | type << 8 | nr (asm-generic/ioctl.h).
    private const uint IocWrite = 1;
    private const uint IocRead = 2;
    private const uint Type = 'V';

    public static readonly nuint QueryCap = Ioc(IocRead, V4l2IoctlNumber.QueryCap, Unsafe.SizeOf<V4l2Capability>());
    public static readonly nuint EnumFmt = Ioc(IocRead | IocWrite, V4l2IoctlNumber.EnumFmt, Unsafe.SizeOf<V4l2FmtDesc>());
    public static readonly nuint GFmt = Ioc(IocRead | IocWrite, V4l2IoctlNumber.GFmt, Unsafe.SizeOf<V4l2Format>());
    public static readonly nuint SFmt = Ioc(IocRead | IocWrite, V4l2IoctlNumber.SFmt, Unsafe.SizeOf<V4l2Format>());
    public static readonly nuint ReqBufs = Ioc(IocRead | IocWrite, V4l2IoctlNumber.ReqBufs, Unsafe.SizeOf<V4l2RequestBuffers>());
    public static readonly nuint QueryBuf = Ioc(IocRead | IocWrite, V4l2IoctlNumber.QueryBuf, Unsafe.SizeOf<V4l2Buffer>());
    public static readonly nuint QBuf = Ioc(IocRead | IocWrite, V4l2IoctlNumber.QBuf, Unsafe.SizeOf<V4l2Buffer>());
    public static readonly nuint DQBuf = Ioc(IocRead | IocWrite, V4l2IoctlNumber.DQBuf, Unsafe.SizeOf<V4l2Buffer>());
    public static readonly nuint StreamOn = Ioc(IocWrite, V4l2IoctlNumber.StreamOn, sizeof(int));
    public static readonly nuint StreamOff = Ioc(IocWrite, V4l2IoctlNumber.StreamOff, sizeof(int));
    public static readonly nuint GParm = Ioc(IocRead | IocWrite, V4l2IoctlNumber.GParm, Unsafe.SizeOf<V4l2StreamParm>());
    public static readonly nuint SParm = Ioc(IocRead | IocWrite, V4l2IoctlNumber.SParm, Unsafe.SizeOf<V4l2StreamParm>());
    public static readonly nuint EnumFrameSizes = Ioc(IocRead | IocWrite, V4l2IoctlNumber.EnumFrameSizes, Unsafe.SizeOf<V4l2FrmSizeEnum>());
    public static readonly nuint EnumFrameIntervals = Ioc(IocRead | IocWrite, V4l2IoctlNumber.EnumFrameIntervals, Unsafe.SizeOf<V4l2FrmIvalEnum>());

    /// <summary>Every request number by its header name, for the layout test.</summary>
    public static IReadOnlyList<(string Name, nuint Value)> Requests { get; } =
    [
        ("VIDIOC_QUERYCAP", QueryCap), ("VIDIOC_ENUM_FMT", EnumFmt), ("VIDIOC_G_FMT", GFmt), ("VIDIOC_S_FMT", SFmt),
        ("VIDIOC_REQBUFS", ReqBufs), ("VIDIOC_QUERYBUF", QueryBuf), ("VIDIOC_QBUF", QBuf), ("VIDIOC_DQBUF", DQBuf),
        ("VIDIOC_STREAMON", StreamOn), ("VIDIOC_STREAMOFF", StreamOff), ("VIDIOC_G_PARM", GParm),
        ("VIDIOC_S_PARM", SParm), ("VIDIOC_ENUM_FRAMESIZES", EnumFrameSizes),
        ("VIDIOC_ENUM_FRAMEINTERVALS", EnumFrameIntervals),
    ];

    /// <summary>Every constant by its header name, for the layout test.</summary>
    public static IReadOnlyList<(string Name, uint Value)> Constants { get; } =
    [
        ("V4L2_CAP_VIDEO_CAPTURE", CapVideoCapture), ("V4L2_CAP_VIDEO_CAPTURE_MPLANE", CapVideoCaptureMplane),
        ("V4L2_CAP_STREAMING", CapStreaming), ("V4L2_CAP_DEVICE_CAPS", CapDeviceCaps),
        ("V4L2_BUF_TYPE_VIDEO_CAPTURE", BufTypeVideoCapture), ("V4L2_MEMORY_MMAP", MemoryMmap),
        ("V4L2_FIELD_ANY", FieldAny), ("V4L2_FMT_FLAG_COMPRESSED", FmtFlagCompressed),
        ("V4L2_FRMSIZE_TYPE_DISCRETE", FrmSizeTypeDiscrete), ("V4L2_FRMSIZE_TYPE_CONTINUOUS", FrmSizeTypeContinuous),
        ("V4L2_FRMSIZE_TYPE_STEPWISE", FrmSizeTypeStepwise), ("V4L2_FRMIVAL_TYPE_DISCRETE", FrmIvalTypeDiscrete),
        ("V4L2_FRMIVAL_TYPE_CONTINUOUS", FrmIvalTypeContinuous), ("V4L2_FRMIVAL_TYPE_STEPWISE", FrmIvalTypeStepwise),
        ("V4L2_CAP_TIMEPERFRAME", CapTimePerFrame), ("V4L2_BUF_FLAG_ERROR", BufFlagError),
    ];

    private static nuint Ioc(uint direction, V4l2IoctlNumber number, int size) =>
        (direction << 30) | ((uint)size << 16) | (Type << 8) | (uint)number;
}
