using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.TestFrontend;

/// <summary>
/// The test frontend's producer driver mode: an application on an output device's VIDEO_OUTPUT queue behind the guest
/// driver, as a camera VM's camera pipeline is. It sets the format, allocates buffers of scattered guest pages, writes
/// each frame into a buffer's pages and queues it (QBUF with bytesused and the SG list), streams, and takes buffers
/// back from their EVT_DQBUF; events of the other kinds that arrive meanwhile are kept, in order, for the caller. Requests are built by
/// <see cref="MediaRequests"/>. Nothing here judges: statuses, answers and events are returned to the caller.
/// </summary>
public sealed class OutputProducer
{
    private readonly MediaGuestDriver _driver;
    private readonly List<GuestFrameBuffer> _buffers = [];
    private readonly List<byte[]> _unread = [];

    public OutputProducer(MediaGuestDriver driver, uint session)
    {
        ArgumentNullException.ThrowIfNull(driver);
        _driver = driver;
        Session = session;
    }

    public uint Session { get; }

    public IReadOnlyList<GuestFrameBuffer> Buffers => _buffers;

    /// <summary>The frame size (sizeimage) of the format the last <see cref="SetFormat"/> or <see cref="GetFormat"/> answered.</summary>
    public uint FrameSize { get; private set; }

    /// <summary>Events of another type than EVT_DQBUF and EVT_EVENT received (EVT_ERROR: the device gave up on a session).</summary>
    public int ErrorEvents { get; private set; }

    /// <summary>One ioctl on the producer's session, interrupts armed as the Linux driver arms them.</summary>
    public (uint Status, byte[] Answer) Ioctl(V4l2IoctlNumber code, ReadOnlySpan<byte> payload, int responsePayload, ReadOnlySpan<byte> extra = default)
    {
        _driver.ArmInterrupts();
        return _driver.Ioctl(Session, code, payload, responsePayload, extra);
    }

    /// <summary>S_FMT on the OUTPUT type; the answer's sizeimage becomes <see cref="FrameSize"/>.</summary>
    public (uint Status, V4l2Format Format) SetFormat(uint pixelFormat, uint width, uint height) =>
        Remember(Ioctl(V4l2IoctlNumber.SFmt, MediaRequests.Format(width, height, pixelFormat, MediaRequests.Output), MediaRequests.SizeOf<V4l2Format>()));

    /// <summary>G_FMT on the OUTPUT type (the format the host asked for, when frames are wanted).</summary>
    public (uint Status, V4l2Format Format) GetFormat() =>
        Remember(Ioctl(V4l2IoctlNumber.GFmt, MediaRequests.Format(0, 0, 0, MediaRequests.Output), MediaRequests.SizeOf<V4l2Format>()));

    /// <summary>
    /// REQBUFS(<paramref name="count"/>) on the OUTPUT queue with guest pages, then one guest buffer of
    /// <paramref name="length"/> bytes (default: the frame size) for each slot granted.
    /// </summary>
    public (uint Status, uint Granted) Allocate(int count, uint? length = null, bool scattered = true)
    {
        var (status, answer) = Ioctl(V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers((uint)count, type: MediaRequests.Output),
            MediaRequests.SizeOf<V4l2RequestBuffers>());
        _buffers.Clear();
        if (status != 0)
        {
            return (status, 0);
        }

        var granted = MediaRequests.Read<V4l2RequestBuffers>(answer).Count;
        for (var i = 0; i < granted; i++)
        {
            _buffers.Add(new GuestFrameBuffer(_driver.Ram, length ?? FrameSize, scattered));
        }

        return (status, granted);
    }

    /// <summary>
    /// Writes <paramref name="frame"/> into buffer <paramref name="index"/>'s guest pages and queues it with
    /// <paramref name="bytesUsed"/> (default: the frame's length) and the buffer's SG list.
    /// </summary>
    public (uint Status, byte[] Answer) Queue(int index, ReadOnlySpan<byte> frame, uint? bytesUsed = null)
    {
        var buffer = _buffers[index];
        buffer.Write(frame);
        return Ioctl(V4l2IoctlNumber.QBuf,
            MediaRequests.OutputBuffer((uint)index, MediaRequests.UserPtrOf(index), buffer.Length, bytesUsed ?? (uint)frame.Length),
            MediaRequests.SizeOf<V4l2Buffer>(), buffer.SgList());
    }

    public uint StreamOn() => Ioctl(V4l2IoctlNumber.StreamOn, MediaRequests.Word(MediaRequests.Output), 0).Status;

    public uint StreamOff() => Ioctl(V4l2IoctlNumber.StreamOff, MediaRequests.Word(MediaRequests.Output), 0).Status;

    /// <summary>The next buffer the device returned (its EVT_DQBUF's v4l2_buffer), or null if none came in time.</summary>
    public V4l2Buffer? NextReturn(TimeSpan timeout) =>
        NextReturnEvent(timeout) is { } e ? MediaRequests.Read<VirtioMediaDqbufEvent>(e).Buffer : null;

    /// <summary>The next EVT_DQBUF as the eventq carried it (608 bytes), or null if none came in time.</summary>
    public byte[]? NextReturnEvent(TimeSpan timeout) => Next(VirtioMediaWire.EventDqbuf, timeout);

    /// <summary>The next V4L2 event (EVT_EVENT) the device sent, or null if none came in time.</summary>
    public V4l2Event? NextControlEvent(TimeSpan timeout) =>
        Next(VirtioMediaWire.EventV4l2, timeout) is { } e ? MediaRequests.Read<VirtioMediaV4l2Event>(e).Event : null;

    /// <summary>The next event of any kind as the eventq carried it, oldest first, or null if none came in time.</summary>
    public byte[]? NextEvent(TimeSpan timeout) => Next(null, timeout);

    /// <summary>Takes every event from the eventq until <paramref name="quiet"/> passes without one; they stay unread.</summary>
    public void Drain(TimeSpan quiet)
    {
        while (TakeEvent(quiet))
        {
        }
    }

    /// <summary>The oldest unread event of <paramref name="type"/> (any type when null), taking events from the eventq until one is there.</summary>
    private byte[]? Next(uint? type, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var index = _unread.FindIndex(e => type is null || MediaRequests.Read<VirtioMediaEventHeader>(e).Event == type);
            if (index >= 0)
            {
                var e = _unread[index];
                _unread.RemoveAt(index);
                return e;
            }

            if (!TakeEvent(deadline - DateTime.UtcNow))
            {
                return null;
            }
        }
    }

    private bool TakeEvent(TimeSpan timeout)
    {
        _driver.ArmInterrupts();
        if (_driver.WaitEvent(timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero) is not { } e)
        {
            return false;
        }

        if (MediaRequests.Read<VirtioMediaEventHeader>(e).Event is not (VirtioMediaWire.EventDqbuf or VirtioMediaWire.EventV4l2))
        {
            ErrorEvents++;
        }

        _unread.Add(e);
        return true;
    }

    private (uint Status, V4l2Format Format) Remember((uint Status, byte[] Answer) result)
    {
        if (result.Status != 0)
        {
            return (result.Status, default);
        }

        var format = MediaRequests.Read<V4l2Format>(result.Answer);
        FrameSize = format.Pix.SizeImage;
        return (result.Status, format);
    }
}
