namespace Spectrum.Camera.Uapi;

/// <summary>
/// The V4L2 constants this project uses, with their linux/videodev2.h values. NativeLayoutTests compares every one
/// with the C header (by the header name in <see cref="HeaderNames"/>), so a typo here fails a test, not a guest.
/// </summary>
public static class V4l2
{
    public const uint CapVideoCapture = 0x00000001;
    public const uint CapVideoOutput = 0x00000002;
    public const uint CapVideoCaptureMplane = 0x00001000;
    public const uint CapExtPixFormat = 0x00200000;
    public const uint CapStreaming = 0x04000000;
    public const uint CapDeviceCaps = 0x80000000;

    public const uint BufTypeVideoCapture = 1;
    public const uint BufTypeVideoOutput = 2;
    public const uint BufTypeVideoCaptureMplane = 9;

    public const uint MemoryMmap = 1;
    public const uint MemoryUserPtr = 2;
    public const uint MemoryOverlay = 3;
    public const uint MemoryDmabuf = 4;

    public const uint FieldAny = 0;
    public const uint FieldNone = 1;

    public const uint ColorspaceSrgb = 8;
    public const uint PixFmtPrivMagic = 0xfeedcafe;
    public const uint FmtFlagCompressed = 0x0001;

    public const uint BufFlagMapped = 0x00000001;
    public const uint BufFlagQueued = 0x00000002;
    public const uint BufFlagDone = 0x00000004;
    public const uint BufFlagError = 0x00000040;
    public const uint BufFlagPrepared = 0x00000400;
    public const uint BufFlagTimestampMonotonic = 0x00002000;
    public const uint BufFlagTstampSrcEof = 0x00000000;
    public const uint BufFlagRequestFd = 0x00800000;

    public const uint BufCapSupportsMmap = 1u << 0;
    public const uint BufCapSupportsUserPtr = 1u << 1;
    public const uint BufCapSupportsOrphanedBufs = 1u << 4;

    public const uint FrmSizeTypeDiscrete = 1;
    public const uint FrmSizeTypeContinuous = 2;
    public const uint FrmSizeTypeStepwise = 3;
    public const uint FrmIvalTypeDiscrete = 1;
    public const uint FrmIvalTypeContinuous = 2;
    public const uint FrmIvalTypeStepwise = 3;

    public const uint CapTimePerFrame = 0x1000;

    public const uint InputTypeCamera = 2;
    public const uint OutputTypeAnalog = 2;

    public const uint CtrlTypeBoolean = 2;
    public const uint CtrlTypeCtrlClass = 6;
    public const uint CtrlFlagReadOnly = 0x0004;
    public const uint CtrlFlagWriteOnly = 0x0040;
    public const uint CtrlFlagNextCtrl = 0x80000000;
    public const uint CtrlFlagNextCompound = 0x40000000;
    public const uint CtrlIdMask = 0x0fffffff;
    public const uint CtrlClassUser = 0x00980000;
    public const uint CidUserClass = 0x00980001;
    public const uint CidUserBase = 0x00980900;
    public const uint CidPrivateBase = 0x08000000;
    public const uint CidMaxCtrls = 1024;
    public const uint CtrlWhichCurVal = 0;
    public const uint CtrlWhichDefVal = 0x0f000000;
    public const uint CtrlWhichRequestVal = 0x0f010000;

    public const uint EventAll = 0;
    public const uint EventCtrl = 3;
    public const uint EventCtrlChValue = 0x0001;
    public const uint EventCtrlChFlags = 0x0002;
    public const uint EventSubFlSendInitial = 0x0001;
    public const uint EventSubFlAllowFeedback = 0x0002;

    /// <summary>Every constant above by its C# name and its linux/videodev2.h name, for the layout test.</summary>
    public static IReadOnlyList<(string Name, string Header)> HeaderNames { get; } =
    [
        (nameof(CapVideoCapture), "V4L2_CAP_VIDEO_CAPTURE"), (nameof(CapVideoOutput), "V4L2_CAP_VIDEO_OUTPUT"),
        (nameof(CapVideoCaptureMplane), "V4L2_CAP_VIDEO_CAPTURE_MPLANE"), (nameof(CapExtPixFormat), "V4L2_CAP_EXT_PIX_FORMAT"),
        (nameof(CapStreaming), "V4L2_CAP_STREAMING"), (nameof(CapDeviceCaps), "V4L2_CAP_DEVICE_CAPS"),
        (nameof(BufTypeVideoCapture), "V4L2_BUF_TYPE_VIDEO_CAPTURE"), (nameof(BufTypeVideoOutput), "V4L2_BUF_TYPE_VIDEO_OUTPUT"),
        (nameof(BufTypeVideoCaptureMplane), "V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE"),
        (nameof(MemoryMmap), "V4L2_MEMORY_MMAP"), (nameof(MemoryUserPtr), "V4L2_MEMORY_USERPTR"),
        (nameof(MemoryOverlay), "V4L2_MEMORY_OVERLAY"), (nameof(MemoryDmabuf), "V4L2_MEMORY_DMABUF"),
        (nameof(FieldAny), "V4L2_FIELD_ANY"), (nameof(FieldNone), "V4L2_FIELD_NONE"),
        (nameof(ColorspaceSrgb), "V4L2_COLORSPACE_SRGB"), (nameof(PixFmtPrivMagic), "V4L2_PIX_FMT_PRIV_MAGIC"),
        (nameof(FmtFlagCompressed), "V4L2_FMT_FLAG_COMPRESSED"),
        (nameof(BufFlagMapped), "V4L2_BUF_FLAG_MAPPED"), (nameof(BufFlagQueued), "V4L2_BUF_FLAG_QUEUED"),
        (nameof(BufFlagDone), "V4L2_BUF_FLAG_DONE"), (nameof(BufFlagError), "V4L2_BUF_FLAG_ERROR"),
        (nameof(BufFlagPrepared), "V4L2_BUF_FLAG_PREPARED"), (nameof(BufFlagTimestampMonotonic), "V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC"),
        (nameof(BufFlagTstampSrcEof), "V4L2_BUF_FLAG_TSTAMP_SRC_EOF"), (nameof(BufFlagRequestFd), "V4L2_BUF_FLAG_REQUEST_FD"),
        (nameof(BufCapSupportsMmap), "V4L2_BUF_CAP_SUPPORTS_MMAP"), (nameof(BufCapSupportsUserPtr), "V4L2_BUF_CAP_SUPPORTS_USERPTR"),
        (nameof(BufCapSupportsOrphanedBufs), "V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS"),
        (nameof(FrmSizeTypeDiscrete), "V4L2_FRMSIZE_TYPE_DISCRETE"), (nameof(FrmSizeTypeContinuous), "V4L2_FRMSIZE_TYPE_CONTINUOUS"),
        (nameof(FrmSizeTypeStepwise), "V4L2_FRMSIZE_TYPE_STEPWISE"), (nameof(FrmIvalTypeDiscrete), "V4L2_FRMIVAL_TYPE_DISCRETE"),
        (nameof(FrmIvalTypeContinuous), "V4L2_FRMIVAL_TYPE_CONTINUOUS"), (nameof(FrmIvalTypeStepwise), "V4L2_FRMIVAL_TYPE_STEPWISE"),
        (nameof(CapTimePerFrame), "V4L2_CAP_TIMEPERFRAME"), (nameof(InputTypeCamera), "V4L2_INPUT_TYPE_CAMERA"),
        (nameof(OutputTypeAnalog), "V4L2_OUTPUT_TYPE_ANALOG"),
        (nameof(CtrlTypeBoolean), "V4L2_CTRL_TYPE_BOOLEAN"), (nameof(CtrlTypeCtrlClass), "V4L2_CTRL_TYPE_CTRL_CLASS"),
        (nameof(CtrlFlagReadOnly), "V4L2_CTRL_FLAG_READ_ONLY"), (nameof(CtrlFlagWriteOnly), "V4L2_CTRL_FLAG_WRITE_ONLY"),
        (nameof(CtrlFlagNextCtrl), "V4L2_CTRL_FLAG_NEXT_CTRL"), (nameof(CtrlFlagNextCompound), "V4L2_CTRL_FLAG_NEXT_COMPOUND"),
        (nameof(CtrlIdMask), "V4L2_CTRL_ID_MASK"), (nameof(CtrlClassUser), "V4L2_CTRL_CLASS_USER"),
        (nameof(CidUserClass), "V4L2_CID_USER_CLASS"), (nameof(CidUserBase), "V4L2_CID_USER_BASE"),
        (nameof(CidPrivateBase), "V4L2_CID_PRIVATE_BASE"),
        (nameof(CidMaxCtrls), "V4L2_CID_MAX_CTRLS"), (nameof(CtrlWhichCurVal), "V4L2_CTRL_WHICH_CUR_VAL"),
        (nameof(CtrlWhichDefVal), "V4L2_CTRL_WHICH_DEF_VAL"), (nameof(CtrlWhichRequestVal), "V4L2_CTRL_WHICH_REQUEST_VAL"),
        (nameof(EventAll), "V4L2_EVENT_ALL"), (nameof(EventCtrl), "V4L2_EVENT_CTRL"),
        (nameof(EventCtrlChValue), "V4L2_EVENT_CTRL_CH_VALUE"), (nameof(EventCtrlChFlags), "V4L2_EVENT_CTRL_CH_FLAGS"),
        (nameof(EventSubFlSendInitial), "V4L2_EVENT_SUB_FL_SEND_INITIAL"),
        (nameof(EventSubFlAllowFeedback), "V4L2_EVENT_SUB_FL_ALLOW_FEEDBACK"),
    ];
}
