using System.Buffers.Binary;
using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Bench.Device;

/// <summary>
/// The guest's V4L2 payloads the benchmarks send, encoded from the 64-bit UAPI offsets (virtio-media.md §4.6) as the
/// test suite's wire helpers do: only what streaming needs.
/// </summary>
internal static class GuestRequests
{
    // _IOC_NR of the ioctls used here.
    public const uint GFmt = 4, SFmt = 5, ReqBufs = 8, QBuf = 15, StreamOn = 18, StreamOff = 19;

    public const int FormatSize = 208, RequestBuffersSize = 20, BufferSize = 88, EventDqbufSize = 608;
    public const uint TypeCapture = 1, MemoryUserPtr = 2, FieldNone = 1, EventDqbuf = 1, BufFlagError = 0x40;

    /// <summary>v4l2_format: type +0, pix.width +8, height +12, pixelformat +16, field +20.</summary>
    public static byte[] Format(uint width, uint height, uint pixelFormat)
    {
        var b = new byte[FormatSize];
        Put(b, 0, TypeCapture);
        Put(b, 8, width);
        Put(b, 12, height);
        Put(b, 16, pixelFormat);
        Put(b, 20, FieldNone);
        return b;
    }

    /// <summary>v4l2_requestbuffers: count +0, type +4, memory +8.</summary>
    public static byte[] RequestBuffers(uint count)
    {
        var b = new byte[RequestBuffersSize];
        Put(b, 0, count);
        Put(b, 4, TypeCapture);
        Put(b, 8, MemoryUserPtr);
        return b;
    }

    /// <summary>The buffer type word STREAMON and STREAMOFF take.</summary>
    public static byte[] CaptureType()
    {
        var b = new byte[4];
        Put(b, 0, TypeCapture);
        return b;
    }

    /// <summary>
    /// A whole CMD_IOCTL QBUF request as the guest driver builds it: the 16-byte header, v4l2_buffer (index +0,
    /// type +4, memory +60, m.userptr +64, length +72), then the buffer's SG list.
    /// </summary>
    public static byte[] QueueBufferCommand(uint session, uint index, GuestFrameBuffer buffer)
    {
        var sg = buffer.SgList();
        var b = IoctlCommand(session, QBuf, BufferSize + sg.Length);
        var v = b.AsSpan(16);
        Put(v, 0, index);
        Put(v, 4, TypeCapture);
        Put(v, 60, MemoryUserPtr);
        BinaryPrimitives.WriteUInt64LittleEndian(v[64..], 0x7F00_0000_0000UL + ((ulong)index << 24));
        Put(v, 72, buffer.Length);
        sg.CopyTo(v[BufferSize..]);
        return b;
    }

    /// <summary>A CMD_IOCTL header (command 3, session +8, ioctl +12) followed by <paramref name="payloadLength"/> zeros.</summary>
    public static byte[] IoctlCommand(uint session, uint code, int payloadLength)
    {
        var b = new byte[16 + payloadLength];
        Put(b, 0, MediaGuestDriver.CmdIoctl);
        Put(b, 8, session);
        Put(b, 12, code);
        return b;
    }

    /// <summary>The guest address in descriptor <paramref name="index"/> of <paramref name="queue"/>'s table (the guest owns it).</summary>
    public static ulong U64Descriptor(GuestRam ram, GuestVirtqueue queue, ushort index) =>
        BinaryPrimitives.ReadUInt64LittleEndian(ram.Span(queue.DescGpa + (16UL * index), 8));

    public static uint U32(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(s[offset..]);

    private static void Put(Span<byte> s, int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(s[offset..], value);
}
