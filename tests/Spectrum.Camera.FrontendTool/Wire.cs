using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.FrontendTool;

/// <summary>
/// The few V4L2 payloads a USERPTR capture client sends, with the 64-bit UAPI offsets (a subset of
/// tests/Spectrum.Camera.Tests/Media/V4l2Wire.cs, which this executable cannot reference).
/// </summary>
internal static class Wire
{
    // _IOC_NR of the ioctls (virtio-media.md §4.7).
    public const uint QueryCap = 0, SFmt = 5, ReqBufs = 8, QBuf = 15, StreamOn = 18, StreamOff = 19, SParm = 22;

    public const int FormatSize = 208, RequestBuffersSize = 20, BufferSize = 88, StreamParmSize = 204, CapabilitySize = 104;

    public const uint EventError = 0, EventDqbuf = 1, EventV4l2 = 2;
    public const int EventDqbufSize = 608;

    public const uint TypeCapture = 1, MemoryUserPtr = 2, FieldNone = 1;
    public const uint FlagError = 0x40;

    public static uint Fourcc(string s) =>
        s.Length == 4 ? s[0] | ((uint)s[1] << 8) | ((uint)s[2] << 16) | ((uint)s[3] << 24)
            : throw new FormatException($"a fourcc has 4 characters, not '{s}'");

    public static string FourccText(uint v) =>
        new([(char)(v & 0xff), (char)((v >> 8) & 0xff), (char)((v >> 16) & 0xff), (char)(v >> 24)]);

    public static uint U32(ReadOnlySpan<byte> s, int offset) => MediaGuestDriver.U32(s, offset);

    public static ulong U64(ReadOnlySpan<byte> s, int offset) => MediaGuestDriver.U64(s, offset);

    public static byte[] Word(uint value) => Fields(4, (0, value));

    /// <summary>v4l2_format: type +0, v4l2_pix_format at +8 (width, height, pixelformat, field).</summary>
    public static byte[] Format(uint width, uint height, uint pixelFormat) =>
        Fields(FormatSize, (0, TypeCapture), (8, width), (12, height), (16, pixelFormat), (20, FieldNone));

    /// <summary>v4l2_requestbuffers: count +0, type +4, memory +8.</summary>
    public static byte[] ReqBufsRequest(uint count) => Fields(RequestBuffersSize, (0, count), (4, TypeCapture), (8, MemoryUserPtr));

    /// <summary>v4l2_buffer: index +0, type +4, memory +60, m.userptr +64, length +72.</summary>
    public static byte[] Buffer(uint index, ulong userPtr, uint length)
    {
        var b = Fields(BufferSize, (0, index), (4, TypeCapture), (60, MemoryUserPtr), (72, length));
        MediaGuestDriver.Put64(b, 64, userPtr);
        return b;
    }

    /// <summary>v4l2_streamparm: type +0, captureparm.timeperframe at +12 (numerator) and +16 (denominator).</summary>
    public static byte[] StreamParm(uint numerator, uint denominator) =>
        Fields(StreamParmSize, (0, TypeCapture), (12, numerator), (16, denominator));

    /// <summary>A distinct m.userptr cookie per buffer (the device echoes it).</summary>
    public static ulong UserPtrOf(int index) => 0x7F00_0000_0000UL + ((ulong)index << 24);

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
