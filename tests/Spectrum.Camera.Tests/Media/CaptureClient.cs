using Spectrum.Camera.Frames;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// A capture client on one session, as a USERPTR application behind the guest driver: S_FMT, REQBUFS, buffers of
/// scattered guest pages, QBUF with their SG lists, STREAMON/OFF, and the frames that come back as EVT_DQBUF.
/// </summary>
public sealed class CaptureClient
{
    private readonly MediaHarness _h;
    private readonly List<GuestFrameBuffer> _buffers = [];

    public CaptureClient(MediaHarness harness, uint? session = null)
    {
        ArgumentNullException.ThrowIfNull(harness);
        _h = harness;
        Session = session ?? harness.OpenSession();
    }

    public uint Session { get; }

    public IReadOnlyList<GuestFrameBuffer> Buffers => _buffers;

    public FrameFormat Format { get; private set; } = new(Yuyv, 640, 480);

    public uint SizeImage => PackedSize(Format.PixelFormat, Format.Width, Format.Height);

    /// <summary>S_FMT that must land exactly on the request.</summary>
    public void SetFormat(uint pixelFormat, uint width, uint height)
    {
        AssertFormat(_h.IoctlOk(Session, SFmt, MediaRequests.Format(width, height, pixelFormat), FormatSize), pixelFormat, width, height);
        Format = new FrameFormat(pixelFormat, width, height);
    }

    /// <summary>REQBUFS(<paramref name="count"/>) that must be granted whole, then one guest buffer per slot.</summary>
    public void Allocate(int count, uint? length = null, bool scattered = true, uint firstPageOffset = 0, int pagesPerRun = 1)
    {
        var answer = _h.IoctlOk(Session, ReqBufs, RequestBuffers((uint)count), RequestBuffersSize);
        Assert.That(U32(answer, 0), Is.EqualTo((uint)count), "REQBUFS count");
        _buffers.Clear();
        for (var i = 0; i < count; i++)
        {
            _buffers.Add(new GuestFrameBuffer(_h.Ram, length ?? SizeImage, scattered, firstPageOffset, pagesPerRun));
        }
    }

    /// <summary>REQBUFS(0): frees the queue.</summary>
    public void Free()
    {
        Assert.That(U32(_h.IoctlOk(Session, ReqBufs, RequestBuffers(0), RequestBuffersSize), 0), Is.Zero);
        _buffers.Clear();
    }

    /// <summary>The buffer's QBUF (or PREPARE_BUF) request: v4l2_buffer with m.userptr a cookie, then its SG list.</summary>
    public (uint Status, byte[] Answer) Send(int index, V4l2IoctlNumber code = QBuf) =>
        _h.Ioctl(Session, code, Buffer((uint)index, UserPtrOf(index), _buffers[index].Length), BufferSize, _buffers[index].SgList());

    /// <summary>QBUF that must succeed.</summary>
    public void Queue(int index)
    {
        var (status, _) = Send(index);
        Assert.That(status, Is.Zero, $"QBUF {index}");
    }

    public void QueueAll()
    {
        for (var i = 0; i < _buffers.Count; i++)
        {
            Queue(i);
        }
    }

    public uint StreamOn() => _h.Ioctl(Session, V4l2IoctlNumber.StreamOn, Word(V4l2.BufTypeVideoCapture), 0).Status;

    public uint StreamOff() => _h.Ioctl(Session, V4l2IoctlNumber.StreamOff, Word(V4l2.BufTypeVideoCapture), 0).Status;

    /// <summary>QUERYBUF flags of <paramref name="index"/>.</summary>
    public uint FlagsOf(int index) => U32(_h.IoctlOk(Session, QueryBuf, Buffer((uint)index, 0, 0), BufferSize), 12);

    /// <summary>The next EVT_DQBUF (checked field by field) and the frame it announces, read from the buffer's pages.</summary>
    public (byte[] Event, int Index, uint Sequence, long TimestampNs, byte[] Frame) NextFrame()
    {
        var e = _h.WaitEvent() ?? throw new TimeoutException("no EVT_DQBUF from the device");
        var index = AssertDqbufEvent(e);
        var frame = _buffers[index].Read((int)SizeImage);
        return (e, index, U32(e, 8 + 56), ((long)U64(e, 8 + 24) * 1_000_000_000) + ((long)U64(e, 8 + 32) * 1000), frame);
    }

    /// <summary>
    /// Checks an EVT_DQBUF (608 bytes) field by field: header, then v4l2_buffer at +8 (index +0, type +4, bytesused +8,
    /// flags +12, field +16, timestamp +24, timecode +40, sequence +56, memory +60, m +64, length +72, reserved2 +76,
    /// request_fd +80), then 8 zero planes at +96. Returns the buffer index.
    /// </summary>
    private int AssertDqbufEvent(byte[] e)
    {
        Assert.That(e, Has.Length.EqualTo(EventDqbufSize), "EVT_DQBUF is always 608 bytes");
        var index = (int)U32(e, 8);
        Assert.That(index, Is.LessThan(_buffers.Count), "index");
        AssertWords(e, (0, 1u, "event type DQBUF"), (4, Session, "session"), (8 + 4, V4l2.BufTypeVideoCapture, "type"),
            (8 + 8, SizeImage, "bytesused (the exact packed size)"), (8 + 12, V4l2.BufFlagTimestampMonotonic, "flags (monotonic, not queued, no error)"),
            (8 + 16, V4l2.FieldNone, "field"), (8 + 60, V4l2.MemoryUserPtr, "memory"));
        Assert.That(U64(e, 8 + 32), Is.LessThan(1_000_000UL), "tv_usec");
        Assert.That(U64(e, 8 + 64), Is.EqualTo(UserPtrOf(index)), "m.userptr is echoed");
        Assert.That(U32(e, 8 + 72), Is.EqualTo(_buffers[index].Length), "length");
        AssertZeroOutside(e, "EVT_DQBUF", (0, 8), (8, 20), (8 + 24, 16), (8 + 56, 20));
        return index;
    }
}
