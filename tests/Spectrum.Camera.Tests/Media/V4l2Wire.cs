using System.Text;
using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// The tests' byte-level view of what the device answers: the wire sizes and errno values as the virtio-media spec
/// states them, and assertions on raw answer bytes (every byte outside the named fields zero, NUL-terminated names).
/// Requests are built by <see cref="MediaRequests"/> from the Uapi structures.
/// </summary>
public static class V4l2Wire
{
    // Struct sizes on the wire (64-bit layouts), as constants for test attributes; the layout test ties them to the
    // structures (UapiWireSizeTests).
    public const int FmtDescSize = 64, FormatSize = 208, RequestBuffersSize = 20, BufferSize = 88, StreamParmSize = 204,
        InputSize = 80, FrmSizeEnumSize = 44, FrmIvalEnumSize = 52, CreateBuffersSize = 256, EventDqbufSize = 608;

    // Linux errno values as the response status carries them.
    public const uint EFAULT = 14, EBUSY = 16, EINVAL = 22, ENOTTY = 25, ENOBUFS = 105;

    public static readonly uint Yuyv = Fourcc("YUYV"), Nv12 = Fourcc("NV12"), Yu12 = Fourcc("YU12");

    public static uint Fourcc(string s) => s[0] | ((uint)s[1] << 8) | ((uint)s[2] << 16) | ((uint)s[3] << 24);

    public static uint U32(ReadOnlySpan<byte> s, int offset) => MediaGuestDriver.U32(s, offset);

    public static ulong U64(ReadOnlySpan<byte> s, int offset) => MediaGuestDriver.U64(s, offset);

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
        AssertWords(answer, (0, 1u, "type VIDEO_CAPTURE"), (8, width, "width"), (12, height, "height"), (16, pixelFormat, "pixelformat"),
            (20, 1u, "field NONE"), (24, BytesPerLine(pixelFormat, width), "bytesperline"),
            (28, PackedSize(pixelFormat, width, height), "sizeimage"), (32, 8u, "colorspace SRGB"), (36, 0xfeedcafeu, "priv PRIV_MAGIC"));
        // flags +40, ycbcr_enc +44, quantization +48, xfer_func +52 are 0 (defaults); the rest of the union too.
        AssertZeroOutside(answer, "v4l2_format", (0, 4), (8, 32));
    }
}
