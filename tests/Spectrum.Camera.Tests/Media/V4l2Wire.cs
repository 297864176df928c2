using System.Text;
using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// The guest's side of the V4L2 payloads, written from the 64-bit UAPI offsets in virtio-media.md §4.6 and
/// linux/videodev2.h, independently of the device's encoders, so the tests check the wire rather than agree with it.
/// </summary>
public static class V4l2Wire
{
    // _IOC_NR of the ioctls (virtio-media.md §4.7).
    public const uint QueryCap = 0, EnumFmt = 2, GFmt = 4, SFmt = 5, ReqBufs = 8, QueryBuf = 9, QBuf = 15, ExpBuf = 16,
        DQBuf = 17, StreamOn = 18, StreamOff = 19, GParm = 21, SParm = 22, GStd = 23, SStd = 24, EnumStd = 25, EnumInput = 26,
        GCtrl = 27, SCtrl = 28, QueryCtrl = 36, GInput = 38, SInput = 39, TryFmt = 64, GExtCtrls = 71, SExtCtrls = 72,
        EnumFrameSizes = 74, EnumFrameIntervals = 75, DQEvent = 89, SubscribeEvent = 90, CreateBufs = 92, PrepareBuf = 93,
        GSelection = 94, QueryExtCtrl = 103, RemoveBufs = 104;

    // Struct sizes on the wire.
    public const int FmtDescSize = 64, FormatSize = 208, RequestBuffersSize = 20, BufferSize = 88, StreamParmSize = 204,
        InputSize = 80, FrmSizeEnumSize = 44, FrmIvalEnumSize = 52, CreateBuffersSize = 256, EventDqbufSize = 608;

    // Linux errno values.
    public const uint EFAULT = 14, EBUSY = 16, EINVAL = 22, ENOTTY = 25, ENOBUFS = 105;

    public const uint TypeCapture = 1, TypeOutput = 2, TypeCaptureMplane = 9;
    public const uint MemoryMmap = 1, MemoryUserPtr = 2, MemoryDmabuf = 4;
    public const uint FieldNone = 1, ColorspaceSrgb = 8, PrivMagic = 0xfeedcafe;
    public const uint FlagQueued = 0x2, FlagError = 0x40, FlagPrepared = 0x400, FlagTimestampMonotonic = 0x2000,
        FlagRequestFd = 0x00800000;
    public const uint CapVideoCapture = 0x1, CapExtPixFormat = 0x00200000, CapStreaming = 0x04000000, CapTimePerFrame = 0x1000;
    public const uint BufCapSupportsUserPtr = 0x2;
    public const uint InputTypeCamera = 2, FrmTypeDiscrete = 1;

    public static readonly uint Yuyv = Fourcc("YUYV"), Nv12 = Fourcc("NV12"), Yu12 = Fourcc("YU12");

    public static uint Fourcc(string s) => s[0] | ((uint)s[1] << 8) | ((uint)s[2] << 16) | ((uint)s[3] << 24);

    public static uint U32(ReadOnlySpan<byte> s, int offset) => MediaGuestDriver.U32(s, offset);

    public static ulong U64(ReadOnlySpan<byte> s, int offset) => MediaGuestDriver.U64(s, offset);

    public static byte[] Word(uint value)
    {
        var b = new byte[4];
        MediaGuestDriver.Put(b, 0, value);
        return b;
    }

    /// <summary>v4l2_fmtdesc: index +0, type +4.</summary>
    public static byte[] FmtDesc(uint index, uint type = TypeCapture) => Fields(FmtDescSize, (0, index), (4, type));

    /// <summary>v4l2_format: type +0, v4l2_pix_format at +8 (width, height, pixelformat, field +12 from there).</summary>
    public static byte[] Format(uint width, uint height, uint pixelFormat, uint type = TypeCapture) =>
        Fields(FormatSize, (0, type), (8, width), (12, height), (16, pixelFormat), (20, FieldNone));

    /// <summary>v4l2_requestbuffers: count +0, type +4, memory +8.</summary>
    public static byte[] ReqBufsRequest(uint count, uint memory = MemoryUserPtr, uint type = TypeCapture) =>
        Fields(RequestBuffersSize, (0, count), (4, type), (8, memory));

    /// <summary>v4l2_create_buffers: count +4, memory +8, format +16.</summary>
    public static byte[] CreateBufsRequest(uint count, byte[] format, uint memory = MemoryUserPtr)
    {
        var b = Fields(CreateBuffersSize, (4, count), (8, memory));
        format.CopyTo(b, 16);
        return b;
    }

    /// <summary>v4l2_buffer: index +0, type +4, flags +12, memory +60, m.userptr +64, length +72.</summary>
    public static byte[] Buffer(uint index, ulong userPtr, uint length, uint type = TypeCapture, uint memory = MemoryUserPtr, uint flags = 0)
    {
        var b = Fields(BufferSize, (0, index), (4, type), (12, flags), (60, memory), (72, length));
        MediaGuestDriver.Put64(b, 64, userPtr);
        return b;
    }

    /// <summary>v4l2_streamparm: type +0, captureparm.timeperframe at +12 (numerator) and +16 (denominator).</summary>
    public static byte[] StreamParm(uint numerator, uint denominator, uint type = TypeCapture) =>
        Fields(StreamParmSize, (0, type), (12, numerator), (16, denominator));

    /// <summary>v4l2_frmsizeenum: index +0, pixel_format +4.</summary>
    public static byte[] FrmSizeEnum(uint index, uint pixelFormat) => Fields(FrmSizeEnumSize, (0, index), (4, pixelFormat));

    /// <summary>v4l2_frmivalenum: index +0, pixel_format +4, width +8, height +12.</summary>
    public static byte[] FrmIvalEnum(uint index, uint pixelFormat, uint width, uint height) =>
        Fields(FrmIvalEnumSize, (0, index), (4, pixelFormat), (8, width), (12, height));

    /// <summary>v4l2_input: index +0.</summary>
    public static byte[] InputRequest(uint index) => Fields(InputSize, (0, index));

    /// <summary>SG entries: le64 start, le32 len, le32 reserved.</summary>
    public static byte[] SgList(params (ulong Start, uint Length)[] entries)
    {
        var b = new byte[16 * entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            MediaGuestDriver.Put64(b, 16 * i, entries[i].Start);
            MediaGuestDriver.Put(b, (16 * i) + 8, entries[i].Length);
        }

        return b;
    }

    /// <summary>
    /// Asserts that every byte of <paramref name="answer"/> outside the listed (offset, size) fields is zero: reserved
    /// fields, padding and unused union bytes must never carry anything.
    /// </summary>
    public static void AssertZeroOutside(ReadOnlySpan<byte> answer, string what, params (int Offset, int Size)[] fields)
    {
        var allowed = new bool[answer.Length];
        foreach (var (offset, size) in fields)
        {
            Array.Fill(allowed, true, offset, size);
        }

        for (var i = 0; i < answer.Length; i++)
        {
            if (!allowed[i] && answer[i] != 0)
            {
                Assert.Fail($"{what}: byte {i} (outside every field) is 0x{answer[i]:x2}, not 0");
            }
        }
    }

    /// <summary>Asserts each listed le32 field of <paramref name="answer"/> (offset, expected value, name) in one go.</summary>
    public static void AssertWords(ReadOnlySpan<byte> answer, params (int Offset, uint Expected, string Name)[] fields)
    {
        var actual = new uint[fields.Length];
        for (var i = 0; i < fields.Length; i++)
        {
            actual[i] = U32(answer, fields[i].Offset);
        }

        Assert.Multiple(() =>
        {
            for (var i = 0; i < fields.Length; i++)
            {
                Assert.That(actual[i], Is.EqualTo(fields[i].Expected), $"{fields[i].Name} (+{fields[i].Offset})");
            }
        });
    }

    /// <summary>A NUL-terminated ASCII string field of <paramref name="capacity"/> bytes, with zeros after the NUL.</summary>
    public static string CString(ReadOnlySpan<byte> field, int capacity)
    {
        var s = field[..capacity];
        var nul = s.IndexOf((byte)0);
        Assert.That(nul, Is.GreaterThanOrEqualTo(0), "string field is not NUL-terminated");
        Assert.That(s[nul..].ContainsAnyExcept((byte)0), Is.False, "bytes after the NUL are not zero");
        return Encoding.ASCII.GetString(s[..nul]);
    }

    /// <summary>The packed frame size of a raw format (no row padding): YUYV 2 bytes a pixel, NV12 and YU12 1.5.</summary>
    public static uint PackedSize(uint pixelFormat, uint width, uint height) =>
        pixelFormat == Yuyv ? width * height * 2 : width * height * 3 / 2;

    public static uint BytesPerLine(uint pixelFormat, uint width) => pixelFormat == Yuyv ? width * 2 : width;

    /// <summary>Checks a whole v4l2_format answer: exact pix fields for the format, zero everywhere else.</summary>
    public static void AssertFormat(byte[] answer, uint pixelFormat, uint width, uint height)
    {
        Assert.That(answer, Has.Length.EqualTo(FormatSize));
        AssertWords(answer, (0, TypeCapture, "type"), (8, width, "width"), (12, height, "height"), (16, pixelFormat, "pixelformat"),
            (20, FieldNone, "field"), (24, BytesPerLine(pixelFormat, width), "bytesperline"),
            (28, PackedSize(pixelFormat, width, height), "sizeimage"), (32, ColorspaceSrgb, "colorspace"), (36, PrivMagic, "priv"));
        // flags +40, ycbcr_enc +44, quantization +48, xfer_func +52 are 0 (defaults); the rest of the union too.
        AssertZeroOutside(answer, "v4l2_format", (0, 4), (8, 32));
    }

    private static byte[] Fields(int size, params (int Offset, uint Value)[] fields)
    {
        var b = new byte[size];
        foreach (var (offset, value) in fields)
        {
            MediaGuestDriver.Put(b, offset, value);
        }

        return b;
    }
}
