namespace Spectrum.Camera.Uapi;

/// <summary>The V4L2 UAPI values this device uses (linux/videodev2.h, 64-bit layouts).</summary>
public static class V4l2
{
    public const uint CapVideoCapture = 0x00000001;
    public const uint CapExtPixFormat = 0x00200000;
    public const uint CapStreaming = 0x04000000;

    public const uint BufTypeVideoCapture = 1;
    public const uint BufTypeVideoCaptureMplane = 9;

    public const uint MemoryMmap = 1;
    public const uint MemoryUserPtr = 2;
    public const uint MemoryOverlay = 3;
    public const uint MemoryDmabuf = 4;

    public const uint FieldAny = 0;
    public const uint FieldNone = 1;

    public const uint ColorspaceSrgb = 8;
    public const uint PixFmtPrivMagic = 0xfeedcafe;

    public const uint BufFlagMapped = 0x00000001;
    public const uint BufFlagQueued = 0x00000002;
    public const uint BufFlagDone = 0x00000004;
    public const uint BufFlagError = 0x00000040;
    public const uint BufFlagPrepared = 0x00000400;
    public const uint BufFlagTimestampMonotonic = 0x00002000;
    public const uint BufFlagTstampSrcEof = 0x00000000;

    public const uint BufCapSupportsUserPtr = 1u << 1;
    public const uint BufCapSupportsOrphanedBufs = 1u << 4;

    public const uint FrmSizeTypeDiscrete = 1;
    public const uint FrmIvalTypeDiscrete = 1;

    public const uint CapTimePerFrame = 0x1000;

    public const uint InputTypeCamera = 2;

    /// <summary>Most buffers one queue may have (the brief's limit; vb2's own maximum is 64 on 6.1).</summary>
    public const uint MaxBuffers = 32;

    /// <summary>Struct sizes on the wire (virtio-media.md §4.6).</summary>
    public const int BufferSize = 88;
    public const int FormatSize = 208;
    public const int FmtDescSize = 64;
    public const int FrmSizeEnumSize = 44;
    public const int FrmIvalEnumSize = 52;
    public const int StreamParmSize = 204;
    public const int InputSize = 80;
    public const int RequestBuffersSize = 20;
    public const int CreateBuffersSize = 256;
}
