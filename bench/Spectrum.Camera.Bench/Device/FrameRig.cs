using Spectrum.Camera.Frames;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Bench.Device;

/// <summary>
/// A capture session streaming from a <see cref="ServedDevice"/> the way a USERPTR application behind the Linux driver
/// does: S_FMT, REQBUFS, buffers of scattered guest pages (every other 4 KiB page, or contiguous runs of pages
/// with a gap between runs; one SG entry per page either way) queued with their SG lists,
/// STREAMON, then per frame one EVT_DQBUF on the eventq. The steady-state calls (<see cref="DeliverFrame"/>,
/// <see cref="Queue"/>) allocate nothing on the guest's side, so what the benchmarks count is the device's.
/// </summary>
public sealed class FrameRig : IDisposable
{
    private readonly ServedDevice _device;
    private readonly CommandSlot _commands;
    private readonly CommandSlot.Placed[] _queueCommands;
    private readonly CommandSlot.Placed _streamOff;
    private readonly GuestFrameBuffer[] _buffers;
    private readonly int[] _delivered;
    private int _deliveredCount;

    public FrameRig(ServedDevice device, FrameFormat format, int bufferCount, int pagesPerRun = 1)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
        Format = format;
        Session = device.OpenSession();
        var answer = MediaRequests.Read<V4l2Format>(device.IoctlOk(Session, V4l2IoctlNumber.SFmt,
            MediaRequests.Format(format.Width, format.Height, format.PixelFormat), MediaRequests.SizeOf<V4l2Format>())).Pix;
        if (answer.Width != format.Width || answer.Height != format.Height || answer.PixelFormat != format.PixelFormat)
        {
            throw new InvalidOperationException($"S_FMT did not give {format}");
        }

        var granted = MediaRequests.Read<V4l2RequestBuffers>(device.IoctlOk(Session, V4l2IoctlNumber.ReqBufs,
            MediaRequests.RequestBuffers((uint)bufferCount), MediaRequests.SizeOf<V4l2RequestBuffers>())).Count;
        if (granted != bufferCount)
        {
            throw new InvalidOperationException($"REQBUFS granted {granted} of {bufferCount} buffers");
        }

        _commands = new CommandSlot(device.Ram, device.Driver.CommandQueue);
        _buffers = new GuestFrameBuffer[bufferCount];
        _queueCommands = new CommandSlot.Placed[bufferCount];
        for (var i = 0; i < bufferCount; i++)
        {
            _buffers[i] = new GuestFrameBuffer(device.Ram, format.SizeImage, scattered: true, pagesPerRun: pagesPerRun);
            _queueCommands[i] = _commands.Place(MediaRequests.QueueBuffer(Session, (uint)i, MediaRequests.UserPtrOf(i), _buffers[i]),
                MediaRequests.SizeOf<V4l2Buffer>());
        }

        _streamOff = _commands.Place(MediaRequests.Ioctl(Session, V4l2IoctlNumber.StreamOff, MediaRequests.Word(V4l2.BufTypeVideoCapture)), 0);
        _delivered = new int[bufferCount];
        _lastEventUsed = device.Driver.EventQueue.UsedIndex;
    }

    public FrameFormat Format { get; }

    public uint Session { get; }

    public IReadOnlyList<GuestFrameBuffer> Buffers => _buffers;

    /// <summary>The device's frames delivered and dropped so far, read on its loop.</summary>
    public (ulong Delivered, ulong Dropped, ulong Failed) Counters() =>
        _device.OnLoop(() => (_device.Device.Counters.Delivered, _device.Device.Counters.Dropped, _device.Device.Counters.Failed));

    /// <summary>QBUF of buffer <paramref name="index"/> (header, v4l2_buffer and SG list placed in guest RAM once).</summary>
    public void Queue(int index)
    {
        var status = _commands.Send(_queueCommands[index]);
        if (status != 0)
        {
            throw new InvalidOperationException($"QBUF {index} failed with errno {status}");
        }
    }

    /// <summary>Starts sending the QBUF of <paramref name="index"/> without waiting for the device's answer.</summary>
    public void StartQueue(int index) => _commands.Start(_queueCommands[index]);

    /// <summary>Takes the device's answer to <see cref="StartQueue"/>.</summary>
    public void FinishQueue()
    {
        var status = _commands.Finish();
        if (status != 0)
        {
            throw new InvalidOperationException($"QBUF failed with errno {status}");
        }
    }

    /// <summary>STREAMOFF: the device stops and hands every queued buffer back.</summary>
    public void StreamOff()
    {
        var status = _commands.Send(_streamOff);
        if (status != 0)
        {
            throw new InvalidOperationException($"STREAMOFF failed with errno {status}");
        }

        _deliveredCount = 0;
    }

    public void QueueAll()
    {
        for (var i = 0; i < _buffers.Length; i++)
        {
            Queue(i);
        }
    }

    /// <summary>
    /// STREAMON, then the device's own 30 fps pacing is stopped so that frames come only from
    /// <see cref="DeliverFrame"/>; a frame the timer delivered meanwhile is taken and its buffer queued again.
    /// </summary>
    public void StreamOn()
    {
        _device.IoctlOk(Session, V4l2IoctlNumber.StreamOn, MediaRequests.Word(V4l2.BufTypeVideoCapture), 0);
        _device.DisarmFrameTimer();
        _device.OnLoop(() => 0); // every tick that expired before the disarm has run now
        while (_device.Driver.EventQueue.UsedIndex != _lastEventUsed)
        {
            Queue(TakeEvent());
        }
    }

    /// <summary>
    /// One frame through the real device path: the device's frame timer expires, its tick renders the source's frame
    /// straight into the oldest queued buffer's guest pages, writes EVT_DQBUF into an eventq buffer, completes it on
    /// the used ring and signals the call eventfd; the guest wakes, checks the event and re-posts the eventq buffer.
    /// Returns the index of the filled buffer, which stays dequeued (see <see cref="RequeueDelivered"/>).
    /// </summary>
    public int DeliverFrame()
    {
        _device.FireFrameTimer();
        var index = TakeEvent();
        _delivered[_deliveredCount++] = index;
        return index;
    }

    /// <summary>Queues every buffer <see cref="DeliverFrame"/> returned since the last call.</summary>
    public void RequeueDelivered()
    {
        for (var i = 0; i < _deliveredCount; i++)
        {
            Queue(_delivered[i]);
        }

        _deliveredCount = 0;
    }

    /// <summary>Forgets what <see cref="DeliverFrame"/> returned (the caller queued those buffers itself).</summary>
    public void ForgetDelivered() => _deliveredCount = 0;

    public void Dispose()
    {
        // The device goes away with its ServedDevice; nothing here owns an fd.
    }

    private ushort _lastEventUsed;

    // Waits for the next EVT_DQBUF, checks it, re-posts its eventq buffer (same descriptor, same page) and returns
    // the buffer index it reports.
    private int TakeEvent()
    {
        var eventq = _device.Driver.EventQueue;
        var (head, length) = RingOps.WaitUsed(eventq, ServedDevice.Timeout);
        _lastEventUsed++;
        var gpa = eventq.DescriptorAddress(head);
        var e = MediaRequests.Read<VirtioMediaDqbufEvent>(_device.Ram.Span(gpa, MediaGuestDriver.EventBufferSize));
        var index = (int)e.Buffer.Index;
        if (length != MediaGuestDriver.EventBufferSize || e.Header.Event != VirtioMediaWire.EventDqbuf ||
            e.Header.SessionId != Session || index >= _buffers.Length ||
            e.Buffer.BytesUsed != Format.SizeImage || (e.Buffer.Flags & V4l2.BufFlagError) != 0)
        {
            throw new InvalidOperationException($"unexpected event: {length} bytes, type {e.Header.Event}, buffer {index}, " +
                $"bytesused {e.Buffer.BytesUsed}, flags 0x{e.Buffer.Flags:x}");
        }

        eventq.WriteDescriptor(head, gpa, (uint)MediaGuestDriver.EventBufferSize, GuestVirtqueue.FlagWrite, 0);
        RingOps.Publish(eventq, head);
        return index;
    }
}
