using Spectrum.Camera.Frames;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// A capture client on one session as an MMAP application behind a pass-through driver (the upstream virtio-media
/// driver forwards every ioctl and maps through CMD_MMAP): S_FMT, REQBUFS(MMAP), QUERYBUF for each buffer's offset,
/// CMD_MMAP into QEMU 11.2's region 0, QBUF, STREAMON/OFF, and frames read from the region where the application's
/// mapping shows them.
/// </summary>
public sealed class MmapCaptureClient
{
    private readonly MediaHarness _h;
    private readonly List<(uint Offset, uint Length)> _buffers = [];
    private readonly Dictionary<int, ulong> _mapped = [];

    public MmapCaptureClient(MediaHarness harness, uint? session = null)
    {
        ArgumentNullException.ThrowIfNull(harness);
        _h = harness;
        Session = session ?? harness.OpenSession();
    }

    public uint Session { get; }

    public FrameFormat Format { get; private set; } = new(Yuyv, 640, 480);

    public uint SizeImage => PackedSize(Format.PixelFormat, Format.Width, Format.Height);

    /// <summary>The buffers' QUERYBUF mmap offsets and lengths.</summary>
    public IReadOnlyList<(uint Offset, uint Length)> Buffers => _buffers;

    /// <summary>Where CMD_MMAP mapped each buffer in region 0.</summary>
    public IReadOnlyDictionary<int, ulong> Mapped => _mapped;

    public void SetFormat(uint pixelFormat, uint width, uint height)
    {
        AssertFormat(_h.IoctlOk(Session, SFmt, MediaRequests.Format(width, height, pixelFormat), FormatSize), pixelFormat, width, height);
        Format = new FrameFormat(pixelFormat, width, height);
    }

    /// <summary>REQBUFS(MMAP); returns (status, count granted, capabilities).</summary>
    public (uint Status, uint Count, uint Capabilities) RequestBuffers(uint count)
    {
        var (status, answer) = _h.Ioctl(Session, ReqBufs, MediaRequests.RequestBuffers(count, V4l2.MemoryMmap), RequestBuffersSize);
        return status == 0 ? (0, U32(answer, 0), U32(answer, 12)) : (status, 0, 0);
    }

    /// <summary>REQBUFS(MMAP) that must grant <paramref name="count"/>, then QUERYBUF of each for its offset and length.</summary>
    public void Allocate(int count)
    {
        var (status, granted, _) = RequestBuffers((uint)count);
        Assert.That((status, granted), Is.EqualTo((0u, (uint)count)), "REQBUFS(MMAP)");
        _buffers.Clear();
        _mapped.Clear();
        for (var i = 0; i < count; i++)
        {
            var b = QueryBuffer(i);
            Assert.That((b.Memory, b.Length), Is.EqualTo((V4l2.MemoryMmap, SizeImage)), $"QUERYBUF {i}");
            _buffers.Add((b.Offset, b.Length));
        }
    }

    public V4l2Buffer QueryBuffer(int index) =>
        Read<V4l2Buffer>(_h.IoctlOk(Session, QueryBuf, Buffer((uint)index, 0, 0, memory: V4l2.MemoryMmap), BufferSize));

    /// <summary>CMD_MMAP of buffer <paramref name="index"/>; returns the status, and records where it is mapped.</summary>
    public (uint Status, ulong DriverAddress, ulong Length) TryMap(int index, bool writable = true)
    {
        var answer = _h.Mmap(Session, _buffers[index].Offset, writable);
        if (answer.Status == 0)
        {
            _mapped[index] = answer.DriverAddress;
        }

        return answer;
    }

    /// <summary>CMD_MMAP that must succeed with a page-aligned address and the buffer's exact length (virtio 1.4 §5.22).</summary>
    public ulong Map(int index)
    {
        var (status, address, length) = TryMap(index);
        Assert.That(status, Is.Zero, $"CMD_MMAP of buffer {index}");
        Assert.That(length, Is.EqualTo((ulong)_buffers[index].Length), "len is the buffer's length");
        Assert.That(address % 65536, Is.Zero, "the address is aligned for any guest page size");
        return address;
    }

    public void MapAll()
    {
        for (var i = 0; i < _buffers.Count; i++)
        {
            Map(i);
        }
    }

    public uint Unmap(int index)
    {
        var status = _h.Munmap(_mapped[index]);
        if (status == 0)
        {
            _mapped.Remove(index);
        }

        return status;
    }

    public (uint Status, byte[] Answer) Send(int index, V4l2IoctlNumber code = QBuf) =>
        _h.Ioctl(Session, code, Buffer((uint)index, 0, 0, memory: V4l2.MemoryMmap), BufferSize);

    public void QueueAll()
    {
        for (var i = 0; i < _buffers.Count; i++)
        {
            Assert.That(Send(i).Status, Is.Zero, $"QBUF {i}");
        }
    }

    public uint StreamOn() => _h.Ioctl(Session, V4l2IoctlNumber.StreamOn, Word(V4l2.BufTypeVideoCapture), 0).Status;

    public uint StreamOff() => _h.Ioctl(Session, V4l2IoctlNumber.StreamOff, Word(V4l2.BufTypeVideoCapture), 0).Status;

    /// <summary>The next EVT_DQBUF (checked field by field) and its frame as region 0 shows it.</summary>
    public (int Index, uint Sequence, byte[] Frame) NextFrame()
    {
        var e = _h.WaitEvent() ?? throw new TimeoutException("no EVT_DQBUF from the device");
        Assert.That(e, Has.Length.EqualTo(EventDqbufSize));
        var index = (int)U32(e, 8);
        Assert.That(index, Is.LessThan(_buffers.Count), "index");
        AssertWords(e, (0, 1u, "event type DQBUF"), (4, Session, "session"), (8 + 4, V4l2.BufTypeVideoCapture, "type"),
            (8 + 8, SizeImage, "bytesused"), (8 + 12, V4l2.BufFlagTimestampMonotonic | (_mapped.ContainsKey(index) ? V4l2.BufFlagMapped : 0), "flags"),
            (8 + 60, V4l2.MemoryMmap, "memory"), (8 + 64, _buffers[index].Offset, "m.offset"), (8 + 72, _buffers[index].Length, "length"));
        Assert.That(U32(e, 8 + 68), Is.Zero, "the high half of m is zero");
        var frame = _h.Vmm.Region!.Read(_mapped[index], (int)SizeImage);
        return (index, U32(e, 8 + 56), frame);
    }
}
